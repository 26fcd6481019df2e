// Cases and care over HTTP: cases entered by clinicians (those from testing arrive by the server's job),
// observations that re-triage and refer, beds, admission, discharge, death, the transfer queue and the
// capacity picture. A facility's staff reach the cases in their facility; command roles their jurisdiction.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { AppContext } from '../core/context.ts';
import { caller } from '../core/http.ts';
import { COMMAND, personInJurisdiction, withinJurisdiction, type Principal, type Role } from '../core/auth.ts';
import { actorOf, appendAudit, audit } from '../core/audit.ts';
import { badRequest, forbidden } from '../core/errors.ts';
import type { Queryable } from '../core/db.ts';
import { admit, assignBed, caseUnknown, discharge, observe, openCase, readiness, recordDeath } from './store.ts';
import { capacityPicture, dischargeList, facilityBeds, transferQueue, type Scope } from './picture.ts';
import { SEVERITIES, type Observation } from './rules.ts';

const tags = ['cases'];
const CARE: readonly Role[] = ['facility_manager', ...COMMAND];
const idParams = { type: 'object', properties: { id: { type: 'integer' } } } as const;
const time = { type: 'string', format: 'date-time' } as const;
const observation = {
  type: 'object',
  additionalProperties: false,
  properties: {
    severity: { type: 'string', enum: SEVERITIES, nullable: true },
    pneumonia: { type: 'boolean', nullable: true },
    respiratoryRate: { type: 'number', minimum: 0, maximum: 120, nullable: true },
    spo2: { type: 'number', minimum: 0, maximum: 100, nullable: true },
    pao2Fio2: { type: 'number', minimum: 0, maximum: 700, nullable: true },
    lesionGrowthPercent48h: { type: 'number', minimum: -100, maximum: 1000, nullable: true },
    mechanicalVentilation: { type: 'boolean', nullable: true },
    shock: { type: 'boolean', nullable: true },
    organFailure: { type: 'boolean', nullable: true },
    temperature: { type: 'number', minimum: 30, maximum: 45, nullable: true },
    improving: { type: 'boolean', nullable: true },
  },
} as const;

const scopeOf = (p: Principal): Scope => ({ districtId: p.districtId, streetId: p.streetId, facilityId: p.role === 'facility_manager' ? (p.facilityId ?? -1) : null });

/** The case if the caller may reach it: its facility's staff, or command within the case's home area. */
async function caseFor(q: Queryable, p: Principal, id: number): Promise<{ id: number; person_id: number; facility_id: number | null }> {
  const [c] = await q.query<{ id: number; person_id: number; district_id: number | null; street_id: number | null; facility_id: number | null; leaving_facility_id: number | null }>(
    'SELECT id, person_id, district_id, street_id, facility_id, leaving_facility_id FROM cases WHERE id = $1',
    [id],
  );
  const ok = c && (p.role === 'facility_manager' ? p.facilityId !== null && (c.facility_id === p.facilityId || c.leaving_facility_id === p.facilityId) : withinJurisdiction(p, { districtId: c.district_id, streetId: c.street_id }));
  if (!ok) throw caseUnknown(id);
  return c;
}

export function casesRoutes(app: FastifyInstance, ctx: AppContext): void {
  const now = () => ctx.clock.now();
  const changed = async <T>(req: FastifyRequest, id: number, action: string, fn: (q: Queryable, p: Principal) => Promise<T>, detail?: (r: T) => unknown): Promise<T> => {
    const p = caller(req);
    return ctx.db.tx(async (q) => {
      await caseFor(q, p, id);
      const r = await fn(q, p);
      await appendAudit(q, [{ ...actorOf(p), action, entity: 'case', entityId: id, detail: detail ? detail(r) : (req.body ?? null) }], now());
      return r;
    });
  };

  app.post<{ Body: { personId: number; classification: 'confirmed' | 'asymptomatic'; sampledAt: string; onsetAt?: string | null; reportedAt?: string | null; observation?: Observation } }>(
    '/api/v1/care/cases',
    {
      config: { access: { roles: CARE } },
      schema: {
        tags,
        summary: "A clinician's case (those from positive single tubes arrive by themselves): triaged and given a bed, or queued",
        body: {
          type: 'object',
          required: ['personId', 'classification', 'sampledAt'],
          additionalProperties: false,
          properties: { personId: { type: 'integer' }, classification: { type: 'string', enum: ['confirmed', 'asymptomatic'] }, sampledAt: time, onsetAt: { ...time, nullable: true }, reportedAt: { ...time, nullable: true }, observation },
        },
      },
    },
    async (req, reply) => {
      const p = caller(req);
      if (p.role !== 'facility_manager') await personInJurisdiction(ctx.db, p, req.body.personId);
      else await personInJurisdiction(ctx.db, { ...p, districtId: null, streetId: null }, req.body.personId);
      const b = req.body;
      const t = now();
      const reportedAt = b.reportedAt ? new Date(b.reportedAt) : t;
      if (new Date(b.sampledAt) > reportedAt) throw badRequest('sampledAt is after the report.', { code: 'sampledAfterReport' });
      if (b.onsetAt && new Date(b.onsetAt) > reportedAt) throw badRequest('onsetAt is after the report.', { code: 'onsetAfterReport' });
      const r = await ctx.db.tx(async (q) => {
        const opened = await openCase(q, { personId: b.personId, classification: b.classification, source: 'clinician', sampledAt: new Date(b.sampledAt), onsetAt: b.onsetAt ? new Date(b.onsetAt) : null, reportedAt, observation: b.observation }, ctx.preset, actorOf(p).actor, t);
        await appendAudit(q, [{ ...actorOf(p), action: opened.created ? 'case.open' : 'case.finding', entity: 'case', entityId: opened.caseId, detail: { personId: b.personId, classification: b.classification } }], t);
        return opened;
      });
      reply.code(r.created ? 201 : 200);
      return { ...r, case: await caseJson(ctx.db, r.caseId) };
    },
  );

  app.get<{ Querystring: { state?: string; limit?: number; after?: number } }>(
    '/api/v1/care/cases',
    {
      config: { access: { roles: CARE } },
      schema: {
        tags,
        summary: 'Cases in reach, newest first (a facility: its own patients)',
        querystring: { type: 'object', additionalProperties: false, properties: { state: { type: 'string', enum: ['waiting', 'assigned', 'admitted', 'discharged', 'died'] }, limit: { type: 'integer', minimum: 1, maximum: 1000, default: 100 }, after: { type: 'integer' } } },
      },
    },
    async (req) => {
      const p = caller(req);
      const s = scopeOf(p);
      const params: unknown[] = [req.query.limit ?? 100];
      const where: string[] = [];
      if (s.facilityId !== null) where.push(`(c.facility_id = $${params.push(s.facilityId)} OR c.leaving_facility_id = $${params.length})`);
      else if (s.streetId !== null) where.push(`c.street_id = $${params.push(s.streetId)}`);
      else if (s.districtId !== null) where.push(`c.district_id = $${params.push(s.districtId)}`);
      if (req.query.state) where.push(`c.state = $${params.push(req.query.state)}`);
      if (req.query.after) where.push(`c.id < $${params.push(req.query.after)}`);
      const rows = await ctx.db.query<{ id: number }>(`SELECT c.id FROM cases c ${where.length ? 'WHERE ' + where.join(' AND ') : ''} ORDER BY c.id DESC LIMIT $1`, params);
      const items = await casesJson(ctx.db, rows.map((r) => Number(r.id)));
      await audit(ctx.db, [{ ...actorOf(p), action: 'read', entity: 'case', detail: { ids: items.map((i) => i.id) } }], now());
      return { items, next: rows.length === (req.query.limit ?? 100) ? Number(rows[rows.length - 1].id) : null };
    },
  );

  app.get<{ Params: { id: number } }>(
    '/api/v1/care/cases/:id',
    { config: { access: { roles: CARE } }, schema: { tags, summary: 'A case: triage with reasons, the bed, every event, discharge readiness', params: idParams } },
    async (req) => {
      const p = caller(req);
      await caseFor(ctx.db, p, req.params.id);
      const c = await caseJson(ctx.db, req.params.id);
      const events = await ctx.db.query('SELECT id, kind, at, facility_id AS "facilityId", bed_type AS "bedType", detail, recorded_by AS "recordedBy" FROM case_events WHERE case_id = $1 ORDER BY id', [req.params.id]);
      const ready = c.state === 'admitted' ? await readiness(ctx.db, req.params.id, ctx.preset, now()) : null;
      await audit(ctx.db, [{ ...actorOf(p), action: 'read', entity: 'case', entityId: req.params.id }], now());
      return { ...c, events, readiness: ready };
    },
  );

  app.post<{ Params: { id: number }; Body: Observation }>(
    '/api/v1/care/cases/:id/observations',
    { config: { access: { roles: CARE } }, schema: { tags, summary: 'Record an observation: severity from the signs, triage again, refer when the place no longer fits', params: idParams, body: observation } },
    async (req) => changed(req, req.params.id, 'case.observe', (q, p) => observe(q, req.params.id, req.body, ctx.preset, actorOf(p).actor, now())),
  );

  app.post<{ Params: { id: number } }>(
    '/api/v1/care/cases/:id/assign',
    { config: { access: { roles: COMMAND } }, schema: { tags, summary: 'Look for a bed of the triaged kind now (own district, then nearest); queued with the reason when none', params: idParams } },
    async (req) => {
      const r = await changed(req, req.params.id, 'case.assign', (q, p) => assignBed(q, req.params.id, ctx.preset, actorOf(p).actor, now()), (r) => r);
      return r ?? { assigned: true, unchanged: true };
    },
  );

  app.post<{ Params: { id: number } }>(
    '/api/v1/care/cases/:id/admit',
    { config: { access: { roles: CARE } }, schema: { tags, summary: 'The patient arrived at the assigned bed (a referral gives back its old bed)', params: idParams } },
    async (req) => {
      const p = caller(req);
      await changed(req, req.params.id, 'case.admit', (q) => admit(q, req.params.id, p.role === 'facility_manager' ? p.facilityId : null, actorOf(p).actor, now()));
      return caseJson(ctx.db, req.params.id);
    },
  );

  app.post<{ Params: { id: number } }>(
    '/api/v1/care/cases/:id/discharge',
    { config: { access: { roles: CARE } }, schema: { tags, summary: "Discharge when the preset's criteria hold (409 with what is missing otherwise); home monitoring follows", params: idParams } },
    async (req) => {
      const r = await changed(req, req.params.id, 'case.discharge', (q, p) => discharge(q, req.params.id, ctx.preset, actorOf(p).actor, now()), (r) => ({ monitoringUntil: r.monitoringUntil }));
      return { ...(await caseJson(ctx.db, req.params.id)), readiness: r.readiness };
    },
  );

  app.post<{ Params: { id: number }; Body: { at?: string; cause: string } }>(
    '/api/v1/care/cases/:id/death',
    {
      config: { access: { roles: CARE } },
      schema: { tags, summary: 'Record a death (the bed is given back)', params: idParams, body: { type: 'object', required: ['cause'], additionalProperties: false, properties: { at: time, cause: { type: 'string', minLength: 3, maxLength: 500 } } } },
    },
    async (req) => {
      const at = req.body.at ? new Date(req.body.at) : now();
      if (at > now()) throw badRequest('The time of death is in the future.', { code: 'deathInFuture' });
      await changed(req, req.params.id, 'case.death', (q, p) => recordDeath(q, req.params.id, at, req.body.cause, actorOf(p).actor, now()));
      return caseJson(ctx.db, req.params.id);
    },
  );

  app.get<{ Querystring: { limit?: number } }>(
    '/api/v1/care/queue',
    { config: { access: { roles: CARE } }, schema: { tags, summary: 'The transfer queue: cases waiting for a bed, the longest wait first, with the reason', querystring: { type: 'object', additionalProperties: false, properties: { limit: { type: 'integer', minimum: 1, maximum: 5000, default: 500 } } } } },
    async (req) => {
      const p = caller(req);
      const r = await transferQueue(ctx.db, scopeOf(p), now(), req.query.limit ?? 500);
      await audit(ctx.db, [{ ...actorOf(p), action: 'read', entity: 'case', detail: { queue: r.items.map((i) => i.caseId) } }], now());
      return r;
    },
  );

  app.get<{ Querystring: { districtId?: number; days?: number } }>(
    '/api/v1/care/capacity',
    {
      config: { access: { roles: CARE } },
      schema: { tags, summary: 'Beds by kind and district now and per day, the queue, admissions per day and the days of beds left', querystring: { type: 'object', additionalProperties: false, properties: { districtId: { type: 'integer' }, days: { type: 'integer', minimum: 1, maximum: 90, default: 14 } } } },
    },
    async (req) => {
      const p = caller(req);
      return capacityPicture(ctx.db, ctx.preset, now(), p.districtId ?? req.query.districtId ?? null, { days: req.query.days });
    },
  );

  app.get<{ Querystring: { districtId?: number } }>(
    '/api/v1/care/beds',
    { config: { access: { roles: CARE } }, schema: { tags, summary: 'SANER-style bed counts per facility: total, occupied, available (general and ICU)', querystring: { type: 'object', additionalProperties: false, properties: { districtId: { type: 'integer' } } } } },
    async (req) => {
      const p = caller(req);
      return { items: await facilityBeds(ctx.db, p.districtId ?? req.query.districtId ?? null, p.role === 'facility_manager' ? (p.facilityId ?? -1) : null) };
    },
  );

  app.get<{ Querystring: { all?: boolean } }>(
    '/api/v1/care/discharges',
    {
      config: { access: { roles: CARE } },
      schema: { tags, summary: 'Admitted cases with their discharge readiness, those ready today first (all=false: only the ready)', querystring: { type: 'object', additionalProperties: false, properties: { all: { type: 'boolean', default: false } } } },
    },
    async (req) => {
      const p = caller(req);
      if (p.role === 'facility_manager' && p.facilityId === null) throw forbidden('This account is not tied to a facility.', { code: 'accountWithoutFacility' });
      const items = await dischargeList(ctx.db, scopeOf(p), ctx.preset, now(), !req.query.all);
      await audit(ctx.db, [{ ...actorOf(p), action: 'read', entity: 'case', detail: { discharges: items.map((i) => i.caseId) } }], now());
      return { items };
    },
  );
}

type CaseJson = Awaited<ReturnType<typeof casesJson>>[number];

async function casesJson(q: Queryable, ids: number[]) {
  if (!ids.length) return [];
  const rows = await q.query<Record<string, any>>(
    `SELECT c.*, p.name, p.birth_date, f.name AS facility_name, f.kind AS facility_kind FROM cases c JOIN persons p ON p.id = c.person_id LEFT JOIN facilities f ON f.id = c.facility_id
      WHERE c.id = ANY($1) ORDER BY c.id DESC`,
    [ids],
  );
  const iso = (d: Date | null) => (d ? new Date(d).toISOString() : null);
  return rows.map((r) => ({
    id: Number(r.id),
    personId: r.person_id,
    name: r.name as string,
    birthDate: iso(r.birth_date)?.slice(0, 10) ?? null,
    classification: r.classification as string,
    source: r.source as string,
    sampledAt: iso(r.sampled_at),
    onsetAt: iso(r.onset_at),
    reportedAt: iso(r.reported_at),
    foundAt: { districtId: r.district_id, streetId: r.street_id, compoundId: r.compound_id, buildingId: r.building_id, householdId: r.household_id, under: r.found_under },
    severity: r.severity as string,
    destination: r.destination as string,
    triage: r.triage,
    state: r.state as string,
    bed: r.facility_id === null ? null : { facilityId: r.facility_id, name: r.facility_name, kind: r.facility_kind, bedType: r.bed_type },
    leavingBed: r.leaving_facility_id === null ? null : { facilityId: r.leaving_facility_id, bedType: r.leaving_bed_type },
    waitingSince: iso(r.waiting_since),
    queueReason: r.queue_reason as string | null,
    admittedAt: iso(r.admitted_at),
    dischargedAt: iso(r.discharged_at),
    diedAt: iso(r.died_at),
    monitoringUntil: iso(r.monitoring_until),
  }));
}

async function caseJson(q: Queryable, id: number): Promise<CaseJson> {
  const [c] = await casesJson(q, [id]);
  if (!c) throw caseUnknown(id);
  return c;
}
