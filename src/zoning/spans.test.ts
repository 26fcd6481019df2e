// respan: the stored stretches of a compound after a range of days takes new values, merged with the days
// around it; nothing to write when they are already right.
import { describe, expect, it } from 'vitest';
import { respan, type Span } from './spans.ts';

/** Keys a day each, '.' for none. */
const keys = (text: string) => [...text].map((c) => (c === '.' ? '' : c));
const apply = (old: Span[], r: ReturnType<typeof respan>) => (r === null ? old : [...old.filter((s) => !r.remove.includes(s.day)), ...r.add].sort((a, b) => a.day - b.day));

describe('respan', () => {
  it('writes nothing for a new day equal to the open stretch', () => {
    expect(respan([{ day: 1, until: null, key: 'A' }], keys('A'), 11, 11, 10, 11)).toBeNull();
  });
  it('closes the open stretch and opens one when a new day differs', () => {
    expect(respan([{ day: 1, until: null, key: 'A' }], keys('B'), 11, 11, 10, 11)).toEqual({ remove: [1], add: [{ day: 1, until: 10, key: 'A' }, { day: 11, until: null, key: 'B' }] });
  });
  it('writes nothing when a day in the middle is recomputed the same', () => {
    const old = [{ day: 1, until: 4, key: 'A' }, { day: 5, until: null, key: 'B' }];
    expect(respan(old, keys('A'), 4, 4, 10, 10)).toBeNull();
    expect(respan(old, keys('B'), 5, 5, 10, 10)).toBeNull();
    expect(respan(old, keys('AB'), 4, 5, 10, 10)).toBeNull();
  });
  it('splits a stretch around a changed day and merges it back when it changes back', () => {
    const old = [{ day: 1, until: null, key: 'A' }];
    const split = respan(old, keys('B'), 5, 5, 10, 10);
    expect(apply(old, split)).toEqual([{ day: 1, until: 4, key: 'A' }, { day: 5, until: 5, key: 'B' }, { day: 6, until: null, key: 'A' }]);
    const back = respan(apply(old, split), keys('A'), 5, 5, 10, 10);
    expect(apply(apply(old, split), back)).toEqual(old);
  });
  it('merges the range with the stretches on both sides when their values meet', () => {
    const old = [{ day: 1, until: 3, key: 'A' }, { day: 4, until: 6, key: 'C' }, { day: 7, until: null, key: 'B' }];
    expect(apply(old, respan(old, keys('AAB'), 4, 6, 10, 10))).toEqual([{ day: 1, until: 5, key: 'A' }, { day: 6, until: null, key: 'B' }]);
  });
  it('stores no stretch for days without a value, and extends the history to the new last day', () => {
    const old = [{ day: 3, until: null, key: '7' }];
    expect(apply(old, respan(old, keys('7..7'), 9, 12, 8, 12))).toEqual([{ day: 3, until: 9, key: '7' }, { day: 12, until: null, key: '7' }]);
    expect(apply([], respan([], keys('..1'), 1, 3, 0, 3))).toEqual([{ day: 3, until: null, key: '1' }]);
    expect(respan([], keys('...'), 1, 3, 0, 3)).toBeNull();
  });
  it('closes an open stretch at the old last day when a range before it is recomputed and the history grows', () => {
    // Stored through day 10; days 8-10 recomputed the same while the history stays at 10: nothing.
    expect(respan([{ day: 2, until: null, key: 'A' }], keys('AAA'), 8, 10, 10, 10)).toBeNull();
  });
});
