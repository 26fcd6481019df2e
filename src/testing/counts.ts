// Tubes counted by sampling point and hour opened, with their results in force (migrations/019): what the
// figures and alerts that read tubes by the day read instead of every tube.
import type { Queryable } from '../core/db.ts';

/** Every count as rows (hour, sampling_point_id, tubes, samples, resulted, positive): those folded and those not yet. */
export const TUBE_COUNTS = '(SELECT * FROM tube_counts UNION ALL SELECT * FROM tube_count_changes)';

/** Moves the changes the triggers appended into tube_counts, so that readers add few rows; the number moved. */
export async function foldTubeCounts(q: Queryable): Promise<number> {
  const [{ n }] = await q.query<{ n: number }>('SELECT fold_tube_counts() AS n');
  return n;
}
