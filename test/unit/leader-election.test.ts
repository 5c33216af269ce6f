// Leader election against an in-memory Lease, on Jest's fake clock: acquiring, waiting out another holder,
// reporting the loss at the renew deadline even while a renewal hangs, and handing the lease over.
import { jest } from '@jest/globals';
import { microTime, type Lease } from '../../src/kube/api.ts';
import { LeaderElector, type LeaseApi } from '../../src/kube/leader-election.ts';
import { apiError, quietLogger, recordingLogger } from './fakes/cluster.ts';

class FakeLeases implements LeaseApi {
  lease: Lease | undefined;
  private version = 0;
  /** While set, every request waits for it (a hung connection). */
  hang: Promise<void> | undefined;
  failing = false;
  /** Every request, by verb, in order. */
  readonly requests: string[] = [];
  /** The next replace loses a race with another writer. */
  conflictOnce = false;
  /** Replaces fail (503), reads work. */
  failReplace = false;

  private async gate(verb: string): Promise<void> {
    this.requests.push(verb);
    if (this.hang) await this.hang;
    if (this.failing) throw apiError(503);
  }

  async getLease(): Promise<Lease> {
    await this.gate('get');
    if (!this.lease) throw apiError(404);
    return structuredClone(this.lease);
  }

  async createLease(lease: Lease): Promise<Lease> {
    await this.gate('create');
    if (this.lease) throw apiError(409);
    this.lease = { ...lease, metadata: { ...lease.metadata, resourceVersion: String(++this.version) } };
    return this.lease;
  }

  async replaceLease(lease: Lease): Promise<Lease> {
    await this.gate('replace');
    if (this.conflictOnce) {
      this.conflictOnce = false;
      throw apiError(409);
    }
    if (this.failReplace) throw apiError(503);
    if (lease.metadata?.resourceVersion !== this.lease?.metadata?.resourceVersion) throw apiError(409);
    this.lease = { ...lease, metadata: { ...lease.metadata, resourceVersion: String(++this.version) } };
    return this.lease;
  }
}

const timing = { leaseDurationMs: 4_000, renewDeadlineMs: 3_000, retryPeriodMs: 500 };

function elector(api: LeaseApi, identity: string, changes: boolean[], log = quietLogger()): LeaderElector {
  return new LeaderElector(api, { namespace: 'ns', name: 'lock', identity, ...timing }, log, (leading) => changes.push(leading));
}

beforeEach(() => jest.useFakeTimers());
afterEach(() => jest.useRealTimers());

describe('LeaderElector', () => {
  it('takes a free lease and keeps it by renewing', async () => {
    const api = new FakeLeases();
    const changes: boolean[] = [];
    const a = elector(api, 'a', changes);
    a.start();
    await jest.advanceTimersByTimeAsync(10);
    expect(a.isLeader()).toBe(true);
    await jest.advanceTimersByTimeAsync(20_000);
    expect(a.isLeader()).toBe(true);
    expect(changes).toEqual([true]);
    expect(api.lease?.spec?.holderIdentity).toBe('a');
    await a.release();
  });

  it('waits out another holder\'s lease by its own clock, and takes it only once it has stopped changing for a ' +
      'lease duration', async () => {
    const api = new FakeLeases();
    const a = elector(api, 'a', []);
    a.start();
    await jest.advanceTimersByTimeAsync(10);
    const changes: boolean[] = [];
    const b = elector(api, 'b', changes);
    b.start();
    await jest.advanceTimersByTimeAsync(10_000);
    expect(b.isLeader()).toBe(false);
    await a.release(); // stops renewing; the lease says holder '' for 1 s
    await jest.advanceTimersByTimeAsync(1_000);
    expect(b.isLeader()).toBe(true);
    expect(changes).toEqual([true]);
    await b.release();
  });

  it('takes over the lease of a holder that crashed (stopped renewing without releasing it), a lease duration after its ' +
      'last renewal', async () => {
    const api = new FakeLeases();
    let crashed = false;
    // The holder's own view of the API: once it has crashed, nothing it sends arrives.
    const holderView: LeaseApi = {
      getLease: () => (crashed ? new Promise(() => {}) : api.getLease()),
      createLease: (l) => (crashed ? new Promise(() => {}) : api.createLease(l)),
      replaceLease: (l) => (crashed ? new Promise(() => {}) : api.replaceLease(l)),
    };
    const a = elector(holderView, 'a', []);
    a.start();
    await jest.advanceTimersByTimeAsync(10);
    const changes: boolean[] = [];
    const b = elector(api, 'b', changes);
    b.start();
    await jest.advanceTimersByTimeAsync(5_000);
    expect(b.isLeader()).toBe(false);
    crashed = true;
    await jest.advanceTimersByTimeAsync(timing.leaseDurationMs - timing.retryPeriodMs - 100);
    expect(b.isLeader()).toBe(false); // the lease still names a, unrenewed for less than its duration
    expect(api.lease?.spec?.holderIdentity).toBe('a');
    await jest.advanceTimersByTimeAsync(timing.retryPeriodMs * 3);
    expect(b.isLeader()).toBe(true);
    expect(api.lease?.spec?.holderIdentity).toBe('b');
    expect(changes).toEqual([true]);
    await b.release();
  });

  it('reports the loss at the renew deadline, even while a renewal request hangs, and starts a new term when renewals ' +
      'work again', async () => {
    const api = new FakeLeases();
    const changes: boolean[] = [];
    const a = elector(api, 'a', changes);
    a.start();
    await jest.advanceTimersByTimeAsync(5_000);
    let resume: () => void = () => {};
    api.hang = new Promise((resolve) => {
      resume = resolve;
    });
    // The last renewal was sent at most one retry period ago; the next one hangs from then on.
    await jest.advanceTimersByTimeAsync(timing.renewDeadlineMs);
    expect(a.isLeader()).toBe(false);
    expect(changes).toEqual([true, false]);
    await jest.advanceTimersByTimeAsync(1_000);
    api.hang = undefined;
    resume();
    await jest.advanceTimersByTimeAsync(1_000);
    expect(a.isLeader()).toBe(true);
    // The hung renewal, answered after its own deadline, does not count; the next one starts a new term.
    expect(changes).toEqual([true, false, true]);
    await a.release();
  });

  it('a stall that hid the renew deadline (the process paused; the renewal\'s answer handled before the deadline\'s timer) still ' +
      'ends the term: the renewal starts a new one', async () => {
    const api = new FakeLeases();
    const changes: boolean[] = [];
    const a = elector(api, 'a', changes);
    a.start();
    await jest.advanceTimersByTimeAsync(10);
    expect(changes).toEqual([true]);
    // The monotonic clock jumps past the deadline; the next renewal is sent after the jump, and no timer but
    // the retry's has fired.
    const after = performance.now() + timing.renewDeadlineMs + 100;
    jest.spyOn(performance, 'now').mockReturnValue(after);
    await jest.advanceTimersByTimeAsync(timing.retryPeriodMs);
    expect(a.isLeader()).toBe(true);
    expect(changes).toEqual([true, false, true]);
    await a.release();
  });

  it('failing renewals end leadership at the renew deadline, before the lease could pass to another replica', async () => {
    const api = new FakeLeases();
    const changes: boolean[] = [];
    const a = elector(api, 'a', changes);
    a.start();
    await jest.advanceTimersByTimeAsync(10);
    api.failing = true;
    await jest.advanceTimersByTimeAsync(timing.renewDeadlineMs - 600);
    expect(a.isLeader()).toBe(true);
    await jest.advanceTimersByTimeAsync(700);
    expect(a.isLeader()).toBe(false);
    expect(changes).toEqual([true, false]);
    await a.release();
  });

  it('a wall clock stepped back does not stretch leadership past the renew deadline', async () => {
    const api = new FakeLeases();
    const changes: boolean[] = [];
    const a = elector(api, 'a', changes);
    a.start();
    await jest.advanceTimersByTimeAsync(10);
    // An NTP step of a minute back, then the API server becomes unreachable for this replica.
    jest.setSystemTime(Date.now() - 60_000);
    api.failing = true;
    await jest.advanceTimersByTimeAsync(timing.renewDeadlineMs + 100);
    expect(a.isLeader()).toBe(false);
    expect(changes).toEqual([true, false]);
    await a.release();
  });

  it('a wall clock stepped forward neither ends a healthy term nor lets a follower take a lease that is being renewed', async () => {
    const api = new FakeLeases();
    const leaderChanges: boolean[] = [];
    const a = elector(api, 'a', leaderChanges);
    a.start();
    await jest.advanceTimersByTimeAsync(10);
    const b = elector(api, 'b', []);
    b.start();
    await jest.advanceTimersByTimeAsync(1_000);
    jest.setSystemTime(Date.now() + 60_000);
    await jest.advanceTimersByTimeAsync(5_000);
    expect(a.isLeader()).toBe(true);
    expect(b.isLeader()).toBe(false);
    expect(leaderChanges).toEqual([true]);
    await b.release();
    await a.release();
  });

  it('release hands the lease over at once', async () => {
    const api = new FakeLeases();
    const a = elector(api, 'a', []);
    a.start();
    await jest.advanceTimersByTimeAsync(10);
    await a.release();
    expect(api.lease?.spec?.holderIdentity).toBe('');
    expect(a.isLeader()).toBe(false);
  });

  it('refuses timings in which the leader could still act after another replica took the lease over', () => {
    const make = (t: typeof timing) => () => new LeaderElector(new FakeLeases(),
      { namespace: 'ns', name: 'lock', identity: 'a', ...t }, quietLogger(), () => {});
    const refused = 'leader election needs retry period < renew deadline < lease duration';
    expect(make({ leaseDurationMs: 3_000, renewDeadlineMs: 3_000, retryPeriodMs: 500 })).toThrow(refused);
    expect(make({ leaseDurationMs: 2_000, renewDeadlineMs: 3_000, retryPeriodMs: 500 })).toThrow(refused);
    expect(make({ leaseDurationMs: 4_000, renewDeadlineMs: 3_000, retryPeriodMs: 3_000 })).toThrow(refused);
    expect(make({ leaseDurationMs: 4_000, renewDeadlineMs: 3_000, retryPeriodMs: 3_500 })).toThrow(refused);
    expect(make(timing)).not.toThrow();
  });

  it('writes a Lease that other tools read: its kind, holder, duration in seconds, and when it was acquired and renewed', async () => {
    const api = new FakeLeases();
    const a = new LeaderElector(api, { namespace: 'ns', name: 'lock', identity: 'a', leaseDurationMs: 4_500, renewDeadlineMs: 3_000,
      retryPeriodMs: 500 }, quietLogger(), () => {});
    a.start();
    await jest.advanceTimersByTimeAsync(10);
    const first = structuredClone(api.lease!);
    expect(first).toMatchObject({ apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name: 'lock', namespace: 'ns' },
      spec: { holderIdentity: 'a', leaseDurationSeconds: 5, leaseTransitions: 0 } });
    expect(first.spec?.renewTime).toBe(first.spec?.acquireTime);
    await jest.advanceTimersByTimeAsync(1_000);
    // Renewing keeps the acquire time and the transitions, and moves the renew time.
    expect(api.lease?.spec?.acquireTime).toBe(first.spec?.acquireTime);
    expect(api.lease?.spec?.leaseTransitions).toBe(0);
    expect(new Date(String(api.lease?.spec?.renewTime)).getTime()).toBeGreaterThan(new Date(String(first.spec?.renewTime)).getTime());
    await a.release();
  });

  it('counts a takeover as a lease transition and starts a new acquire time', async () => {
    const api = new FakeLeases();
    const a = elector(api, 'a', []);
    a.start();
    await jest.advanceTimersByTimeAsync(10);
    const acquiredByA = api.lease?.spec?.acquireTime;
    const b = elector(api, 'b', []);
    b.start();
    await a.release();
    await jest.advanceTimersByTimeAsync(1_500);
    expect(b.isLeader()).toBe(true);
    expect(api.lease?.spec?.leaseTransitions).toBe(1);
    expect(api.lease?.spec?.acquireTime).not.toBe(acquiredByA);
    await b.release();
  });

  it('takes over a crashed holder\'s lease at the first attempt after a lease duration without change, not one period later', async () => {
    const api = new FakeLeases();
    api.lease = { metadata: { name: 'lock', namespace: 'ns', resourceVersion: '7' },
      spec: { holderIdentity: 'gone', leaseDurationSeconds: 4, renewTime: microTime(Date.now()) } };
    const b = elector(api, 'b', []);
    b.start(); // first sees version 7 now; attempts every 500 ms
    await jest.advanceTimersByTimeAsync(timing.leaseDurationMs - 1);
    expect(b.isLeader()).toBe(false);
    await jest.advanceTimersByTimeAsync(1);
    expect(b.isLeader()).toBe(true);
    await b.release();
  });

  it('release of a Lease someone rewrote without a spec leaves it alone, quietly', async () => {
    const api = new FakeLeases();
    const log = recordingLogger();
    const a = elector(api, 'a', [], log);
    a.start();
    await jest.advanceTimersByTimeAsync(10);
    delete api.lease!.spec;
    await a.release();
    expect(api.requests.filter((r) => r === 'replace')).toEqual([]);
    expect(log.lines.filter((l) => l.level === 'warn')).toEqual([]);
  });

  it('treats a Lease without a spec as free', async () => {
    const api = new FakeLeases();
    api.lease = { metadata: { name: 'lock', namespace: 'ns', resourceVersion: '3' } };
    const a = elector(api, 'a', []);
    a.start();
    await jest.advanceTimersByTimeAsync(10);
    expect(a.isLeader()).toBe(true);
    await a.release();
  });

  it('a lost race for the lease (409) is not a failure: no warning, and the next attempt decides', async () => {
    const api = new FakeLeases();
    const log = recordingLogger();
    api.lease = { metadata: { name: 'lock', namespace: 'ns', resourceVersion: '3' }, spec: { holderIdentity: '' } };
    api.conflictOnce = true;
    const a = elector(api, 'a', [], log);
    a.start();
    await jest.advanceTimersByTimeAsync(10);
    expect(a.isLeader()).toBe(false);
    await jest.advanceTimersByTimeAsync(timing.retryPeriodMs);
    expect(a.isLeader()).toBe(true);
    expect(log.lines.filter((l) => l.level === 'warn')).toEqual([]);
    await a.release();
  });

  it('logs a failed request with the lease\'s name, and each change of leadership once', async () => {
    const api = new FakeLeases();
    const log = recordingLogger();
    const a = elector(api, 'a', [], log);
    a.start();
    await jest.advanceTimersByTimeAsync(10);
    api.failing = true;
    await jest.advanceTimersByTimeAsync(timing.renewDeadlineMs + 1_000);
    expect(log.lines.filter((l) => l.level === 'info').map((l) => [l.message, l.meta.lease, l.meta.identity]))
      .toEqual([['became leader', 'lock', 'a'], ['lost leadership', 'lock', 'a']]);
    const warnings = log.lines.filter((l) => l.level === 'warn');
    expect(warnings.length).toBeGreaterThan(0);
    expect(warnings[0]).toMatchObject({ message: 'leader election request failed', meta: { lease: 'lock' } });
    expect(String(warnings[0]?.meta.error)).toMatch(/503/);
    await a.release();
  });

  it('a GET that fails other than with 404 neither creates a Lease nor leads', async () => {
    const api = new FakeLeases();
    api.failing = true;
    const a = elector(api, 'a', []);
    a.start();
    await jest.advanceTimersByTimeAsync(2_000);
    expect(a.isLeader()).toBe(false);
    expect(api.requests.every((r) => r === 'get')).toBe(true);
    expect(api.lease).toBeUndefined();
    await a.release();
  });

  it('once released, sends nothing more, does not lead, and reports no change of leadership', async () => {
    const api = new FakeLeases();
    const changes: boolean[] = [];
    const a = elector(api, 'a', changes);
    a.start();
    await jest.advanceTimersByTimeAsync(10);
    await a.release();
    const sent = api.requests.length;
    await jest.advanceTimersByTimeAsync(20_000);
    expect(api.requests.length).toBe(sent);
    expect(a.isLeader()).toBe(false);
    expect(api.lease?.spec?.holderIdentity).toBe('');
    expect(changes).toEqual([true]);
  });

  it('release by a replica that does not lead sends nothing; by one whose lease another took, leaves that lease alone', async () => {
    const api = new FakeLeases();
    const follower = elector(api, 'b', []);
    await follower.release();
    expect(api.requests).toEqual([]);

    const log = recordingLogger();
    const a = elector(api, 'a', [], log);
    a.start();
    await jest.advanceTimersByTimeAsync(10);
    api.lease = { ...api.lease!, spec: { ...api.lease!.spec, holderIdentity: 'c' } };
    await a.release();
    expect(api.lease?.spec?.holderIdentity).toBe('c');
    expect(log.lines.filter((l) => l.level === 'warn')).toEqual([]);
  });

  it('a release that cannot reach the API server is logged, and the lease then expires on its own', async () => {
    const api = new FakeLeases();
    const log = recordingLogger();
    const a = elector(api, 'a', [], log);
    a.start();
    await jest.advanceTimersByTimeAsync(10);
    api.failing = true;
    await a.release();
    expect(log.lines.filter((l) => l.level === 'warn').map((l) => l.message)).toEqual(['could not release the lease']);
    expect(String(log.lines.at(-1)?.meta.error)).toMatch(/503/);
  });

  it('a renewal the API server refuses other than by a conflict is a failure, and logged as one', async () => {
    const api = new FakeLeases();
    const log = recordingLogger();
    const a = elector(api, 'a', [], log);
    a.start();
    await jest.advanceTimersByTimeAsync(10);
    api.failReplace = true;
    await jest.advanceTimersByTimeAsync(timing.retryPeriodMs);
    expect(log.lines.filter((l) => l.level === 'warn').map((l) => l.message)).toEqual(['leader election request failed']);
    api.failReplace = false;
    await a.release();
  });

  it('released while a renewal is on its way, sends nothing after that renewal\'s answer', async () => {
    const api = new FakeLeases();
    const a = elector(api, 'a', []);
    a.start();
    await jest.advanceTimersByTimeAsync(10);
    let resume: () => void = () => {};
    api.hang = new Promise((resolve) => {
      resume = resolve;
    });
    await jest.advanceTimersByTimeAsync(timing.retryPeriodMs); // a renewal is sent and hangs
    const released = a.release();
    api.hang = undefined;
    resume();
    await released;
    await jest.advanceTimersByTimeAsync(100);
    const sent = api.requests.length;
    await jest.advanceTimersByTimeAsync(10_000);
    expect(api.requests.length).toBe(sent);
  });
});
