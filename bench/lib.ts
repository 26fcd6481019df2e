// Shared pieces of the benchmarks: the engines to run on (a fresh database each), argument reading,
// and the figure lines, each printed beside its baseline from the same run as a ratio.
import { execSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { openPg, openPglite, type Db } from '../src/core/db.ts';
import { migrate } from '../src/core/migrate.ts';
import { loadPreset } from '../src/core/presets.ts';
import { Clock } from '../src/core/clock.ts';
import { PiiKeys } from '../src/core/pii.ts';
import { loadConfig } from '../src/core/config.ts';
import type { AppContext } from '../src/core/context.ts';
import { progress } from '../src/core/progress.ts';
import { loadCity, type City } from '../src/sim/index.ts';
import { refreshStatistics } from '../src/core/maintenance.ts';
import { buildApp } from '../src/server.ts';
import { createUser } from '../src/core/users.ts';

export interface BenchEngine {
  name: 'pglite' | 'pg';
  /** A fresh, migrated, empty database on this engine. */
  open(): Promise<Db & { dispose(): Promise<void> }>;
}

const defaultPgUrl = 'postgres://postgres@127.0.0.1:5432/test';

/**
 * PGlite always; PostgreSQL when CORDON_BENCH_DATABASE_URL or DATABASE_URL is set, or a local server answers.
 * CORDON_BENCH_ENGINE=pglite|pg runs on that engine only.
 */
export async function benchEngines(): Promise<BenchEngine[]> {
  const only = process.env.CORDON_BENCH_ENGINE;
  if (only && only !== 'pglite' && only !== 'pg') throw new Error(`CORDON_BENCH_ENGINE must be pglite or pg, not "${only}"`);
  const engines: BenchEngine[] = only === 'pg' ? [] : [
    {
      name: 'pglite',
      async open() {
        const dir = mkdtempSync(path.join(tmpdir(), 'cordon-bench-'));
        const db = await openPglite(dir);
        await migrate(db);
        return Object.assign(db, {
          async dispose() {
            await db.close();
            rmSync(dir, { recursive: true, force: true });
          },
        });
      },
    },
  ];
  if (only === 'pglite') return engines;
  const adminUrl = process.env.CORDON_BENCH_DATABASE_URL ?? process.env.DATABASE_URL ?? defaultPgUrl;
  const admin = new pg.Client({ connectionString: adminUrl, connectionTimeoutMillis: 2000 });
  try {
    await admin.connect();
    await admin.end();
  } catch {
    if (only === 'pg') throw new Error(`CORDON_BENCH_ENGINE=pg, but no PostgreSQL server answers at ${adminUrl.replace(/\/\/[^@]*@/, '//')}`);
    process.stdout.write(`(no PostgreSQL server at ${adminUrl.replace(/\/\/[^@]*@/, '//')}: PGlite only)\n`);
    return engines;
  }
  let n = 0;
  engines.push({
    name: 'pg',
    async open() {
      const name = `cordon_bench_${process.pid}_${++n}`;
      const run = async (sql: string) => {
        const c = new pg.Client({ connectionString: adminUrl });
        await c.connect();
        await c.query(sql);
        await c.end();
      };
      await run(`DROP DATABASE IF EXISTS ${name}`);
      await run(`CREATE DATABASE ${name}`);
      const url = new URL(adminUrl);
      url.pathname = `/${name}`;
      const db = await openPg(url.toString());
      await migrate(db);
      return Object.assign(db, {
        async dispose() {
          await db.close();
          await run(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
        },
      });
    },
  });
  return engines;
}

/** An AppContext around a bench database, with a fixed key and the clock frozen at `now`. */
export function benchContext(db: Db, now = new Date('2022-04-10T08:00:00Z')): AppContext {
  const key = Buffer.alloc(32, 9);
  const config = { ...loadConfig({ CORDON_KEY: key.toString('base64') }), clockSettable: true };
  const clock = new Clock();
  clock.set(now, 0);
  return { db, config, clock, preset: loadPreset(config.preset), pii: new PiiKeys(key) };
}

/** Reads `--name value` from the arguments, as a number. */
export function numberArg(args: string[], name: string, fallback: number): number {
  const i = args.indexOf(name);
  if (i === -1) return fallback;
  const v = Number(args[i + 1]);
  if (!Number.isFinite(v) || v <= 0) throw new Error(`${name} needs a positive number`);
  return v;
}

export async function timed<T>(fn: () => Promise<T>): Promise<{ value: T; seconds: number }> {
  const start = process.hrtime.bigint();
  const value = await fn();
  return { value, seconds: Number(process.hrtime.bigint() - start) / 1e9 };
}

const fmt = (n: number) => (n >= 100 ? Math.round(n).toLocaleString('en') : n.toFixed(n >= 10 ? 1 : 3));

/** One result line: a rate beside its baseline rate, and their ratio. */
export function rateLine(engine: string, what: string, rows: number, seconds: number, baselineWhat: string, baselineRows: number, baselineSeconds: number, goal?: string): void {
  const rate = rows / seconds;
  const base = baselineRows / baselineSeconds;
  process.stdout.write(`${engine.padEnd(7)} ${what} ${fmt(rate)} rows/s   ${baselineWhat} ${fmt(base)} rows/s   ratio ${(rate / base).toFixed(2)}${goal ? `   (goal ${goal})` : ''}\n`);
}

/** One result line: a duration beside its baseline duration, and their ratio. */
export function timeLine(engine: string, what: string, seconds: number, baselineWhat: string, baselineSeconds: number, goal?: string): void {
  process.stdout.write(`${engine.padEnd(7)} ${what} ${fmt(seconds * 1000)} ms   ${baselineWhat} ${fmt(baselineSeconds * 1000)} ms   ratio ${(seconds / baselineSeconds).toFixed(2)}${goal ? `   (goal ${goal})` : ''}\n`);
}

/** Loads a generated city into the bench database, a progress bar per entity. */
export async function loadBenchCity(engine: string, ctx: AppContext, city: City): Promise<void> {
  let bar = progress(`${engine}: loading a city of ${city.counts.persons.toLocaleString('en')}`);
  let current = '';
  await loadCity(ctx, city, (entity, rows) => {
    if (entity !== current) {
      bar.done();
      current = entity;
      bar = progress(`${engine}: loading ${entity}`, city.counts[entity]);
    }
    bar.update(rows);
  });
  bar.done();
}

/**
 * After a bench's load, before anything is measured: vacuumed, statistics for the planner, then the load written out. It
 * leaves gigabytes of dirty pages behind, in the database's buffers and the kernel's (PGlite writes its files
 * through the kernel); their write-back would otherwise run inside the measured part. The CHECKPOINT also lets
 * the load's WAL files be recycled: PGlite has no checkpointer process of its own.
 */
export async function settleLoad(engine: string, db: Db): Promise<void> {
  let bar = progress(`${engine}: ${db.engine === 'pg' ? 'vacuum and ' : ''}statistics`);
  // VACUUM too on a server: its autovacuum would have vacuumed the load before a city's day starts (the
  // visibility map lets index-only scans skip the table), but it may be off, as on the test server here.
  if (db.engine === 'pg') await db.exec('VACUUM (ANALYZE)');
  else await refreshStatistics(db);
  bar.done();
  bar = progress(`${engine}: writing the load out to disk (CHECKPOINT, sync)`);
  await db.exec('CHECKPOINT');
  execSync('sync');
  bar.done();
}

/** The app on a free port with a signed-in city command user 'bench': its URL and session cookie, a JSON GET, and close(). */
export async function benchServer(ctx: AppContext): Promise<{ url: string; cookie: string; get(path: string): Promise<any>; close(): Promise<void> }> {
  await ctx.db.tx((q) => createUser(q, { username: 'bench', password: 'bench-password', role: 'city_command' }, ctx.clock.now()));
  const app = await buildApp(ctx);
  await app.listen({ port: 0, host: '127.0.0.1' });
  const addr = app.server.address();
  const url = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
  const login = await fetch(url + '/api/v1/auth/login', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'bench', password: 'bench-password' }) });
  const cookie = (login.headers.get('set-cookie') ?? '').split(';')[0];
  return {
    url,
    cookie,
    async get(path) {
      const r = await fetch(url + path, { headers: { cookie } });
      if (r.status !== 200) throw new Error(`${path}: ${r.status} ${(await r.text()).slice(0, 500)}`);
      return r.json();
    },
    close: () => app.close(),
  };
}
