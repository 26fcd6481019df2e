// npm run bench -- tracing [--persons N] [--days 14] [--scans-per-day N] [--cases 1000]
// Contact finding on a city of N persons (default 1,000,000) with 14 days of venue check-ins (about 10
// million scans, busy venues far busier than quiet ones): one case's contacts found (p50/p99 over 200 cases,
// reads and rules, nothing written: what the naive self-join does too) and all contacts of 1,000 cases found
// and recorded (one batch, as the server traces a batch of positives), each beside a naive self-join of the
// scans table (same venue, within the window, compared on the whole visit list rather than an index range)
// measured in the same run. Beside them: 200 other cases traced one at a time with their writes (the
// exposures, the contact records, the status marks), and the finding alone of the 1,000.
import { PerformanceObserver, performance } from 'node:perf_hooks';
import type { Queryable } from '../src/core/db.ts';
import { generateCity } from '../src/sim/index.ts';
import { progress, type Progress } from '../src/core/progress.ts';
import { findExposures, traceCase, traceCases } from '../src/tracing/index.ts';
import { benchContext, benchEngines, loadBenchCity, numberArg, settleLoad, timed, timeLine } from './lib.ts';
import { DAY_MS } from '../src/core/days.ts';
import { makeCheckinDays } from '../src/status/checkin-days.ts';

export default async function run(args: string[]): Promise<void> {
  const persons = numberArg(args, '--persons', 1_000_000);
  const days = numberArg(args, '--days', 14);
  const scansPerDay = numberArg(args, '--scans-per-day', 720_000);
  const cases = numberArg(args, '--cases', 1000);
  const city = generateCity({ persons, seed: 1 });
  for (const engine of await benchEngines()) {
    const db = await engine.open();
    const now = new Date(Date.parse('2022-04-01T00:00:00Z') + (days + 1) * DAY_MS);
    const ctx = benchContext(db, now);
    try {
      await loadBenchCity(engine.name, ctx, city);
      let bar: Progress;
      const start = new Date(now.getTime() - days * DAY_MS);
      const total = days * scansPerDay;
      // A partition for each day, as the scan writer makes them (migrations/017).
      await makeCheckinDays(db, start, now);
      bar = progress(`${engine.name}: ${total.toLocaleString('en')} venue scans over ${days} days`, total);
      for (let done = 0; done < total; done += 500_000) {
        const n = Math.min(500_000, total - done);
        // random()^3 makes a few venues very busy and most quiet, like supermarkets and small shops.
        await db.query(
          `INSERT INTO checkins (venue_id, person_id, scanned_at, source, admitted, colour)
           SELECT 1 + floor(power(random(), 3) * $1)::int, 1 + floor(random() * $2)::int, $3::timestamptz + random() * ($4::timestamptz - $3::timestamptz), 'venueCode', true, 'green'
             FROM generate_series(1, $5)`,
          [city.counts.venues, persons, start, now, n],
        );
        bar.update(done + n);
      }
      bar.done();
      // The cases: persons with a home, tested positive yesterday, isolated when the result came.
      // Spread over the city (a multiplicative hash of the id), the same persons on both engines.
      const ids = (await db.query<{ id: number }>('SELECT id FROM persons WHERE household_id IS NOT NULL ORDER BY (id::bigint * 2654435761) % 4294967296 LIMIT $1', [cases + 400])).map((r) => r.id);
      await db.query(
        `INSERT INTO interviews (case_person_id, symptomatic, sampled_at, isolated_at, recorded_by, recorded_at, reported_at)
         SELECT unnest($1::int[]), false, $2, $3, 'bench', $3, $3`,
        [ids, new Date(now.getTime() - DAY_MS), new Date(now.getTime() - DAY_MS / 2)],
      );
      await settleLoad(engine.name, db);

      const window = ctx.preset.contacts.colocationWindowMinutes;
      const lookBack = ctx.preset.contacts.lookBackDays;
      // The naive way: every scan of the case against every scan at the same venue, the time compared on
      // each pair (no index range on time).
      const naive = (caseIds: number[]) =>
        db.query(
          `SELECT count(DISTINCT (a.person_id, b.person_id)) FROM checkins a JOIN checkins b ON b.venue_id = a.venue_id
            WHERE a.person_id = ANY($1) AND a.scanned_at >= $2 AND abs(extract(epoch FROM b.scanned_at - a.scanned_at)) <= $3 AND b.person_id <> a.person_id`,
          [caseIds, new Date(now.getTime() - DAY_MS - lookBack * DAY_MS), window * 60],
        );

      // Two sets of 200 cases, each case read for the first time when measured: the first found only, the second
      // traced with its writes, taken in turns so that both meet the machine in the same state.
      const findOnly = ids.slice(0, 200);
      const traceOnes = ids.slice(200, 400);
      const found: number[] = [];
      const one: number[] = [];
      const oneExposures: number[] = [];
      const naiveOne: number[] = [];
      // Diagnostics for the slowest cases (printed, never part of a figure): each statement's time, the time spent
      // outside them (the rules, BEGIN, COMMIT), the process's CPU time, a new WAL file, and the garbage collections.
      const steps: { ms: number; sql: string }[][] = [];
      const spans: [number, number][] = [];
      const pauses: { at: number; ms: number }[] = [];
      const gc = new PerformanceObserver((list) => pauses.push(...list.getEntries().map((e) => ({ at: e.startTime, ms: e.duration }))));
      gc.observe({ entryTypes: ['gc'] });
      // Each statement's time and text, named only when printed: formatting inside the timed case would add to it.
      // A COPY (tracing writes by binary COPY on PGlite) is a statement too.
      const step = async <T>(into: { ms: number; sql: string }[], sql: string, run: () => Promise<T>): Promise<T> => {
        const t0 = performance.now();
        try {
          return await run();
        } finally {
          into.push({ ms: performance.now() - t0, sql });
        }
      };
      const stepped = (q: Queryable, into: { ms: number; sql: string }[]): Queryable => ({
        ...q,
        query: (sql, params, prepared) => step(into, sql, () => q.query(sql, params, prepared)),
        copyBinary: (table, columns, data) => step(into, `COPY ${table}`, () => q.copyBinary(table, columns, data)),
      });
      bar = progress(`${engine.name}: one case at a time, found only and traced`, 200);
      // The WAL file being written, asked between cases (outside the measured time): a case that moves to a new
      // one may pay for creating it (28 ms measured when PGlite still zero-filled new files, see src/core/db.ts).
      const walFile = async () => db.engine === 'pglite' ? (await db.query<{ f: string }>('SELECT pg_walfile_name(pg_current_wal_insert_lsn()) AS f'))[0].f : '';
      const extra: string[] = [];
      for (const [i, id] of traceOnes.entries()) {
        found.push((await timed(() => findExposures(db, [findOnly[i]], ctx.preset, now))).seconds);
        const into: { ms: number; sql: string }[] = [];
        const wal0 = await walFile();
        const cpu0 = process.cpuUsage();
        const t0 = performance.now();
        let t1 = t0;
        let tIn = t0;
        const traced = await db.tx(async (q) => {
          tIn = performance.now();
          const r = await traceCase(stepped(q, into), id, ctx.preset, now);
          t1 = performance.now();
          return r;
        });
        const t2 = performance.now();
        const cpu = process.cpuUsage(cpu0);
        const wal1 = await walFile();
        spans.push([t0, t2]);
        steps.push(into);
        const inStatements = into.reduce((n, x) => n + x.ms, 0);
        extra.push(`begin ${(tIn - t0).toFixed(1)}, outside statements ${(t1 - tIn - inStatements).toFixed(1)}, commit ${(t2 - t1).toFixed(1)}; cpu ${((cpu.user + cpu.system) / 1000).toFixed(1)} ms${wal1 !== wal0 ? `; new WAL file ${wal1}` : ''}`);
        one.push((t2 - t0) / 1000);
        oneExposures.push(traced.exposures);
        if (i < 20) naiveOne.push((await timed(() => naive([findOnly[i]]))).seconds);
        bar.update(i + 1);
      }
      bar.done();
      // The collections are reported from the event loop's macrotask queue, which the loop above never lets run.
      await new Promise((resolve) => setTimeout(resolve, 100));
      gc.disconnect();
      const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))];

      // A batch of positives as the server gets them: all their contacts in one call and one transaction,
      // the same records as tracing them one by one (src/tracing/batch.test.ts).
      const rest = ids.slice(400, 400 + cases);
      bar = progress(`${engine.name}: contacts of ${rest.length.toLocaleString('en')} cases`);
      const many = await timed(async () => (await db.tx((q) => traceCases(q, rest, ctx.preset, now))).reduce((n, r) => n + r.exposures, 0));
      bar.done(`${many.value.toLocaleString('en')} exposures`);
      const readMany = await timed(() => findExposures(db, rest, ctx.preset, now));
      const naiveMany = await timed(() => naive(rest));

      const [{ scans }] = await db.query<{ scans: number }>('SELECT count(*)::int AS scans FROM checkins');
      process.stdout.write(`${engine.name.padEnd(7)} ${scans.toLocaleString('en')} scans; one case found: p50 ${(pct(found, 50) * 1000).toFixed(1)} ms, p99 ${(pct(found, 99) * 1000).toFixed(1)} ms (goal p99 < 50 ms); one case traced with its writes: p50 ${(pct(one, 50) * 1000).toFixed(1)} ms, p99 ${(pct(one, 99) * 1000).toFixed(1)} ms\n`);
      // Where the tail comes from: the slowest cases, their place in the run and the exposures they recorded.
      const slowest = one.map((s, i) => ({ s, i })).sort((a, b) => b.s - a.s).slice(0, 3);
      process.stdout.write(`${engine.name.padEnd(7)} slowest single cases traced: ${slowest.map((x) => `${(x.s * 1000).toFixed(1)} ms (#${x.i + 1}, ${oneExposures[x.i].toLocaleString('en')} exposures)`).join(', ')}; median exposures ${pct(oneExposures, 50)}\n`);
      for (const x of slowest) {
        const during = pauses.filter((p) => p.at < spans[x.i][1] && p.at + p.ms > spans[x.i][0]);
        process.stdout.write(`${engine.name.padEnd(7)}   #${x.i + 1}: ${steps[x.i].map((s) => `${s.ms.toFixed(1)} ${s.sql.trim().replace(/\s+/g, ' ').slice(0, 18)}`).join(' | ')}; ${extra[x.i]}; gc ${during.length ? during.map((p) => p.ms.toFixed(1)).join(', ') + ' ms' : 'none'}\n`);
      }
      const walCases = extra.flatMap((e, i) => (e.includes('new WAL') ? [`#${i + 1} ${(one[i] * 1000).toFixed(1)} ms`] : []));
      if (walCases.length) process.stdout.write(`${engine.name.padEnd(7)} cases that began a new WAL file: ${walCases.join(', ')}\n`);
      const allGc = pauses.filter((p) => p.at >= spans[0][0] && p.at <= spans[spans.length - 1][1]);
      process.stdout.write(`${engine.name.padEnd(7)} gc during the 200 cases: ${allGc.length} pauses, ${allGc.reduce((n, p) => n + p.ms, 0).toFixed(0)} ms in all, longest ${Math.max(0, ...allGc.map((p) => p.ms)).toFixed(1)} ms; heap ${(process.memoryUsage().heapUsed / 1e6).toFixed(0)} MB\n`);
      timeLine(engine.name, 'one case, contact finding (p99 of 200, no writes)', pct(found, 99), 'naive self-join for one case (p99 of 20)', pct(naiveOne, 99), '< 50 ms');
      timeLine(engine.name, 'one case traced: found and recorded (p99 of 200 others)', pct(one, 99), 'naive self-join for one case (p99 of 20)', pct(naiveOne, 99));
      timeLine(engine.name, `contacts of ${rest.length.toLocaleString('en')} cases`, many.seconds, `naive self-join for the same cases`, naiveMany.seconds, '< 10000 ms');
      timeLine(engine.name, `contacts of ${rest.length.toLocaleString('en')} cases, finding only (no writes)`, readMany.seconds, `naive self-join for the same cases`, naiveMany.seconds);
    } finally {
      await db.dispose();
    }
  }
}
