// The personal-code table of the entrance index: every code set is found with its person, through many
// rehashes; codes never set, altered by a character or in another form are not confused with them.
import { describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { BASE32_ALPHABET, PiiKeys } from '../core/pii.ts';
import { CodeTable } from './code-table.ts';

const keys = new PiiKeys(Buffer.from('code-table-test'));
const codeOf = (i: number) => keys.personalCode(Buffer.from(`person-${i}`));

describe('personal code table', () => {
  it('finds each of 200,000 persons by their code, and no one by a code never set', () => {
    const table = new CodeTable();
    const n = 200_000;
    // Ids in an order other than the codes', with gaps, as persons are read from the database.
    for (let i = 0; i < n; i++) table.set(codeOf(i), 3 * i + 1);
    expect(table.size).toBe(n);
    for (let i = 0; i < n; i++) if (table.get(codeOf(i)) !== 3 * i + 1) throw new Error(`code ${i} not found`);
    let found = 0;
    for (let i = n; i < n + 50_000; i++) if (table.get(codeOf(i)) !== undefined) found++;
    expect(found).toBe(0);
  });

  it('tells apart codes that differ in one character, in either half', () => {
    const table = new CodeTable();
    const code = codeOf(1);
    table.set(code, 7);
    for (const at of [0, 7, 8, 15]) {
      const other = BASE32_ALPHABET[(BASE32_ALPHABET.indexOf(code[at]) + 1) % 32];
      const altered = code.slice(0, at) + other + code.slice(at + 1);
      expect(table.get(altered)).toBeUndefined();
      table.set(altered, 100 + at);
      expect(table.get(altered)).toBe(100 + at);
    }
    expect(table.get(code)).toBe(7);
  });

  it('keeps codes of another form (not 16 characters of the alphabet) apart, by their text', () => {
    const table = new CodeTable();
    table.set('legacy-code-1', 5);
    table.set('ABCDEFGHJKLMNPQ0', 6); // 0 is not in the alphabet
    expect(table.get('legacy-code-1')).toBe(5);
    expect(table.get('ABCDEFGHJKLMNPQ0')).toBe(6);
    expect(table.get('LEGACY-CODE-1')).toBeUndefined();
    expect(table.get('')).toBeUndefined();
    expect(table.get('ÄBCDEFGHJKLMNPQR')).toBeUndefined();
    expect(table.size).toBe(2);
  });

  it('takes random codes of the full 80 bits, the largest halves included', () => {
    const table = new CodeTable();
    const top = BASE32_ALPHABET[31].repeat(16);
    table.set(top, 1);
    const codes = Array.from({ length: 5000 }, () => keys.personalCode(randomBytes(32)));
    codes.forEach((c, i) => table.set(c, i + 2));
    expect(table.get(top)).toBe(1);
    codes.forEach((c, i) => expect(table.get(c)).toBe(i + 2));
  });

  it('refuses a person id it cannot store', () => {
    const table = new CodeTable();
    expect(() => table.set(codeOf(1), 0)).toThrow(RangeError);
    expect(() => table.set(codeOf(1), 2 ** 31)).toThrow(RangeError);
  });
});
