// Command over real HTTP on a hand-built town: the daily figures match the facts, the dashboard reads them
// (curve, tests, Rt, beds, alerts, overdue tasks), early-warning alerts name their facts, tasks change in
// bulk within reach only, and a bulletin goes from draft to public with a second person's approval and
// no personal data.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testContext, testServer, type Session, type TestContext, type TestServer } from '../../test/harness.ts';
import { createUser } from '../core/users.ts';
import type { Queryable } from '../core/db.ts';
import { openCases, type NewCase } from '../cases/store.ts';
import { createTasks } from '../core/work.ts';
import { raiseCommandAlerts } from './alerts.ts';
import { refreshStats } from './stats.ts';
import { zoningUpkeep } from '../zoning/index.ts';

const T0 = Date.parse('2022-04-01T02:00:00Z'); // 10:00 in Shanghai
const at = (d: number, h = 0) => new Date(T0 + d * 86_400_000 + h * 3_600_000);
const dayOf = (d: number) => new Date(T0 + d * 86_400_000).toISOString().slice(0, 10);

async function buildTown(q: Queryable): Promise<void> {
  for (const d of [1, 2]) {
    await q.query('INSERT INTO districts (id, code, name, name_en, population) VALUES ($1, $2, $3, $4, 100000)', [d, `D${d}`, `区${d}`, `District ${d}`]);
    await q.query('INSERT INTO streets (id, code, district_id, name) VALUES ($1, $2, $1, $3)', [d, `S${d}`, `街道${d}`]);
    await q.query('INSERT INTO compounds (id, code, street_id, district_id, name, centroid_lon, centroid_lat) VALUES ($1, $2, $1, $1, $3, 121.4, 31.2)', [d, `C${d}`, `小区${d}`]);
  }
  for (let p = 1; p <= 400; p++) {
    const d = p <= 300 ? 1 : 2;
    await q.query(`INSERT INTO persons (id, personal_code, name, sex, birth_date, compound_id, street_id, district_id) VALUES ($1, $2, $3, 'M', '1980-01-01', $4, $4, $4)`, [p, `PC${String(p).padStart(4, '0')}`, `Secret Name ${p}`, d]);
  }
  await q.query(`INSERT INTO facilities (id, code, name, kind, district_id, lon, lat, beds_general, beds_icu) VALUES (1, 'F1', 'Shelter', 'shelterHospital', 1, 121.4, 31.2, 1000, 0), (2, 'H1', 'Hospital', 'designatedHospital', 1, 121.4, 31.2, 10, 2)`);
  await q.query("INSERT INTO sampling_points (id, code, name, district_id, street_id, lon, lat) VALUES (1, 'P1', 'Point 1', 1, 1, 121.4, 31.2)");
  for (const t of ['districts', 'streets', 'compounds', 'persons', 'facilities', 'sampling_points']) await q.query(`SELECT setval(pg_get_serial_sequence('${t}', 'id'), (SELECT max(id) FROM ${t}))`);
}

describe('command', () => {
  let ctx: TestContext;
  let srv: TestServer;
  let city: Session;
  let city2: Session;
  let district2: Session;
  let worker: Session;
  // A growing outbreak in district 1: 15% more cases each day over 20 days; 1 a day in district 2.
  const perDay = (d: number) => Math.round(2 * 1.15 ** d);

  beforeAll(async () => {
    ctx = await testContext({ now: at(20) });
    await ctx.db.tx((q) => buildTown(q));
    let person = 1;
    for (let d = 0; d < 20; d++) {
      const list: NewCase[] = [];
      for (let i = 0; i < perDay(d) && person <= 300; i++) list.push({ personId: person++, classification: (i % 3 === 0 ? 'asymptomatic' : 'confirmed') as 'asymptomatic' | 'confirmed', source: 'clinician' as const, sampledAt: at(d, -12), reportedAt: at(d) });
      list.push({ personId: 300 + d + 1, classification: 'confirmed' as const, source: 'clinician' as const, sampledAt: at(d, -12), reportedAt: at(d) });
      await ctx.db.tx((q) => openCases(q, list, ctx.preset, 'test', at(d)));
    }
    // Tubes of the last days at point 1: 100 a day, positives rising from 1 to 10 on the last three days.
    await ctx.db.tx(async (q) => {
      for (let d = 14; d < 20; d++) {
        for (let i = 0; i < 100; i++) {
          const [t] = await q.query<{ id: number }>(`INSERT INTO tubes (barcode, sampling_point_id, capacity, opened_by, opened_at, samples) VALUES ($1, 1, 10, 't', $2, 10) RETURNING id`, [`T${d}-${i}`, at(d, 1)]);
          const positive = i < (d >= 17 ? 10 : 1);
          await q.query(`INSERT INTO lab_results (tube_id, lab_id, result, resulted_at, verdict, state, received_at) VALUES ($1, 1, $2, $3, $2, 'applied', $3)`, [t.id, positive ? 'positive' : 'negative', at(d, 6)]);
        }
      }
    });
    await ctx.db.tx(async (q) => {
      await createUser(q, { username: 'city', password: 'city-password', role: 'city_command' }, new Date());
      await createUser(q, { username: 'city2', password: 'city-password', role: 'city_command' }, new Date());
      await createUser(q, { username: 'district2', password: 'district-password', role: 'district_command', districtId: 2 }, new Date());
      await createUser(q, { username: 'worker', password: 'worker-password', role: 'street_worker', streetId: 1 }, new Date());
    });
    srv = await testServer(ctx);
    city = await srv.login('city', 'city-password');
    city2 = await srv.login('city2', 'city-password');
    district2 = await srv.login('district2', 'district-password');
    worker = await srv.login('worker', 'worker-password');
  });
  afterAll(async () => {
    await srv?.close();
    await ctx?.close();
  });

  it('keeps daily figures that match the facts, per local day and district', async () => {
    const r = await refreshStats(ctx.db, ctx.preset, ctx.clock.now());
    expect(r.fromDay).toBe(dayOf(0));
    const figures = await ctx.db.query<{ metric: string; day: string; district_id: number; value: number }>(`SELECT metric, to_char(day, 'YYYY-MM-DD') AS day, district_id, value FROM daily_stats WHERE metric LIKE 'cases.%' OR metric LIKE 'tests.%'`);
    const direct = await ctx.db.query<{ metric: string; day: string; district_id: number; value: number }>(
      `SELECT 'cases.' || classification AS metric, to_char((reported_at AT TIME ZONE 'Asia/Shanghai')::date, 'YYYY-MM-DD') AS day, district_id, count(*)::float AS value FROM cases GROUP BY 1, 2, 3`,
    );
    const key = (x: { metric: string; day: string; district_id: number }) => `${x.metric} ${x.day} ${x.district_id}`;
    const cases = figures.filter((f) => f.metric.startsWith('cases.') && ['cases.confirmed', 'cases.asymptomatic'].includes(f.metric));
    expect(new Map(cases.map((f) => [key(f), f.value]))).toEqual(new Map(direct.map((f) => [key(f), f.value])));
    const tubes = figures.filter((f) => f.metric === 'tests.tubes');
    expect(tubes.map((t) => t.value)).toEqual(Array(6).fill(100));
    expect(figures.find((f) => f.metric === 'tests.positive' && f.day === dayOf(19))?.value).toBe(10);
    // Again, incrementally: only yesterday and today are recomputed, and nothing changes.
    const all = () => ctx.db.query(`SELECT metric, to_char(day, 'YYYY-MM-DD') AS day, district_id, value FROM daily_stats ORDER BY 1, 2, 3`);
    const before = await all();
    const again = await refreshStats(ctx.db, ctx.preset, ctx.clock.now());
    expect(again.fromDay).toBe(dayOf(19));
    expect(await all()).toEqual(before);
  });

  it('opens the dashboard: curve, tests and positivity, Rt with its band, beds', async () => {
    const d = await srv.call('GET', '/api/v1/command/dashboard?days=30', { as: city });
    expect(d.status).toBe(200);
    const b = d.body;
    expect(b.days).toHaveLength(30);
    expect(b.days.at(-1)).toBe(dayOf(20));
    const total = await ctx.db.query<{ n: number }>('SELECT count(*)::int AS n FROM cases');
    expect(b.curve.total.reduce((s: number, n: number) => s + n, 0)).toBe(total[0].n);
    expect(b.curve.total.at(-2)).toBe(perDay(19) + 1);
    expect(b.tests.positivity.at(-2)).toBeCloseTo(0.1);
    // A growing epidemic: the last window's Rt is above 1 with its 95% band around the mean; today, not
    // complete yet, is left out of Rt.
    expect(b.rt.area.at(-1).day).toBe(dayOf(19));
    const last = b.rt.area.at(-1);
    expect(last.mean).toBeGreaterThan(1);
    expect(last.low).toBeLessThan(last.mean);
    expect(last.high).toBeGreaterThan(last.mean);
    expect(b.rt.byDistrict.find((x: { districtId: number }) => x.districtId === 1).cases7d).toBe([13, 14, 15, 16, 17, 18, 19].reduce((s, i) => s + perDay(i), 0));
    const shelter = b.beds.find((x: { kind: string }) => x.kind === 'shelterHospital');
    const [occ] = await ctx.db.query<{ n: number }>("SELECT occupied_general AS n FROM facilities WHERE id = 1");
    expect(shelter).toMatchObject({ total: 1000, occupied: occ.n });
    // A district's command sees its district only.
    const mine = await srv.call('GET', '/api/v1/command/dashboard', { as: district2 });
    expect(mine.body.curve.total.reduce((s: number, n: number) => s + n, 0)).toBe(20);
    expect((await srv.call('GET', '/api/v1/command/dashboard?districtId=1', { as: district2 })).status).toBe(404);
  });

  it('counts society-level cases as zoning classified them at detection', async () => {
    await zoningUpkeep(ctx.db, ctx.preset, ctx.clock.now());
    await refreshStats(ctx.db, ctx.preset, ctx.clock.now(), dayOf(0));
    const [{ n }] = await ctx.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM case_levels WHERE level = 'society'`);
    const [{ s }] = await ctx.db.query<{ s: number | null }>(`SELECT sum(value)::int AS s FROM daily_stats WHERE metric = 'cases.society'`);
    // The town's first cases had no control around them; once compounds are sealed, later ones are found inside.
    expect(n).toBeGreaterThan(0);
    expect(n).toBeLessThan((await ctx.db.query<{ n: number }>('SELECT count(*)::int AS n FROM cases'))[0].n);
    expect(s).toBe(n);
    const d = await srv.call('GET', '/api/v1/command/dashboard?days=30', { as: city });
    expect(d.body.curve.society.reduce((a: number, b: number) => a + b, 0)).toBe(n);
  });

  it('raises early-warning alerts that name their facts and who must act', async () => {
    // The town's transfers to beds were carried out (their tasks would be overdue otherwise).
    await ctx.db.query(`UPDATE tasks SET status = 'done' WHERE kind = 'transfer'`);
    await ctx.db.tx((q) => createTasks(q, [{ kind: 'retest', title: 'Retest pool T1', districtId: 1, streetId: 1, dueAt: at(19), source: { tubeId: 1 }, dedupeKey: 'retest:1' }], at(18), 'test'));
    await raiseCommandAlerts(ctx.db, ctx.preset, ctx.clock.now());
    const alerts = (await srv.call('GET', '/api/v1/alerts', { as: city })).body.items;
    const kinds = alerts.map((a: { kind: string }) => a.kind);
    expect(kinds).toContain('positivityRising');
    expect(kinds).toContain('tasksOverdue');
    const rising = alerts.find((a: { kind: string }) => a.kind === 'positivityRising');
    const [point] = await ctx.db.query<{ name: string }>('SELECT name FROM sampling_points WHERE id = 1');
    // The facts carry the point's name, so that a page can say the sentence in its reader's language.
    expect(rising.facts).toMatchObject({ samplingPointId: 1, samplingPointName: point.name, positive: 30, tubes: 300 });
    expect(rising.assignee).toBe('district_command');
    // Running again raises nothing twice.
    expect(await raiseCommandAlerts(ctx.db, ctx.preset, ctx.clock.now())).toBe(0);
    const dash = await srv.call('GET', '/api/v1/command/dashboard', { as: city });
    expect(dash.body.alerts.total).toBe(alerts.length);
    expect(dash.body.overdueTasks.items.map((t: { title: string }) => t.title)).toContain('Retest pool T1');
  });

  it('changes tasks in bulk within reach, all or nothing', async () => {
    await ctx.db.tx((q) => createTasks(q, [
      { kind: 'locate', title: 'Locate contact A', districtId: 1, streetId: 1, dueAt: at(21), source: {}, dedupeKey: 'l:a' },
      { kind: 'locate', title: 'Locate contact B', districtId: 2, streetId: 2, dueAt: at(21), source: {}, dedupeKey: 'l:b' },
    ], at(20), 'test'));
    const all = (await srv.call('GET', '/api/v1/tasks?kind=locate', { as: city })).body.items;
    const [a, b] = all.map((t: { id: number }) => t.id);
    // The street worker of street 1 may not touch district 2's task: nothing changes.
    const refused = await srv.call('POST', '/api/v1/tasks/bulk', { as: worker, body: { ids: [a, b], status: 'done' } });
    expect(refused.status).toBe(400);
    expect(refused.body.missing).toEqual([b]);
    expect((await srv.call('GET', '/api/v1/tasks?kind=locate&status=done', { as: city })).body.items).toHaveLength(0);
    expect((await srv.call('POST', '/api/v1/tasks/bulk', { as: worker, body: { ids: [a], team: 'night' } })).status).toBe(400);
    expect((await srv.call('POST', '/api/v1/tasks/bulk', { as: worker, body: { ids: [a], status: 'done' } })).body.changed).toEqual([a]);
    const moved = await srv.call('POST', '/api/v1/tasks/bulk', { as: city, body: { ids: [b], streetId: 1, team: 'team 7', dueAt: at(22).toISOString() } });
    expect(moved.status, moved.text).toBe(200);
    const t = (await srv.call('GET', '/api/v1/tasks?team=team%207', { as: city })).body.items;
    expect(t).toMatchObject([{ id: b, districtId: 1, streetId: 1 }]);
    const overdue = (await srv.call('GET', '/api/v1/tasks?overdue=true', { as: city })).body.items;
    expect(overdue.map((x: { title: string }) => x.title)).toEqual(['Retest pool T1']);
  });

  it('publishes a bulletin only after a second person approves it, without personal data', async () => {
    const day = dayOf(19);
    const draft = await srv.call('POST', `/api/v1/bulletins/${day}/draft`, { as: city });
    expect(draft.status, draft.text).toBe(200);
    expect(draft.body.content.totals.confirmed + draft.body.content.totals.asymptomatic).toBe(perDay(19) + 1);
    expect(draft.body.content.addresses.map((a: { compound: string }) => a.compound).sort()).toEqual(['小区1', '小区2']);
    expect((await srv.call('GET', `/api/v1/public/bulletins/${day}`)).status).toBe(404);
    const ownApproval = await srv.call('POST', `/api/v1/bulletins/${day}/approve`, { as: city });
    expect(ownApproval.status).toBe(409);
    expect(ownApproval.body.code).toBe('bulletinSecondPerson');
    const unapproved = await srv.call('POST', `/api/v1/bulletins/${day}/publish`, { as: city2 });
    expect(unapproved.status).toBe(409);
    expect(unapproved.body).toMatchObject({ code: 'bulletinNotApproved', day, bulletinState: 'draft' });
    expect((await srv.call('POST', `/api/v1/bulletins/${day}/redact`, { as: city, body: { compoundIds: [2], reason: 'one household only' } })).status).toBe(200);
    expect((await srv.call('POST', `/api/v1/bulletins/${day}/approve`, { as: city2 })).body.state).toBe('approved');
    expect((await srv.call('POST', `/api/v1/bulletins/${day}/publish`, { as: city })).body.state).toBe('published');
    const pub = await srv.call('GET', `/api/v1/public/bulletins/${day}`);
    expect(pub.status).toBe(200);
    expect(pub.body.addresses.map((a: { compound: string }) => a.compound)).toEqual(['小区1']);
    expect(pub.text).not.toMatch(/Secret Name|personId|PC0/);
    const svg = await srv.call('GET', `/api/v1/public/bulletins/${day}/curve.svg?lang=en`);
    expect(svg.headers.get('content-type')).toContain('image/svg+xml');
    expect((svg.text.match(/<rect /g) ?? []).length).toBe(30);
    expect(svg.text).toContain('New cases');
  });
});
