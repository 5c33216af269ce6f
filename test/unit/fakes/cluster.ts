// In-memory stand-ins for the controller's seams: the cluster view it reads, the writer it hands plans to,
// and the API calls the executor and leader election make.
import { Writable } from 'node:stream';
import winston from 'winston';
import type { V1PersistentVolumeClaim, V1Pod, V1StatefulSet } from '@kubernetes/client-node';
import type { ActionWriter, ClusterView } from '../../../src/controller/controller.ts';
import { ApiError } from '../../../src/kube/http-client.ts';
import type { Action } from '../../../src/planner/types.ts';
import { createLogger, type Logger } from '../../../src/log.ts';

/** A logger that writes nothing, for tests whose failures are expected. */
export function quietLogger(): Logger {
  const log = createLogger('debug');
  log.silent = true;
  return log;
}

/** A logger that keeps what it is told, for tests of what an operator reads in the logs. */
export function recordingLogger(): Logger & { lines: Array<{ level: string; message: string; meta: Record<string, unknown> }> } {
  const lines: Array<{ level: string; message: string; meta: Record<string, unknown> }> = [];
  const log = createLogger('debug');
  log.clear();
  log.add(new winston.transports.Stream({ stream: new Writable({ objectMode: true, write: (info: Record<string, unknown>, _, done) => {
    const { level, message, ...meta } = info;
    lines.push({ level: String(level), message: String(message), meta });
    done();
  } }) }));
  return Object.assign(log, { lines });
}

export const emptyQueue = () => ({ depth: 0, unfinishedWorkSeconds: 0, longestRunningSeconds: 0 });

export function apiError(code: number, message = `HTTP ${code}`): ApiError {
  return new ApiError(code, message);
}

export class FakeView implements ClusterView {
  readonly sets = new Map<string, V1StatefulSet>();
  claims: V1PersistentVolumeClaim[] = [];
  pods: V1Pod[] = [];
  synced = true;

  add(set: V1StatefulSet, claims: V1PersistentVolumeClaim[] = [], pods: V1Pod[] = []): string {
    const key = `${set.metadata!.namespace}/${set.metadata!.name}`;
    this.sets.set(key, set);
    this.claims.push(...claims);
    this.pods.push(...pods);
    return key;
  }

  async start(): Promise<void> {}
  async stop(): Promise<void> {}
  hasSynced(): boolean {
    return this.synced;
  }
  setKeys(): string[] {
    return [...this.sets.keys()];
  }
  silentFor = 0;
  silentSeconds(): number {
    return this.silentFor;
  }
  getSet(key: string): V1StatefulSet | undefined {
    return this.sets.get(key);
  }
  claimsFor(): V1PersistentVolumeClaim[] {
    return this.claims;
  }
  podsFor(): V1Pod[] {
    return this.pods;
  }
}

export class FakeWriter implements ActionWriter {
  readonly executed: Action[][] = [];
  /** Called with each plan; may throw to fail the reconcile. */
  onExecute: (actions: Action[]) => void = () => {};

  async execute(_set: V1StatefulSet, actions: Action[]): Promise<void> {
    this.executed.push(actions);
    this.onExecute(actions);
  }

  kinds(): string[][] {
    return this.executed.map((plan) => plan.map((a) => a.kind));
  }
}
