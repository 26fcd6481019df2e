import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { testContext, type TestContext } from '../../test/harness.ts';
import { importCsv, importRecords } from './import.ts';
import { findPersonByIdNumber } from './store.ts';
import { csvStream, idNo, loadGeography, personLine, personsCsv } from './fixtures.test-helpers.ts';
import type { ImportOptions } from './entities.ts';

describe('registry import', () => {
  let ctx: TestContext;
  const count = async (table: string) => (await ctx.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table}`))[0].n;

  beforeAll(async () => {
    ctx = await testContext();
    await loadGeography(ctx);
  });
  afterAll(() => ctx.close());
  beforeEach(async () => {
    await ctx.db.exec('DELETE FROM persons');
  });

  it('loads the geography, derives districts and street populations', async () => {
    expect(await count('districts')).toBe(2);
    const [c] = await ctx.db.query<{ district_id: number; code: string }>("SELECT c.district_id, d.code FROM compounds c JOIN districts d ON d.id = c.district_id WHERE c.code = 'C2'");
    expect(c.code).toBe('D2');
    const [s] = await ctx.db.query<{ population: number }>("SELECT population FROM streets WHERE code = 'S1'");
    expect(s.population).toBe(120);
    const [h] = await ctx.db.query<{ compound: string }>("SELECT c.code AS compound FROM households h JOIN compounds c ON c.id = h.compound_id WHERE h.code = 'H2'");
    expect(h.compound).toBe('C2');
  });

  it('rejects a file with bad rows, names every bad line, and writes nothing', async () => {
    const badId = idNo(4).slice(0, 17) + (idNo(4).endsWith('0') ? '1' : '0');
    const csv = personsCsv([
      personLine(1),
      personLine(2, { birth: '1990-13-01' }),
      personLine(3, { sex: 'X' }),
      personLine(4, { id: badId }),
      personLine(5, { household: '', compound: 'NOPE' }),
      personLine(6, { comorbidities: 'hypertension;flu' }),
      personLine(1, { name: 'again' }),
      personLine(7, { household: 'H404' }),
      personLine(8, { sex: 'M', pregnancy: 'early' }),
      personLine(9),
    ]);
    const r = await importCsv(ctx, 'persons', csvStream(csv));
    expect(r.committed).toBe(false);
    expect(r.read).toBe(10);
    expect(r.inserted).toBe(0);
    const byLine = Object.fromEntries(r.rejected.map((x) => [x.line, x.reason]));
    expect(Object.keys(byLine).map(Number).sort((a, b) => a - b)).toEqual([3, 4, 5, 6, 7, 8, 9, 10]);
    expect(byLine[3]).toBe("birth_date '1990-13-01' is not a date");
    expect(byLine[4]).toMatch(/^sex 'X' is not one of F, M/);
    expect(byLine[5]).toBe(`id_number '${badId}' is not valid: ID number check digit does not match`);
    expect(byLine[6]).toMatch(/unknown compound_code 'NOPE'/);
    expect(byLine[7]).toMatch(/comorbidities 'flu' is not a known value/);
    expect(byLine[8]).toMatch(/duplicate of line 2/);
    expect(byLine[9]).toMatch(/unknown household_code 'H404'/);
    expect(byLine[10]).toMatch(/pregnancy 'early' does not go with sex 'M'/);
    expect(await count('persons')).toBe(0);
  });

  it('with partial keeps the good rows', async () => {
    const csv = personsCsv([personLine(1), personLine(2, { birth: '1990-02-30' }), personLine(3, { household: '', compound: 'C2' })]);
    const r = await importCsv(ctx, 'persons', csvStream(csv), { partial: true });
    expect(r).toMatchObject({ committed: true, read: 3, inserted: 2, matched: 0 });
    expect(r.rejected).toEqual([{ line: 3, reason: "birth_date '1990-02-30' is not a date" }]);
    expect(await count('persons')).toBe(2);
    const p3 = await findPersonByIdNumber(ctx.db, ctx.pii, idNo(3));
    const [c2] = await ctx.db.query<{ id: number; street_id: number; district_id: number }>("SELECT id, street_id, district_id FROM compounds WHERE code = 'C2'");
    expect(p3).toMatchObject({ compoundId: c2.id, streetId: c2.street_id, districtId: c2.district_id, householdId: null });
  });

  it('matches a person imported again by ID number instead of duplicating them', async () => {
    const first = await importCsv(ctx, 'persons', csvStream(personsCsv([personLine(1), personLine(2), personLine(3)])));
    expect(first).toMatchObject({ committed: true, inserted: 3, matched: 0 });
    const before = await findPersonByIdNumber(ctx.db, ctx.pii, idNo(2));
    const second = await importCsv(ctx, 'persons', csvStream(personsCsv([personLine(4), personLine(2, { name: '李二', household: 'H2', comorbidities: 'diabetes;obesity' }), personLine(5)])));
    expect(second).toMatchObject({ committed: true, inserted: 2, matched: 1 });
    expect(await count('persons')).toBe(5);
    const after = await findPersonByIdNumber(ctx.db, ctx.pii, idNo(2));
    expect(after!.id).toBe(before!.id);
    expect(after!.personalCode).toBe(before!.personalCode);
    expect(after).toMatchObject({ name: '李二', comorbidities: ['diabetes', 'obesity'] });
    const [h2] = await ctx.db.query<{ id: number }>("SELECT id FROM households WHERE code = 'H2'");
    expect(after!.householdId).toBe(h2.id);
    // An ID number written in lower case is the same person.
    const lower = await importCsv(ctx, 'persons', csvStream(personsCsv([personLine(2, { id: idNo(2).toLowerCase() })])));
    expect(lower).toMatchObject({ committed: true, inserted: 0, matched: 1 });
  });

  it('names unknown and missing columns of the header, and writes nothing', async () => {
    const r = await importCsv(ctx, 'persons', csvStream('id_number,name,sex,birth_date,phone,household,compound_code,comorbidities,pregnancy,care_needs,shoe_size\n' + personLine(1) + ',42\n'));
    expect(r.committed).toBe(false);
    expect(r.rejected).toHaveLength(1);
    expect(r.rejected[0].line).toBe(1);
    expect(r.rejected[0].reason).toMatch(/unknown column\(s\): household, shoe_size; missing column\(s\): household_code/);
    expect(await count('persons')).toBe(0);
  });

  it('reports a row with the wrong number of fields, and a broken file (unclosed quote)', async () => {
    const r = await importCsv(ctx, 'persons', csvStream(personsCsv([personLine(1), personLine(2) + ',extra', personLine(3)])));
    expect(r.committed).toBe(false);
    expect(r.rejected).toEqual([{ line: 3, reason: 'has 11 field(s), the header has 10' }]);
    const broken = await importCsv(ctx, 'persons', csvStream(personsCsv([personLine(1), personLine(2), personLine(3, { name: '"broken' })])));
    expect(broken.committed).toBe(false);
    expect(broken.rejected).toHaveLength(1);
    expect(broken.rejected[0].reason).toMatch(/cannot be read from here on: .*Quote Not Closed/i);
    expect(await count('persons')).toBe(0);
  });

  it('accepts columns in another order, and records from the synthetic city', async () => {
    const r = await importCsv(ctx, 'persons', csvStream(`name,id_number,sex,birth_date,phone,household_code,compound_code,comorbidities,pregnancy,care_needs\n王五,${idNo(50)},M,1970-05-05,,H2,,,,\n`));
    expect(r).toMatchObject({ committed: true, inserted: 1 });
    const rec = await importRecords(ctx, 'persons', [{ id_number: idNo(51), name: '赵六', sex: 'F', birth_date: '2001-02-03', phone: '', household_code: '', compound_code: 'C1', comorbidities: '', pregnancy: 'late', care_needs: 'oxygen' }]);
    expect(rec).toMatchObject({ committed: true, inserted: 1 });
    expect(await findPersonByIdNumber(ctx.db, ctx.pii, idNo(51))).toMatchObject({ name: '赵六', pregnancy: 'late', careNeeds: ['oxygen'] });
  });

  it('rejects duplicate codes within a file and updates places imported again', async () => {
    const bad = await importCsv(ctx, 'labs', csvStream('code,name,district_code,daily_capacity\nL1,Lab one,D1,1000\nL1,Lab again,D1,5\nL2,Lab two,D9,10\n'));
    expect(bad.committed).toBe(false);
    expect(bad.rejected).toEqual([
      { line: 3, reason: "duplicate of line 2 (same code 'L1')" },
      { line: 4, reason: "unknown district_code 'D9' (no such district)" },
    ]);
    expect(await count('labs')).toBe(0);
    expect(await importCsv(ctx, 'labs', csvStream('code,name,district_code,daily_capacity\nL1,Lab one,D1,1000\n'))).toMatchObject({ committed: true, inserted: 1 });
    expect(await importCsv(ctx, 'labs', csvStream('code,name,district_code,daily_capacity\nL1,Lab one,D2,2000\nL2,Lab two,D2,10\n'))).toMatchObject({ committed: true, inserted: 1, matched: 1 });
    const [l1] = await ctx.db.query<{ daily_capacity: number }>("SELECT daily_capacity FROM labs WHERE code = 'L1'");
    expect(l1.daily_capacity).toBe(2000);
  });

  it('keeps a district import inside the district of a district user', async () => {
    const [d1] = await ctx.db.query<{ id: number }>("SELECT id FROM districts WHERE code = 'D1'");
    const r = await importCsv(ctx, 'persons', csvStream(personsCsv([personLine(1, { household: 'H1' }), personLine(2, { household: 'H2' })])), { districtId: d1.id });
    expect(r.committed).toBe(false);
    expect(r.rejected).toEqual([{ line: 3, reason: 'outside your jurisdiction (another district)' }]);
  });

  describe('a large file, read in a worker thread', () => {
    /** Person n of a large file (ID numbers past 999 differ in their birth part). */
    const big = (n: number, o: Parameters<typeof personLine>[1] = {}) => personLine(n, { id: idNo(n % 1000, String(19800000 + Math.floor(n / 1000))), household: n % 3 ? 'H1' : 'H2', ...o });
    /** n valid persons, with some lines changed. */
    const bigCsv = (n: number, change: Record<number, string> = {}) => personsCsv(Array.from({ length: n }, (_, i) => change[i + 1] ?? big(i + 1)));
    /** The text in 64 KiB pieces, as a file arrives. */
    const pieces = (text: string) => Readable.from(Array.from({ length: Math.ceil(text.length / 65536) }, (_, i) => text.slice(i * 65536, (i + 1) * 65536)));
    /** A digest of the persons table: every column the import writes, the ID number decrypted. */
    const digest = async () => {
      const rows = await ctx.db.query<Record<string, unknown> & { id_enc: Buffer | Uint8Array }>(
        `SELECT encode(id_hash, 'hex') AS h, id_enc, personal_code, name, sex, birth_date, phone, household_id, compound_id, street_id, district_id, comorbidities::text AS c, pregnancy, care_needs::text AS n FROM persons ORDER BY id_hash`,
      );
      const h = createHash('sha256');
      for (const { id_enc, ...r } of rows) h.update(JSON.stringify([ctx.pii.decryptId(Buffer.from(id_enc)), ...Object.values(r)]) + '\n');
      return { count: rows.length, sha: h.digest('hex') };
    };
    const importBoth = async (text: string, opts: ImportOptions) => {
      const local = await importCsv(ctx, 'persons', pieces(text), { ...opts, worker: false });
      const localRows = await digest();
      await ctx.db.exec('DELETE FROM persons');
      const threaded = await importCsv(ctx, 'persons', pieces(text), { ...opts, worker: true });
      return { local, localRows, threaded, threadedRows: await digest() };
    };

    it('gives the same report and the same rows as reading it on this thread', async () => {
      const n = 30_000;
      // A name over two lines (a quoted newline) shifts the line numbers of every later record.
      const text = bigCsv(n, {
        50: big(50, { name: '"张\n五十"' }),
        12_000: big(12_000, { birth: '1990-02-30' }),
        20_000: big(20_000, { id: big(7).split(',')[0] }),
        29_998: big(29_998, { household: 'H404' }),
      });
      const r = await importBoth(text, { partial: true });
      expect(r.threaded).toEqual(r.local);
      // inserted is the server's count: the name with a newline is one row, not two.
      expect(r.threaded).toMatchObject({ committed: true, read: n, inserted: n - 3, matched: 0, rejectedCount: 3 });
      expect(r.threaded.rejected).toEqual([
        { line: 12_002, reason: "birth_date '1990-02-30' is not a date" },
        { line: 20_002, reason: 'duplicate of line 8 (same ID number)' },
        { line: 30_000, reason: "unknown household_code 'H404' (no such household)" },
      ]);
      expect(r.threadedRows).toEqual(r.localRows);
      expect(r.threadedRows.count).toBe(n - 3);
      // Imported again (the auto choice: a worker for a file this large), every person is matched.
      const again = await importCsv(ctx, 'persons', pieces(text), { partial: true });
      expect(again).toMatchObject({ committed: true, read: n, inserted: 0, matched: n - 3, rejectedCount: 3 });
      expect(again.rejected).toEqual(r.threaded.rejected);
    });

    it('names a bad line deep in the file and writes nothing; and a file broken deep down', async () => {
      const text = bigCsv(25_000, { 24_321: big(24_321, { sex: 'M', pregnancy: 'late' }) });
      const r = await importBoth(text, {});
      expect(r.threaded).toEqual(r.local);
      expect(r.threaded).toMatchObject({ committed: false, read: 25_000, inserted: 0, matched: 0 });
      expect(r.threaded.rejected).toEqual([{ line: 24_322, reason: "pregnancy 'late' does not go with sex 'M'" }]);
      expect(r.threadedRows.count).toBe(0);
      const broken = await importBoth(bigCsv(25_000, { 23_000: big(23_000, { name: '"broken' }) }), {});
      expect(broken.threaded).toEqual(broken.local);
      expect(broken.threaded.committed).toBe(false);
      expect(broken.threaded.rejected).toHaveLength(1);
      expect(broken.threaded.rejected[0].reason).toMatch(/cannot be read from here on: .*Quote Not Closed/i);
      expect(broken.threadedRows.count).toBe(0);
    });
  });
});
