// A real node for the local control plane: kubelet, containerd and runc, CNI bridge networking and
// kube-proxy, so pods run real containers on real volumes. The whole cluster runs inside a network namespace
// of the harness's own (the kubelet refuses a loopback node IP, and pods cannot reach a loopback API
// server); a relay pair carries the API server's port out to this machine's loopback, so nothing ever talks
// to an address outside that namespace except over loopback. Everything it makes (the namespace, mounts,
// containerd state, shims) lives under the control plane's directory and is removed by cleanUpRealNode.
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { NODE_IP } from './addresses.ts';
import type { Certificates } from './certificates.ts';
import type { ComponentSpec } from './processes.ts';

const run = promisify(execFile);
const here = path.dirname(fileURLToPath(import.meta.url));

export const NODE_NAME = 'sdc-node';
const POD_SUBNET = '10.244.0.0/24';
export const PAUSE_IMAGE = 'sdc.local/pause:1';

export interface RealNodeInfo {
  /** The network namespace the cluster runs in. */
  netns: string;
  containerdSocket: string;
  /** Where the kubelet writes container logs (`<namespace>_<pod>_<uid>/<container>/<n>.log`). */
  podLogsDir: string;
  /** Network namespaces (under /var/run/netns) that existed before the node started. */
  netnsBefore: string[];
}

async function sh(args: string[]): Promise<string> {
  return (await run(args[0]!, args.slice(1), { maxBuffer: 16 << 20 })).stdout;
}

/**
 * Runs `binary` in the namespace's network only: nsenter replaces itself with it, so the pid stays the
 * component's. Not `ip netns exec`, which also mounts a fresh /sys and so hides the cgroup hierarchies the
 * kubelet and runc need, and keeps the kubelet's mounts in a mount namespace of their own.
 */
export function inNamespace(netns: string, spec: ComponentSpec): ComponentSpec {
  return { ...spec, binary: 'nsenter', args: [`--net=/var/run/netns/${netns}`, spec.binary, ...spec.args] };
}

/** The namespace, its loopback, and the node's address on a bridge of its own (no dummy module on these machines). */
export async function createNodeNetwork(netns: string): Promise<string[]> {
  const before = existsSync('/var/run/netns') ? readdirSync('/var/run/netns') : [];
  await sh(['ip', 'netns', 'add', netns]);
  const inside = (cmd: string[]) => sh(['ip', 'netns', 'exec', netns, ...cmd]);
  await inside(['ip', 'link', 'set', 'lo', 'up']);
  await inside(['ip', 'link', 'add', 'sdc0', 'type', 'bridge']);
  await inside(['ip', 'addr', 'add', `${NODE_IP}/24`, 'dev', 'sdc0']);
  await inside(['ip', 'link', 'set', 'sdc0', 'up']);
  await inside(['sysctl', '-qw', 'net.ipv4.ip_forward=1']);
  return before;
}

function write(file: string, text: string): string {
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, text);
  return file;
}

export interface NodeBinaries {
  kubelet: string;
  'kube-proxy': string;
}

/** containerd, kubelet and kube-proxy, configured under `dir`, each to be run inside `netns`. */
export function realNodeSpecs(dir: string, netns: string, bin: NodeBinaries, certs: Certificates, kubeconfig: string,
    log: (name: string) => string) {
  const node = path.join(dir, 'node');
  const containerdSocket = path.join(node, 'containerd', 'containerd.sock');
  const podLogsDir = path.join(node, 'pod-logs');
  const cniConf = path.join(node, 'cni');
  write(path.join(cniConf, '10-bridge.conflist'), JSON.stringify({
    cniVersion: '1.0.0', name: 'sdc',
    plugins: [
      { type: 'bridge', bridge: 'cni0', isGateway: true, ipMasq: false, hairpinMode: true,
        ipam: { type: 'host-local', ranges: [[{ subnet: POD_SUBNET }]], routes: [{ dst: '0.0.0.0/0' }] } },
      { type: 'portmap', capabilities: { portMappings: true } },
    ],
  }));
  const containerdConfig = write(path.join(node, 'containerd', 'config.toml'), `version = 2
root = "${path.join(node, 'containerd', 'root')}"
state = "${path.join(node, 'containerd', 'state')}"
[grpc]
  address = "${containerdSocket}"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "${PAUSE_IMAGE}"
  # Without CAP_SYS_RESOURCE runc cannot set the sandbox's oom_score_adj of -998 (kubernetes-facts.md).
  restrict_oom_score_adj = true
  disable_apparmor = true
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "${cniConf}"
  [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
    runtime_type = "io.containerd.runc.v2"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
      SystemdCgroup = false
`);
  const kubeletConfig = write(path.join(node, 'kubelet.yaml'), `apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
cgroupDriver: cgroupfs
cgroupsPerQOS: false
enforceNodeAllocatable: []
containerRuntimeEndpoint: unix://${containerdSocket}
failSwapOn: false
resolvConf: ""
hairpinMode: none
podLogsDir: ${podLogsDir}
localStorageCapacityIsolation: false
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
evictionHard: {memory.available: "1Mi"}
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: false}
  x509: {clientCAFile: ${certs.caCert}}
authorization: {mode: AlwaysAllow}
address: ${NODE_IP}
healthzBindAddress: 127.0.0.1
`);
  const proxyConfig = write(path.join(node, 'kube-proxy.yaml'), `apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
clientConnection: {kubeconfig: ${kubeconfig}}
mode: iptables
clusterCIDR: ${POD_SUBNET}
hostnameOverride: ${NODE_NAME}
bindAddress: ${NODE_IP}
healthzBindAddress: 127.0.0.1:10256
metricsBindAddress: 127.0.0.1:10249
conntrack: {maxPerCore: 0, min: 0, tcpEstablishedTimeout: 0s, tcpCloseWaitTimeout: 0s}
`);
  const specs: Record<'containerd' | 'kubelet' | 'kube-proxy', ComponentSpec> = {
    containerd: inNamespace(netns, { name: 'containerd', binary: 'containerd', args: ['--config', containerdConfig],
      log: log('containerd') }),
    kubelet: inNamespace(netns, {
      name: 'kubelet', binary: bin.kubelet, log: log('kubelet'),
      args: [`--config=${kubeletConfig}`, `--kubeconfig=${kubeconfig}`, `--root-dir=${path.join(node, 'kubelet')}`,
        `--node-ip=${NODE_IP}`, `--hostname-override=${NODE_NAME}`, '--v=1'],
    }),
    'kube-proxy': inNamespace(netns, { name: 'kube-proxy', binary: bin['kube-proxy'], args: [`--config=${proxyConfig}`],
      log: log('kube-proxy') }),
  };
  return { specs, containerdSocket, podLogsDir };
}

/** The two relays: from inside the namespace (API server port -> unix socket) and out (loopback port -> unix socket). */
export function relaySpecs(dir: string, netns: string, apiPort: number,
    log: (name: string) => string): Record<'relay-in' | 'relay-out', ComponentSpec> {
  const socket = path.join(dir, 'apiserver.sock');
  const relay = path.join(here, 'relay.ts');
  return {
    'relay-in': inNamespace(netns,
      { name: 'relay-in', binary: process.execPath, args: [relay, `unix:${socket}`, `tcp:127.0.0.1:${apiPort}`], log: log('relay-in') }),
    'relay-out': { name: 'relay-out', binary: process.execPath, args: [relay, `tcp:127.0.0.1:${apiPort}`, `unix:${socket}`],
      log: log('relay-out') },
  };
}

/** Installs the node's Debian packages where missing (build/ensure-node-packages.sh); fails with apt's own words. */
export async function ensureNodePackages(): Promise<void> {
  const child = run('bash', [path.join(here, 'build', 'ensure-node-packages.sh')], { maxBuffer: 16 << 20 });
  child.child.stderr?.pipe(process.stderr);
  await child;
}

/** Imports the locally assembled images (local-cluster/build/ensure-images.sh) into the node's containerd. */
export async function importImages(netns: string, containerdSocket: string): Promise<void> {
  const { stdout } = await run('bash', [path.join(here, 'build', 'ensure-images.sh')], { maxBuffer: 1 << 20 });
  const images = Object.fromEntries(stdout.trim().split('\n').map((line) => line.split('=') as [string, string]));
  const ctr = (args: string[]) => sh(['ip', 'netns', 'exec', netns, 'ctr', '--address', containerdSocket,
    '--namespace', 'k8s.io', ...args]);
  await ctr(['images', 'import', '--base-name', 'docker.io/library/busybox', images.busybox!]);
  await ctr(['images', 'import', '--base-name', 'sdc.local/pause', images.pause!]);
}

/**
 * Removes what the node left on the machine: container shims, the kubelet's and containerd's mounts under
 * `dir` (the kubelet bind-mounts its root directory onto itself), pod network namespaces, and the node's own
 * namespace (its bridges go with it). Safe to call more than once.
 */
export async function cleanUpRealNode(dir: string, info: RealNodeInfo): Promise<void> {
  const shims = (await sh(['ps', '-eo', 'pid=,args=']).catch(() => '')).split('\n')
    .filter((line) => line.includes('containerd-shim') && line.includes(info.containerdSocket))
    .map((line) => Number(line.trim().split(/\s+/)[0]));
  for (const pid of shims) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone already
    }
  }
  const mounts = readFileSync('/proc/self/mountinfo', 'utf8').split('\n').map((line) => line.split(' ')[4] ?? '')
    .filter((point) => point.startsWith(`${dir}/`)).sort((a, b) => b.length - a.length);
  for (const point of mounts) await sh(['umount', '-l', point]).catch(() => '');
  const now = existsSync('/var/run/netns') ? readdirSync('/var/run/netns') : [];
  for (const name of now) {
    if (name === info.netns || (name.startsWith('cni-') && !info.netnsBefore.includes(name)))
      await sh(['ip', 'netns', 'del', name]).catch(() => '');
  }
}
