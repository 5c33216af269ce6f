// How many worlds a property test draws. The full count in `npm test`; under mutation testing
// (test/mutation/jest.config.js) a tenth, from a fixed seed, so that each of ~3,000 mutants is judged in about a
// second and the same way every time. The checks that a property was not vacuous scale with it.
const scale = Number(process.env.SDC_PROPERTY_RUNS_SCALE ?? '1');

export const runs = (count: number): number => Math.max(1, Math.round(count * scale));

export const atLeast = (count: number): number => count * scale;
