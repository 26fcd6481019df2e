// Registry HTTP API: places, persons (audited, jurisdiction-scoped, ID numbers masked), the map, CSV import.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { PassThrough, type Readable } from 'node:stream';
import type { AppContext } from '../core/context.ts';
import { COMMAND, ROLES, STAFF, type Principal, type Role } from '../core/auth.ts';
import { actorOf, appendAudit, audit } from '../core/audit.ts';
import { caller, heavyWork, schemas, sendProblem } from '../core/http.ts';
import { Problem, forbidden } from '../core/errors.ts';
import { CARE_NEEDS, COMORBIDITIES, ENTITIES, PREGNANCY, type EntityName } from './entities.ts';
import { importCsv } from './import.ts';
import * as store from './store.ts';
import type { FieldDef, PlaceDef } from './store.ts';

// Places hold no personal data: every signed-in role may read them (a resident sees their compound's name).
const PLACE_READERS: readonly Role[] = ROLES;
const PERSON_READERS: readonly Role[] = [...STAFF, 'resident'];
const PERSON_WRITERS: readonly Role[] = ['city_command', 'district_command', 'street_worker'];

const idParams = { type: 'object', required: ['id'], properties: { id: schemas.id } } as const;

function fieldSchema(fd: FieldDef): Record<string, unknown> {
  let s: Record<string, unknown>;
  switch (fd.kind) {
    case 'text':
      s = { type: 'string', maxLength: fd.max ?? 200, ...(fd.required ? { minLength: 1 } : {}), ...(fd.enum ? { enum: fd.enum } : {}) };
      break;
    case 'int':
      s = { type: 'integer', ...(fd.min !== undefined ? { minimum: fd.min } : {}), maximum: fd.max ?? 2_000_000_000 };
      break;
    case 'number':
      s = { type: 'number', ...(fd.min !== undefined ? { minimum: fd.min } : {}), ...(fd.max !== undefined ? { maximum: fd.max } : {}) };
      break;
    case 'bool':
      s = { type: 'boolean' };
      break;
    case 'json':
      s = { type: 'object', description: 'GeoJSON geometry' };
      break;
    case 'time':
      s = { type: 'string', pattern: '^([01]\\d|2[0-3]):[0-5]\\d(:[0-5]\\d)?$' };
      break;
  }
  return fd.required ? s : { ...s, type: [s.type, 'null'] };
}

function bodySchema(def: PlaceDef, create: boolean) {
  const writable = def.fields.filter((fd) => !fd.derived);
  return {
    type: 'object',
    additionalProperties: false,
    ...(create ? { required: writable.filter((fd) => fd.required).map((fd) => fd.json) } : { minProperties: 1 }),
    properties: Object.fromEntries(writable.map((fd) => [fd.json, fieldSchema(fd)])),
  };
}

function listQuery(filters: Record<string, unknown>) {
  return { ...schemas.page, properties: { ...schemas.page.properties, ...filters } };
}

const personBody = (create: boolean) => ({
  type: 'object',
  additionalProperties: false,
  ...(create ? { required: ['name', 'sex', 'birthDate'] } : { minProperties: 1 }),
  properties: {
    idNumber: { type: ['string', 'null'], maxLength: 30, description: '18-character resident ID number; stored only hashed and encrypted' },
    name: { type: 'string', minLength: 1, maxLength: 200 },
    sex: { type: 'string', enum: ['F', 'M'] },
    birthDate: { type: 'string', pattern: '^\\d{4}-\\d{2}-\\d{2}$' },
    phone: { type: ['string', 'null'], maxLength: 30 },
    householdId: { type: ['integer', 'null'], minimum: 1 },
    compoundId: { type: ['integer', 'null'], minimum: 1 },
    comorbidities: { type: 'array', items: { type: 'string', enum: COMORBIDITIES }, maxItems: 20 },
    pregnancy: { type: 'string', enum: PREGNANCY },
    careNeeds: { type: 'array', items: { type: 'string', enum: CARE_NEEDS }, maxItems: 20 },
  },
});

/** One audit entry per person shown, naming the route that showed them. */
function auditReads(ctx: AppContext, req: FastifyRequest, p: Principal, ids: number[]) {
  const route = `${req.method} ${req.routeOptions.url}`;
  return audit(ctx.db, ids.map((id) => ({ ...actorOf(p), action: 'read', entity: 'person', entityId: id, reason: route, detail: { route } })), ctx.clock.now());
}

export function registryRoutes(app: FastifyInstance, ctx: AppContext): void {
  // A plugin scope, so that the CSV body parser applies to these routes only.
  app.register(async (scope) => {
    placeRoutes(scope, ctx);
    personRoutes(scope, ctx);
    mapRoutes(scope, ctx);
    importRoutes(scope, ctx);
  });
}

function placeRoutes(app: FastifyInstance, ctx: AppContext) {
  for (const def of store.PLACES) {
    const base = `/api/v1/${def.path}`;
    const tags = ['registry'];
    const filters = Object.fromEntries(def.filters.map((fl) => [fl, fl === 'kind' ? { type: 'string', maxLength: 50 } : schemas.id]));
    app.get<{ Querystring: store.ListQuery }>(
      base,
      { config: { access: { roles: PLACE_READERS } }, schema: { tags, summary: `${def.noun}s, in id order (keyset paging: ?after=<next>); ?q= searches names and codes by prefix`, querystring: listQuery(filters) } },
      async (req) => store.listPlaces(ctx.db, def, req.query),
    );
    app.get<{ Params: { id: number } }>(
      `${base}/:id`,
      { config: { access: { roles: PLACE_READERS } }, schema: { tags, summary: `One ${def.noun.toLowerCase()}`, params: idParams } },
      async (req) => store.getPlace(ctx.db, def, req.params.id),
    );
    app.post<{ Body: Record<string, unknown> }>(
      base,
      { config: { access: { roles: COMMAND } }, schema: { tags, summary: `Create a ${def.noun.toLowerCase()}`, body: bodySchema(def, true) } },
      async (req, reply) => {
        const p = caller(req);
        const created = await ctx.db.tx(async (q) => {
          const row = await store.createPlace(q, p, def, req.body);
          await appendAudit(q, [{ ...actorOf(p), action: 'create', entity: def.table, entityId: row.id as number }], ctx.clock.now());
          return row;
        });
        reply.code(201);
        return created;
      },
    );
    app.patch<{ Params: { id: number }; Body: Record<string, unknown> }>(
      `${base}/:id`,
      { config: { access: { roles: COMMAND } }, schema: { tags, summary: `Change a ${def.noun.toLowerCase()}`, params: idParams, body: bodySchema(def, false) } },
      async (req) => {
        const p = caller(req);
        return ctx.db.tx(async (q) => {
          const row = await store.updatePlace(q, p, def, req.params.id, req.body);
          await appendAudit(q, [{ ...actorOf(p), action: 'update', entity: def.table, entityId: req.params.id, detail: { fields: Object.keys(req.body) } }], ctx.clock.now());
          return row;
        });
      },
    );
    app.delete<{ Params: { id: number } }>(
      `${base}/:id`,
      { config: { access: { roles: COMMAND } }, schema: { tags, summary: `Delete a ${def.noun.toLowerCase()} (409 while anything refers to it)`, params: idParams } },
      async (req, reply) => {
        const p = caller(req);
        await ctx.db.tx(async (q) => {
          await store.deletePlace(q, p, def, req.params.id);
          await appendAudit(q, [{ ...actorOf(p), action: 'delete', entity: def.table, entityId: req.params.id }], ctx.clock.now());
        });
        reply.code(204);
      },
    );
  }
}

function personRoutes(app: FastifyInstance, ctx: AppContext) {
  const tags = ['registry', 'persons'];
  app.get<{ Querystring: store.PersonQuery }>(
    '/api/v1/persons',
    {
      config: { access: { roles: PERSON_READERS } },
      schema: {
        tags,
        summary: 'Persons within your jurisdiction (each read is audited); ?q= a name prefix, an ID number, a personal code or a phone number',
        querystring: listQuery({ districtId: schemas.id, streetId: schemas.id, compoundId: schemas.id, householdId: schemas.id }),
      },
    },
    async (req) => {
      const p = caller(req);
      const page = await store.listPersons(ctx.db, ctx.pii, p, req.query);
      await auditReads(ctx, req, p, page.items.map((x) => x.id));
      return page;
    },
  );
  app.get<{ Params: { id: number } }>(
    '/api/v1/persons/:id',
    { config: { access: { roles: PERSON_READERS } }, schema: { tags, summary: 'One person (404 outside your jurisdiction; audited)', params: idParams } },
    async (req) => {
      const p = caller(req);
      const person = await store.getPersonFor(ctx.db, ctx.pii, p, req.params.id);
      await auditReads(ctx, req, p, [person.id]);
      return person;
    },
  );
  app.get<{ Params: { id: number }; Querystring: { reason: string } }>(
    '/api/v1/persons/:id/id-number',
    {
      config: { access: { roles: COMMAND } },
      schema: {
        tags,
        summary: 'The ID number in clear, for city and district command, with a reason (audited)',
        params: idParams,
        querystring: { type: 'object', required: ['reason'], properties: { reason: { type: 'string', minLength: 3, maxLength: 500 } } },
      },
    },
    async (req) => {
      const p = caller(req);
      const idNumber = await store.personIdNumber(ctx.db, ctx.pii, p, req.params.id);
      await audit(ctx.db, [{ ...actorOf(p), action: 'read-id-number', entity: 'person', entityId: req.params.id, reason: req.query.reason.trim(), detail: { route: `${req.method} ${req.routeOptions.url}` } }], ctx.clock.now());
      return { id: req.params.id, idNumber };
    },
  );
  app.post<{ Body: store.PersonInput }>(
    '/api/v1/persons',
    { config: { access: { roles: PERSON_WRITERS } }, schema: { tags, summary: 'Register a person (householdId or compoundId; audited)', body: personBody(true) } },
    async (req, reply) => {
      const p = caller(req);
      const now = ctx.clock.now();
      const person = await ctx.db.tx(async (q) => {
        const id = await store.createPerson(q, ctx.pii, p, req.body, now);
        await appendAudit(q, [{ ...actorOf(p), action: 'create', entity: 'person', entityId: id, detail: { fields: Object.keys(req.body) } }], now);
        return store.getPerson(q, ctx.pii, id);
      });
      reply.code(201);
      return person;
    },
  );
  app.patch<{ Params: { id: number }; Body: store.PersonInput }>(
    '/api/v1/persons/:id',
    { config: { access: { roles: PERSON_WRITERS } }, schema: { tags, summary: 'Change a person (audited)', params: idParams, body: personBody(false) } },
    async (req) => {
      const p = caller(req);
      const now = ctx.clock.now();
      return ctx.db.tx(async (q) => {
        const fields = await store.updatePerson(q, ctx.pii, p, req.params.id, req.body, now);
        await appendAudit(q, [{ ...actorOf(p), action: 'update', entity: 'person', entityId: req.params.id, detail: { fields } }], now);
        return store.getPerson(q, ctx.pii, req.params.id);
      });
    },
  );
  app.delete<{ Params: { id: number } }>(
    '/api/v1/persons/:id',
    { config: { access: { roles: COMMAND } }, schema: { tags, summary: 'Delete a person record (audited; 409 while a user account belongs to it)', params: idParams } },
    async (req, reply) => {
      const p = caller(req);
      await ctx.db.tx(async (q) => {
        await store.deletePerson(q, p, req.params.id);
        await appendAudit(q, [{ ...actorOf(p), action: 'delete', entity: 'person', entityId: req.params.id }], ctx.clock.now());
      });
      reply.code(204);
    },
  );
}

function mapRoutes(app: FastifyInstance, ctx: AppContext) {
  for (const layer of ['compounds', 'districts'] as const) {
    app.get(
      `/api/v1/map/${layer}.geojson`,
      { config: { access: { roles: ROLES } }, schema: { tags: ['registry', 'map'], summary: `Every ${layer.slice(0, -1)} shape with its population (GeoJSON; no personal data)` } },
      async (_req, reply) => reply.type('application/geo+json').send(await store.mapGeoJson(ctx.db, layer)),
    );
  }
}

function importRoutes(app: FastifyInstance, ctx: AppContext) {
  // The body stays a stream: a city's persons file is larger than any body limit, and is read as it arrives.
  app.addContentTypeParser('text/csv', (_req, payload, done) => done(null, payload));
  const names = [...ENTITIES, ...ENTITIES.filter((e) => e.includes('_')).map((e) => e.replace(/_/g, '-'))];
  app.post<{ Params: { entity: string }; Querystring: { partial?: boolean } }>(
    '/api/v1/import/:entity',
    {
      config: { access: { roles: COMMAND } },
      schema: {
        tags: ['registry', 'import'],
        summary: 'Import a CSV file (text/csv, header row); all or nothing unless ?partial=true; 422 with the bad lines when nothing was written',
        params: { type: 'object', required: ['entity'], properties: { entity: { type: 'string', enum: names } } },
        querystring: { type: 'object', properties: { partial: { type: 'boolean', default: false } } },
      },
    },
    async (req, reply) => {
      const p = caller(req);
      const entity = req.params.entity.replace(/-/g, '_') as EntityName;
      if (!(req.headers['content-type'] ?? '').startsWith('text/csv')) throw new Problem(415, 'Unsupported media type', 'Send the file as text/csv with a header row.', { code: 'csvExpected' });
      if (p.districtId && entity === 'districts') throw forbidden('Only city command may import districts.', { code: 'districtsByCity' });
      // The import may stop reading early (a bad header); it then destroys its input, which must not be the
      // request itself (that would close the connection before the answer).
      const upload = req.body as Readable;
      const input = new PassThrough();
      upload.on('error', (e) => input.destroy(e));
      upload.on('aborted', () => input.destroy(new Error('the upload was aborted')));
      upload.pipe(input);
      const report = await heavyWork(() => importCsv(ctx, entity, input, { partial: req.query.partial, actor: actorOf(p), districtId: p.districtId }));
      // Whatever was not read is drained, so that the client can finish sending and read the answer.
      upload.unpipe(input);
      upload.resume();
      if (!report.committed) {
        return sendProblem(reply, 422, 'Import rejected', `Nothing was written: ${report.rejectedCount ?? report.rejected.length} bad row(s)${req.query.partial ? '' : '; fix them, or import with ?partial=true to keep the good rows'}.`, { report });
      }
      return report;
    },
  );
}
