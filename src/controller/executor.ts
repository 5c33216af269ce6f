// Performs a plan: its actions in order (drain pods planned together are created together), each through
// the drain control, stopping at the first failure; the next reconcile re-plans from scratch. Here are the
// rules that hold for every action: nothing is written by a replica that is not leading, --dry-run only
// logs (the template check aside, itself a dry-run), and a report is recorded once per process.
import type { V1StatefulSet } from '@kubernetes/client-node';
import type { Action } from '../planner/types.ts';
import type { Logger } from '../log.ts';
import type { Metrics } from '../metrics/metrics.ts';
import { describeApiError, statusOf } from '../kube/api.ts';
import { actionFields } from './action-fields.ts';
import { NotLeaderError, TemplateRefusedError } from './errors.ts';
import { ReleaseRefusedError, StaleCacheError, type ReleaseGuard } from './release-guard.ts';

/**
 * What one execution of a plan carries from step to step: the reads that guard its releases, and each claim's
 * resourceVersion after this execution's own writes (a plan may write a claim twice, as a timed-out drain's
 * failure and then its forgetting; the second write is conditional on the first, not on the cache).
 */
export interface PlanRun {
  guard: ReleaseGuard;
  versions: Map<string, string>;
}

type Do<K extends Action['kind']> = Extract<Action, { kind: K }>;

/** The effects, one method per action (drain-control.ts writes them through the API). */
export interface DrainControl {
  startRun(set: V1StatefulSet): PlanRun;
  setFinalizer(set: V1StatefulSet, present: boolean): Promise<void>;
  createDrainPod(set: V1StatefulSet, action: Do<'CreateDrainPod'>, run: PlanRun): Promise<void>;
  recordDrained(set: V1StatefulSet, action: Do<'RecordDrained'>, run: PlanRun): Promise<void>;
  createPlaceholder(set: V1StatefulSet, action: Do<'CreatePlaceholder'>): Promise<void>;
  deleteClaim(set: V1StatefulSet, action: Do<'DeleteClaim'>, run: PlanRun): Promise<void>;
  deletePlaceholder(set: V1StatefulSet, action: Do<'DeletePlaceholder'>, run: PlanRun): Promise<void>;
  forgetDrained(set: V1StatefulSet, action: Do<'ForgetDrained'>, run: PlanRun): Promise<void>;
  deleteDrainPod(set: V1StatefulSet, action: Do<'DeleteDrainPod'>, run: PlanRun): Promise<void>;
  recordFailure(set: V1StatefulSet, action: Do<'RecordFailure'>, run: PlanRun): Promise<void>;
  resetFailures(set: V1StatefulSet, action: Do<'ResetFailures'>, run: PlanRun): Promise<void>;
  verifyTemplate(set: V1StatefulSet, action: Do<'VerifyTemplate'>): Promise<void>;
  correctTime(set: V1StatefulSet, action: Do<'CorrectTime'>, run: PlanRun): Promise<void>;
  markOrphaned(set: V1StatefulSet, action: Do<'MarkOrphaned'>, run: PlanRun): Promise<void>;
  report(set: V1StatefulSet, action: Do<'Report'>): void;
}

export interface ExecutorOptions {
  dryRun: boolean;
  isLeader: () => boolean;
}

const REPORTED_LIMIT = 100_000;

export class Executor {
  /** Dedupe keys of Report actions already recorded by this process. */
  private readonly reported = new Set<string>();
  private readonly control: DrainControl;
  private readonly metrics: Metrics;
  private readonly log: Logger;
  private readonly options: ExecutorOptions;

  constructor(control: DrainControl, metrics: Metrics, log: Logger, options: ExecutorOptions) {
    this.control = control;
    this.metrics = metrics;
    this.log = log;
    this.options = options;
  }

  async execute(set: V1StatefulSet, actions: Action[]): Promise<void> {
    const run = this.control.startRun(set);
    for (let i = 0; i < actions.length; i++) {
      // Drain pods planned together (a Parallel set's scale-down) are created together, as the
      // StatefulSet controller creates a Parallel set's pods; everything else goes in order.
      let end = i + 1;
      while (actions[i]!.kind === 'CreateDrainPod' && actions[end]?.kind === 'CreateDrainPod') end++;
      const results = await Promise.allSettled(actions.slice(i, end).map((action) => this.step(set, action, run)));
      const failed = results.find((r) => r.status === 'rejected');
      if (failed) throw failed.reason;
      i = end - 1;
    }
  }

  private async step(set: V1StatefulSet, action: Action, run: PlanRun): Promise<void> {
    // Stryker disable next-line ConditionalExpression: only reports have a dedupe key, and the set never holds undefined.
    if (action.kind === 'Report' && this.reported.has(action.dedupeKey)) return;
    // Stryker disable next-line OptionalChaining: a set from the API server always has metadata.
    const fields = { statefulset: `${set.metadata?.namespace}/${set.metadata?.name}`, action: action.kind, ...actionFields(action) };
    // A dry-run create changes nothing, so the template check runs in --dry-run mode too.
    if (this.options.dryRun && action.kind !== 'VerifyTemplate') {
      this.log.info('dry run: would perform', fields);
      // Stryker disable next-line ConditionalExpression: another action has no dedupe key, and nothing asks for an undefined one.
      if (action.kind === 'Report') this.remember(action.dedupeKey);
      return;
    }
    if (!this.options.isLeader()) throw new NotLeaderError();
    try {
      await this.dispatch(set, action, run);
    } catch (err) {
      if (err instanceof ReleaseRefusedError) {
        this.metrics.releasesRefused.inc();
        this.log.warn(err.message, fields);
        throw err;
      }
      if (err instanceof StaleCacheError || err instanceof NotLeaderError || err instanceof TemplateRefusedError) {
        this.log.info(err.message, fields);
        throw err;
      }
      const level = statusOf(err) === 409 ? 'info' : 'error';
      this.log[level]('action failed', { ...fields, status: statusOf(err), error: describeApiError(err) });
      throw err;
    }
  }

  /** Hands the action to the drain control's method for it. */
  private dispatch(set: V1StatefulSet, action: Action, run: PlanRun): Promise<void> {
    const control = this.control;
    switch (action.kind) {
      case 'AddFinalizer': return control.setFinalizer(set, true);
      case 'RemoveFinalizer': return control.setFinalizer(set, false);
      case 'CreateDrainPod': return control.createDrainPod(set, action, run);
      case 'RecordDrained': return control.recordDrained(set, action, run);
      case 'CreatePlaceholder': return control.createPlaceholder(set, action);
      case 'DeleteClaim': return control.deleteClaim(set, action, run);
      case 'DeletePlaceholder': return control.deletePlaceholder(set, action, run);
      case 'ForgetDrained': return control.forgetDrained(set, action, run);
      case 'DeleteDrainPod': return control.deleteDrainPod(set, action, run);
      case 'RecordFailure': return control.recordFailure(set, action, run);
      case 'ResetFailures': return control.resetFailures(set, action, run);
      case 'VerifyTemplate': return control.verifyTemplate(set, action);
      case 'CorrectTime': return control.correctTime(set, action, run);
      case 'MarkOrphaned': return control.markOrphaned(set, action, run);
      case 'Report':
        this.remember(action.dedupeKey);
        control.report(set, action);
        return Promise.resolve();
    }
  }

  private remember(key: string): void {
    if (this.reported.size >= REPORTED_LIMIT) this.reported.clear();
    this.reported.add(key);
  }
}
