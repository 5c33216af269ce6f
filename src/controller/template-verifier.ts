// The API server's verdict on a drainer template: for a new or changed template a server-side dry-run create
// of a sample drain pod (the planner's VerifyTemplate action), so admission (Pod Security, quotas' shape
// checks, webhooks) is consulted before any real drain; for one found at start-up, the answer to its first
// real drain pod. Verdicts are kept per set and template, and come back in the next observation.
import type { V1Pod } from '@kubernetes/client-node';
import type { TemplateVerdict } from '../planner/types.ts';
import { describeApiError, statusOf, type KubeApi } from '../kube/api.ts';

export class TemplateVerdicts {
  private readonly verdicts = new Map<string, { hash: string; verdict: TemplateVerdict }>();

  /** The verdict for the set's current template, or undefined if it was never asked about. */
  get(key: string, hash: string): TemplateVerdict | undefined {
    const entry = this.verdicts.get(key);
    return entry?.hash === hash ? entry.verdict : undefined;
  }

  set(key: string, hash: string, verdict: TemplateVerdict): void {
    this.verdicts.set(key, { hash, verdict });
  }

  forget(key: string): void {
    this.verdicts.delete(key);
  }
}

/**
 * The verdict a failed create of a drain pod carries: the template's rejection (invalid, or refused by
 * admission), or undefined for anything else (outages, and RBAC refusing the controller itself, which is
 * an installation problem, not the template's: those fail loudly).
 */
export function refusal(err: unknown): TemplateVerdict | undefined {
  const status = statusOf(err);
  const message = describeApiError(err);
  if (status === 403 && message.includes('cannot create resource')) return undefined;
  if (status === 400 || status === 403 || status === 422)
    return { state: 'rejected', problem: `the API server rejects the drain pod: ${message}` };
  return undefined;
}

/** Asks the API server to admit `pod` without creating it. */
export async function dryRunVerdict(api: Pick<KubeApi, 'createPod'>, pod: V1Pod): Promise<TemplateVerdict> {
  try {
    await api.createPod(pod, true);
    return { state: 'accepted' };
  } catch (err) {
    const verdict = refusal(err);
    if (!verdict) throw err;
    return verdict;
  }
}
