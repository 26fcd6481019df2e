// Status and checkpoints over HTTP: check-ins by venue code, sentinel checks, a person's status with its
// reasons, overrides that need a second person, appeals, and the use of codes and sentinels by district.
import type { FastifyInstance } from 'fastify';
import type { AppContext } from '../core/context.ts';
import { caller, hotPost, signedIn } from '../core/http.ts';
import { COMMAND, STAFF, newToken, personInJurisdiction, tokenHash, withinJurisdiction, type Role } from '../core/auth.ts';
import { actorOf, appendAudit, audit } from '../core/audit.ts';
import { badRequest, conflict, forbidden, notFound, Problem } from '../core/errors.ts';
import { COLOURS, type Colour } from './rules.ts';
import { currentStatus, refreshStatus } from './store.ts';
import { checkAtEntrance, ScanWriter, VenueCache, vaccinationOf, type CheckResult } from './checkpoints.ts';
import { readVenueCode } from './venue-code.ts';
import { doorIndexFor } from './door-index.ts';

const tags = ['status'];
const personRef = { type: 'string', minLength: 4, maxLength: 64 } as const;
const position = { lat: { type: 'number' }, lon: { type: 'number' } } as const;
const CHECKIN_ROLES: readonly Role[] = ['resident', 'venue_operator', ...STAFF];
const HOUR = 3_600_000;
const time = { type: ['string', 'null'], format: 'date-time' } as const;
/** What an entrance answers (documented, and serialized by its schema: the hottest route there is). */
const entranceAnswer = {
  admit: { type: 'boolean' },
  because: { type: 'array', items: { type: 'string' } },
  colour: { type: 'string', enum: [...COLOURS] },
  reasons: { type: 'array', items: { type: 'object', properties: { code: { type: 'string' }, text: { type: 'string' }, until: time } } },
  lastNegativeSampledAt: time,
  lastSampledAt: time,
  venue: { type: 'object', properties: { id: { type: 'integer' }, name: { type: 'string' } } },
  far: { type: 'boolean' },
} as const;

export function statusRoutes(app: FastifyInstance, ctx: AppContext): void {
  const now = () => ctx.clock.now();
  const venues = new VenueCache(ctx.db, ctx.preset);
  const writer = new ScanWriter(ctx.db);
  const door = doorIndexFor(ctx);
  const atDoor = { db: ctx.db, pii: ctx.pii, preset: ctx.preset, venues, writer, door };
  // Codes already verified, so that a venue's thousandth scan of the day skips the HMAC.
  const verified = new Map<string, number>();
  const venueOf = (code: string): number => {
    let id = verified.get(code);
    if (id === undefined) {
      id = readVenueCode(ctx.pii, code);
      if (verified.size > 200_000) verified.clear();
      verified.set(code, id);
    }
    return id;
  };
  const devices = new Map<string, { id: number; venueId: number; entrance: 'main' | 'emergency'; at: number } | null>();

  // --- entrances ----------------------------------------------------------------------------------

  // The hottest route there is: served in its common case by a lane, beside Fastify (core/http.ts).
  hotPost<{ venueCode: string; person: string; lat?: number; lon?: number }, CheckResult>(app, {
    url: '/api/v1/checkins',
    access: { roles: CHECKIN_ROLES },
    bodyLimit: 4096,
    status: 201,
    schema: {
      tags,
      summary: 'Check in at a venue by its code (场所码): records the scan and answers the entry decision, colour, last negative test and reasons',
      body: { type: 'object', required: ['venueCode', 'person'], additionalProperties: false, properties: { venueCode: { type: 'string', maxLength: 200 }, person: personRef, ...position } },
      response: { 201: { type: 'object', properties: entranceAnswer } },
    },
    handle: async (body, principal) => {
      const p = signedIn(principal);
      const venueId = venueOf(body.venueCode);
      if (p.role === 'venue_operator' && p.venueId !== venueId) throw forbidden(`You operate venue ${p.venueId}, not venue ${venueId}.`, { code: 'notYourVenue', venueId, yourVenueId: p.venueId });
      // A resident scans for themselves only: the code is theirs to show, not anyone's to use.
      const onlyFor = p.role === 'resident' ? (p.personId ?? -1) : undefined;
      const r = await checkAtEntrance(atDoor, { venueId, person: body.person, source: 'venueCode', deviceId: null, gate: 'venue', lat: body.lat, lon: body.lon, onlyFor }, now());
      return r.answer;
    },
  });

  app.post<{ Params: { id: number }; Body: { name: string; entrance?: 'main' | 'emergency' } }>(
    '/api/v1/venues/:id/sentinels',
    {
      config: { access: { roles: ['venue_operator', ...COMMAND] } },
      schema: {
        tags,
        summary: 'Register an entrance device (数字哨兵) at a venue; answers its token once',
        params: { type: 'object', properties: { id: { type: 'integer' } } },
        body: { type: 'object', required: ['name'], additionalProperties: false, properties: { name: { type: 'string', minLength: 1, maxLength: 100 }, entrance: { type: 'string', enum: ['main', 'emergency'] } } },
      },
    },
    async (req, reply) => {
      const p = caller(req);
      const venue = await venues.get(req.params.id);
      if (p.role === 'venue_operator' ? p.venueId !== venue.id : !withinJurisdiction(p, { districtId: venue.districtId, streetId: venue.streetId })) {
        throw forbidden('Not your venue.', { code: p.role === 'venue_operator' ? 'notYourVenue' : 'venueOutsideJurisdiction', venueId: venue.id });
      }
      const entrance = req.body.entrance ?? 'main';
      if (entrance === 'emergency' && venue.kind !== 'hospital') throw badRequest('Only a hospital has an emergency entrance.', { code: 'emergencyOnlyHospital' });
      const token = newToken();
      const [d] = await ctx.db.tx(async (q) => {
        const rows = await q.query<{ id: number }>('INSERT INTO sentinel_devices (venue_id, name, entrance, token_hash, created_by, created_at) VALUES ($1,$2,$3,$4,$5,$6) RETURNING id', [venue.id, req.body.name, entrance, tokenHash(token), actorOf(p).actor, now()]);
        await appendAudit(q, [{ ...actorOf(p), action: 'create', entity: 'sentinel', entityId: rows[0].id, detail: { venueId: venue.id, entrance } }], now());
        return rows;
      });
      reply.code(201);
      return { id: d.id, venueId: venue.id, entrance, token, note: 'Send the token in the X-Device-Token header; it is shown only now.' };
    },
  );

  /** A device by its token; cached for a minute (a revoked device stops within that minute). */
  async function device(token: string | undefined) {
    if (!token) throw new Problem(401, 'Not a registered device', 'Send the device token in the X-Device-Token header.', { code: 'deviceTokenMissing' });
    const hash = tokenHash(token);
    let d = devices.get(hash);
    if (d === undefined || (d && Date.now() - d.at > 60_000)) {
      const [r] = await ctx.db.query<{ id: number; venue_id: number; entrance: 'main' | 'emergency' }>('SELECT id, venue_id, entrance FROM sentinel_devices WHERE token_hash = $1 AND revoked_at IS NULL', [hash]);
      d = r ? { id: r.id, venueId: r.venue_id, entrance: r.entrance, at: Date.now() } : null;
      if (devices.size > 100_000) devices.clear();
      devices.set(hash, d);
    }
    if (!d) throw new Problem(401, 'Not a registered device', 'This device token is unknown or revoked.', { code: 'deviceUnknown' });
    return d;
  }

  // A device's check: served in its common case by a lane too (no credentials but the device's token).
  hotPost<{ person: string }, unknown>(app, {
    url: '/api/v1/sentinel/checks',
    access: 'public',
    bodyLimit: 4096,
    status: 201,
    schema: {
      tags,
      summary: 'An entrance device (数字哨兵) checks a person by ID number or personal code: decision, colour, last test, vaccination. Header X-Device-Token.',
      body: { type: 'object', required: ['person'], additionalProperties: false, properties: { person: personRef } },
      response: {
        201: {
          type: 'object',
          properties: {
            ...entranceAnswer,
            entrance: { type: 'string' },
            why: { type: 'array', items: { type: 'object', properties: { code: { type: 'string' }, colour: { type: 'string' }, hours: { type: 'number' }, sampledHours: { type: ['number', 'null'] }, zone: { type: 'string' } } } },
            vaccination: { type: 'object', properties: { doses: { type: 'integer' }, lastDoseOn: { type: ['string', 'null'] }, fullyVaccinated: { type: 'boolean' }, boosted: { type: 'boolean' } } },
          },
        },
      },
    },
    handle: async (body, _principal, headers) => {
      const d = await device(headers['x-device-token'] as string | undefined);
      // A hospital's emergency entrance never refuses anyone, whatever their status (rules.md 24).
      const gate = d.entrance === 'emergency' ? 'medicalEmergency' : 'venue';
      const r = await checkAtEntrance(atDoor, { venueId: d.venueId, person: body.person, source: 'sentinel', deviceId: d.id, gate }, now());
      const vaccination = await vaccinationOf(ctx.db, r.personId, ctx.preset, now());
      // The device's screen words the decision in its reader's language from `why` (the check-in's answer,
      // read by apps, carries the server's words only).
      return { ...r.answer, why: r.decision.why, vaccination, entrance: d.entrance };
    },
  });

  // --- a person's status -----------------------------------------------------------------------------

  app.get<{ Params: { id: number } }>(
    '/api/v1/persons/:id/status',
    { config: { access: { roles: [...STAFF, 'resident'] } }, schema: { tags, summary: 'A person’s status: colour, every reason with its fact and rule, when it changes, prompts', params: { type: 'object', properties: { id: { type: 'integer' } } } } },
    async (req) => {
      const p = caller(req);
      await personInJurisdiction(ctx.db, p, req.params.id);
      const s = await currentStatus(ctx.db, req.params.id, ctx.preset, now());
      await audit(ctx.db, [{ ...actorOf(p), action: 'read', entity: 'person', entityId: req.params.id, reason: 'status' }], now());
      return s;
    },
  );

  // --- overrides: one person asks, another approves ---------------------------------------------------

  app.post<{ Params: { id: number }; Body: { colour: Colour; reason: string; hours: number } }>(
    '/api/v1/persons/:id/status/overrides',
    {
      config: { access: { roles: COMMAND } },
      schema: {
        tags,
        summary: 'Ask for a manual colour with a written reason; in force only after a second person approves it, and only until it expires',
        params: { type: 'object', properties: { id: { type: 'integer' } } },
        body: { type: 'object', required: ['colour', 'reason', 'hours'], additionalProperties: false, properties: { colour: { type: 'string', enum: [...COLOURS] }, reason: { type: 'string', minLength: 10, maxLength: 2000 }, hours: { type: 'integer', minimum: 1, maximum: 24 * 14 } } },
      },
    },
    async (req, reply) => {
      const p = caller(req);
      await personInJurisdiction(ctx.db, p, req.params.id);
      const t = now();
      const [o] = await ctx.db.tx(async (q) => {
        const rows = await q.query<{ id: number }>(
          'INSERT INTO status_overrides (person_id, colour, reason, requested_by, requested_at, expires_at) VALUES ($1,$2,$3,$4,$5,$6) RETURNING id',
          [req.params.id, req.body.colour, req.body.reason, actorOf(p).actor, t, new Date(t.getTime() + req.body.hours * HOUR)],
        );
        await appendAudit(q, [{ ...actorOf(p), action: 'request', entity: 'status-override', entityId: rows[0].id, reason: req.body.reason, detail: { personId: req.params.id, colour: req.body.colour, hours: req.body.hours } }], t);
        return rows;
      });
      reply.code(201);
      return { id: o.id, state: 'pending', note: 'Not in force until a second person approves it.' };
    },
  );

  app.get<{ Querystring: { state?: 'pending' | 'approved' | 'refused' } }>(
    '/api/v1/status/overrides',
    { config: { access: { roles: COMMAND } }, schema: { tags, summary: 'Overrides waiting for a second person (or approved, refused)', querystring: { type: 'object', properties: { state: { type: 'string', enum: ['pending', 'approved', 'refused'] } } } } },
    async (req) => {
      const p = caller(req);
      const params: unknown[] = [];
      const scope = p.districtId ? (params.push(p.districtId), `AND pe.district_id = $${params.length}`) : '';
      const state = req.query.state ?? 'pending';
      const cond = state === 'pending' ? 'o.approved_at IS NULL AND o.refused_at IS NULL' : state === 'approved' ? 'o.approved_at IS NOT NULL' : 'o.refused_at IS NOT NULL';
      const items = await ctx.db.query(
        `SELECT o.id, o.person_id AS "personId", o.colour, o.reason, o.requested_by AS "requestedBy", o.requested_at AS "requestedAt", o.expires_at AS "expiresAt",
                o.approved_by AS "approvedBy", o.approved_at AS "approvedAt", o.refused_by AS "refusedBy", o.refused_at AS "refusedAt", o.refusal
           FROM status_overrides o JOIN persons pe ON pe.id = o.person_id WHERE ${cond} ${scope} ORDER BY o.requested_at LIMIT 500`,
        params,
      );
      return { items };
    },
  );

  for (const action of ['approve', 'refuse'] as const) {
    app.post<{ Params: { id: number }; Body: { reason?: string } }>(
      `/api/v1/status/overrides/:id/${action}`,
      {
        config: { access: { roles: COMMAND } },
        schema: {
          tags,
          summary: action === 'approve' ? 'Approve an override: by a second person, never the one who asked' : 'Refuse an override, with a reason',
          params: { type: 'object', properties: { id: { type: 'integer' } } },
          body: { type: 'object', additionalProperties: false, ...(action === 'refuse' ? { required: ['reason'] } : {}), properties: { reason: { type: 'string', minLength: 5, maxLength: 2000 } } },
        },
      },
      async (req) => {
        const p = caller(req);
        const me = actorOf(p).actor;
        const t = now();
        return ctx.db.tx(async (q) => {
          const [o] = await q.query<{ id: number; person_id: number; requested_by: string; approved_at: Date | null; refused_at: Date | null; expires_at: Date }>(
            'SELECT id, person_id, requested_by, approved_at, refused_at, expires_at FROM status_overrides WHERE id = $1 FOR UPDATE',
            [req.params.id],
          );
          if (!o) throw notFound(`Override ${req.params.id}`, { code: 'overrideUnknown', overrideId: req.params.id });
          await personInJurisdiction(q, p, o.person_id);
          if (o.approved_at || o.refused_at) throw conflict(`Override ${o.id} was already ${o.approved_at ? 'approved' : 'refused'}.`, { code: o.approved_at ? 'overrideApproved' : 'overrideRefused', overrideId: o.id });
          if (o.requested_by === me) throw forbidden('A second person must decide on an override: you asked for this one.', { code: 'secondPersonNeeded' });
          if (action === 'approve') {
            if (new Date(o.expires_at).getTime() <= t.getTime()) throw conflict(`Override ${o.id} expired before it was approved.`, { code: 'overrideExpired', overrideId: o.id });
            await q.query('UPDATE status_overrides SET approved_by = $2, approved_at = $3 WHERE id = $1', [o.id, me, t]);
          } else {
            await q.query('UPDATE status_overrides SET refused_by = $2, refused_at = $3, refusal = $4 WHERE id = $1', [o.id, me, t, req.body.reason]);
          }
          await appendAudit(q, [{ ...actorOf(p), action, entity: 'status-override', entityId: o.id, reason: req.body.reason ?? null, detail: { personId: o.person_id } }], t);
          const changed = action === 'approve' ? await refreshStatus(q, [o.person_id], ctx.preset, t, `override ${o.id} approved by ${me}`) : { changed: 0, recoloured: 0 };
          return { id: o.id, state: action === 'approve' ? 'approved' : 'refused', recoloured: changed.recoloured > 0 };
        });
      },
    );
  }

  // --- appeals: a person asks their district to look again --------------------------------------------

  app.post<{ Body: { text: string; personId?: number } }>(
    '/api/v1/status/appeals',
    {
      config: { access: { roles: ['resident', 'street_worker'] } },
      schema: {
        tags,
        summary: 'Appeal against a status (a resident for themselves, a street worker on their behalf); queued for the district',
        body: { type: 'object', required: ['text'], additionalProperties: false, properties: { text: { type: 'string', minLength: 5, maxLength: 4000 }, personId: { type: 'integer' } } },
      },
    },
    async (req, reply) => {
      const p = caller(req);
      const personId = p.role === 'resident' ? p.personId : req.body.personId;
      if (!personId) throw badRequest('personId is required when appealing on someone’s behalf.', { code: 'appealPersonNeeded' });
      const person = await personInJurisdiction(ctx.db, p, personId);
      const s = await currentStatus(ctx.db, personId, ctx.preset, now());
      const [a] = await ctx.db.tx(async (q) => {
        const rows = await q.query<{ id: number }>(
          'INSERT INTO status_appeals (person_id, district_id, street_id, text, colour, reasons, filed_by, filed_at) VALUES ($1,$2,$3,$4,$5,$6,$7,$8) RETURNING id',
          [personId, person.district_id, person.street_id, req.body.text, s.colour, JSON.stringify(s.reasons), actorOf(p).actor, now()],
        );
        await appendAudit(q, [{ ...actorOf(p), action: 'appeal', entity: 'person', entityId: personId, detail: { appealId: rows[0].id, colour: s.colour } }], now());
        return rows;
      });
      reply.code(201);
      return { id: a.id, state: 'open', colour: s.colour };
    },
  );

  app.get<{ Querystring: { state?: 'open' | 'upheld' | 'rejected' } }>(
    '/api/v1/status/appeals',
    {
      config: { access: { roles: [...COMMAND, 'resident'] } },
      schema: { tags, summary: 'The district’s appeal queue (oldest first); a resident sees their own appeals', querystring: { type: 'object', properties: { state: { type: 'string', enum: ['open', 'upheld', 'rejected'] } } } },
    },
    async (req) => {
      const p = caller(req);
      const params: unknown[] = [req.query.state ?? (p.role === 'resident' ? null : 'open')];
      let scope = '';
      if (p.role === 'resident') scope = (params.push(p.personId ?? -1), `AND a.person_id = $${params.length}`);
      else if (p.districtId) scope = (params.push(p.districtId), `AND a.district_id = $${params.length}`);
      const items = await ctx.db.query(
        `SELECT a.id, a.person_id AS "personId", a.text, a.colour, a.reasons, a.filed_at AS "filedAt", a.state, a.answer, a.answered_at AS "answeredAt",
                (extract(epoch FROM ($${params.length + 1}::timestamptz - a.filed_at)) / 3600)::float AS "waitedHours"
           FROM status_appeals a WHERE ($1::text IS NULL OR a.state = $1) ${scope} ORDER BY a.filed_at LIMIT 500`,
        [...params, now()],
      );
      if (p.role !== 'resident') await audit(ctx.db, [{ ...actorOf(p), action: 'read', entity: 'status-appeals', reason: 'appeal queue', detail: { state: params[0], rows: items.length } }], now());
      return { items };
    },
  );

  app.post<{ Params: { id: number }; Body: { state: 'upheld' | 'rejected'; answer: string } }>(
    '/api/v1/status/appeals/:id/answer',
    {
      config: { access: { roles: COMMAND } },
      schema: {
        tags,
        summary: 'Answer an appeal: upheld (then ask for an override to correct the status) or rejected, with the answer the person will read',
        params: { type: 'object', properties: { id: { type: 'integer' } } },
        body: { type: 'object', required: ['state', 'answer'], additionalProperties: false, properties: { state: { type: 'string', enum: ['upheld', 'rejected'] }, answer: { type: 'string', minLength: 5, maxLength: 4000 } } },
      },
    },
    async (req) => {
      const p = caller(req);
      return ctx.db.tx(async (q) => {
        const [a] = await q.query<{ id: number; person_id: number; state: string }>('SELECT id, person_id, state FROM status_appeals WHERE id = $1 FOR UPDATE', [req.params.id]);
        if (!a) throw notFound(`Appeal ${req.params.id}`, { code: 'appealUnknown', appealId: req.params.id });
        await personInJurisdiction(q, p, a.person_id);
        if (a.state !== 'open') throw conflict(`Appeal ${a.id} was already answered.`, { code: 'appealAnswered', appealId: a.id });
        await q.query('UPDATE status_appeals SET state = $2, answer = $3, answered_by = $4, answered_at = $5 WHERE id = $1', [a.id, req.body.state, req.body.answer, actorOf(p).actor, now()]);
        await appendAudit(q, [{ ...actorOf(p), action: 'answer', entity: 'status-appeal', entityId: a.id, reason: req.body.answer, detail: { personId: a.person_id, state: req.body.state } }], now());
        return { id: a.id, state: req.body.state };
      });
    },
  );

  // --- use of venue codes and sentinels ------------------------------------------------------------

  app.get<{ Querystring: { days?: number } }>(
    '/api/v1/checkpoints/usage',
    {
      config: { access: { roles: STAFF } },
      schema: { tags, summary: 'Per district: venues, codes issued, venues scanning, scans per venue per day, venues that stopped scanning, sentinel devices', querystring: { type: 'object', properties: { days: { type: 'integer', minimum: 1, maximum: 60 } } } },
    },
    async (req) => {
      const p = caller(req);
      const days = req.query.days ?? 7;
      const t = now();
      const params: unknown[] = [new Date(t.getTime() - days * 24 * HOUR), new Date(t.getTime() - 24 * HOUR), t];
      const scope = p.districtId ? (params.push(p.districtId), `WHERE v.district_id = $${params.length}`) : '';
      const districts = await ctx.db.query(
        `WITH per_venue AS (
           SELECT v.id, v.district_id, v.code_issued_at,
                  count(c.*) FILTER (WHERE c.scanned_at >= $1 AND c.scanned_at <= $3) AS scans,
                  count(c.*) FILTER (WHERE c.scanned_at >= $2 AND c.scanned_at <= $3) AS last_day
             FROM venues v LEFT JOIN checkins c ON c.venue_id = v.id AND c.scanned_at >= $1 AND c.scanned_at <= $3
             ${scope} GROUP BY v.id)
         SELECT d.id AS "districtId", d.name,
                count(pv.id)::int AS venues,
                count(pv.code_issued_at)::int AS "codesIssued",
                count(*) FILTER (WHERE pv.scans > 0)::int AS "venuesScanning",
                round(coalesce(sum(pv.scans)::numeric / nullif(count(*) FILTER (WHERE pv.scans > 0), 0) / ${days}, 0), 1)::float AS "scansPerVenuePerDay",
                count(*) FILTER (WHERE pv.scans > 0 AND pv.last_day = 0)::int AS "stoppedScanning",
                (SELECT count(*)::int FROM sentinel_devices s JOIN venues v2 ON v2.id = s.venue_id WHERE v2.district_id = d.id AND s.revoked_at IS NULL) AS sentinels
           FROM per_venue pv JOIN districts d ON d.id = pv.district_id GROUP BY d.id, d.name ORDER BY d.id`,
        params,
      );
      return { days, districts };
    },
  );
}
