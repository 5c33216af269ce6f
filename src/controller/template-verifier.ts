// The API server's verdict on a drainer template (the planner's VerifyTemplate action): a server-side dry-run
// create of a sample drain pod, so admission (Pod Security, quotas' shape checks, webhooks) is consulted
// before any real drain. Verdicts are kept per set and template, and come back in the next observation.
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

/** Asks the API server to admit `pod` without creating it. Outages and the controller's own RBAC refusal are thrown. */
export async function dryRunVerdict(api: Pick<KubeApi, 'createPod'>, pod: V1Pod): Promise<TemplateVerdict> {
  try {
    await api.createPod(pod, true);
    return { state: 'accepted' };
  } catch (err) {
    const status = statusOf(err);
    const message = describeApiError(err);
    // RBAC refusing the controller itself is an installation problem, not the template's: fail loudly.
    if (status === 403 && message.includes('cannot create resource')) throw err;
    if (status === 400 || status === 403 || status === 422) return { state: 'rejected', problem: `the API server rejects the drain pod: ${message}` };
    throw err;
  }
}
