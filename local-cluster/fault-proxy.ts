// A TLS proxy between a client (the controller) and the local API server that injects the failures real
// clusters produce: 429 with Retry-After (API Priority and Fairness), 5xx, connection resets, added latency,
// and watches that go silent without closing (a half-open connection). It presents the API server's own
// serving certificate, so a kubeconfig pointing at it verifies as usual. A client's bearer token is passed on
// (the audit log then names its user, e.g. a replica's ServiceAccount); other clients are authenticated
// upstream with the control plane's admin certificate. The User-Agent is passed on too.
// It can also lose an answer: the request is applied, the client never hears so (a crash right after a write).
import { readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type net from 'node:net';
import path from 'node:path';
import { parse } from 'yaml';

export type Fault =
  | { kind: 'status'; code: number; retryAfterSeconds?: number }
  | { kind: 'reset' }
  | { kind: 'delay'; ms: number }
  /** The request reaches the API server and is applied; the answer is dropped and the connection reset. */
  | { kind: 'drop-answer' };

/** What a rule sees of a request: its body too, so that a rule can tell one patch from another. */
export interface ProxiedRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  body: string;
}

export interface FaultRule {
  /** Which requests the rule applies to. */
  match: (req: ProxiedRequest) => boolean;
  fault: Fault;
  /** How many matching requests get the fault; unlimited when absent. */
  times?: number;
  /** Runs, and is awaited, before the fault is applied (a test kills the client here). */
  onMatch?: () => void | Promise<void>;
}

interface AdminKubeconfig {
  clusters: Array<{ cluster: { 'server': string; 'certificate-authority': string } }>;
  users: Array<{ user: { 'client-certificate': string; 'client-key': string } }>;
}

function describe(fault: Fault): string {
  return fault.kind === 'status' ? `${fault.code}` : fault.kind;
}

export class FaultProxy {
  /** Faults injected so far, by kind (`429`, `503`, `reset`, `delay`, `silenced`). */
  readonly injected: Record<string, number> = {};
  rules: FaultRule[] = [];
  /** A fault for a share of all requests, drawn with `random` (the fault suite's random mode). */
  randomFaults: { rate: number; faults: Fault[]; random: () => number } | undefined;
  readonly kubeconfig: string;
  private readonly server: https.Server;
  private readonly upstream: URL;
  private readonly agent: https.Agent;
  /** For requests that bring their own bearer token: no client certificate, so the API server sees their user. */
  private readonly bearerAgent: https.Agent;
  /** Watch streams being relayed: silencing one stops relaying its data while keeping it open. */
  private readonly watches = new Set<{ path: string; silent: boolean }>();

  private constructor(server: https.Server, upstream: URL, agent: https.Agent, bearerAgent: https.Agent, kubeconfig: string) {
    this.server = server;
    this.upstream = upstream;
    this.agent = agent;
    this.bearerAgent = bearerAgent;
    this.kubeconfig = kubeconfig;
  }

  /** Starts a proxy in front of the control plane that `adminKubeconfig` reaches; writes a kubeconfig for it into `dir`. */
  static async start(adminKubeconfig: string, dir: string): Promise<FaultProxy> {
    const doc = parse(readFileSync(adminKubeconfig, 'utf8')) as AdminKubeconfig;
    const cluster = doc.clusters[0]!.cluster;
    const user = doc.users[0]!.user;
    const pki = path.dirname(cluster['certificate-authority']);
    const agent = new https.Agent({
      keepAlive: true, ca: readFileSync(cluster['certificate-authority']),
      cert: readFileSync(user['client-certificate']), key: readFileSync(user['client-key']),
    });
    const bearerAgent = new https.Agent({ keepAlive: true, ca: readFileSync(cluster['certificate-authority']) });
    const server = https.createServer({ cert: readFileSync(path.join(pki, 'apiserver.crt')),
      key: readFileSync(path.join(pki, 'apiserver.key')) });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as net.AddressInfo).port;
    const kubeconfig = path.join(dir, 'fault-proxy.kubeconfig');
    writeFileSync(kubeconfig, readFileSync(adminKubeconfig, 'utf8').replace(cluster.server, `https://127.0.0.1:${port}`));
    const proxy = new FaultProxy(server, new URL(cluster.server), agent, bearerAgent, kubeconfig);
    server.on('request', (req, res) => void proxy.handle(req, res));
    return proxy;
  }

  /** Every watch open now whose path passes `match` stops receiving anything, but stays open. */
  silenceOpenWatches(match: (path: string) => boolean = () => true): number {
    let silenced = 0;
    for (const watch of this.watches) {
      if (watch.silent || !match(watch.path)) continue;
      watch.silent = true;
      silenced += 1;
    }
    this.count('silenced', silenced);
    return silenced;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.agent.destroy();
    this.bearerAgent.destroy();
  }

  private count(kind: string, n = 1): void {
    if (n > 0) this.injected[kind] = (this.injected[kind] ?? 0) + n;
  }

  private pick(req: http.IncomingMessage, body: string): FaultRule | Fault | undefined {
    const url = new URL(req.url ?? '/', 'https://proxy');
    const request = { method: req.method ?? 'GET', path: url.pathname, query: url.searchParams, body };
    const rule = this.rules.find((r) => (r.times === undefined || r.times > 0) && r.match(request));
    if (rule) {
      if (rule.times !== undefined) rule.times -= 1;
      return rule;
    }
    const random = this.randomFaults;
    if (random && random.random() < random.rate) return random.faults[Math.floor(random.random() * random.faults.length)];
    return undefined;
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    // Request bodies are small (objects, patches, delete options): read whole, so that rules can match on them.
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks);
    const picked = this.pick(req, body.toString('utf8'));
    const fault = picked && 'match' in picked ? picked.fault : picked;
    if (fault) this.count(describe(fault));
    if (picked && 'match' in picked) await picked.onMatch?.();
    if (fault?.kind === 'reset') {
      req.socket.destroy();
      return;
    }
    if (fault?.kind === 'status') {
      const body = JSON.stringify({ kind: 'Status', apiVersion: 'v1', status: 'Failure', message: `injected by the fault ` +
        `proxy: ${fault.code}`, reason: fault.code === 429 ? 'TooManyRequests' : 'InternalError', code: fault.code });
      res.writeHead(fault.code, { 'Content-Type': 'application/json',
        ...(fault.retryAfterSeconds === undefined ? {} : { 'Retry-After': String(fault.retryAfterSeconds) }) });
      res.end(body);
      return;
    }
    if (fault?.kind === 'delay') await new Promise((resolve) => setTimeout(resolve, fault.ms));
    this.forward(req, res, body, fault?.kind === 'drop-answer');
  }

  private forward(req: http.IncomingMessage, res: http.ServerResponse, body: Buffer, dropAnswer: boolean): void {
    const url = new URL(req.url ?? '/', this.upstream);
    const isWatch = url.searchParams.get('watch') === 'true' || url.searchParams.get('watch') === '1';
    const headers = { ...req.headers, host: this.upstream.host };
    const agent = req.headers.authorization ? this.bearerAgent : this.agent;
    const upstream = https.request(url, { method: req.method, headers, agent }, (answer) => {
      if (dropAnswer) {
        answer.resume();
        answer.on('end', () => res.socket?.destroy());
        return;
      }
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      if (!isWatch) {
        answer.pipe(res);
        return;
      }
      const watch = { path: url.pathname, silent: false };
      this.watches.add(watch);
      answer.on('data', (chunk: Buffer) => {
        if (!watch.silent) res.write(chunk);
      });
      answer.on('end', () => {
        this.watches.delete(watch);
        if (!watch.silent) res.end();
      });
      res.on('close', () => {
        this.watches.delete(watch);
        answer.destroy();
      });
    });
    upstream.on('error', () => {
      if (!res.headersSent) res.writeHead(502).end();
      else res.destroy();
    });
    upstream.end(body);
  }
}
