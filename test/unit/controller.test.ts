// The controller shell with in-memory fakes: what it hands the writer, when it requeues, how it treats
// leadership and errors. The planner's decisions themselves are tested in plan.test.ts.
import { jest } from '@jest/globals';
import { DrainController } from '../../src/controller/controller.ts';
import { NotLeaderError } from '../../src/controller/errors.ts';
import { TemplateVerdicts } from '../../src/controller/template-verifier.ts';
import { Metrics } from '../../src/metrics/metrics.ts';
import { FINALIZER } from '../../src/planner/keys.ts';
import { templateHash } from '../../src/planner/plan.ts';
import { FakeView, FakeWriter, apiError, emptyQueue, quietLogger } from './fakes/cluster.ts';
import { aClaim, aDrainPod, aSet, aStatefulPod, settings } from './fixtures.ts';

function setUp(options: { leader?: () => boolean } = {}) {
  const view = new FakeView();
  const writer = new FakeWriter();
  const verdicts = new TemplateVerdicts();
  const metrics = new Metrics(emptyQueue);
  const controller = new DrainController({ view, writer, verdicts, log: quietLogger(), metrics, isLeader: options.leader ?? (() => true) },
    { concurrency: 1, resyncPeriodMs: 600_000, planner: settings, watchIdleTimeoutMs: 150_000 });
  return { view, writer, verdicts, metrics, controller };
}

async function errorCount(metrics: Metrics): Promise<number> {
  return (await metrics.reconcileErrors.get()).values[0]?.value ?? 0;
}

/** 3 -> 2: ordinal 2's claim is orphaned and its pod is gone. */
function scaledDown(view: FakeView) {
  const set = aSet({ replicas: 2, finalizers: [FINALIZER] });
  return { set, key: view.add(set, [0, 1, 2].map((o) => aClaim(set, o)), [0, 1].map((o) => aStatefulPod(set, o))) };
}

afterEach(() => jest.restoreAllMocks());

describe('DrainController.sync', () => {
  it('asks the API server about a template new since start-up before the first drain, then creates the drain pod', async () => {
    const { view, writer, verdicts, controller } = setUp();
    const { set, key } = scaledDown(view);
    writer.onExecute = (actions) => {
      if (actions.some((a) => a.kind === 'VerifyTemplate')) verdicts.set(key, templateHash(set), { state: 'accepted' });
    };
    const requeue = jest.spyOn(controller.queue, 'addAfter').mockImplementation(() => {});
    await controller.sync(key);
    expect(writer.kinds()).toEqual([['VerifyTemplate']]);
    expect(requeue).toHaveBeenCalledWith(key, 1);
    await controller.sync(key);
    expect(writer.kinds()[1]).toEqual(['CreateDrainPod']);
  });

  it('does nothing while not the leader', async () => {
    const { view, writer, controller } = setUp({ leader: () => false });
    await controller.sync(scaledDown(view).key);
    expect(writer.executed).toEqual([]);
  });

  it('leadership lost mid-reconcile ends the reconcile quietly: no error, no retry', async () => {
    const { view, writer, metrics, controller } = setUp();
    writer.onExecute = () => {
      throw new NotLeaderError();
    };
    await expect(controller.sync(scaledDown(view).key)).resolves.toBeUndefined();
    expect(await errorCount(metrics)).toBe(0);
  });

  it('a write conflict is retried without counting as an error; any other failure counts', async () => {
    const { view, writer, metrics, controller } = setUp();
    const { key } = scaledDown(view);
    writer.onExecute = () => {
      throw apiError(409);
    };
    await expect(controller.sync(key)).rejects.toThrow('HTTP 409');
    expect(await errorCount(metrics)).toBe(0);
    writer.onExecute = () => {
      throw apiError(500);
    };
    await expect(controller.sync(key)).rejects.toThrow('HTTP 500');
    expect(await errorCount(metrics)).toBe(1);
  });

  it('requeues at the moment the plan names: a failed drain\'s backoff expiry', async () => {
    const { view, verdicts, controller } = setUp();
    const set = aSet({ replicas: 2, finalizers: [FINALIZER] });
    const claim = aClaim(set, 2, { annotations: { 'drain.statefulsets.kubernetes.io/failed-attempts': '1',
      'drain.statefulsets.kubernetes.io/last-failure': new Date(Date.now() - 4_000).toISOString() } });
    const key = view.add(set, [claim], [aDrainPod(set, 2, [claim], { phase: 'Failed' })]);
    verdicts.set(key, templateHash(set), { state: 'accepted' });
    const later = jest.spyOn(controller.queue, 'addAfter').mockImplementation(() => {});
    await controller.sync(key);
    expect(later).toHaveBeenCalledTimes(1);
    const delay = later.mock.calls[0]![1];
    expect(delay).toBeGreaterThan(5_000);
    expect(delay).toBeLessThanOrEqual(6_000);
  });

  it('leaves a set without the annotation and without drain pods alone', async () => {
    const { view, writer, controller } = setUp();
    const set = aSet({ replicas: 1, template: null });
    await controller.sync(view.add(set, [aClaim(set, 0), aClaim(set, 1)], [aStatefulPod(set, 0)]));
    expect(writer.executed).toEqual([]);
  });

  it('waits for the cache: nothing is planned before it has synced', async () => {
    const { view, writer, controller } = setUp();
    view.synced = false;
    await controller.sync(scaledDown(view).key);
    expect(writer.executed).toEqual([]);
  });

  it('forgets a set that is gone, so a set re-created under its name is asked about afresh', async () => {
    const { view, verdicts, controller } = setUp();
    const { set, key } = scaledDown(view);
    verdicts.set(key, templateHash(set), { state: 'accepted' });
    view.sets.delete(key);
    await controller.sync(key);
    expect(verdicts.get(key, templateHash(set))).toBeUndefined();
  });
});

describe('DrainController.unhealthy (/healthz)', () => {
  it('fails once the synced cache has heard nothing from the API server for far longer than a watch may be quiet, ' +
      'never for a busy one', () => {
    const { view, controller } = setUp();
    view.silentFor = 100;
    expect(controller.unhealthy()).toBeUndefined();
    view.silentFor = 451;
    expect(controller.unhealthy()).toMatch(/heard nothing from the API server for 451s/);
    view.synced = false;
    expect(controller.unhealthy()).toBeUndefined();
  });

  it('fails when a reconcile has been running for ten minutes', async () => {
    const { view, controller } = setUp();
    const key = scaledDown(view).key;
    jest.spyOn(controller, 'sync').mockImplementation(() => new Promise(() => {}));
    controller.queue.add(key);
    await new Promise((r) => setTimeout(r, 10));
    expect(controller.queue.longestRunningSeconds(performance.now() + 601_000)).toBeGreaterThan(600);
    jest.spyOn(controller.queue, 'longestRunningSeconds').mockReturnValue(601);
    expect(controller.unhealthy()).toMatch(/a reconcile has been running for 601s/);
  });
});
