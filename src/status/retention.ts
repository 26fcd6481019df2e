// Retention of entrance scans: where every person of the city went, kept only as long as tracing can use it
// (the preset's entry.scanRetentionDays, at least its co-location look-back). A day past it is dropped whole:
// its partition (migrations/017) goes at once, without a DELETE of every scan, and the scans of such days
// kept in checkins_other are deleted. Each day removed is an audit entry naming the day and its scans.
import type { Db } from '../core/db.ts';
import { appendAudit } from '../core/audit.ts';
import { presetLabel, type Preset } from '../core/presets.ts';
import { DAY_MS } from '../core/days.ts';

/** The first UTC day whose scans are kept at `now`: today and the preset's days before it. */
export function scansKeptFrom(now: Date, preset: Preset): Date {
  return new Date((Math.floor(now.getTime() / DAY_MS) - preset.entry.scanRetentionDays) * DAY_MS);
}

export interface RemovedScans {
  /** A day dropped whole ('YYYY-MM-DD'), or 'before YYYY-MM-DD' for the scans deleted from checkins_other. */
  day: string;
  scans: number;
}

/**
 * Removes the scans of the days before scansKeptFrom(now), the oldest first. A day that another transaction
 * is reading (a trace running) ends the run within 100 ms, and it and the later days wait for the next run:
 * dropping a partition locks checkins, and every check-in would wait behind it.
 */
export async function removeExpiredScans(db: Db, preset: Preset, now: Date): Promise<RemovedScans[]> {
  const keptFrom = scansKeptFrom(now, preset);
  const keptDay = keptFrom.toISOString().slice(0, 10);
  const partitions = await db.query<{ name: string }>(
    `SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
      WHERE i.inhparent = 'checkins'::regclass AND c.relname ~ '^checkins_[0-9]{8}$' ORDER BY c.relname`,
  );
  const removed: RemovedScans[] = [];
  const detail = { keptFrom: keptDay, retentionDays: preset.entry.scanRetentionDays, preset: presetLabel(preset) };
  for (const { name } of partitions) {
    const day = `${name.slice(9, 13)}-${name.slice(13, 15)}-${name.slice(15, 17)}`;
    if (day >= keptDay) break;
    const scans = await db
      .tx(async (q) => {
        await q.query("SET LOCAL lock_timeout = '100ms'");
        const [{ n }] = await q.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${name}`);
        await q.query(`DROP TABLE ${name}`);
        await appendAudit(q, [{ actor: 'system', action: 'delete', entity: 'checkins', entityId: day, detail: { ...detail, scans: n } }], now);
        return n;
      })
      .catch((e: { code?: string }) => {
        if (e.code === '55P03') return null; // lock_not_available
        throw e;
      });
    if (scans === null) break;
    removed.push({ day, scans });
  }
  const other = await db.tx(async (q) => {
    const [{ n }] = await q.query<{ n: number }>('WITH d AS (DELETE FROM checkins_other WHERE scanned_at < $1 RETURNING 1) SELECT count(*)::int AS n FROM d', [keptFrom]);
    if (n) await appendAudit(q, [{ actor: 'system', action: 'delete', entity: 'checkins', entityId: `before ${keptDay}`, detail: { ...detail, scans: n, from: 'checkins_other' } }], now);
    return n;
  });
  if (other) removed.push({ day: `before ${keptDay}`, scans: other });
  return removed;
}
