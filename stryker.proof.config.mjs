// The release proof's mutation run (npm run test:mutation:proof, in CI): every mutant of the code that
// decides a claim may be deleted (a claim is the set's, a drain pod is proven, the release is checked again
// on quorum reads) must be killed by the unit tests named in package.json, or marked equivalent beside it
// with a reason.
//
// Incremental: test/mutation/proof-incremental.json keeps the last full result, so CI tests again only the
// mutants whose code or covering tests changed. It cannot see a change in code the proof calls but does not
// mutate (drain-pod.ts, keys.ts): after one, rebuild it with `npm run test:mutation:proof -- --force` and
// commit the file.
import base from './stryker.config.mjs';

export default {
  ...base,
  mutate: ['src/planner/release-proof.ts', 'src/planner/placeholder.ts', 'src/planner/identity.ts', 'src/planner/ordinals.ts',
    'src/controller/release-guard.ts'],
  // The proof names its test files (package.json); finding related tests as well only slows each mutant.
  jest: { ...base.jest, enableFindRelatedTests: false },
  incremental: true,
  incrementalFile: 'test/mutation/proof-incremental.json',
  reporters: ['clear-text', 'progress'],
  thresholds: { high: 100, low: 100, break: 100 },
};
