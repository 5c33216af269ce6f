// Every example in examples/ works as documented on the local control plane.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { claimNames, eventReasons, eventually, readyReplicas } from '../../local-cluster/cluster-client.ts';
import { exampleWithSimulatedDrain } from '../../local-cluster/examples.ts';
import { scale } from '../../local-cluster/workloads.ts';
import { useE2E } from './e2e-context.ts';

const ctx = useE2E('example');
const examples = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'examples');

test.each([
  { example: 'datastore', set: 'datastore', replicas: 3, scaleTo: 2,
    remaining: ['data-datastore-0', 'data-datastore-1', 'datastore-archive'] },
  { example: 'parallel', set: 'cache', replicas: 6, scaleTo: 2, remaining: ['cache-archive', 'cache-cache-0', 'cache-cache-1'] },
  { example: 'two-claims', set: 'ledger', replicas: 3, scaleTo: 2,
    remaining: ['data-ledger-0', 'data-ledger-1', 'ledger-exports', 'wal-ledger-0', 'wal-ledger-1'] },
])('examples/$example: scale $replicas -> $scaleTo drains and releases the removed replicas\' claims', async ({ example, set, replicas,
    scaleTo, remaining }) => {
  const { c, ns } = ctx;
  await ctx.start();
  await c.kubectl(['-n', ns, 'apply', '-f', '-'], exampleWithSimulatedDrain(path.join(examples, example, 'statefulset.yaml'), '2s'));
  await eventually(`${set} ready`, async () => (await readyReplicas(c, ns, set)) === replicas, 90_000);
  await scale(c, ns, set, scaleTo);
  await eventually('claims released', async () => JSON.stringify(await claimNames(c, ns)) === JSON.stringify(remaining), 90_000);
  await eventually('one DrainCompleted event per removed replica', async () =>
    (await eventReasons(c, ns, set)).filter((r) => r === 'DrainCompleted').length === replicas - scaleTo);
});
