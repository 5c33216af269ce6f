// Leader election on a coordination.k8s.io/v1 Lease, with client-go's semantics: acquire when the lease is
// free or expired, renew every retry period, and consider leadership lost once renewals have failed for
// the renew deadline, which is shorter than the lease duration, so this replica stops acting before
// another one could take the lease over. Every duration is measured on the monotonic clock: a wall clock
// stepped back must not stretch a term, one stepped forward must not end it (the Lease's times are only
// informational, as in client-go).
import { describeApiError, microTime, statusOf, type KubeApi, type Lease } from './api.ts';
import type { Logger } from '../log.ts';

export interface LeaderElectionOptions {
  namespace: string;
  name: string;
  identity: string;
  leaseDurationMs: number;
  renewDeadlineMs: number;
  retryPeriodMs: number;
}

export type LeaseApi = Pick<KubeApi, 'getLease' | 'createLease' | 'replaceLease'>;

export class LeaderElector {
  /** When the last successful renewal was sent, on the monotonic clock. */
  private lastRenew: number | undefined;
  /** Leadership as last reported through onChange. */
  private leading = false;
  private stopped = false;
  private timer: NodeJS.Timeout | undefined;
  private deadlineTimer: NodeJS.Timeout | undefined;
  private observed: { holder: string; renew: number; resourceVersion: string } | undefined;
  private readonly api: LeaseApi;
  private readonly options: LeaderElectionOptions;
  private readonly log: Logger;
  private readonly onChange: (leading: boolean) => void;

  /**
   * `onChange(true)` starts every term: also when this replica renews again after its renew deadline
   * passed (a stall, a pause, an outage) with no one having taken the lease. The controller skipped work
   * while it was not the leader, so each term must begin with a look at everything.
   */
  constructor(api: LeaseApi, options: LeaderElectionOptions, log: Logger, onChange: (leading: boolean) => void) {
    if (!(options.renewDeadlineMs < options.leaseDurationMs && options.retryPeriodMs < options.renewDeadlineMs)) {
      throw new Error('leader election needs retry period < renew deadline < lease duration');
    }
    this.api = api;
    this.options = options;
    this.log = log;
    this.onChange = onChange;
  }

  /** True only while the last successful renewal is younger than the renew deadline. */
  isLeader(): boolean {
    // Stryker disable next-line ConditionalExpression: with no renewal yet, now - undefined is NaN and the comparison is false.
    return !this.stopped && this.lastRenew !== undefined && performance.now() - this.lastRenew < this.options.renewDeadlineMs;
  }

  start(): void {
    void this.tick();
  }

  private schedule(): void {
    if (!this.stopped) this.timer = setTimeout(() => void this.tick(), this.options.retryPeriodMs);
  }

  private async tick(): Promise<void> {
    const attemptStarted = performance.now();
    try {
      // Measured from before the request was sent: the lease is at least this fresh.
      if (await this.tryAcquireOrRenew(attemptStarted)) this.renewed(attemptStarted);
    } catch (err) {
      this.log.warn('leader election request failed', { lease: this.options.name, error: describeApiError(err) });
    }
    // (A lapse is reported by the deadline timer, armed whenever this replica leads.)
    this.schedule();
  }

  private renewed(at: number): void {
    // isLeader() was false at some moment since the last renewal exactly when this holds now.
    const lapsed = !this.isLeader();
    const lastRenew = Math.max(this.lastRenew ?? at, at);
    this.lastRenew = lastRenew;
    if (!this.isLeader()) return;
    if (lapsed) {
      // One report per change: a lapse the deadline timer reported already is not reported again.
      this.setLeading(false);
      this.setLeading(true);
    }
    // Reports the loss when the deadline passes without a renewal, even while a renewal request hangs.
    // Stryker disable next-line CallExpression: a timer left armed finds the replica still leading and does nothing.
    clearTimeout(this.deadlineTimer);
    this.deadlineTimer = setTimeout(() => {
      // Stryker disable next-line ConditionalExpression: the timer fires at the deadline, where isLeader() is false already and a
      // renewal since would have re-armed it; the check only guards against a timer a millisecond early.
      if (!this.isLeader()) this.setLeading(false);
    }, lastRenew + this.options.renewDeadlineMs - performance.now());
    // Stryker disable next-line CallExpression: only whether the timer keeps a stopping process alive.
    this.deadlineTimer.unref();
  }

  private setLeading(leading: boolean): void {
    if (leading === this.leading) return;
    this.leading = leading;
    this.log.info(leading ? 'became leader' : 'lost leadership', { lease: this.options.name, identity: this.options.identity });
    this.onChange(leading);
  }

  private leaseBody(existing?: Lease): Lease {
    const now = microTime(Date.now());
    const mine = existing?.spec?.holderIdentity === this.options.identity;
    return {
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: { ...existing?.metadata, name: this.options.name, namespace: this.options.namespace },
      spec: {
        holderIdentity: this.options.identity,
        leaseDurationSeconds: Math.ceil(this.options.leaseDurationMs / 1000),
        // Stryker disable next-line OptionalChaining: mine means the existing lease's spec named us, so both exist.
        acquireTime: mine ? existing?.spec?.acquireTime : now,
        renewTime: now,
        leaseTransitions: (existing?.spec?.leaseTransitions ?? 0) + (mine || !existing ? 0 : 1),
      },
    };
  }

  private async tryAcquireOrRenew(now: number): Promise<boolean> {
    let lease: Lease;
    try {
      lease = await this.api.getLease(this.options.namespace, this.options.name);
    } catch (err) {
      if (statusOf(err) !== 404) throw err;
      await this.api.createLease(this.leaseBody());
      return true;
    }
    const holder = lease.spec?.holderIdentity ?? '';
    // Stryker disable next-line OptionalChaining,StringLiteral: the API server always answers with metadata and a resourceVersion.
    const resourceVersion = lease.metadata?.resourceVersion ?? '';
    // Expiry is judged by when *we* last saw the lease change, not by the holder's clock.
    if (!this.observed || this.observed.resourceVersion !== resourceVersion) {
      this.observed = { holder, renew: now, resourceVersion };
    }
    const duration = (lease.spec?.leaseDurationSeconds ?? 15) * 1000;
    const heldByOther = holder !== '' && holder !== this.options.identity;
    if (heldByOther && now < this.observed.renew + duration) return false;
    try {
      await this.api.replaceLease(this.leaseBody(lease));
      return true;
    } catch (err) {
      if (statusOf(err) === 409) return false;
      throw err;
    }
  }

  /** Gives the lease up so another replica can take over at once (only if we still hold it). */
  async release(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    // Stryker disable next-line CallExpression: the deadline timer finds leading false below and does nothing.
    clearTimeout(this.deadlineTimer);
    if (!this.leading) return;
    // Stryker disable next-line BooleanLiteral: once stopped, nothing reads it again (isLeader answers false when stopped).
    this.leading = false;
    try {
      const lease = await this.api.getLease(this.options.namespace, this.options.name);
      if (lease.spec?.holderIdentity !== this.options.identity) return;
      await this.api.replaceLease({ ...lease, spec: { ...lease.spec, holderIdentity: '', leaseDurationSeconds: 1 } });
    } catch (err) {
      this.log.warn('could not release the lease', { error: String(err) });
    }
  }
}
