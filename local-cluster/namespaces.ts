import { randomBytes } from 'node:crypto';
import type { ClusterClient } from './cluster-client.ts';

/** A fresh namespace for one test; deleted afterwards without waiting (the namespace controller finishes it). */
export async function createNamespace(c: ClusterClient, prefix = 't', labels: Record<string, string> = {}): Promise<string> {
  const name = `${prefix}-${randomBytes(4).toString('hex')}`;
  await c.core.createNamespace({ body: { metadata: { name, labels } } });
  // Pods need the namespace's default ServiceAccount, which the ServiceAccount controller creates.
  for (let i = 0; i < 100; i++) {
    try {
      await c.core.readNamespacedServiceAccount({ namespace: name, name: 'default' });
      return name;
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  throw new Error(`default ServiceAccount never appeared in ${name}`);
}

export async function deleteNamespace(c: ClusterClient, name: string): Promise<void> {
  await c.core.deleteNamespace({ name }).catch(() => undefined);
}
