// /metrics, /healthz (the process is alive and its loop turns) and /readyz (caches synced).
import http from 'node:http';
import type { Metrics } from './metrics.ts';

export function startHttpServer(address: string, metrics: Metrics, isReady: () => boolean): Promise<http.Server> {
  const server = http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/metrics') {
      metrics.registry.metrics().then((body) => {
        res.writeHead(200, { 'Content-Type': metrics.registry.contentType });
        res.end(body);
      }, (err: unknown) => {
        res.writeHead(500);
        res.end(String(err));
      });
      return;
    }
    if (path === '/healthz') {
      res.writeHead(200).end('ok');
      return;
    }
    if (path === '/readyz') {
      const ready = isReady();
      res.writeHead(ready ? 200 : 503).end(ready ? 'ok' : 'caches not synced');
      return;
    }
    res.writeHead(404).end();
  });
  const [host, port] = splitAddress(address);
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve(server));
  });
}

function splitAddress(address: string): [string | undefined, number] {
  const i = address.lastIndexOf(':');
  const host = i > 0 ? address.slice(0, i) : undefined;
  return [host, Number(address.slice(i + 1))];
}
