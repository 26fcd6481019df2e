// Derived statuses are recomputed from facts. A capability that records a fact about persons marks them
// here in the same transaction, and the status capability recomputes them: facts flow one way, and a
// status can never be left behind by a fact that committed.
import type { Queryable } from './db.ts';

export async function markStatusStale(q: Queryable, personIds: Iterable<number>, now: Date): Promise<void> {
  const ids = [...new Set(personIds)];
  if (!ids.length) return;
  // PGlite runs one transaction at a time: no other can mark a person between the read of those marked and the
  // insert, so the insert needs no ON CONFLICT and its speculative insertion a row. The marked ones are read once
  // (EXCEPT reads both sides before it yields a row): as NOT EXISTS, the planner took a nested loop over a small
  // status_stale, which the insert itself grows, so it read the new rows again for each person (1,500 persons:
  // 71 ms instead of 5-8, .prof/s10/stalebench.ts). A PostgreSQL server runs many, hence ON CONFLICT there.
  if (q.engine === 'pglite')
    await q.query('INSERT INTO status_stale (person_id, since) SELECT x, $2 FROM (SELECT unnest($1::int[]) EXCEPT SELECT person_id FROM status_stale WHERE person_id = ANY($1::int[])) AS n(x)', [ids, now]);
  else await q.query('INSERT INTO status_stale (person_id, since) SELECT unnest($1::int[]), $2 ON CONFLICT (person_id) DO NOTHING', [ids, now]);
  // Copies kept in memory by this process (entrances) stop trusting these persons at once.
  for (const listener of listeners) listener(ids);
}

type Listener = (personIds: number[]) => void;
const listeners = new Set<Listener>();

/** Hears every person marked stale by this process; returns the way to stop. */
export function onStatusStale(listener: Listener): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}
