// Zoning over HTTP: the compounds' zones on a date (filterable by district and zone; a page at a time, or
// compact for a map), a compound's zone history with the reasons, the epidemic-free areas, clearance per
// district, the counts of compounds and people in each zone per district, and the day's map as GeoJSON; and the
// command's designations of compounds under control and their withdrawals, the facts recorded here.
// Everything is read from what the job stored (src/zoning/store.ts); command roles see their jurisdiction,
// and the map may be read by every staff role (it holds no personal data).
import type { FastifyInstance } from 'fastify';
import type { AppContext } from '../core/context.ts';
import type { Queryable } from '../core/db.ts';
import { caller } from '../core/http.ts';
import { COMMAND, STAFF, withinJurisdiction, type Principal } from '../core/auth.ts';
import { actorOf, appendAudit } from '../core/audit.ts';
import { badRequest, compoundUnknown, conflict, notFound, Problem } from '../core/errors.ts';
import { presetLabel } from '../core/presets.ts';
import { clearance, compoundHistory, designationsOf, recordDesignations, recordWithdrawal, freeAreasOn, zoneCounts, zonesCompact, zonesGeoJson, zonesOn, zoningState, type Reach, type ZoneCount, type ZoningState } from './store.ts';
import { ZONES, type Zone } from './rules.ts';
import { addDays, localDay } from '../core/days.ts';

const tags = ['zoning'];
const day = { type: 'string', pattern: '^\\d{4}-\\d{2}-\\d{2}$', description: 'A local day (YYYY-MM-DD) in the preset’s reporting time zone; today (or the last day computed) when left out' } as const;
const MAX_DAYS = 366;

const reachOf = (p: Principal): Reach => ({ districtId: p.districtId, streetId: p.streetId });

export function zoningRoutes(app: FastifyInstance, ctx: AppContext): void {
  /** The stored history, refused while the job has not computed it (or computed it under another preset). */
  const history = async (q: Queryable): Promise<ZoningState> => {
    const s = await zoningState(q);
    if (!s) throw conflict('Zones have not been computed yet: the server’s job computes them within a minute of starting.', { code: 'zonesNotYet' });
    if (s.preset !== presetLabel(ctx.preset)) throw conflict(`The stored zones were computed under ${s.preset}; the job is recomputing them under ${presetLabel(ctx.preset)}.`, { code: 'zonesRecomputing', was: s.preset, preset: presetLabel(ctx.preset) });
    return s;
  };
  /** The day asked for (default: today, or the last day computed), which must lie in the history. */
  const dayIn = (s: ZoningState, asked?: string): string => {
    const today = localDay(ctx.clock.now(), ctx.preset.reporting.timeZone);
    const d = asked ?? (today < s.lastDay ? today : s.lastDay);
    if (d < s.firstDay || d > s.lastDay) throw new Problem(404, 'Not found', `No zones for ${d}: the history runs from ${s.firstDay} to ${s.lastDay}.`, { code: 'zonesNoDay', day: d, firstDay: s.firstDay, lastDay: s.lastDay });
    return d;
  };
  /** A district asked for by a district's reader must be their own: any other is "not found". */
  const districtFor = (p: Principal, districtId?: number): number | undefined => {
    if (districtId && p.districtId && districtId !== p.districtId) throw notFound(`District ${districtId}`, { code: 'districtUnknown', districtId });
    return districtId;
  };
  const range = (s: ZoningState, from?: string, to?: string, fallback = 0): { from: string; to: string } => {
    const end = dayIn(s, to);
    const start = from ?? (fallback ? addDays(end, -fallback) : end);
    const r = { from: start < s.firstDay ? s.firstDay : start, to: end };
    if (r.from > r.to) throw badRequest(`from (${r.from}) is after to (${r.to}).`, { code: 'rangeReversed', from: r.from, to: r.to });
    if (addDays(r.from, MAX_DAYS) <= r.to) throw badRequest(`At most ${MAX_DAYS} days at a time.`, { code: 'rangeTooLong', most: MAX_DAYS });
    return r;
  };
  const meta = (s: ZoningState) => ({ preset: s.preset, history: { from: s.firstDay, to: s.lastDay }, refreshedAt: s.refreshedAt });

  app.get<{ Querystring: { day?: string; districtId?: number; streetId?: number; zone?: Zone; view?: 'full' | 'compact'; after?: number; limit?: number } }>(
    '/api/v1/zones',
    {
      config: { access: { roles: COMMAND } },
      schema: {
        tags,
        summary: 'Every compound’s zone on a day with the reason, since when and where it moves next; epidemic-free state and area. view=compact: all at once for a map (ids, one letter a zone, free area)',
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            day,
            districtId: { type: 'integer' },
            streetId: { type: 'integer' },
            zone: { type: 'string', enum: ZONES },
            view: { type: 'string', enum: ['full', 'compact'], default: 'full' },
            after: { type: 'integer', minimum: 0 },
            limit: { type: 'integer', minimum: 1, maximum: 5000, default: 500 },
          },
        },
      },
    },
    async (req) => {
      const p = caller(req);
      const s = await history(ctx.db);
      const d = dayIn(s, req.query.day);
      const districtId = districtFor(p, req.query.districtId);
      if (req.query.view === 'compact') return { day: d, ...meta(s), ...(await zonesCompact(ctx.db, d, reachOf(p), districtId)) };
      const page = await zonesOn(ctx.db, ctx.preset, d, reachOf(p), { districtId, streetId: req.query.streetId, zone: req.query.zone, after: req.query.after, limit: req.query.limit ?? 500 });
      return { day: d, ...meta(s), freeRule: s.freeRule, ...page };
    },
  );

  app.get<{ Params: { id: number }; Querystring: { from?: string; to?: string } }>(
    '/api/v1/zones/compounds/:id',
    {
      config: { access: { roles: COMMAND } },
      schema: {
        tags,
        summary: 'A compound’s zone on each day (the whole history by default), with the rule and last case that put it there and its next move',
        params: { type: 'object', properties: { id: { type: 'integer' } } },
        querystring: { type: 'object', additionalProperties: false, properties: { from: day, to: day } },
      },
    },
    async (req) => {
      const p = caller(req);
      const [c] = await ctx.db.query<{ id: number; code: string; name: string; district_id: number; street_id: number; population: number }>(
        'SELECT id, code, name, district_id, street_id, population FROM compounds WHERE id = $1',
        [req.params.id],
      );
      if (!c || !withinJurisdiction(p, { districtId: c.district_id, streetId: c.street_id })) throw compoundUnknown(req.params.id);
      const s = await history(ctx.db);
      const r = range(s, req.query.from ?? s.firstDay, req.query.to ?? s.lastDay);
      return {
        compound: { id: c.id, code: c.code, name: c.name, districtId: c.district_id, streetId: c.street_id, population: c.population },
        ...meta(s),
        freeRule: s.freeRule,
        from: r.from,
        to: r.to,
        days: await compoundHistory(ctx.db, ctx.preset, c.id, r.from, r.to),
        designations: (await designationsOf(ctx.db, reachOf(p), { compoundId: c.id, limit: 1000 })).items,
      };
    },
  );

  app.post<{ Body: { compoundIds: number[]; day?: string; reason: string } }>(
    '/api/v1/zones/designations',
    {
      config: { access: { roles: COMMAND } },
      schema: {
        tags,
        summary: 'Place compounds under control (管控区; a medium-risk area in the 9th edition) from a day, without a positive of their own, with the reason; the zoning job takes it in within a minute',
        body: {
          type: 'object',
          required: ['compoundIds', 'reason'],
          additionalProperties: false,
          properties: {
            compoundIds: { type: 'array', minItems: 1, maxItems: 1000, uniqueItems: true, items: { type: 'integer' } },
            day: { ...day, description: 'The local day from which the compounds are controlled; today when left out (never a day to come)' },
            reason: { type: 'string', minLength: 1, maxLength: 500, pattern: '\\S' },
          },
        },
      },
    },
    async (req, reply) => {
      const p = caller(req);
      const now = ctx.clock.now();
      const today = localDay(now, ctx.preset.reporting.timeZone);
      const d = req.body.day ?? today;
      if (d > today) throw badRequest(`${d} is still to come: a designation takes effect from today at the latest (${today}).`, { code: 'designationAhead', day: d, today });
      const ids = req.body.compoundIds;
      const found = await ctx.db.query<{ id: number; district_id: number | null; street_id: number | null }>('SELECT id, district_id, street_id FROM compounds WHERE id = ANY($1::int[])', [ids]);
      const reachable = new Set(found.filter((c) => withinJurisdiction(p, { districtId: c.district_id, streetId: c.street_id })).map((c) => c.id));
      const missing = ids.find((id) => !reachable.has(id));
      if (missing !== undefined) throw compoundUnknown(missing);
      const reason = req.body.reason.trim();
      const made = await ctx.db.tx(async (q) => {
        const rows = await recordDesignations(q, ids, d, reason, actorOf(p).actor, now);
        await appendAudit(q, rows.map((r) => ({ ...actorOf(p), action: 'create', entity: 'zoneDesignation', entityId: r.id, detail: { compoundId: r.compoundId, day: d, reason } })), now);
        return rows;
      });
      reply.code(201);
      return {
        designations: made.map((r) => ({ ...r, day: d, reason })),
        note: 'The zoning job takes designations in within a minute: the compounds are then controlled from that day, and move on by the preset’s clean days.',
      };
    },
  );

  app.post<{ Params: { id: number }; Body: { reason: string } }>(
    '/api/v1/zones/designations/:id/withdraw',
    {
      config: { access: { roles: COMMAND } },
      schema: {
        tags,
        summary: 'Withdraw a designation given in error, with the reason: the zoning job then computes the compound’s zones as if it had never been given (within a minute); both stay listed',
        params: { type: 'object', properties: { id: { type: 'integer' } } },
        body: { type: 'object', required: ['reason'], additionalProperties: false, properties: { reason: { type: 'string', minLength: 1, maxLength: 500, pattern: '\\S' } } },
      },
    },
    async (req) => {
      const p = caller(req);
      const now = ctx.clock.now();
      const [d] = await ctx.db.query<{ compound_id: number; district_id: number | null; street_id: number | null }>(
        'SELECT d.compound_id, c.district_id, c.street_id FROM zone_designations d JOIN compounds c ON c.id = d.compound_id WHERE d.id = $1',
        [req.params.id],
      );
      // One outside the jurisdiction is answered as unknown, as its compound is.
      if (!d || !withinJurisdiction(p, { districtId: d.district_id, streetId: d.street_id })) throw notFound(`Designation ${req.params.id}`, { code: 'designationUnknown', designationId: req.params.id });
      const reason = req.body.reason.trim();
      await ctx.db.tx(async (q) => {
        const id = await recordWithdrawal(q, req.params.id, reason, actorOf(p).actor, now);
        if (id === null) throw conflict(`Designation ${req.params.id} was withdrawn already.`, { code: 'designationWithdrawn', designationId: req.params.id });
        await appendAudit(q, [{ ...actorOf(p), action: 'withdraw', entity: 'zoneDesignation', entityId: req.params.id, reason, detail: { compoundId: d.compound_id, withdrawalId: id } }], now);
      });
      const [item] = (await designationsOf(ctx.db, reachOf(p), { compoundId: d.compound_id, limit: 1000 })).items.filter((x) => x.id === req.params.id);
      return { designation: item, note: 'The zoning job takes the withdrawal in within a minute: the compound’s zones are then as if the designation had never been given.' };
    },
  );

  app.get<{ Querystring: { compoundId?: number; after?: number; limit?: number } }>(
    '/api/v1/zones/designations',
    {
      config: { access: { roles: COMMAND } },
      schema: {
        tags,
        summary: 'The command’s designations of compounds under control within your jurisdiction, newest first, with reason, who and when',
        querystring: { type: 'object', additionalProperties: false, properties: { compoundId: { type: 'integer' }, after: { type: 'integer' }, limit: { type: 'integer', minimum: 1, maximum: 1000 } } },
      },
    },
    async (req) => designationsOf(ctx.db, reachOf(caller(req)), { compoundId: req.query.compoundId, after: req.query.after, limit: req.query.limit ?? 100 }),
  );

  app.get<{ Querystring: { day?: string } }>(
    '/api/v1/zones/free-areas',
    {
      config: { access: { roles: COMMAND } },
      schema: {
        tags,
        summary: 'Epidemic-free compounds joined into areas through shared boundaries (each named by its smallest compound id, largest first), and the streets and districts wholly free',
        querystring: { type: 'object', additionalProperties: false, properties: { day } },
      },
    },
    async (req) => {
      const p = caller(req);
      const s = await history(ctx.db);
      const d = dayIn(s, req.query.day);
      return { day: d, ...meta(s), rule: s.freeRule, ...(await freeAreasOn(ctx.db, d, reachOf(p))) };
    },
  );

  app.get<{ Querystring: { from?: string; to?: string; districtId?: number } }>(
    '/api/v1/zones/clearance',
    {
      config: { access: { roles: COMMAND } },
      schema: {
        tags,
        summary: 'District clearance (社会面清零) per day: society-level cases against population, basically zero and zero as the preset says (the last 14 days by default)',
        querystring: { type: 'object', additionalProperties: false, properties: { from: day, to: day, districtId: { type: 'integer' } } },
      },
    },
    async (req) => {
      const p = caller(req);
      const s = await history(ctx.db);
      const r = range(s, req.query.from, req.query.to, 13);
      const rows = await clearance(ctx.db, r.from, r.to, districtFor(p, req.query.districtId) ?? p.districtId ?? null);
      const names = await districtNames(ctx.db);
      const districts = new Map<number, { districtId: number; name: string; nameEn: string | null; population: number; latest: unknown; days: unknown[] }>();
      for (const row of rows) {
        let d = districts.get(row.districtId);
        if (!d) districts.set(row.districtId, (d = { districtId: row.districtId, ...(names.get(row.districtId) ?? { name: String(row.districtId), nameEn: null }), population: row.population, latest: null, days: [] }));
        const day = { day: row.day, cases: row.cases, per100k: row.per100k, belowRun: row.belowRun, zeroRun: row.zeroRun, basicallyZero: row.basicallyZero, zero: row.zero };
        d.days.push(day);
        d.latest = day;
      }
      return { from: r.from, to: r.to, ...meta(s), rule: s.clearanceRule, districts: [...districts.values()] };
    },
  );

  app.get<{ Querystring: { day?: string; from?: string; to?: string; districtId?: number } }>(
    '/api/v1/zones/counts',
    {
      config: { access: { roles: COMMAND } },
      schema: {
        tags,
        summary: 'Compounds and people in each zone per district and day, as in the 2022 daily reports (one day by default, or from..to)',
        querystring: { type: 'object', additionalProperties: false, properties: { day, from: day, to: day, districtId: { type: 'integer' } } },
      },
    },
    async (req) => {
      const p = caller(req);
      const s = await history(ctx.db);
      const r = req.query.from || req.query.to ? range(s, req.query.from, req.query.to) : range(s, req.query.day, req.query.day);
      const rows = await zoneCounts(ctx.db, r.from, r.to, reachOf(p), districtFor(p, req.query.districtId));
      return { from: r.from, to: r.to, ...meta(s), days: shapeCounts(rows, await districtNames(ctx.db)) };
    },
  );

  app.get<{ Querystring: { day?: string; districtId?: number } }>(
    '/api/v1/zones/map.geojson',
    {
      config: { access: { roles: STAFF } },
      schema: {
        tags: [...tags, 'map'],
        summary: 'The day’s compounds in reach as GeoJSON: zone, reason (rule and the day of the last case), next change, epidemic-free state and area id. No personal data, no count below the compound',
        querystring: { type: 'object', additionalProperties: false, properties: { day, districtId: { type: 'integer' } } },
      },
    },
    async (req, reply) => {
      const p = caller(req);
      const s = await history(ctx.db);
      const d = dayIn(s, req.query.day);
      return reply.type('application/geo+json').send(await zonesGeoJson(ctx.db, d, reachOf(p), districtFor(p, req.query.districtId)));
    },
  );
}

async function districtNames(q: Queryable): Promise<Map<number, { name: string; nameEn: string | null }>> {
  const rows = await q.query<{ id: number; name: string; name_en: string | null }>('SELECT id, name, name_en FROM districts');
  return new Map(rows.map((r) => [r.id, { name: r.name, nameEn: r.name_en }]));
}

type Tally = Record<Zone, { compounds: number; people: number }> & { freeCompounds: number };
const emptyTally = (): Tally => ({ sealed: { compounds: 0, people: 0 }, controlled: { compounds: 0, people: 0 }, precaution: { compounds: 0, people: 0 }, freeCompounds: 0 });

/** Rows of (day, district, zone) as days, each with its districts and the total. */
function shapeCounts(rows: ZoneCount[], names: Map<number, { name: string; nameEn: string | null }>) {
  const days = new Map<string, { day: string; total: Tally; districts: Map<number, Tally & { districtId: number; name: string; nameEn: string | null }> }>();
  for (const r of rows) {
    let d = days.get(r.day);
    if (!d) days.set(r.day, (d = { day: r.day, total: emptyTally(), districts: new Map() }));
    let t = d.districts.get(r.districtId);
    if (!t) d.districts.set(r.districtId, (t = { districtId: r.districtId, ...(names.get(r.districtId) ?? { name: String(r.districtId), nameEn: null }), ...emptyTally() }));
    const zone = r.zone as Zone;
    for (const x of [t, d.total]) {
      x[zone].compounds += Number(r.compounds);
      x[zone].people += Number(r.people);
      x.freeCompounds += Number(r.freeCompounds);
    }
  }
  return [...days.values()].map((d) => ({ day: d.day, total: d.total, districts: [...d.districts.values()] }));
}
