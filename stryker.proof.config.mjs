// The release proof's mutation run (npm run test:mutation:proof, in CI): every mutant of the code that
// decides a claim may be deleted must be killed by the unit tests named in package.json, or marked
// equivalent beside it with a reason.
import base from './stryker.config.mjs';

export default {
  ...base,
  // The proof names its four test files (package.json); finding related tests as well only slows each mutant.
  jest: { ...base.jest, enableFindRelatedTests: false },
  mutate: ['src/planner/release-proof.ts', 'src/planner/placeholder.ts', 'src/controller/release-guard.ts'],
  reporters: ['clear-text', 'progress'],
  thresholds: { high: 100, low: 100, break: 100 },
};
