// Tasks and alerts that capabilities create (a retest, a contact to locate, an overdue lab).
// Both are keyed by the fact that made them, so applying the same fact twice creates nothing new.
import type { Queryable } from './db.ts';

export interface NewTask {
  kind: string;
  title: string;
  districtId?: number | null;
  streetId?: number | null;
  team?: string | null;
  personIds?: number[];
  dueAt?: Date | null;
  source: Record<string, unknown>;
  dedupeKey: string;
}

/** Creates tasks (skipping those whose dedupeKey exists); returns how many are new. */
export async function createTasks(q: Queryable, tasks: NewTask[], now: Date, by: string): Promise<number> {
  if (!tasks.length) return 0;
  const rows = await q.query<{ id: number }>(
    `INSERT INTO tasks (kind, title, district_id, street_id, team, person_ids, due_at, source, dedupe_key, created_by, created_at, updated_at)
     SELECT t.kind, t.title, t.district_id, t.street_id, t.team, t.person_ids, t.due_at, t.source, t.dedupe_key, $2, $3, $3
       FROM jsonb_to_recordset($1::jsonb) AS t(kind text, title text, district_id int, street_id int, team text, person_ids int[], due_at timestamptz, source jsonb, dedupe_key text)
     ON CONFLICT (dedupe_key) DO NOTHING RETURNING id`,
    [
      JSON.stringify(
        tasks.map((t) => ({
          kind: t.kind,
          title: t.title,
          district_id: t.districtId ?? null,
          street_id: t.streetId ?? null,
          team: t.team ?? null,
          person_ids: t.personIds ?? [],
          due_at: t.dueAt?.toISOString() ?? null,
          source: t.source,
          dedupe_key: t.dedupeKey,
        })),
      ),
      by,
      now,
    ],
  );
  return rows.length;
}

export interface NewAlert {
  kind: string;
  severity: 'info' | 'warning' | 'critical';
  title: string;
  districtId?: number | null;
  streetId?: number | null;
  facts: Record<string, unknown>;
  assignee?: string | null;
  dedupeKey: string;
}

/** Raises an alert unless one with the same key is already there; returns whether it is new. */
export async function raiseAlert(q: Queryable, a: NewAlert, now: Date): Promise<boolean> {
  return (await raiseAlerts(q, [a], now)) > 0;
}

/** Raises alerts (skipping those whose dedupeKey exists), in one statement; returns how many are new. */
export async function raiseAlerts(q: Queryable, alerts: NewAlert[], now: Date): Promise<number> {
  if (!alerts.length) return 0;
  const rows = await q.query(
    `INSERT INTO alerts (kind, severity, title, district_id, street_id, facts, assignee, dedupe_key, raised_at)
     SELECT a.kind, a.severity, a.title, a.district_id, a.street_id, a.facts, a.assignee, a.dedupe_key, $2
       FROM jsonb_to_recordset($1::jsonb) AS a(kind text, severity text, title text, district_id int, street_id int, facts jsonb, assignee text, dedupe_key text)
     ON CONFLICT (dedupe_key) DO NOTHING RETURNING id`,
    [
      JSON.stringify(alerts.map((a) => ({ kind: a.kind, severity: a.severity, title: a.title, district_id: a.districtId ?? null, street_id: a.streetId ?? null, facts: a.facts, assignee: a.assignee ?? null, dedupe_key: a.dedupeKey }))),
      now,
    ],
  );
  return rows.length;
}
