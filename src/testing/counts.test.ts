// The tube counts the daily figures and the positivity alert read (migrations/019): kept by triggers through
// every change of tubes and results, equal at each step to a count of the facts themselves.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testContext, type TestContext } from '../../test/harness.ts';
import { foldTubeCounts } from './counts.ts';
import { tubeCountsBothWays } from './counts.test-helpers.ts';

describe('tube counts', () => {
  let ctx: TestContext;
  const expectSame = async () => {
    const { kept, recounted } = await tubeCountsBothWays(ctx.db);
    expect(kept).toEqual(recounted);
    return kept;
  };
  const result = (tube: number, verdict: string, state = 'applied', second = 0) =>
    ctx.db.query(`INSERT INTO lab_results (tube_id, lab_id, result, resulted_at, verdict, state, received_at) VALUES ($1, 1, $2, $3, $2, $4, $3)`, [tube, verdict, new Date(Date.UTC(2022, 3, 2, 0, 0, second)), state]);

  beforeAll(async () => {
    ctx = await testContext();
    // Ten tubes 20 minutes apart from 10:20 UTC, at points 1 and 0 and without a point.
    await ctx.db.query(`INSERT INTO tubes (id, barcode, sampling_point_id, capacity, opened_by, opened_at)
                        SELECT g, 'T' || g, CASE WHEN g % 3 = 0 THEN NULL ELSE g % 2 END, 10, 'test', '2022-04-01T10:00:00Z'::timestamptz + g * interval '20 minutes' FROM generate_series(1, 10) g`);
  });
  afterAll(async () => {
    await ctx?.close();
  });

  it('counts tubes by the hour they were opened and their point', async () => {
    expect(await expectSame()).toEqual([
      { hour: '2022-04-01 10', point: 0, tubes: 1, samples: 0, resulted: 0, positive: 0 },
      { hour: '2022-04-01 10', point: 1, tubes: 1, samples: 0, resulted: 0, positive: 0 },
      { hour: '2022-04-01 11', point: 0, tubes: 2, samples: 0, resulted: 0, positive: 0 },
      { hour: '2022-04-01 11', point: 1, tubes: 1, samples: 0, resulted: 0, positive: 0 },
      { hour: '2022-04-01 12', point: 0, tubes: 2, samples: 0, resulted: 0, positive: 0 },
      { hour: '2022-04-01 12', point: 1, tubes: 1, samples: 0, resulted: 0, positive: 0 },
      { hour: '2022-04-01 13', point: 0, tubes: 2, samples: 0, resulted: 0, positive: 0 },
    ]);
  });

  it('follows persons added, and ignores changes it does not count', async () => {
    await ctx.db.query('UPDATE tubes SET samples = samples + 1 WHERE id <= 5');
    await ctx.db.query('UPDATE tubes SET samples = samples + 1 WHERE id = 2');
    const before = (await ctx.db.query<{ n: number }>('SELECT count(*)::int AS n FROM tube_count_changes'))[0].n;
    await ctx.db.query('UPDATE tubes SET closed_at = opened_at, lab_id = 1, received_at = opened_at');
    expect((await ctx.db.query<{ n: number }>('SELECT count(*)::int AS n FROM tube_count_changes'))[0].n).toBe(before);
    const kept = await expectSame();
    expect(kept.reduce((s, r) => s + r.samples, 0)).toBe(6);
  });

  it('counts results in force only, and follows a conflict put in force', async () => {
    await ctx.db.query(`INSERT INTO lab_results (tube_id, lab_id, result, resulted_at, verdict, state, received_at)
                        SELECT g, 1, v, '2022-04-02T00:00:00Z', v, 'applied', '2022-04-02T00:00:00Z' FROM (SELECT g, CASE WHEN g % 4 = 0 THEN 'positive' ELSE 'negative' END AS v FROM generate_series(1, 8) g) x`);
    await result(2, 'positive', 'conflict', 1);
    let kept = await expectSame();
    expect([kept.reduce((s, r) => s + r.resulted, 0), kept.reduce((s, r) => s + r.positive, 0)]).toEqual([8, 2]);
    // As resolveConflict does it: the result in force set aside, the conflicting one put in force.
    await ctx.db.query(`UPDATE lab_results SET state = 'set-aside' WHERE tube_id = 2 AND state = 'applied'`);
    await ctx.db.query(`UPDATE lab_results SET state = 'applied' WHERE tube_id = 2 AND state = 'conflict'`);
    kept = await expectSame();
    expect([kept.reduce((s, r) => s + r.resulted, 0), kept.reduce((s, r) => s + r.positive, 0)]).toEqual([8, 3]);
  });

  it('folds the changes into one row per hour and point, counts unchanged', async () => {
    const kept = await expectSame();
    expect(await foldTubeCounts(ctx.db)).toBeGreaterThan(0);
    expect((await ctx.db.query<{ n: number }>('SELECT count(*)::int AS n FROM tube_count_changes'))[0].n).toBe(0);
    expect(await expectSame()).toEqual(kept);
    expect(await foldTubeCounts(ctx.db)).toBe(0);
  });

  it('moves a tube’s counts with the tube, and takes away what is removed', async () => {
    await ctx.db.query(`UPDATE tubes SET opened_at = opened_at + interval '3 hours', sampling_point_id = 7 WHERE id IN (4, 5)`);
    await expectSame();
    await ctx.db.query('DELETE FROM lab_results WHERE tube_id = 8');
    await ctx.db.query('DELETE FROM tubes WHERE id IN (1, 8)');
    await expectSame();
  });

  it('counts a result recorded before its tube once the tube is', async () => {
    await result(99, 'positive');
    await expectSame();
    await ctx.db.query(`INSERT INTO tubes (id, barcode, sampling_point_id, capacity, opened_by, opened_at, samples) VALUES (99, 'T99', 3, 10, 'test', '2022-04-01T10:00:00Z', 4)`);
    const kept = await expectSame();
    expect(kept).toContainEqual({ hour: '2022-04-01 10', point: 3, tubes: 1, samples: 4, resulted: 1, positive: 1 });
    await foldTubeCounts(ctx.db);
    await expectSame();
  });
});
