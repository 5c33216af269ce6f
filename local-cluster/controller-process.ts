// Runs the real controller binary (src/cli/main.ts on the project's Node.js) as a child process.
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, waitFor } from './processes.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

export interface RunningController {
  process: ChildProcess;
  logFile: string;
  httpPort: number;
  logs(): string;
  /** Parsed JSON log lines. */
  entries(): Array<Record<string, unknown>>;
  metrics(): Promise<string>;
  stop(signal?: NodeJS.Signals): Promise<void>;
}

/**
 * V8 flags the image runs the controller with (Dockerfile ENTRYPOINT; test/unit/dockerfile.test.ts keeps
 * the two equal). A 2 MiB young generation instead of V8's default of up to 16 MiB per semi-space: the
 * controller allocates little once synced, and the default keeps ~40 MiB of RSS for nothing.
 * `--optimize-for-size`: V8 grows the heap less and collects sooner; after the initial sync of 10,000 sets
 * it held 88 MiB of heap instead of 97-140 (most of it the sync's garbage), 176 MiB of RSS instead of 217-227.
 */
export const NODE_FLAGS = ['--max-semi-space-size=2', '--optimize-for-size'];

/**
 * glibc malloc settings the image sets (Dockerfile ENV; test/unit/dockerfile.test.ts keeps the two equal).
 * One arena instead of one per thread, and buffers of 64 KiB or more mapped on their own and given back
 * when freed: after a 10,000-set sync, 16 MiB less RSS (bench/README.md, "Memory"). The controller's
 * allocations happen on the main thread; the other threads (libuv, V8's GC helpers) allocate little.
 */
export const IMAGE_ENV: Record<string, string> = {
  MALLOC_ARENA_MAX: '1', MALLOC_MMAP_THRESHOLD_: '65536', MALLOC_TRIM_THRESHOLD_: '65536',
};

/**
 * Starts the controller. `compiled` runs the bundle the image ships (dist/bundle/main.mjs, `npm run build`) instead
 * of the TypeScript sources; the benchmark uses it so that memory and latency are those of production.
 */
export async function startController(kubeconfig: string, args: string[],
  options: { waitReady?: boolean; readyTimeoutMs?: number; compiled?: boolean; nodeFlags?: string[];
      env?: Record<string, string> } = {}): Promise<RunningController> {
  const httpPort = await freePort();
  const logFile = path.join(mkdtempSync(path.join(os.tmpdir(), 'sdc-controller-')), 'controller.log');
  const fd = openSync(logFile, 'a');
  const entry = options.compiled ? path.join(root, 'dist', 'bundle', 'main.mjs') : path.join(root, 'src', 'cli', 'main.ts');
  const child = spawn(process.execPath, [...NODE_FLAGS, ...(options.nodeFlags ?? []), entry, 'run', `--kubeconfig=${kubeconfig}`,
    `--http-address=127.0.0.1:${httpPort}`, '--log-level=debug', ...args], {
    stdio: ['ignore', fd, fd], env: { ...process.env, ...IMAGE_ENV, ...options.env },
  });
  closeSync(fd);
  // If the test runner dies, its controllers must not live on.
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  const exited = new Promise<void>((resolve) => child.once('exit', () => {
    process.off('exit', killOnExit);
    resolve();
  }));
  const controller: RunningController = {
    process: child,
    logFile,
    httpPort,
    logs: () => readFileSync(logFile, 'utf8'),
    entries: () => controller.logs().split('\n').flatMap((line) => {
      try {
        return [JSON.parse(line) as Record<string, unknown>];
      } catch {
        return [];
      }
    }),
    metrics: async () => (await fetch(`http://127.0.0.1:${httpPort}/metrics`)).text(),
    stop: async (signal = 'SIGTERM') => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      await exited;
    },
  };
  if (options.waitReady !== false) {
    await waitFor('controller /readyz', async () => {
      if (child.exitCode !== null) throw new Error(`controller exited: ${controller.logs()}`);
      const res = await fetch(`http://127.0.0.1:${httpPort}/readyz`).catch(() => undefined);
      return res?.status === 200 ? true : undefined;
    }, options.readyTimeoutMs ?? 30_000);
  }
  return controller;
}
