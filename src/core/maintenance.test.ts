// The embedded engine's stand-in for autovacuum: a table that grew gets fresh statistics, and the planner
// then sees its real size; a table that did not change is left alone.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testDb } from '../../test/harness.ts';
import type { Db } from './db.ts';
import { refreshStatistics } from './maintenance.ts';

describe('refreshStatistics', () => {
  let db: Db;
  beforeAll(async () => {
    db = await testDb();
  });
  afterAll(() => db.close());

  it('analyzes a table that grew, once, on the embedded engine only', async () => {
    await db.exec('CREATE TABLE grown (id int PRIMARY KEY, v text)');
    await refreshStatistics(db);
    await db.exec("INSERT INTO grown SELECT g, repeat('x', 50) FROM generate_series(1, 20000) g");
    const refreshed = await refreshStatistics(db);
    const [{ reltuples }] = await db.query<{ reltuples: number }>("SELECT reltuples::int AS reltuples FROM pg_class WHERE relname = 'grown'");
    if (db.engine === 'pglite') {
      expect(refreshed).toContain('grown');
      expect(reltuples).toBe(20000);
      expect(await refreshStatistics(db)).toEqual([]);
    } else {
      // A PostgreSQL server keeps its own statistics (autovacuum); nothing is done here.
      expect(refreshed).toEqual([]);
    }
  });
});
