// Jest runs the TypeScript sources as native ES modules (the Kubernetes client is ESM-only):
// ts-jest transpiles each file, `node --experimental-vm-modules` lets Jest load them as ESM.
const transform = {
  '^.+\\.ts$': ['ts-jest', {
    useESM: true,
    tsconfig: { rewriteRelativeImportExtensions: false, allowImportingTsExtensions: true, noEmit: true },
  }],
};
const common = { testEnvironment: 'node', extensionsToTreatAsEsm: ['.ts'], transform };

export default {
  // A global option (Jest ignores it per project): end-to-end tests wait on a real control plane.
  testTimeout: 180_000,
  reporters: ['default', '<rootDir>/test/jest/project-counts-reporter.js'],
  projects: [
    { ...common, displayName: 'unit', testMatch: ['<rootDir>/test/unit/**/*.test.ts'], globalSetup: '<rootDir>/test/jest/unit-setup.ts' },
    {
      ...common,
      displayName: 'e2e',
      testMatch: ['<rootDir>/test/e2e/**/*.test.ts'],
      globalSetup: '<rootDir>/test/jest/global-setup.ts',
      globalTeardown: '<rootDir>/test/jest/global-teardown.ts',
    },
    {
      ...common,
      displayName: 'real-node',
      testMatch: ['<rootDir>/test/real-node/**/*.test.ts'],
      globalSetup: '<rootDir>/test/jest/real-node-setup.ts',
      globalTeardown: '<rootDir>/test/jest/real-node-teardown.ts',
    },
  ],
};
