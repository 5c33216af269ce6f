// Under mutation testing every property test draws the same worlds (from this seed), so a mutant is judged
// the same way on every run and a survivor can be replayed.
import fc from 'fast-check';

fc.configureGlobal({ seed: 20261203 });
