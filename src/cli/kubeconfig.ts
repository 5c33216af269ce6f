import { PooledKubeConfig } from '../kube/pooled-kubeconfig.ts';
import type { KubeConfig } from '@kubernetes/client-node';

/** --kubeconfig if given; otherwise the in-cluster service account, else $KUBECONFIG or ~/.kube/config. */
export function loadKubeConfig(file?: string): KubeConfig {
  const kc = new PooledKubeConfig();
  if (file) kc.loadFromFile(file);
  else if (process.env.KUBERNETES_SERVICE_HOST) kc.loadFromCluster();
  else kc.loadFromDefault();
  return kc;
}
