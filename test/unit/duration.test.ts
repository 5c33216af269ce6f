import { formatDuration, parseDuration } from '../../src/planner/duration.ts';

describe('parseDuration', () => {
  it.each([['250ms', 250], ['10s', 10_000], ['5m', 300_000], ['1h30m', 5_400_000], ['1.5s', 1500],
    ['1.25h', 4_500_000]])('%s', (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });
  it.each(['', '10', 'ten seconds', '5m junk'])('rejects %j', (text) => {
    expect(() => parseDuration(text)).toThrow(/invalid duration/);
  });
});

describe('formatDuration', () => {
  it.each([[-5_000, '0s'], [0, '0s'], [1_499, '1s'], [119_000, '119s'], [120_000, '2m'], [7_170_000, '120m'], [7_200_000, '2h'],
    [90_000_000, '25h']])('%d ms is %s', (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
  });
});
