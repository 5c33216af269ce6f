import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { ensureBinaries, type ControlPlaneBinaries } from './binaries.ts';
import { generateCertificates, type Certificates } from './certificates.ts';
import { type ComponentSpec, freePort, isAlive, startProcess, stopProcess, waitFor } from './processes.ts';
import {
  cleanUpRealNode, createNodeNetwork, ensureNodePackages, importImages, inNamespace, NODE_NAME, realNodeSpecs,
  relaySpecs, type RealNodeInfo,
} from './real-node.ts';
import { NODE_IP } from './addresses.ts';

const here = path.dirname(fileURLToPath(import.meta.url));
const run = promisify(execFile);

export type ComponentName = 'etcd' | 'kube-apiserver' | 'kube-controller-manager' | 'kube-scheduler' | 'kwok'
  | 'relay-in' | 'relay-out' | 'containerd' | 'kubelet' | 'kube-proxy';
const controlPlaneOrder = ['etcd', 'kube-apiserver', 'kube-controller-manager', 'kube-scheduler'] as const;
const startOrder = (realNode: boolean): ComponentName[] => (realNode
  ? ['etcd', 'kube-apiserver', 'relay-in', 'relay-out', 'kube-controller-manager', 'kube-scheduler', 'containerd', 'kubelet', 'kube-proxy']
  : [...controlPlaneOrder, 'kwok']);

/** Everything needed to reach, restart or tear down a running local control plane; saved as state.json in its dir. */
export interface ControlPlane {
  dir: string;
  kubeconfig: string;
  server: string;
  auditLog: string;
  nodes: string[];
  components: Partial<Record<ComponentName, ComponentSpec & { pid: number }>>;
  /** Set when the cluster runs a real node (kubelet, containerd) instead of kwok's simulated ones. */
  realNode?: RealNodeInfo;
}

export interface StartOptions {
  nodes?: number;
  log?: (line: string) => void;
  /** kube-controller-manager's --controllers (the benchmark turns the StatefulSet controller off). */
  controllers?: string;
  /** Extra kube-apiserver flags, e.g. feature gates of older releases. */
  apiServerFlags?: string[];
  /**
   * One real node (kubelet, containerd, runc, CNI, kube-proxy; real-node.ts) instead of kwok's simulated
   * ones: pods run real containers on real volumes. Needs root.
   */
  realNode?: boolean;
}

// Writes by anyone to the objects the drain controller touches. Deletes of claims and pods, and lease
// writes, keep their request body (UID preconditions, lease holder) for the fault suite's invariant checks;
// pod creates, pod deletes, claim deletes and pod status writes keep their response too, whose
// resourceVersion orders them as etcd committed them (the audit timestamps are taken when each response
// completes, which can come after a watcher has already acted on the write).
const auditPolicy = `apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: [RequestReceived]
rules:
- level: RequestResponse
  verbs: [delete]
  resources:
  - group: ""
    resources: [pods, persistentvolumeclaims]
- level: RequestResponse
  verbs: [create]
  resources:
  - group: ""
    resources: [pods]
- level: RequestResponse
  verbs: [update, patch]
  resources:
  - group: ""
    resources: [pods/status]
- level: Request
  verbs: [update, patch]
  resources:
  - group: ""
    resources: [persistentvolumeclaims]
- level: Request
  verbs: [update, patch]
  resources:
  - group: ""
    resources: [persistentvolumes]
- level: Request
  verbs: [create, update, patch]
  resources:
  - group: apps
    resources: [statefulsets, statefulsets/scale]
- level: Request
  verbs: [create, update]
  resources:
  - group: coordination.k8s.io
    resources: [leases]
- level: RequestResponse
  verbs: [get]
  resources:
  - group: apps
    resources: [statefulsets]
- level: Metadata
  verbs: [create, update, patch, delete, deletecollection]
  resources:
  - group: ""
    resources: [pods, persistentvolumeclaims, events]
  - group: apps
    resources: [statefulsets]
  - group: events.k8s.io
- level: None
`;

function kubeconfigText(server: string, certs: Certificates): string {
  return `apiVersion: v1
kind: Config
clusters:
- name: local
  cluster: {server: "${server}", certificate-authority: "${certs.caCert}"}
users:
- name: admin
  user: {client-certificate: "${certs.adminCert}", client-key: "${certs.adminKey}"}
contexts:
- name: local
  context: {cluster: local, user: admin, namespace: default}
current-context: local
`;
}

async function componentSpecs(dir: string, bin: ControlPlaneBinaries, certs: Certificates, kubeconfig: string, controllers: string,
    apiServerFlags: string[], netns?: string) {
  const [etcdClient, etcdPeer, apiPort, kwokPort] = await Promise.all([freePort(), freePort(), freePort(), freePort()]);
  const log = (name: string) => path.join(dir, 'logs', `${name}.log`);
  const auditPolicyFile = path.join(dir, 'audit-policy.yaml');
  writeFileSync(auditPolicyFile, auditPolicy);
  const server = `https://127.0.0.1:${apiPort}`;
  const specs: Record<'etcd' | 'kube-apiserver' | 'kube-controller-manager' | 'kube-scheduler' | 'kwok', ComponentSpec> = {
    etcd: {
      name: 'etcd', binary: bin.etcd, log: log('etcd'),
      args: [
        '--name=local', `--data-dir=${path.join(dir, 'etcd')}`,
        `--listen-client-urls=http://127.0.0.1:${etcdClient}`, `--advertise-client-urls=http://127.0.0.1:${etcdClient}`,
        `--listen-peer-urls=http://127.0.0.1:${etcdPeer}`, `--initial-advertise-peer-urls=http://127.0.0.1:${etcdPeer}`,
        `--initial-cluster=local=http://127.0.0.1:${etcdPeer}`,
        '--unsafe-no-fsync', '--quota-backend-bytes=8589934592', '--log-level=warn',
      ],
    },
    'kube-apiserver': {
      name: 'kube-apiserver', binary: bin['kube-apiserver'], log: log('kube-apiserver'),
      args: [
        `--etcd-servers=http://127.0.0.1:${etcdClient}`,
        ...(netns
          ? ['--bind-address=0.0.0.0', `--advertise-address=${NODE_IP}`, `--kubelet-client-certificate=${certs.adminCert}`,
            `--kubelet-client-key=${certs.adminKey}`, '--kubelet-preferred-address-types=InternalIP']
          : ['--bind-address=127.0.0.1', '--advertise-address=127.0.0.1']),
        `--secure-port=${apiPort}`,
        `--cert-dir=${path.join(dir, 'apiserver-certs')}`,
        `--tls-cert-file=${certs.servingCert}`, `--tls-private-key-file=${certs.servingKey}`,
        `--client-ca-file=${certs.caCert}`,
        '--service-account-issuer=https://kubernetes.default.svc',
        `--service-account-key-file=${certs.serviceAccountPub}`,
        `--service-account-signing-key-file=${certs.serviceAccountKey}`,
        '--service-cluster-ip-range=10.96.0.0/16',
        '--authorization-mode=RBAC', '--allow-privileged=true',
        `--audit-policy-file=${auditPolicyFile}`, `--audit-log-path=${path.join(dir, 'audit.log')}`,
        '--audit-log-format=json', '--audit-log-mode=blocking', ...apiServerFlags,
      ],
    },
    'kube-controller-manager': {
      name: 'kube-controller-manager', binary: bin['kube-controller-manager'], log: log('kube-controller-manager'),
      args: [
        `--kubeconfig=${kubeconfig}`, '--leader-elect=false', '--secure-port=0',
        `--controllers=${controllers}`, '--enable-hostpath-provisioner=true',
        `--service-account-private-key-file=${certs.serviceAccountKey}`, `--root-ca-file=${certs.caCert}`,
        `--cluster-signing-cert-file=${certs.caCert}`, `--cluster-signing-key-file=${certs.caKey}`,
      ],
    },
    'kube-scheduler': {
      name: 'kube-scheduler', binary: bin['kube-scheduler'], log: log('kube-scheduler'),
      // A pod whose claim binds while the scheduler is judging it can miss the event that requeues it and
      // wait in the unschedulable pool for the default 5 minutes (seen in CI: a replica Pending for 90 s with
      // its claim Bound). Retry such pods after 10 s instead.
      args: [`--kubeconfig=${kubeconfig}`, '--leader-elect=false', '--secure-port=0', '--pod-max-in-unschedulable-pods-duration=10s'],
    },
    kwok: {
      name: 'kwok', binary: bin.kwok, log: log('kwok'),
      args: [
        `--kubeconfig=${kubeconfig}`, '--manage-all-nodes=false',
        '--manage-nodes-with-label-selector=type=kwok',
        `--config=${path.join(here, 'kwok', 'stages.yaml')}`,
        `--server-address=127.0.0.1:${kwokPort}`, '--node-lease-duration-seconds=40',
      ],
    },
  };
  if (netns) {
    for (const name of controlPlaneOrder) specs[name] = inNamespace(netns, specs[name]);
    const node = realNodeSpecs(dir, netns, { kubelet: bin.kubelet!, 'kube-proxy': bin['kube-proxy']! }, certs, kubeconfig, log);
    return { specs: { ...specs, ...relaySpecs(dir, netns, apiPort, log), ...node.specs } as
      Record<ComponentName, ComponentSpec>, server, node };
  }
  return { specs: specs as Record<ComponentName, ComponentSpec>, server, node: undefined };
}

function apiserverReady(server: string, certs: Certificates): Promise<boolean> {
  return new Promise((resolve) => {
    const req = https.get(`${server}/readyz`, {
      ca: readFileSync(certs.caCert), cert: readFileSync(certs.adminCert), key: readFileSync(certs.adminKey), timeout: 2000,
    }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('error', () => resolve(false));
    req.on('timeout', () => { req.destroy(); resolve(false); });
  });
}

export async function kubectl(cp: Pick<ControlPlane, 'kubeconfig'>, args: string[], input?: string): Promise<string> {
  const child = run('kubectl', [`--kubeconfig=${cp.kubeconfig}`, ...args], { maxBuffer: 64 << 20 });
  if (input !== undefined) child.child.stdin?.end(input);
  return (await child).stdout;
}

const fakeNode = (name: string) => `apiVersion: v1
kind: Node
metadata:
  name: ${name}
  labels: {type: kwok, kubernetes.io/hostname: ${name}}
  annotations: {node.alpha.kubernetes.io/ttl: "0", kwok.x-k8s.io/node: fake}
`;

/** Adds one more kwok node (the fault suite replaces a lost node with a new one). */
export async function addFakeNode(cp: Pick<ControlPlane, 'kubeconfig'>, name: string): Promise<void> {
  await kubectl(cp, ['apply', '-f', '-'], fakeNode(name));
}

function clusterObjects(nodes: string[]): string {
  const nodeDocs = nodes.map(fakeNode);
  const storageClass = `apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata:
  name: standard
  annotations: {storageclass.kubernetes.io/is-default-class: "true"}
provisioner: kubernetes.io/host-path
reclaimPolicy: Delete
volumeBindingMode: Immediate
`;
  const localClass = `apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata:
  name: local
provisioner: kubernetes.io/no-provisioner
reclaimPolicy: Retain
volumeBindingMode: WaitForFirstConsumer
`;
  return [...nodeDocs, storageClass, localClass].join('---\n');
}

export function saveState(cp: ControlPlane): void {
  writeFileSync(path.join(cp.dir, 'state.json'), JSON.stringify(cp, null, 2));
}

export function loadState(dir: string): ControlPlane {
  return JSON.parse(readFileSync(path.join(dir, 'state.json'), 'utf8')) as ControlPlane;
}

/**
 * Starts etcd, kube-apiserver, kube-controller-manager, kube-scheduler and kwok on loopback, with fake nodes
 * and storage; or, with `realNode`, the same control plane and one real node inside a network namespace.
 */
export async function startControlPlane(options: StartOptions = {}): Promise<ControlPlane> {
  const say = options.log ?? ((line: string) => process.stderr.write(`[control-plane] ${line}\n`));
  const started = Date.now();
  const realNode = options.realNode ?? false;
  if (realNode) await ensureNodePackages();
  const bin = await ensureBinaries({ realNode });
  const dir = mkdtempSync(path.join(os.tmpdir(), 'sdc-control-plane-'));
  mkdirSync(path.join(dir, 'logs'));
  const certs = generateCertificates(dir);
  const kubeconfig = path.join(dir, 'kubeconfig');
  const netns = realNode ? `sdc-${path.basename(dir).slice(-6)}` : undefined;
  const { specs, server, node } = await componentSpecs(dir, bin, certs, kubeconfig, options.controllers ?? '*',
    options.apiServerFlags ?? [], netns);
  writeFileSync(kubeconfig, kubeconfigText(server, certs));
  const fakeNodes = realNode ? [] : Array.from({ length: options.nodes ?? 3 }, (_, i) => `kwok-node-${i}`);
  const cp: ControlPlane = {
    dir, kubeconfig, server, nodes: realNode ? [NODE_NAME] : fakeNodes, auditLog: path.join(dir, 'audit.log'),
    components: {},
  };
  try {
    if (netns && node) {
      cp.realNode = { netns, containerdSocket: node.containerdSocket, podLogsDir: node.podLogsDir,
        netnsBefore: await createNodeNetwork(netns) };
      saveState(cp);
    }
    for (const name of startOrder(realNode)) {
      await startComponent(cp, name, specs[name]);
      if (name === 'relay-out' || (name === 'kube-apiserver' && !realNode)) {
        await waitFor('kube-apiserver /readyz', () => apiserverReady(server, certs), 60_000);
        await kubectl(cp, ['apply', '-f', '-'], clusterObjects(fakeNodes));
      }
      if (name === 'containerd' && cp.realNode) {
        const socket = cp.realNode.containerdSocket;
        await waitFor('containerd socket', async () => existsSync(socket), 30_000);
        await importImages(cp.realNode.netns, socket);
      }
    }
    await waitFor(realNode ? `node ${NODE_NAME} Ready` : 'fake nodes Ready', async () => {
      const out = await kubectl(cp, ['get', 'nodes', '-o',
        'jsonpath={range .items[*]}{.status.conditions[?(@.type=="Ready")].status}{"\\n"}{end}']);
      return out.split('\n').filter((s) => s === 'True').length === cp.nodes.length;
    }, realNode ? 120_000 : 60_000);
    await waitFor('default ServiceAccount', async () => (await kubectl(cp, ['get', 'serviceaccount', 'default', '-o', 'name']))
      .trim() !== '', 60_000);
    say(`ready in ${((Date.now() - started) / 1000).toFixed(1)}s (${dir})`);
    return cp;
  } catch (err) {
    say(`start failed; logs kept in ${path.join(dir, 'logs')}`);
    await stopControlPlane(cp, { keepDir: true });
    throw err;
  }
}

/**
 * The directories kube-controller-manager's host-path provisioner made for this cluster's volumes (it always
 * uses /tmp/hostpath_pv): removed with the cluster. None when the API server no longer answers.
 */
async function hostPathVolumes(cp: ControlPlane): Promise<string[]> {
  const out = await kubectl(cp, ['get', 'pv', '--request-timeout=5s', '-o', 'jsonpath={range .items[*]}{.spec.hostPath.path}{"\\n"}{end}'])
    .catch(() => '');
  return out.split('\n').filter((dir) => dir.startsWith('/tmp/hostpath_pv/'));
}

export async function startComponent(cp: ControlPlane, name: ComponentName,
    spec: ComponentSpec | undefined = cp.components[name]): Promise<void> {
  if (!spec) throw new Error(`${name} is not part of this control plane`);
  const pid = startProcess(spec);
  cp.components[name] = { ...spec, pid };
  saveState(cp);
  await new Promise((r) => setTimeout(r, 300));
  if (!isAlive(pid)) throw new Error(`${name} exited right after start; see ${spec.log}`);
}

export async function stopComponent(cp: ControlPlane, name: ComponentName, graceMs = 5000): Promise<void> {
  const component = cp.components[name];
  if (component) await stopProcess(component.pid, graceMs);
}

/**
 * Stops every component in reverse start order, then (real node) removes its mounts, shims and network
 * namespaces; removes the directory unless asked to keep it (logs on failure).
 */
export async function stopControlPlane(cp: ControlPlane, options: { keepDir?: boolean } = {}): Promise<void> {
  const volumes = await hostPathVolumes(cp);
  for (const name of [...startOrder(cp.realNode !== undefined)].reverse()) await stopComponent(cp, name);
  if (cp.realNode) await cleanUpRealNode(cp.dir, cp.realNode);
  for (const dir of volumes) rmSync(dir, { recursive: true, force: true });
  if (!options.keepDir) rmSync(cp.dir, { recursive: true, force: true });
}
