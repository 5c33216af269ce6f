// `npm run demo`: the whole story on a local control plane with a real node (or, with --kubeconfig, on your
// cluster): an annotated StatefulSet whose replicas write their shards, `kubectl scale`, the drain container
// copying the orphaned shard to the archive and verifying it, the claim released, the archive listed.
// Without root (or where the node's Debian packages cannot be installed) it says why and runs on kwok.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { clusterClient, type ClusterClient } from '../local-cluster/cluster-client.ts';
import { startControlPlane, stopControlPlane, type ControlPlane } from '../local-cluster/control-plane.ts';
import { startController, type RunningController } from '../local-cluster/controller-process.ts';
import { exampleWithSimulatedDrain } from '../local-cluster/examples.ts';
import { ROLE_DRAINER, ROLE_LABEL, ROLE_PLACEHOLDER } from '../src/planner/keys.ts';
import { execFile, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { Watch, type V1PersistentVolumeClaim, type V1Pod } from '@kubernetes/client-node';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const example = path.join(root, 'examples', 'datastore', 'statefulset.yaml');
const { values: args } = parseArgs({
  options: { 'kubeconfig': { type: 'string' }, 'namespace': { type: 'string', default: 'drain-demo' },
    'simulated': { type: 'boolean', default: false } },
});
const ns = args.namespace!;
const started = Date.now();
const stamp = () => `+${((Date.now() - started) / 1000).toFixed(1).padStart(5)}s`;
const say = (text: string) => console.log(`${stamp()}  ${text}`);
const timeline: string[] = [];
const mark = (text: string) => {
  timeline.push(`${stamp()}  ${text}`);
  say(text);
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let cp: ControlPlane | undefined;
let controller: RunningController | undefined;
async function cleanup(c?: ClusterClient): Promise<void> {
  await controller?.stop();
  if (cp) await stopControlPlane(cp);
  else if (c) await c.kubectl(['delete', 'namespace', ns, '--wait=false']).catch(() => '');
}

async function main(): Promise<void> {
  let c: ClusterClient;
  if (args.kubeconfig) {
    c = clusterClient(path.resolve(args.kubeconfig));
    say('using your cluster; installing the controller with kubectl apply -k manifests/cluster-wide');
    say('(the image statefulset-drain-controller:0.1.0 must be available to the cluster, e.g. `kind load docker-image`)');
    await c.kubectl(['apply', '-k', path.join(root, 'manifests', 'cluster-wide')]);
    await c.kubectl(['-n', 'statefulset-drain-controller', 'rollout', 'status',
      'deployment/statefulset-drain-controller', '--timeout=180s']);
  } else {
    const why = args.simulated ? 'asked for with --simulated' : await realNodeUnavailable();
    say(why ? `starting a local control plane with kwok's simulated nodes (no real node: ${why})`
      : 'starting a local control plane with a real node (etcd, kube-apiserver, kube-controller-manager, kube-scheduler, kubelet, ' +
        'containerd, kube-proxy)');
    say('the first run builds it from the Kubernetes Go modules: about 10 minutes on 2 cores, then cached');
    cp = await startControlPlane({ log: (line) => say(line), realNode: !why });
    c = clusterClient(cp.kubeconfig);
  }
  const real = !cp || cp.realNode !== undefined;
  process.on('SIGINT', () => void cleanup(c).then(() => process.exit(130)));
  await c.kubectl(['create', 'namespace', ns]).catch(() => '');
  if (cp) {
    controller = await startController(cp.kubeconfig, [`--namespaces=${ns}`, `--leader-election-namespace=${ns}`]);
    say(`controller running (logs: ${controller.logFile})`);
  }
  const manifest = real ? readFileSync(example, 'utf8') : exampleWithSimulatedDrain(example, '5s');
  say(`kubectl apply -f examples/datastore/statefulset.yaml${real ? '' : '   (kwok simulates a 5s drain)'}`);
  await c.kubectl(['-n', ns, 'apply', '-f', '-'], manifest);
  if (cp?.realNode) {
    // The local volumes are host paths, which ignore fsGroup: open the archive to the drain's user 1000,
    // as a CSI volume with fsGroup support would be.
    say('local host-path volumes ignore fsGroup: a one-off pod opens the archive to the drain container\'s user');
    await c.kubectl(['-n', ns, 'run', 'archive-permissions', '--image=busybox:1.37', '--restart=Never', '--overrides',
      JSON.stringify({ spec: { containers: [{ name: 'chmod',
        image: 'busybox:1.37', command: ['chmod', '1777', '/archive'], volumeMounts: [{ name: 'a', mountPath: '/archive' }] }],
        volumes: [{ name: 'a', persistentVolumeClaim: { claimName: 'datastore-archive' } }] } })]);
    await c.kubectl(['-n', ns, 'wait', '--for=jsonpath={.status.phase}=Succeeded', 'pod/archive-permissions', '--timeout=120s']);
  }
  for (;;) {
    const set = await c.apps.readNamespacedStatefulSet({ namespace: ns, name: 'datastore' });
    if ((set.status?.readyReplicas ?? 0) === 3) break;
    await sleep(500);
  }
  say('3 datastore replicas Ready, each with its own claim:');
  console.log(indent(await c.kubectl(['-n', ns, 'get', 'pods,pvc'])));

  const seen = new Set<string>();
  const once = (key: string, text: string) => {
    if (!seen.has(key)) {
      seen.add(key);
      mark(text);
    }
  };
  // Watches, not polling: a drain can pass through Succeeded faster than any poll interval.
  const watch = new Watch(c.kubeConfig);
  let finish!: () => void;
  const finished = new Promise<void>((resolve) => (finish = resolve));
  const check = () => {
    if (seen.has('claim-gone') && seen.has('drain-gone') && seen.has('placeholder-gone')) finish();
  };
  const podWatch = await watch.watch(`/api/v1/namespaces/${ns}/pods`, {}, (type, pod: V1Pod) => {
    if (pod.metadata?.name !== 'datastore-2') return;
    const isDrain = pod.metadata?.labels?.[ROLE_LABEL] === ROLE_DRAINER;
    if (pod.metadata?.labels?.[ROLE_LABEL] === ROLE_PLACEHOLDER) {
      if (type === 'ADDED') once('placeholder',
        'placeholder datastore-2 takes the name (no volumes, never scheduled): no replica can start on the claim while it is deleted');
      if (type === 'DELETED') once('placeholder-gone', 'placeholder datastore-2 deleted: the claim is gone, the name is free');
      check();
      return;
    }
    if (!isDrain && pod.metadata?.deletionTimestamp)
      once('terminating', 'stateful pod datastore-2 is terminating (the StatefulSet controller removes the highest replica)');
    if (!isDrain && type === 'DELETED') once('gone', 'stateful pod datastore-2 is gone; its claim data-datastore-2 stays behind');
    if (isDrain && type === 'ADDED') once('drain-created', 'drain pod datastore-2 created, mounting data-datastore-2');
    if (isDrain && type !== 'DELETED' && pod.status?.phase && pod.status.phase !== 'Pending')
      once(`drain-${pod.status.phase}`, `drain pod datastore-2 is ${pod.status.phase}`);
    if (real && isDrain && !seen.has('drain-logs')) {
      seen.add('drain-logs');
      if (cp?.realNode) followLocalLog(cp.realNode.podLogsDir, `${ns}_datastore-2_${pod.metadata?.uid}`);
      else streamDrainLogs(c);
    }
    if (isDrain && type === 'DELETED') once('drain-gone', 'drain pod datastore-2 deleted');
    check();
  }, () => {});
  const claimWatch = await watch.watch(`/api/v1/namespaces/${ns}/persistentvolumeclaims`, {}, (type, claim: V1PersistentVolumeClaim) => {
    if (claim.metadata?.name !== 'data-datastore-2') return;
    if (claim.metadata?.deletionTimestamp && type !== 'DELETED')
      once('claim-deleting', 'claim data-datastore-2 deleted (UID and resourceVersion preconditions)');
    if (type === 'DELETED') once('claim-gone', 'claim data-datastore-2 released');
    check();
  }, () => {});
  mark('kubectl scale sts datastore --replicas 2');
  await c.kubectl(['-n', ns, 'scale', 'sts', 'datastore', '--replicas=2']);
  await Promise.race([finished, sleep(600_000)]);
  podWatch.abort();
  claimWatch.abort();
  console.log('\nFinal state:');
  console.log(indent(await c.kubectl(['-n', ns, 'get', 'pods,pvc'])));
  console.log('Events on the StatefulSet (kubectl events --for sts/datastore):');
  console.log(indent(await c.kubectl(['-n', ns, 'events', '--for', 'statefulset/datastore'])));
  console.log('Timeline:');
  for (const line of timeline) console.log(`  ${line}`);
  if (cp?.realNode) await listArchive(c);
  await cleanup(c);
  console.log(cp ? '\nlocal control plane stopped.'
    : `\nnamespace ${ns} deleted; the controller stays installed (kubectl delete -k manifests/cluster-wide removes it).`);
  // Idle keep-alive connections of the API client would otherwise hold the process open for a while.
  process.exit(0);
}

/** Why the demo cannot run a real node here, or undefined when it can. */
async function realNodeUnavailable(): Promise<string | undefined> {
  if (process.getuid?.() !== 0) return 'a real node needs root (containerd, network namespaces, mounts)';
  try {
    await promisify(execFile)('bash', [path.join(root, 'local-cluster', 'build', 'ensure-node-packages.sh')]);
    return undefined;
  } catch (err) {
    return `its Debian packages could not be installed: ${String((err as { stderr?: string }).stderr ?? err).trim().split('\n').at(-1)}`;
  }
}

/** Prints complete lines as they arrive. */
function lineSink(): (text: string) => void {
  let buffered = '';
  return (text) => {
    buffered += text;
    const lines = buffered.split('\n');
    buffered = lines.pop() ?? '';
    for (const line of lines) if (line) mark(`drain container: ${line}`);
  };
}

/** The drain container's own output from your cluster, once it has started (kubectl logs -f, retried until then). */
function streamDrainLogs(c: ClusterClient): void {
  const sink = lineSink();
  const attempt = () => {
    const child = spawn('kubectl', [`--kubeconfig=${c.kubeconfig}`, '-n', ns, 'logs', '-f', 'datastore-2', '-c', 'drain'],
      { stdio: ['ignore', 'pipe', 'ignore'] });
    let any = false;
    child.stdout.on('data', (chunk: Buffer) => {
      any = true;
      sink(chunk.toString('utf8'));
    });
    child.on('exit', (code) => {
      if (code !== 0 && !any) setTimeout(attempt, 250);
    });
  };
  attempt();
}

/**
 * The drain container's own output on the local node: the kubelet's log file for it, read as it grows. A
 * quick drain is Succeeded and deleted (logs and all) within a second or two, sooner than `kubectl logs`
 * could attach; reading the file as it is written misses nothing.
 */
function followLocalLog(podLogsDir: string, podDir: string): void {
  const sink = lineSink();
  const file = path.join(podLogsDir, podDir, 'drain', '0.log');
  let offset = 0;
  const timer = setInterval(() => {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      return; // not written yet, or removed with the pod
    }
    // CRI log lines: "<time> <stream> <F|P> <text>"
    sink(text.slice(offset).replace(/^\S+ (stdout|stderr) [FP] /gm, ''));
    offset = text.length;
  }, 100);
  setTimeout(() => clearInterval(timer), 600_000).unref();
  timer.unref();
}

/** What the drains left in the archive: the files on the archive volume's disk, with their checksums. */
async function listArchive(c: ClusterClient): Promise<void> {
  const volume = (await c.core.readNamespacedPersistentVolumeClaim({ namespace: ns, name: 'datastore-archive' })).spec?.volumeName ?? '';
  const dir = (await c.core.readPersistentVolume({ name: volume })).spec?.hostPath?.path ?? '';
  console.log(`Archive contents (volume ${volume}, ${dir} on this machine):`);
  const walk = (at: string): string[] => readdirSync(at, { withFileTypes: true })
    .flatMap((e) => (e.isDirectory() ? walk(path.join(at, e.name)) : [path.join(at, e.name)]));
  for (const file of walk(dir).sort()) {
    const bytes = readFileSync(file);
    console.log(`    ${createHash('sha256').update(bytes).digest('hex').slice(0, 16)}  ${String(bytes.length).padStart(6)} ` +
      `B  ${path.relative(dir, file)}: ${bytes.toString('utf8').trim().slice(0, 60)}`);
  }
}

function indent(text: string): string {
  return text.trimEnd().split('\n').map((l) => `    ${l}`).join('\n') + '\n';
}

main().catch(async (err: unknown) => {
  console.error(`demo failed: ${err instanceof Error ? err.message : String(err)}`);
  if (controller) console.error(`controller logs: ${controller.logFile}`);
  await cleanup().catch(() => undefined);
  process.exit(1);
});
