// Command over HTTP: the dashboard's data, tasks (list, create, bulk change), alerts (list, resolve) and
// the daily bulletin (draft, redact, approve, publish; public once published, with its SVG curve).
import type { FastifyInstance } from 'fastify';
import type { AppContext } from '../core/context.ts';
import { caller } from '../core/http.ts';
import { COMMAND, STAFF, type Role } from '../core/auth.ts';
import { actorOf, appendAudit } from '../core/audit.ts';
import { badRequest, notFound } from '../core/errors.ts';
import { createTasks } from '../core/work.ts';
import { dashboardData } from './dashboard.ts';
import { changeTasks, listTasks, TASK_STATUSES, type TaskChange, type TaskFilter } from './tasks.ts';
import { advanceBulletin, curveSvg, draftBulletin, getBulletin, publicBulletin, redactBulletin } from './bulletin.ts';
import { localDay } from '../core/days.ts';

const tags = ['command'];
const TASKERS: readonly Role[] = [...STAFF];
const day = { type: 'string', pattern: '^\\d{4}-\\d{2}-\\d{2}$' } as const;
const dayParams = { type: 'object', required: ['day'], properties: { day } } as const;

export function commandRoutes(app: FastifyInstance, ctx: AppContext): void {
  const now = () => ctx.clock.now();

  app.get<{ Querystring: { districtId?: number; days?: number } }>(
    '/api/v1/command/dashboard',
    {
      config: { access: { roles: COMMAND } },
      schema: { tags, summary: 'The command screen as data: curve, tests, contacts and 四早, Rt, beds, alerts, overdue tasks (from the daily figures)', querystring: { type: 'object', additionalProperties: false, properties: { districtId: { type: 'integer' }, days: { type: 'integer', minimum: 8, maximum: 120, default: 30 } } } },
    },
    async (req) => {
      const p = caller(req);
      if (p.districtId && req.query.districtId && req.query.districtId !== p.districtId) throw notFound(`District ${req.query.districtId}`, { code: 'districtUnknown', districtId: req.query.districtId });
      return dashboardData(ctx.db, ctx.preset, now(), { districtId: p.districtId ?? req.query.districtId ?? null, days: req.query.days ?? 30 });
    },
  );

  // --- tasks --------------------------------------------------------------------------------------------

  app.get<{ Querystring: Partial<TaskFilter> }>(
    '/api/v1/tasks',
    {
      config: { access: { roles: TASKERS } },
      schema: {
        tags,
        summary: 'Tasks in reach, by status, kind, area, team; overdue=true for the overdue list',
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: { status: { type: 'string', enum: TASK_STATUSES }, kind: { type: 'string' }, overdue: { type: 'boolean' }, districtId: { type: 'integer' }, streetId: { type: 'integer' }, team: { type: 'string' }, limit: { type: 'integer', minimum: 1, maximum: 1000, default: 200 }, after: { type: 'integer' } },
        },
      },
    },
    async (req) => listTasks(ctx.db, caller(req), { ...req.query, limit: req.query.limit ?? 200 }, now()),
  );

  app.post<{ Body: { kind: string; title: string; districtId?: number; streetId?: number; team?: string; dueAt: string } }>(
    '/api/v1/tasks',
    {
      config: { access: { roles: COMMAND } },
      schema: {
        tags,
        summary: 'A task by hand, assigned to a district, street or team with a deadline',
        body: { type: 'object', required: ['kind', 'title', 'dueAt'], additionalProperties: false, properties: { kind: { type: 'string', minLength: 2, maxLength: 50 }, title: { type: 'string', minLength: 3, maxLength: 300 }, districtId: { type: 'integer' }, streetId: { type: 'integer' }, team: { type: 'string', maxLength: 100 }, dueAt: { type: 'string', format: 'date-time' } } },
      },
    },
    async (req, reply) => {
      const p = caller(req);
      const b = req.body;
      let districtId = b.districtId ?? p.districtId ?? null;
      if (b.streetId) {
        const [s] = await ctx.db.query<{ district_id: number }>('SELECT district_id FROM streets WHERE id = $1', [b.streetId]);
        if (!s) throw badRequest(`No street ${b.streetId}.`, { code: 'streetUnknown', streetId: b.streetId });
        districtId = s.district_id;
      }
      if (p.districtId && districtId !== p.districtId) throw badRequest('Tasks can only be assigned within your district.', { code: 'tasksOwnDistrict' });
      const t = now();
      const key = `manual:${actorOf(p).actor}:${t.toISOString()}:${b.title}`;
      const id = await ctx.db.tx(async (q) => {
        await createTasks(q, [{ kind: b.kind, title: b.title, districtId, streetId: b.streetId ?? null, team: b.team ?? null, dueAt: new Date(b.dueAt), source: { manual: true }, dedupeKey: key }], t, actorOf(p).actor);
        const [row] = await q.query<{ id: number }>('SELECT id FROM tasks WHERE dedupe_key = $1', [key]);
        await appendAudit(q, [{ ...actorOf(p), action: 'task.create', entity: 'task', entityId: Number(row.id), detail: b }], t);
        return Number(row.id);
      });
      reply.code(201);
      return { id };
    },
  );

  app.post<{ Body: { ids: number[] } & TaskChange }>(
    '/api/v1/tasks/bulk',
    {
      config: { access: { roles: TASKERS } },
      schema: {
        tags,
        summary: 'Change many tasks at once: status, assignment (district, street, team), deadline. All or nothing.',
        body: {
          type: 'object',
          required: ['ids'],
          additionalProperties: false,
          properties: {
            ids: { type: 'array', minItems: 1, maxItems: 10000, items: { type: 'integer' } },
            status: { type: 'string', enum: TASK_STATUSES },
            districtId: { type: 'integer', nullable: true },
            streetId: { type: 'integer', nullable: true },
            team: { type: 'string', maxLength: 100, nullable: true },
            dueAt: { type: 'string', format: 'date-time', nullable: true },
          },
        },
      },
    },
    async (req) => {
      const p = caller(req);
      const { ids, ...change } = req.body;
      // A street worker only moves tasks along (status), never reassigns them.
      if (p.role === 'street_worker' && Object.keys(change).some((k) => k !== 'status')) throw badRequest('A street worker can change the status of tasks, not their assignment.', { code: 'streetWorkerStatusOnly' });
      return ctx.db.tx(async (q) => {
        const r = await changeTasks(q, p, [...new Set(ids)], change, now());
        await appendAudit(q, [{ ...actorOf(p), action: 'task.change', entity: 'task', detail: { ids: r.changed, change } }], now());
        return r;
      });
    },
  );

  // --- alerts -------------------------------------------------------------------------------------------

  app.get<{ Querystring: { open?: boolean; kind?: string; limit?: number } }>(
    '/api/v1/alerts',
    {
      config: { access: { roles: STAFF } },
      schema: { tags, summary: 'Alerts in reach, each with the facts that raised it and who must act', querystring: { type: 'object', additionalProperties: false, properties: { open: { type: 'boolean', default: true }, kind: { type: 'string' }, limit: { type: 'integer', minimum: 1, maximum: 1000, default: 200 } } } },
    },
    async (req) => {
      const p = caller(req);
      const params: unknown[] = [req.query.limit ?? 200];
      const where = [req.query.open === false ? 'TRUE' : 'a.resolved_at IS NULL'];
      if (p.districtId) where.push(`(a.district_id = $${params.push(p.districtId)} OR a.district_id IS NULL)`);
      if (req.query.kind) where.push(`a.kind = $${params.push(req.query.kind)}`);
      const items = await ctx.db.query(
        `SELECT a.id, a.kind, a.severity, a.title, a.district_id AS "districtId", a.street_id AS "streetId", a.facts, a.assignee, a.raised_at AS "raisedAt", a.resolved_at AS "resolvedAt"
           FROM alerts a WHERE ${where.join(' AND ')} ORDER BY a.raised_at DESC LIMIT $1`,
        params,
      );
      return { items };
    },
  );

  app.post<{ Params: { id: number }; Body: { note: string } }>(
    '/api/v1/alerts/:id/resolve',
    {
      config: { access: { roles: COMMAND } },
      schema: { tags, summary: 'Resolve an alert, with a note of what was done', params: { type: 'object', properties: { id: { type: 'integer' } } }, body: { type: 'object', required: ['note'], additionalProperties: false, properties: { note: { type: 'string', minLength: 3, maxLength: 1000 } } } },
    },
    async (req) => {
      const p = caller(req);
      return ctx.db.tx(async (q) => {
        const params: unknown[] = [req.params.id, now()];
        const scope = p.districtId ? `AND district_id = $${params.push(p.districtId)}` : '';
        const rows = await q.query<{ id: number }>(`UPDATE alerts SET resolved_at = $2 WHERE id = $1 AND resolved_at IS NULL ${scope} RETURNING id`, params);
        if (!rows.length) throw notFound(`Open alert ${req.params.id}`, { code: 'alertUnknown', alertId: req.params.id });
        await appendAudit(q, [{ ...actorOf(p), action: 'alert.resolve', entity: 'alert', entityId: req.params.id, reason: req.body.note }], now());
        return { id: req.params.id, resolved: true };
      });
    },
  );

  // --- bulletin -----------------------------------------------------------------------------------------

  app.post<{ Params: { day: string } }>(
    '/api/v1/bulletins/:day/draft',
    { config: { access: { roles: ['city_command'] } }, schema: { tags, summary: "Draft the day's bulletin from the daily figures (counts, compounds where cases lived)", params: dayParams } },
    async (req) => {
      const p = caller(req);
      if (req.params.day > localDay(now(), ctx.preset.reporting.timeZone)) throw badRequest('A bulletin cannot be drafted for a day still to come.', { code: 'bulletinFuture' });
      return ctx.db.tx(async (q) => {
        await draftBulletin(q, ctx.preset, req.params.day, actorOf(p).actor, now());
        await appendAudit(q, [{ ...actorOf(p), action: 'bulletin.draft', entity: 'bulletin', entityId: req.params.day }], now());
        return getBulletin(q, req.params.day);
      });
    },
  );

  app.get<{ Params: { day: string } }>('/api/v1/bulletins/:day', { config: { access: { roles: COMMAND } }, schema: { tags, summary: 'A bulletin in any state, with its redactions', params: dayParams } }, async (req) => getBulletin(ctx.db, req.params.day));

  app.post<{ Params: { day: string }; Body: { compoundIds: number[]; reason: string } }>(
    '/api/v1/bulletins/:day/redact',
    {
      config: { access: { roles: ['city_command'] } },
      schema: { tags, summary: "Hold addresses back from a draft, with the reason", params: dayParams, body: { type: 'object', required: ['compoundIds', 'reason'], additionalProperties: false, properties: { compoundIds: { type: 'array', minItems: 1, items: { type: 'integer' } }, reason: { type: 'string', minLength: 3, maxLength: 500 } } } },
    },
    async (req) => {
      const p = caller(req);
      return ctx.db.tx(async (q) => {
        const b = await redactBulletin(q, req.params.day, req.body.compoundIds, req.body.reason, actorOf(p).actor);
        await appendAudit(q, [{ ...actorOf(p), action: 'bulletin.redact', entity: 'bulletin', entityId: req.params.day, reason: req.body.reason, detail: { compoundIds: req.body.compoundIds } }], now());
        return b;
      });
    },
  );

  for (const [step, to] of [['approve', 'approved'], ['publish', 'published']] as const) {
    app.post<{ Params: { day: string } }>(
      `/api/v1/bulletins/:day/${step}`,
      { config: { access: { roles: ['city_command'] } }, schema: { tags, summary: step === 'approve' ? 'Approve a draft (not by the person who drafted it)' : 'Publish an approved bulletin: public from now on', params: dayParams } },
      async (req) => {
        const p = caller(req);
        return ctx.db.tx(async (q) => {
          const b = await advanceBulletin(q, req.params.day, to, actorOf(p).actor, now());
          await appendAudit(q, [{ ...actorOf(p), action: `bulletin.${step}`, entity: 'bulletin', entityId: req.params.day }], now());
          return b;
        });
      },
    );
  }

  const published = async (dayParam: string) => {
    const b = await getBulletin(ctx.db, dayParam).catch(() => null);
    if (!b || b.state !== 'published') throw notFound(`A published bulletin of ${dayParam}`, { code: 'bulletinNotPublished', day: dayParam });
    return b;
  };
  app.get('/api/v1/public/bulletins', { config: { access: 'public' }, schema: { tags, summary: 'The published bulletins, newest first' } }, async () => ({
    items: await ctx.db.query(`SELECT to_char(day, 'YYYY-MM-DD') AS day, published_at AS "publishedAt" FROM bulletins WHERE state = 'published' ORDER BY day DESC LIMIT 366`),
  }));
  app.get<{ Params: { day: string } }>('/api/v1/public/bulletins/:day', { config: { access: 'public' }, schema: { tags, summary: 'A published bulletin: counts, compounds, curve (no personal data)', params: dayParams } }, async (req) => publicBulletin(await published(req.params.day)));
  app.get<{ Params: { day: string }; Querystring: { lang?: 'zh-CN' | 'en' } }>(
    '/api/v1/public/bulletins/:day/curve.svg',
    { config: { access: 'public' }, schema: { tags, summary: "The bulletin's curve of new cases, as SVG", params: dayParams, querystring: { type: 'object', properties: { lang: { type: 'string', enum: ['zh-CN', 'en'] } } } } },
    async (req, reply) => {
      const b = publicBulletin(await published(req.params.day));
      const title = req.query.lang === 'en' ? `New cases, 30 days to ${b.day}` : `近30日新增感染者 (截至 ${b.day})`;
      reply.type('image/svg+xml');
      return curveSvg(b.curve, title);
    },
  );
}
