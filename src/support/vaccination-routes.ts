// Vaccination over HTTP: a person's doses and state, recording a dose, the FHIR R4 export, coverage by age
// band and area, the door-to-door lists of unvaccinated and unboosted elderly, and bookings at sampling
// points that vaccinate. Samplers record and see bookings at any point (people come from anywhere); a
// street's worker and command act within their jurisdiction; a resident reads and books for themselves.
import type { FastifyInstance } from 'fastify';
import type { AppContext } from '../core/context.ts';
import { caller } from '../core/http.ts';
import { COMMAND, personInJurisdiction, type Principal, type Role } from '../core/auth.ts';
import { actorOf, appendAudit, audit } from '../core/audit.ts';
import { badRequest } from '../core/errors.ts';
import { vaccinationState } from './rules.ts';
import { book, coverage, dosesOf, elderlyList, pointBookings, recordDose, today, vaccinatingPoints } from './vaccination.ts';
import { immunizationBundle } from './fhir.ts';

const tags = ['vaccination'];
const RECORDERS: readonly Role[] = ['sampler', 'street_worker', ...COMMAND];
const READERS: readonly Role[] = ['resident', 'sampler', 'street_worker', 'epidemiologist', ...COMMAND];
const BOOKERS: readonly Role[] = ['resident', 'street_worker', ...COMMAND];
const idParams = { type: 'object', properties: { id: { type: 'integer' } } } as const;
const day = { type: 'string', pattern: '^\\d{4}-\\d{2}-\\d{2}$' } as const;

/** A sampler vaccinates whoever comes; others reach persons in their jurisdiction (a resident: themselves). */
const reachPerson = (ctx: AppContext, p: Principal, personId: number) => personInJurisdiction(ctx.db, p.role === 'sampler' ? { ...p, districtId: null, streetId: null } : p, personId);

export function vaccinationRoutes(app: FastifyInstance, ctx: AppContext): void {
  const now = () => ctx.clock.now();

  app.get<{ Params: { id: number } }>(
    '/api/v1/persons/:id/vaccinations',
    { config: { access: { roles: READERS } }, schema: { tags, summary: "A person's doses and state: primary series, booster due, the next dose, an open booking", params: idParams } },
    async (req) => {
      const p = caller(req);
      await reachPerson(ctx, p, req.params.id);
      const doses = await dosesOf(ctx.db, req.params.id);
      const [booking] = await ctx.db.query("SELECT id, sampling_point_id AS \"samplingPointId\", slot_at AS \"slotAt\", dose, series FROM vaccination_bookings WHERE person_id = $1 AND state = 'booked'", [req.params.id]);
      await audit(ctx.db, [{ ...actorOf(p), action: 'read', entity: 'vaccination', entityId: req.params.id }], now());
      return { personId: req.params.id, doses, state: vaccinationState(doses, ctx.preset, today(ctx.preset, now())), booking: booking ?? null };
    },
  );

  app.post<{ Params: { id: number }; Body: { dose: number; product: string; givenOn: string } }>(
    '/api/v1/persons/:id/vaccinations',
    {
      config: { access: { roles: RECORDERS } },
      schema: {
        tags,
        summary: 'Record a dose (dose number, product, date); the doses before it must be there, and a record is never edited',
        params: idParams,
        body: { type: 'object', required: ['dose', 'product', 'givenOn'], additionalProperties: false, properties: { dose: { type: 'integer', minimum: 1, maximum: 6 }, product: { type: 'string', minLength: 2, maxLength: 100 }, givenOn: day } },
      },
    },
    async (req, reply) => {
      const p = caller(req);
      await reachPerson(ctx, p, req.params.id);
      const t = now();
      const r = await ctx.db.tx(async (q) => {
        const r = await recordDose(q, req.params.id, req.body, ctx.preset, actorOf(p).actor, t);
        await appendAudit(q, [{ ...actorOf(p), action: 'vaccination.record', entity: 'vaccination', entityId: req.params.id, detail: { ...req.body, id: r.id } }], t);
        return r;
      });
      reply.code(201);
      return { id: r.id, personId: req.params.id, ...req.body, state: r.state };
    },
  );

  app.get<{ Params: { id: number } }>(
    '/api/v1/persons/:id/immunizations',
    { config: { access: { roles: READERS } }, schema: { tags: [...tags, 'fhir'], summary: "A person's vaccination record as a FHIR R4 Bundle of Immunization resources", params: idParams } },
    async (req, reply) => {
      const p = caller(req);
      await reachPerson(ctx, p, req.params.id);
      const bundle = immunizationBundle(req.params.id, await dosesOf(ctx.db, req.params.id), ctx.preset, now());
      await audit(ctx.db, [{ ...actorOf(p), action: 'export', entity: 'vaccination', entityId: req.params.id, detail: { format: 'fhir-r4', resources: bundle.entry.length } }], now());
      reply.type('application/fhir+json');
      return JSON.stringify(bundle);
    },
  );

  app.get<{ Querystring: { by?: 'district' | 'street' } }>(
    '/api/v1/vaccination/coverage',
    {
      config: { access: { roles: ['street_worker', 'epidemiologist', ...COMMAND] } },
      schema: { tags, summary: 'Coverage of the elderly (60+, 80+ by the preset) by district or street: at least one dose, primary series, booster', querystring: { type: 'object', additionalProperties: false, properties: { by: { type: 'string', enum: ['district', 'street'] } } } },
    },
    async (req) => {
      const p = caller(req);
      return coverage(ctx.db, p, ctx.preset, now(), req.query.by ?? (p.districtId || p.streetId ? 'street' : 'district'));
    },
  );

  app.get<{ Querystring: { list: 'unvaccinated' | 'unboosted'; dueOnly?: boolean; ageAtLeast?: number; limit?: number; after?: number } }>(
    '/api/v1/vaccination/elderly',
    {
      config: { access: { roles: ['street_worker', ...COMMAND] } },
      schema: {
        tags,
        summary: 'Door-to-door lists: elderly with no dose, or with the primary series and no booster (dueOnly: booster due now), with where they live',
        querystring: {
          type: 'object',
          required: ['list'],
          additionalProperties: false,
          properties: { list: { type: 'string', enum: ['unvaccinated', 'unboosted'] }, dueOnly: { type: 'boolean', default: false }, ageAtLeast: { type: 'integer', minimum: 0, maximum: 130 }, limit: { type: 'integer', minimum: 1, maximum: 1000, default: 100 }, after: { type: 'integer', minimum: 0 } },
        },
      },
    },
    async (req) => {
      const p = caller(req);
      const r = await elderlyList(ctx.db, p, req.query.list, ctx.preset, now(), req.query);
      await audit(ctx.db, [{ ...actorOf(p), action: 'read', entity: 'person', reason: `vaccination door-to-door list (${req.query.list})`, detail: { ids: r.items.map((i) => i.personId) } }], now());
      return r;
    },
  );

  app.get(
    '/api/v1/vaccination/points',
    { config: { access: { roles: [...BOOKERS, 'sampler'] } }, schema: { tags, summary: 'Sampling points that also vaccinate (in a district user’s district)' } },
    async (req) => ({ items: await vaccinatingPoints(ctx.db, caller(req).districtId) }),
  );

  app.post<{ Body: { personId?: number; samplingPointId: number; slotAt: string } }>(
    '/api/v1/vaccination/bookings',
    {
      config: { access: { roles: BOOKERS } },
      schema: {
        tags,
        summary: 'Book the next dose in an hour slot at a sampling point that vaccinates (a resident: for themselves)',
        body: { type: 'object', required: ['samplingPointId', 'slotAt'], additionalProperties: false, properties: { personId: { type: 'integer' }, samplingPointId: { type: 'integer' }, slotAt: { type: 'string', format: 'date-time' } } },
      },
    },
    async (req, reply) => {
      const p = caller(req);
      const personId = p.role === 'resident' ? p.personId : req.body.personId;
      if (!personId) throw badRequest('personId is required.', { code: 'personIdNeeded' });
      await reachPerson(ctx, p, personId);
      const t = now();
      const r = await ctx.db.tx(async (q) => {
        const r = await book(q, personId, req.body.samplingPointId, new Date(req.body.slotAt), ctx.preset, actorOf(p).actor, t);
        await appendAudit(q, [{ ...actorOf(p), action: 'vaccination.book', entity: 'vaccination', entityId: personId, detail: r }], t);
        return r;
      });
      reply.code(201);
      return r;
    },
  );

  app.post<{ Params: { id: number } }>(
    '/api/v1/vaccination/bookings/:id/cancel',
    { config: { access: { roles: BOOKERS } }, schema: { tags, summary: 'Cancel an open booking', params: idParams } },
    async (req) => {
      const p = caller(req);
      const [b] = await ctx.db.query<{ person_id: number }>("SELECT person_id FROM vaccination_bookings WHERE id = $1 AND state = 'booked'", [req.params.id]);
      if (!b) throw badRequest(`Booking ${req.params.id} is not open.`, { code: 'bookingNotOpen', bookingId: req.params.id });
      await reachPerson(ctx, p, b.person_id);
      await ctx.db.tx(async (q) => {
        await q.query("UPDATE vaccination_bookings SET state = 'cancelled', closed_at = $2 WHERE id = $1", [req.params.id, now()]);
        await appendAudit(q, [{ ...actorOf(p), action: 'vaccination.cancel', entity: 'vaccination', entityId: b.person_id, detail: { bookingId: req.params.id } }], now());
      });
      return { id: req.params.id, state: 'cancelled' };
    },
  );

  app.get<{ Params: { id: number }; Querystring: { day?: string } }>(
    '/api/v1/sampling-points/:id/vaccination-bookings',
    { config: { access: { roles: ['sampler', 'street_worker', ...COMMAND] } }, schema: { tags, summary: 'Who comes to be vaccinated at a point on a day (local), by hour', params: idParams, querystring: { type: 'object', additionalProperties: false, properties: { day } } } },
    async (req) => {
      const p = caller(req);
      const d = req.query.day ?? today(ctx.preset, now());
      const items = await pointBookings(ctx.db, req.params.id, d, ctx.preset);
      await audit(ctx.db, [{ ...actorOf(p), action: 'read', entity: 'person', reason: 'vaccination bookings', detail: { samplingPointId: req.params.id, day: d, ids: items.map((i) => (i as { personId: number }).personId) } }], now());
      return { samplingPointId: req.params.id, day: d, items };
    },
  );
}
