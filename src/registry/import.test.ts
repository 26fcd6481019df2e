import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { testContext, type TestContext } from '../../test/harness.ts';
import { importCsv, importRecords } from './import.ts';
import { findPersonByIdNumber } from './store.ts';
import { csvStream, idNo, loadGeography, personLine, personsCsv } from './fixtures.test-helpers.ts';

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
});
