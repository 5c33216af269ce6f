// Mutation testing (npm run test:mutation): does a one-line change to the code that decides what may be
// deleted make a unit test fail? `--mutate` narrows it; CI runs the release proof only (test:mutation:proof).
export default {
  testRunner: 'jest',
  testRunnerNodeArgs: ['--experimental-vm-modules'],
  jest: { projectType: 'custom', configFile: 'test/mutation/jest.config.js', enableFindRelatedTests: false },
  coverageAnalysis: 'perTest',
  mutate: [
    'src/planner/**/*.ts',
    'src/controller/executor.ts',
    'src/controller/drain-control.ts',
    'src/controller/work-queue.ts',
    'src/kube/leader-election.ts',
    'src/kube/retry.ts',
    'src/kube/http-client.ts',
    'src/cli/write-fence.ts',
    'src/backoff.ts',
  ],
  reporters: ['clear-text', 'progress', 'html', 'json'],
  htmlReporter: { fileName: 'reports/mutation/index.html' },
  jsonReporter: { fileName: 'reports/mutation/mutation.json' },
  tempDirName: '.stryker-tmp',
  cleanTempDir: 'always',
  concurrency: 2,
  timeoutMS: 20_000,
};
