// The daily figures per district that the dashboard and the bulletin read, kept in daily_stats by the
// server's job: at first every day since the first fact, then, every minute, the last two local days (late
// results and corrections land there). A page view reads these few rows and never scans the facts.
import type { Db, Queryable } from '../core/db.ts';
import type { Preset } from '../core/presets.ts';
import { quarantineTimeliness } from '../tracing/index.ts';
import { societyCasesByDay } from '../zoning/index.ts';
import { addDays, localDay } from '../core/days.ts';
import { TUBE_COUNTS, foldTubeCounts } from '../testing/index.ts';

// Each metric is one aggregate over the facts of days >= $1 (a local date), days counted in time zone $2:
// rows of (metric, day, district_id, value). District 0 holds facts without a district.
const METRICS = [
  // New cases by the day they were reported, by the district they lived in.
  `SELECT 'cases.' || classification, (reported_at AT TIME ZONE $2)::date, coalesce(district_id, 0), count(*)
     FROM cases WHERE reported_at >= ($1::date::timestamp AT TIME ZONE $2) GROUP BY 1, 2, 3`,
  `SELECT 'cases.discharged', (discharged_at AT TIME ZONE $2)::date, coalesce(district_id, 0), count(*)
     FROM cases WHERE discharged_at >= ($1::date::timestamp AT TIME ZONE $2) GROUP BY 1, 2, 3`,
  `SELECT 'cases.died', (died_at AT TIME ZONE $2)::date, coalesce(district_id, 0), count(*)
     FROM cases WHERE died_at >= ($1::date::timestamp AT TIME ZONE $2) GROUP BY 1, 2, 3`,
  // Tests by the day the tube was opened at a sampling point of the district; positivity from its result
  // (counted by the hour opened, kept as tubes and results are recorded: src/testing/counts.ts).
  `SELECT m.metric, x.day, x.district_id, CASE m.metric WHEN 'tests.tubes' THEN x.tubes WHEN 'tests.persons' THEN x.persons WHEN 'tests.resulted' THEN x.resulted ELSE x.positive END
     FROM (SELECT (c.hour AT TIME ZONE $2)::date AS day, coalesce(sp.district_id, 0) AS district_id, sum(c.tubes) AS tubes, sum(c.samples) AS persons,
                  sum(c.resulted) AS resulted, sum(c.positive) AS positive
             FROM ${TUBE_COUNTS} c LEFT JOIN sampling_points sp ON sp.id = c.sampling_point_id
            WHERE c.hour >= ($1::date::timestamp AT TIME ZONE $2) GROUP BY 1, 2 HAVING sum(c.tubes) > 0) x
     CROSS JOIN (VALUES ('tests.tubes'), ('tests.persons'), ('tests.resulted'), ('tests.positive')) AS m(metric)`,
  // Contacts by the day they were found, by where they live.
  `SELECT 'contacts.' || c.level, (c.found_at AT TIME ZONE $2)::date, coalesce(p.district_id, 0), count(*)
     FROM contacts c LEFT JOIN persons p ON p.id = c.person_id WHERE c.found_at >= ($1::date::timestamp AT TIME ZONE $2) GROUP BY 1, 2, 3`,
  `SELECT 'quarantine.orders', (o.issued_at AT TIME ZONE $2)::date, coalesce(p.district_id, 0), count(*)
     FROM quarantine_orders o LEFT JOIN persons p ON p.id = o.person_id WHERE o.issued_at >= ($1::date::timestamp AT TIME ZONE $2) GROUP BY 1, 2, 3`,
  // Beds taken and given back by the facility's district and the kind of bed.
  `SELECT CASE WHEN e.kind = 'bedTaken' THEN 'beds.taken.' ELSE 'beds.released.' END || CASE WHEN e.bed_type = 'icu' THEN 'icu' ELSE f.kind END,
          (e.at AT TIME ZONE $2)::date, f.district_id, count(*)
     FROM case_events e JOIN facilities f ON f.id = e.facility_id
    WHERE e.kind IN ('bedTaken', 'bedReleased') AND e.at >= ($1::date::timestamp AT TIME ZONE $2) GROUP BY 1, 2, 3`,
];

/**
 * Brings daily_stats up to date: every day from the first fact when it has never run (or when `fromDay`
 * is given), otherwise yesterday and today. Returns the first day recomputed and the rows written.
 */
export async function refreshStats(db: Db, preset: Preset, now: Date, fromDay?: string): Promise<{ fromDay: string; rows: number }> {
  const tz = preset.reporting.timeZone;
  const today = localDay(now, tz);
  let from = fromDay;
  if (!from) {
    const [state] = await db.query<{ complete_from: string | null }>(`SELECT to_char(complete_from, 'YYYY-MM-DD') AS complete_from FROM stats_state`);
    if (state?.complete_from) from = addDays(today, -1);
    else {
      const [first] = await db.query<{ day: string | null }>(
        `SELECT to_char((least((SELECT min(reported_at) FROM cases), (SELECT min(opened_at) FROM tubes), (SELECT min(found_at) FROM contacts),
                                (SELECT min(issued_at) FROM quarantine_orders)) AT TIME ZONE $1)::date, 'YYYY-MM-DD') AS day`,
        [tz],
      );
      from = first.day && first.day < today ? first.day : today;
    }
  }
  const fromDate = from;
  await foldTubeCounts(db);
  return db.tx(async (q) => {
    await q.query('DELETE FROM daily_stats WHERE day >= $1', [fromDate]);
    let rows = 0;
    for (const sql of METRICS) {
      const r = await q.query<{ n: number }>(`WITH x(metric, day, district_id, value) AS (${sql}) , ins AS (INSERT INTO daily_stats SELECT * FROM x RETURNING 1) SELECT count(*)::int AS n FROM ins`, [fromDate, tz]);
      rows += r[0].n;
    }
    rows += await timeliness(q, fromDate, tz);
    // Society-level cases, as zoning classified them at detection.
    const society = await societyCasesByDay(q, fromDate, tz);
    if (society.length) {
      await q.query(
        `INSERT INTO daily_stats SELECT 'cases.society', x.day, x.district_id, x.value FROM jsonb_to_recordset($1::jsonb) AS x(day date, district_id int, value float8)`,
        [JSON.stringify(society.map((r) => ({ day: typeof r.day === 'string' ? r.day : new Date(r.day).toISOString().slice(0, 10), district_id: r.districtId, value: r.n })))],
      );
      rows += society.length;
    }
    await q.query(
      `INSERT INTO stats_state (one, refreshed_at, complete_from) VALUES (true, $1, $2) ON CONFLICT (one) DO UPDATE SET refreshed_at = $1, complete_from = least(stats_state.complete_from, $2::date)`,
      [now, fromDate],
    );
    return { fromDay: fromDate, rows };
  });
}

// 四早 per day of the case report: close contacts of the day's cases, and those in quarantine within 24 h.
async function timeliness(q: Queryable, fromDay: string, tz: string): Promise<number> {
  const [{ start }] = await q.query<{ start: Date }>(`SELECT ($1::date::timestamp AT TIME ZONE $2) AS start`, [fromDay, tz]);
  const rows = await quarantineTimeliness(q, new Date(start), new Date('9999-01-01T00:00:00Z'), tz);
  if (!rows.length) return 0;
  const values = rows.flatMap((r) => [
    { metric: 'contacts.closeOfCases', day: r.day, district_id: r.districtId ?? 0, value: r.closeContacts },
    { metric: 'contacts.within24h', day: r.day, district_id: r.districtId ?? 0, value: r.within24h },
  ]);
  await q.query(
    `INSERT INTO daily_stats SELECT x.metric, x.day, x.district_id, x.value FROM jsonb_to_recordset($1::jsonb) AS x(metric text, day date, district_id int, value float8)
     ON CONFLICT (metric, day, district_id) DO UPDATE SET value = daily_stats.value + EXCLUDED.value`,
    [JSON.stringify(values)],
  );
  return values.length;
}
