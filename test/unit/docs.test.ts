// The documentation can be followed: every relative link resolves, and every flag of `run` and every event
// reason is in the reference.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import { addRunOptions } from '../../src/cli/options.ts';
import { EVENT_REASONS } from '../../src/planner/types.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const documents = [
  'README.md', 'ARCHITECTURE.md', 'bench/README.md', 'test/faults/README.md', 'examples/README.md',
  ...readdirSync(path.join(root, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`),
];

describe('the documentation', () => {
  it.each(documents)('%s: every relative link resolves', (doc) => {
    const text = readFileSync(path.join(root, doc), 'utf8');
    const targets = [...text.matchAll(/\]\(([^)\s]+)\)/g)].map((m) => m[1]!).filter((t) => !/^(https?:|mailto:|#)/.test(t));
    const broken = targets.filter((t) => !existsSync(path.resolve(root, path.dirname(doc), t.split('#')[0]!)));
    expect(broken).toEqual([]);
  });

  it('the configuration reference names every flag of run', () => {
    const reference = readFileSync(path.join(root, 'docs', 'configuration.md'), 'utf8');
    const flags = addRunOptions(new Command()).options.map((o) => o.long!).filter((f) => f !== '--no-leader-elect');
    expect(flags.length).toBeGreaterThan(20);
    expect(flags.filter((f) => !reference.includes(`\`${f}`))).toEqual([]);
  });

  it('the operations guide explains every event reason the controller records', () => {
    const events = readFileSync(path.join(root, 'docs', 'operations.md'), 'utf8').split('## Metrics')[0]!;
    expect(EVENT_REASONS.filter((reason) => !events.includes(`\`${reason}\``))).toEqual([]);
  });

  it('the README is a guide that points to the reference', () => {
    const readme = readFileSync(path.join(root, 'README.md'), 'utf8');
    expect(readme.split('\n').length).toBeLessThanOrEqual(300);
    for (const doc of ['configuration', 'operations', 'security', 'known-limits', 'how-it-works', 'development'])
      expect(readme).toContain(`(docs/${doc}.md)`);
  });
});
