// `npm run demo`: the whole story on a local control plane (or, with --kubeconfig, on your cluster):
// an annotated StatefulSet, `kubectl scale`, the drain pod running and completing, the claim released.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { clusterClient, type ClusterClient } from '../local-cluster/cluster-client.ts';
import { startControlPlane, stopControlPlane, type ControlPlane } from '../local-cluster/control-plane.ts';
import { startController, type RunningController } from '../local-cluster/controller-process.ts';
import { exampleWithSimulatedDrain } from '../local-cluster/examples.ts';
import { ROLE_DRAINER, ROLE_LABEL } from '../src/planner/keys.ts';
import { readFileSync } from 'node:fs';
import { Watch, type V1PersistentVolumeClaim, type V1Pod } from '@kubernetes/client-node';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const example = path.join(root, 'examples', 'datastore', 'statefulset.yaml');
const { values: args } = parseArgs({ options: { kubeconfig: { type: 'string' }, namespace: { type: 'string', default: 'drain-demo' } } });
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
    await c.kubectl(['-n', 'statefulset-drain-controller', 'rollout', 'status', 'deployment/statefulset-drain-controller', '--timeout=180s']);
  } else {
    say('starting a local control plane (etcd, kube-apiserver, kube-controller-manager, kube-scheduler, kwok)');
    say('the first run builds it from the Kubernetes Go modules: about 10 minutes on 2 cores, then cached');
    cp = await startControlPlane({ log: (line) => say(line) });
    c = clusterClient(cp.kubeconfig);
  }
  process.on('SIGINT', () => void cleanup(c).then(() => process.exit(130)));
  await c.kubectl(['create', 'namespace', ns]).catch(() => '');
  if (cp) {
    controller = await startController(cp.kubeconfig, [`--namespaces=${ns}`, `--leader-election-namespace=${ns}`]);
    say(`controller running (logs: ${controller.logFile})`);
  }
  const manifest = cp ? exampleWithSimulatedDrain(example, '5s') : readFileSync(example, 'utf8');
  say(`kubectl apply -f examples/datastore/statefulset.yaml${cp ? '   (kwok simulates a 5s drain)' : ''}`);
  await c.kubectl(['-n', ns, 'apply', '-f', '-'], manifest);
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
    if (seen.has('claim-gone') && seen.has('drain-gone')) finish();
  };
  const podWatch = await watch.watch(`/api/v1/namespaces/${ns}/pods`, {}, (type, pod: V1Pod) => {
    if (pod.metadata?.name !== 'datastore-2') return;
    const isDrain = pod.metadata?.labels?.[ROLE_LABEL] === ROLE_DRAINER;
    if (!isDrain && pod.metadata?.deletionTimestamp) once('terminating', 'stateful pod datastore-2 is terminating (the StatefulSet controller removes the highest replica)');
    if (!isDrain && type === 'DELETED') once('gone', 'stateful pod datastore-2 is gone; its claim data-datastore-2 stays behind');
    if (isDrain && type === 'ADDED') once('drain-created', 'drain pod datastore-2 created, mounting data-datastore-2');
    if (isDrain && type !== 'DELETED' && pod.status?.phase && pod.status.phase !== 'Pending') once(`drain-${pod.status.phase}`, `drain pod datastore-2 is ${pod.status.phase}`);
    if (isDrain && type === 'DELETED') once('drain-gone', 'drain pod datastore-2 deleted');
    check();
  }, () => {});
  const claimWatch = await watch.watch(`/api/v1/namespaces/${ns}/persistentvolumeclaims`, {}, (type, claim: V1PersistentVolumeClaim) => {
    if (claim.metadata?.name !== 'data-datastore-2') return;
    if (claim.metadata?.deletionTimestamp && type !== 'DELETED') once('claim-deleting', 'claim data-datastore-2 deleted (UID precondition); Kubernetes removes it once the drain pod lets go');
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
  await cleanup(c);
  console.log(cp ? '\nlocal control plane stopped.' : `\nnamespace ${ns} deleted; the controller stays installed (kubectl delete -k manifests/cluster-wide removes it).`);
  // Idle keep-alive connections of the API client would otherwise hold the process open for a while.
  process.exit(0);
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
