// A set's own drain settings from its annotations, over the flags' defaults: what a user gets for a good
// value, and the message (with what is used instead) for a bad one.
import { DELAY_ANNOTATION, KEEP_VOLUME_ANNOTATION, MAX_ATTEMPTS_ANNOTATION, TIMEOUT_ANNOTATION } from '../../src/planner/keys.ts';
import { drainDelay, drainTimeout, keepVolume, maxAttempts } from '../../src/planner/settings.ts';
import { aSet, settings } from './fixtures.ts';

const annotated = (key: string, value: string) => aSet({ annotations: { [key]: value } });

describe('drain delay and timeout annotations', () => {
  it('absent: the flag\'s default, no problem', () => {
    expect(drainDelay(aSet(), { ...settings, drainDelayMs: 5_000 })).toEqual({ value: 5_000 });
    expect(drainTimeout(aSet(), { ...settings, drainTimeoutMs: 7_000 })).toEqual({ value: 7_000 });
  });

  it.each([['1s', 1_000], ['90m', 5_400_000], ['168h', 604_800_000]])('%s is used', (text, ms) => {
    expect(drainDelay(annotated(DELAY_ANNOTATION, text), settings)).toEqual({ value: ms });
    expect(drainTimeout(annotated(TIMEOUT_ANNOTATION, text), settings)).toEqual({ value: ms });
  });

  it.each(['0s', '168h1ms', '200h', 'soon', ''])('%j is refused, and the default used', (text) => {
    expect(drainDelay(annotated(DELAY_ANNOTATION, text), settings)).toEqual({ value: 0, problem:
      `${DELAY_ANNOTATION}=${JSON.stringify(text)} is not a duration between 1s and 168h (e.g. 30m, 2h); using no delay` });
    expect(drainTimeout(annotated(TIMEOUT_ANNOTATION, text), { ...settings, drainTimeoutMs: 60_000 })).toEqual({ value: 60_000, problem:
      `${TIMEOUT_ANNOTATION}=${JSON.stringify(text)} is not a duration between 1s and 168h (e.g. 30m, 2h); using the default of 60s` });
  });

  it('a refused timeout without a default says there is none', () => {
    expect(drainTimeout(annotated(TIMEOUT_ANNOTATION, 'x'), settings).problem).toMatch(/; using no timeout$/);
  });
});

describe('max attempts annotation', () => {
  it.each([['1', 1], ['12', 12]])('%s is used', (text, n) => {
    expect(maxAttempts(annotated(MAX_ATTEMPTS_ANNOTATION, text), settings)).toEqual({ value: n });
  });

  it.each(['0', '-1', '2.5', 'three'])('%j is refused, and the default used', (text) => {
    expect(maxAttempts(annotated(MAX_ATTEMPTS_ANNOTATION, text), settings)).toEqual({ value: 3,
      problem: `${MAX_ATTEMPTS_ANNOTATION}=${JSON.stringify(text)} is not a positive integer; using 3` });
  });

  it('absent: the flag\'s default', () => {
    expect(maxAttempts(aSet(), settings)).toEqual({ value: 3 });
  });
});

describe('keep-volume annotation', () => {
  it('absent: the flag\'s default; 0: not kept', () => {
    expect(keepVolume(aSet(), { ...settings, keepVolumeMs: 3_600_000 })).toEqual({ value: 3_600_000 });
    expect(keepVolume(annotated(KEEP_VOLUME_ANNOTATION, '0'), { ...settings, keepVolumeMs: 3_600_000 })).toEqual({ value: 0 });
  });

  it.each([['1s', 1_000], ['72h', 259_200_000], ['2160h', 7_776_000_000]])('%s is used', (text, ms) => {
    expect(keepVolume(annotated(KEEP_VOLUME_ANNOTATION, text), settings)).toEqual({ value: ms });
  });

  it.each(['999ms', '720h1ms', '3d', 'forever', ''])('%j is refused with no value to fall back on: releases wait', (text) => {
    expect(keepVolume(annotated(KEEP_VOLUME_ANNOTATION, text), { ...settings, keepVolumeMs: 3_600_000, maxKeepVolumeMs: 720 * 3_600_000 }))
      .toEqual({ problem: `${KEEP_VOLUME_ANNOTATION}=${JSON.stringify(text)} is not 0 or a duration between 1s and 720h ` +
        '(--max-keep-volume; e.g. 72h); no claim of this set is released until it is' });
  });

  it('--max-keep-volume bounds what a set may ask for, and the flag\'s default too', () => {
    const bounded = { ...settings, keepVolumeMs: 100 * 3_600_000, maxKeepVolumeMs: 24 * 3_600_000 };
    expect(keepVolume(annotated(KEEP_VOLUME_ANNOTATION, '24h'), bounded)).toEqual({ value: 24 * 3_600_000 });
    expect(keepVolume(annotated(KEEP_VOLUME_ANNOTATION, '25h'), bounded).problem).toMatch(/between 1s and 24h/);
    expect(keepVolume(aSet(), bounded)).toEqual({ value: 24 * 3_600_000 });
  });
});
