// The faults a batch draws at random, each one what a production cluster does to a controller sooner or later.
import type { ClusterClient } from '../../local-cluster/cluster-client.ts';
import { addFakeNode, startComponent, stopComponent, type ControlPlane } from '../../local-cluster/control-plane.ts';
import type { FaultProxy, Fault as ProxyFault } from '../../local-cluster/fault-proxy.ts';
import { sleep } from '../../local-cluster/processes.ts';
import { ROLE_LABEL } from '../../src/planner/keys.ts';
import type { Replicas } from './replicas.ts';

export const FAULTS = [
  'kill-controller', 'pause-controller', 'restart-apiserver', 'restart-etcd', 'api-faults', 'node-loss', 'oom-kill', 'clock-jump',
] as const;
export type FaultKind = typeof FAULTS[number];

/** What the proxy injects during an api-faults step, each as likely as the others. */
const API_FAULTS: ProxyFault[] = [
  { kind: 'status', code: 429, retryAfterSeconds: 1 }, { kind: 'status', code: 500 }, { kind: 'status', code: 503 },
  { kind: 'reset' }, { kind: 'delay', ms: 500 },
];
/** Wall-clock offsets a replica may jump to: a minute behind (certificates stay valid) to ten minutes ahead. */
const CLOCK_RANGE = { behind: 60, ahead: 600 };

export interface FaultContext {
  cp: ControlPlane;
  c: ClusterClient;
  proxy: FaultProxy;
  replicas: Replicas;
  random: () => number;
  /** Namespaces of the batch's worlds. */
  namespaces: string[];
  log: (line: string) => void;
}

let replacementNodes = 0;

/** Removes a node, preferring one that runs a drain pod, and adds a new one in its place. */
async function loseNode(ctx: FaultContext): Promise<void> {
  const drains = (await Promise.all(ctx.namespaces.map(async (namespace) =>
    (await ctx.c.core.listNamespacedPod({ namespace, labelSelector: ROLE_LABEL })).items))).flat();
  const running = drains.filter((p) => p.spec?.nodeName && p.status?.phase === 'Running');
  const nodes = (await ctx.c.core.listNode()).items.map((n) => n.metadata!.name!);
  const victim = running.length > 0 ? running[Math.floor(ctx.random() * running.length)]!.spec!.nodeName!
    : nodes[Math.floor(ctx.random() * nodes.length)]!;
  ctx.log(`    node-loss: ${victim} (drain pods running ` +
    `there: ${running.filter((p) => p.spec?.nodeName === victim).map((p) => p.metadata?.name).join(', ') || 'none'})`);
  // The pod garbage collector force-deletes the pods bound to a node that no longer exists.
  await ctx.c.core.deleteNode({ name: victim });
  await sleep(1000 + ctx.random() * 2000);
  await addFakeNode(ctx.cp, `kwok-node-r${++replacementNodes}`);
}

/**
 * Injects `fault` and waits until it is over (a restarted component or replica, a healed proxy). False when
 * it had no effect: the squeezed leader never reached its limit, or this machine cannot jump a clock.
 */
export async function inject(fault: FaultKind, ctx: FaultContext): Promise<boolean> {
  const { replicas, random } = ctx;
  const i = Math.floor(random() * 2);
  switch (fault) {
    case 'kill-controller':
      await replicas.kill(i);
      await sleep(random() * 3000);
      await replicas.start(i);
      return true;
    case 'pause-controller':
      // Paused for longer than the lease: the other replica must take over, this one must not act on waking.
      replicas.pause(i);
      await sleep(5000 + random() * 2000);
      replicas.resume(i);
      return true;
    case 'api-faults':
      // A bad spell: a third of all requests fail or stall, and the watches open now go silent.
      ctx.proxy.randomFaults = { rate: 0.3, faults: API_FAULTS, random };
      ctx.proxy.silenceOpenWatches();
      await sleep(4000 + random() * 4000);
      ctx.proxy.randomFaults = undefined;
      return true;
    case 'restart-apiserver':
    case 'restart-etcd': {
      const component = fault === 'restart-apiserver' ? 'kube-apiserver' : 'etcd';
      await stopComponent(ctx.cp, component, 2000);
      await sleep(random() * 2000);
      await startComponent(ctx.cp, component);
      return true;
    }
    case 'node-loss':
      await loseNode(ctx);
      return true;
    case 'oom-kill': {
      // The kernel's OOM killer, as for a container at its memory limit, on the replica doing the work, when
      // memory peaks: its watches go silent, so it re-lists everything. Then a restart, as the kubelet does.
      const leader = await replicas.leader();
      const squeezed = replicas.squeezeMemory(leader, 15_000);
      ctx.proxy.silenceOpenWatches();
      const killed = await squeezed;
      ctx.log(`    oom-kill: replica ${leader} ${killed ? 'killed by the OOM killer' : 'stayed within its usage for 15 s (limit lifted)'}`);
      if (killed) {
        await sleep(random() * 2000);
        await replicas.start(leader);
      }
      return killed;
    }
    case 'clock-jump': {
      const to = Math.round(-CLOCK_RANGE.behind + random() * (CLOCK_RANGE.behind + CLOCK_RANGE.ahead));
      const jumped = replicas.jumpClock(i, to - replicas.clockOffsets[i]!);
      ctx.log(`    clock-jump: ` +
        `replica ${i} ${jumped ? `now ${to >= 0 ? '+' : ''}${to}s off` : 'not jumped: libfaketime is not installed'}`);
      return jumped;
    }
  }
}
