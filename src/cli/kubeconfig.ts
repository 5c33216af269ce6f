import { ControllerKubeConfig } from '../kube/controller-kubeconfig.ts';

/** --kubeconfig if given; otherwise the in-cluster service account, else $KUBECONFIG or ~/.kube/config. */
export function loadKubeConfig(file?: string): ControllerKubeConfig {
  const kc = new ControllerKubeConfig();
  if (file) kc.loadFromFile(file);
  else if (process.env.KUBERNETES_SERVICE_HOST) kc.loadFromCluster();
  else kc.loadFromDefault();
  return kc;
}
