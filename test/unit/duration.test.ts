import { parseDuration } from '../../src/planner/duration.ts';

describe('parseDuration', () => {
  it.each([['250ms', 250], ['10s', 10_000], ['5m', 300_000], ['1h30m', 5_400_000], ['1.5s', 1500]])('%s', (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });
  it.each(['', '10', 'ten seconds', '5m junk'])('rejects %j', (text) => {
    expect(() => parseDuration(text)).toThrow(/invalid duration/);
  });
});
