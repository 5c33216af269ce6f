// Where the API server is and how to authenticate to it: from kubeconfig files or the pod's service
// account, with client-go's rules (merging, precedence, impersonation, rotating files). Kept apart from
// client-node on purpose: importing client-node loads every generated model (about 86 MiB of RSS), more
// than the whole cache of a 10,000-set cluster. Credentials that need code to produce them (exec plugins,
// auth providers) are delegated to client-node, loaded only then, for exactly the user chosen here.
import { existsSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';

export interface TlsMaterial {
  ca?: Buffer;
  insecureSkipTlsVerify?: boolean;
  serverName?: string;
}

export type Headers = Record<string, string | string[]>;

/** Who the requests are from: auth headers and an optional client certificate, as of now (they can rotate). */
export interface Credentials {
  headers: Headers;
  cert?: Buffer;
  key?: Buffer;
}

/** Produces the credentials for each request; cheap when nothing changed. */
export type CredentialSource = () => Promise<Credentials>;

export interface ConnectionConfig {
  server: string;
  tls: TlsMaterial;
  /** An HTTP(S) proxy (the kubeconfig's proxy-url); without one, HTTPS_PROXY / NO_PROXY apply, as in client-go. */
  proxyUrl?: string;
  credentials: CredentialSource;
  /** The context's namespace (kubeconfig) or the pod's own (in-cluster), if known. */
  namespace?: string;
}

/** Told when a credential file could not be read again and the last good value stays in use. */
export type Warn = (message: string, fields: Record<string, unknown>) => void;

const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';
// Bound service account tokens and client certificates are rotated on disk; client-go re-reads them about
// every minute.
export const REREAD_MS = 60_000;

/**
 * A file read again every REREAD_MS. A read that fails after a good one keeps the good value (and says so):
 * a file being replaced must not break every request for a moment.
 */
function rereadFile(file: string, warn: Warn): () => Buffer {
  let cached: { value: Buffer; readAt: number } | undefined;
  return () => {
    if (cached && performance.now() - cached.readAt <= REREAD_MS) return cached.value;
    try {
      cached = { value: readFileSync(file), readAt: performance.now() };
    } catch (err) {
      if (!cached) throw err;
      warn('could not read a credential file again; using its last good content', { file, error: (err as Error).message });
      cached = { value: cached.value, readAt: performance.now() };
    }
    return cached.value;
  };
}

function bearer(read: () => Buffer): Headers {
  return { Authorization: `Bearer ${read().toString('utf8').trim()}` };
}

export function inClusterConfig(dir = SERVICE_ACCOUNT_DIR, warn: Warn = () => {}): ConnectionConfig {
  const host = process.env.KUBERNETES_SERVICE_HOST;
  const port = process.env.KUBERNETES_SERVICE_PORT ?? '443';
  if (!host) throw new Error('not running in a cluster: KUBERNETES_SERVICE_HOST is not set');
  const token = rereadFile(path.join(dir, 'token'), warn);
  token();
  const namespaceFile = path.join(dir, 'namespace');
  return {
    server: `https://${host.includes(':') ? `[${host}]` : host}:${port}`,
    tls: { ca: readFileSync(path.join(dir, 'ca.crt')) },
    credentials: async () => ({ headers: bearer(token) }),
    namespace: existsSync(namespaceFile) ? readFileSync(namespaceFile, 'utf8').trim() : undefined,
  };
}

interface Named<T> {
  name: string;
  value: T;
}

interface KubeconfigCluster {
  'server'?: string;
  'certificate-authority'?: string;
  'certificate-authority-data'?: string;
  'insecure-skip-tls-verify'?: boolean;
  'tls-server-name'?: string;
  'proxy-url'?: string;
}

interface KubeconfigUser {
  'client-certificate'?: string;
  'client-certificate-data'?: string;
  'client-key'?: string;
  'client-key-data'?: string;
  'token'?: string;
  'tokenFile'?: string;
  'username'?: string;
  'password'?: string;
  'exec'?: unknown;
  'auth-provider'?: unknown;
  'as'?: string;
  'as-uid'?: string;
  'as-groups'?: string[];
  'as-user-extra'?: Record<string, string[]>;
}

interface Kubeconfig {
  'current-context'?: string;
  'clusters': Array<Named<KubeconfigCluster>>;
  'users': Array<Named<KubeconfigUser>>;
  'contexts': Array<Named<{ cluster?: string; user?: string; namespace?: string }>>;
}

function readKubeconfig(file: string): Kubeconfig & { dir: string } {
  const text = readFileSync(file, 'utf8');
  let raw: Record<string, unknown>;
  try {
    raw = (parseYaml(text) ?? {}) as Record<string, unknown>;
  } catch (err) {
    throw new Error(`kubeconfig ${file} is not YAML: ${(err as Error).message.split('\n')[0]}`, { cause: err });
  }
  const entries = <T>(list: unknown, field: string): Array<Named<T>> =>
    (Array.isArray(list) ? list : []).map((e: Record<string, unknown>) => ({ name: String(e.name), value: (e[field] ?? {}) as T }));
  return {
    'dir': path.dirname(path.resolve(file)),
    'current-context': raw['current-context'] as string | undefined,
    'clusters': entries(raw.clusters, 'cluster'),
    'users': entries(raw.users, 'user'),
    'contexts': entries(raw.contexts, 'context'),
  };
}

/** $KUBECONFIG may list several files; as client-go does, the first file to set a name (or current-context) wins. */
function mergedKubeconfig(files: string[]): Kubeconfig & { dirs: Map<unknown, string> } {
  const merged: Kubeconfig & { dirs: Map<unknown, string> } = { 'clusters': [], 'users': [], 'contexts': [], 'dirs': new Map() };
  for (const file of files) {
    const one = readKubeconfig(file);
    merged['current-context'] ??= one['current-context'];
    for (const field of ['clusters', 'users', 'contexts'] as const) {
      for (const entry of one[field] as Array<Named<unknown>>) {
        if ((merged[field] as Array<Named<unknown>>).some((e) => e.name === entry.name)) continue;
        (merged[field] as Array<Named<unknown>>).push(entry);
        merged.dirs.set(entry.value, one.dir);
      }
    }
  }
  return merged;
}

function fileOrData(dir: string, file: string | undefined, data: string | undefined): Buffer | undefined {
  if (data) return Buffer.from(data, 'base64');
  if (file) return readFileSync(path.resolve(dir, file));
  return undefined;
}

/** Impersonation headers for the user's `as`, `as-uid`, `as-groups` and `as-user-extra`, as client-go sends them. */
function impersonation(user: KubeconfigUser): Headers {
  const headers: Headers = {};
  if (user.as) headers['Impersonate-User'] = user.as;
  if (user['as-uid']) headers['Impersonate-Uid'] = user['as-uid'];
  if (user['as-groups']?.length) headers['Impersonate-Group'] = user['as-groups'];
  for (const [key, values] of Object.entries(user['as-user-extra'] ?? {})) headers[`Impersonate-Extra-${encodeURIComponent(key)}`] = values;
  if (!user.as && Object.keys(headers).length > 0)
    throw new Error('kubeconfig: as-groups, as-uid and as-user-extra need as (the user to impersonate)');
  return headers;
}

function staticCredentials(user: KubeconfigUser, dir: string, warn: Warn): CredentialSource {
  const token = user.tokenFile ? rereadFile(path.resolve(dir, user.tokenFile), warn) : undefined;
  const cert = user['client-certificate'] ? rereadFile(path.resolve(dir, user['client-certificate']), warn) : undefined;
  const key = user['client-key'] ? rereadFile(path.resolve(dir, user['client-key']), warn) : undefined;
  const inlineCert = user['client-certificate-data'] ? Buffer.from(user['client-certificate-data'], 'base64') : undefined;
  const inlineKey = user['client-key-data'] ? Buffer.from(user['client-key-data'], 'base64') : undefined;
  const basic = user.username ? `Basic ${Buffer.from(`${user.username}:${user.password ?? ''}`).toString('base64')}` : undefined;
  const fixed: Headers = impersonation(user);
  // Read once now, so a missing file fails at start-up rather than at the first request.
  token?.();
  cert?.();
  key?.();
  return async () => {
    const headers: Headers = { ...fixed };
    if (token) Object.assign(headers, bearer(token));
    else if (user.token) headers.Authorization = `Bearer ${user.token}`;
    else if (basic) headers.Authorization = basic;
    return { headers, cert: cert?.() ?? inlineCert, key: key?.() ?? inlineKey };
  };
}

/**
 * Exec plugins and auth providers: client-node runs them (and refreshes what they return: a token or a
 * client certificate), given a kubeconfig that holds exactly the user chosen here, so the credentials always
 * belong to the server they are sent to.
 */
function delegatedCredentials(user: KubeconfigUser, server: string, dir: string): CredentialSource {
  let load: Promise<(opts: { headers?: Record<string, string>; cert?: Buffer | string; key?: Buffer | string }) => Promise<void>> |
    undefined;
  const fixed = impersonation(user);
  return async () => {
    load ??= import('@kubernetes/client-node').then(({ KubeConfig }) => {
      const kc = new KubeConfig();
      kc.loadFromOptions({
        clusters: [{ name: 'chosen', server, skipTLSVerify: false }],
        users: [{ name: 'chosen', exec: resolveExecCommand(user.exec, dir), authProvider: user['auth-provider'] as never }],
        contexts: [{ name: 'chosen', cluster: 'chosen', user: 'chosen' }],
        currentContext: 'chosen',
      });
      return (opts) => kc.applyToHTTPSOptions(opts);
    });
    const opts: { headers?: Record<string, string>; cert?: Buffer | string; key?: Buffer | string } = {};
    await (await load)(opts);
    const asBuffer = (value: Buffer | string | undefined) => (value === undefined ? undefined : Buffer.from(value));
    return { headers: { ...(opts.headers ?? {}), ...fixed }, cert: asBuffer(opts.cert), key: asBuffer(opts.key) };
  };
}

/** As client-go: an exec command with a path separator is relative to the kubeconfig that names it. */
function resolveExecCommand(exec: unknown, dir: string): never {
  if (!exec || typeof exec !== 'object') return exec as never;
  const command = (exec as { command?: string }).command;
  if (command && command.includes('/') && !path.isAbsolute(command)) return { ...exec, command: path.resolve(dir, command) } as never;
  return exec as never;
}

export function kubeconfigFiles(explicit?: string): string[] {
  if (explicit) return [explicit];
  const fromEnv = (process.env.KUBECONFIG ?? '').split(path.delimiter).filter((f) => f && existsSync(f));
  if (fromEnv.length > 0) return fromEnv;
  return [path.join(os.homedir(), '.kube', 'config')];
}

export function kubeconfigConfig(files: string[], options: { context?: string; warn?: Warn } = {}): ConnectionConfig {
  const kc = mergedKubeconfig(files);
  const contextName = options.context ?? kc['current-context'];
  const ctx = kc.contexts.find((c) => c.name === contextName)?.value;
  if (!ctx) {
    const known = kc.contexts.map((c) => c.name);
    throw new Error(`kubeconfig ${files.join(path.delimiter)}: context ${JSON.stringify(contextName)} not found; ` +
      (known.length ? `choose one of ${known.join(', ')} with --context` : 'it has no contexts'));
  }
  const cluster = kc.clusters.find((c) => c.name === ctx.cluster)?.value;
  if (!cluster?.server) throw new Error(`kubeconfig: cluster ${JSON.stringify(ctx.cluster)} has no server`);
  const proxyUrl = cluster['proxy-url'];
  if (proxyUrl && !/^https?:\/\//.test(proxyUrl))
    throw new Error(`kubeconfig: proxy-url ${proxyUrl}: only http:// and https:// proxies are supported`);
  if (cluster['insecure-skip-tls-verify'] === true && (cluster['certificate-authority'] || cluster['certificate-authority-data'])) {
    throw new Error(`kubeconfig: cluster ${JSON.stringify(ctx.cluster)} sets both a certificate authority and insecure-skip-tls-verify; ` +
      `client-go refuses that, and so does this controller`);
  }
  const user = kc.users.find((u) => u.name === ctx.user)?.value ?? {};
  const clusterDir = kc.dirs.get(cluster) ?? '.';
  const userDir = kc.dirs.get(user) ?? '.';
  const server = cluster.server.replace(/\/+$/, '');
  const warn = options.warn ?? (() => {});
  return {
    server,
    proxyUrl,
    namespace: ctx.namespace,
    tls: {
      ca: fileOrData(clusterDir, cluster['certificate-authority'], cluster['certificate-authority-data']),
      insecureSkipTlsVerify: cluster['insecure-skip-tls-verify'] === true,
      serverName: cluster['tls-server-name'],
    },
    credentials: user.exec || user['auth-provider'] ? delegatedCredentials(user, server, userDir) : staticCredentials(user, userDir, warn),
  };
}

export interface ConnectionOptions {
  kubeconfig?: string;
  context?: string;
  warn?: Warn;
}

/**
 * controller-runtime's order: --kubeconfig, then $KUBECONFIG, then the in-cluster service account, then
 * ~/.kube/config. So a kubeconfig given explicitly wins inside a pod too.
 */
export function loadConnectionConfig(options: ConnectionOptions = {}): ConnectionConfig {
  const fromEnv = (process.env.KUBECONFIG ?? '').split(path.delimiter).filter((f) => f && existsSync(f));
  if (!options.kubeconfig && fromEnv.length === 0 && process.env.KUBERNETES_SERVICE_HOST) {
    if (options.context)
      throw new Error('--context needs a kubeconfig (--kubeconfig or $KUBECONFIG); in-cluster there is no context to choose');
    return inClusterConfig(SERVICE_ACCOUNT_DIR, options.warn);
  }
  return kubeconfigConfig(kubeconfigFiles(options.kubeconfig), options);
}
