// The fixed addresses of the local cluster's real node, which the certificates name and the node uses.

/** The node's address on its bridge (the kubelet's --node-ip; the API server advertises it to the node). */
export const NODE_IP = '10.200.0.2';
/** The `kubernetes` Service's address: the first of the API server's --service-cluster-ip-range (control-plane.ts). */
export const KUBERNETES_SERVICE_IP = '10.96.0.1';
