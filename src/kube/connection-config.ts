// Where the API server is and how to authenticate to it: from a kubeconfig file or the pod's service
// account. Kept apart from client-node on purpose: importing client-node loads every generated model
// (about 86 MiB of RSS), more than the whole cache of a 10,000-set cluster. Credentials that need code
// to produce them (exec plugins, auth providers) are delegated to client-node, loaded only then.
import { existsSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';

export interface TlsMaterial {
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
  insecureSkipTlsVerify?: boolean;
  serverName?: string;
}

/** Produces the Authorization header (and any other auth headers) for each request. */
export type HeaderSource = () => Promise<Record<string, string>>;

export interface ConnectionConfig {
  server: string;
  tls: TlsMaterial;
  /** An HTTP(S) proxy (the kubeconfig's proxy-url); without one, HTTPS_PROXY / NO_PROXY apply, as in client-go. */
  proxyUrl?: string;
  headers: HeaderSource;
}

const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';
// Bound service account tokens are rotated by the kubelet; client-go re-reads the file about every minute.
const TOKEN_REREAD_MS = 60_000;

function tokenFromFile(file: string): HeaderSource {
  let cached: { token: string; readAt: number } | undefined;
  return async () => {
    if (!cached || Date.now() - cached.readAt > TOKEN_REREAD_MS) cached = { token: readFileSync(file, 'utf8').trim(), readAt: Date.now() };
    return { Authorization: `Bearer ${cached.token}` };
  };
}

export function inClusterConfig(dir = SERVICE_ACCOUNT_DIR): ConnectionConfig {
  const host = process.env.KUBERNETES_SERVICE_HOST;
  const port = process.env.KUBERNETES_SERVICE_PORT ?? '443';
  if (!host) throw new Error('not running in a cluster: KUBERNETES_SERVICE_HOST is not set');
  return {
    server: `https://${host.includes(':') ? `[${host}]` : host}:${port}`,
    tls: { ca: readFileSync(path.join(dir, 'ca.crt')) },
    headers: tokenFromFile(path.join(dir, 'token')),
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
}

interface Kubeconfig {
  'current-context'?: string;
  'clusters': Array<Named<KubeconfigCluster>>;
  'users': Array<Named<KubeconfigUser>>;
  'contexts': Array<Named<{ cluster?: string; user?: string }>>;
}

function readKubeconfig(file: string): Kubeconfig & { dir: string } {
  const raw = (parseYaml(readFileSync(file, 'utf8')) ?? {}) as Record<string, unknown>;
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

/** $KUBECONFIG may list several files; as kubectl does, the first file to define a name wins. */
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

function staticHeaders(user: KubeconfigUser, dir: string): HeaderSource {
  if (user.tokenFile) return tokenFromFile(path.resolve(dir, user.tokenFile));
  const headers: Record<string, string> = {};
  if (user.token) headers.Authorization = `Bearer ${user.token}`;
  else if (user.username) headers.Authorization = `Basic ${Buffer.from(`${user.username}:${user.password ?? ''}`).toString('base64')}`;
  return async () => headers;
}

/** Exec plugins and auth providers: client-node runs them (and refreshes their credentials). */
function delegatedHeaders(files: string[]): HeaderSource {
  let load: Promise<(opts: { headers?: Record<string, string> }) => Promise<void>> | undefined;
  return async () => {
    load ??= import('@kubernetes/client-node').then(({ KubeConfig }) => {
      const kc = new KubeConfig();
      if (files.length === 1) kc.loadFromFile(files[0]!);
      else kc.loadFromDefault();
      return (opts) => kc.applyToHTTPSOptions(opts);
    });
    const opts: { headers?: Record<string, string> } = {};
    await (await load)(opts);
    return opts.headers ?? {};
  };
}

export function kubeconfigFiles(explicit?: string): string[] {
  if (explicit) return [explicit];
  const fromEnv = (process.env.KUBECONFIG ?? '').split(path.delimiter).filter((f) => f && existsSync(f));
  if (fromEnv.length > 0) return fromEnv;
  return [path.join(os.homedir(), '.kube', 'config')];
}

export function kubeconfigConfig(files: string[], context?: string): ConnectionConfig {
  const kc = mergedKubeconfig(files);
  const contextName = context ?? kc['current-context'];
  const ctx = kc.contexts.find((c) => c.name === contextName)?.value;
  if (!ctx) throw new Error(`kubeconfig ${files.join(path.delimiter)}: context ${JSON.stringify(contextName)} not found`);
  const cluster = kc.clusters.find((c) => c.name === ctx.cluster)?.value;
  if (!cluster?.server) throw new Error(`kubeconfig: cluster ${JSON.stringify(ctx.cluster)} has no server`);
  const proxyUrl = cluster['proxy-url'];
  if (proxyUrl && !/^https?:\/\//.test(proxyUrl)) throw new Error(`kubeconfig: proxy-url ${proxyUrl}: only http:// and https:// proxies are supported`);
  const user = kc.users.find((u) => u.name === ctx.user)?.value ?? {};
  const clusterDir = kc.dirs.get(cluster) ?? '.';
  const userDir = kc.dirs.get(user) ?? '.';
  return {
    server: cluster.server.replace(/\/+$/, ''),
    proxyUrl,
    tls: {
      ca: fileOrData(clusterDir, cluster['certificate-authority'], cluster['certificate-authority-data']),
      cert: fileOrData(userDir, user['client-certificate'], user['client-certificate-data']),
      key: fileOrData(userDir, user['client-key'], user['client-key-data']),
      insecureSkipTlsVerify: cluster['insecure-skip-tls-verify'] === true,
      serverName: cluster['tls-server-name'],
    },
    headers: user.exec || user['auth-provider'] ? delegatedHeaders(files) : staticHeaders(user, userDir),
  };
}

/** --kubeconfig if given; otherwise the in-cluster service account, else $KUBECONFIG or ~/.kube/config. */
export function loadConnectionConfig(kubeconfig?: string): ConnectionConfig {
  if (!kubeconfig && process.env.KUBERNETES_SERVICE_HOST) return inClusterConfig();
  return kubeconfigConfig(kubeconfigFiles(kubeconfig));
}
