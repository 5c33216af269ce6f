// The API server's verdict on a drainer template: a server-side dry-run create of a sample drain pod,
// so admission (Pod Security, quotas' shape checks, webhooks) is consulted before any real drain.
import { createHash } from 'node:crypto';
import type { V1PersistentVolumeClaim, V1StatefulSet } from '@kubernetes/client-node';
import { buildDrainPod } from '../planner/drain-pod.ts';
import { claimName, claimTemplateNames, ordinalRange } from '../planner/identity.ts';
import { TEMPLATE_ANNOTATION } from '../planner/keys.ts';
import type { TemplateResult } from '../planner/template.ts';
import { describeApiError, statusOf, type KubeApi } from './api.ts';

export class TemplateVerifier {
  /** Verdicts by set key, with a hash of the set UID and template: a template is checked again only when it changes. */
  private readonly verdicts = new Map<string, { hash: string; problem?: string }>();
  private readonly api: KubeApi;

  constructor(api: KubeApi) {
    this.api = api;
  }

  async verify(key: string, set: V1StatefulSet, parsed: TemplateResult): Promise<TemplateResult> {
    if (!parsed.ok) return parsed;
    const hash = createHash('sha256').update(set.metadata?.uid ?? '').update(set.metadata?.annotations?.[TEMPLATE_ANNOTATION] ?? '')
      .update(JSON.stringify(set.spec?.volumeClaimTemplates?.map((t) => t.metadata?.name))).digest('hex');
    let verdict = this.verdicts.get(key);
    if (verdict?.hash !== hash) {
      verdict = { hash, problem: await this.dryRun(set, parsed) };
      this.verdicts.set(key, verdict);
    }
    return verdict.problem ? { ok: false, problems: [verdict.problem] } : parsed;
  }

  forget(key: string): void {
    this.verdicts.delete(key);
  }

  private async dryRun(set: V1StatefulSet, parsed: Extract<TemplateResult, { ok: true }>): Promise<string | undefined> {
    const ordinal = ordinalRange(set).end;
    const claims = new Map<string, V1PersistentVolumeClaim>(claimTemplateNames(set).map((t) => [t, {
      metadata: { name: claimName(t, set.metadata?.name ?? '', ordinal), uid: 'dry-run' },
    }]));
    const pod = buildDrainPod({ set, template: parsed.template, ordinal, claims, attempt: 1, retryToken: '' });
    // A distinct name, so the check never collides with a real pod of that ordinal.
    pod.metadata!.name = `${pod.metadata!.name}-template-check`;
    try {
      await this.api.createPod(pod, true);
      return undefined;
    } catch (err) {
      const status = statusOf(err);
      // Only the API server's refusal of the object is a template problem; outages are retried.
      const message = describeApiError(err);
      // RBAC refusing the controller itself is an installation problem, not the template's: fail loudly.
      if (status === 403 && message.includes('cannot create resource')) throw err;
      if (status === 400 || status === 403 || status === 422) return `the API server rejects the drain pod: ${message}`;
      throw err;
    }
  }
}
