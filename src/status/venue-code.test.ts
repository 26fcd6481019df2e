// Venue codes: what is signed reads back; anything altered, forged or signed with another key is refused.
import { describe, expect, it } from 'vitest';
import { PiiKeys } from '../core/pii.ts';
import { Problem } from '../core/errors.ts';
import { readVenueCode, signVenueCode } from './venue-code.ts';

const keys = new PiiKeys(Buffer.alloc(32, 7));
const other = new PiiKeys(Buffer.alloc(32, 8));
const SIGNATURE = /venue code's signature does not match: it was altered or forged/;

function refusal(text: string): Problem {
  try {
    readVenueCode(keys, text);
  } catch (e) {
    expect(e).toBeInstanceOf(Problem);
    return e as Problem;
  }
  throw new Error(`${text} was accepted`);
}

describe('venue codes', () => {
  it('reads back the venue id it was signed for, and has the documented shape', () => {
    for (const id of [1, 42, 50_000, 2_147_483_647]) {
      const code = signVenueCode(keys, id);
      expect(code).toMatch(new RegExp(`^CV1\\.${id}\\.[A-Za-z0-9_-]{22}$`));
      expect(readVenueCode(keys, code)).toBe(id);
      // A scanner's line end is forgiven.
      expect(readVenueCode(keys, `${code}\r\n`)).toBe(id);
    }
    // Stable for a venue and a key.
    expect(signVenueCode(keys, 7)).toBe(signVenueCode(keys, 7));
    expect(signVenueCode(keys, 7)).not.toBe(signVenueCode(keys, 8));
  });

  it('refuses a code whose venue id was altered', () => {
    const [, , sig] = signVenueCode(keys, 12).split('.');
    const p = refusal(`CV1.13.${sig}`);
    expect(p.status).toBe(400);
    expect(p.detail).toMatch(SIGNATURE);
    expect(p.extra.reason).toBe('venue-code-signature');
    // A leading zero would name the same number in other text: not a venue code at all.
    expect(refusal(`CV1.012.${sig}`).detail).toMatch(/not a venue code/);
  });

  it('refuses a code whose signature was altered, in any one character', () => {
    const code = signVenueCode(keys, 12);
    const at = code.lastIndexOf('.') + 1;
    for (let i = at; i < code.length; i++) {
      const altered = code.slice(0, i) + (code[i] === 'A' ? 'B' : 'A') + code.slice(i + 1);
      expect(refusal(altered).detail, `position ${i}`).toMatch(SIGNATURE);
    }
  });

  it('refuses garbage as not a venue code', () => {
    for (const text of ['', 'hello', 'CV1.12', 'CV1..abc', 'CV2.12.AAAAAAAAAAAAAAAAAAAAAA', 'CV1.0.AAAAAAAAAAAAAAAAAAAAAA', 'CV1.-3.AAAAAAAAAAAAAAAAAAAAAA', 'CV1.12.short', 'CV1.12.AAAAAAAAAAAAAAAAAAAAA=', 'CV1.99999999999.AAAAAAAAAAAAAAAAAAAAAA', 'x'.repeat(500)]) {
      const p = refusal(text);
      expect(p.status).toBe(400);
      expect(p.detail, text).toMatch(/not a venue code/);
      expect(p.extra.reason).toBe('not-a-venue-code');
    }
    expect(() => readVenueCode(keys, undefined as unknown as string)).toThrow(/not a venue code/);
    // Long input is not echoed whole.
    expect(refusal('x'.repeat(500)).detail!.length).toBeLessThan(150);
  });

  it("refuses another key's code", () => {
    const foreign = signVenueCode(other, 12);
    expect(foreign).not.toBe(signVenueCode(keys, 12));
    expect(readVenueCode(other, foreign)).toBe(12);
    expect(refusal(foreign).detail).toMatch(SIGNATURE);
  });

  it('will not sign an id that is not a venue id', () => {
    for (const id of [0, -1, 1.5, Number.NaN, 2_147_483_648]) expect(() => signVenueCode(keys, id)).toThrow(RangeError);
  });
});
