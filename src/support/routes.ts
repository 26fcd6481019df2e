// Livelihood over HTTP: requests filed by residents (or a street's worker on their behalf), the street's
// queue and its steps, the resident's confirmation or complaint, the overdue list and the dashboard
// figures, suppliers and their record, and supply rounds to sealed compounds. A resident reaches their own
// requests; a street's worker their street; command its jurisdiction.
import type { FastifyInstance } from 'fastify';
import type { AppContext } from '../core/context.ts';
import { caller } from '../core/http.ts';
import { COMMAND, personInJurisdiction, type Principal, type Role } from '../core/auth.ts';
import { actorOf, appendAudit, audit } from '../core/audit.ts';
import { badRequest, forbidden, notFound } from '../core/errors.ts';
import type { Queryable } from '../core/db.ts';
import { currentStatus } from '../status/index.ts';
import { assertMedicalNeverGated, COMPLAINT_KINDS, REQUEST_KINDS, type ComplaintKind, type RequestKind } from './rules.ts';
import {
  closeRound, createRound, createSupplier, escalateOverdue, fileRequest, giveFeedback, moveRequest, recordDeliveries, requestDetail, requestFor, requestQueue, requestsOfPerson,
  roundComplaint, roundFor, roundHouseholds, roundSummaries, supplierComplaints, supplierRecords, type Step,
} from './store.ts';
import { supportPicture } from './picture.ts';
import { vaccinationRoutes } from './vaccination-routes.ts';

const tags = ['support'];
const REQUESTERS: readonly Role[] = ['resident', 'street_worker', ...COMMAND];
const HANDLERS: readonly Role[] = ['street_worker', ...COMMAND];
const idParams = { type: 'object', properties: { id: { type: 'integer' } } } as const;
const time = { type: 'string', format: 'date-time' } as const;
const text = (max: number, min = 1) => ({ type: 'string', minLength: min, maxLength: max }) as const;

export function supportRoutes(app: FastifyInstance, ctx: AppContext): void {
  assertMedicalNeverGated(ctx.preset);
  const now = () => ctx.clock.now();
  const byOf = (p: Principal) => actorOf(p).actor;

  app.post<{ Body: { personId?: number; kind: RequestKind; details?: string | null; prescriptionDays?: number | null } }>(
    '/api/v1/support/requests',
    {
      config: { access: { roles: REQUESTERS } },
      schema: {
        tags,
        summary: 'File a request for help (a resident for themselves; a street worker or command on their behalf): priority and deadline from the kind, dispatched whatever the status',
        body: {
          type: 'object',
          required: ['kind'],
          additionalProperties: false,
          properties: { personId: { type: 'integer' }, kind: { type: 'string', enum: REQUEST_KINDS }, details: { ...text(2000, 0), nullable: true }, prescriptionDays: { type: 'integer', minimum: 1, maximum: 3650, nullable: true } },
        },
      },
    },
    async (req, reply) => {
      const p = caller(req);
      const personId = p.role === 'resident' ? p.personId : req.body.personId;
      if (!personId) throw badRequest('personId is required.', { code: 'personIdNeeded' });
      if (p.role === 'resident' && req.body.personId !== undefined && req.body.personId !== p.personId) throw forbidden('A resident files requests for themselves; a street worker can file on behalf of others.', { code: 'requestSelfOnly' });
      await personInJurisdiction(ctx.db, p, personId);
      const t = now();
      // The colour shapes how the request is served (precautions), never whether (rules.md 24).
      const { colour } = await currentStatus(ctx.db, personId, ctx.preset, t);
      const id = await ctx.db.tx(async (q) => {
        const id = await fileRequest(q, { personId, kind: req.body.kind, details: req.body.details, prescriptionDays: req.body.prescriptionDays, onBehalf: p.role !== 'resident' }, colour, ctx.preset, byOf(p), t);
        await appendAudit(q, [{ ...actorOf(p), action: 'support.file', entity: 'supportRequest', entityId: id, detail: { personId, kind: req.body.kind } }], t);
        return id;
      });
      reply.code(201);
      return requestDetail(ctx.db, id, t);
    },
  );

  app.get<{ Querystring: { overdue?: boolean; limit?: number } }>(
    '/api/v1/support/requests',
    {
      config: { access: { roles: REQUESTERS } },
      schema: {
        tags,
        summary: 'Requests still to be served in reach, emergencies first, then the nearest deadline (overdue=true: only those past it); a resident: their own, every status',
        querystring: { type: 'object', additionalProperties: false, properties: { overdue: { type: 'boolean', default: false }, limit: { type: 'integer', minimum: 1, maximum: 1000, default: 100 } } },
      },
    },
    async (req) => {
      const p = caller(req);
      const t = now();
      const items = p.role === 'resident' ? await requestsOfPerson(ctx.db, p.personId ?? -1, t, req.query.limit) : await requestQueue(ctx.db, p, ctx.preset, t, { overdueOnly: req.query.overdue, limit: req.query.limit });
      await audit(ctx.db, [{ ...actorOf(p), action: 'read', entity: 'supportRequest', detail: { ids: items.map((i) => i.id) } }], t);
      return { asOf: t.toISOString(), items };
    },
  );

  app.get<{ Querystring: { limit?: number } }>(
    '/api/v1/support/overdue',
    {
      config: { access: { roles: HANDLERS } },
      schema: { tags, summary: 'The overdue list: requests past their deadline, emergencies first, then the longest overdue', querystring: { type: 'object', additionalProperties: false, properties: { limit: { type: 'integer', minimum: 1, maximum: 1000, default: 100 } } } },
    },
    async (req) => {
      const p = caller(req);
      const t = now();
      const items = await requestQueue(ctx.db, p, ctx.preset, t, { overdueOnly: true, limit: req.query.limit });
      await audit(ctx.db, [{ ...actorOf(p), action: 'read', entity: 'supportRequest', detail: { overdue: items.map((i) => i.id) } }], t);
      return { asOf: t.toISOString(), items };
    },
  );

  app.get<{ Params: { id: number } }>(
    '/api/v1/support/requests/:id',
    { config: { access: { roles: REQUESTERS } }, schema: { tags, summary: 'A request with its deadline, dispatch decision and every step', params: idParams } },
    async (req) => {
      const p = caller(req);
      await requestFor(ctx.db, p, req.params.id);
      const r = await requestDetail(ctx.db, req.params.id, now());
      await audit(ctx.db, [{ ...actorOf(p), action: 'read', entity: 'supportRequest', entityId: req.params.id }], now());
      return r;
    },
  );

  const step = (path: string, to: Step['to'], summary: string, body: Record<string, unknown>, required: string[] = []) =>
    app.post<{ Params: { id: number }; Body: Omit<Step, 'to'> }>(
      `/api/v1/support/requests/:id/${path}`,
      { config: { access: { roles: HANDLERS } }, schema: { tags, summary, params: idParams, body: { type: 'object', required, additionalProperties: false, properties: body } } },
      async (req) => {
        const p = caller(req);
        const t = now();
        await ctx.db.tx(async (q) => {
          await moveRequest(q, p, req.params.id, { ...req.body, to }, byOf(p), t);
          await appendAudit(q, [{ ...actorOf(p), action: `support.${to}`, entity: 'supportRequest', entityId: req.params.id, detail: req.body }], t);
        });
        return requestDetail(ctx.db, req.params.id, t);
      },
    );
  const team = { team: { ...text(100), nullable: true }, note: { ...text(1000), nullable: true } };
  const supplierId = { supplierId: { type: 'integer', nullable: true } };
  step('accept', 'accepted', 'Accept a request: the street (and a team) owns it', team);
  step('dispatch', 'onTheWay', 'Help is on the way (a medical request: whatever the status)', { ...team, ...supplierId });
  step('done', 'done', 'Served: the goods delivered, the patient taken to care', { ...team, ...supplierId });
  step('refuse', 'refused', 'Refuse with a reason (a medical request: command only, and reviewed)', { reason: text(1000, 5), note: { ...text(1000), nullable: true } }, ['reason']);

  app.post<{ Params: { id: number }; Body: { outcome: 'confirmed' | 'complaint'; kind?: ComplaintKind; text?: string } }>(
    '/api/v1/support/requests/:id/feedback',
    {
      config: { access: { roles: REQUESTERS } },
      schema: {
        tags,
        summary: "The resident's confirmation or complaint at the end (a complaint lands on the supplier's record)",
        params: idParams,
        body: { type: 'object', required: ['outcome'], additionalProperties: false, properties: { outcome: { type: 'string', enum: ['confirmed', 'complaint'] }, kind: { type: 'string', enum: COMPLAINT_KINDS }, text: text(2000, 3) } },
      },
    },
    async (req) => {
      const p = caller(req);
      const t = now();
      const r = await ctx.db.tx(async (q) => {
        const r = await giveFeedback(q, p, req.params.id, req.body, byOf(p), t);
        await appendAudit(q, [{ ...actorOf(p), action: `support.${req.body.outcome}`, entity: 'supportRequest', entityId: req.params.id, detail: { ...req.body, complaintId: r.complaintId } }], t);
        return r;
      });
      return { ...(await requestDetail(ctx.db, req.params.id, t)), complaintId: r.complaintId };
    },
  );

  app.get<{ Querystring: { days?: number; worst?: number } }>(
    '/api/v1/support/dashboard',
    {
      config: { access: { roles: HANDLERS } },
      schema: {
        tags,
        summary: 'Requests open and overdue by kind and street, time to answer and to serve (p50, p90), the worst streets',
        querystring: { type: 'object', additionalProperties: false, properties: { days: { type: 'integer', minimum: 1, maximum: 90, default: 7 }, worst: { type: 'integer', minimum: 1, maximum: 100, default: 10 } } },
      },
    },
    async (req) => supportPicture(ctx.db, caller(req), now(), { days: req.query.days, worst: req.query.worst }),
  );

  app.post(
    '/api/v1/support/escalate',
    { config: { access: { roles: COMMAND } }, schema: { tags, summary: 'Escalate overdue requests to their district now (the server also does it every minute)' } },
    async () => escalateOverdue(ctx.db, ctx.preset, now()),
  );

  // --- suppliers ----------------------------------------------------------------------------------------

  app.post<{ Body: { name: string; districtId?: number | null; contact?: string | null } }>(
    '/api/v1/support/suppliers',
    {
      config: { access: { roles: COMMAND } },
      schema: { tags, summary: 'Register a supplier (a district command: for its district)', body: { type: 'object', required: ['name'], additionalProperties: false, properties: { name: text(200), districtId: { type: 'integer', nullable: true }, contact: { ...text(200), nullable: true } } } },
    },
    async (req, reply) => {
      const p = caller(req);
      const districtId = p.districtId ?? req.body.districtId ?? null;
      const id = await ctx.db.tx(async (q) => {
        const id = await createSupplier(q, { ...req.body, districtId }, byOf(p), now());
        await appendAudit(q, [{ ...actorOf(p), action: 'create', entity: 'supplier', entityId: id, detail: { name: req.body.name, districtId } }], now());
        return id;
      });
      reply.code(201);
      return (await supplierRecords(ctx.db, null, id))[0];
    },
  );

  app.get('/api/v1/support/suppliers', { config: { access: { roles: HANDLERS } }, schema: { tags, summary: 'Suppliers with their deliveries and complaints' } }, async (req) => ({
    items: await supplierRecords(ctx.db, caller(req).districtId),
  }));

  app.get<{ Params: { id: number } }>(
    '/api/v1/support/suppliers/:id',
    { config: { access: { roles: HANDLERS } }, schema: { tags, summary: "A supplier's record: deliveries, complaints by kind, the latest complaints", params: idParams } },
    async (req) => {
      const p = caller(req);
      const [s] = await supplierRecords(ctx.db, p.districtId, req.params.id);
      if (!s) throw notFound(`Supplier ${req.params.id}`, { code: 'supplierUnknown', supplierId: req.params.id });
      // The complaints name requests and households: reading them is audited.
      await audit(ctx.db, [{ ...actorOf(p), action: 'read', entity: 'supplier', entityId: req.params.id }], now());
      return { ...s, latest: await supplierComplaints(ctx.db, req.params.id) };
    },
  );

  // --- supply rounds --------------------------------------------------------------------------------------

  app.post<{ Body: { compoundId: number; supplierId: number; contents: string; plannedFor: string; packagesPerHousehold?: number } }>(
    '/api/v1/support/rounds',
    {
      config: { access: { roles: HANDLERS } },
      schema: {
        tags,
        summary: "Plan a supply round to a sealed compound: every household the registry has there, with its packages",
        body: {
          type: 'object',
          required: ['compoundId', 'supplierId', 'contents', 'plannedFor'],
          additionalProperties: false,
          properties: { compoundId: { type: 'integer' }, supplierId: { type: 'integer' }, contents: text(500), plannedFor: time, packagesPerHousehold: { type: 'integer', minimum: 1, maximum: 50, default: 1 } },
        },
      },
    },
    async (req, reply) => {
      const p = caller(req);
      const t = now();
      const id = await ctx.db.tx(async (q) => {
        const id = await createRound(q, p, { ...req.body, plannedFor: new Date(req.body.plannedFor), packagesPerHousehold: req.body.packagesPerHousehold ?? 1 }, byOf(p), t);
        await appendAudit(q, [{ ...actorOf(p), action: 'create', entity: 'supplyRound', entityId: id, detail: req.body }], t);
        return id;
      });
      reply.code(201);
      return roundJson(ctx.db, p, id);
    },
  );

  app.get<{ Querystring: { limit?: number } }>(
    '/api/v1/support/rounds',
    { config: { access: { roles: HANDLERS } }, schema: { tags, summary: 'Supply rounds in reach, newest first: households, packages planned and delivered, missed, complaints', querystring: { type: 'object', additionalProperties: false, properties: { limit: { type: 'integer', minimum: 1, maximum: 1000, default: 100 } } } } },
    async (req) => ({ items: await roundSummaries(ctx.db, caller(req), { limit: req.query.limit }) }),
  );

  app.get<{ Params: { id: number } }>(
    '/api/v1/support/rounds/:id',
    { config: { access: { roles: HANDLERS } }, schema: { tags, summary: 'A supply round with each household', params: idParams } },
    async (req) => {
      const p = caller(req);
      const r = await roundJson(ctx.db, p, req.params.id);
      await audit(ctx.db, [{ ...actorOf(p), action: 'read', entity: 'supplyRound', entityId: req.params.id }], now());
      return r;
    },
  );

  app.post<{ Params: { id: number }; Body: { delivered?: { householdId: number; packages: number }[]; missed?: { householdId: number; reason: string }[] } }>(
    '/api/v1/support/rounds/:id/deliveries',
    {
      config: { access: { roles: HANDLERS } },
      schema: {
        tags,
        summary: 'Record packages handed to households, and households missed with the reason',
        params: idParams,
        body: {
          type: 'object',
          additionalProperties: false,
          properties: {
            delivered: { type: 'array', maxItems: 5000, items: { type: 'object', required: ['householdId', 'packages'], additionalProperties: false, properties: { householdId: { type: 'integer' }, packages: { type: 'integer', minimum: 1, maximum: 100 } } } },
            missed: { type: 'array', maxItems: 5000, items: { type: 'object', required: ['householdId', 'reason'], additionalProperties: false, properties: { householdId: { type: 'integer' }, reason: text(500, 3) } } },
          },
        },
      },
    },
    async (req) => {
      const p = caller(req);
      const t = now();
      await ctx.db.tx(async (q) => {
        const r = await roundFor(q, p, req.params.id, true);
        if (r.status !== 'open') throw badRequest(`Supply round ${r.id} is closed.`, { code: 'roundClosed', roundId: r.id });
        await recordDeliveries(q, r.id, { delivered: req.body.delivered ?? [], missed: req.body.missed ?? [] }, byOf(p), t);
        await appendAudit(q, [{ ...actorOf(p), action: 'supply.deliver', entity: 'supplyRound', entityId: r.id, detail: { delivered: req.body.delivered?.length ?? 0, missed: req.body.missed?.length ?? 0 } }], t);
      });
      return roundJson(ctx.db, p, req.params.id);
    },
  );

  app.post<{ Params: { id: number } }>(
    '/api/v1/support/rounds/:id/close',
    { config: { access: { roles: HANDLERS } }, schema: { tags, summary: 'Close a round: households given nothing are missed, and the street gets a task to reach them', params: idParams } },
    async (req) => {
      const p = caller(req);
      const t = now();
      const closed = await ctx.db.tx(async (q) => {
        const r = await roundFor(q, p, req.params.id, true);
        if (r.status !== 'open') throw badRequest(`Supply round ${r.id} is closed already.`, { code: 'roundClosed', roundId: r.id });
        const closed = await closeRound(q, r.id, byOf(p), t);
        await appendAudit(q, [{ ...actorOf(p), action: 'supply.close', entity: 'supplyRound', entityId: r.id, detail: closed }], t);
        return closed;
      });
      return { ...(await roundJson(ctx.db, p, req.params.id)), closed };
    },
  );

  app.post<{ Params: { id: number }; Body: { householdId?: number; kind: ComplaintKind; text: string } }>(
    '/api/v1/support/rounds/:id/complaints',
    {
      config: { access: { roles: REQUESTERS } },
      schema: {
        tags,
        summary: "A complaint about a round's goods (a resident: for their own household); it lands on the supplier's record",
        params: idParams,
        body: { type: 'object', required: ['kind', 'text'], additionalProperties: false, properties: { householdId: { type: 'integer' }, kind: { type: 'string', enum: COMPLAINT_KINDS }, text: text(2000, 3) } },
      },
    },
    async (req, reply) => {
      const p = caller(req);
      const t = now();
      const id = await ctx.db.tx(async (q) => {
        const round = await roundFor(q, p, req.params.id);
        const householdId = p.role === 'resident' ? await ownHousehold(q, p) : req.body.householdId;
        if (!householdId) throw badRequest('householdId is required.', { code: 'householdIdNeeded' });
        if (p.role === 'resident' && req.body.householdId !== undefined && req.body.householdId !== householdId) throw forbidden('A resident complains for their own household.', { code: 'complaintOwnHousehold' });
        const id = await roundComplaint(q, round, { householdId, personId: p.role === 'resident' ? p.personId : null, kind: req.body.kind, text: req.body.text }, byOf(p), t);
        await appendAudit(q, [{ ...actorOf(p), action: 'supply.complaint', entity: 'supplyRound', entityId: round.id, detail: { complaintId: id, householdId, kind: req.body.kind } }], t);
        return id;
      });
      reply.code(201);
      return { id, roundId: req.params.id };
    },
  );

  vaccinationRoutes(app, ctx);
}

async function ownHousehold(q: Queryable, p: Principal): Promise<number> {
  const [r] = await q.query<{ household_id: number | null }>('SELECT household_id FROM persons WHERE id = $1', [p.personId ?? -1]);
  if (!r?.household_id) throw badRequest('Your record has no household.', { code: 'noHousehold' });
  return r.household_id;
}

async function roundJson(q: Queryable, p: Principal, id: number) {
  const [r] = await roundSummaries(q, p, { roundId: id });
  if (!r) throw notFound(`Supply round ${id}`, { code: 'roundUnknown', roundId: id });
  return { ...r, householdsList: await roundHouseholds(q, id) };
}

