// JSON over HTTPS to the API server on one keep-alive connection pool: plain requests and watch streams.
import http from 'node:http';
import https from 'node:https';
import type { ConnectionConfig, CredentialSource, Credentials, Headers } from './connection-config.ts';
import { endWhenConnected } from './fenced-send.ts';
import type { ServerClock } from './server-clock.ts';

/** A refusal from the API server (or a transport failure, code 0). */
export class ApiError extends Error {
  readonly code: number;
  readonly reason: string | undefined;
  /** The server's Retry-After, if it sent one (seconds on the wire). */
  readonly retryAfterMs: number | undefined;

  constructor(code: number, message: string, reason?: string, retryAfterMs?: number) {
    super(message);
    this.name = 'ApiError';
    this.code = code;
    this.reason = reason;
    this.retryAfterMs = retryAfterMs;
  }

  static fromResponse(code: number, body: string, what: string, retryAfter?: string): ApiError {
    const seconds = retryAfter === undefined ? NaN : Number(retryAfter);
    const retryAfterMs = Number.isFinite(seconds) && seconds >= 0 ? seconds * 1000 : undefined;
    try {
      const status = JSON.parse(body) as { message?: string; reason?: string };
      if (status.message) return new ApiError(code, status.message, status.reason, retryAfterMs);
    } catch {
      // not a Status object: fall through
    }
    return new ApiError(code, `${what}: HTTP ${code}${body ? `: ${body.slice(0, 200)}` : ''}`, undefined, retryAfterMs);
  }
}

/** A watch stream that went silent (no event, no bookmark) for longer than the caller allows. */
export class WatchIdleError extends ApiError {
  constructor(message: string) {
    super(0, message);
    this.name = 'WatchIdleError';
  }
}

export type Query = Record<string, string | number | boolean | undefined>;

/** Told of each HTTP request: method, host, status (0: no response) and, for plain requests, seconds taken. */
export type HttpObserver = (method: string, host: string, code: number, seconds?: number) => void;

export interface RequestOptions {
  query?: Query;
  body?: unknown;
  contentType?: string;
  accept?: string;
  /**
   * Called right before the request is written, once its connection is open (TLS included), in the same
   * synchronous stretch as the write: no other callback runs between the two. Throwing stops the request:
   * nothing is sent, and the request rejects with what was thrown.
   */
  beforeSend?: () => void;
}

/**
 * Accept headers asking for metadata only (PartialObjectMetadata): the API server leaves spec and status
 * out, so there is less to encode, send and parse when the metadata is all a cache needs.
 */
export const METADATA_ONLY = {
  list: 'application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1',
  watch: 'application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1',
};

export interface WatchEvent<T> {
  type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';
  object: T;
}

// No API call the controller makes takes long; a silent connection must not hang a reconcile forever.
const REQUEST_TIMEOUT_MS = 60_000;

function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/** Closes an agent's idle connections now and each busy one once it is free (Node reads `keepAlive` on release). */
function retire(agent: http.Agent): void {
  (agent as http.Agent & { keepAlive: boolean }).keepAlive = false;
  for (const sockets of Object.values(agent.freeSockets)) for (const socket of sockets ?? []) socket.destroy();
}

export class KubeHttpClient {
  readonly server: string;
  private readonly config: ConnectionConfig;
  private readonly send: typeof https.request;
  private readonly credentials: CredentialSource;
  private readonly userAgent: string;
  /** The connection pool, made anew when the client certificate changes (rotated on disk or by an exec plugin). */
  private pool: { agent: http.Agent; cert?: Buffer; key?: Buffer } | undefined;

  private readonly observe: HttpObserver;
  private readonly clock: ServerClock | undefined;

  /** `observe` is told of every request (watches when their response starts, without a duration). */
  /** `clock`, when given, is told each response's Date header. */
  constructor(config: ConnectionConfig, userAgent: string, observe: HttpObserver = () => {}, clock?: ServerClock) {
    this.observe = observe;
    this.clock = clock;
    this.server = config.server;
    this.config = config;
    this.credentials = config.credentials;
    this.userAgent = userAgent;
    this.send = config.server.startsWith('http:') ? http.request : https.request;
  }

  private agentFor(credentials: Credentials): http.Agent {
    const { cert, key } = credentials;
    const same = (a?: Buffer, b?: Buffer) => a === b || (a !== undefined && b !== undefined && a.equals(b));
    if (this.pool && same(this.pool.cert, cert) && same(this.pool.key, key)) return this.pool.agent;
    const { tls, proxyUrl } = this.config;
    const proxyEnv = proxyUrl ? { HTTPS_PROXY: proxyUrl, HTTP_PROXY: proxyUrl } : process.env;
    const agent = this.server.startsWith('http:')
      ? new http.Agent({ keepAlive: true, proxyEnv })
      : new https.Agent({
        keepAlive: true, proxyEnv, ca: tls.ca, cert, key, rejectUnauthorized: !tls.insecureSkipTlsVerify, servername: tls.serverName,
      });
    // The old pool's connections finish what they carry (a watch until it ends) and are then closed.
    if (this.pool) retire(this.pool.agent);
    this.pool = { agent, cert, key };
    return agent;
  }

  /**
   * Tells the clock a response's Date, only from a success that the API server itself sent (kube-apiserver
   * sets Audit-Id on every response): a proxy or load balancer's own error page, with its own clock, is not
   * the API server's time, and one too far ahead would be held (the estimate never runs backwards).
   */
  private observeClock(res: http.IncomingMessage, sentAt: number): void {
    const code = res.statusCode ?? 0;
    if (!this.clock || code < 200 || code >= 300 || res.headers['audit-id'] === undefined) return;
    this.clock.observe(headerValue(res.headers.date), sentAt, performance.now());
  }

  private url(path: string, query: Query = {}): URL {
    const url = new URL(this.server + path);
    for (const [k, v] of Object.entries(query)) if (v !== undefined) url.searchParams.set(k, String(v));
    return url;
  }

  private async prepare(extra: Record<string, string> = {}): Promise<{ headers: Headers; agent: http.Agent }> {
    const credentials = await this.credentials();
    return { headers: { ...credentials.headers, 'User-Agent': this.userAgent, 'Accept': 'application/json', ...extra },
      agent: this.agentFor(credentials) };
  }

  async request<T>(method: string, path: string, options: RequestOptions = {}): Promise<T> {
    const url = this.url(path, options.query);
    const data = options.body === undefined ? undefined : JSON.stringify(options.body);
    const { headers, agent } = await this.prepare({
      ...(options.accept ? { Accept: options.accept } : {}),
      ...(data === undefined ? {} : { 'Content-Type': options.contentType ?? 'application/json',
        'Content-Length': String(Buffer.byteLength(data)) }),
    });
    const what = `${method} ${url.pathname}`;
    const started = performance.now();
    const observed = (code: number) => this.observe(method, url.host, code, (performance.now() - started) / 1000);
    return new Promise<T>((resolve, reject) => {
      const req = this.send(url, { method, headers, agent, timeout: REQUEST_TIMEOUT_MS }, (res) => {
        this.observeClock(res, started);
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('error', reject);
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          const code = res.statusCode ?? 0;
          observed(code);
          if (code < 200 || code >= 300) return reject(ApiError.fromResponse(code, text, what, headerValue(res.headers['retry-after'])));
          try {
            resolve((text ? JSON.parse(text) : undefined) as T);
          } catch (err) {
            reject(new ApiError(code, `${what}: unreadable response: ${String(err)}`));
          }
        });
      });
      req.on('timeout', () => req.destroy(new ApiError(0, `${what}: no response within ${REQUEST_TIMEOUT_MS / 1000}s`)));
      let stopped = false;
      req.on('error', (err) => {
        if (stopped) return;
        observed(0);
        reject(err instanceof ApiError ? err : new ApiError(0, `${what}: ${err.message}`));
      });
      const { beforeSend } = options;
      if (!beforeSend) {
        req.end(data);
        return;
      }
      endWhenConnected(req, data, beforeSend, (err) => {
        stopped = true;
        reject(err);
      });
    });
  }

  /**
   * Streams a watch: `onEvent` gets each event in order. Resolves when the server ends the stream (its
   * timeout) or `signal` aborts it; rejects on a refusal, a broken connection, or (with `idleTimeoutMs`) a
   * stream that has sent nothing for that long: a half-open connection that TCP would take many minutes to
   * notice.
   */
  async watch<T>(path: string, query: Query, onEvent: (event: WatchEvent<T>) => void, signal: AbortSignal,
    options: { accept?: string; idleTimeoutMs?: number; onOpen?: () => void } = {}): Promise<void> {
    const { accept, idleTimeoutMs, onOpen } = options;
    const url = this.url(path, { ...query, watch: true });
    const { headers, agent } = await this.prepare(accept ? { Accept: accept } : {});
    const what = `watch ${url.pathname}`;
    const started = performance.now();
    return new Promise<void>((resolve, reject) => {
      let settled = false;
      let idle: NodeJS.Timeout | undefined;
      const finish = (err?: unknown) => {
        if (settled) return;
        settled = true;
        clearTimeout(idle);
        if (err === undefined || signal.aborted) resolve();
        else reject(err instanceof ApiError ? err : new ApiError(0, `${what}: ${(err as Error).message ?? String(err)}`));
      };
      const quiet = () => {
        if (idleTimeoutMs === undefined) return;
        clearTimeout(idle);
        idle = setTimeout(() => {
          finish(new WatchIdleError(`${what}: nothing received for ${idleTimeoutMs / 1000}s`));
          req.destroy();
        }, idleTimeoutMs);
        idle.unref();
      };
      const req = this.send(url, { method: 'GET', headers, agent, signal }, (res) => {
        const code = res.statusCode ?? 0;
        this.observeClock(res, started);
        this.observe('GET', url.host, code);
        if (code === 200) onOpen?.();
        res.setEncoding('utf8');
        let buffered = '';
        if (code !== 200) {
          res.on('data', (chunk: string) => (buffered += chunk));
          res.on('end', () => finish(ApiError.fromResponse(code, buffered, what)));
          return;
        }
        res.on('data', (chunk: string) => {
          quiet();
          buffered += chunk;
          let newline: number;
          while (!settled && (newline = buffered.indexOf('\n')) >= 0) {
            const line = buffered.slice(0, newline);
            buffered = buffered.slice(newline + 1);
            if (!line.trim()) continue;
            try {
              onEvent(JSON.parse(line) as WatchEvent<T>);
            } catch (err) {
              // An unreadable line or an event the handler refused (an ERROR event) ends the watch.
              finish(err);
              req.destroy();
            }
          }
        });
        res.on('end', () => finish());
        res.on('error', (err) => finish(err));
      });
      req.on('error', (err) => finish(err));
      quiet();
      req.end();
    });
  }
}
