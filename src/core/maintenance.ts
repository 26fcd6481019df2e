// Embedded PGlite has no autovacuum: without it, tables filled by a day of sampling keep the statistics of
// an empty table, and the planner picks plans for the wrong sizes. The server does what autovacuum would:
// any table grown by a fifth since its statistics were taken is vacuumed and analyzed, one at a time.
import type { Db } from './db.ts';

/** Vacuums and analyzes the tables whose size moved away from their statistics; returns their names. */
export async function refreshStatistics(db: Db): Promise<string[]> {
  if (db.engine !== 'pglite') return []; // a PostgreSQL server runs its own autovacuum
  const stale = await db.query<{ name: string }>(
    `SELECT c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = 'public' AND c.relkind = 'r'
        AND (c.reltuples < 0 OR abs(pg_relation_size(c.oid) / current_setting('block_size')::int - c.relpages) > 0.2 * c.relpages + 8)
      ORDER BY pg_relation_size(c.oid)`,
  );
  for (const { name } of stale) {
    await db.exec(`VACUUM (ANALYZE) "${name.replace(/"/g, '""')}"`);
    // Between tables, let waiting requests in: PGlite runs on the server's only thread.
    await new Promise((resolve) => setImmediate(resolve));
  }
  return stale.map((s) => s.name);
}

/**
 * Embedded PGlite has no checkpointer either (PostgreSQL checkpoints by WAL volume only under a postmaster): its
 * WAL grows until the database is closed, 4.2 GB after a bench's load, and a process that was killed replays all
 * of it at its next start. The server checkpoints as the checkpointer would, once max_wal_size of WAL (1 GB by
 * default) was written since the last checkpoint; the WAL files before it are then recycled. Returns whether it did.
 */
export async function checkpointIfDue(db: Db, atBytes?: number): Promise<boolean> {
  if (db.engine !== 'pglite') return false; // a PostgreSQL server's checkpointer does it
  const [{ due }] = await db.query<{ due: boolean }>(
    `SELECT pg_current_wal_insert_lsn() - redo_lsn >= coalesce($1, pg_size_bytes(current_setting('max_wal_size'))) AS due FROM pg_control_checkpoint()`,
    [atBytes ?? null],
  );
  if (due) await db.exec('CHECKPOINT');
  return due;
}
