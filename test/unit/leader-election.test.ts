// Leader election against an in-memory Lease, on Jest's fake clock: acquiring, waiting out another holder,
// reporting the loss at the renew deadline even while a renewal hangs, and handing the lease over.
import { jest } from '@jest/globals';
import type { Lease } from '../../src/kube/api.ts';
import { LeaderElector, type LeaseApi } from '../../src/kube/leader-election.ts';
import { apiError, quietLogger } from './fakes/cluster.ts';

class FakeLeases implements LeaseApi {
  lease: Lease | undefined;
  private version = 0;
  /** While set, every request waits for it (a hung connection). */
  hang: Promise<void> | undefined;
  failing = false;

  private async gate(): Promise<void> {
    if (this.hang) await this.hang;
    if (this.failing) throw apiError(503);
  }

  async getLease(): Promise<Lease> {
    await this.gate();
    if (!this.lease) throw apiError(404);
    return structuredClone(this.lease);
  }

  async createLease(lease: Lease): Promise<Lease> {
    await this.gate();
    if (this.lease) throw apiError(409);
    this.lease = { ...lease, metadata: { ...lease.metadata, resourceVersion: String(++this.version) } };
    return this.lease;
  }

  async replaceLease(lease: Lease): Promise<Lease> {
    await this.gate();
    if (lease.metadata?.resourceVersion !== this.lease?.metadata?.resourceVersion) throw apiError(409);
    this.lease = { ...lease, metadata: { ...lease.metadata, resourceVersion: String(++this.version) } };
    return this.lease;
  }
}

const timing = { leaseDurationMs: 4_000, renewDeadlineMs: 3_000, retryPeriodMs: 500 };

function elector(api: FakeLeases, identity: string, changes: boolean[]): LeaderElector {
  return new LeaderElector(api, { namespace: 'ns', name: 'lock', identity, ...timing }, quietLogger(), (leading) => changes.push(leading));
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
    const a = new LeaderElector(holderView, { namespace: 'ns', name: 'lock', identity: 'a', ...timing }, quietLogger(), () => {});
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
    await jest.advanceTimersByTimeAsync(10);
    let resume: () => void = () => {};
    api.hang = new Promise((resolve) => {
      resume = resolve;
    });
    await jest.advanceTimersByTimeAsync(timing.renewDeadlineMs);
    expect(a.isLeader()).toBe(false);
    expect(changes).toEqual([true, false]);
    api.hang = undefined;
    resume();
    await jest.advanceTimersByTimeAsync(1_000);
    expect(a.isLeader()).toBe(true);
    // The hung renewal, once answered, counts from when it was sent: it may restore leadership briefly before
    // the next renewal; what matters is that the loss was reported and that a new term began.
    expect(changes.slice(0, 2)).toEqual([true, false]);
    expect(changes.at(-1)).toBe(true);
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
});
