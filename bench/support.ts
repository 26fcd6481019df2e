// npm run bench -- support [--persons N] [--requests 200000] [--closed 100000]
// Livelihood at the scale of a locked-down city: 200,000 open requests (one INSERT ... SELECT over
// generate_series, spread over the persons of a city of N, default 200,000, filed over the last three days,
// so that many are past their deadline) and 100,000 served ones for the times to answer. Timed: the overdue
// list (city, one district, one street), the dashboard figures (open and overdue by kind and street, p50/p90
// to answer and to serve, the worst streets), both in-process and over HTTP; each beside one SQL count over
// the same table in the same run. The dashboard once before the escalation job has run, then the job timed;
// then the figures on the fresh table, before any statistics (PGlite has no autovacuum), and after the
// server's statistics job. Goal: under 200 ms.
import { generateCity } from '../src/sim/index.ts';
import { progress } from '../src/core/progress.ts';
import { refreshStatistics } from '../src/core/maintenance.ts';
import type { Principal } from '../src/core/auth.ts';
import type { Db } from '../src/core/db.ts';
import { escalateOverdue, requestQueue, supportPicture, REQUEST_KINDS } from '../src/support/index.ts';
import { benchContext, benchEngines, benchServer, loadBenchCity, numberArg, timed, timeLine } from './lib.ts';

const GOAL = '< 200 ms';

const principal = (over: Partial<Principal> = {}): Principal => ({ kind: 'user', id: 1, name: 'bench', displayName: 'bench', role: 'city_command', districtId: null, streetId: null, labId: null, facilityId: null, venueId: null, personId: null, ...over });

/** The median of `runs` timings of fn (after one warm-up), in seconds, and its last value. */
async function median<T>(fn: () => Promise<T>, runs = 7): Promise<{ value: T; seconds: number }> {
  let value = (await fn()) as T;
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t = await timed(fn);
    value = t.value;
    times.push(t.seconds);
  }
  times.sort((a, b) => a - b);
  return { value, seconds: times[Math.floor(times.length / 2)] };
}

/** Fills support_requests: `open` still to be served and `closed` served ones, each in one INSERT ... SELECT generate_series. */
export async function fill(db: Db, preset: ReturnType<typeof benchContext>['preset'], now: Date, open: number, closed: number): Promise<void> {
  const [{ n }] = await db.query<{ n: number }>('SELECT max(id)::int AS n FROM persons');
  const kinds = REQUEST_KINDS as readonly string[];
  const terms = JSON.stringify(kinds.map((k, i) => ({ i, kind: k, hours: (preset.support.deadlineHours as Record<string, number>)[k], priority: (preset.support.priority as Record<string, number>)[k], medical: (preset.support.medicalKinds as string[]).includes(k) })));
  // Kinds as in a lockdown: mostly food and refills, some medical.
  const kindOf = `(ARRAY[5,5,5,5,4,4,6,0,2,3,1])[1 + (g % 11)]`;
  const common = `
    FROM generate_series(1, $1::int) AS g
    JOIN jsonb_to_recordset($2::jsonb) AS t(i int, kind text, hours int, priority int, medical boolean) ON t.i = ${kindOf}
    JOIN persons p ON p.id = 1 + (g::bigint * 2654435761 % $3::int)`;
  let bar = progress(`support: ${open.toLocaleString('en')} open requests`);
  await db.query(
    `INSERT INTO support_requests (person_id, kind, medical, priority, district_id, street_id, compound_id, household_id, status, created_at, deadline_at, answered_at, accepted_at,
                                   dispatch, filed_by, on_behalf, preset, updated_at)
     SELECT p.id, t.kind, t.medical, t.priority, p.district_id, p.street_id, p.compound_id, p.household_id,
            (ARRAY['open','open','accepted','onTheWay'])[1 + g % 4], c.at, c.at + t.hours * interval '1 hour',
            CASE WHEN g % 4 > 1 THEN c.at + (g % 90) * interval '1 minute' END, CASE WHEN g % 4 > 1 THEN c.at + (g % 90) * interval '1 minute' END,
            '{"dispatch": true, "colour": "green", "precautions": []}', 'bench', g % 3 = 0, 'bench', c.at
     ${common} CROSS JOIN LATERAL (SELECT $4::timestamptz - (g % 4320) * interval '1 minute' AS at) c`,
    [open, terms, n, now],
  );
  bar.update(open);
  bar.done();
  bar = progress(`support: ${closed.toLocaleString('en')} served requests`);
  await db.query(
    `INSERT INTO support_requests (person_id, kind, medical, priority, district_id, street_id, compound_id, household_id, status, created_at, deadline_at, answered_at, accepted_at, done_at,
                                   dispatch, filed_by, on_behalf, preset, updated_at)
     SELECT p.id, t.kind, t.medical, t.priority, p.district_id, p.street_id, p.compound_id, p.household_id, 'done', c.at, c.at + t.hours * interval '1 hour',
            c.at + (g % 240) * interval '1 minute', c.at + (g % 240) * interval '1 minute', c.at + (240 + g % 1200) * interval '1 minute',
            '{"dispatch": true, "colour": "green", "precautions": []}', 'bench', false, 'bench', c.at
     ${common} CROSS JOIN LATERAL (SELECT $4::timestamptz - (1440 + g % 8640) * interval '1 minute' AS at) c`,
    [closed, terms, n, now],
  );
  bar.update(closed);
  bar.done();
}

export default async function run(args: string[]): Promise<void> {
  const persons = numberArg(args, '--persons', 200_000);
  const open = numberArg(args, '--requests', 200_000);
  const closed = numberArg(args, '--closed', 100_000);
  const city = generateCity({ persons, seed: 1 });
  for (const engine of await benchEngines()) {
    const db = await engine.open();
    const now = new Date('2022-04-12T00:00:00Z');
    const ctx = benchContext(db, now);
    try {
      await loadBenchCity(engine.name, ctx, city);
      if (db.engine === 'pglite') await refreshStatistics(db);
      else await db.exec('ANALYZE');
      await fill(db, ctx.preset, now, open, closed);
      const [street] = await db.query<{ id: number; district_id: number; n: number }>(
        `SELECT street_id AS id, district_id, count(*)::int AS n FROM support_requests WHERE status IN ('open', 'accepted', 'onTheWay') GROUP BY street_id, district_id ORDER BY n DESC LIMIT 1`,
      );
      const [counts] = await db.query<{ open: number; overdue: number; streets: number }>(
        `SELECT count(*)::int AS open, count(*) FILTER (WHERE deadline_at < $1)::int AS overdue, count(DISTINCT street_id)::int AS streets FROM support_requests WHERE status IN ('open', 'accepted', 'onTheWay')`,
        [now],
      );
      process.stdout.write(`${engine.name}: ${counts.open.toLocaleString('en')} open requests (${counts.overdue.toLocaleString('en')} overdue) in ${counts.streets} streets, ${closed.toLocaleString('en')} served; busiest street ${street.id} has ${street.n.toLocaleString('en')}\n`);

      const server = await benchServer(ctx);
      const get = server.get;

      const measure = async (when: string) => {
        const count = await median(() => db.query('SELECT count(*) FROM support_requests'));
        const cityOverdue = await median(() => requestQueue(db, principal(), ctx.preset, now, { overdueOnly: true, limit: 100 }));
        const districtOverdue = await median(() => requestQueue(db, principal({ role: 'district_command', districtId: street.district_id }), ctx.preset, now, { overdueOnly: true, limit: 100 }));
        const streetOverdue = await median(() => requestQueue(db, principal({ role: 'street_worker', districtId: street.district_id, streetId: street.id }), ctx.preset, now, { overdueOnly: true, limit: 100 }));
        const queue = await median(() => requestQueue(db, principal(), ctx.preset, now, { limit: 100 }));
        const dashboard = await median(() => supportPicture(db, principal(), now));
        const districtDashboard = await median(() => supportPicture(db, principal({ role: 'district_command', districtId: street.district_id }), now));
        const overdueHttp = await median(() => get('/api/v1/support/overdue?limit=100'));
        const dashboardHttp = await median(() => get('/api/v1/support/dashboard'));
        const all = dashboard.value.answerTimes.find((a) => a.kind === 'all')!;
        if (cityOverdue.value.length !== 100 || !cityOverdue.value.every((r) => r.overdue)) throw new Error('the overdue list is not 100 overdue requests');
        if (dashboard.value.total.open !== counts.open || dashboard.value.total.overdue !== counts.overdue) throw new Error(`dashboard totals ${JSON.stringify(dashboard.value.total)} differ from the count ${JSON.stringify(counts)}`);
        process.stdout.write(`${engine.name}: ${when}: worst street ${dashboard.value.worstStreets[0]?.name} (${dashboard.value.worstStreets[0]?.overdue} overdue); time to answer p50 ${all.answerP50} min, p90 ${all.answerP90} min; to serve p50 ${all.doneP50} min, p90 ${all.doneP90} min\n`);
        const base = `one SQL count over support_requests`;
        timeLine(engine.name, `overdue list, city, first 100 (${when})`, cityOverdue.seconds, base, count.seconds, GOAL);
        timeLine(engine.name, `overdue list, one district (${when})`, districtOverdue.seconds, base, count.seconds, GOAL);
        timeLine(engine.name, `overdue list, one street (${when})`, streetOverdue.seconds, base, count.seconds, GOAL);
        timeLine(engine.name, `request queue, city, first 100 (${when})`, queue.seconds, base, count.seconds, GOAL);
        timeLine(engine.name, `dashboard figures, city (${when})`, dashboard.seconds, base, count.seconds, GOAL);
        timeLine(engine.name, `dashboard figures, one district (${when})`, districtDashboard.seconds, base, count.seconds, GOAL);
        timeLine(engine.name, `overdue list over HTTP (${when})`, overdueHttp.seconds, base, count.seconds, GOAL);
        timeLine(engine.name, `dashboard over HTTP (${when})`, dashboardHttp.seconds, base, count.seconds, GOAL);
      };
      // Requests past their deadline before the escalation job has run (as after a restart): the dashboard counts them from the
      // partial index of the not yet escalated. Then the job (every minute in service) escalates them all, each as a task, an
      // alert and an event, and the figures are taken as in service.
      const before = await median(() => supportPicture(db, principal(), now), 3);
      const baseline = await median(() => db.query('SELECT count(*) FROM support_requests'), 3);
      timeLine(engine.name, `dashboard figures, city, ${counts.overdue.toLocaleString('en')} past deadline and not yet escalated`, before.seconds, 'one SQL count over support_requests', baseline.seconds);
      const bar = progress(`${engine.name}: escalation job`);
      const job = await timed(() => escalateOverdue(db, ctx.preset, now));
      bar.update(job.value.escalated);
      bar.done();
      process.stdout.write(`${engine.name}: escalation job: ${job.value.escalated.toLocaleString('en')} requests escalated (task, alert, event each) in ${job.seconds.toFixed(1)} s, ${Math.round(job.value.escalated / job.seconds).toLocaleString('en')}/s\n`);
      await measure('fresh table');
      if (db.engine === 'pglite') await refreshStatistics(db);
      else await db.exec('ANALYZE support_requests');
      await measure('after statistics');
      await server.close();
    } finally {
      await db.dispose();
    }
  }
}
