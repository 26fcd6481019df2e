// The HTTP shell every capability plugs into: access declared per route, principal resolution,
// problem+json errors, OpenAPI. Capabilities add routes with `app.route({ ..., config: { access } })`, and the
// hottest ones with hotPost (a lane beside Fastify, below).
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest, FastifySchemaValidationError } from 'fastify';
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import type { AppContext } from './context.ts';
import { mayUse, principalFromApiToken, principalFromSession, requireAccess, SESSION_COOKIE, type Access, type Principal } from './auth.ts';
import { Problem } from './errors.ts';

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal | null;
  }
  interface FastifyContextConfig {
    access?: Access;
  }
}

/** Installs the access check and error shape. Call before registering any route. */
export function installHttpCore(app: FastifyInstance, ctx: AppContext): void {
  app.decorateRequest('principal', null);
  installLanes(app);

  // A route under /api without a declared access is a programming error: refuse to start.
  app.addHook('onRoute', (route) => {
    const url = route.url ?? route.path;
    if (url.startsWith('/api/') && !(route.config as { access?: Access } | undefined)?.access && !url.startsWith('/api/docs')) {
      throw new Error(`Route ${route.method} ${url} declares no access (config.access)`);
    }
  });

  // Callback hooks, not async ones: every request passes through these, and an async hook costs a promise
  // and a microtask turn each (a check-in is answered in tens of microseconds).
  app.addHook('onRequest', (_req, _reply, done) => {
    httpActivity.inFlight++;
    httpActivity.lastAt = Date.now();
    done();
  });
  app.addHook('onResponse', (_req, _reply, done) => {
    httpActivity.inFlight = Math.max(0, httpActivity.inFlight - 1);
    httpActivity.lastAt = Date.now();
    done();
  });

  app.addHook('preHandler', (req, _reply, done) => {
    const access = req.routeOptions.config?.access;
    if (!access) return done();
    // A caller seen in the last seconds is known without waiting (a busy gateway's every request).
    const known = knownPrincipal(req);
    if (known !== undefined) return done(admitted(req, access, known));
    resolvePrincipal(req, ctx).then(
      (principal) => done(admitted(req, access, principal)),
      (e: Error) => done(e),
    );
  });

  app.setErrorHandler((err: FastifyError | Problem, req, reply) => {
    if (err instanceof Problem) return sendProblem(reply, err.status, err.title, err.detail, err.extra);
    const fe = err as FastifyError;
    if (fe.validation) {
      const input = fe.validationContext === 'querystring' ? req.query : fe.validationContext === 'params' ? req.params : fe.validationContext === 'headers' ? req.headers : req.body;
      const p = validationProblem(fe.validation, fe.validationContext, input);
      return sendProblem(reply, 400, p.title, p.detail, p.extra);
    }
    if (fe.statusCode && fe.statusCode < 500) return sendProblem(reply, fe.statusCode, 'Bad request', fe.message);
    req.log.error(err);
    return sendProblem(reply, 500, 'Internal error', 'Something went wrong on our side; it has been logged.');
  });

  app.setNotFoundHandler((req, reply) => sendProblem(reply, 404, 'Not found', `No route ${req.method} ${req.url.split('?')[0]}.`));
}

/** A refusal by a route's schema: the words of each error, and the first one's code (schemaProblem). */
function validationProblem(validation: FastifySchemaValidationError[], context: string | undefined, input: unknown): { title: string; detail: string; extra: Record<string, unknown> } {
  const errors = validation.map((v) => ({ field: (v.instancePath || v.params?.missingProperty || '').toString().replace(/^\//, '').replace(/\//g, '.') || String(v.params?.missingProperty ?? ''), message: v.message }));
  const first = validation.map((v) => schemaProblem(v, input)).find((x) => x !== null);
  return { title: 'Invalid request', detail: `The ${context ?? 'request'} is not valid: ${errors.map((e) => `${e.field ? e.field + ' ' : ''}${e.message}`).join('; ')}`, extra: { ...first, errors } };
}

/**
 * A refusal by a route's schema as data, in the codes of the registry's field rules (src/registry/validation.ts)
 * where one fits: the field (the last name of its path), the limit, and the value when it is short (an ID
 * number, 18 characters, is never sent back). Null for a refusal without such a code: the words alone then.
 */
export function schemaProblem(v: { keyword: string; instancePath: string; params: Record<string, unknown> }, input: unknown): ({ code: string; column: string } & Record<string, string | number>) | null {
  const path = v.instancePath.split('/').filter(Boolean);
  // The field by its own name (observation.spo2: spo2; comorbidities.0: comorbidities), as the pages label fields.
  const named = path.filter((k) => !/^\d+$/.test(k)).at(-1) ?? '';
  const column = String(v.keyword === 'required' ? v.params.missingProperty : v.keyword === 'additionalProperties' ? v.params.additionalProperty : named);
  let data: unknown = input;
  for (const k of path) data = data === null || typeof data !== 'object' ? undefined : (data as Record<string, unknown>)[k];
  const value = (typeof data === 'number' || typeof data === 'string') && String(data).length <= 12 ? String(data) : '…';
  const limit = Number(v.params.limit);
  switch (v.keyword) {
    case 'required':
      return { code: 'fieldMissing', column };
    case 'minLength':
      return limit <= 1 ? { code: 'fieldMissing', column } : { code: 'fieldTooShort', column, min: limit };
    case 'maxLength':
      return { code: 'fieldTooLong', column, max: limit };
    case 'minimum':
    case 'exclusiveMinimum':
      return { code: 'fieldBelowMin', column, value, min: limit };
    case 'maximum':
    case 'exclusiveMaximum':
      return { code: 'fieldAboveMax', column, value, max: limit };
    case 'enum':
      return { code: 'fieldNotInList', column, value, allowed: (v.params.allowedValues as unknown[]).join(', ') };
    case 'type': {
      const code = { integer: 'fieldNotWholeNumber', number: 'fieldNotNumber', boolean: 'fieldNotBoolean' }[String(v.params.type)];
      return code ? { code, column, value } : null;
    }
    case 'format':
      return v.params.format === 'date' ? { code: 'fieldNotDate', column, value } : v.params.format === 'date-time' ? { code: 'fieldNotInstant', column, value } : null;
    case 'additionalProperties':
      return { code: 'fieldUnknown', column: String(v.params.additionalProperty) };
  }
  return null;
}

/** Requests being served and the time of the last one: maintenance waits for a quiet moment. */
export const httpActivity = { inFlight: 0, lastAt: 0 };
let heavy = 0;

/**
 * Runs `fn` as work that holds the database for seconds (a lab's upload of 100,000 results, an import):
 * upkeep that can wait steps aside meanwhile. Marked by the work itself, so a check-in pays nothing for it.
 */
export async function heavyWork<T>(fn: () => Promise<T>): Promise<T> {
  heavy++;
  try {
    return await fn();
  } finally {
    heavy--;
  }
}

export const heavyWorkInFlight = (): boolean => heavy > 0;

export function sendProblem(reply: FastifyReply, status: number, title: string, detail?: string, extra: Record<string, unknown> = {}) {
  return reply.code(status).type('application/problem+json').send(problemBody(status, title, detail, extra));
}

/** A problem's members: the standard ones last, so that a value a refusal carries (a request's own status, say) never replaces them. */
function problemBody(status: number, title: string, detail: string | undefined, extra: Record<string, unknown>) {
  return { ...extra, type: 'about:blank', title, status, detail };
}

// Who a token or session is, kept for a few seconds: a busy entrance device or app gateway would otherwise
// cost a database look-up per request. A revoked token or ended session stops within PRINCIPAL_TTL_MS;
// signing out here forgets it at once.
const PRINCIPAL_TTL_MS = 10_000;
const principals = new Map<string, { principal: Principal | null; at: number }>();

export function forgetPrincipal(token: string): void {
  principals.delete(`Bearer ${token}`);
  principals.delete(`c:${token}`);
}

/** Sets the request's principal; the refusal when it may not use the route. */
function admitted(req: FastifyRequest, access: Access, principal: Principal | null): Error | undefined {
  req.principal = principal;
  try {
    requireAccess(access, principal);
  } catch (e) {
    return e as Error;
  }
  return undefined;
}

/** The cache key of a request: its Authorization header (`Bearer <token>`), or `c:<session>` for a session cookie; null when it carries neither. */
function principalKey(req: FastifyRequest): string | null {
  const bearer = bearerKey(req.headers.authorization);
  if (bearer !== null) return bearer;
  const cookie = req.cookies?.[SESSION_COOKIE];
  return cookie ? `c:${cookie}` : null;
}

/** The cache key of an Authorization header: `Bearer <token>`; null when it carries no bearer token. */
function bearerKey(auth: string | undefined): string | null {
  if (!auth?.startsWith('Bearer ')) return null;
  // The header as it came is the key (no new string per request), unless it has stray spaces.
  if (auth.charCodeAt(7) > 32 && auth.charCodeAt(auth.length - 1) > 32) return auth;
  const token = auth.slice(7).trim();
  return token ? `Bearer ${token}` : null;
}

/** The principal without a database look-up: null when the request carries no credentials, undefined when it must be looked up. */
function knownPrincipal(req: FastifyRequest): Principal | null | undefined {
  const key = principalKey(req);
  return key === null ? null : cachedPrincipal(key);
}

/** Who a cache key was in the last PRINCIPAL_TTL_MS (null: nobody); undefined when it must be looked up. */
function cachedPrincipal(key: string): Principal | null | undefined {
  const hit = principals.get(key);
  return hit && Date.now() - hit.at < PRINCIPAL_TTL_MS ? hit.principal : undefined;
}

async function resolvePrincipal(req: FastifyRequest, ctx: AppContext): Promise<Principal | null> {
  const key = principalKey(req);
  if (key === null) return null;
  const principal = key.startsWith('Bearer ') ? await principalFromApiToken(ctx.db, key.slice(7)) : await principalFromSession(ctx.db, key.slice(2), new Date());
  if (principals.size > 50_000) principals.clear();
  principals.set(key, { principal, at: Date.now() });
  return principal;
}

/** The caller, for handlers of routes that require a role (never null there). */
export function caller(req: FastifyRequest): Principal {
  return signedIn(req.principal);
}

/** The principal of a route that requires a role (never null there). */
export function signedIn(principal: Principal | null): Principal {
  if (!principal) throw new Problem(401, 'Not signed in', undefined, { code: 'notSignedIn' });
  return principal;
}

/** JSON-schema pieces shared by routes. */
export const schemas = {
  id: { type: 'integer', minimum: 1 },
  page: {
    type: 'object',
    properties: {
      after: { type: 'integer', minimum: 0, description: 'Keyset cursor: the `next` of the previous page' },
      limit: { type: 'integer', minimum: 1, maximum: 1000, default: 50 },
      q: { type: 'string', maxLength: 200, description: 'Search text' },
    },
    additionalProperties: true,
  },
  problem: {
    type: 'object',
    properties: { type: { type: 'string' }, title: { type: 'string' }, status: { type: 'integer' }, detail: { type: 'string' } },
  },
} as const;

// --- lanes: the common case of the hottest routes, served beside Fastify ---------------------------------
//
// A check-in paid Fastify's per-request machinery on top of node:http (request and reply objects, hooks, the
// body parser's async scope, the reply's hooks and serializer): more than the embedded database's write of its
// scan. On the bench's small city (`npm run bench -- checkpoints --persons 300000 --days 3`, PGlite) the server
// spent 86 us a check-in against 41 for the bare endpoint; with the lane 61 against 38. A lane
// takes only the common case of a route declared with hotPost: a POST with a JSON body of a stated length, from
// a caller whose token or session was seen in the last seconds and who may use the route. Everything else (the
// first request of a token, another content type, a body too long) goes to Fastify, which answers
// as before. Once a lane has taken a request it answers it, with the route's own validator, handler and
// serializer, and refuses as Fastify would (problem+json, the same codes).

type Schema = Record<string, unknown>;

export interface HotPost<B, R> {
  /** The exact path, without parameters. */
  url: string;
  access: Access;
  schema: { tags?: string[]; summary?: string; body: Schema; response: Record<number, Schema> };
  /** The status of an answer. */
  status: number;
  bodyLimit: number;
  handle: (body: B, principal: Principal | null, headers: IncomingHttpHeaders) => Promise<R>;
}

interface Lane {
  route: HotPost<unknown, unknown>;
  validate?: ((body: unknown) => boolean) & { errors?: FastifySchemaValidationError[] | null };
  serialize?: (answer: unknown) => string;
}

const lanesOf = new WeakMap<object, Map<string, Lane>>();

/** Requests a lane has taken, since the process started (the bench says how many of its check-ins did). */
export const lanesServed = { requests: 0 };

/** A POST route served by Fastify, and in its common case by a lane (above): one handler for both. */
export function hotPost<B, R>(app: FastifyInstance, route: HotPost<B, R>): void {
  app.post<{ Body: B }>(route.url, { bodyLimit: route.bodyLimit, config: { access: route.access }, schema: route.schema }, async (req, reply) => {
    const answer = await route.handle(req.body as B, req.principal, req.headers);
    reply.code(route.status);
    return answer;
  });
  const lanes = lanesOf.get(app.server);
  if (!lanes) throw new Error('hotPost before installHttpCore');
  lanes.set(route.url, { route: route as HotPost<unknown, unknown> });
}

/** Puts the lanes in front of Fastify's own listener of the server's requests. */
function installLanes(app: FastifyInstance): void {
  const listeners = app.server.listeners('request') as ((req: IncomingMessage, res: ServerResponse) => void)[];
  if (listeners.length !== 1) throw new Error(`Expected Fastify's one request listener, found ${listeners.length}`);
  const fastify = listeners[0];
  const lanes = new Map<string, Lane>();
  lanesOf.set(app.server, lanes);
  app.server.removeAllListeners('request');
  app.server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    // A closing server's requests are Fastify's: it answers them 503 and closes their connections.
    const lane = req.method === 'POST' && app.server.listening ? lanes.get(req.url!) : undefined;
    const principal = lane === undefined ? undefined : laneCaller(app, lane, req);
    if (principal === undefined) fastify(req, res);
    else serveLane(app, lane!, principal, req, res);
  });
}

/** The caller when a lane may take the request (null for a public route without credentials); undefined when Fastify must. */
function laneCaller(app: FastifyInstance, lane: Lane, req: IncomingMessage): Principal | null | undefined {
  const h = req.headers;
  const type = h['content-type'];
  if (type !== 'application/json' && type !== 'application/json; charset=utf-8') return undefined;
  const length = Number(h['content-length']);
  if (!(length > 0 && length <= lane.route.bodyLimit) || h['transfer-encoding'] !== undefined) return undefined;
  // The key principalKey gives: the bearer token, else the session cookie, read by the cookie plugin's own parser.
  const key = bearerKey(h.authorization) ?? sessionKey(app, h.cookie);
  if (key === undefined) return undefined;
  // Without credentials, only a public route's.
  if (key === null) return mayUse(lane.route.access, null) ? null : undefined;
  // Not seen lately, an invalid token, or a role not admitted: Fastify's, which looks it up or refuses it.
  const principal = cachedPrincipal(key);
  return principal && mayUse(lane.route.access, principal) ? principal : undefined;
}

/** The cache key of a session cookie (`c:<session>`); null without one; undefined when no cookie parser is registered. */
function sessionKey(app: FastifyInstance, cookie: string | undefined): string | null | undefined {
  if (cookie === undefined) return null;
  const parse = (app as unknown as { parseCookie?: (header: string) => Record<string, string | undefined> }).parseCookie;
  if (!parse) return undefined;
  const session = parse(cookie)[SESSION_COOKIE];
  return session ? `c:${session}` : null;
}

function serveLane(app: FastifyInstance, lane: Lane, principal: Principal | null, req: IncomingMessage, res: ServerResponse): void {
  lanesServed.requests++;
  httpActivity.inFlight++;
  httpActivity.lastAt = Date.now();
  res.once('close', () => {
    httpActivity.inFlight = Math.max(0, httpActivity.inFlight - 1);
    httpActivity.lastAt = Date.now();
  });
  const chunks: Buffer[] = [];
  req.on('data', (chunk: Buffer) => chunks.push(chunk));
  req.on('error', () => res.destroy());
  req.on('end', () => {
    let body: unknown;
    try {
      body = parseJson(chunks.length === 1 ? chunks[0].toString('utf8') : Buffer.concat(chunks).toString('utf8'));
    } catch {
      // As Fastify's parser: a 400 in its words, and the connection closed.
      res.setHeader('connection', 'close');
      return writeProblem(res, 400, 'Bad request', "Body is not valid JSON but content-type is set to 'application/json'");
    }
    const { route } = lane;
    const refuse = (e: Error) => {
      if (res.headersSent) return void res.destroy(e);
      if (e instanceof Problem) return writeProblem(res, e.status, e.title, e.detail, e.extra);
      app.log.error(e);
      writeProblem(res, 500, 'Internal error', 'Something went wrong on our side; it has been logged.');
    };
    let answer: Promise<unknown>;
    try {
      // The route's own validator and serializer, as Fastify compiled them (compiled at the lane's first request).
      const validate = (lane.validate ??= app.validatorCompiler!({ schema: route.schema.body, method: 'POST', url: route.url, httpPart: 'body' }) as Lane['validate'])!;
      if (!validate(body)) {
        const p = validationProblem(validate.errors ?? [], 'body', body);
        return writeProblem(res, 400, p.title, p.detail, p.extra);
      }
      answer = route.handle(body, principal, req.headers);
    } catch (e) {
      return refuse(e as Error);
    }
    answer.then((a) => {
      try {
        const serialize = (lane.serialize ??= app.serializerCompiler!({ schema: route.schema.response[route.status], method: 'POST', url: route.url, httpStatus: String(route.status) }) as Lane['serialize'])!;
        const text = serialize(a);
        res.writeHead(route.status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) });
        res.end(text);
      } catch (e) {
        refuse(e as Error);
      }
    }, refuse);
  });
}

/** JSON.parse, refusing what Fastify's parser refuses: a __proto__ key, or a constructor with a prototype. */
function parseJson(text: string): unknown {
  if (!text.includes('__proto__') && !text.includes('constructor')) return JSON.parse(text);
  return JSON.parse(text, (key, value: unknown) => {
    if (key === '__proto__' || (key === 'constructor' && value !== null && typeof value === 'object' && 'prototype' in value)) throw new SyntaxError('forbidden prototype property');
    return value;
  });
}

/** sendProblem for a lane's answer. */
function writeProblem(res: ServerResponse, status: number, title: string, detail?: string, extra: Record<string, unknown> = {}): void {
  const text = JSON.stringify(problemBody(status, title, detail, extra));
  res.writeHead(status, { 'content-type': 'application/problem+json; charset=utf-8', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}
