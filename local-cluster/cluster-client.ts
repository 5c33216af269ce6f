// Typed API access to the test control plane, plus polling helpers for end-to-end assertions.
import { AppsV1Api, CoordinationV1Api, CoreV1Api, EventsV1Api, KubeConfig, type V1PersistentVolumeClaim,
  type V1Pod } from '@kubernetes/client-node';
import { kubectl } from './control-plane.ts';
import { PooledKubeConfig } from './pooled-kubeconfig.ts';
import { waitFor } from './processes.ts';

export interface ClusterClient {
  kubeconfig: string;
  kubeConfig: KubeConfig;
  core: CoreV1Api;
  apps: AppsV1Api;
  events: EventsV1Api;
  coordination: CoordinationV1Api;
  kubectl(args: string[], input?: string): Promise<string>;
}

export function clusterClient(kubeconfig: string): ClusterClient {
  const kc = new PooledKubeConfig();
  kc.loadFromFile(kubeconfig);
  return {
    kubeconfig,
    kubeConfig: kc,
    core: kc.makeApiClient(CoreV1Api),
    apps: kc.makeApiClient(AppsV1Api),
    events: kc.makeApiClient(EventsV1Api),
    coordination: kc.makeApiClient(CoordinationV1Api),
    kubectl: (args, input) => kubectl({ kubeconfig }, args, input),
  };
}

export async function listPods(c: ClusterClient, namespace: string): Promise<V1Pod[]> {
  return (await c.core.listNamespacedPod({ namespace })).items;
}

export async function listClaims(c: ClusterClient, namespace: string): Promise<V1PersistentVolumeClaim[]> {
  return (await c.core.listNamespacedPersistentVolumeClaim({ namespace })).items;
}

export async function podNames(c: ClusterClient, namespace: string, labelSelector?: string): Promise<string[]> {
  return (await c.core.listNamespacedPod({ namespace, labelSelector })).items.map((p) => p.metadata!.name!).sort();
}

export async function claimNames(c: ClusterClient, namespace: string): Promise<string[]> {
  return (await listClaims(c, namespace)).filter((p) => !p.metadata?.deletionTimestamp).map((p) => p.metadata!.name!).sort();
}

/** Reasons of the events recorded on a StatefulSet by our controller, oldest first. */
export async function eventReasons(c: ClusterClient, namespace: string, setName: string): Promise<string[]> {
  const events = (await c.events.listNamespacedEvent({ namespace })).items
    .filter((e) => e.regarding?.kind === 'StatefulSet' && e.regarding.name === setName &&
      e.reportingController === 'statefulset-drain-controller')
    .sort((a, b) => new Date(a.eventTime as unknown as string).getTime() - new Date(b.eventTime as unknown as string).getTime());
  return events.map((e) => e.reason ?? '');
}

export async function eventNotes(c: ClusterClient, namespace: string, setName: string, reason: string): Promise<string[]> {
  return (await c.events.listNamespacedEvent({ namespace })).items
    .filter((e) => e.regarding?.name === setName && e.reason === reason).map((e) => e.note ?? '');
}

/** Polls until the probe returns something other than undefined, null, false or ''. */
export async function eventually<T>(what: string, probe: () => Promise<T | undefined | null | false>, timeoutMs = 60_000): Promise<T> {
  return waitFor(what, probe, timeoutMs, 250) as Promise<T>;
}

export async function readyReplicas(c: ClusterClient, namespace: string, name: string): Promise<number> {
  return (await c.apps.readNamespacedStatefulSet({ namespace, name })).status?.readyReplicas ?? 0;
}
