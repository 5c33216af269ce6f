// JSON over HTTPS to the API server on one keep-alive connection pool: plain requests and watch streams.
import http from 'node:http';
import https from 'node:https';
import type { ConnectionConfig, HeaderSource } from './connection-config.ts';

/** A refusal from the API server (or a transport failure, code 0). */
export class ApiError extends Error {
  readonly code: number;
  readonly reason: string | undefined;

  constructor(code: number, message: string, reason?: string) {
    super(message);
    this.name = 'ApiError';
    this.code = code;
    this.reason = reason;
  }

  static fromResponse(code: number, body: string, what: string): ApiError {
    try {
      const status = JSON.parse(body) as { message?: string; reason?: string };
      if (status.message) return new ApiError(code, status.message, status.reason);
    } catch {
      // not a Status object: fall through
    }
    return new ApiError(code, `${what}: HTTP ${code}${body ? `: ${body.slice(0, 200)}` : ''}`);
  }
}

export type Query = Record<string, string | number | boolean | undefined>;

export interface RequestOptions {
  query?: Query;
  body?: unknown;
  contentType?: string;
  accept?: string;
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

export class KubeHttpClient {
  readonly server: string;
  private readonly agent: http.Agent;
  private readonly send: typeof https.request;
  private readonly authHeaders: HeaderSource;
  private readonly userAgent: string;

  constructor(config: ConnectionConfig, userAgent: string) {
    this.server = config.server;
    this.authHeaders = config.headers;
    this.userAgent = userAgent;
    const plain = config.server.startsWith('http:');
    this.send = plain ? http.request : https.request;
    const proxyEnv = config.proxyUrl ? { HTTPS_PROXY: config.proxyUrl, HTTP_PROXY: config.proxyUrl } : process.env;
    this.agent = plain
      ? new http.Agent({ keepAlive: true, proxyEnv })
      : new https.Agent({
        keepAlive: true, proxyEnv, ca: config.tls.ca, cert: config.tls.cert, key: config.tls.key,
        rejectUnauthorized: !config.tls.insecureSkipTlsVerify, servername: config.tls.serverName,
      });
  }

  private url(path: string, query: Query = {}): URL {
    const url = new URL(this.server + path);
    for (const [k, v] of Object.entries(query)) if (v !== undefined) url.searchParams.set(k, String(v));
    return url;
  }

  private async headers(extra: Record<string, string> = {}): Promise<Record<string, string>> {
    return { ...(await this.authHeaders()), 'User-Agent': this.userAgent, 'Accept': 'application/json', ...extra };
  }

  async request<T>(method: string, path: string, options: RequestOptions = {}): Promise<T> {
    const url = this.url(path, options.query);
    const data = options.body === undefined ? undefined : JSON.stringify(options.body);
    const headers = await this.headers({
      ...(options.accept ? { Accept: options.accept } : {}),
      ...(data === undefined ? {} : { 'Content-Type': options.contentType ?? 'application/json', 'Content-Length': String(Buffer.byteLength(data)) }),
    });
    const what = `${method} ${url.pathname}`;
    return new Promise<T>((resolve, reject) => {
      const req = this.send(url, { method, headers, agent: this.agent, timeout: REQUEST_TIMEOUT_MS }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('error', reject);
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          const code = res.statusCode ?? 0;
          if (code < 200 || code >= 300) return reject(ApiError.fromResponse(code, text, what));
          try {
            resolve((text ? JSON.parse(text) : undefined) as T);
          } catch (err) {
            reject(new ApiError(code, `${what}: unreadable response: ${String(err)}`));
          }
        });
      });
      req.on('timeout', () => req.destroy(new ApiError(0, `${what}: no response within ${REQUEST_TIMEOUT_MS / 1000}s`)));
      req.on('error', (err) => reject(err instanceof ApiError ? err : new ApiError(0, `${what}: ${err.message}`)));
      req.end(data);
    });
  }

  /**
   * Streams a watch: `onEvent` gets each event in order. Resolves when the server ends the stream (its
   * timeout) or `signal` aborts it; rejects on a refusal or a broken connection.
   */
  async watch<T>(path: string, query: Query, onEvent: (event: WatchEvent<T>) => void, signal: AbortSignal, accept?: string): Promise<void> {
    const url = this.url(path, { ...query, watch: true });
    const headers = await this.headers(accept ? { Accept: accept } : {});
    const what = `watch ${url.pathname}`;
    return new Promise<void>((resolve, reject) => {
      let settled = false;
      const finish = (err?: unknown) => {
        if (settled) return;
        settled = true;
        if (err === undefined || signal.aborted) resolve();
        else reject(err instanceof ApiError ? err : new ApiError(0, `${what}: ${(err as Error).message ?? String(err)}`));
      };
      const req = this.send(url, { method: 'GET', headers, agent: this.agent, signal }, (res) => {
        const code = res.statusCode ?? 0;
        res.setEncoding('utf8');
        let buffered = '';
        if (code !== 200) {
          res.on('data', (chunk: string) => (buffered += chunk));
          res.on('end', () => finish(ApiError.fromResponse(code, buffered, what)));
          return;
        }
        res.on('data', (chunk: string) => {
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
      req.end();
    });
  }
}
