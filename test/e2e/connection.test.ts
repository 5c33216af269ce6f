// How the controller reaches the API server: through a kubeconfig's proxy, and with credentials from an
// exec plugin (the way EKS, GKE and most managed clusters hand them out); when a write's leadership check
// is made.
import { chmodSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { parse, stringify } from 'yaml';
import { claimNames, eventually } from '../../local-cluster/cluster-client.ts';
import { kubeconfigConfig } from '../../src/kube/connection-config.ts';
import { KubeHttpClient } from '../../src/kube/http-client.ts';
import { createReadySet, scale } from '../../local-cluster/workloads.ts';
import { useE2E } from './e2e-context.ts';

const ctx = useE2E('conn');

interface KubeconfigDoc {
  clusters: Array<{ cluster: Record<string, unknown> }>;
  users: Array<{ name: string; user: Record<string, unknown> }>;
}

function editedKubeconfig(edit: (doc: KubeconfigDoc) => void): string {
  const doc = parse(readFileSync(ctx.c.kubeconfig, 'utf8')) as KubeconfigDoc;
  edit(doc);
  const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'sdc-conn-')), 'kubeconfig');
  writeFileSync(file, stringify(doc));
  return file;
}

async function drainOneOrdinal(): Promise<void> {
  await createReadySet(ctx.c, ctx.ns, { name: 'db', replicas: 2 });
  await scale(ctx.c, ctx.ns, 'db', 1);
  await eventually('claim of ordinal 1 released', async () => !(await claimNames(ctx.c, ctx.ns)).includes('data-db-1'));
}

test('a kubeconfig proxy-url: every connection goes through the proxy, and drains work as usual', async () => {
  const tunnels: string[] = [];
  const proxy = http.createServer((_req, res) => res.writeHead(405).end());
  proxy.on('connect', (req: http.IncomingMessage, client: net.Socket, head: Buffer) => {
    tunnels.push(req.url ?? '');
    const [host, port] = (req.url ?? '').split(':');
    const upstream = net.connect(Number(port), host, () => {
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      upstream.write(head);
      upstream.pipe(client);
      client.pipe(upstream);
    });
    upstream.on('error', () => client.destroy());
    client.on('error', () => upstream.destroy());
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  try {
    const proxyUrl = `http://127.0.0.1:${(proxy.address() as net.AddressInfo).port}`;
    const kubeconfig = editedKubeconfig((doc) => {
      doc.clusters[0]!.cluster['proxy-url'] = proxyUrl;
    });
    await ctx.start([`--kubeconfig=${kubeconfig}`]);
    await drainOneOrdinal();
    const apiServer = new URL(parse(readFileSync(ctx.c.kubeconfig, 'utf8')).clusters[0].cluster.server as string);
    expect(tunnels.length).toBeGreaterThan(0);
    expect(new Set(tunnels)).toEqual(new Set([apiServer.host]));
  } finally {
    proxy.closeAllConnections();
    proxy.close();
  }
});

test('an exec credential plugin: the controller runs it for a token and drains with it', async () => {
  const { c, ns } = ctx;
  // The plugin hands out a real ServiceAccount token, allowed to do anything in this namespace only.
  await c.kubectl(['-n', ns, 'create', 'serviceaccount', 'drainer']);
  await c.kubectl(['-n', ns, 'create', 'rolebinding', 'drainer-admin', '--clusterrole=cluster-admin', `--serviceaccount=${ns}:drainer`]);
  const token = (await c.kubectl(['-n', ns, 'create', 'token', 'drainer', '--duration=1h'])).trim();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'sdc-exec-'));
  const calls = path.join(dir, 'calls');
  const plugin = path.join(dir, 'credential-plugin.sh');
  writeFileSync(plugin, `#!/bin/sh
echo call >> '${calls}'
echo '{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"token":"${token}"}}'
`);
  chmodSync(plugin, 0o755);
  const kubeconfig = editedKubeconfig((doc) => {
    doc.users[0]!.user = { exec: { apiVersion: 'client.authentication.k8s.io/v1', command: plugin, interactiveMode: 'Never' } };
  });
  const controller = await ctx.start([`--kubeconfig=${kubeconfig}`]);
  await drainOneOrdinal();
  expect(readFileSync(calls, 'utf8').split('\n').filter(Boolean).length).toBeGreaterThan(0);
  expect(controller.logs()).not.toContain(token);
  expect(controller.logs()).not.toMatch(/forbidden|Unauthorized/i);
});

test('a write asks the fence once its TLS connection is open: leadership lost while connecting stops it, nothing is sent', async () => {
  const { c, ns } = ctx;
  const client = new KubeHttpClient(kubeconfigConfig([c.kubeconfig]), 'fence-test');
  let leading = true;
  const fence = () => {
    if (!leading) throw new Error('not the leader');
  };
  const create = (name: string) => client.request('POST', `/api/v1/namespaces/${ns}/configmaps`,
    { body: { metadata: { name } }, beforeSend: fence });
  // A new connection: TCP and the TLS handshake take longer than this synchronous step.
  const onNewConnection = create('while-connecting');
  leading = false;
  await expect(onNewConnection).rejects.toThrow('not the leader');
  leading = true;
  await create('leading');
  // A pooled connection is handed over on a later tick: the check still comes after this step.
  const onPooledConnection = create('pooled');
  leading = false;
  await expect(onPooledConnection).rejects.toThrow('not the leader');
  const names = (await c.core.listNamespacedConfigMap({ namespace: ns })).items.map((m) => m.metadata?.name);
  expect(names).toContain('leading');
  expect(names).not.toContain('while-connecting');
  expect(names).not.toContain('pooled');
});
