import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'coverage/', 'bench/results/'] },
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
      'no-console': 'off',
    },
  },
  {
    // Loading client-node costs ~86 MiB of RSS (every generated model); the controller uses its types only,
    // and loads it at run time solely for exec/auth-provider credentials (src/kube/connection-config.ts).
    files: ['src/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': ['error', {
        paths: [{ name: '@kubernetes/client-node', message: 'import types only (import type ...)', allowTypeImports: true }],
      }],
    },
  },
);
