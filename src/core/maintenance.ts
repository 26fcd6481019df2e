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
