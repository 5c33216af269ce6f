// Undo a release, on a real node: a drain that lies (exits 0 having copied nothing) still releases its claim,
// but with drainer-keep-volume the volume is kept, and `restore` then a scale-up bring the replica back on
// its original files. And a keep that runs out: the policy is put back, and the provisioner deletes the
// volume's directory. Every file asserted here is read from the volume, in the replica or on disk.
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { claimNames, eventReasons, eventually, listClaims, readyReplicas } from '../../local-cluster/cluster-client.ts';
import { claimDirectory, filesUnder } from '../../local-cluster/storage.ts';
import { createReadySet, scale, SHARD_WRITER } from '../../local-cluster/workloads.ts';
import {
  KEEP_VOLUME_ANNOTATION, KEPT_CLAIM_UID_ANNOTATION, KEPT_DRAIN_POD_ANNOTATION, KEPT_VOLUME_LABEL,
} from '../../src/planner/keys.ts';
import { useE2E } from '../e2e/e2e-context.ts';
import { REAL_NODE_UNAVAILABLE } from '../jest/shared-control-plane.ts';

// Without root there is no real node: every test here is reported as skipped (the global set-up says why).
const test = process.env[REAL_NODE_UNAVAILABLE] ? globalThis.test.skip : globalThis.test;
const ctx = useE2E('keep', 'real-node');
const main = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'src', 'cli', 'main.ts');

/** A drain that "succeeds" without moving anything: the bug this feature is the net for. */
const LYING_DRAIN = {
  metadata: { labels: { role: 'drain' } },
  spec: { restartPolicy: 'Never', containers: [{ name: 'drain', image: 'busybox:1.37', command: ['sh', '-c', 'exit 0'],
    volumeMounts: [{ name: 'data', mountPath: '/data' }] }] },
};

/** The command, as a user runs it (`kubectl sts-drain ...`), in the test's namespace. */
async function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath,
      [main, ...args, `--kubeconfig=${ctx.c.kubeconfig}`, '-n', ctx.ns]);
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

test('a drain that lied, on a kept set: the claim is released, its volume kept; restore and a scale-up bring back the original files',
    async () => {
  const { c, ns } = ctx;
  const controller = await ctx.start();
  await createReadySet(c, ns, { name: 'db', replicas: 2, template: LYING_DRAIN, annotations: { [KEEP_VOLUME_ANNOTATION]: '1h' },
    app: SHARD_WRITER });
  const secret = randomUUID();
  await c.kubectl(['-n', ns, 'exec', 'db-1', '--', 'sh', '-c', `echo ${secret} > /claims/data/original.txt`]);
  const claim = (await listClaims(c, ns)).find((p) => p.metadata!.name === 'data-db-1')!;
  const volumeName = claim.spec!.volumeName!;
  const dir = await claimDirectory(c, ns, 'data-db-1');

  await scale(c, ns, 'db', 1);
  await eventually('claim data-db-1 released', async () => !(await claimNames(c, ns)).includes('data-db-1'), 150_000);
  const kept = await eventually('volume Released', async () => {
    const pv = await c.core.readPersistentVolume({ name: volumeName });
    return pv.status?.phase === 'Released' && pv;
  });
  expect(kept.spec?.persistentVolumeReclaimPolicy).toBe('Retain');
  expect(kept.metadata?.labels?.[KEPT_VOLUME_LABEL]).toBe('true');
  expect(kept.metadata?.annotations?.[KEPT_CLAIM_UID_ANNOTATION]).toBe(claim.metadata!.uid);
  expect(kept.metadata?.annotations?.[KEPT_DRAIN_POD_ANNOTATION]).toMatch(/^[0-9a-f-]{36}$/);
  expect(filesUnder(dir)).toEqual({ 'original.txt': `${secret}\n`, 'shard.txt': 'shard db-1\n' });
  expect(await eventReasons(c, ns, 'db')).toEqual(expect.arrayContaining(['VolumeKept', 'ClaimReleased']));

  // status and why list it, with its end and the way back.
  expect((await cli('why', 'db')).stdout).toMatch(new RegExp(`^${ns}/db ordinal 1: volume ${volumeName} of released claim data-db-1: ` +
    'kept: kept until \\S+; `restore db 1` binds it to a new claim\\.$', 'm'));
  expect((await cli('status')).stdout).toMatch(new RegExp(`^${volumeName}\\s+${ns}/data-db-1\\s+db\\s+1\\s+\\S+\\s+kept\\s`, 'm'));

  // In range: refused, nothing changed.
  const refused = await cli('restore', 'db', '0');
  expect([refused.code, refused.stderr.trim()])
    .toEqual([1, expect.stringMatching(/^restore refused: ordinal 0 is in range of StatefulSet/)]);

  const restored = await cli('restore', 'db', '1');
  expect(restored.code).toBe(0);
  expect(restored.stdout).toMatch(new RegExp(`volume ${volumeName} .* is bound to a new claim ${ns}/data-db-1; once it is bound, the ` +
    'controller puts its reclaim policy \\(Delete\\) back'));
  await eventually('the restored claim Bound to the kept volume', async () => {
    const now = (await listClaims(c, ns)).find((p) => p.metadata!.name === 'data-db-1');
    return now?.status?.phase === 'Bound' && now.spec?.volumeName === volumeName;
  });
  // Not drained again before the scale-up it was restored for.
  await ctx.reconciled(controller, 'db');
  const last = controller.entries().filter((e) => e.message === 'synced' && e.statefulset === `${ns}/db`).at(-1);
  expect(last?.ordinals).toEqual(['1:blocked']);
  // Run again: nothing to do, and it says so (a restore that stopped half-way is finished the same way).
  const again = await cli('restore', 'db', '1');
  expect([again.code, again.stdout]).toEqual([0, expect.stringMatching(new RegExp(`^claim ${ns}/data-db-1 was restored on volume ` +
    `${volumeName} already$`, 'm'))]);

  await scale(c, ns, 'db', 2);
  await eventually('db ready with 2 replicas', async () => (await readyReplicas(c, ns, 'db')) === 2, 120_000);
  expect(await eventReasons(c, ns, 'db')).toContain('VolumeRestored');
  expect((await c.kubectl(['-n', ns, 'exec', 'db-1', '--', 'cat', '/claims/data/original.txt'])).trim()).toBe(secret);
  await eventually('the restored volume\'s policy put back, its keep over', async () => {
    const pv = await c.core.readPersistentVolume({ name: volumeName });
    return pv.spec?.persistentVolumeReclaimPolicy === 'Delete' && pv.metadata?.labels?.[KEPT_VOLUME_LABEL] === undefined;
  }, 90_000);
  expect(await eventReasons(c, ns, 'db')).toContain('VolumeRestoreDone');
  expect(await controller.metrics()).toMatch(/^sdc_volumes_restored_total 1$/m);
});

test('a keep that runs out: the reclaim policy is put back and the provisioner deletes the volume and its directory', async () => {
  const { c, ns } = ctx;
  const controller = await ctx.start();
  await createReadySet(c, ns, { name: 'db', replicas: 2, template: LYING_DRAIN, annotations: { [KEEP_VOLUME_ANNOTATION]: '5s' },
    app: SHARD_WRITER });
  const volumeName = (await listClaims(c, ns)).find((p) => p.metadata!.name === 'data-db-1')!.spec!.volumeName!;
  const dir = await claimDirectory(c, ns, 'data-db-1');
  await scale(c, ns, 'db', 1);
  await eventually('claim data-db-1 released', async () => !(await claimNames(c, ns)).includes('data-db-1'), 150_000);
  await eventually('the volume deleted by its provisioner', async () => {
    try {
      await c.core.readPersistentVolume({ name: volumeName });
      return false;
    } catch {
      return true;
    }
  }, 90_000);
  expect(existsSync(dir)).toBe(false);
  expect(await eventReasons(c, ns, 'db')).toEqual(expect.arrayContaining(['VolumeKept', 'VolumeReclaimed']));
  expect(controller.entries().filter((e) => String(e.message).startsWith('the keep of volume'))).toHaveLength(1);
});
