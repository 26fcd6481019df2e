import { describe, expect, it } from 'vitest';
import { IdHoles } from './id-holes.ts';

describe('ids passed over by a read in increasing order', () => {
  it('keeps the gaps of a read, forgets an id once found, and drops what waited too long', () => {
    const holes = new IdHoles(1_000);
    expect(holes.toRead(0)).toBeNull();
    // After 10, a read returned 11, 14, 15 and 19: 12-13 and 16-18 were passed over.
    holes.passedOver(10, [11, 14, 15, 19], 0);
    expect(holes.toRead(0)).toEqual([
      [12, 16],
      [13, 18],
    ]);
    expect([11, 12, 13, 14, 16, 18, 19].map((id) => holes.has(id))).toEqual([false, true, true, false, true, true, false]);
    holes.found(17);
    holes.found(12);
    expect(holes.toRead(0)).toEqual([
      [13, 16, 18],
      [13, 16, 18],
    ]);
    // A later read's gap is kept longer than the earlier ones.
    holes.passedOver(19, [21], 600);
    expect(holes.toRead(999)).toEqual([
      [13, 16, 18, 20],
      [13, 16, 18, 20],
    ]);
    expect(holes.toRead(1_000)).toEqual([[20], [20]]);
    expect(holes.toRead(1_600)).toBeNull();
  });

  it('keeps the newest ranges only, up to its limit', () => {
    const holes = new IdHoles(1_000, 2);
    holes.passedOver(0, [2, 4, 6, 8], 0);
    expect(holes.toRead(0)).toEqual([
      [5, 7],
      [5, 7],
    ]);
    expect(holes.has(1)).toBe(false);
  });

  it('notes nothing for a read without gaps, or an empty one', () => {
    const holes = new IdHoles(1_000);
    holes.passedOver(0, [1, 2, 3], 0);
    holes.passedOver(3, [], 0);
    expect(holes.toRead(0)).toBeNull();
  });
});
