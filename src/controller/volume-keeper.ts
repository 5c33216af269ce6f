// The end of each keep: while this replica leads, the volumes with the kept label are listed (a quorum list),
// the planner judges them (kept-volumes.ts), and each whose keep is over gets its reclaim policy back, conditional
// on the volume as listed. Then its provisioner reclaims it. Runs again at the next keep's end, and at least
// once per resync period, so a lost timer or a restart only delays an end, never skips one. The set of a keep
// that is over is read from etcd (a cache behind a scale-up would miss that its ordinal is back in range).
// Only volumes of claims in the watched namespaces are judged: another instance may own the rest.
import type { V1StatefulSet } from '@kubernetes/client-node';
import { keepEnd, planKeptVolumes, readKeptVolume, type KeptVolumeState, type ReclaimVolume } from '../planner/kept-volumes.ts';
import { KEPT_VOLUME_LABEL, RESTORED_AT_ANNOTATION } from '../planner/keys.ts';
import { describeApiError, statusOf, type KubeApi } from '../kube/api.ts';
import type { Logger } from '../log.ts';
import type { Metrics } from '../metrics/metrics.ts';
import type { EventRecorder } from './events.ts';
import { orUndefinedIfGone } from './release-guard.ts';

export type KeeperApi = Pick<KubeApi, 'listVolumes' | 'patchVolume' | 'getStatefulSet'>;

const STATES: KeptVolumeState[] = ['kept', 'held', 'edited'];
/** After a failed pass (the API unreachable, a list refused), the next one is tried this much later. */
const RETRY_MS = 10_000;
const MAX_TIMER_MS = 2 ** 31 - 1;

export class VolumeKeeper {
  private readonly api: KeeperApi;
  private readonly namespaces: string[];
  private readonly events: Pick<EventRecorder, 'record'>;
  private readonly metrics: Metrics;
  private readonly log: Logger;
  private readonly isLeader: () => boolean;
  private readonly periodMs: number;
  private timer: NodeJS.Timeout | undefined;
  /** When the timer fires (monotonic ms). */
  private due = Infinity;
  /** The pass under way, if any. */
  private running: Promise<void> | undefined;
  /** When a pass was asked for while one ran (monotonic ms). */
  private wanted = Infinity;
  private stopped = false;
  /** The state last logged of each volume, so a volume held or edited is reported once, not every pass. */
  private readonly reported = new Map<string, string>();

  private readonly now: () => number;

  /** `namespaces`: the watched namespaces (empty: all). `now`: the API server's wall time (ServerClock). */
  constructor(api: KeeperApi, namespaces: string[], events: Pick<EventRecorder, 'record'>,
      metrics: Metrics, log: Logger, isLeader: () => boolean, periodMs: number, now: () => number = Date.now) {
    this.now = now;
    this.api = api;
    this.namespaces = namespaces;
    this.events = events;
    this.metrics = metrics;
    this.log = log;
    this.isLeader = isLeader;
    this.periodMs = periodMs;
  }

  start(): void {
    this.schedule(0);
  }

  /** Runs a pass now (also when this replica has just become the leader). */
  poke(): void {
    this.schedule(0);
  }

  /** A keep was just written that ends at `at`: a pass then, unless one comes sooner. */
  wakeAt(at: string): void {
    const delay = Date.parse(at) - this.now();
    if (performance.now() + delay < this.due) this.schedule(Math.max(0, delay));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
  }

  /**
   * The next pass in `delayMs`, unless one is due sooner. While a pass runs, the wish is kept for when it ends:
   * passes never overlap.
   */
  private schedule(delayMs: number): void {
    if (this.stopped) return;
    if (this.running) {
      this.wanted = Math.min(this.wanted, performance.now() + delayMs);
      return;
    }
    clearTimeout(this.timer);
    // setTimeout takes at most 2^31 - 1 ms (24.8 days); a keep may be longer: look again then.
    const delay = Math.min(delayMs, MAX_TIMER_MS);
    this.due = performance.now() + delay;
    this.timer = setTimeout(() => {
      this.due = Infinity;
      this.running = this.pass().catch((err: unknown) => {
        this.log.error('kept volumes: pass failed; trying again', { error: describeApiError(err), retryMs: RETRY_MS });
        return RETRY_MS;
      }).then((next) => {
        this.running = undefined;
        const wanted = this.wanted - performance.now();
        this.wanted = Infinity;
        this.schedule(Math.max(0, Math.min(next, wanted)));
      });
    }, delay);
    this.timer.unref();
  }

  /** One look at the kept volumes; resolves to how long until the next. */
  async pass(): Promise<number> {
    if (!this.isLeader()) return this.periodMs;
    const { items } = await this.api.listVolumes({ labelSelector: `${KEPT_VOLUME_LABEL}=true` });
    const now = new Date(this.now());
    const volumes = items.filter((v) => this.namespaces.length === 0 || this.namespaces.includes(readKeptVolume(v)?.namespace ?? ''));
    const sets = new Map<string, V1StatefulSet | undefined>();
    for (const v of volumes) {
      const kept = readKeptVolume(v);
      const key = kept && `${kept.namespace}/${kept.statefulset}`;
      // The set is read for a keep that is over (a set grown back over the ordinal holds it) and for the
      // event on a restore that is done.
      const restored = v.metadata?.annotations?.[RESTORED_AT_ANNOTATION] !== undefined;
      if (!key || sets.has(key) || (Date.parse(keepEnd(v, kept)) > now.getTime() && !restored)) continue;
      sets.set(key, await orUndefinedIfGone(this.api.getStatefulSet(kept.namespace, kept.statefulset)));
    }
    const plan = planKeptVolumes(volumes, (namespace, name) => sets.get(`${namespace}/${name}`), now);
    const due = new Set(plan.actions.map((a) => a.volume));
    for (const state of STATES) this.metrics.keptVolumes.set({ state }, plan.volumes.filter((v) => v.state === state).length);
    this.metrics.keptVolumeBytes.set(plan.volumes.filter((v) => !due.has(v.volume)).reduce((sum, v) => sum + (v.bytes ?? 0), 0));
    this.metrics.keptVolumesPastExpiry.set(plan.volumes.filter((v) => v.state === 'held' || v.state === 'edited').length);
    for (const v of plan.volumes) {
      if (this.reported.get(v.volume) === v.why) continue;
      this.reported.set(v.volume, v.why);
      const log = v.state === 'edited' ? this.log.warn.bind(this.log) : this.log.info.bind(this.log);
      if (v.state !== 'due') log(`kept volume: ${v.why}`, { volume: v.volume, state: v.state });
    }
    for (const name of this.reported.keys()) if (!plan.volumes.some((v) => v.volume === name)) this.reported.delete(name);
    for (const action of plan.actions) await this.reclaim(action, sets.get(`${action.kept.namespace}/${action.kept.statefulset}`));
    return Math.min(plan.requeueAfterMs ?? Infinity, this.periodMs);
  }

  /** `set`: the volume's set as read this pass, for the event (none when it is gone). */
  private async reclaim(action: ReclaimVolume, set: V1StatefulSet | undefined): Promise<void> {
    const { kept } = action;
    try {
      await this.api.patchVolume(action.volume, action.uid, action.resourceVersion,
        { metadata: { labels: { [KEPT_VOLUME_LABEL]: null } }, spec: { persistentVolumeReclaimPolicy: action.policy } });
    } catch (err) {
      // Changed since the list (409) or gone (404): the next pass judges it as it is then.
      if (statusOf(err) === 409 || statusOf(err) === 404) return;
      throw err;
    }
    (action.restored ? this.metrics.volumesRestored : this.metrics.volumesReclaimed).inc();
    const message = action.restored
      ? `volume ${action.volume} is restored: bound to the new claim ${kept.claim} (ordinal ${kept.ordinal}); its reclaim policy is ` +
        `${action.policy} again, so it lives and dies with that claim`
      : `the keep of volume ${action.volume} (claim ${kept.claim}, ordinal ${kept.ordinal}) ended at ${kept.until}; ` +
        `its reclaim policy is ${action.policy} again`;
    this.log.info(message, { statefulset: `${kept.namespace}/${kept.statefulset}`, volume: action.volume });
    if (set) {
      this.events.record(set, { type: 'Normal', reason: action.restored ? 'VolumeRestoreDone' : 'VolumeReclaimed', action: 'ReclaimVolume',
        note: message });
    }
  }
}
