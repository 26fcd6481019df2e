// Testing over HTTP: campaigns, the sampler's tubes, lab receipts and results, coverage, history, antigen.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { AppContext } from '../core/context.ts';
import { caller, sendProblem } from '../core/http.ts';
import { COMMAND, STAFF, jurisdictionSql, personInJurisdiction, type Principal, type Role } from '../core/auth.ts';
import { actorOf, appendAudit, audit } from '../core/audit.ts';
import { badRequest, forbidden, notFound } from '../core/errors.ts';
import { csvField } from '../core/db.ts';
import { SAMPLING_GROUPS, type SamplingGroup, type Verdict } from './rules.ts';
import {
  doorToDoorTasks,
  addSample,
  alertOverdueTubes,
  campaignProgress,
  closeTube,
  coverageCsv,
  coverageGaps,
  COVERAGE_CSV_HEADER,
  createCampaign,
  labLoad,
  openTube,
  pointThroughput,
  receiveTubes,
  resolveConflict,
  recordTubeBatch,
  reportAntigen,
  testHistory,
  type AreaFilter,
} from './store.ts';
import { BARCODE, parseResultsCsv, readResult, sha256, uploadResults } from './results.ts';
import { rejection, type Rejection } from './rejections.ts';

const SAMPLERS: readonly Role[] = ['sampler', 'street_worker', 'city_command', 'district_command'];
const LABS: readonly Role[] = ['lab', 'city_command', 'district_command'];
const group = { type: 'string', enum: SAMPLING_GROUPS } as const;
const barcode = { type: 'string', pattern: BARCODE.source } as const;
const personRef = { type: 'string', minLength: 4, maxLength: 64, description: 'Personal code (the QR) or ID number' } as const;

/** The person if the caller may see them (their jurisdiction; a resident only themself), else 404. */
/** A lab principal acts for its own lab only. */
function checkLab(p: Principal, labId: number) {
  if (p.role === 'lab' && p.labId !== labId) throw forbidden(`You act for lab ${p.labId}, not lab ${labId}.`);
}

/** District and street users see their own part of an area. */
function scopedArea(p: Principal, q: AreaFilter): AreaFilter {
  if (p.streetId && q.streetId && q.streetId !== p.streetId) throw forbidden('That street is outside your jurisdiction.');
  if (p.districtId && q.districtId && q.districtId !== p.districtId) throw forbidden('That district is outside your jurisdiction.');
  return { districtId: p.districtId ?? q.districtId, streetId: p.streetId ?? q.streetId, compoundId: q.compoundId };
}

export function testingRoutes(app: FastifyInstance, ctx: AppContext): void {
  const now = () => ctx.clock.now();
  const tags = ['testing'];

  app.post<{ Body: { name: string; areaLevel: 'city' | 'district' | 'street' | 'compound'; areaIds?: number[]; startsAt: string; endsAt: string; defaultGroup?: SamplingGroup; compoundGroups?: Record<string, SamplingGroup>; cohort?: 'age60plus' } }>(
    '/api/v1/campaigns',
    {
      config: { access: { roles: COMMAND } },
      schema: {
        tags,
        summary: 'Start a screening round over an area; fixes who must test',
        body: {
          type: 'object',
          required: ['name', 'areaLevel', 'startsAt', 'endsAt'],
          additionalProperties: false,
          properties: {
            name: { type: 'string', minLength: 1, maxLength: 200 },
            areaLevel: { type: 'string', enum: ['city', 'district', 'street', 'compound'] },
            areaIds: { type: 'array', items: { type: 'integer' }, maxItems: 10000 },
            startsAt: { type: 'string', format: 'date-time' },
            endsAt: { type: 'string', format: 'date-time' },
            defaultGroup: group,
            compoundGroups: { type: 'object', additionalProperties: group },
            cohort: { type: 'string', enum: ['age60plus'] },
          },
        },
      },
    },
    async (req, reply) => {
      const p = caller(req);
      const b = req.body;
      if (new Date(b.endsAt) <= new Date(b.startsAt)) throw badRequest('endsAt must be after startsAt.');
      if (p.districtId) {
        // A district may screen only inside itself.
        if (b.areaLevel === 'city') throw forbidden('A district command may not start a city-wide round.');
        const table = { district: 'districts', street: 'streets', compound: 'compounds' }[b.areaLevel];
        const col = b.areaLevel === 'district' ? 'id' : 'district_id';
        const outside = await ctx.db.query(`SELECT 1 FROM ${table} WHERE id = ANY($1) AND ${col} <> $2 LIMIT 1`, [b.areaIds ?? [], p.districtId]);
        if (outside.length) throw forbidden('Part of that area is outside your district.');
      }
      const t = now();
      const result = await ctx.db.tx(async (q) => {
        const r = await createCampaign(q, { ...b, areaIds: b.areaIds ?? [], startsAt: new Date(b.startsAt), endsAt: new Date(b.endsAt) }, ctx.preset, actorOf(p).actor, t);
        await appendAudit(q, [{ ...actorOf(p), action: 'create', entity: 'campaign', entityId: r.id, detail: { name: b.name, areaLevel: b.areaLevel, areaIds: b.areaIds ?? [], expected: r.expected } }], t);
        return r;
      });
      reply.code(201);
      return result;
    },
  );

  // Samplers read the list too, to tag their tubes with the round (it holds no personal data).
  app.get('/api/v1/campaigns', { config: { access: { roles: [...STAFF, 'sampler'] } }, schema: { tags, summary: 'Screening rounds, newest first' } }, async () => ({
    items: await ctx.db.query(`SELECT id, name, area_level AS "areaLevel", area_ids AS "areaIds", default_group AS "defaultGroup", cohort, starts_at AS "startsAt", ends_at AS "endsAt", preset FROM campaigns ORDER BY id DESC LIMIT 200`),
  }));

  const areaQuery = { type: 'object', properties: { districtId: { type: 'integer' }, streetId: { type: 'integer' }, compoundId: { type: 'integer' } } } as const;

  app.get<{ Params: { id: number }; Querystring: AreaFilter }>(
    '/api/v1/campaigns/:id/progress',
    { config: { access: { roles: STAFF } }, schema: { tags, summary: 'Expected, sampled, resulted and positive, for the caller’s part of the area', params: { type: 'object', properties: { id: { type: 'integer' } } }, querystring: areaQuery } },
    async (req) => {
      const [c] = await ctx.db.query('SELECT id FROM campaigns WHERE id = $1', [req.params.id]);
      if (!c) throw notFound(`Campaign ${req.params.id}`);
      return campaignProgress(ctx.db, req.params.id, scopedArea(caller(req), req.query));
    },
  );

  app.get<{ Params: { id: number } }>(
    '/api/v1/campaigns/:id/progress/by-street',
    { config: { access: { roles: STAFF } }, schema: { tags, summary: 'Progress street by street (who is still missing, where)', params: { type: 'object', properties: { id: { type: 'integer' } } } } },
    async (req) => {
      const p = caller(req);
      const params: unknown[] = [req.params.id];
      const scope = jurisdictionSql(p, 'e', params);
      const rows = await ctx.db.query(
        `SELECT e.street_id AS "streetId", st.name AS "streetName", e.district_id AS "districtId", count(*)::int AS expected,
                count(e.sampled_at)::int AS sampled
           FROM campaign_expected e
           LEFT JOIN streets st ON st.id = e.street_id
          WHERE e.campaign_id = $1 AND ${scope}
          GROUP BY e.street_id, st.name, e.district_id ORDER BY (count(*) - count(e.sampled_at)) DESC`,
        params,
      );
      return { items: rows };
    },
  );

  app.post<{ Params: { id: number } }>(
    '/api/v1/campaigns/:id/door-to-door',
    { config: { access: { roles: COMMAND } }, schema: { tags, summary: 'Tasks for door-to-door sampling: one per street of the caller\'s area, naming who has not been sampled', params: { type: 'object', properties: { id: { type: 'integer' } } } } },
    async (req) => {
      const p = caller(req);
      const [c] = await ctx.db.query('SELECT id FROM campaigns WHERE id = $1', [req.params.id]);
      if (!c) throw notFound(`Campaign ${req.params.id}`);
      return ctx.db.tx(async (q) => {
        const r = await doorToDoorTasks(q, req.params.id, (alias, params) => jurisdictionSql(p, alias, params), ctx.preset, actorOf(p).actor, now());
        await appendAudit(q, [{ ...actorOf(p), action: 'task.doorToDoor', entity: 'campaign', entityId: req.params.id, detail: r }], now());
        return r;
      });
    },
  );

  app.get<{ Params: { id: number }; Querystring: AreaFilter & { format?: 'json' | 'csv'; limit?: number } }>(
    '/api/v1/campaigns/:id/coverage',
    {
      config: { access: { roles: STAFF } },
      schema: {
        tags,
        summary: 'Who has not been sampled (应检未检), sorted by compound, building, floor and unit for door-to-door work',
        params: { type: 'object', properties: { id: { type: 'integer' } } },
        querystring: { type: 'object', properties: { ...areaQuery.properties, format: { type: 'string', enum: ['json', 'csv'] }, limit: { type: 'integer', minimum: 1, maximum: 5_000_000 } } },
      },
    },
    async (req, reply) => {
      const p = caller(req);
      const [c] = await ctx.db.query('SELECT id FROM campaigns WHERE id = $1', [req.params.id]);
      if (!c) throw notFound(`Campaign ${req.params.id}`);
      const area = scopedArea(p, req.query);
      const scope = (alias: string, params: unknown[]) => jurisdictionSql(p, alias, params);
      // A list is audited as one read with the filter that reproduces it.
      const read = (rows: number) => audit(ctx.db, [{ ...actorOf(p), action: 'read', entity: 'coverage', entityId: req.params.id, reason: 'door-to-door list of untested residents', detail: { area, rows } }], now());
      if (req.query.format === 'csv') {
        // The whole list is written by the database; a limited one (a first page) is small enough for here.
        const list = req.query.limit ? null : await coverageCsv(ctx.db, req.params.id, area, scope);
        const page = list ? [] : await coverageGaps(ctx.db, req.params.id, area, scope, req.query.limit);
        const lines = list ? list.lines : page.map((r) => [r.personId, r.name, r.phone, r.compoundCode, r.compoundName, r.buildingCode, r.floor, r.unit, r.samplingGroup].map(csvField).join(',')).join('\n');
        const count = list ? list.rows : page.length;
        await read(count);
        return reply.type('text/csv; charset=utf-8').header('content-disposition', `attachment; filename="coverage-${req.params.id}.csv"`).send(`${COVERAGE_CSV_HEADER}\n${lines}${count ? '\n' : ''}`);
      }
      const rows = await coverageGaps(ctx.db, req.params.id, area, scope, req.query.limit);
      await read(rows.length);
      const byCompound = new Map<string, number>();
      for (const r of rows) byCompound.set(r.compoundCode ?? '-', (byCompound.get(r.compoundCode ?? '-') ?? 0) + 1);
      return { missing: rows.length, compounds: [...byCompound].map(([code, missing]) => ({ code, missing })), items: rows };
    },
  );

  // --- the sampler's flow -------------------------------------------------------------------------

  app.post<{ Body: { barcode: string; samplingPointId: number; campaignId?: number; group?: SamplingGroup; retestOf?: string } }>(
    '/api/v1/tubes',
    {
      config: { access: { roles: SAMPLERS } },
      schema: {
        tags,
        summary: 'Open a tube by its barcode at a sampling point',
        body: { type: 'object', required: ['barcode', 'samplingPointId'], additionalProperties: false, properties: { barcode, samplingPointId: { type: 'integer' }, campaignId: { type: 'integer' }, group, retestOf: barcode } },
      },
    },
    async (req, reply) => {
      const p = caller(req);
      const t = now();
      const tube = await ctx.db.tx((q) => openTube(q, req.body, ctx.preset, actorOf(p).actor, t));
      reply.code(201);
      return tube;
    },
  );

  app.post<{ Params: { barcode: string }; Body: { person: string } }>(
    '/api/v1/tubes/:barcode/samples',
    {
      config: { access: { roles: SAMPLERS } },
      schema: { tags, summary: 'Add a person to an open tube by personal code or ID number', params: { type: 'object', properties: { barcode } }, body: { type: 'object', required: ['person'], additionalProperties: false, properties: { person: personRef } } },
    },
    async (req, reply) => {
      const p = caller(req);
      const t = now();
      const added = await ctx.db.tx(async (q) => {
        const a = await addSample(q, ctx.pii, req.params.barcode, req.body.person, ctx.preset, t);
        await appendAudit(q, [{ ...actorOf(p), action: 'sample', entity: 'person', entityId: a.personId, reason: `tube ${req.params.barcode}` }], t);
        return a;
      });
      reply.code(201);
      return added;
    },
  );

  app.post<{ Params: { barcode: string } }>(
    '/api/v1/tubes/:barcode/close',
    { config: { access: { roles: SAMPLERS } }, schema: { tags, summary: 'Close a tube; nobody more can be added', params: { type: 'object', properties: { barcode } } } },
    async (req) => ctx.db.tx((q) => closeTube(q, req.params.barcode, now())),
  );

  app.post<{ Body: { tubes: { barcode: string; samplingPointId: number; campaignId?: number; group?: SamplingGroup; sampledAt: string; persons: string[] }[] } }>(
    '/api/v1/tubes/batch',
    {
      config: { access: { roles: SAMPLERS } },
      schema: {
        tags,
        summary: 'Record closed tubes collected offline by a sampling device: all of the batch or none of it',
        body: {
          type: 'object',
          required: ['tubes'],
          additionalProperties: false,
          properties: {
            tubes: {
              type: 'array',
              minItems: 1,
              maxItems: 20000,
              items: {
                type: 'object',
                required: ['barcode', 'samplingPointId', 'sampledAt', 'persons'],
                additionalProperties: false,
                properties: { barcode, samplingPointId: { type: 'integer' }, campaignId: { type: 'integer' }, group, sampledAt: { type: 'string', format: 'date-time' }, persons: { type: 'array', items: personRef, minItems: 1, maxItems: 20 } },
              },
            },
          },
        },
      },
    },
    async (req, reply) => {
      const p = caller(req);
      const t = now();
      const result = await ctx.db.tx(async (q) => {
        const r = await recordTubeBatch(q, ctx.pii, req.body.tubes.map((x) => ({ ...x, sampledAt: new Date(x.sampledAt) })), ctx.preset, actorOf(p).actor);
        await appendAudit(q, [{ ...actorOf(p), action: 'sample', entity: 'tube-batch', detail: { tubes: r.tubes, samples: r.samples, first: req.body.tubes[0].barcode } }], t);
        return r;
      });
      reply.code(201);
      return result;
    },
  );

  app.post<{ Params: { id: number }; Body: { waiting: number } }>(
    '/api/v1/sampling-points/:id/queue',
    { config: { access: { roles: SAMPLERS } }, schema: { tags, summary: 'Report how many people are waiting at a sampling point', params: { type: 'object', properties: { id: { type: 'integer' } } }, body: { type: 'object', required: ['waiting'], additionalProperties: false, properties: { waiting: { type: 'integer', minimum: 0, maximum: 100000 } } } } },
    async (req, reply) => {
      await ctx.db.query('INSERT INTO queue_reports (sampling_point_id, at, waiting, reported_by) VALUES ($1,$2,$3,$4) ON CONFLICT DO NOTHING', [req.params.id, now(), req.body.waiting, actorOf(caller(req)).actor]);
      reply.code(201);
      return pointThroughput(ctx.db, req.params.id, now(), ctx.preset.testing.maxQueueMinutes);
    },
  );

  app.get<{ Params: { id: number } }>(
    '/api/v1/sampling-points/:id/throughput',
    { config: { access: { roles: [...STAFF, 'sampler'] } }, schema: { tags, summary: 'Samples per station per hour and the expected wait now (goal <= 20 min)', params: { type: 'object', properties: { id: { type: 'integer' } } } } },
    async (req) => pointThroughput(ctx.db, req.params.id, now(), ctx.preset.testing.maxQueueMinutes),
  );

  // --- labs -------------------------------------------------------------------------------------------

  app.post<{ Params: { labId: number }; Body: { barcodes: string[] } }>(
    '/api/v1/labs/:labId/receipts',
    { config: { access: { roles: LABS } }, schema: { tags, summary: 'A lab receives a batch of tubes', params: { type: 'object', properties: { labId: { type: 'integer' } } }, body: { type: 'object', required: ['barcodes'], additionalProperties: false, properties: { barcodes: { type: 'array', items: barcode, minItems: 1, maxItems: 200000 } } } } },
    async (req) => {
      checkLab(caller(req), req.params.labId);
      return ctx.db.tx((q) => receiveTubes(q, req.params.labId, req.body.barcodes, now()));
    },
  );

  app.register(async (scope) => {
    // Results arrive as CSV (a lab's file) or JSON (a lab system's API call).
    scope.addContentTypeParser(['text/csv', 'text/plain'], { parseAs: 'string', bodyLimit: 256 * 1024 * 1024 }, (_req, body, done) => done(null, body));
    scope.post<{ Params: { labId: number }; Body: string | { results: { barcode: string; result: string; ctOrf1ab?: number | null; ctN?: number | null; resultedAt: string }[] } }>(
      '/api/v1/labs/:labId/results',
      {
        config: { access: { roles: LABS } },
        schema: {
          tags,
          summary: 'Upload results: text/csv with header barcode,result,ct_orf1ab,ct_n,resulted_at, or JSON {results:[...]}. Idempotent; nothing is written if any line is bad.',
          params: { type: 'object', properties: { labId: { type: 'integer' } } },
        },
      },
      async (req, reply) => {
        const p = caller(req);
        const labId = req.params.labId;
        checkLab(p, labId);
        const [lab] = await ctx.db.query('SELECT id FROM labs WHERE id = $1', [labId]);
        if (!lab) throw notFound(`Lab ${labId}`);
        const parsed = typeof req.body === 'string' ? parseResultsCsv(req.body) : parseJsonResults(req.body);
        const report = await uploadResults(ctx.db, {
          labId,
          ...parsed,
          sha256: sha256(typeof req.body === 'string' ? req.body : JSON.stringify(req.body)),
          preset: ctx.preset,
          by: actorOf(p).actor,
          now: now(),
          chunk: ctx.config.resultChunkRows,
          onProgress: (done) => req.log.info({ labId, done, rows: parsed.rows.length }, 'results applied'),
        });
        if (report.rejected.length) {
          return sendProblem(reply, 422, 'Results not accepted', `${report.rejected.length} bad line(s); nothing was written. First: line ${report.rejected[0].line}: ${report.rejected[0].reason}`, { rejected: report.rejected.slice(0, 1000) });
        }
        await audit(ctx.db, [{ ...actorOf(p), action: 'upload', entity: 'lab-results', entityId: report.uploadId, detail: { labId, rows: report.rows, applied: report.applied, duplicates: report.duplicates, conflicts: report.conflicts } }], now());
        return report;
      },
    );
  });

  app.get<{ Params: { labId: number } }>(
    '/api/v1/labs/:labId/load',
    { config: { access: { roles: [...STAFF, 'lab'] } }, schema: { tags, summary: 'Load today against daily capacity, and turnaround p50/p90 (hours)', params: { type: 'object', properties: { labId: { type: 'integer' } } } } },
    async (req) => {
      checkLab(caller(req), req.params.labId);
      await alertOverdueTubes(ctx.db, ctx.preset, now());
      return labLoad(ctx.db, req.params.labId, now());
    },
  );

  app.get('/api/v1/results/conflicts', { config: { access: { roles: [...COMMAND, 'lab'] } }, schema: { tags, summary: 'Second, different results for a tube, waiting for a person to resolve' } }, async (req) => {
    const p = caller(req);
    const params: unknown[] = [];
    const labCond = p.role === 'lab' ? (params.push(p.labId), `AND c.lab_id = $1`) : '';
    return {
      items: await ctx.db.query(
        `SELECT c.id, t.barcode, c.lab_id AS "labId", c.result, c.ct_orf1ab AS "ctOrf1ab", c.ct_n AS "ctN", c.resulted_at AS "resultedAt",
                a.id AS "appliedId", a.result AS "appliedResult", a.ct_orf1ab AS "appliedCtOrf1ab", a.ct_n AS "appliedCtN"
           FROM lab_results c JOIN tubes t ON t.id = c.tube_id
           LEFT JOIN lab_results a ON a.tube_id = c.tube_id AND a.state = 'applied'
          WHERE c.state = 'conflict' AND NOT EXISTS (SELECT 1 FROM result_resolutions r WHERE r.conflict_id = c.id) ${labCond}
          ORDER BY c.id LIMIT 500`,
        params,
      ),
    };
  });

  app.post<{ Params: { id: number }; Body: { keep: 'current' | 'conflicting'; reason: string } }>(
    '/api/v1/results/conflicts/:id/resolve',
    {
      config: { access: { roles: COMMAND } },
      schema: {
        tags,
        summary: 'Resolve a conflict: keep the result in force, or put the conflicting one in force (its consequences follow)',
        params: { type: 'object', properties: { id: { type: 'integer' } } },
        body: { type: 'object', required: ['keep', 'reason'], additionalProperties: false, properties: { keep: { type: 'string', enum: ['current', 'conflicting'] }, reason: { type: 'string', minLength: 5, maxLength: 1000 } } },
      },
    },
    async (req) => {
      const p = caller(req);
      const t = now();
      return ctx.db.tx(async (q) => {
        const r = await resolveConflict(q, req.params.id, req.body.keep, req.body.reason, ctx.preset, actorOf(p).actor, t);
        await appendAudit(q, [{ ...actorOf(p), action: 'resolve', entity: 'lab-result', entityId: req.params.id, reason: req.body.reason, detail: { keep: req.body.keep, inForce: r.inForce } }], t);
        return r;
      });
    },
  );

  // --- persons' tests and antigen self-reports --------------------------------------------------------

  app.get<{ Params: { id: number } }>(
    '/api/v1/persons/:id/tests',
    { config: { access: { roles: [...STAFF, 'resident'] } }, schema: { tags, summary: 'A person’s tests, newest first, and the time of the last negative result', params: { type: 'object', properties: { id: { type: 'integer' } } } } },
    async (req) => {
      const p = caller(req);
      await personInJurisdiction(ctx.db, p, req.params.id);
      const history = await testHistory(ctx.db, req.params.id);
      await audit(ctx.db, [{ ...actorOf(p), action: 'read', entity: 'person', entityId: req.params.id, reason: 'test history' }], now());
      return history;
    },
  );

  app.post<{ Body: { personId?: number; result: Verdict; testedAt: string; symptoms?: boolean } }>(
    '/api/v1/antigen-reports',
    {
      config: { access: { roles: ['resident', 'street_worker', 'city_command', 'district_command'] } },
      schema: {
        tags,
        summary: 'Report an antigen self-test; a positive one creates a PCR task for the street',
        body: { type: 'object', required: ['result', 'testedAt'], additionalProperties: false, properties: { personId: { type: 'integer' }, result: { type: 'string', enum: ['positive', 'negative', 'invalid'] }, testedAt: { type: 'string', format: 'date-time' }, symptoms: { type: 'boolean' } } },
      },
    },
    async (req: FastifyRequest<{ Body: { personId?: number; result: Verdict; testedAt: string; symptoms?: boolean } }>, reply) => {
      const p = caller(req);
      const personId = p.role === 'resident' ? p.personId : req.body.personId;
      if (!personId) throw badRequest('personId is required when reporting for someone else.');
      if (p.role === 'resident' && req.body.personId && req.body.personId !== p.personId) throw forbidden('A resident reports their own tests only.');
      await personInJurisdiction(ctx.db, p, personId);
      const t = now();
      const r = await ctx.db.tx(async (q) => {
        const out = await reportAntigen(q, { personId, result: req.body.result, testedAt: new Date(req.body.testedAt), symptoms: req.body.symptoms ?? false }, actorOf(p).actor, t);
        await appendAudit(q, [{ ...actorOf(p), action: 'create', entity: 'person', entityId: personId, reason: 'antigen self-report', detail: { result: req.body.result } }], t);
        return out;
      });
      reply.code(201);
      return r;
    },
  );
}

function parseJsonResults(body: { results?: unknown }): ReturnType<typeof parseResultsCsv> {
  if (!body || !Array.isArray(body.results)) return { rows: [], rejected: [rejection(0, { code: 'notResults' })] };
  const rows: ReturnType<typeof parseResultsCsv>['rows'] = [];
  const rejected: Rejection[] = [];
  body.results.forEach((raw, i) => {
    const r = readResult(raw as never, i);
    if ('code' in r) rejected.push(rejection(i, r, `results[${i}]: `));
    else rows.push(r);
  });
  return { rows, rejected };
}
