// Loads an example manifest and, for the local control plane, adds the drain-sim annotations to its
// drainer template (kwok runs no containers, so the simulated drain must be told when to finish).
import { readFileSync } from 'node:fs';
import { parse, parseAllDocuments } from 'yaml';
import { TEMPLATE_ANNOTATION } from './workloads.ts';

type Doc = { kind?: string; metadata?: { annotations?: Record<string, string> } };

export function exampleWithSimulatedDrain(file: string, completeAfter: string): string {
  const docs = parseAllDocuments(readFileSync(file, 'utf8')).map((d) => d.toJS() as Doc).filter(Boolean);
  for (const doc of docs) {
    const text = doc.kind === 'StatefulSet' ? doc.metadata?.annotations?.[TEMPLATE_ANNOTATION] : undefined;
    if (!text) continue;
    const template = parse(text) as { metadata?: { annotations?: Record<string, string> } };
    template.metadata = { ...template.metadata,
      annotations: { ...template.metadata?.annotations, 'drain-sim/complete-after': completeAfter } };
    doc.metadata!.annotations![TEMPLATE_ANNOTATION] = JSON.stringify(template);
  }
  return JSON.stringify({ apiVersion: 'v1', kind: 'List', items: docs });
}
