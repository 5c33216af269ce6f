// An ordinal's failed attempts, read back from its claims: what decides how long the next attempt waits and
// when the ordinal gives up.
import { failureState, notAfter, retryDueMs, timeMs } from '../../src/planner/failures.ts';
import { FAILURES_ANNOTATION, LAST_FAILURE_ANNOTATION, RETRY_TOKEN_ANNOTATION } from '../../src/planner/keys.ts';
import { aClaim, aSet, settings } from './fixtures.ts';

const set = aSet();
const claim = (annotations: Record<string, string>, template = 'data') => aClaim(set, 3, { template, annotations });

describe('failureState', () => {
  it('no record: no failures, no time, the empty token', () => {
    expect(failureState([aClaim(set, 3)])).toEqual({ failures: 0, lastFailure: undefined, token: '' });
  });

  it('claims that disagree (a crash between two patches): the most failures, the latest time, no agreed token', () => {
    const state = failureState([
      claim({ [FAILURES_ANNOTATION]: '2', [LAST_FAILURE_ANNOTATION]: '2026-01-01T10:00:00Z', [RETRY_TOKEN_ANNOTATION]: 'a' }),
      claim({ [FAILURES_ANNOTATION]: '1', [LAST_FAILURE_ANNOTATION]: '2026-01-01T11:00:00Z' }, 'logs'),
    ]);
    expect(state).toEqual({ failures: 2, lastFailure: Date.parse('2026-01-01T11:00:00Z'), token: undefined });
  });

  it('claims that agree on the token keep it; a count or time that does not parse counts as none', () => {
    const state = failureState([
      claim({ [FAILURES_ANNOTATION]: 'x', [LAST_FAILURE_ANNOTATION]: 'yesterday', [RETRY_TOKEN_ANNOTATION]: 't' }),
      claim({ [RETRY_TOKEN_ANNOTATION]: 't' }, 'logs'),
    ]);
    expect(state).toEqual({ failures: 0, lastFailure: undefined, token: 't' });
  });
});

describe('times', () => {
  it('timeMs reads dates and ISO strings, and nothing else', () => {
    expect(timeMs(undefined)).toBeUndefined();
    expect(timeMs('not a time')).toBeUndefined();
    expect(timeMs('2026-01-01T00:00:01Z')).toBe(Date.parse('2026-01-01T00:00:01Z'));
    expect(timeMs(new Date(5_000))).toBe(5_000);
  });

  it('a recorded time later than now counts as now; no time is now', () => {
    expect(notAfter(9_000, 5_000)).toBe(5_000);
    expect(notAfter(1_000, 5_000)).toBe(1_000);
    expect(notAfter(undefined, 5_000)).toBe(5_000);
  });

  it('the next attempt is due the backoff after the last failure, which grows with the failures', () => {
    const at = (failures: number) => retryDueMs({ failures, lastFailure: 100_000 }, settings, 1_000_000);
    expect([at(1), at(2), at(3)]).toEqual([110_000, 120_000, 140_000]);
    expect(retryDueMs({ failures: 1, lastFailure: 9_000_000 }, settings, 1_000_000)).toBe(1_010_000);
  });
});
