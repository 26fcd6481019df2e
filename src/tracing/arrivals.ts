// Arrivals into the city (rules.md 11, 29-30): an inbound traveller, or an arrival from a high- or medium-risk
// area elsewhere, recorded as a fact (migrations/021). The status rules turn it into a colour that turns back
// by time; recording one marks the person's status for recomputation in the same transaction.
import type { Queryable } from '../core/db.ts';
import { badRequest } from '../core/errors.ts';
import { markStatusStale } from '../core/stale.ts';

export const ARRIVAL_KINDS = ['inbound', 'highRisk', 'mediumRisk'] as const;
export type ArrivalKind = (typeof ARRIVAL_KINDS)[number];

export interface Arrival {
  id: number;
  personId: number;
  kind: ArrivalKind;
  origin: string;
  arrivedAt: Date;
  recordedBy: string;
  recordedAt: Date;
}

const COLUMNS = `id, person_id AS "personId", kind, origin, arrived_at AS "arrivedAt", recorded_by AS "recordedBy", recorded_at AS "recordedAt"`;

export async function recordArrival(q: Queryable, a: { personId: number; kind: ArrivalKind; origin: string; arrivedAt: Date }, by: string, now: Date): Promise<Arrival> {
  const origin = a.origin.trim();
  if (!origin) throw badRequest('Say where the person arrived from (origin).', { code: 'originMissing' });
  if (a.arrivedAt.getTime() > now.getTime()) throw badRequest(`${a.arrivedAt.toISOString()} is still to come: record an arrival once it has happened.`, { code: 'arrivalAhead', arrivedAt: a.arrivedAt.toISOString() });
  const [row] = await q.query<Arrival>(
    `INSERT INTO arrivals (person_id, kind, origin, arrived_at, recorded_by, recorded_at) VALUES ($1, $2, $3, $4, $5, $6) RETURNING ${COLUMNS}`,
    [a.personId, a.kind, origin, a.arrivedAt, by, now],
  );
  await markStatusStale(q, [a.personId], now);
  return { ...row, id: Number(row.id) };
}

/** A person's arrivals, newest first. */
export async function arrivalsOf(q: Queryable, personId: number): Promise<Arrival[]> {
  return (await q.query<Arrival>(`SELECT ${COLUMNS} FROM arrivals WHERE person_id = $1 ORDER BY arrived_at DESC, id DESC`, [personId])).map((r) => ({ ...r, id: Number(r.id) }));
}
