import type { V1LabelSelector } from '@kubernetes/client-node';

export type Labels = Record<string, string> | undefined;

/** Kubernetes label selector semantics; an empty selector matches everything. */
export function selectorMatches(selector: V1LabelSelector | undefined, labels: Labels): boolean {
  const have = labels ?? {};
  for (const [key, value] of Object.entries(selector?.matchLabels ?? {})) {
    if (have[key] !== value) return false;
  }
  for (const expr of selector?.matchExpressions ?? []) {
    const present = Object.hasOwn(have, expr.key);
    const value = have[expr.key];
    switch (expr.operator) {
      case 'In':
        // Stryker disable next-line ArrayDeclaration: equivalent, the API requires values for In and NotIn (the fallback is for the type).
        if (!present || !(expr.values ?? []).includes(value!)) return false;
        break;
      case 'NotIn':
        // Stryker disable next-line ArrayDeclaration: as for In.
        if (present && (expr.values ?? []).includes(value!)) return false;
        break;
      case 'Exists':
        if (!present) return false;
        break;
      case 'DoesNotExist':
        if (present) return false;
        break;
      default:
        return false;
    }
  }
  return true;
}

/** True when every label of `subset` is present with the same value in `labels`. */
export function hasLabels(labels: Labels, subset: Record<string, string>): boolean {
  return Object.entries(subset).every(([k, v]) => labels?.[k] === v);
}
