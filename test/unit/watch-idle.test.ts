// A watch that goes silent without closing (a half-open connection) is noticed and resumed from the last
// resourceVersion, against a local HTTP server that plays the API server.
import http from 'node:http';
import type net from 'node:net';
import type { V1Pod } from '@kubernetes/client-node';
import { KubeHttpClient, WatchIdleError } from '../../src/kube/http-client.ts';
import { ResilientInformer } from '../../src/kube/informer.ts';
import { quietLogger } from './fakes/cluster.ts';

/** Answers every watch with `script(n)`'s lines for the n-th watch, then keeps the connection open and silent. */
async function fakeApiServer(script: (n: number, query: URLSearchParams) => object[]) {
  const watches: URLSearchParams[] = [];
  const open = new Set<http.ServerResponse>();
  const server = http.createServer((req, res) => {
    const query = new URL(req.url ?? '/', 'http://x').searchParams;
    watches.push(query);
    res.writeHead(200, { 'Content-Type': 'application/json' });
    for (const event of script(watches.length, query)) res.write(`${JSON.stringify(event)}\n`);
    open.add(res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const client = new KubeHttpClient({ server: `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`, tls: {}, credentials: async () => ({ headers: {} }) }, 'test');
  return {
    client, watches,
    close: () => {
      for (const res of open) res.destroy();
      server.closeAllConnections();
      server.close();
    },
  };
}

const pod = (name: string, resourceVersion: string) => ({ metadata: { name, namespace: 'ns', resourceVersion } });

describe('watch idle timeout', () => {
  it('a watch that sends nothing for longer than the idle timeout fails with WatchIdleError', async () => {
    const fake = await fakeApiServer(() => []);
    try {
      const started = Date.now();
      await expect(fake.client.watch('/api/v1/pods', {}, () => {}, new AbortController().signal, { idleTimeoutMs: 200 })).rejects.toBeInstanceOf(WatchIdleError);
      expect(Date.now() - started).toBeGreaterThanOrEqual(190);
    } finally {
      fake.close();
    }
  });

  it('the informer resumes a silent watch from the last resourceVersion it saw, without a fresh sync, and gets the change', async () => {
    const fake = await fakeApiServer((n) => (n === 1
      ? [{ type: 'ADDED', object: pod('a', '10') }, { type: 'BOOKMARK', object: { metadata: { resourceVersion: '11', annotations: { 'k8s.io/initial-events-end': 'true' } } } }]
      : [{ type: 'ADDED', object: pod('b', '12') }]));
    const seen: string[] = [];
    const informer = new ResilientInformer<V1Pod>(fake.client, '/api/v1/pods', async () => ({ items: [] }), (kind, p) => seen.push(`${kind} ${p.metadata?.name}`),
      quietLogger(), { idleTimeoutMs: 300 });
    try {
      await informer.start();
      const deadline = Date.now() + 5_000;
      while (!seen.includes('add b') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      expect(seen).toEqual(['add a', 'add b']);
      expect(fake.watches[1]!.get('resourceVersion')).toBe('11');
      expect(fake.watches[1]!.get('sendInitialEvents')).toBeNull();
    } finally {
      await informer.stop();
      fake.close();
    }
  });
});
