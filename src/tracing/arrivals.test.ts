// Arrivals over real HTTP: each kind gets the quarantine order its preset gives (central ones join the
// transfer queue with a task for the street), one order stays in force a person (the one that ends later),
// an arrival whose quarantine is already over gets none, and a contact's order outlasting an arrival's
// takes its place.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { engine, signal, testContext, testServer, whenWaitingOrDone, type Session, type TestContext, type TestServer } from '../../test/harness.ts';
import { generateCity, loadCity } from '../sim/index.ts';
import { createUser } from '../core/users.ts';
import { issueOrders } from './store.ts';
import { recordArrival } from './arrivals.ts';

const DAY = 86_400_000;

describe('arrivals and their quarantine orders', () => {
  let ctx: TestContext;
  let srv: TestServer;
  let city: Session;
  let persons: { id: number; street: number }[];
  const now = new Date('2022-04-20T06:00:00Z');
  const daysAgo = (d: number) => new Date(now.getTime() - d * DAY);
  const arrive = (personId: number, kind: string, arrivedAt: Date) =>
    srv.call('POST', `/api/v1/persons/${personId}/arrivals`, { as: city, body: { kind, origin: 'elsewhere', arrivedAt: arrivedAt.toISOString() } });
  const ordersOf = (personId: number) =>
    ctx.db.query<{ id: number; level: string; central_until: Date | null; home_until: Date | null; ends_at: Date; superseded_by: number | null; tests: { day: number }[] }>(
      'SELECT id, level, central_until, home_until, ends_at, superseded_by, tests FROM quarantine_orders WHERE person_id = $1 ORDER BY id',
      [personId],
    );
  const waiting = (personId: number) => ctx.db.query<{ order_id: number }>('SELECT order_id FROM quarantine_placements WHERE person_id = $1 AND placed_at IS NULL', [personId]);
  const locateTasks = (personId: number) => ctx.db.query<{ title: string; street_id: number; source: { orderId: number } }>("SELECT title, street_id, source FROM tasks WHERE kind = 'locate' AND $1 = ANY(person_ids)", [personId]);

  beforeAll(async () => {
    ctx = await testContext({ now });
    await loadCity(ctx, generateCity({ persons: 300, seed: 7 }));
    persons = await ctx.db.query<{ id: number; street: number }>('SELECT id, street_id AS street FROM persons ORDER BY id LIMIT 10');
    await ctx.db.tx((q) => createUser(q, { username: 'city', password: 'city-password', role: 'city_command' }, new Date()));
    srv = await testServer(ctx);
    city = await srv.login('city', 'city-password');
  });
  afterAll(async () => {
    await srv?.close();
    await ctx?.close();
  });

  // [kind, preset key, person]: the numbers come from the preset in use.
  const table = [
    ['inbound', 'inbound', 0],
    ['highRisk', 'highRiskArrival', 1],
    ['mediumRisk', 'mediumRiskArrival', 2],
  ] as const;
  for (const [kind, key, i] of table) {
    it(`orders a ${kind} arrival as the preset says (quarantine.${key}), counted from the arrival`, async () => {
      const p = persons[i];
      const q = ctx.preset.quarantine[key];
      const arrivedAt = daysAgo(1);
      const r = await arrive(p.id, kind, arrivedAt);
      expect(r.status, r.text).toBe(201);
      const central = q.centralDays ? new Date(arrivedAt.getTime() + q.centralDays * DAY) : null;
      const ends = new Date(arrivedAt.getTime() + (q.centralDays + q.homeDays) * DAY);
      expect(r.body.order).toEqual({ id: expect.any(Number), issued: true, level: key, centralUntil: central?.toISOString() ?? null, homeUntil: q.homeDays ? ends.toISOString() : null, endsAt: ends.toISOString() });
      const [o] = await ordersOf(p.id);
      expect(o).toMatchObject({ id: r.body.order.id, level: key, superseded_by: null });
      expect(o.tests.map((t) => t.day)).toEqual([...q.pcrDays, ...(central && 'homePcrDays' in q ? q.homePcrDays.map((d) => q.centralDays + d) : [])]);
      // Central quarantine: in the transfer queue, and a task for the person's street to take them there.
      expect((await waiting(p.id)).map((w) => Number(w.order_id))).toEqual(central ? [o.id] : []);
      const tasks = await locateTasks(p.id);
      expect(tasks).toEqual(central ? [{ title: expect.stringMatching(kind === 'inbound' ? /^Locate inbound traveller / : /^Locate arrival from a high-risk area /), street_id: p.street, source: expect.objectContaining({ orderId: o.id, arrival: kind }) }] : []);
      const [audit] = await ctx.db.query<{ detail: { order: unknown } }>("SELECT detail FROM audit_log WHERE action = 'arrival' AND entity_id = $1", [String(p.id)]);
      expect(audit.detail.order).toEqual({ id: o.id, issued: true });
    });
  }

  it('keeps one order in force a person: a later-ending one takes the place of the order in force, a sooner-ending one leaves it', async () => {
    const p = persons[3];
    const medium = await arrive(p.id, 'mediumRisk', daysAgo(2));
    const inbound = await arrive(p.id, 'inbound', daysAgo(1));
    expect(inbound.body.order).toMatchObject({ issued: true, level: 'inbound' });
    const high = await arrive(p.id, 'highRisk', daysAgo(0.5));
    expect(high.status).toBe(201);
    // The inbound order ends later than a high-risk one would: it stays, and is the answer.
    expect(high.body.order).toMatchObject({ id: inbound.body.order.id, issued: false, level: 'inbound' });
    const orders = await ordersOf(p.id);
    expect(orders.map((o) => [o.level, o.superseded_by === null ? null : Number(o.superseded_by)])).toEqual([
      ['mediumRiskArrival', inbound.body.order.id],
      ['inbound', null],
    ]);
    expect(medium.body.order.id).toBe(Number(orders[0].id));
  });

  it('issues no order for an arrival whose quarantine would be over already, and still records it', async () => {
    const p = persons[4];
    const r = await arrive(p.id, 'mediumRisk', daysAgo(30));
    expect(r.status, r.text).toBe(201);
    expect(r.body).toMatchObject({ kind: 'mediumRisk', order: null });
    expect(await ordersOf(p.id)).toEqual([]);
    expect((await srv.call('GET', `/api/v1/persons/${p.id}/arrivals`, { as: city })).body.items).toHaveLength(1);
  });

  // Embedded PGlite runs one transaction at a time: there two writers never meet.
  it.runIf(engine === 'pg')('writes one order for two arrivals of a person recorded at once, the second seeing the first’s', async () => {
    const p = persons[7];
    // Marked already (a fact before): the arrivals' own marks then do not wait for each other.
    await ctx.db.query('INSERT INTO status_stale (person_id, since) VALUES ($1, $2)', [p.id, now]);
    const released = signal();
    const inFirst = signal();
    const first = ctx.db.tx(async (q) => {
      const a = await recordArrival(q, { personId: p.id, kind: 'inbound', origin: 'first desk', arrivedAt: daysAgo(1) }, ctx.preset, 'test', now);
      inFirst.fire();
      await released.done;
      return a;
    });
    await Promise.race([inFirst.done, first]);
    // The second waits for the first (for the person, or for the order's unique key).
    const { outcome: second } = await whenWaitingOrDone(ctx.db, ctx.db.tx((q) => recordArrival(q, { personId: p.id, kind: 'highRisk', origin: 'second desk', arrivedAt: daysAgo(1) }, ctx.preset, 'test', now)));
    released.fire();
    const [a, b] = await Promise.all([first, second]);
    expect(a.order).toMatchObject({ issued: true, level: 'inbound' });
    expect(b.order).toMatchObject({ id: a.order!.id, issued: false });
    expect((await ordersOf(p.id)).map((o) => o.level)).toEqual(['inbound']);
  });

  it('gives a close contact’s order the place of an arrival’s order that would end sooner', async () => {
    const [caseP, contact] = [persons[5], persons[6]];
    const medium = await arrive(contact.id, 'mediumRisk', daysAgo(1));
    const exposedAt = daysAgo(0.5);
    await ctx.db.tx(async (q) => {
      await q.query("INSERT INTO contacts (person_id, level, first_exposure_at, last_exposure_at, found_at, updated_at) VALUES ($1, 'close', $2, $2, $3, $3)", [contact.id, exposedAt, now]);
      await q.query("INSERT INTO contact_exposures (person_id, source_person_id, case_person_id, kind, level, exposed_at, evidence, rule, state) VALUES ($1, $2, $2, 'household', 'close', $3, '{}', 'test', 'confirmed')", [contact.id, caseP.id, exposedAt]);
      expect(await issueOrders(q, caseP.id, ctx.preset, 'test', now)).toEqual({ issued: 1, upgraded: 0 });
    });
    const orders = await ordersOf(contact.id);
    expect(orders.map((o) => o.level)).toEqual(['mediumRiskArrival', 'close']);
    expect(Number(orders[0].id)).toBe(medium.body.order.id);
    expect(Number(orders[0].superseded_by)).toBe(Number(orders[1].id));
    expect(new Date(orders[1].ends_at)).toEqual(new Date(exposedAt.getTime() + (ctx.preset.quarantine.close.centralDays + ctx.preset.quarantine.close.homeDays) * DAY));
  });
});
