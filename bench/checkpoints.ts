// npm run bench -- checkpoints [--persons N] [--days 14] [--scans-per-day N] [--rounds 5] [--seconds 6] [--pairs 3]
// Check-ins over HTTP on loopback from a second process (autocannon, 50 connections) against a city of N
// persons (default 1,000,000) with 14 days of history (venue scans, screening rounds with results, some
// persons red), printing requests per second and p50/p99 latency beside a bare node:http endpoint
// measured in the same run and sent the same requests, and what the check-ins' group commits of their scans cost;
// then every acknowledged scan is counted in the database. With CORDON_BENCH_PROFILE=DIR,
// a second run of check-ins after the measured one is profiled: the server's CPU in DIR/<engine>.cpuprofile
// (open it in Chrome's DevTools).
import { execFile } from 'node:child_process';
import { Session } from 'node:inspector/promises';
import { readFileSync, writeFileSync, mkdtempSync, mkdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { constants, monitorEventLoopDelay, performance, PerformanceObserver } from 'node:perf_hooks';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { generateCity } from '../src/sim/index.ts';
import { buildApp, startJobs } from '../src/server.ts';
import { createUser } from '../src/core/users.ts';
import { progress, type Progress } from '../src/core/progress.ts';
import { doorIndexFor, scanWrites, signVenueCode } from '../src/status/index.ts';
import { lanesServed } from '../src/core/http.ts';
import type { Db } from '../src/core/db.ts';
import { benchContext, benchEngines, loadBenchCity, numberArg, settleLoad } from './lib.ts';
import { DAY_MS } from '../src/core/days.ts';
import { makeCheckinDays } from '../src/status/checkin-days.ts';

const run = promisify(execFile);
const client = path.join(path.dirname(fileURLToPath(import.meta.url)), 'load-client.mjs');

interface Load {
  requests: number;
  rps: number;
  p50: number;
  p99: number;
  /** More of the latency distribution, in ms: what the p99 is made of. */
  tail: { p90: number; p97_5: number; p99_9: number; max: number; mean: number };
  ok: number;
  non2xx: number;
  errors: number;
  timeouts: number;
  /** The load client's CPU. */
  cpuMs: number;
  /** The load client's garbage collection pauses, summed and the longest, in ms. */
  gcMs: number;
  gcMaxMs: number;
  /** The server's CPU (this process), filled in here. */
  serverCpuMs?: number;
  /** The whole machine's busy CPU over the run (every process, a PostgreSQL server's too). */
  machineCpuMs?: number;
  /** The share of the run this process's thread was busy (event-loop utilisation): near 1, the server's thread was the limit. */
  serverBusy?: number;
  /** The share of the run this process spent in garbage collection pauses. */
  serverGc?: number;
  /** This process's longest garbage collection pause in the run, in ms. */
  serverGcMax?: number;
  /** This process's pauses of LONG_PAUSE_MS or more in the run, and how many of them were major. */
  serverGcLong?: { n: number; major: number };
  /** How late this process's event loop ran a timer over the run: p99 and max, in ms. */
  loopDelay?: { p99: number; max: number };
  /** The share of the machine's CPU time the hypervisor gave to others over the run. */
  stolen?: number;
  /** The scan writes committed over the run (group commits): how many, their scans, and their time in ms. */
  writes?: { groups: number; scans: number; ms: number };
  /** Requests the route's lane took (core/http.ts hotPost); the others went through Fastify. */
  laned?: number;
}

/** Garbage collection pauses of this process, in ms, summed since it started. */
let gcMs = 0;
/** The longest pause since it was last reset. */
let gcMaxMs = 0;
/** Pauses of LONG_PAUSE_MS or more since the last reset: how many, and how many of them were major (mark-compact). */
let gcLong = { n: 0, major: 0 };
const LONG_PAUSE_MS = 3;
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) {
    gcMs += e.duration;
    gcMaxMs = Math.max(gcMaxMs, e.duration);
    if (e.duration >= LONG_PAUSE_MS) {
      gcLong.n++;
      if ((e as PerformanceEntry & { detail?: { kind?: number } }).detail?.kind === constants.NODE_PERFORMANCE_GC_MAJOR) gcLong.major++;
    }
  }
}).observe({ entryTypes: ['gc'] });

/** The machine's CPU times in ms (all processes), from /proc/stat: busy (all but idle and iowait), stolen by the hypervisor (within busy), and all; null where there is none. */
function machineCpu(): { busy: number; steal: number; all: number } | null {
  try {
    const f = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
    // user nice system idle iowait irq softirq steal, in 1/100 s.
    return { busy: (f[0] + f[1] + f[2] + f[5] + f[6] + f[7]) * 10, steal: f[7] * 10, all: (f[0] + f[1] + f[2] + f[3] + f[4] + f[5] + f[6] + f[7]) * 10 };
  } catch {
    return null;
  }
}

async function load(url: string, bodies: string | '-', connections: number, seconds: number, headers: Record<string, string> = {}): Promise<Load> {
  const cpu = process.cpuUsage();
  const machine = machineCpu();
  const writes = { ...scanWrites };
  const laned = lanesServed.requests;
  const loop = performance.eventLoopUtilization();
  const gcBefore = gcMs;
  gcMaxMs = 0;
  gcLong = { n: 0, major: 0 };
  // How late the server's event loop ran a timer: what every request on the server waited, whatever the cause.
  const delay = monitorEventLoopDelay({ resolution: 1 });
  delay.enable();
  const { stdout } = await run(process.execPath, [client, url, bodies, String(connections), String(seconds), JSON.stringify(headers)], { maxBuffer: 1 << 20 });
  delay.disable();
  const used = process.cpuUsage(cpu);
  const machineAfter = machineCpu();
  const serverBusy = performance.eventLoopUtilization(loop);
  // GC entries arrive after the pause: wait a turn so the last ones are counted.
  await new Promise((resolve) => setImmediate(resolve));
  const serverGc = (gcMs - gcBefore) / (serverBusy.idle + serverBusy.active);
  return {
    ...(JSON.parse(stdout.trim().split('\n').pop()!) as Load),
    serverCpuMs: (used.user + used.system) / 1000,
    machineCpuMs: machine && machineAfter ? machineAfter.busy - machine.busy : undefined,
    stolen: machine && machineAfter ? (machineAfter.steal - machine.steal) / Math.max(1, machineAfter.all - machine.all) : undefined,
    serverBusy: serverBusy.utilization,
    serverGc,
    serverGcMax: gcMaxMs,
    serverGcLong: gcLong,
    loopDelay: { p99: delay.percentile(99) / 1e6, max: delay.max / 1e6 },
    writes: { groups: scanWrites.groups - writes.groups, scans: scanWrites.scans - writes.scans, ms: scanWrites.ms - writes.ms },
    laned: lanesServed.requests - laned,
  };
}

/** The check-ins' group commits over a run: their count and size, and what each cost. */
function writesLine(l: Load, engine: string): string {
  const w = l.writes!;
  if (!w.groups) return 'none';
  const us = (w.ms * 1000) / w.groups;
  const share = w.ms / ((l.requests / l.rps) * 1000);
  return `${w.groups.toLocaleString('en')} groups of ${(w.scans / w.groups).toFixed(1)} scans on average, ${Math.round(us)} us a group (${(us / (w.scans / w.groups)).toFixed(1)} us a scan), ${Math.round(share * 100)}% of the run${engine === 'pglite' ? " (the server's thread)" : ' (mostly waiting for the commit)'}`;
}

/** Fourteen days of a city's life, written by the database itself in chunks, with a progress bar. */
async function history(engine: string, db: Db, o: { persons: number; venues: number; days: number; scansPerDay: number; rounds: number; now: Date }): Promise<void> {
  const start = new Date(o.now.getTime() - o.days * DAY_MS);
  const scans = o.days * o.scansPerDay;
  // A partition for each day, as the scan writer makes them (migrations/017).
  await makeCheckinDays(db, start, o.now);
  let bar = progress(`${engine}: ${scans.toLocaleString('en')} venue scans over ${o.days} days`, scans);
  for (let done = 0; done < scans; done += 500_000) {
    const n = Math.min(500_000, scans - done);
    await db.query(
      `INSERT INTO checkins (venue_id, person_id, scanned_at, source, admitted, colour)
       SELECT 1 + floor(random() * $1)::int, 1 + floor(random() * $2)::int, $3::timestamptz + random() * ($4::timestamptz - $3::timestamptz), 'venueCode', true, 'green'
         FROM generate_series(1, $5)`,
      [o.venues, o.persons, start, o.now, n],
    );
    bar.update(done + n);
  }
  bar.done();
  // Screening rounds every few days: everyone in tubes of 10, all negative but one tube in a thousand.
  bar = progress(`${engine}: ${o.rounds} screening rounds with results`, o.rounds * o.persons);
  for (let r = 0; r < o.rounds; r++) {
    const at = new Date(start.getTime() + ((r + 0.5) * o.days * DAY_MS) / o.rounds);
    const tubes = Math.ceil(o.persons / 10);
    await db.query(
      `INSERT INTO tubes (id, barcode, sampling_point_id, capacity, opened_by, opened_at, closed_at, samples)
       SELECT $1 + g, 'H' || ($1 + g), 1, 10, 'bench', $2, $2, 10 FROM generate_series(1, $3) g`,
      [r * tubes, at, tubes],
    );
    for (let p = 0; p < o.persons; p += 500_000) {
      const n = Math.min(500_000, o.persons - p);
      await db.query(`INSERT INTO samples (tube_id, person_id, sampled_at, sampling_point_id) SELECT $1 + 1 + (g - 1) / 10, g, $2, 1 FROM generate_series($3 + 1, $3 + $4) g`, [r * tubes, at, p, n]);
      bar.update(r * o.persons + p + n);
    }
    await db.query(
      `INSERT INTO lab_results (tube_id, lab_id, result, resulted_at, verdict, state, received_at)
       SELECT $1 + g, 1, v, $2, v, 'applied', $2 FROM (SELECT g, CASE WHEN g % 1000 = 7 THEN 'positive' ELSE 'negative' END AS v FROM generate_series(1, $3) g) x`,
      [r * tubes, new Date(at.getTime() + 8 * 3_600_000), tubes],
    );
  }
  await db.query(`SELECT setval(pg_get_serial_sequence('tubes', 'id'), (SELECT max(id) FROM tubes))`);
  bar.done();
  // One person in a hundred red (a positive pool waiting for its retest): their stored status says why.
  await db.query(
    `INSERT INTO person_status (person_id, colour, reasons, computed_at, preset)
     SELECT g, 'red', '[{"code":"poolPositive","colour":"red","text":"In a positive pool, waiting for a single-tube retest","until":null}]', $1, 'bench' FROM generate_series(1, $2, 100) g`,
    [o.now, o.persons],
  );
}

export default async function runBench(args: string[]): Promise<void> {
  const persons = numberArg(args, '--persons', 1_000_000);
  const days = numberArg(args, '--days', 14);
  const scansPerDay = numberArg(args, '--scans-per-day', 500_000);
  const rounds = numberArg(args, '--rounds', 5);
  // Three pairs of 6 s runs end within the server's first minute, before its once-a-minute jobs first run
  // (on PGlite the first zoning of a city this size holds the database for about a minute).
  const seconds = numberArg(args, '--seconds', 6);
  const pairCount = numberArg(args, '--pairs', 3);
  const connections = 50;
  const profileDir = process.env.CORDON_BENCH_PROFILE || null;
  const city = generateCity({ persons, seed: 1 });

  // The baseline: a bare node:http endpoint answering a small JSON, in this process like the platform.
  const bare = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end('{"ok":true}');
  });
  await new Promise<void>((resolve) => bare.listen(0, '127.0.0.1', resolve));
  const bareUrl = `http://127.0.0.1:${(bare.address() as { port: number }).port}/`;
  const dir = mkdtempSync(path.join(tmpdir(), 'cordon-bench-checkpoints-'));

  try {
    for (const engine of await benchEngines()) {
      const db = await engine.open();
      // Noon: the check-ins measured go into a day that holds half a day's history, as they would in the city.
      const now = new Date(Date.parse('2022-04-01T12:00:00Z') + (days + 1) * DAY_MS);
      const ctx = benchContext(db, now);
      try {
        await loadBenchCity(engine.name, ctx, city);
        let bar: Progress;
        await history(engine.name, db, { persons, venues: city.counts.venues, days, scansPerDay, rounds, now });
        await settleLoad(engine.name, db);

        const userId = await db.tx((q) => createUser(q, { username: 'gateway', password: 'gateway-password', role: 'city_command' }, now));
        const token = `bench-${process.pid}-${engine.name}`;
        const { tokenHash } = await import('../src/core/auth.ts');
        await db.query(`INSERT INTO api_tokens (token_hash, name, role, created_by) VALUES ($1, 'city app gateway', 'city_command', $2)`, [tokenHash(token), userId]);
        // Scans by random persons at random venues, some by ID number as a paper-code visitor would.
        const sample = await db.query<{ code: string }>(`SELECT personal_code AS code FROM persons WHERE id % 97 = 5 LIMIT 20000`);
        const venues = await db.query<{ id: number }>(`SELECT id FROM venues WHERE kind <> 'hospital' ORDER BY random() LIMIT 2000`);
        const bodies = sample.map((s, i) => JSON.stringify({ venueCode: signVenueCode(ctx.pii, venues[i % venues.length].id), person: s.code }));
        const bodiesFile = path.join(dir, `${engine.name}-bodies.json`);
        writeFileSync(bodiesFile, JSON.stringify(bodies));

        // From here time runs, as it does for a city's entrances (held at noon, every scan of the run carried
        // the same instant, and the same person at the same venue made duplicate keys in the day's indexes).
        ctx.clock.set(ctx.clock.now(), 1);
        const app = await buildApp(ctx);
        const stopJobs = startJobs(ctx);
        await app.listen({ port: 0, host: '127.0.0.1' });
        // The server loads its entrance index in the background at start; the bench waits for it.
        bar = progress(`${engine.name}: loading the entrance index`);
        const loadStarted = performance.now();
        await doorIndexFor(ctx).sync();
        const indexLoadS = (performance.now() - loadStarted) / 1000;
        bar.done();
        // What the server's once-a-second look costs when nothing changed (on PGlite the requests wait meanwhile).
        const looks: number[] = [];
        for (let i = 0; i < 10; i++) {
          const t = performance.now();
          await doorIndexFor(ctx).sync();
          looks.push(performance.now() - t);
        }
        looks.sort((a, b) => a - b);
        const url = `http://127.0.0.1:${(app.server.address() as { port: number }).port}/api/v1/checkins`;
        // Warm both (JIT, caches), then measure each for the same time. The bare endpoint is sent the check-ins'
        // own requests (POST, body, token): the client's work and the bytes on the wire are the same for both, and
        // the difference is the platform's.
        const headers = { authorization: `Bearer ${token}` };
        await load(bareUrl, bodiesFile, connections, 2, headers);
        await load(url, bodiesFile, connections, 2, headers);
        const [{ n: before }] = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM checkins');
        // Pairs of runs, the bare endpoint then check-ins, each pair's ratio from runs a few seconds apart: the
        // machine's pace drifts between runs (other services, the kernel), and a single pair can land on a
        // slow moment for one side only. The pair with the median ratio is the figure; every pair is printed.
        const pairs: { b: Load; c: Load }[] = [];
        for (let i = 0; i < pairCount; i++) {
          bar = progress(`${engine.name}: pair ${i + 1} of ${pairCount}: bare node:http, ${connections} connections, ${seconds} s`);
          const b = await load(bareUrl, bodiesFile, connections, seconds, headers);
          bar.done();
          bar = progress(`${engine.name}: pair ${i + 1} of ${pairCount}: check-ins, ${connections} connections, ${seconds} s`);
          const c = await load(url, bodiesFile, connections, seconds, headers);
          bar.done();
          pairs.push({ b, c });
        }
        const ratioOf = (x: { b: Load; c: Load }) => x.c.rps / x.b.rps;
        const { b, c } = [...pairs].sort((x, y) => ratioOf(x) - ratioOf(y))[Math.floor(pairs.length / 2)];
        // Profiled apart from the measured run (the profiler costs time of its own); its scans are counted too.
        let profiled: Load | null = null;
        if (profileDir) {
          const profiler = new Session();
          profiler.connect();
          await profiler.post('Profiler.enable');
          await profiler.post('Profiler.start');
          profiled = await load(url, bodiesFile, connections, Math.min(seconds, 5), headers);
          const { profile } = await profiler.post('Profiler.stop');
          profiler.disconnect();
          mkdirSync(profileDir, { recursive: true });
          writeFileSync(path.join(profileDir, `${engine.name}.cpuprofile`), JSON.stringify(profile));
        }
        stopJobs();
        await app.close();
        const [{ n: after }] = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM checkins');
        const sum = (f: (l: Load) => number) => pairs.reduce((n, x) => n + f(x.c), 0);
        const acknowledged = pairs.reduce((n, x) => n + x.c.ok, 0) + (profiled?.ok ?? 0);
        const line = (what: string, l: Load) => `${what} ${Math.round(l.rps).toLocaleString('en')} req/s, p50 ${l.p50} ms, p99 ${l.p99} ms`;
        // CPU per request on each side (the server's includes its database when embedded): which one was the bottleneck.
        // The rest of the machine's busy time is the database server's (pg) and anything else running: a run
        // shared with other work shows a large rest, and its ratio means little.
        const tail = (l: Load) =>
          `mean ${l.tail.mean.toFixed(1)}, p50 ${l.p50}, p90 ${l.tail.p90}, p97.5 ${l.tail.p97_5}, p99 ${l.p99}, p99.9 ${l.tail.p99_9}, max ${l.tail.max} ms ` +
          `(longest GC pause in the server ${l.serverGcMax!.toFixed(1)} ms, ${l.serverGcLong!.n} of ${LONG_PAUSE_MS} ms or more, ${l.serverGcLong!.major} of them major; in the client ${l.gcMaxMs.toFixed(1)} ms; ` +
          `the server's event loop late by ${l.loopDelay!.p99.toFixed(1)} ms at p99, ${l.loopDelay!.max.toFixed(1)} ms at most; CPU stolen by the hypervisor ${l.stolen === undefined ? '?' : (l.stolen * 100).toFixed(1) + '%'})`;
        const cpu = (l: Load) =>
          `server ${Math.round((l.serverCpuMs! * 1000) / l.requests)} us (its thread busy ${Math.round(l.serverBusy! * 100)}%, in GC ${Math.round(l.serverGc! * 100)}%), client ${Math.round((l.cpuMs * 1000) / l.requests)} us (in GC ${Math.round((l.gcMs / l.cpuMs) * 100)}% of its CPU)` +
          (l.machineCpuMs === undefined ? '' : `, rest of the machine ${Math.round(((l.machineCpuMs - l.serverCpuMs! - l.cpuMs) * 1000) / l.requests)} us`);
        process.stdout.write(
          `${engine.name.padEnd(7)} check-ins ${line('', c).trim()}   bare node:http ${line('', b).trim()}   ratio ${(c.rps / b.rps).toFixed(3)}   (goal >= 0.40, p99 < 10 ms; the median of ${pairs.length} pairs)\n` +
            `${engine.name.padEnd(7)} every pair: ${pairs.map((x) => `check-ins ${Math.round(x.c.rps).toLocaleString('en')} req/s p99 ${x.c.p99} ms / bare ${Math.round(x.b.rps).toLocaleString('en')} req/s = ${ratioOf(x).toFixed(3)}`).join('; ')}\n` +
            // p99 follows the mean (50 connections in a closed loop: the mean is 50 / the rate) and the tail beyond it.
            `${engine.name.padEnd(7)} latency (median pair): check-ins ${tail(c)}; bare node:http ${tail(b)}\n` +
            `${engine.name.padEnd(7)} CPU a request: check-ins ${cpu(c)}; bare node:http ${cpu(b)}\n` +
            // The check-ins' own write: on PGlite the server's thread (what the bare endpoint does not pay), on a
            // PostgreSQL server mostly the wait for its commit.
            `${engine.name.padEnd(7)} scan writes (median pair): ${writesLine(c, engine.name)}\n` +
            // The rest went through Fastify: a request before the token was known, or one the lane does not take.
            // The lane counts a request when it takes it, the client when its answer comes: those in flight at
            // the end are only in the first.
            `${engine.name.padEnd(7)} lane (median pair): ${c.laned!.toLocaleString('en')} check-ins taken by the route's lane, ${c.requests.toLocaleString('en')} answers counted by the client\n` +
            // Scans still in flight when the load stopped are recorded without being counted as answered.
            `${engine.name.padEnd(7)} entrance index: loaded in ${indexLoadS.toFixed(1)} s; a look with nothing new ${looks[looks.length >> 1].toFixed(1)} ms (the median of ${looks.length}, max ${looks[looks.length - 1].toFixed(1)})\n` +
            `${engine.name.padEnd(7)} scans acknowledged ${acknowledged.toLocaleString('en')}${profiled ? ' (with the profiled run)' : ''}, in the database ${(after - before).toLocaleString('en')}, lost ${Math.max(0, acknowledged - (after - before)).toLocaleString('en')}; non-2xx ${sum((x) => x.non2xx)}, errors ${sum((x) => x.errors)}, timeouts ${sum((x) => x.timeouts)}\n`,
        );
      } finally {
        await db.dispose();
      }
    }
  } finally {
    bare.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
