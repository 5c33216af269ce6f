// Which failed requests are worth sending again, and when: client-go's rules for transient failures.
import { ApiError } from './http-client.ts';
import { exponentialBackoffMs } from '../backoff.ts';

export interface RetryPolicy {
  /** Attempts in all, the first included. */
  attempts: number;
  baseMs: number;
  maxMs: number;
  /** The longest Retry-After honoured; a server asking for more gets the request failed to the caller. */
  maxRetryAfterMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { attempts: 5, baseMs: 200, maxMs: 5_000, maxRetryAfterMs: 30_000 };

/**
 * Verbs whose request may be sent twice without doing twice what it does: reads, and the writes this
 * project makes, which all carry a UID or resourceVersion precondition (a repeat answers 404 or 409, which
 * the caller already reads as "done" or "re-plan"). A create that may have landed is never repeated: the
 * next reconcile sees whether it did.
 */
const IDEMPOTENT = new Set(['get', 'list', 'delete', 'patch', 'update']);

/**
 * 429 (API Priority and Fairness, or a webhook's limit) means the server did not process the request, so
 * any verb may retry it. 5xx and broken connections (code 0) retry only idempotent verbs.
 */
export function retryable(verb: string, err: unknown): boolean {
  // Stryker disable next-line ConditionalExpression: any other error has no code, so the lines below answer false too.
  if (!(err instanceof ApiError)) return false;
  if (err.code === 429) return true;
  return IDEMPOTENT.has(verb) && (err.code === 0 || err.code === 500 || err.code === 502 || err.code === 503 || err.code === 504);
}

/** The wait before attempt `attempt + 1`: the server's Retry-After if it sent one, else full-jitter exponential backoff. */
export function retryDelayMs(attempt: number, err: unknown, policy: RetryPolicy, random = Math.random): number | undefined {
  const asked = err instanceof ApiError ? err.retryAfterMs : undefined;
  if (asked !== undefined) return asked <= policy.maxRetryAfterMs ? asked : undefined;
  return Math.round(random() * exponentialBackoffMs(attempt, policy.baseMs, policy.maxMs));
}
