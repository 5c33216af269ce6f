// What a (re)start costs: the start-up writes, the time until the controller is idle, and memory once synced.
import type { RunningController } from '../../local-cluster/controller-process.ts';
import { sleep } from '../common.ts';
import { memorySplit } from '../memory-split.ts';
import { metricValue, requestCounts } from '../prometheus.ts';

/**
 * Waits until the controller's start-up work is done (it leads, the queue is empty and it has sent nothing
 * but lease renewals for 3 s): on its first start in a cluster it adds its finalizer to every managed set. Returns
 * the seconds that took and the writes it made.
 */
export async function startupWork(controller: RunningController): Promise<{ seconds: number; requests: Record<string, number> }> {
  const start = performance.now();
  // Only the leader works: wait for the lease before judging the queue.
  while (metricValue(await controller.metrics(), 'sdc_leader') !== 1) await sleep(200);
  const busy = (text: string) => Object.entries(requestCounts(text)).filter(([k]) => !k.endsWith('leases'))
    .reduce((sum, [, v]) => sum + v, 0);
  let last = -1;
  let text = '';
  for (;;) {
    text = await controller.metrics();
    if (metricValue(text, 'sdc_queue_depth') === 0 && busy(text) === last) break;
    last = busy(text);
    await sleep(3000);
  }
  const requests = Object.fromEntries(Object.entries(requestCounts(text)).filter(([k]) => !k.endsWith('leases')));
  return { seconds: (performance.now() - start) / 1000 - 3, requests };
}

export interface ControllerMemory { rssMB: number; anonMB: number; fileMB: number; heapMB: number; syncMs: number }

/** Memory once the initial sync and the first reconcile of every set are over (after the idle window). */
export async function memoryAfterSync(controller: RunningController, idleSeconds: number): Promise<ControllerMemory> {
  await sleep(idleSeconds * 1000);
  const text = await controller.metrics();
  const synced = controller.entries().find((e) => e.message === 'caches synced');
  return {
    ...memorySplit(controller.process.pid!),
    heapMB: metricValue(text, 'nodejs_heap_size_used_bytes') / 2 ** 20,
    syncMs: Number(synced?.ms ?? NaN),
  };
}
