// The fault suite's ledger: one JSON line per run (a world of a batch), committed, so that runs add up
// across sessions and any of them can be replayed from its batch seed.
import { execFileSync } from 'node:child_process';
import { appendFileSync, existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const LEDGER = path.join(path.dirname(fileURLToPath(import.meta.url)), 'ledger.jsonl');

export interface LedgerEntry {
  /** When the batch started (ISO 8601). */
  date: string;
  /** The commit that ran, with `-dirty` when the working tree had changes. */
  commit: string;
  /** Replays the whole batch: npm run test:faults -- --seed <batchSeed> --worlds <worlds> --steps <steps>. */
  batchSeed: number;
  worlds: number;
  world: number;
  /** This world's own seed (its scaling). */
  seed: number;
  steps: number;
  /** The faults of the batch, which every world shared, by kind. */
  faults: Record<string, number>;
  /**
   * Faults drawn that had no effect, by kind, not counted in `faults`: an oom-kill whose leader stayed under
   * its limit, a clock-jump on a machine without libfaketime. Absent in entries written before it was kept.
   */
  faultsWithoutEffect?: Record<string, number>;
  /** What the fault-injecting proxy injected during api-faults steps, by kind. */
  proxyFaults: Record<string, number>;
  drainsCompleted: number;
  claimsReleased: number;
  violations: string[];
  /**
   * Writes that landed after a scale-up brought their ordinal back, decided on the controller's quorum read of
   * the set made just before that scale-up (invariants.ts: not a violation; absent before 2026-12-03).
   */
  overtaken?: string[];
  /** Seconds from the batch's last fault until this world had drained every orphan. */
  recoverySeconds: number | null;
  /** Set when the run could not be carried out or checked (the control plane failed, a world never converged). */
  error?: string;
  /**
   * Added by hand, after the fact, when a batch says nothing about the controller (the machine itself
   * failed); such entries stay in the ledger and are shown, apart, in the summary.
   */
  note?: string;
}

export function currentCommit(): string {
  try {
    const root = path.resolve(path.dirname(LEDGER), '..', '..');
    const head = execFileSync('git', ['rev-parse', '--short=12', 'HEAD'], { cwd: root, encoding: 'utf8' }).trim();
    // The ledger itself changes with every batch; it says nothing about the code that ran.
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no', '--', '.',
      `:(exclude)${path.relative(root, LEDGER)}`], { cwd: root, encoding: 'utf8' }).trim() !== '';
    return dirty ? `${head}-dirty` : head;
  } catch {
    return 'unknown';
  }
}

export function appendToLedger(entries: LedgerEntry[], file = LEDGER): void {
  appendFileSync(file, entries.map((e) => `${JSON.stringify(e)}\n`).join(''));
}

export function readLedger(file = LEDGER): LedgerEntry[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8').split('\n').filter(Boolean).map((line) => JSON.parse(line) as LedgerEntry);
}

/** A run fails if it broke an invariant or could not be completed. */
export const failed = (e: LedgerEntry) => e.violations.length > 0 || e.error !== undefined;
