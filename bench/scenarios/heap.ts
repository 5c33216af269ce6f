// A heap snapshot of the running controller (started with heapSnapshotFlags), summarised by bench/heap-profile.ts.
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { RunningController } from '../../local-cluster/controller-process.ts';
import { waitFor } from '../../local-cluster/processes.ts';
import { heapProfile, type HeapProfile } from '../heap-profile.ts';

/** Node.js flags that let the benchmark ask for a snapshot (SIGUSR2) and say where it is written; they cost nothing until then. */
export function heapSnapshotFlags(): { flags: string[]; dir: string } {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'sdc-heap-'));
  return { flags: ['--heapsnapshot-signal=SIGUSR2', `--diagnostic-dir=${dir}`], dir };
}

/** Undefined (and said why) when the snapshot cannot be read whole (a JavaScript string holds at most ~512 MiB). */
export async function profileHeap(controller: RunningController, dir: string,
    log: (text: string) => void): Promise<HeapProfile | undefined> {
  controller.process.kill('SIGUSR2');
  // Written synchronously by the controller's main thread: complete once the controller answers again.
  const file = await waitFor('the heap snapshot', async () => readdirSync(dir).find((f) => f.endsWith('.heapsnapshot')), 300_000, 500);
  let size = -1;
  await waitFor('the heap snapshot to be complete', async () => {
    const now = statSync(path.join(dir, file)).size;
    const stable = now === size && (await controller.metrics().then(() => true, () => false));
    size = now;
    return stable || undefined;
  }, 600_000, 1000);
  try {
    return heapProfile(path.join(dir, file));
  } catch (err) {
    log(`the heap snapshot (${(size / 2 ** 20).toFixed(0)} MiB) could not be summarised: ${String(err)}`);
    return undefined;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
