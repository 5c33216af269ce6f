// Mutation testing: does a one-line change to the code that decides what may be deleted make a unit test fail?
// npm run test:mutation (scripts/mutation.ts) runs it by group, each with its own tests; CI runs the release
// proof only (test:mutation:proof).
// scripts/mutation.ts names each group's reports.
const report = process.env.SDC_MUTATION_REPORT ?? 'mutation';

export default {
  testRunner: 'jest',
  testRunnerNodeArgs: ['--experimental-vm-modules'],
  jest: { projectType: 'custom', configFile: 'test/mutation/jest.config.js', enableFindRelatedTests: true },
  coverageAnalysis: 'perTest',
  // test/mutation/metadata-ignorer.mjs: an equivalent mutant that recurs in every file, ignored by one rule with its reason.
  plugins: ['@stryker-mutator/jest-runner', './test/mutation/metadata-ignorer.mjs'],
  ignorers: ['object-metadata'],
  mutate: [
    'src/planner/**/*.ts',
    'src/controller/executor.ts',
    'src/controller/work-queue.ts',
    'src/kube/leader-election.ts',
    'src/kube/retry.ts',
    'src/kube/fenced-send.ts',
    'src/cli/write-fence.ts',
    'src/backoff.ts',
  ],
  reporters: ['clear-text', 'progress', 'html', 'json'],
  htmlReporter: { fileName: `reports/mutation/${report}.html` },
  jsonReporter: { fileName: `reports/mutation/${report}.json` },
  // A re-run after new tests judges again only the mutants whose code or covering tests changed (not committed:
  // reports/ is the local artefact; `-- --force` judges all).
  incremental: true,
  incrementalFile: `reports/mutation/${report}.incremental.json`,
  tempDirName: '.stryker-tmp',
  cleanTempDir: 'always',
  concurrency: 2,
  timeoutMS: 20_000,
};
