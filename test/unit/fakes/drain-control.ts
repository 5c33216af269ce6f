// An in-memory drain control: records each call in order and lets a test hold or fail any of them, to check
// the executor's own rules (order, batches, the first failure, dry-run, leadership, report dedupe) without an API.
import type { V1StatefulSet } from '@kubernetes/client-node';
import type { DrainControl, PlanRun } from '../../../src/controller/executor.ts';
import type { Action } from '../../../src/planner/types.ts';

export class FakeDrainControl implements DrainControl {
  /** `<method> <ordinal>`, as each call started. */
  readonly started: string[] = [];
  /** `<method> <ordinal>`, as each call finished. */
  readonly finished: string[] = [];
  /** Calls (by `<method> <ordinal>`) that wait for, or fail with, what the test gives. */
  readonly hold = new Map<string, Promise<void>>();
  readonly fail = new Map<string, Error>();

  startRun(): PlanRun {
    return { guard: undefined as never, versions: new Map() };
  }

  private async call(method: string, action?: Action): Promise<void> {
    const name = `${method} ${action && 'ordinal' in action ? action.ordinal : ''}`.trim();
    this.started.push(name);
    await this.hold.get(name);
    const failure = this.fail.get(name);
    if (failure) throw failure;
    this.finished.push(name);
  }

  setFinalizer = (_set: V1StatefulSet, present: boolean) => this.call(present ? 'addFinalizer' : 'removeFinalizer');
  createDrainPod = (_set: V1StatefulSet, action: Action) => this.call('createDrainPod', action);
  recordDrained = (_set: V1StatefulSet, action: Action) => this.call('recordDrained', action);
  createPlaceholder = (_set: V1StatefulSet, action: Action) => this.call('createPlaceholder', action);
  deleteClaim = (_set: V1StatefulSet, action: Action) => this.call('deleteClaim', action);
  deletePlaceholder = (_set: V1StatefulSet, action: Action) => this.call('deletePlaceholder', action);
  forgetDrained = (_set: V1StatefulSet, action: Action) => this.call('forgetDrained', action);
  deleteDrainPod = (_set: V1StatefulSet, action: Action) => this.call('deleteDrainPod', action);
  recordFailure = (_set: V1StatefulSet, action: Action) => this.call('recordFailure', action);
  resetFailures = (_set: V1StatefulSet, action: Action) => this.call('resetFailures', action);
  verifyTemplate = (_set: V1StatefulSet, action: Action) => this.call('verifyTemplate', action);
  correctTime = (_set: V1StatefulSet, action: Action) => this.call('correctTime', action);
  markOrphaned = (_set: V1StatefulSet, action: Action) => this.call('markOrphaned', action);
  report = (_set: V1StatefulSet, action: Action) => void this.call('report', action);
}
