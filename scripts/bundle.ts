// `npm run bundle`: the controller as the image ships it: src/cli/main.ts and everything it imports, in one
// minified ES module (dist/bundle/main.mjs) with no node_modules beside it. Code only some commands need is
// split into chunks loaded when used (the status and why views; client-node, for kubeconfig exec plugins),
// so the controller's start-up loads one file. Licences of the bundled packages: dist/bundle/main.mjs.LEGAL.txt.
import { readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const BUNDLE_DIR = path.join(root, 'dist', 'bundle');
const { version } = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { version: string };

rmSync(BUNDLE_DIR, { recursive: true, force: true });
const result = await build({
  entryPoints: [path.join(root, 'src', 'cli', 'main.ts')],
  outdir: BUNDLE_DIR,
  outExtension: { '.js': '.mjs' },
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node22',
  minify: true,
  // Class and function names survive minification: stack traces, and heap snapshots attributed by constructor
  // (bench/heap-profile.ts), stay readable.
  keepNames: true,
  legalComments: 'external',
  // The bundled CommonJS packages (winston, prom-client, commander) require Node's own modules.
  banner: { js: 'import { createRequire as __createRequire } from \'node:module\'; const require = __createRequire(import.meta.url);' },
  define: { BUNDLED_VERSION: JSON.stringify(version) },
  metafile: true,
  logLevel: 'warning',
});
for (const [file, { bytes }] of Object.entries(result.metafile.outputs)) {
  console.log(`${path.relative(root, file)}\t${(bytes / 1024).toFixed(0)} KiB`);
}
