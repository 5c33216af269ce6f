// A process's resident memory, split by kind; read from /proc (Linux).
import { readFileSync } from 'node:fs';

/**
 * RSS split in two (/proc/<pid>/smaps_rollup): anonymous memory (heaps, stacks: the process's own, what
 * grows with the cache) and file-backed pages (mostly the node binary's code and read-only data, shared
 * with every process that maps the same file and dropped first under memory pressure).
 */
export function memorySplit(pid: number): { rssMB: number; anonMB: number; fileMB: number } {
  const text = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
  const kB = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? NaN);
  const rss = kB('Rss');
  const anon = kB('Anonymous');
  return { rssMB: rss / 1024, anonMB: anon / 1024, fileMB: (rss - anon) / 1024 };
}
