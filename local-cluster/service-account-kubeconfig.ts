import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { ClusterClient } from './cluster-client.ts';

/** A kubeconfig that authenticates as a ServiceAccount (a real token from the TokenRequest API). */
export async function serviceAccountKubeconfig(c: ClusterClient, namespace: string, name: string, dir: string): Promise<string> {
  const token = (await c.kubectl(['-n', namespace, 'create', 'token', name, '--duration=1h'])).trim();
  const admin = readFileSync(c.kubeconfig, 'utf8');
  const server = /server: "([^"]+)"/.exec(admin)![1];
  const ca = /certificate-authority: "([^"]+)"/.exec(admin)![1];
  const file = path.join(dir, `${namespace}-${name}.kubeconfig`);
  writeFileSync(file, `apiVersion: v1
kind: Config
clusters: [{name: local, cluster: {server: "${server}", certificate-authority: "${ca}"}}]
users: [{name: sa, user: {token: "${token}"}}]
contexts: [{name: sa, context: {cluster: local, user: sa, namespace: ${namespace}}}]
current-context: sa
`);
  return file;
}
