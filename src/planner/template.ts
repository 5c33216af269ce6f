// Parsing and validating the drainer pod template annotation: pure, no API calls.
import type { V1PodSpec, V1StatefulSet } from '@kubernetes/client-node';
import { Ajv } from 'ajv';
import { parse as parseYaml } from 'yaml';
import { drainerTemplateSchema } from './template-schema.ts';
import { ROLE_DRAINER, ROLE_LABEL, SET_LABEL, TEMPLATE_ANNOTATION } from './keys.ts';
import { selectorMatches } from './label-selector.ts';
import { claimTemplateNames, ordinalOfName } from './identity.ts';

export interface DrainerTemplate {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  spec: V1PodSpec;
}

export type TemplateResult = { ok: true; template: DrainerTemplate } | { ok: false; problems: string[] };

const validate = new Ajv({ allErrors: true }).compile(drainerTemplateSchema);

/** Fields the controller sets itself; a template that sets them is refused rather than silently overridden. */
const controllerOwnedMetadata: Record<string, string> = {
  name: 'metadata.name is set by the controller (drain pods are named <set>-<ordinal>)',
  generateName: 'metadata.generateName is not allowed (drain pods are named <set>-<ordinal>)',
  namespace: 'metadata.namespace is not allowed: drain pods always run in the StatefulSet\'s namespace',
  ownerReferences: 'metadata.ownerReferences is not allowed: the controller owns drain pods',
  finalizers: 'metadata.finalizers is not allowed: a finalizer would keep drain pods (and their claims) forever',
};

function parseText(text: string): { value?: unknown; problem?: string } {
  // JSON, the documented form, first: JSON.parse is far cheaper than the YAML parser, and every
  // reconcile reads the template.
  try {
    return { value: JSON.parse(text) };
  } catch {
    // not JSON: YAML below
  }
  try {
    return { value: parseYaml(text, { maxAliasCount: 50 }) };
  } catch (err) {
    return { problem: `is neither valid JSON nor YAML: ${(err as Error).message.split('\n')[0]}` };
  }
}

/**
 * A template volume naming one of the set's own claims would mount it in every drain pod, a live replica's
 * included: the controller mounts the orphaned claims itself, by claim template name.
 */
function claimsOfTheSet(set: V1StatefulSet, spec: V1PodSpec): string[] {
  const setName = set.metadata?.name ?? '';
  return spec.volumes?.flatMap((volume) => {
    const claim = volume.persistentVolumeClaim?.claimName;
    if (claim === undefined) return [];
    const template = claimTemplateNames(set).find((t) => ordinalOfName(claim, `${t}-${setName}`) !== undefined);
    return template === undefined ? [] : [
      `spec.volumes ${volume.name} names claim ${claim}, a claim of this StatefulSet (template ${template}): drain pods may mount only ` +
        `the orphaned claims, which the controller adds under the claim template's name`,
    ];
  }) ?? [];
}

/** Reads the template annotation of a set and checks it against the schema and against the set itself. */
export function parseDrainerTemplate(set: V1StatefulSet): TemplateResult {
  const text = set.metadata?.annotations?.[TEMPLATE_ANNOTATION];
  if (text === undefined) return { ok: false, problems: [`annotation ${TEMPLATE_ANNOTATION} is missing`] };
  const parsed = parseText(text);
  if (parsed.problem) return { ok: false, problems: [`the template ${parsed.problem}`] };
  const value = parsed.value;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { ok: false, problems: ['the template must be a JSON object (a PodTemplateSpec with metadata and spec)'] };
  }
  const problems: string[] = [];
  const metadata = (value as { metadata?: Record<string, unknown> }).metadata;
  if (metadata && typeof metadata === 'object') {
    for (const [field, message] of Object.entries(controllerOwnedMetadata)) {
      if (field in metadata) problems.push(message);
    }
  }
  const restartPolicy = (value as { spec?: { restartPolicy?: unknown } }).spec?.restartPolicy;
  if (restartPolicy === 'Always') {
    problems.push('spec.restartPolicy Always is not allowed: such a pod never completes, so its claims could never be released ' +
      '(use OnFailure or Never)');
  }
  if (!validate(value)) {
    for (const error of validate.errors!) {
      const extraField = error.keyword === 'additionalProperties' ? String(error.params.additionalProperty) : '';
      // hasOwn, not `in`: a field named like an Object.prototype member ("constructor") is not controller-owned.
      if (error.instancePath === '/metadata' && Object.hasOwn(controllerOwnedMetadata, extraField)) continue;
      if (error.instancePath === '/spec/restartPolicy' && restartPolicy === 'Always') continue;
      const where = error.instancePath === '' ? 'template' : error.instancePath.slice(1).replaceAll('/', '.');
      const extra = extraField === '' ? '' : ` (${extraField})`;
      // Stryker disable next-line StringLiteral: equivalent, ajv always writes a message (its `messages` option is on).
      problems.push(`${where} ${error.message ?? 'is invalid'}${extra}`);
    }
  }
  if (problems.length === 0) problems.push(...claimsOfTheSet(set, (value as { spec: V1PodSpec }).spec));
  if (problems.length > 0) return { ok: false, problems };
  const typed = value as { metadata?: { labels?: Record<string, string>; annotations?: Record<string, string> }; spec: V1PodSpec };
  const template: DrainerTemplate = {
    labels: typed.metadata?.labels ?? {},
    annotations: typed.metadata?.annotations ?? {},
    spec: typed.spec,
  };
  const finalLabels = { ...template.labels, [ROLE_LABEL]: ROLE_DRAINER, [SET_LABEL]: set.metadata?.name ?? '' };
  // Stryker disable next-line OptionalChaining: equivalent, every StatefulSet the API serves has a spec.
  if (selectorMatches(set.spec?.selector, finalLabels)) {
    return {
      ok: false,
      problems: ['the template\'s labels match the StatefulSet\'s selector: the StatefulSet controller would adopt the drain pod; use ' +
        'labels outside the selector'],
    };
  }
  return { ok: true, template };
}
