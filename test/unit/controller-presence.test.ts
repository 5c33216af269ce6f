// `status` and `why` say whether a controller runs, from the leader Lease: a plan that nobody carries out is
// only what would happen.
import { findLease, presenceOf } from '../../src/cli/controller-presence.ts';
import { ApiError } from '../../src/kube/http-client.ts';
import type { Lease } from '../../src/kube/api.ts';

const NOW = Date.parse('2026-12-03T10:00:00Z');
const lease = (spec: Lease['spec'], namespace = 'ops'): Lease => ({ metadata: { namespace, name: 'statefulset-drain-controller' }, spec });
const at = (secondsAgo: number) => new Date(NOW - secondsAgo * 1000).toISOString();

describe('presenceOf', () => {
  it.each([
    ['renewed within its duration', { holderIdentity: 'sdc-7f_1', leaseDurationSeconds: 15, renewTime: at(3) },
      true, 'controller sdc-7f_1 is running (lease ops/statefulset-drain-controller renewed 3s ago)'],
    ['renewed exactly one duration ago', { holderIdentity: 'sdc-7f_1', leaseDurationSeconds: 15, renewTime: at(15) }, true, /is running/],
    ['not renewed for longer than its duration', { holderIdentity: 'sdc-7f_1', leaseDurationSeconds: 15, renewTime: at(300) },
      false,
      'no controller is running: the lease ops/statefulset-drain-controller was last renewed 5m ago by sdc-7f_1, longer ago than its 15s'],
    ['one second past its duration', { holderIdentity: 'sdc-7f_1', leaseDurationSeconds: 15, renewTime: at(16) }, false,
      /no controller is running/],
    ['handed back on shutdown', { holderIdentity: '', leaseDurationSeconds: 15, renewTime: at(40) },
      false, 'no controller is running: the lease ops/statefulset-drain-controller was handed back (last renewed 40s ago)'],
    ['acquired, never renewed since', { holderIdentity: 'a', leaseDurationSeconds: 15, acquireTime: at(2) }, true, /renewed 2s ago/],
    ['held, with no time at all', { holderIdentity: 'a', leaseDurationSeconds: 15 }, false, /last renewed never by a/],
  ])('%s', (_, spec, running, summary) => {
    const presence = presenceOf({ lease: lease(spec) }, NOW);
    expect(presence.running).toBe(running);
    expect(presence.summary).toEqual(typeof summary === 'string' ? summary : expect.stringMatching(summary));
  });

  it('no lease anywhere: nobody runs, and it says where it looked and which flags say where else', () => {
    const presence = presenceOf({ missing: ['statefulset-drain-controller/sdc', 'shop/sdc'] }, NOW);
    expect(presence).toMatchObject({ running: false, lease: 'statefulset-drain-controller/sdc or shop/sdc' });
    expect(presence.summary)
      .toMatch(/^no controller is running: there is no lease statefulset-drain-controller\/sdc or shop\/sdc .*--leader-election-namespace/);
  });

  it('a lease that cannot be read: unknown, not "not running"', () => {
    const presence = presenceOf({ error: 'forbidden', where: 'ops/sdc' }, NOW);
    expect(presence.running).toBeUndefined();
    expect(presence.summary).toBe('whether a controller is running is unknown: the lease ops/sdc cannot be read (forbidden)');
  });
});

describe('findLease', () => {
  const api = (leases: Record<string, Lease | number>) => ({
    getLease: async (namespace: string) => {
      const found = leases[namespace];
      if (found === undefined) throw new ApiError(404, 'not found');
      if (typeof found === 'number') throw new ApiError(found, `refused with ${found}`);
      return found;
    },
  });

  it('of several, the one renewed last (a namespaced install beside a stale cluster-wide one)', async () => {
    const old = lease({ holderIdentity: 'a', renewTime: at(600) }, 'statefulset-drain-controller');
    const fresh = lease({ holderIdentity: 'b', renewTime: at(1) }, 'shop');
    expect(await findLease(api({ 'statefulset-drain-controller': old, 'shop': fresh }), ['statefulset-drain-controller', 'shop'], 'sdc'))
      .toEqual({ lease: fresh });
    expect(await findLease(api({ 'statefulset-drain-controller': fresh, 'shop': old }), ['statefulset-drain-controller', 'shop'], 'sdc'))
      .toEqual({ lease: fresh });
  });

  it('none found: every place looked at, once each', async () => {
    expect(await findLease(api({}), ['shop', 'shop'], 'sdc')).toEqual({ missing: ['shop/sdc'] });
  });

  it('a refusal other than 404 is reported, not taken for absence', async () => {
    expect(await findLease(api({ shop: 403 }), ['shop'], 'sdc')).toEqual({ error: 'refused with 403', where: 'shop/sdc' });
  });
});
