// Tracing and quarantine over HTTP: the interview, contact finding for a case, the investigator's
// decisions, quarantine orders and their release, rooms and the transfer queue.
import type { FastifyInstance } from 'fastify';
import type { AppContext } from '../core/context.ts';
import { caller } from '../core/http.ts';
import { COMMAND, personInJurisdiction, type Role } from '../core/auth.ts';
import { actorOf, appendAudit, audit } from '../core/audit.ts';
import { notFound } from '../core/errors.ts';
import { ARRIVAL_KINDS, arrivalsOf, recordArrival, type ArrivalKind } from './arrivals.ts';
import { allocateRooms, quarantineTimeliness, decideExposure, issueOrders, overdueTests, recordInterview, releaseOrder, traceCase, type InterviewInput } from './store.ts';

const tags = ['tracing'];
const TRACERS: readonly Role[] = ['epidemiologist', ...COMMAND];
const caseParams = { type: 'object', properties: { personId: { type: 'integer' } } } as const;
const time = { type: 'string', format: 'date-time' } as const;

export function tracingRoutes(app: FastifyInstance, ctx: AppContext): void {
  const now = () => ctx.clock.now();

  app.put<{ Params: { personId: number }; Body: InterviewInput }>(
    '/api/v1/cases/:personId/interview',
    {
      config: { access: { roles: TRACERS } },
      schema: {
        tags,
        summary: 'Record the interview of a case: onset, isolation, places and persons named',
        params: caseParams,
        body: {
          type: 'object',
          required: ['symptomatic'],
          additionalProperties: false,
          properties: {
            symptomatic: { type: 'boolean' },
            onsetAt: { ...time, nullable: true },
            sampledAt: { ...time, nullable: true },
            isolatedAt: { ...time, nullable: true },
            places: { type: 'array', maxItems: 500, items: { type: 'object', required: ['place', 'from', 'to'], additionalProperties: false, properties: { venueId: { type: 'integer', nullable: true }, place: { type: 'string', maxLength: 200 }, from: time, to: time } } },
            persons: { type: 'array', maxItems: 500, items: { type: 'object', required: ['name', 'lastContactAt'], additionalProperties: false, properties: { personId: { type: 'integer', nullable: true }, name: { type: 'string', maxLength: 100 }, relation: { type: 'string', maxLength: 100 }, lastContactAt: time } } },
            notes: { type: 'string', maxLength: 4000, nullable: true },
          },
        },
      },
    },
    async (req) => {
      const p = caller(req);
      await personInJurisdiction(ctx.db, p, req.params.personId);
      await ctx.db.tx(async (q) => {
        await recordInterview(q, req.params.personId, req.body, actorOf(p).actor, now());
        await appendAudit(q, [{ ...actorOf(p), action: 'interview', entity: 'person', entityId: req.params.personId, detail: { places: req.body.places?.length ?? 0, persons: req.body.persons?.length ?? 0 } }], now());
      });
      return { casePersonId: req.params.personId, recorded: true };
    },
  );

  app.post<{ Params: { personId: number } }>(
    '/api/v1/cases/:personId/trace',
    { config: { access: { roles: TRACERS } }, schema: { tags, summary: 'Find the contacts of a case (household, building, venues, interview) and their secondary contacts', params: caseParams } },
    async (req) => {
      const p = caller(req);
      await personInJurisdiction(ctx.db, p, req.params.personId);
      return ctx.db.tx(async (q) => {
        const r = await traceCase(q, req.params.personId, ctx.preset, now());
        await appendAudit(q, [{ ...actorOf(p), action: 'trace', entity: 'person', entityId: req.params.personId, detail: r }], now());
        return r;
      });
    },
  );

  app.get<{ Params: { personId: number } }>(
    '/api/v1/cases/:personId/contacts',
    { config: { access: { roles: TRACERS } }, schema: { tags, summary: 'The contacts found for a case, each with every exposure and its evidence, close first', params: caseParams } },
    async (req) => {
      const p = caller(req);
      await personInJurisdiction(ctx.db, p, req.params.personId);
      const rows = await ctx.db.query<{ person_id: number; name: string; level: string; first_exposure_at: Date; last_exposure_at: Date; exposures: unknown }>(
        `SELECT c.person_id, pe.name, c.level, c.first_exposure_at, c.last_exposure_at,
                (SELECT json_agg(json_build_object('id', e.id, 'kind', e.kind, 'level', e.level, 'sourcePersonId', e.source_person_id, 'at', e.exposed_at, 'evidence', e.evidence, 'rule', e.rule, 'state', e.state) ORDER BY e.exposed_at)
                   FROM contact_exposures e WHERE e.person_id = c.person_id AND e.case_person_id = $1) AS exposures
           FROM contacts c JOIN persons pe ON pe.id = c.person_id
          WHERE c.person_id IN (SELECT person_id FROM contact_exposures WHERE case_person_id = $1)
          ORDER BY c.level, c.person_id`,
        [req.params.personId],
      );
      await ctx.db.tx((q) => appendAudit(q, [{ ...actorOf(p), action: 'read', entity: 'contacts', entityId: req.params.personId, reason: 'contact tracing', detail: { rows: rows.length } }], now()));
      return { items: rows.map((r) => ({ personId: r.person_id, name: r.name, level: r.level, firstExposureAt: r.first_exposure_at, lastExposureAt: r.last_exposure_at, exposures: r.exposures })) };
    },
  );

  for (const decision of ['confirm', 'dismiss'] as const) {
    app.post<{ Params: { id: number } }>(
      `/api/v1/contact-exposures/:id/${decision}`,
      { config: { access: { roles: TRACERS } }, schema: { tags, summary: decision === 'confirm' ? 'Confirm an exposure found automatically' : 'Dismiss an exposure found automatically', params: { type: 'object', properties: { id: { type: 'integer' } } } } },
      async (req) => {
        const p = caller(req);
        const [e] = await ctx.db.query<{ case_person_id: number }>('SELECT case_person_id FROM contact_exposures WHERE id = $1', [req.params.id]);
        if (!e) throw notFound(`Exposure ${req.params.id}`, { code: 'exposureUnknown', exposureId: req.params.id });
        // Decided by whoever may trace the case it came from.
        await personInJurisdiction(ctx.db, p, e.case_person_id);
        return ctx.db.tx(async (q) => {
          const r = await decideExposure(q, req.params.id, decision === 'confirm' ? 'confirmed' : 'dismissed', actorOf(p).actor, now());
          await appendAudit(q, [{ ...actorOf(p), action: decision, entity: 'contact-exposure', entityId: req.params.id, detail: r }], now());
          return { id: req.params.id, state: decision === 'confirm' ? 'confirmed' : 'dismissed' };
        });
      },
    );
  }

  app.post<{ Params: { personId: number } }>(
    '/api/v1/cases/:personId/orders',
    { config: { access: { roles: TRACERS } }, schema: { tags, summary: 'Quarantine orders for the confirmed contacts of a case (and upgrades of secondary contacts now close)', params: caseParams } },
    async (req) => {
      const p = caller(req);
      await personInJurisdiction(ctx.db, p, req.params.personId);
      return ctx.db.tx(async (q) => {
        const r = await issueOrders(q, req.params.personId, ctx.preset, actorOf(p).actor, now());
        await appendAudit(q, [{ ...actorOf(p), action: 'order', entity: 'person', entityId: req.params.personId, detail: r }], now());
        return r;
      });
    },
  );

  // Arrivals into the city: recorded by whoever meets the traveller (the street, the tracers, command).
  app.post<{ Params: { personId: number }; Body: { kind: ArrivalKind; origin: string; arrivedAt: string } }>(
    '/api/v1/persons/:personId/arrivals',
    {
      config: { access: { roles: [...TRACERS, 'street_worker'] } },
      schema: {
        tags,
        summary: 'Record an arrival into the city (inbound, or from a high-, medium- or low-risk area): the person’s colour follows by the preset’s status rules, and the preset’s quarantine order is issued (order; null when its days are over, and for a low-risk area, whose arrivals are asked for tests instead)',
        params: caseParams,
        body: { type: 'object', required: ['kind', 'origin', 'arrivedAt'], additionalProperties: false, properties: { kind: { type: 'string', enum: ARRIVAL_KINDS }, origin: { type: 'string', minLength: 1, maxLength: 200 }, arrivedAt: time } },
      },
    },
    async (req, reply) => {
      const p = caller(req);
      await personInJurisdiction(ctx.db, p, req.params.personId);
      const t = now();
      const arrival = await ctx.db.tx(async (q) => {
        const a = await recordArrival(q, { personId: req.params.personId, kind: req.body.kind, origin: req.body.origin, arrivedAt: new Date(req.body.arrivedAt) }, ctx.preset, actorOf(p).actor, t);
        await appendAudit(q, [{ ...actorOf(p), action: 'arrival', entity: 'person', entityId: req.params.personId, detail: { arrivalId: a.id, kind: a.kind, origin: a.origin, arrivedAt: a.arrivedAt, order: a.order && { id: a.order.id, issued: a.order.issued } } }], t);
        return a;
      });
      reply.code(201);
      return arrival;
    },
  );

  app.get<{ Params: { personId: number } }>(
    '/api/v1/persons/:personId/arrivals',
    { config: { access: { roles: [...TRACERS, 'street_worker'] } }, schema: { tags, summary: 'A person’s arrivals into the city, newest first', params: caseParams } },
    async (req) => {
      const p = caller(req);
      await personInJurisdiction(ctx.db, p, req.params.personId);
      const items = await arrivalsOf(ctx.db, req.params.personId);
      await audit(ctx.db, [{ ...actorOf(p), action: 'read', entity: 'person', entityId: req.params.personId, reason: 'arrivals' }], now());
      return { items };
    },
  );

  app.get<{ Params: { id: number } }>(
    '/api/v1/quarantine/orders/:id',
    { config: { access: { roles: [...TRACERS, 'street_worker'] } }, schema: { tags, summary: 'An order: modes, end, test days, and the tests overdue', params: { type: 'object', properties: { id: { type: 'integer' } } } } },
    async (req) => {
      const p = caller(req);
      const [o] = await ctx.db.query<{ person_id: number }>('SELECT person_id FROM quarantine_orders WHERE id = $1', [req.params.id]);
      if (!o) throw notFound(`Order ${req.params.id}`, { code: 'orderUnknown', orderId: req.params.id });
      await personInJurisdiction(ctx.db, p, o.person_id);
      const [order] = await ctx.db.query(
        `SELECT id, person_id AS "personId", level, last_exposure_at AS "lastExposureAt", central_until AS "centralUntil", home_until AS "homeUntil", ends_at AS "endsAt", tests, rule, preset,
                issued_at AS "issuedAt", released_at AS "releasedAt", superseded_by AS "supersededBy" FROM quarantine_orders WHERE id = $1`,
        [req.params.id],
      );
      return { ...order, overdueTests: await overdueTests(ctx.db, req.params.id, now()) };
    },
  );

  app.post<{ Params: { id: number } }>(
    '/api/v1/quarantine/orders/:id/release',
    { config: { access: { roles: [...TRACERS, 'street_worker'] } }, schema: { tags, summary: 'Release at the end of an order, only with a negative result for every test day', params: { type: 'object', properties: { id: { type: 'integer' } } } } },
    async (req) => {
      const p = caller(req);
      const [o] = await ctx.db.query<{ person_id: number }>('SELECT person_id FROM quarantine_orders WHERE id = $1', [req.params.id]);
      if (!o) throw notFound(`Order ${req.params.id}`, { code: 'orderUnknown', orderId: req.params.id });
      await personInJurisdiction(ctx.db, p, o.person_id);
      await ctx.db.tx(async (q) => {
        await releaseOrder(q, req.params.id, actorOf(p).actor, now());
        await appendAudit(q, [{ ...actorOf(p), action: 'release', entity: 'quarantine-order', entityId: req.params.id, detail: { personId: o.person_id } }], now());
      });
      return { id: req.params.id, released: true };
    },
  );

  app.post(
    '/api/v1/quarantine/allocate',
    { config: { access: { roles: COMMAND } }, schema: { tags, summary: 'Give rooms to the transfer queue: households together, own district first, then the nearest with rooms' } },
    async (req) => {
      const p = caller(req);
      return ctx.db.tx(async (q) => {
        const r = await allocateRooms(q, now());
        await appendAudit(q, [{ ...actorOf(p), action: 'allocate', entity: 'quarantine', detail: r }], now());
        return r;
      });
    },
  );

  app.get<{ Querystring: { limit?: number } }>(
    '/api/v1/tracing/chains',
    {
      config: { access: { roles: TRACERS } },
      schema: { tags, summary: 'Chains of transmission: cases as nodes (with their generation), an edge where a case’s contact became a case; compact arrays for large graphs', querystring: { type: 'object', properties: { limit: { type: 'integer', minimum: 1, maximum: 500_000 } } } },
    },
    async (req) => {
      const p = caller(req);
      const limit = req.query.limit ?? 200_000;
      const params: unknown[] = [limit];
      const scope = p.districtId ? (params.push(p.districtId), `AND pe.district_id = $${params.length}`) : '';
      // Cases: persons interviewed or with a positive single tube in force.
      const nodes = await ctx.db.query<{ id: number; district_id: number | null; reported_at: Date }>(
        `SELECT * FROM (
           SELECT DISTINCT ON (x.id) x.id, pe.district_id, x.reported_at FROM (
             SELECT case_person_id AS id, reported_at FROM interviews
             UNION ALL SELECT f.person_id, f.resulted_at FROM positive_findings f JOIN lab_results r ON r.id = f.result_id AND r.state = 'applied'
           ) x JOIN persons pe ON pe.id = x.id WHERE true ${scope}
           ORDER BY x.id, x.reported_at) first
         ORDER BY reported_at, id LIMIT $1`,
        params,
      );
      const first = new Map<number, { districtId: number | null; reportedAt: Date }>();
      for (const n of nodes) if (!first.has(n.id)) first.set(n.id, { districtId: n.district_id, reportedAt: new Date(n.reported_at) });
      const ids = [...first.keys()];
      // An edge from the case a person was exposed to, when that person is a case too (not a dismissed exposure).
      const edges = await ctx.db.query<{ source: number; target: number }>(
        `SELECT DISTINCT e.source_person_id AS source, e.person_id AS target FROM contact_exposures e
          WHERE e.person_id = ANY($1) AND e.source_person_id = ANY($1) AND e.state <> 'dismissed' AND e.source_person_id <> e.person_id`,
        [ids],
      );
      // Generation: 1 for a case nobody infected (as far as is known), else one more than its earliest
      // source reported before it. Nodes come in report order, so every source is done before its targets.
      const parents = new Map<number, number[]>();
      for (const e of edges) parents.set(e.target, [...(parents.get(e.target) ?? []), e.source]);
      const generation = new Map<number, number>();
      for (const id of ids) {
        const at = first.get(id)!.reportedAt;
        const gens = (parents.get(id) ?? []).filter((x) => first.get(x)!.reportedAt < at && generation.has(x)).map((x) => generation.get(x)!);
        generation.set(id, gens.length ? 1 + Math.min(...gens) : 1);
      }
      const genOf = (id: number) => generation.get(id)!;
      await audit(ctx.db, [{ ...actorOf(p), action: 'read', entity: 'chains', reason: 'chains of transmission', detail: { nodes: ids.length } }], now());
      return {
        columns: ['id', 'generation', 'districtId', 'reportedAt'],
        nodes: ids.map((id) => [id, genOf(id), first.get(id)!.districtId, first.get(id)!.reportedAt.toISOString()]),
        edges: edges.filter((e) => genOf(e.target) > genOf(e.source)).map((e) => [e.source, e.target]),
      };
    },
  );

  app.get<{ Querystring: { from?: string; to?: string } }>(
    '/api/v1/tracing/timeliness',
    {
      config: { access: { roles: TRACERS } },
      schema: { tags, summary: '四早: per district and day of the case report, the close contacts and the share in quarantine within 24 hours (ordered, and placed when the order is central)', querystring: { type: 'object', properties: { from: time, to: time } } },
    },
    async (req) => {
      const p = caller(req);
      const rows = await quarantineTimeliness(ctx.db, new Date(req.query.from ?? '1970-01-01T00:00:00Z'), new Date(req.query.to ?? '9999-01-01T00:00:00Z'), ctx.preset.reporting.timeZone, p.districtId);
      return { items: rows.map((r) => ({ ...r, share: r.closeContacts ? Math.round((1000 * r.within24h) / r.closeContacts) / 1000 : null })) };
    },
  );

  app.get(
    '/api/v1/quarantine/capacity',
    { config: { access: { roles: [...COMMAND, 'epidemiologist', 'facility_manager'] } }, schema: { tags, summary: 'Rooms per district: total, used, free, and the transfer queue with the longest wait (hours)' } },
    async () => {
      const t = now();
      const districts = await ctx.db.query(
        `SELECT d.id AS "districtId", d.name,
                coalesce(sum(f.rooms), 0)::int AS rooms,
                (SELECT count(*)::int FROM quarantine_placements x JOIN facilities f2 ON f2.id = x.facility_id WHERE f2.district_id = d.id AND x.placed_at IS NOT NULL AND x.left_at IS NULL) AS used,
                (SELECT count(*)::int FROM quarantine_placements w JOIN persons pw ON pw.id = w.person_id WHERE pw.district_id = d.id AND w.placed_at IS NULL AND w.left_at IS NULL) AS waiting,
                (SELECT (extract(epoch FROM ($1::timestamptz - min(w.waiting_since))) / 3600)::float FROM quarantine_placements w JOIN persons pw ON pw.id = w.person_id
                  WHERE pw.district_id = d.id AND w.placed_at IS NULL AND w.left_at IS NULL) AS "longestWaitHours"
           FROM districts d LEFT JOIN facilities f ON f.district_id = d.id AND f.kind = 'quarantineSite'
          GROUP BY d.id, d.name ORDER BY d.id`,
        [t],
      );
      return { districts: districts.map((d) => ({ ...d, free: (d as { rooms: number }).rooms - (d as { used: number }).used })) };
    },
  );
}
