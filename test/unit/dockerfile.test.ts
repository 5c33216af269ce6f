// There is no container engine on the build machines, so the Dockerfile's rules are checked by parsing it.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { DockerfileParser } from 'dockerfile-ast';
import { IMAGE_ENV, NODE_FLAGS } from '../../local-cluster/controller-process.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const dockerfile = DockerfileParser.parse(readFileSync(path.join(root, 'Dockerfile'), 'utf8'));
const instructions = dockerfile.getInstructions()
  .map((i) => ({ keyword: i.getKeyword(), args: i.getArgumentsContent() ?? '', line: i.getRange().start.line }));
const froms = dockerfile.getFROMs();
/** ARG defaults declared before the first FROM: what `${NAME}` in a FROM line means without --build-arg. */
const argDefaults = Object.fromEntries(dockerfile.getInstructions().filter((i) => i.getKeyword() === 'ARG' &&
  i.getRange().start.line < froms[0]!.getRange().start.line)
  .map((i) => (i.getArgumentsContent() ?? '').split('=') as [string, string]));
const image = (from: (typeof froms)[number]) => (from.getImage() ?? '').replace(/\$\{(\w+)\}/g,
  (_, name: string) => argDefaults[name] ?? '');
const finalStart = froms[froms.length - 1]!.getRange().start.line;
const finalStage = instructions.filter((i) => i.line >= finalStart);

describe('Dockerfile', () => {
  it('is multi-stage: bundles with the dev dependencies, ships the bundle alone (no node_modules, no sources)', () => {
    expect(froms.length).toBeGreaterThanOrEqual(2);
    const build = instructions.filter((i) => i.line < finalStart && i.keyword === 'RUN').map((i) => i.args).join('\n');
    expect(build).toMatch(/npm ci/);
    expect(build).toMatch(/npm run bundle/);
    const finalCopies = dockerfile.getCOPYs().filter((c) => c.getRange().start.line >= finalStart);
    expect(finalCopies.map((c) => c.getFromFlag()?.getValue())).toEqual(['build']);
    expect(finalCopies.map((c) => c.getArguments().map((a) => a.getValue()))).toEqual([['/src/dist/bundle', './']]);
  });

  it('runs on the current Node.js LTS (24), without shell or package manager at run time', () => {
    expect(froms.map(image)).toEqual(expect.arrayContaining([expect.stringMatching(/node.*24/)]));
    expect(image(froms[froms.length - 1]!)).toMatch(/^gcr\.io\/distroless\/nodejs24-/);
    expect(finalStage.filter((i) => i.keyword === 'RUN')).toEqual([]);
  });

  it('runs as a numeric non-root user', () => {
    const user = finalStage.filter((i) => i.keyword === 'USER').pop();
    expect(user?.args).toMatch(/^[1-9][0-9]*(:[0-9]+)?$/);
  });

  it('starts node directly in exec form, so node is PID 1 and receives SIGTERM', () => {
    const entrypoint = finalStage.find((i) => i.keyword === 'ENTRYPOINT');
    expect(JSON.parse(entrypoint!.args)).toEqual(['/nodejs/bin/node', ...NODE_FLAGS, '/app/main.mjs']);
  });

  it('sets the malloc settings the benchmark measured the controller with', () => {
    const env = Object.fromEntries(finalStage.filter((i) => i.keyword === 'ENV')
      .flatMap((i) => i.args.split(/\s+/).map((pair) => pair.split('=') as [string, string])));
    expect(env).toEqual(IMAGE_ENV);
  });

  it('pins base images by tag, never latest', () => {
    for (const from of froms) expect(image(from)).toMatch(/:[^:/]+$/);
    for (const from of froms) expect(image(from)).not.toMatch(/:latest$/);
  });
});
