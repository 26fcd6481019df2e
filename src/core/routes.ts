// The platform's own routes: health, sign-in, machine tokens, the clock, the protocol preset.
import type { FastifyInstance } from 'fastify';
import type { AppContext } from './context.ts';
import { COMMAND, login, logout, newToken, ROLES, SESSION_COOKIE, SESSION_HOURS, tokenHash, withinJurisdiction, type Role } from './auth.ts';
import { caller, forgetPrincipal } from './http.ts';
import { badRequest, forbidden } from './errors.ts';
import { actorOf, appendAudit } from './audit.ts';
import { presetLabel } from './presets.ts';

export function coreRoutes(app: FastifyInstance, ctx: AppContext): void {
  app.get('/api/health', { config: { access: 'public' }, schema: { tags: ['platform'], summary: 'Liveness and database check' } }, async () => {
    await ctx.db.query('SELECT 1');
    return { status: 'ok', engine: ctx.db.engine, preset: presetLabel(ctx.preset), now: ctx.clock.now().toISOString() };
  });

  app.post<{ Body: { username: string; password: string } }>(
    '/api/v1/auth/login',
    {
      config: { access: 'public' },
      schema: {
        tags: ['auth'],
        summary: 'Sign in; sets the session cookie',
        body: { type: 'object', required: ['username', 'password'], additionalProperties: false, properties: { username: { type: 'string', minLength: 1, maxLength: 100 }, password: { type: 'string', minLength: 1, maxLength: 200 } } },
      },
    },
    async (req, reply) => {
      const now = new Date();
      const result = await ctx.db.tx(async (q) => {
        const r = await login(q, req.body.username, req.body.password, now);
        await appendAudit(q, [{ actor: r ? actorOf(r.principal).actor : `anonymous:${req.body.username}`, role: r?.principal.role, action: r ? 'login' : 'login-failed', entity: 'user', entityId: r?.principal.id ?? null, detail: { ip: req.ip } }], now);
        return r;
      });
      if (!result) return reply.code(401).type('application/problem+json').send({ type: 'about:blank', title: 'Not signed in', status: 401, detail: 'Wrong user name or password.', code: 'wrongPassword' });
      reply.setCookie(SESSION_COOKIE, result.token, { path: '/', httpOnly: true, sameSite: 'strict', maxAge: SESSION_HOURS * 3600 });
      return { user: result.principal };
    },
  );

  app.post('/api/v1/auth/logout', { config: { access: 'public' }, schema: { tags: ['auth'], summary: 'Sign out' } }, async (req, reply) => {
    const token = req.cookies?.[SESSION_COOKIE];
    if (token) {
      await logout(ctx.db, token);
      forgetPrincipal(token);
    }
    reply.clearCookie(SESSION_COOKIE, { path: '/' });
    return { ok: true };
  });

  app.get('/api/v1/auth/me', { config: { access: { roles: ROLES } }, schema: { tags: ['auth'], summary: 'The signed-in user or token' } }, async (req) => ({ user: caller(req) }));

  app.post<{ Body: { name: string; role: Role; districtId?: number; streetId?: number; labId?: number; facilityId?: number; venueId?: number } }>(
    '/api/v1/tokens',
    {
      config: { access: { roles: COMMAND } },
      schema: {
        tags: ['auth'],
        summary: 'Issue a bearer token for a machine (lab upload, sentinel device); shown once',
        body: {
          type: 'object',
          required: ['name', 'role'],
          additionalProperties: false,
          properties: {
            name: { type: 'string', minLength: 1, maxLength: 200 },
            role: { type: 'string', enum: ['lab', 'venue_operator', 'sampler', 'facility_manager'] },
            districtId: { type: 'integer' },
            streetId: { type: 'integer' },
            labId: { type: 'integer' },
            facilityId: { type: 'integer' },
            venueId: { type: 'integer' },
          },
        },
      },
    },
    async (req, reply) => {
      const p = caller(req);
      const b = req.body;
      if (b.role === 'lab' && !b.labId) throw badRequest('A lab token needs labId.', { code: 'tokenNeedsLab' });
      if (b.role === 'venue_operator' && !b.venueId) throw badRequest('A sentinel token needs venueId.', { code: 'tokenNeedsVenue' });
      const districtId = b.districtId ?? p.districtId ?? null;
      if (!withinJurisdiction(p, { districtId, streetId: b.streetId ?? p.streetId })) throw forbidden('You may issue tokens only within your own jurisdiction.', { code: 'tokenOutsideJurisdiction' });
      const token = newToken();
      const now = ctx.clock.now();
      const id = await ctx.db.tx(async (q) => {
        const [row] = await q.query<{ id: number }>(
          `INSERT INTO api_tokens (token_hash, name, role, district_id, street_id, lab_id, facility_id, venue_id, created_by)
           VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9) RETURNING id`,
          [tokenHash(token), b.name, b.role, districtId, b.streetId ?? null, b.labId ?? null, b.facilityId ?? null, b.venueId ?? null, p.kind === 'user' ? p.id : null],
        );
        await appendAudit(q, [{ ...actorOf(p), action: 'create', entity: 'api_token', entityId: row.id, detail: { name: b.name, role: b.role } }], now);
        return row.id;
      });
      reply.code(201);
      return { id, token };
    },
  );

  app.get('/api/v1/clock', { config: { access: 'public' }, schema: { tags: ['platform'], summary: "The platform clock (demos may run it faster)" } }, async () => ({ ...ctx.clock.state(), settable: ctx.config.clockSettable }));

  app.post<{ Body: { now?: string; speed?: number } }>(
    '/api/v1/clock',
    {
      config: { access: { roles: ['city_command'] } },
      schema: {
        tags: ['platform'],
        summary: 'Set or speed up the clock (only when the server runs with CORDON_CLOCK=settable)',
        body: { type: 'object', additionalProperties: false, properties: { now: { type: 'string', format: 'date-time' }, speed: { type: 'number', minimum: 0, maximum: 100000 } } },
      },
    },
    async (req) => {
      if (!ctx.config.clockSettable) throw forbidden('The clock of this server is real time; start it with CORDON_CLOCK=settable for a demo.', { code: 'clockReal' });
      const p = caller(req);
      if (req.body.now) ctx.clock.set(new Date(req.body.now), req.body.speed);
      else if (req.body.speed !== undefined) ctx.clock.setSpeed(req.body.speed);
      await ctx.db.tx((q) => appendAudit(q, [{ ...actorOf(p), action: 'set', entity: 'clock', detail: req.body }], new Date()));
      return ctx.clock.state();
    },
  );

  app.get('/api/v1/preset', { config: { access: 'public' }, schema: { tags: ['platform'], summary: 'The protocol preset in force, with all its numbers' } }, async () => ctx.preset);
}
