// Day-one mistakes end the controller with one line that says what is wrong and which flag or permission
// fixes it, and a non-zero exit: what an operator reads in `kubectl logs` of a crash-looping pod.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { parse, stringify } from 'yaml';
import type { RunningController } from '../../local-cluster/controller-process.ts';
import { waitFor } from '../../local-cluster/processes.ts';
import { useE2E } from './e2e-context.ts';

const ctx = useE2E('startup');

/** Waits for the controller to exit; returns its exit code and the lines it wrote that are not JSON logs. */
async function failure(controller: RunningController): Promise<{ code: number | null; lines: string[] }> {
  await waitFor('the controller to exit', async () => (controller.process.exitCode !== null ? true : undefined), 30_000);
  const lines = controller.logs().split('\n').filter((line) => line && !line.startsWith('{'));
  return { code: controller.process.exitCode, lines };
}

function expectOneLine(result: { code: number | null; lines: string[] }, says: RegExp): void {
  expect(result.code).toBe(1);
  expect(result.lines).toEqual([expect.stringMatching(says)]);
  expect(result.lines[0]).toMatch(/^statefulset-drain-controller: /);
}

test('a metrics port already in use: one line naming the address and the flags to move it', async () => {
  const busy = net.createServer();
  await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
  try {
    const port = (busy.address() as net.AddressInfo).port;
    const controller = await ctx.start([`--metrics-bind-address=127.0.0.1:${port}`], { waitReady: false });
    expectOneLine(await failure(controller), new RegExp(`cannot listen on 127\\.0\\.0\\.1:${port} .*in use.*--metrics-bind-address`));
  } finally {
    busy.close();
  }
});

test('a kubeconfig that does not exist: one line naming the file and --kubeconfig', async () => {
  const controller = await ctx.start(['--kubeconfig=/nonexistent/kubeconfig'], { waitReady: false });
  expectOneLine(await failure(controller), /cannot read \/nonexistent\/kubeconfig: no such file .*--kubeconfig/);
});

test('a context the kubeconfig does not have: one line listing the contexts it has', async () => {
  const controller = await ctx.start(['--context=production'], { waitReady: false });
  const contexts = (parse(readFileSync(ctx.c.kubeconfig, 'utf8')) as { contexts: Array<{ name: string }> }).contexts.map((c) => c.name);
  expectOneLine(await failure(controller),
    new RegExp(`context "production" not found; choose one of ${contexts.join(', ')} with --context`));
});

/** A kubeconfig of a ServiceAccount that may do nothing at all. */
async function powerlessKubeconfig(): Promise<string> {
  const { c, ns } = ctx;
  await c.kubectl(['-n', ns, 'create', 'serviceaccount', 'powerless']);
  const token = (await c.kubectl(['-n', ns, 'create', 'token', 'powerless', '--duration=1h'])).trim();
  const doc = parse(readFileSync(c.kubeconfig, 'utf8')) as { users: Array<{ user: Record<string, unknown> }> };
  doc.users[0]!.user = { token };
  const kubeconfig = path.join(mkdtempSync(path.join(os.tmpdir(), 'sdc-startup-')), 'kubeconfig');
  writeFileSync(kubeconfig, stringify(doc));
  return kubeconfig;
}

test('--keep-volume without the permissions to keep volumes: one line naming what is missing and how to grant it', async () => {
  const controller = await ctx.start([`--kubeconfig=${await powerlessKubeconfig()}`, '--keep-volume=72h'], { waitReady: false });
  expectOneLine(await failure(controller),
    /--keep-volume needs get, list, patch on persistentvolumes .*: apply manifests\/keep-volume, or .*keepVolume.enabled=true/);
});

test('RBAC that forbids listing StatefulSets: one line naming the list, the namespace and the permission', async () => {
  const { ns } = ctx;
  const controller = await ctx.start([`--kubeconfig=${await powerlessKubeconfig()}`], { waitReady: false });
  expectOneLine(await failure(controller),
    new RegExp(`refuses to list or watch statefulsets in namespace ${ns} \\(403\\).*get, list and watch on statefulsets`));
});
