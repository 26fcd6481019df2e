// The embedded engine's stand-in for autovacuum: a table that grew gets fresh statistics, and the planner
// then sees its real size; a table that did not change is left alone.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testDb } from '../../test/harness.ts';
import type { Db } from './db.ts';
import { checkpointIfDue, refreshStatistics } from './maintenance.ts';

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

describe('checkpointIfDue', () => {
  let db: Db;
  beforeAll(async () => {
    db = await testDb();
  });
  afterAll(() => db.close());
  const walSinceCheckpoint = async () => (await db.query<{ bytes: number }>('SELECT pg_current_wal_insert_lsn() - redo_lsn AS bytes FROM pg_control_checkpoint()'))[0].bytes;

  it('checkpoints the embedded engine once the WAL since the last checkpoint passes the mark, and not again before', async () => {
    await db.exec("CREATE TABLE written (id int, v text); INSERT INTO written SELECT g, repeat('x', 50) FROM generate_series(1, 20000) g");
    if (db.engine === 'pglite') {
      expect(await walSinceCheckpoint()).toBeGreaterThan(1_000_000);
      expect(await checkpointIfDue(db, 1_000_000)).toBe(true);
      expect(await walSinceCheckpoint()).toBeLessThan(1_000_000);
      expect(await checkpointIfDue(db, 1_000_000)).toBe(false);
    } else {
      // A PostgreSQL server checkpoints by itself.
      expect(await checkpointIfDue(db, 1_000_000)).toBe(false);
    }
  });
});
