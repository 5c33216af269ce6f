// /metrics, /healthz (the controller can still make progress) and /readyz (caches synced).
import http from 'node:http';
import type { Metrics } from './metrics.ts';

export interface Probes {
  isReady(): boolean;
  /** Why the process should be restarted, or undefined. */
  unhealthy(): string | undefined;
}

/** One server per distinct address: /metrics on `metrics`, the probes on `probes` (one server when they are the same). */
export async function startHttpServers(addresses: { metrics: string; probes: string }, metrics: Metrics,
    probes: Probes): Promise<http.Server[]> {
  if (addresses.metrics === addresses.probes) return [await startHttpServer(addresses.metrics, { metrics, probes })];
  return Promise.all([startHttpServer(addresses.metrics, { metrics }), startHttpServer(addresses.probes, { probes })]);
}

function startHttpServer(address: string, serves: { metrics?: Metrics; probes?: Probes }): Promise<http.Server> {
  const { metrics, probes } = serves;
  const server = http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/metrics' && metrics) {
      metrics.registry.metrics().then((body) => {
        res.writeHead(200, { 'Content-Type': metrics.registry.contentType });
        res.end(body);
      }, (err: unknown) => {
        res.writeHead(500);
        res.end(String(err));
      });
      return;
    }
    if (path === '/healthz' && probes) {
      const problem = probes.unhealthy();
      res.writeHead(problem ? 500 : 200).end(problem ?? 'ok');
      return;
    }
    if (path === '/readyz' && probes) {
      const ready = probes.isReady();
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
