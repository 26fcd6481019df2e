// The tube counts as the facts give them, to compare with what the triggers kept (migrations/019).
import type { Queryable } from '../core/db.ts';
import { TUBE_COUNTS } from './counts.ts';

type Row = { hour: string; point: number; tubes: number; samples: number; resulted: number; positive: number };

/** Non-zero counts by (hour, point), ordered: kept (folded and not), and recounted from tubes and results. */
export async function tubeCountsBothWays(q: Queryable): Promise<{ kept: Row[]; recounted: Row[] }> {
  const kept = await q.query<Row>(
    `SELECT to_char(hour AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24') AS hour, sampling_point_id AS point, sum(tubes)::int AS tubes, sum(samples)::int AS samples,
            sum(resulted)::int AS resulted, sum(positive)::int AS positive
       FROM ${TUBE_COUNTS} c GROUP BY 1, 2 HAVING sum(tubes) <> 0 OR sum(samples) <> 0 OR sum(resulted) <> 0 OR sum(positive) <> 0 ORDER BY 1, 2`,
  );
  const recounted = await q.query<Row>(
    `SELECT to_char(t.opened_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24') AS hour, coalesce(t.sampling_point_id, 0) AS point, count(*)::int AS tubes, sum(t.samples)::int AS samples,
            count(r.verdict)::int AS resulted, (count(*) FILTER (WHERE r.verdict = 'positive'))::int AS positive
       FROM tubes t LEFT JOIN LATERAL (SELECT verdict FROM lab_results lr WHERE lr.tube_id = t.id AND lr.state = 'applied' LIMIT 1) r ON true
      GROUP BY 1, 2 ORDER BY 1, 2`,
  );
  return { kept, recounted };
}
