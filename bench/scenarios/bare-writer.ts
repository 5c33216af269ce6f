// The storm's physical limit: the writes the controller makes for a storm, made by a program that does
// nothing else. It knows every orphaned ordinal up front (no cache, no watch of its own, no planning) and
// starts on a set the moment the storm has deleted that set's pods. Per ordinal it makes the controller's
// writes in the controller's order, through the controller's own API client with the same QPS, burst,
// concurrency and event rate, the seven writes of the release protocol: create the drain pod and record it
// on the claim; once the pod has Succeeded (any writer has to wait for the drain itself; it learns it, and
// when a pod or claim is gone, from the benchmark's observer) record the success on the claim, delete the
// drain pod, create the placeholder once the name is free, delete the claim, and delete the placeholder once
// the claim is gone; deletes with UID preconditions, each claim write after the first conditional on the
// version the one before answered, and the controller's four events. What it leaves out is
// what the controller adds to be safe: the quorum reads before each write, and waiting for its own watches.
import PQueue from 'p-queue';
import { Command } from 'commander';
import type { V1PersistentVolumeClaim, V1StatefulSet } from '@kubernetes/client-node';
import { addRunOptions, type RunOptions } from '../../src/cli/options.ts';
import { EventRecorder } from '../../src/controller/events.ts';
import { KubeApi } from '../../src/kube/api.ts';
import { kubeconfigConfig } from '../../src/kube/connection-config.ts';
import { KubeHttpClient } from '../../src/kube/http-client.ts';
import { createLogger } from '../../src/log.ts';
import { buildDrainPod } from '../../src/planner/drain-pod.ts';
import { buildPlaceholder } from '../../src/planner/placeholder.ts';
import { drainedRecord, drainPodRecord } from '../../src/planner/release-proof.ts';
import { parseDrainerTemplate, type DrainerTemplate } from '../../src/planner/template.ts';
import type { Observer } from '../observe.ts';
import { setBody, type SetRef } from '../populate.ts';

export class BareWriter {
  private readonly api: KubeApi;
  private readonly events: EventRecorder;
  private readonly queue: PQueue;
  private readonly obs: Observer;
  private readonly failures: unknown[] = [];
  private stopped = false;
  /** Release steps registered with after() and not yet done. */
  private unfinished = 0;
  /** Requests sent, by `verb resource`, as the controller's metrics count them. */
  readonly requests: Record<string, number> = {};

  /** `controllerArgs`: the flags the controller runs with in this benchmark, so both use the same limits. */
  constructor(kubeconfig: string, obs: Observer, controllerArgs: string[]) {
    const options = addRunOptions(new Command()).parse(controllerArgs, { from: 'user' }).opts<RunOptions>();
    const api = new KubeApi(new KubeHttpClient(kubeconfigConfig([kubeconfig]), 'benchmark-bare-writer'), {
      qps: options.qps, burst: options.burst,
      // Counted when answered, as the controller's metrics count them (not the events refused after the stop).
      observe: (verb, resource, code) => {
        if (code !== 0) this.requests[`${verb} ${resource}`] = (this.requests[`${verb} ${resource}`] ?? 0) + 1;
      },
      // Events still waiting when the storm is over are not sent (the controller is stopped there too).
      fence: () => {
        if (this.stopped) throw new Error('the bare writer has stopped');
      },
    });
    this.api = api;
    this.events = new EventRecorder(api, 'benchmark-bare-writer', createLogger('error'),
      { qps: options.eventQps, burst: options.eventBurst });
    this.queue = new PQueue({ concurrency: options.concurrency });
    this.obs = obs;
  }

  /** The storm has orphaned ordinals 1.. of `ref`: drain them. */
  orphaned(ref: SetRef): void {
    void this.queue.add(() => this.startDrains(ref)).catch((err: unknown) => this.failures.push(err));
  }

  /**
   * Ends the run once every release has made all its writes (the storm is timed up to the claims' deletes; the
   * placeholders' deletes follow them); throws if any write failed or did not happen within `graceMs`: the
   * comparison is only meaningful when both did the same work.
   */
  async stop(graceMs = 120_000): Promise<void> {
    const deadline = Date.now() + graceMs;
    while (this.unfinished > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
    await this.queue.onIdle();
    this.stopped = true;
    if (this.unfinished > 0) this.failures.push(new Error(`${this.unfinished} release step(s) still waiting after ${graceMs} ms`));
    if (this.failures.length > 0)
      throw new Error(`the bare writer failed ${this.failures.length} times, first: ${String(this.failures[0])}`);
  }

  private async startDrains(ref: SetRef): Promise<void> {
    const body = setBody(ref.name, ref.replicas, true);
    const set: V1StatefulSet = { ...body, metadata: { ...body.metadata, namespace: ref.namespace, uid: ref.uid } };
    const parsed = parseDrainerTemplate(set);
    if (!parsed.ok) throw new Error(`benchmark template refused: ${parsed.problems.join('; ')}`);
    // Like the controller, a Parallel set's drain pods are created together.
    await Promise.all(Array.from({ length: ref.replicas - 1 }, (_, i) => this.startDrain(set, parsed.template, ref, i + 1)));
  }

  private async startDrain(set: V1StatefulSet, template: DrainerTemplate, ref: SetRef, ordinal: number): Promise<void> {
    const claim: V1PersistentVolumeClaim = { metadata: { name: `data-${ref.name}-${ordinal}`, uid: ref.claimUids[ordinal] } };
    const pod =
      await this.api.createPod(buildDrainPod({ set, template, ordinal, claims: new Map([['data', claim]]), attempt: 1, retryToken: '' }));
    // The controller's first write is conditional on the version its plan saw; this writer has seen none.
    claim.metadata!.resourceVersion =
      await this.api.annotateClaim(ref.namespace, claim.metadata!.name!, claim.metadata!.uid!, drainPodRecord(pod));
    this.events.record(set, { type: 'Normal', reason: 'DrainStarted', action: 'CreateDrainPod',
      note: `created drain pod ${pod.metadata!.name}`, related: { kind: 'Pod', name: pod.metadata!.name! } });
    this.after((resume) => this.obs.whenSucceeded(`${ref.namespace}/${pod.metadata!.name}/${pod.metadata!.uid}`, resume),
      () => this.release(set, template, ordinal, claim, pod.metadata!.name!, pod.metadata!.uid!));
  }

  private async release(set: V1StatefulSet, template: DrainerTemplate, ordinal: number, claim: V1PersistentVolumeClaim,
    podName: string, podUid: string): Promise<void> {
    const namespace = set.metadata!.namespace!;
    const [claimName, claimUid] = [claim.metadata!.name!, claim.metadata!.uid!];
    this.events.record(set, { type: 'Normal', reason: 'DrainSucceeded', action: 'RecordDrained', note: `drain pod ${podName} succeeded`,
      related: { kind: 'Pod', name: podName } });
    const version = await this.api.annotateClaim(namespace, claimName, claimUid, drainedRecord(podUid, set.metadata!.generation ?? 1),
      claim.metadata!.resourceVersion);
    await this.api.deletePod(namespace, podName, podUid);
    this.after((resume) => this.obs.whenGone(`${namespace}/${podName}/${podUid}`, resume), async () => {
      const placeholder = await this.api.createPod(buildPlaceholder(set, template.spec.containers[0]!.image!, ordinal));
      await this.api.deleteClaim(namespace, claimName, claimUid, version);
      this.events.record(set, { type: 'Normal', reason: 'ClaimReleased', action: 'DeleteClaim', note: `deleted claim ${claimName}`,
        related: { kind: 'PersistentVolumeClaim', name: claimName } });
      this.after((resume) => this.obs.whenGone(`${namespace}/${claimName}/${claimUid}`, resume), async () => {
        await this.api.deletePod(namespace, podName, placeholder.metadata!.uid!);
        this.events.record(set, { type: 'Normal', reason: 'DrainCompleted', action: 'DeletePlaceholder',
          note: `drain of ${podName} complete`, related: { kind: 'Pod', name: podName } });
      });
    });
  }

  /** Queues `then` once `wait` calls back; a failure is kept for stop(), which waits for every step. */
  private after(wait: (resume: () => void) => void, then: () => Promise<void>): void {
    this.unfinished += 1;
    wait(() => void this.queue.add(then).catch((err: unknown) => this.failures.push(err)).finally(() => (this.unfinished -= 1)));
  }
}
