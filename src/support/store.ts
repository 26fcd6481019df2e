// Livelihood in storage: requests with their steps, the escalation of overdue ones to the district, the
// resident's confirmation or complaint, suppliers and their record, and supply rounds to sealed compounds.
// The current state of a request is kept on its row; every step is a fact in support_request_events.
import type { Db, Queryable } from '../core/db.ts';
import { withinJurisdiction, type Principal } from '../core/auth.ts';
import type { Preset } from '../core/presets.ts';
import { badRequest, compoundUnknown, conflict, notFound, personIdUnknown } from '../core/errors.ts';
import { createTasks, raiseAlert, raiseAlerts, type NewAlert, type NewTask } from '../core/work.ts';
import { dispatchDecision, escalation, OPEN_STATUSES, requestProblem, terms, transition, type Colour, type ComplaintKind, type RequestKind, type RequestStatus } from './rules.ts';

export const OPEN_SQL = `(${OPEN_STATUSES.map((s) => `'${s}'`).join(', ')})`;

/**
 * Runs fn in a transaction whose planner walks indexes only (no sequential or bitmap heap scans). The queue
 * and the count of the not yet escalated are ordered walks of partial indexes; without this their plans
 * would follow table statistics, which PGlite never gathers by itself and which mislead both engines here
 * (a fresh table looks empty; an analyzed one hides how few rows the partial index holds).
 */
export function byIndex<T>(db: Db, fn: (q: Queryable) => Promise<T>): Promise<T> {
  return db.tx(async (q) => {
    await q.query('SET LOCAL enable_seqscan = off');
    await q.query('SET LOCAL enable_bitmapscan = off');
    return fn(q);
  });
}

/** A SQL condition keeping requests (or rounds, complaints: any alias with person_id, district_id, street_id) in the caller's reach. */
export function reachSql(p: Principal, alias: string, params: unknown[]): string {
  if (p.role === 'resident') return `${alias}.person_id = $${params.push(p.personId ?? -1)}`;
  if (p.streetId) return `${alias}.street_id = $${params.push(p.streetId)}`;
  if (p.districtId) return `${alias}.district_id = $${params.push(p.districtId)}`;
  return 'TRUE';
}

const requestUnknown = (requestId: number) => notFound(`Request ${requestId}`, { code: 'requestUnknown', requestId });

async function event(q: Queryable, requestId: number, kind: string, at: Date, by: string, detail: Record<string, unknown> = {}): Promise<void> {
  await q.query('INSERT INTO support_request_events (request_id, kind, at, detail, recorded_by) VALUES ($1,$2,$3,$4,$5)', [requestId, kind, at, JSON.stringify(detail), by]);
}

export interface NewRequest {
  personId: number;
  kind: RequestKind;
  details?: string | null;
  prescriptionDays?: number | null;
  onBehalf: boolean;
}

/** Files a request: priority and deadline from the kind, the street as owner, and the dispatch decision for the person's colour. */
export async function fileRequest(q: Queryable, r: NewRequest, colour: Colour, preset: Preset, by: string, now: Date): Promise<number> {
  const problem = requestProblem(r, preset);
  if (problem) {
    const { text, ...data } = problem;
    throw badRequest(text, data);
  }
  const [person] = await q.query<{ district_id: number | null; street_id: number | null; compound_id: number | null; household_id: number | null }>(
    'SELECT district_id, street_id, compound_id, household_id FROM persons WHERE id = $1',
    [r.personId],
  );
  if (!person) throw personIdUnknown(r.personId);
  const t = terms(r.kind, now, preset);
  const dispatch = dispatchDecision(r.kind, colour, preset);
  const [row] = await q.query<{ id: number }>(
    `INSERT INTO support_requests (person_id, kind, medical, priority, details, prescription_days, district_id, street_id, compound_id, household_id,
                                   status, created_at, deadline_at, dispatch, filed_by, on_behalf, preset, updated_at)
     VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,'open',$11,$12,$13,$14,$15,$16,$11) RETURNING id`,
    [r.personId, r.kind, t.medical, t.priority, r.details ?? null, r.prescriptionDays ?? null, person.district_id, person.street_id, person.compound_id, person.household_id,
      now, t.deadlineAt, JSON.stringify(dispatch), by, r.onBehalf, dispatch.preset],
  );
  const id = Number(row.id);
  await event(q, id, 'filed', now, by, { kind: r.kind, priority: t.priority, deadlineAt: t.deadlineAt.toISOString(), rule: t.rule, dispatch });
  return id;
}

interface LockedRequest {
  id: number;
  person_id: number;
  kind: RequestKind;
  medical: boolean;
  status: RequestStatus;
  district_id: number | null;
  street_id: number | null;
  supplier_id: number | null;
  feedback: string | null;
}

/** The request if the caller may reach it (locked for a change when `lock`); otherwise "not found". */
export async function requestFor(q: Queryable, p: Principal, id: number, lock = false): Promise<LockedRequest> {
  const params: unknown[] = [id];
  const [r] = await q.query<LockedRequest>(
    `SELECT id, person_id, kind, medical, status, district_id, street_id, supplier_id, feedback FROM support_requests r WHERE r.id = $1 AND ${reachSql(p, 'r', params)}${lock ? ' FOR UPDATE' : ''}`,
    params,
  );
  if (!r) throw requestUnknown(id);
  return { ...r, id: Number(r.id) };
}

async function supplierExists(q: Queryable, supplierId: number): Promise<void> {
  if (!(await q.query('SELECT 1 FROM suppliers WHERE id = $1', [supplierId])).length) throw badRequest(`Supplier ${supplierId} does not exist.`, { code: 'supplierUnknown', supplierId });
}

export interface Step {
  to: Exclude<RequestStatus, 'open'>;
  team?: string | null;
  supplierId?: number | null;
  reason?: string | null;
  note?: string | null;
}

/** Moves a request one step (accepted, on the way, done, refused). A refused medical request raises a critical alert for review. */
export async function moveRequest(q: Queryable, p: Principal, id: number, s: Step, by: string, now: Date): Promise<void> {
  const r = await requestFor(q, p, id, true);
  const ok = transition(r.status, s.to, r, { command: p.role === 'city_command' || p.role === 'district_command' });
  // requestStatus, not status: a problem's status is its HTTP status.
  if (!ok.ok) throw conflict(ok.why, { code: ok.code, requestStatus: r.status, requestedStatus: s.to });
  if (s.to === 'refused' && !s.reason) throw badRequest('A refusal needs a reason.', { code: 'refusalReasonNeeded' });
  if (s.supplierId) await supplierExists(q, s.supplierId);
  const col = { accepted: 'accepted_at', onTheWay: 'on_the_way_at', done: 'done_at', refused: 'refused_at' }[s.to];
  await q.query(
    `UPDATE support_requests SET status = $2, ${col} = $3, answered_at = coalesce(answered_at, $3), team = coalesce($4, team), supplier_id = coalesce($5, supplier_id),
            refusal = CASE WHEN $2 = 'refused' THEN $6 ELSE refusal END, updated_at = $3 WHERE id = $1`,
    [id, s.to, now, s.team ?? null, s.supplierId ?? null, s.reason ?? null],
  );
  await event(q, id, s.to, now, by, { team: s.team ?? undefined, supplierId: s.supplierId ?? undefined, reason: s.reason ?? undefined, note: s.note ?? undefined });
  if (ok.review) {
    await raiseAlert(q, {
      kind: 'supportMedicalRefused',
      severity: 'critical',
      title: `A medical request (${r.kind}) was refused: review it`,
      districtId: r.district_id,
      streetId: r.street_id,
      facts: { requestId: id, personId: r.person_id, kind: r.kind, reason: s.reason, by },
      dedupeKey: `support:${id}:refused`,
    }, now);
  }
}

/** The resident's word at the end: a confirmation, or a complaint that lands on the supplier's record and reaches the district. */
export async function giveFeedback(q: Queryable, p: Principal, id: number, f: { outcome: 'confirmed' | 'complaint'; kind?: ComplaintKind; text?: string | null }, by: string, now: Date): Promise<{ complaintId: number | null }> {
  const r = await requestFor(q, p, id, true);
  if (r.status !== 'done' && r.status !== 'refused') throw conflict(`Request ${id} is ${r.status}: a confirmation or complaint comes at the end.`, { code: 'feedbackAtEnd', requestId: id, requestStatus: r.status });
  if (r.feedback) throw conflict(`Request ${id} already has the resident's ${r.feedback}.`, { code: 'feedbackGiven', requestId: id });
  let complaintId: number | null = null;
  if (f.outcome === 'complaint') {
    if (!f.kind || !f.text) throw badRequest('A complaint needs its kind and text.', { code: 'complaintIncomplete' });
    complaintId = await fileComplaint(q, { supplierId: r.supplier_id, requestId: id, personId: r.person_id, districtId: r.district_id, streetId: r.street_id, kind: f.kind, text: f.text }, by, now);
  }
  await q.query('UPDATE support_requests SET feedback = $2, feedback_at = $3, updated_at = $3 WHERE id = $1', [id, f.outcome, now]);
  await event(q, id, f.outcome, now, by, { complaintId: complaintId ?? undefined, kind: f.kind, text: f.text ?? undefined });
  return { complaintId };
}

interface NewComplaint {
  supplierId: number | null;
  requestId?: number | null;
  roundId?: number | null;
  householdId?: number | null;
  personId?: number | null;
  districtId: number | null;
  streetId: number | null;
  kind: ComplaintKind;
  text: string;
}

async function fileComplaint(q: Queryable, c: NewComplaint, by: string, now: Date): Promise<number> {
  const [row] = await q.query<{ id: number }>(
    `INSERT INTO supply_complaints (supplier_id, request_id, round_id, household_id, person_id, district_id, street_id, kind, text, filed_by, filed_at)
     VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11) RETURNING id`,
    [c.supplierId, c.requestId ?? null, c.roundId ?? null, c.householdId ?? null, c.personId ?? null, c.districtId, c.streetId, c.kind, c.text, by, now],
  );
  const id = Number(row.id);
  const [s] = c.supplierId ? await q.query<{ name: string }>('SELECT name FROM suppliers WHERE id = $1', [c.supplierId]) : [];
  await raiseAlert(q, {
    kind: 'supplyComplaint',
    severity: 'warning',
    title: `Complaint (${c.kind}) about ${s ? `supplier ${s.name}` : "the street's own delivery"}`,
    districtId: c.districtId,
    streetId: c.streetId,
    facts: { complaintId: id, supplierId: c.supplierId, supplierName: s?.name ?? null, requestId: c.requestId ?? null, roundId: c.roundId ?? null, kind: c.kind },
    dedupeKey: `supply-complaint:${id}`,
  }, now);
  return id;
}

/**
 * The server's periodic job: every request past its deadline and not yet escalated goes to its district,
 * as a task (due within the kind's deadline again) and an alert, in batches. Running it twice escalates
 * nothing twice. Returns how many were escalated.
 */
export async function escalateOverdue(db: Db, preset: Preset, now: Date, batch = 1000): Promise<{ escalated: number }> {
  let escalated = 0;
  for (;;) {
    const n = await db.tx(async (q) => {
      const rows = await q.query<{ id: number; person_id: number; kind: RequestKind; medical: boolean; deadline_at: Date; district_id: number | null; street_id: number | null }>(
        `SELECT id, person_id, kind, medical, deadline_at, district_id, street_id FROM support_requests
          WHERE status IN ${OPEN_SQL} AND escalated_at IS NULL AND deadline_at < $1 ORDER BY deadline_at LIMIT $2 FOR UPDATE SKIP LOCKED`,
        [now, batch],
      );
      if (!rows.length) return 0;
      const ids = rows.map((r) => Number(r.id));
      await q.query('UPDATE support_requests SET escalated_at = $2, updated_at = $2 WHERE id = ANY($1)', [ids, now]);
      const tasks: NewTask[] = [];
      const alerts: NewAlert[] = [];
      const events: { id: number; detail: unknown }[] = [];
      for (const r of rows) {
        const id = Number(r.id);
        const e = escalation({ id, kind: r.kind, medical: r.medical, deadlineAt: new Date(r.deadline_at) }, preset, now);
        const facts = { requestId: id, personId: r.person_id, kind: r.kind, streetId: r.street_id, deadlineAt: new Date(r.deadline_at).toISOString(), overdueMinutes: e.overdueMinutes, rule: e.rule };
        tasks.push({ kind: 'supportEscalation', title: `Overdue ${r.kind} request ${id}: ${e.overdueMinutes} min past its deadline`, districtId: r.district_id, streetId: null, personIds: [r.person_id], dueAt: e.dueAt, source: facts, dedupeKey: `support:${id}:escalation` });
        alerts.push({ kind: 'supportOverdue', severity: e.severity, title: `Request ${id} (${r.kind}) is past its deadline`, districtId: r.district_id, streetId: r.street_id, facts, dedupeKey: `support:${id}:overdue` });
        events.push({ id, detail: { toDistrict: r.district_id, severity: e.severity, dueAt: e.dueAt.toISOString(), overdueMinutes: e.overdueMinutes, rule: e.rule } });
      }
      await createTasks(q, tasks, now, 'system:support-escalation');
      await raiseAlerts(q, alerts, now);
      await q.query(
        `INSERT INTO support_request_events (request_id, kind, at, detail, recorded_by)
         SELECT e.id, 'escalated', $2, e.detail, 'system:support-escalation' FROM jsonb_to_recordset($1::jsonb) AS e(id bigint, detail jsonb)`,
        [JSON.stringify(events), now],
      );
      return rows.length;
    });
    escalated += n;
    if (n < batch) return { escalated };
  }
}

export interface QueueItem {
  id: number;
  personId: number;
  name: string;
  phone: string | null;
  kind: RequestKind;
  medical: boolean;
  priority: number;
  status: RequestStatus;
  details: string | null;
  prescriptionDays: number | null;
  districtId: number | null;
  streetId: number | null;
  compoundId: number | null;
  compound: string | null;
  team: string | null;
  createdAt: string;
  deadlineAt: string;
  overdue: boolean;
  /** Minutes to the deadline (negative once past). */
  minutesLeft: number;
  escalatedAt: string | null;
  colour: Colour;
  precautions: string[];
  feedback: 'confirmed' | 'complaint' | null;
}

const queueColumns = `r.id, r.person_id AS "personId", p.name, p.phone, r.kind, r.medical, r.priority, r.status, r.details, r.prescription_days AS "prescriptionDays",
  r.district_id AS "districtId", r.street_id AS "streetId", r.compound_id AS "compoundId", c.name AS compound, r.team,
  r.created_at AS "createdAt", r.deadline_at AS "deadlineAt", r.deadline_at < $1 AS overdue,
  floor(extract(epoch FROM (r.deadline_at - $1::timestamptz)) / 60)::int AS "minutesLeft", r.escalated_at AS "escalatedAt",
  r.dispatch ->> 'colour' AS colour, ARRAY(SELECT jsonb_array_elements_text(r.dispatch -> 'precautions')) AS precautions, r.feedback`;

/**
 * Requests still to be served in the caller's reach, emergencies first and then the nearest deadline
 * (`overdueOnly`: those past it). Each priority is walked on its own partial index, so the answer takes
 * `limit` index entries per priority however many requests are open.
 */
export async function requestQueue(db: Db, p: Principal, preset: Preset, now: Date, opts: { overdueOnly?: boolean; limit?: number } = {}): Promise<QueueItem[]> {
  const limit = opts.limit ?? 100;
  const priorities = [...new Set(Object.values(preset.support.priority as Record<string, number>))].sort((a, b) => a - b);
  const params: unknown[] = [now, limit, priorities];
  const reach = reachSql(p, 'r', params);
  const rows = await byIndex(db, (q) => q.query<QueueItem>(
    `SELECT ${queueColumns}
       FROM unnest($3::int[]) AS k(priority)
       CROSS JOIN LATERAL (SELECT r.* FROM support_requests r
                            WHERE r.status IN ${OPEN_SQL} AND r.priority = k.priority AND ${reach}${opts.overdueOnly ? ' AND r.deadline_at < $1' : ''}
                            ORDER BY r.deadline_at, r.id LIMIT $2) r
       JOIN persons p ON p.id = r.person_id LEFT JOIN compounds c ON c.id = r.compound_id
      ORDER BY r.priority, r.deadline_at, r.id LIMIT $2`,
    params,
  ));
  return rows.map((r) => ({ ...r, id: Number(r.id), createdAt: iso(r.createdAt)!, deadlineAt: iso(r.deadlineAt)!, escalatedAt: iso(r.escalatedAt) }));
}

const iso = (d: unknown) => (d ? new Date(d as string).toISOString() : null);

/** A person's own requests (a resident's view), newest first, every status. */
export async function requestsOfPerson(q: Queryable, personId: number, now: Date, limit = 50): Promise<QueueItem[]> {
  const rows = await q.query<QueueItem>(
    `SELECT ${queueColumns} FROM support_requests r JOIN persons p ON p.id = r.person_id LEFT JOIN compounds c ON c.id = r.compound_id
      WHERE r.person_id = $2 ORDER BY r.created_at DESC, r.id DESC LIMIT $3`,
    [now, personId, limit],
  );
  return rows.map((r) => ({ ...r, id: Number(r.id), overdue: r.overdue && OPEN_STATUSES.includes(r.status), createdAt: iso(r.createdAt)!, deadlineAt: iso(r.deadlineAt)!, escalatedAt: iso(r.escalatedAt) }));
}

/** One request with every step. */
export async function requestDetail(q: Queryable, id: number, now: Date) {
  const [r] = await q.query<Record<string, any>>(
    `SELECT r.*, p.name, p.phone, c.name AS compound, s.name AS supplier_name, r.deadline_at < $2 AND r.status IN ${OPEN_SQL} AS overdue
       FROM support_requests r JOIN persons p ON p.id = r.person_id LEFT JOIN compounds c ON c.id = r.compound_id LEFT JOIN suppliers s ON s.id = r.supplier_id WHERE r.id = $1`,
    [id, now],
  );
  if (!r) throw requestUnknown(id);
  const events = await q.query('SELECT id, kind, at, detail, recorded_by AS "recordedBy" FROM support_request_events WHERE request_id = $1 ORDER BY id', [id]);
  return {
    id: Number(r.id),
    personId: r.person_id as number,
    name: r.name as string,
    phone: r.phone as string | null,
    kind: r.kind as RequestKind,
    medical: r.medical as boolean,
    priority: r.priority as number,
    status: r.status as RequestStatus,
    details: r.details as string | null,
    prescriptionDays: r.prescription_days as number | null,
    place: { districtId: r.district_id, streetId: r.street_id, compoundId: r.compound_id, compound: r.compound as string | null, householdId: r.household_id },
    team: r.team as string | null,
    supplier: r.supplier_id === null ? null : { id: r.supplier_id as number, name: r.supplier_name as string },
    createdAt: iso(r.created_at),
    deadlineAt: iso(r.deadline_at),
    overdue: r.overdue as boolean,
    answeredAt: iso(r.answered_at),
    acceptedAt: iso(r.accepted_at),
    onTheWayAt: iso(r.on_the_way_at),
    doneAt: iso(r.done_at),
    refusedAt: iso(r.refused_at),
    refusal: r.refusal as string | null,
    escalatedAt: iso(r.escalated_at),
    dispatch: r.dispatch,
    feedback: r.feedback as string | null,
    feedbackAt: iso(r.feedback_at),
    onBehalf: r.on_behalf as boolean,
    filedBy: r.filed_by as string,
    events,
  };
}

// --- suppliers --------------------------------------------------------------------------------------------

export async function createSupplier(q: Queryable, s: { name: string; districtId?: number | null; contact?: string | null }, by: string, now: Date): Promise<number> {
  const [row] = await q.query<{ id: number }>(
    'INSERT INTO suppliers (name, district_id, contact, created_by, created_at) VALUES ($1,$2,$3,$4,$5) ON CONFLICT DO NOTHING RETURNING id',
    [s.name, s.districtId ?? null, s.contact ?? null, by, now],
  );
  if (!row) throw conflict(`A supplier named "${s.name}" exists already.`, { code: 'supplierExists', name: s.name });
  return row.id;
}

/** Suppliers with what they delivered (requests done, round households served) and the complaints on their record. */
export async function supplierRecords(q: Queryable, districtId: number | null, supplierId?: number) {
  const params: unknown[] = [];
  const where: string[] = [];
  if (districtId !== null) where.push(`(s.district_id IS NULL OR s.district_id = $${params.push(districtId)})`);
  if (supplierId !== undefined) where.push(`s.id = $${params.push(supplierId)}`);
  const rows = await q.query<{ id: number; name: string; districtId: number | null; contact: string | null; requestsDone: number; householdsServed: number; packagesDelivered: number; complaints: number; byKind: Record<string, number> | null }>(
    `SELECT s.id, s.name, s.district_id AS "districtId", s.contact,
            (SELECT count(*)::int FROM support_requests r WHERE r.supplier_id = s.id AND r.status = 'done') AS "requestsDone",
            (SELECT count(*)::int FROM supply_rounds sr JOIN supply_round_households h ON h.round_id = sr.id WHERE sr.supplier_id = s.id AND h.packages_delivered > 0) AS "householdsServed",
            (SELECT coalesce(sum(h.packages_delivered), 0)::int FROM supply_rounds sr JOIN supply_round_households h ON h.round_id = sr.id WHERE sr.supplier_id = s.id) AS "packagesDelivered",
            (SELECT count(*)::int FROM supply_complaints c WHERE c.supplier_id = s.id) AS complaints,
            (SELECT jsonb_object_agg(k.kind, k.n) FROM (SELECT c.kind, count(*)::int AS n FROM supply_complaints c WHERE c.supplier_id = s.id GROUP BY c.kind) k) AS "byKind"
       FROM suppliers s ${where.length ? 'WHERE ' + where.join(' AND ') : ''} ORDER BY s.name`,
    params,
  );
  return rows.map((r) => {
    const deliveries = r.requestsDone + r.householdsServed;
    return { ...r, byKind: r.byKind ?? {}, deliveries, complaintsPer100: deliveries ? Math.round((r.complaints / deliveries) * 1000) / 10 : null };
  });
}

export async function supplierComplaints(q: Queryable, supplierId: number, limit = 100) {
  return q.query(
    `SELECT c.id, c.kind, c.text, c.request_id AS "requestId", c.round_id AS "roundId", c.household_id AS "householdId", c.street_id AS "streetId", c.filed_at AS "filedAt"
       FROM supply_complaints c WHERE c.supplier_id = $1 ORDER BY c.filed_at DESC, c.id DESC LIMIT $2`,
    [supplierId, limit],
  );
}

// --- supply rounds ------------------------------------------------------------------------------------------

export interface NewRound {
  compoundId: number;
  supplierId: number;
  contents: string;
  plannedFor: Date;
  packagesPerHousehold: number;
}

/** Plans a round to a compound: its households as the registry has them now, each with its packages. */
export async function createRound(q: Queryable, p: Principal, r: NewRound, by: string, now: Date): Promise<number> {
  const [c] = await q.query<{ id: number; street_id: number; district_id: number }>('SELECT id, street_id, district_id FROM compounds WHERE id = $1', [r.compoundId]);
  if (!c || !withinJurisdiction(p, { districtId: c.district_id, streetId: c.street_id })) throw compoundUnknown(r.compoundId);
  await supplierExists(q, r.supplierId);
  const [row] = await q.query<{ id: number }>(
    'INSERT INTO supply_rounds (compound_id, district_id, street_id, supplier_id, contents, planned_for, created_by, created_at) VALUES ($1,$2,$3,$4,$5,$6,$7,$8) RETURNING id',
    [c.id, c.district_id, c.street_id, r.supplierId, r.contents, r.plannedFor, by, now],
  );
  const households = await q.query(
    `INSERT INTO supply_round_households (round_id, household_id, residents, packages_planned)
     SELECT $1, h.id, (SELECT count(*)::int FROM persons p WHERE p.household_id = h.id), $3 FROM households h WHERE h.compound_id = $2 RETURNING household_id`,
    [row.id, c.id, r.packagesPerHousehold],
  );
  if (!households.length) throw conflict(`Compound ${r.compoundId} has no households in the registry.`, { code: 'compoundWithoutHouseholds', compoundId: r.compoundId });
  return row.id;
}

/** A round if the caller may reach it (by the compound's street and district). */
export async function roundFor(q: Queryable, p: Principal, id: number, lock = false): Promise<{ id: number; status: string; supplier_id: number; district_id: number; street_id: number; compound_id: number }> {
  const params: unknown[] = [id];
  const reach = p.role === 'resident' ? 'TRUE' : reachSql(p, 'r', params);
  const [r] = await q.query<{ id: number; status: string; supplier_id: number; district_id: number; street_id: number; compound_id: number }>(
    `SELECT id, status, supplier_id, district_id, street_id, compound_id FROM supply_rounds r WHERE r.id = $1 AND ${reach}${lock ? ' FOR UPDATE' : ''}`,
    params,
  );
  if (!r) throw notFound(`Supply round ${id}`, { code: 'roundUnknown', roundId: id });
  return r;
}

/** Records packages handed to households, and households missed with the reason. */
export async function recordDeliveries(q: Queryable, roundId: number, d: { delivered: { householdId: number; packages: number }[]; missed: { householdId: number; reason: string }[] }, by: string, now: Date): Promise<void> {
  const ids = [...d.delivered.map((x) => x.householdId), ...d.missed.map((x) => x.householdId)];
  const known = new Set((await q.query<{ household_id: number }>('SELECT household_id FROM supply_round_households WHERE round_id = $1 AND household_id = ANY($2)', [roundId, ids])).map((r) => r.household_id));
  const unknown = ids.filter((id) => !known.has(id));
  if (unknown.length) throw badRequest(`Households not in round ${roundId}: ${[...new Set(unknown)].join(', ')}.`, { code: 'householdsNotInRound', roundId, households: [...new Set(unknown)].join(', ') });
  if (d.delivered.length) {
    await q.query(
      `UPDATE supply_round_households h SET packages_delivered = h.packages_delivered + x.packages, delivered_at = $3, delivered_by = $4, missed = false, missed_reason = NULL
         FROM jsonb_to_recordset($2::jsonb) AS x(household_id int, packages int) WHERE h.round_id = $1 AND h.household_id = x.household_id`,
      [roundId, JSON.stringify(d.delivered.map((x) => ({ household_id: x.householdId, packages: x.packages }))), now, by],
    );
  }
  if (d.missed.length) {
    await q.query(
      `UPDATE supply_round_households h SET missed = true, missed_reason = x.reason
         FROM jsonb_to_recordset($2::jsonb) AS x(household_id int, reason text) WHERE h.round_id = $1 AND h.household_id = x.household_id AND h.packages_delivered = 0`,
      [roundId, JSON.stringify(d.missed.map((x) => ({ household_id: x.householdId, reason: x.reason })))],
    );
  }
}

/** Closes a round: households given nothing are missed, and the street gets a task to reach them. */
export async function closeRound(q: Queryable, roundId: number, by: string, now: Date): Promise<{ missed: number; taskCreated: boolean }> {
  const missed = await q.query<{ household_id: number }>(
    `UPDATE supply_round_households SET missed = true, missed_reason = coalesce(missed_reason, 'nothing delivered when the round closed')
      WHERE round_id = $1 AND packages_delivered = 0 RETURNING household_id`,
    [roundId],
  );
  const [r] = await q.query<{ street_id: number; district_id: number; compound_id: number }>("UPDATE supply_rounds SET status = 'closed', closed_by = $2, closed_at = $3 WHERE id = $1 RETURNING street_id, district_id, compound_id", [roundId, by, now]);
  let taskCreated = false;
  if (missed.length) {
    const ids = missed.map((m) => m.household_id);
    const persons = (await q.query<{ id: number }>('SELECT id FROM persons WHERE household_id = ANY($1) ORDER BY id', [ids])).map((x) => x.id);
    taskCreated = (await createTasks(q, [{ kind: 'supplyMissed', title: `Supply round ${roundId}: ${ids.length} households got nothing`, districtId: r.district_id, streetId: r.street_id, personIds: persons, dueAt: now, source: { roundId, compoundId: r.compound_id, householdIds: ids }, dedupeKey: `supply-round:${roundId}:missed` }], now, by)) > 0;
  }
  return { missed: missed.length, taskCreated };
}

export async function roundComplaint(q: Queryable, round: { id: number; supplier_id: number; district_id: number; street_id: number }, c: { householdId: number; personId: number | null; kind: ComplaintKind; text: string }, by: string, now: Date): Promise<number> {
  const [h] = await q.query<{ packages_delivered: number }>('SELECT packages_delivered FROM supply_round_households WHERE round_id = $1 AND household_id = $2', [round.id, c.householdId]);
  if (!h) throw notFound(`Household ${c.householdId} in supply round ${round.id}`, { code: 'householdNotInRound', householdId: c.householdId, roundId: round.id });
  return fileComplaint(q, { supplierId: round.supplier_id, roundId: round.id, householdId: c.householdId, personId: c.personId, districtId: round.district_id, streetId: round.street_id, kind: c.kind, text: c.text }, by, now);
}

const roundFigures = `
  (SELECT count(*)::int FROM supply_round_households h WHERE h.round_id = r.id) AS households,
  (SELECT coalesce(sum(h.residents), 0)::int FROM supply_round_households h WHERE h.round_id = r.id) AS residents,
  (SELECT coalesce(sum(h.packages_planned), 0)::int FROM supply_round_households h WHERE h.round_id = r.id) AS "packagesPlanned",
  (SELECT coalesce(sum(h.packages_delivered), 0)::int FROM supply_round_households h WHERE h.round_id = r.id) AS "packagesDelivered",
  (SELECT count(*)::int FROM supply_round_households h WHERE h.round_id = r.id AND h.packages_delivered > 0) AS "householdsServed",
  (SELECT count(*)::int FROM supply_round_households h WHERE h.round_id = r.id AND h.missed) AS "householdsMissed",
  (SELECT count(*)::int FROM supply_complaints c WHERE c.round_id = r.id) AS complaints`;

export interface RoundSummary {
  id: number;
  compoundId: number;
  compound: string;
  streetId: number;
  districtId: number;
  supplierId: number;
  supplier: string;
  contents: string;
  plannedFor: string;
  status: 'open' | 'closed';
  households: number;
  residents: number;
  packagesPlanned: number;
  packagesDelivered: number;
  householdsServed: number;
  householdsMissed: number;
  complaints: number;
}

/** Rounds in reach, newest first, each with its figures. */
export async function roundSummaries(q: Queryable, p: Principal, opts: { roundId?: number; limit?: number } = {}): Promise<RoundSummary[]> {
  const params: unknown[] = [opts.limit ?? 100];
  const where = [p.role === 'resident' ? 'FALSE' : reachSql(p, 'r', params)];
  if (opts.roundId !== undefined) where.push(`r.id = $${params.push(opts.roundId)}`);
  const rows = await q.query<RoundSummary>(
    `SELECT r.id, r.compound_id AS "compoundId", c.name AS compound, r.street_id AS "streetId", r.district_id AS "districtId", r.supplier_id AS "supplierId", s.name AS supplier,
            r.contents, r.planned_for AS "plannedFor", r.status, ${roundFigures}
       FROM supply_rounds r JOIN compounds c ON c.id = r.compound_id JOIN suppliers s ON s.id = r.supplier_id
      WHERE ${where.join(' AND ')} ORDER BY r.planned_for DESC, r.id DESC LIMIT $1`,
    params,
  );
  return rows.map((r) => ({ ...r, plannedFor: iso(r.plannedFor)! }));
}

export async function roundHouseholds(q: Queryable, roundId: number) {
  return q.query(
    `SELECT h.household_id AS "householdId", hh.code, hh.unit, hh.floor, b.name AS building, h.residents, h.packages_planned AS "packagesPlanned", h.packages_delivered AS "packagesDelivered",
            h.delivered_at AS "deliveredAt", h.missed, h.missed_reason AS "missedReason"
       FROM supply_round_households h JOIN households hh ON hh.id = h.household_id LEFT JOIN buildings b ON b.id = hh.building_id
      WHERE h.round_id = $1 ORDER BY b.name, hh.floor, hh.unit, h.household_id`,
    [roundId],
  );
}
