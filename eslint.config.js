import stylistic from '@stylistic/eslint-plugin';
import { createTypeScriptImportResolver } from 'eslint-import-resolver-typescript';
import importX from 'eslint-plugin-import-x';
import tseslint from 'typescript-eslint';

// Loading client-node costs ~86 MiB of RSS (every generated model); the controller uses its types only,
// and loads it at run time solely for exec/auth-provider credentials (src/kube/connection-config.ts).
const clientNodeTypesOnly = { name: '@kubernetes/client-node', message: 'import types only (import type ...)', allowTypeImports: true };

/** Which folder of src/ may import which (ARCHITECTURE.md): each entry lists what a folder must not import. */
const layers = [
  { folder: 'planner', forbidden: ['kube', 'controller', 'cli', 'metrics', 'log.ts'], why: 'the planner is pure: state in, actions out' },
  { folder: 'kube', forbidden: ['planner', 'controller', 'cli', 'metrics'],
    why: 'src/kube is a Kubernetes client library that knows nothing of drains' },
  { folder: 'controller', forbidden: ['cli'], why: 'the controller is wired by the CLI, not the other way round' },
  { folder: 'metrics', forbidden: ['planner', 'kube', 'controller', 'cli'], why: 'metrics are fed by the controller' },
];

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'coverage/', 'bench/results/', 'reports/', '.stryker-tmp/'] },
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
      'no-console': 'off',
    },
  },
  // Every line under 140 characters; strings, template literals and comments too (only URLs may run long).
  {
    files: ['**/*.ts', '**/*.js', '**/*.mjs'],
    plugins: { '@stylistic': stylistic },
    rules: { '@stylistic/max-len': ['error', { code: 140, ignoreUrls: true }] },
  },
  {
    files: ['src/**/*.ts'],
    rules: { '@typescript-eslint/no-restricted-imports': ['error', { paths: [clientNodeTypesOnly] }] },
  },
  // No import circles (type-only imports count too: a circle is a circle to the reader).
  {
    files: ['**/*.ts'],
    plugins: { 'import-x': importX },
    settings: {
      'import-x/resolver-next': [createTypeScriptImportResolver()],
      'import-x/parsers': { '@typescript-eslint/parser': ['.ts'] },
      'import-x/extensions': ['.ts', '.js'],
    },
    rules: { 'import-x/no-cycle': 'error' },
  },
  ...layers.map(({ folder, forbidden, why }) => ({
    files: [`src/${folder}/**/*.ts`],
    rules: {
      '@typescript-eslint/no-restricted-imports': ['error', {
        paths: [clientNodeTypesOnly],
        patterns: [{ group: forbidden.map((f) => `../${f}${f.endsWith('.ts') ? '' : '/*'}`), message: why }],
      }],
    },
  })),
);
