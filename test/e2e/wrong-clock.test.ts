// A replica whose wall clock is ten minutes ahead (libfaketime; its monotonic clock is left alone, as an NTP
// step does) takes over from one whose clock is right. The waits the first one started (a drain delay, a
// keep) still end by the API server's clock: nothing is drained or reclaimed early.
import { claimNames, eventReasons, eventually, podNames } from '../../local-cluster/cluster-client.ts';
import { createReadySet, scale, simulatedDrain } from '../../local-cluster/workloads.ts';
import { DELAY_ANNOTATION, KEEP_VOLUME_ANNOTATION, KEPT_UNTIL_ANNOTATION, KEPT_VOLUME_LABEL, ROLE_LABEL } from '../../src/planner/keys.ts';
import { libfaketime } from '../faults/replicas.ts';
import { useE2E } from './e2e-context.ts';

const ctx = useE2E('clock');

/** A controller whose wall clock runs ten minutes ahead of the API server's. */
function startAhead() {
  const lib = libfaketime();
  if (!lib) throw new Error('libfaketime is not installed (local-cluster/build/ensure-node-packages.sh installs it)');
  return ctx.start([], { env: { LD_PRELOAD: lib, FAKETIME: '+600', DONT_FAKE_MONOTONIC: '1' } });
}

test('a drain delay started by a replica with the right time is not cut short by one whose clock is ahead', async () => {
  const { c, ns } = ctx;
  const first = await ctx.start();
  await createReadySet(c, ns, { name: 'db', replicas: 2, template: simulatedDrain({ after: '1s' }),
    annotations: { [DELAY_ANNOTATION]: '5m' } });
  await scale(c, ns, 'db', 1);
  await eventually('the delay started', async () => (await eventReasons(c, ns, 'db')).includes('DrainDelayed'));
  await first.stop('SIGKILL');
  const ahead = await startAhead();
  await ctx.reconciled(ahead, 'db');
  expect(await podNames(c, ns, ROLE_LABEL)).toEqual([]);
  expect(await claimNames(c, ns)).toEqual(['data-db-0', 'data-db-1']);
});

test('a keep written by a replica with the right time is not ended early by one whose clock is ahead', async () => {
  const { c, ns } = ctx;
  const first = await ctx.start();
  await createReadySet(c, ns, { name: 'db', replicas: 2, template: simulatedDrain({ after: '1s' }),
    annotations: { [KEEP_VOLUME_ANNOTATION]: '5m' } });
  const volume = (await c.core.readNamespacedPersistentVolumeClaim({ namespace: ns, name: 'data-db-1' })).spec!.volumeName!;
  await scale(c, ns, 'db', 1);
  await eventually('claim of ordinal 1 released', async () => !(await claimNames(c, ns)).includes('data-db-1'), 60_000);
  await first.stop('SIGKILL');
  const ahead = await startAhead();
  // Its keeper logs each kept volume once, as kept or as reclaimed.
  await eventually('a pass of the kept volumes by the replica ahead', async () => ahead.entries().some((e) => e.volume === volume));
  expect(ahead.entries().filter((e) => e.volume === volume).map((e) => e.message))
    .toEqual([expect.stringMatching(/^kept volume: kept until /)]);
  const pv = await c.core.readPersistentVolume({ name: volume });
  expect([pv.spec?.persistentVolumeReclaimPolicy, pv.metadata?.labels?.[KEPT_VOLUME_LABEL]]).toEqual(['Retain', 'true']);
  expect(Date.parse(pv.metadata!.annotations![KEPT_UNTIL_ANNOTATION]!)).toBeGreaterThan(Date.now() + 4 * 60_000);
});
