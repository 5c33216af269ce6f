// A local HTTP server that plays the API server's watch endpoint: each watch is answered with the lines a
// script gives for it, then the connection is kept open and silent.
import http from 'node:http';
import type net from 'node:net';
import { KubeHttpClient } from '../../../src/kube/http-client.ts';
import { INITIAL_EVENTS_END } from '../../../src/kube/informer.ts';

/** `script(n, query, path)`: the events for the n-th watch (counted over all paths), made with `query` on `path`. */
export async function fakeApiServer(script: (n: number, query: URLSearchParams, path: string) => object[]) {
  const watches: URLSearchParams[] = [];
  const open = new Set<http.ServerResponse>();
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    watches.push(url.searchParams);
    res.writeHead(200, { 'Content-Type': 'application/json' });
    for (const event of script(watches.length, url.searchParams, url.pathname)) res.write(`${JSON.stringify(event)}\n`);
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

/** The bookmark that ends a watch's initial state (sendInitialEvents). */
export const initialEventsEnd = (resourceVersion: string) =>
  ({ type: 'BOOKMARK', object: { metadata: { resourceVersion, annotations: { [INITIAL_EVENTS_END]: 'true' } } } });
