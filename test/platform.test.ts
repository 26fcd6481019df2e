// The platform shell over real HTTP: health, sign-in, access declarations, problem+json, OpenAPI, clock, tokens.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import Fastify from 'fastify';
import { listening, testContext, testServer, type TestContext, type TestServer, type Session } from './harness.ts';
import { createUser } from '../src/core/users.ts';
import { hotPost, installHttpCore, lanesServed } from '../src/core/http.ts';
import { newToken, tokenHash } from '../src/core/auth.ts';
import { appOptions } from '../src/server.ts';
import { verifyAudit } from '../src/core/audit.ts';
import { conflict } from '../src/core/errors.ts';

describe('platform shell', () => {
  let ctx: TestContext;
  let srv: TestServer;
  let city: Session;
  beforeAll(async () => {
    ctx = await testContext();
    await ctx.db.tx(async (q) => {
      await createUser(q, { username: 'city', password: 'city-password', role: 'city_command' }, new Date());
      await createUser(q, { username: 'epi', password: 'epi-password', role: 'epidemiologist' }, new Date());
    });
    srv = await testServer(ctx);
    city = await srv.login('city', 'city-password');
  });
  afterAll(async () => {
    await srv.close();
    await ctx.close();
  });

  it('answers health with the engine and preset', async () => {
    const r = await srv.call('GET', '/api/health');
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ status: 'ok', preset: 'shanghai-2022-05@6' });
  });

  it('refuses a protected route without a session or token (401, problem+json)', async () => {
    const r = await srv.call('GET', '/api/v1/auth/me');
    expect(r.status).toBe(401);
    expect(r.headers.get('content-type')).toContain('application/problem+json');
    expect(r.body.detail).toMatch(/sign in/i);
    const bad = await srv.call('GET', '/api/v1/auth/me', { as: { bearer: 'not-a-token' } });
    expect(bad.status).toBe(401);
  });

  it('signs in with the right password only, and records both attempts in the audit log', async () => {
    const wrong = await srv.call('POST', '/api/v1/auth/login', { body: { username: 'city', password: 'nope-nope' } });
    expect(wrong.status).toBe(401);
    expect(wrong.body.detail).toBe('Wrong user name or password.');
    expect(wrong.body.code).toBe('wrongPassword');
    const me = await srv.call('GET', '/api/v1/auth/me', { as: city });
    expect(me.status).toBe(200);
    expect(me.body.user).toMatchObject({ name: 'city', role: 'city_command', districtId: null });
    const actions = await ctx.db.query<{ action: string }>("SELECT action FROM audit_log WHERE entity = 'user' AND action LIKE 'login%' ORDER BY id");
    expect(actions.map((a) => a.action)).toEqual(expect.arrayContaining(['login', 'login-failed']));
    expect((await verifyAudit(ctx.db)).ok).toBe(true);
  });

  it('signs out: the session no longer works', async () => {
    const s = await srv.login('epi', 'epi-password');
    expect((await srv.call('GET', '/api/v1/auth/me', { as: s })).status).toBe(200);
    await srv.call('POST', '/api/v1/auth/logout', { as: s });
    expect((await srv.call('GET', '/api/v1/auth/me', { as: s })).status).toBe(401);
  });

  it('rejects an invalid body with a readable problem naming the field', async () => {
    const r = await srv.call('POST', '/api/v1/auth/login', { body: { username: 'city' } });
    expect(r.status).toBe(400);
    expect(r.headers.get('content-type')).toContain('application/problem+json');
    expect(r.body.detail).toMatch(/password/);
    // As data too, in the codes of the registry's field rules: what a page words in its reader's language.
    expect(r.body).toMatchObject({ code: 'fieldMissing', column: 'password' });
  });

  it('says which field a route’s schema refuses, and why, as data', async () => {
    const arrive = (body: Record<string, unknown>, person: string | number = 1) => srv.call('POST', `/api/v1/persons/${person}/arrivals`, { as: city, body: { kind: 'inbound', origin: 'Singapore', arrivedAt: '2022-04-10T08:00:00Z', ...body } });
    const refused = async (body: Record<string, unknown>, person?: string) => {
      const r = await arrive(body, person);
      expect(r.status, r.text).toBe(400);
      return r.body;
    };
    expect(await refused({ kind: 'nearby' })).toMatchObject({ code: 'fieldNotInList', column: 'kind', value: 'nearby', allowed: 'inbound, highRisk, mediumRisk, lowRisk' });
    expect(await refused({ arrivedAt: 'yesterday' })).toMatchObject({ code: 'fieldNotInstant', column: 'arrivedAt', value: 'yesterday' });
    const long = await refused({ origin: 'x'.repeat(201) });
    expect(long).toMatchObject({ code: 'fieldTooLong', column: 'origin', max: 200 });
    expect(long).not.toHaveProperty('value');
    expect(await refused({ origin: '' })).toMatchObject({ code: 'fieldMissing', column: 'origin' });
    expect(await refused({ shoeSize: 44 })).toMatchObject({ code: 'fieldUnknown', column: 'shoeSize' });
    expect(await refused({}, 'abc')).toMatchObject({ code: 'fieldNotWholeNumber', column: 'personId', value: 'abc' });
    // A long value (an ID number is 18 characters) is never sent back.
    const idLike = await refused({ kind: '310101199001011234' });
    expect(idLike).toMatchObject({ code: 'fieldNotInList', column: 'kind', value: '…' });
    expect(JSON.stringify(idLike)).not.toContain('310101199001011234');
    expect(await ctx.db.query('SELECT 1 FROM arrivals')).toEqual([]);
  });

  it('answers 403 for a role that may not use a route', async () => {
    const epi = await srv.login('epi', 'epi-password');
    const r = await srv.call('POST', '/api/v1/tokens', { as: epi, body: { name: 'lab 1', role: 'lab', labId: 1 } });
    expect(r.status).toBe(403);
    expect(r.body.detail).toMatch(/city_command/);
  });

  it('issues a machine token that authenticates as a bearer and is stored only as a hash', async () => {
    const r = await srv.call('POST', '/api/v1/tokens', { as: city, body: { name: 'sampling device', role: 'sampler' } });
    expect(r.status).toBe(201);
    const me = await srv.call('GET', '/api/v1/auth/me', { as: { bearer: r.body.token } });
    expect(me.status).toBe(200);
    expect(me.body.user).toMatchObject({ kind: 'token', role: 'sampler' });
    const stored = await ctx.db.query<{ token_hash: string }>('SELECT token_hash FROM api_tokens');
    expect(stored.map((s) => s.token_hash)).not.toContain(r.body.token);
  });

  it('publishes an OpenAPI description that lists the routes, and a docs page', async () => {
    const r = await srv.call('GET', '/api/openapi.json');
    expect(r.status).toBe(200);
    expect(r.body.openapi).toMatch(/^3\./);
    expect(Object.keys(r.body.paths)).toEqual(expect.arrayContaining(['/api/health', '/api/v1/auth/login']));
    expect((await srv.call('GET', '/api/docs/')).status).toBe(200);
  });

  it('lets city command set the clock when settable, and audits it', async () => {
    const r = await srv.call('POST', '/api/v1/clock', { as: city, body: { now: '2022-04-10T00:00:00Z', speed: 0 } });
    expect(r.status).toBe(200);
    expect((await srv.call('GET', '/api/v1/clock')).body.now).toBe('2022-04-10T00:00:00.000Z');
    expect((await srv.call('GET', '/api/health')).body.now).toBe('2022-04-10T00:00:00.000Z');
  });

  it('answers unknown routes with a problem', async () => {
    const r = await srv.call('GET', '/api/v1/nothing-here');
    expect(r.status).toBe(404);
    expect(r.headers.get('content-type')).toContain('application/problem+json');
  });
});

describe('route declarations', () => {
  it('refuses to register an API route that declares no access', async () => {
    const ctx = await testContext();
    try {
      const app = Fastify();
      installHttpCore(app, ctx);
      expect(() => app.get('/api/v1/forgotten', async () => ({ secret: true }))).toThrow(/declares no access/);
    } finally {
      await ctx.close();
    }
  });

  it('serves the common case of a hot route by its lane with the answers and refusals Fastify gives, and leaves the rest to Fastify', async () => {
    const ctx = await testContext();
    const app = Fastify(appOptions);
    installHttpCore(app, ctx);
    hotPost<{ n: number; word?: string }, unknown>(app, {
      url: '/api/v1/twice',
      access: { roles: ['city_command'] },
      bodyLimit: 200,
      status: 201,
      schema: {
        body: { type: 'object', required: ['n'], additionalProperties: false, properties: { n: { type: 'integer', minimum: 0 }, word: { type: 'string', maxLength: 5 } } },
        response: { 201: { type: 'object', properties: { twice: { type: 'integer' }, by: { type: 'string' }, at: { type: 'string', format: 'date-time' } } } },
      },
      handle: async (body, principal) => {
        if (body.n === 13) throw conflict('Thirteen is taken.', { code: 'taken', n: 13 });
        if (body.n === 99) throw new Error('a fault of ours');
        // `secret` is not in the answer's schema: neither way may send it.
        return { twice: body.n * 2, by: principal?.role, at: new Date(0), secret: 'kept' };
      },
    });
    const srv = await listening(app);
    try {
      const token = async (role: string) => {
        const t = newToken();
        await ctx.db.query('INSERT INTO api_tokens (token_hash, name, role) VALUES ($1, $2, $3)', [tokenHash(t), role, role]);
        return { bearer: t };
      };
      const city = await token('city_command');
      const epi = await token('epidemiologist');
      // Fastify's way, whatever the lane would do: a content type the lane does not take.
      const viaFastify = { 'content-type': 'application/json; charset=UTF-8' };
      const both = async (body: unknown) => {
        const before = lanesServed.requests;
        const f = await srv.call('POST', '/api/v1/twice', { as: city, body: typeof body === 'string' ? body : JSON.stringify(body), headers: viaFastify });
        expect(lanesServed.requests).toBe(before);
        const l = await srv.call('POST', '/api/v1/twice', { as: city, body: typeof body === 'string' ? body : JSON.stringify(body), headers: { 'content-type': 'application/json' } });
        expect(lanesServed.requests, 'taken by the lane').toBe(before + 1);
        expect({ status: l.status, type: l.headers.get('content-type'), body: l.body }).toEqual({ status: f.status, type: f.headers.get('content-type'), body: f.body });
        return l;
      };

      // The token's first request is Fastify's (it looks the token up); then the lane takes its requests.
      const first = lanesServed.requests;
      expect((await srv.call('POST', '/api/v1/twice', { as: city, body: { n: 1 } })).status).toBe(201);
      expect(lanesServed.requests).toBe(first);

      expect((await both({ n: 4 })).body).toEqual({ twice: 8, by: 'city_command', at: '1970-01-01T00:00:00.000Z' });
      expect((await both({ n: -1 })).body).toMatchObject({ status: 400, code: 'fieldBelowMin', column: 'n', value: '-1', min: 0 });
      expect((await both({ n: 1, extra: true })).body).toMatchObject({ status: 400, code: 'fieldUnknown', column: 'extra' });
      expect((await both({ n: 1, word: 'toolong' })).body).toMatchObject({ status: 400, code: 'fieldTooLong', column: 'word', max: 5 });
      expect((await both('{"n": 1')).body).toMatchObject({ status: 400, title: 'Bad request' });
      expect((await both('{"n": 1, "__proto__": {"admin": true}}')).body).toMatchObject({ status: 400, title: 'Bad request' });
      expect((await both('{"n": 1, "constructor": {"prototype": {"admin": true}}}')).body).toMatchObject({ status: 400, title: 'Bad request' });
      expect((await both({ n: 13 })).body).toEqual({ type: 'about:blank', title: 'Conflict', status: 409, detail: 'Thirteen is taken.', code: 'taken', n: 13 });
      expect((await both({ n: 99 })).body).toMatchObject({ status: 500, title: 'Internal error' });

      // Left to Fastify, which refuses as it always has: a role the route does not admit, no credentials, a
      // body of another type or too long, a token nobody issued.
      const before = lanesServed.requests;
      await srv.call('POST', '/api/v1/twice', { as: epi, body: { n: 1 } });
      expect((await srv.call('POST', '/api/v1/twice', { as: epi, body: { n: 1 } })).body).toMatchObject({ status: 403, code: 'roleNotAllowed' });
      expect((await srv.call('POST', '/api/v1/twice', { body: { n: 1 } })).body).toMatchObject({ status: 401, code: 'notSignedIn' });
      expect((await srv.call('POST', '/api/v1/twice', { as: city, body: '<n>1</n>', headers: { 'content-type': 'application/xml' } })).status).toBe(415);
      expect((await srv.call('POST', '/api/v1/twice', { as: city, body: { n: 1, word: 'x'.repeat(300) } })).status).toBe(413);
      expect((await srv.call('POST', '/api/v1/twice', { as: { bearer: 'not-a-token' }, body: { n: 1 } })).status).toBe(401);
      expect(lanesServed.requests).toBe(before);
    } finally {
      await srv.close();
      await ctx.close();
    }
  });

  it('keeps the standard members of a problem whatever values it carries', async () => {
    const ctx = await testContext();
    try {
      const app = Fastify();
      installHttpCore(app, ctx);
      app.get('/api/v1/refused', { config: { access: 'public' } }, async () => {
        throw conflict('Request 7 is done.', { code: 'feedbackGiven', status: 'done', title: 'x', detail: 'y', type: 'z' });
      });
      const r = await app.inject({ method: 'GET', url: '/api/v1/refused' });
      expect(r.statusCode).toBe(409);
      expect(r.json()).toEqual({ type: 'about:blank', title: 'Conflict', status: 409, detail: 'Request 7 is done.', code: 'feedbackGiven' });
    } finally {
      await ctx.close();
    }
  });
});
