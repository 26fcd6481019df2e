// Real parts for tests: a fresh database on the engine under test (PGlite in memory, or a new database
// on the PostgreSQL server named by CORDON_TEST_DATABASE_URL), and the real HTTP server on a free port.
import { expect } from 'vitest';
import pg from 'pg';
import { randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { openPg, openPglite, type Db } from '../src/core/db.ts';
import { migrate } from '../src/core/migrate.ts';
import { loadPreset } from '../src/core/presets.ts';
import { Clock } from '../src/core/clock.ts';
import { PiiKeys } from '../src/core/pii.ts';
import { loadConfig } from '../src/core/config.ts';
import type { AppContext } from '../src/core/context.ts';
import { buildApp } from '../src/server.ts';

export const engine = (process.env.CORDON_TEST_ENGINE ?? 'pglite') as 'pglite' | 'pg';
export const TEST_KEY = Buffer.alloc(32, 7);

let counter = 0;

/** A new, empty database on the PostgreSQL server under test: its URL, and drop() to remove it. */
export async function testDatabaseUrl(): Promise<{ url: string; drop(): Promise<void> }> {
  const adminUrl = process.env.CORDON_TEST_DATABASE_URL;
  if (!adminUrl) throw new Error('CORDON_TEST_ENGINE=pg needs CORDON_TEST_DATABASE_URL');
  const name = `cordon_t_${process.pid}_${++counter}_${randomBytes(3).toString('hex')}`;
  const admin = async (sql: string) => {
    const c = new pg.Client({ connectionString: adminUrl });
    await c.connect();
    try {
      await c.query(sql);
    } finally {
      await c.end();
    }
  };
  await admin(`CREATE DATABASE ${name}`);
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return { url: url.toString(), drop: () => admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`) };
}

/** A migrated, empty database of the engine under test. close() removes it. */
export async function testDb(): Promise<Db> {
  if (engine === 'pglite') {
    const db = await openPglite();
    await migrate(db);
    return db;
  }
  const { url, drop } = await testDatabaseUrl();
  const db = await openPg(url);
  await migrate(db);
  return {
    ...db,
    async close() {
      await db.close();
      await drop();
    },
  };
}

export interface TestContext extends AppContext {
  close(): Promise<void>;
}

export async function testContext(opts: { preset?: string; now?: Date } = {}): Promise<TestContext> {
  const db = await testDb();
  const clock = new Clock();
  if (opts.now) clock.set(opts.now, 0);
  const config = { ...loadConfig({ CORDON_KEY: TEST_KEY.toString('base64') }), preset: opts.preset ?? 'shanghai-2022-05', clockSettable: true };
  return { db, config, clock, preset: loadPreset(config.preset), pii: new PiiKeys(TEST_KEY), close: () => db.close() };
}

export interface TestServer {
  app: FastifyInstance;
  url: string;
  /** fetch against the server; pass `as` a session cookie or bearer token. */
  call(method: string, path: string, opts?: { body?: unknown; as?: Session; headers?: Record<string, string> }): Promise<{ status: number; headers: Headers; body: any; text: string }>;
  login(username: string, password: string): Promise<Session>;
  close(): Promise<void>;
}
export type Session = { cookie?: string; bearer?: string };

export async function testServer(ctx: AppContext): Promise<TestServer> {
  return listening(await buildApp(ctx));
}

/** An app of the test's own (a route made for the test) listening on loopback, with the same helpers. */
export async function listening(app: FastifyInstance): Promise<TestServer> {
  await app.listen({ port: 0, host: '127.0.0.1' });
  const address = app.server.address();
  const url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  const call: TestServer['call'] = async (method, path, opts = {}) => {
    const headers: Record<string, string> = { ...(opts.headers ?? {}) };
    if (opts.body !== undefined && typeof opts.body !== 'string') headers['content-type'] = 'application/json';
    if (opts.as?.cookie) headers.cookie = opts.as.cookie;
    if (opts.as?.bearer) headers.authorization = `Bearer ${opts.as.bearer}`;
    const res = await fetch(url + path, { method, headers, body: opts.body === undefined ? undefined : typeof opts.body === 'string' ? opts.body : JSON.stringify(opts.body) });
    const text = await res.text();
    let body: unknown = text;
    if ((res.headers.get('content-type') ?? '').includes('json') && text) body = JSON.parse(text);
    return { status: res.status, headers: res.headers, body, text };
  };
  return {
    app,
    url,
    call,
    async login(username, password) {
      const res = await call('POST', '/api/v1/auth/login', { body: { username, password } });
      if (res.status !== 200) throw new Error(`login ${username}: ${res.status} ${res.text}`);
      const cookie = (res.headers.get('set-cookie') ?? '').split(';')[0];
      return { cookie };
    },
    close: () => app.close(),
  };
}

/** Opens a tube, adds the persons one by one by personal code, and closes it; each step must succeed. */
export async function sampleTube(srv: TestServer, as: Session, tube: Record<string, unknown>, codes: string[]): Promise<void> {
  expect((await srv.call('POST', '/api/v1/tubes', { as, body: tube })).status).toBe(201);
  for (const code of codes) expect((await srv.call('POST', `/api/v1/tubes/${tube.barcode}/samples`, { as, body: { person: code } })).status).toBe(201);
  expect((await srv.call('POST', `/api/v1/tubes/${tube.barcode}/close`, { as })).status).toBe(200);
}

/** Uploads result lines (after the standard header) as a lab's CSV; the upload must be accepted. */
export async function uploadResultsCsv(srv: TestServer, as: Session, labId: number, lines: string[]): Promise<Record<string, unknown>> {
  const r = await srv.call('POST', `/api/v1/labs/${labId}/results`, { as, body: ['barcode,result,ct_orf1ab,ct_n,resulted_at', ...lines].join('\n') + '\n', headers: { 'content-type': 'text/csv' } });
  expect(r.status, r.text).toBe(200);
  return r.body;
}

/** A promise and the call that settles it: how a test holds one transaction open while a second one runs. */
export function signal<T = void>(): { done: Promise<T>; fire: (value: T) => void } {
  let fire!: (value: T) => void;
  const done = new Promise<T>((resolve) => (fire = resolve));
  return { done, fire };
}

/**
 * Resolves once `work` has ended or some session of the PostgreSQL server waits for a lock (how a test sees
 * that a second transaction is held up by a first one kept open), with the work's outcome still to await.
 */
export async function whenWaitingOrDone<T>(db: Db, work: Promise<T>): Promise<{ outcome: Promise<T> }> {
  let done = false;
  const outcome = work.finally(() => (done = true));
  // Handled here; rethrown to whoever awaits the outcome.
  outcome.catch(() => {});
  while (!done && !(await db.query<{ n: number }>('SELECT count(*)::int AS n FROM pg_locks WHERE NOT granted'))[0].n) await new Promise((r) => setTimeout(r, 10));
  return { outcome };
}
