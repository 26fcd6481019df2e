// Arrivals into the city (rules.md 11, 29-30): an inbound traveller, or an arrival from a high-, medium- or
// low-risk area elsewhere, recorded as a fact (migrations/021, 026). The status rules turn it into a colour
// that turns back by time (or, from a low-risk area, into tests asked for); recording one marks the person's
// status for recomputation, and issues the quarantine order the preset gives that kind of arrival, in the
// same transaction.
import type { Queryable } from '../core/db.ts';
import type { Preset } from '../core/presets.ts';
import { badRequest } from '../core/errors.ts';
import { markStatusStale } from '../core/stale.ts';
import { quarantineOrder, type OrderLevel } from './rules.ts';
import { holdOrdersOf, locateTasks, writeOrder } from './store.ts';

export const ARRIVAL_KINDS = ['inbound', 'highRisk', 'mediumRisk', 'lowRisk'] as const;
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

/** The order each kind of arrival gets: its preset key under quarantine (none from a low-risk area: tests instead, rules.md 11). */
const ORDER_LEVEL: Record<ArrivalKind, OrderLevel | null> = { inbound: 'inbound', highRisk: 'highRiskArrival', mediumRisk: 'mediumRiskArrival', lowRisk: null };

/**
 * The quarantine order that follows an arrival: issued (in place of an order in force that would end sooner),
 * or the order already in force that ends no sooner; null when the arrival's quarantine would be over already,
 * or its kind has none.
 */
export interface ArrivalOrder {
  id: number;
  issued: boolean;
  level: string;
  centralUntil: Date | null;
  homeUntil: Date | null;
  endsAt: Date;
}

const COLUMNS = `id, person_id AS "personId", kind, origin, arrived_at AS "arrivedAt", recorded_by AS "recordedBy", recorded_at AS "recordedAt"`;

export async function recordArrival(q: Queryable, a: { personId: number; kind: ArrivalKind; origin: string; arrivedAt: Date }, preset: Preset, by: string, now: Date): Promise<Arrival & { order: ArrivalOrder | null }> {
  const origin = a.origin.trim();
  if (!origin) throw badRequest('Say where the person arrived from (origin).', { code: 'originMissing' });
  if (a.arrivedAt.getTime() > now.getTime()) throw badRequest(`${a.arrivedAt.toISOString()} is still to come: record an arrival once it has happened.`, { code: 'arrivalAhead', arrivedAt: a.arrivedAt.toISOString() });
  const [row] = await q.query<Arrival>(
    `INSERT INTO arrivals (person_id, kind, origin, arrived_at, recorded_by, recorded_at) VALUES ($1, $2, $3, $4, $5, $6) RETURNING ${COLUMNS}`,
    [a.personId, a.kind, origin, a.arrivedAt, by, now],
  );
  await markStatusStale(q, [a.personId], now);
  return { ...row, id: Number(row.id), order: await orderFor(q, a.personId, a.kind, a.arrivedAt, preset, by, now) };
}

async function orderFor(q: Queryable, personId: number, kind: ArrivalKind, arrivedAt: Date, preset: Preset, by: string, now: Date): Promise<ArrivalOrder | null> {
  const level = ORDER_LEVEL[kind];
  if (!level) return null;
  const o = quarantineOrder(level, arrivedAt, preset);
  if (o.endsAt.getTime() <= now.getTime()) return null;
  await holdOrdersOf(q, [personId]);
  const [open] = await q.query<{ id: number; level: string; central_until: Date | null; home_until: Date | null; ends_at: Date }>(
    'SELECT id, level, central_until, home_until, ends_at FROM quarantine_orders WHERE person_id = $1 AND released_at IS NULL AND superseded_by IS NULL',
    [personId],
  );
  if (open && new Date(open.ends_at).getTime() >= o.endsAt.getTime()) {
    return { id: Number(open.id), issued: false, level: open.level, centralUntil: open.central_until && new Date(open.central_until), homeUntil: open.home_until && new Date(open.home_until), endsAt: new Date(open.ends_at) };
  }
  const id = await writeOrder(q, personId, o, arrivedAt, open ? Number(open.id) : null, preset, by, now);
  const who = kind === 'inbound' ? 'inbound traveller' : `arrival from a ${kind === 'highRisk' ? 'high' : 'medium'}-risk area`;
  if (o.centralUntil) await locateTasks(q, [{ personId, orderId: id, who, source: { arrival: kind } }], preset, by, now);
  return { id, issued: true, level: o.level, centralUntil: o.centralUntil, homeUntil: o.homeUntil, endsAt: o.endsAt };
}

/** A person's arrivals, newest first. */
export async function arrivalsOf(q: Queryable, personId: number): Promise<Arrival[]> {
  return (await q.query<Arrival>(`SELECT ${COLUMNS} FROM arrivals WHERE person_id = $1 ORDER BY arrived_at DESC, id DESC`, [personId])).map((r) => ({ ...r, id: Number(r.id) }));
}
