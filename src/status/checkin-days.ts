// The day partitions of checkins (migrations/017), made ahead of their scans.
import type { Db } from '../core/db.ts';
import { DAY_MS } from '../core/days.ts';

/**
 * Makes the partitions of the UTC days from `from` to `to` that have none (checkin_days), and on PGlite
 * gives the indexes of each new, empty one a free space map.
 *
 * A B-tree asks its free space map for a page each time a page splits, and an index that has never freed a
 * page has no map: PostgreSQL then looks for the map's file on every split. In PGlite that look-up goes
 * through the engine's file system in JavaScript (a path walked with a stat per part): 5.4% of the server
 * thread's busy time in a profile of the check-in bench, to no purpose. A map comes into being once VACUUM
 * has freed an index page: rows put in and taken out in one transaction (never seen by anyone), and two
 * VACUUMs, a transaction apart, the first freeing the pages and the second recording them. That costs a new
 * day about 20 ms, once (the scan writer makes tomorrow's with today's first group); a PostgreSQL server
 * opens a missing file cheaply, and is left as it is.
 */
export async function makeCheckinDays(db: Db, from: Date, to: Date): Promise<void> {
  await db.query('SELECT checkin_days($1, $2)', [from, to]);
  if (db.engine !== 'pglite') return;
  const starts = new Map<string, Date>();
  for (let d = dayOf(from); d <= dayOf(to); d++) {
    const start = new Date(d * DAY_MS);
    starts.set(`checkins_${start.toISOString().slice(0, 10).replace(/-/g, '')}`, start);
  }
  const bare = await db.query<{ name: string }>(
    `SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
      WHERE i.inhparent = 'checkins'::regclass AND c.relname = ANY($1::text[])
        AND EXISTS (SELECT 1 FROM pg_index x WHERE x.indrelid = c.oid AND pg_relation_size(x.indexrelid, 'fsm') = 0)`,
    [[...starts.keys()]],
  );
  for (const { name } of bare) {
    // A partition already holding scans is left as it is: a VACUUM of a whole day's scans is not worth the saving.
    const [{ empty }] = await db.query<{ empty: boolean }>(`SELECT NOT EXISTS (SELECT 1 FROM ${name}) AS empty`);
    if (!empty) continue;
    // Negative person ids mark the rows put in here: a scan written meanwhile is never among those taken out.
    await db.tx(async (q) => {
      await q.query(`INSERT INTO ${name} (venue_id, person_id, scanned_at, source) SELECT g % 100, -g, $1, 'import' FROM generate_series(1, 2000) AS g`, [starts.get(name)]);
      await q.query(`DELETE FROM ${name} WHERE person_id < 0`);
    });
    await db.exec(`VACUUM ${name}`);
    await db.query('SELECT txid_current()');
    await db.exec(`VACUUM ${name}`);
  }
}

/** The UTC day of an instant, as days since 1970. */
export const dayOf = (at: Date): number => Math.floor(at.getTime() / DAY_MS);
