// Measurements taken around a scenario: CPU per process, and the API server's latency for everyone else.
import { readFileSync } from 'node:fs';
import type { ClusterClient } from '../local-cluster/cluster-client.ts';
import { sleep } from './common.ts';

/** CPU seconds (user + system) a process has used so far, from /proc (Linux). */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks (100 Hz)
}

/** CPU seconds each process used while `during` ran: what the machine's 2 cores went to. */
export async function cpuUse<T>(pids: Record<string, number>, during: () => Promise<T>): Promise<{ result: T;
    cpuSeconds: Record<string, number>; wallSeconds: number }> {
  const before = Object.fromEntries(Object.entries(pids).map(([name, pid]) => [name, cpuSeconds(pid)]));
  const start = performance.now();
  const result = await during();
  const wallSeconds = (performance.now() - start) / 1000;
  const used = Object.fromEntries(Object.entries(pids).map(([name, pid]) => [name, Number((cpuSeconds(pid) - before[name]!).toFixed(2))]));
  return { result, cpuSeconds: used, wallSeconds };
}

/** Latency of a small GET every 100 ms while `during` runs: how the API server fares for everyone else. */
export async function probeApiServer<T>(c: ClusterClient, during: () => Promise<T>): Promise<{ result: T; latencyMs: number[] }> {
  const latencyMs: number[] = [];
  let running = true;
  const probing = (async () => {
    while (running) {
      const start = performance.now();
      await c.core.readNamespace({ name: 'default' });
      latencyMs.push(performance.now() - start);
      await sleep(100);
    }
  })();
  try {
    return { result: await during(), latencyMs };
  } finally {
    running = false;
    await probing;
  }
}

