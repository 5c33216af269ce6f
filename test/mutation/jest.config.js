// The unit tests, as StrykerJS runs them against each mutant (npm run test:mutation). Same transform as
// jest.config.js, without type-checking: a mutant that does not type-check must be judged by the tests.
const transform = {
  '^.+\\.ts$': ['ts-jest', {
    useESM: true,
    diagnostics: false,
    tsconfig: { rewriteRelativeImportExtensions: false, allowImportingTsExtensions: true, noEmit: true },
  }],
};

// Property tests draw a tenth of their worlds here (test/unit/property-runs.ts), from a fixed seed.
process.env.SDC_PROPERTY_RUNS_SCALE ??= '0.1';

// SDC_MUTATION_TESTS narrows the tests to a comma-separated list of unit test files (the release proof's
// CI step names the ones that exercise it, to stay within minutes).
const only = process.env.SDC_MUTATION_TESTS?.split(',').map((name) => `<rootDir>/test/unit/${name}.test.ts`);

export default {
  rootDir: '../..',
  testEnvironment: 'node',
  extensionsToTreatAsEsm: ['.ts'],
  transform,
  testMatch: only ?? ['<rootDir>/test/unit/**/*.test.ts'],
  globalSetup: '<rootDir>/test/jest/unit-setup.ts',
  setupFiles: ['<rootDir>/test/mutation/fixed-seed.ts'],
};
