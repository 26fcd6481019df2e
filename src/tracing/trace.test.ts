// Tracing scenarios over real HTTP on a hand-built town, under both presets: a positive in a household and
// its building (own and shared facilities), a venue at busy hours, a chain of three generations, and rooms
// that spill to the nearest district without splitting a household.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testContext, testServer, type Session, type TestContext, type TestServer } from '../../test/harness.ts';
import { createUser } from '../core/users.ts';
import type { Queryable } from '../core/db.ts';

const T0 = Date.parse('2022-04-10T00:00:00Z');
const day = (d: number) => new Date(T0 + d * 86_400_000);
const at = (d: number, hh: number, mm = 0) => new Date(T0 + d * 86_400_000 + (hh * 60 + mm) * 60_000);
const iso = (d: Date) => d.toISOString();

/** Districts 1-3 along a line (1 and 2 near, 3 far); buildings of compound 1 in district 1. */
async function buildTown(q: Queryable): Promise<void> {
  for (const [d, lon] of [[1, 121.4], [2, 121.45], [3, 121.9]] as const) {
    await q.query('INSERT INTO districts (id, code, name) VALUES ($1, $2, $3)', [d, `D${d}`, `District ${d}`]);
    await q.query('INSERT INTO streets (id, code, district_id, name) VALUES ($1, $2, $1, $3)', [d, `S${d}`, `Street ${d}`]);
    await q.query('INSERT INTO compounds (id, code, street_id, district_id, name, centroid_lon, centroid_lat) VALUES ($1, $2, $1, $1, $3, $4, 31.2)', [d, `C${d}`, `Compound ${d}`, lon]);
  }
  await q.query("INSERT INTO buildings (id, code, compound_id, name, floors) VALUES (1, 'B1', 1, 'Building 1', 8), (2, 'B2', 1, 'Building 2', 8), (3, 'B3', 2, 'Building 3', 8), (4, 'B4', 3, 'Building 4', 8)");
  // household: [id, building, floor, shared facilities, persons]
  const households: [number, number, number, boolean, number[]][] = [
    [10, 1, 4, false, [1, 2]], // case A (1) and B (2)
    [11, 1, 4, false, [3]],
    [12, 1, 5, false, [4]],
    [13, 1, 3, false, [5]],
    [14, 1, 7, false, [6]],
    [20, 2, 2, true, [20, 21]], // case X (20) with shared kitchen and bathroom
    [21, 2, 2, true, [22]],
    [22, 2, 6, true, [23]],
    [30, 3, 1, false, [7, 8]], // D (7, named by A) and E (8)
    [31, 3, 2, false, [9]],
    [40, 4, 1, false, [40, 41, 42]], // households waiting for rooms
    [41, 4, 2, false, [43, 44, 45]],
    [42, 1, 6, false, [46]],
  ];
  for (const [id, building, floor, shared, persons] of households) {
    const [{ compound_id: compound }] = await q.query<{ compound_id: number }>('SELECT compound_id FROM buildings WHERE id = $1', [building]);
    await q.query('INSERT INTO households (id, code, building_id, compound_id, floor, shared_facilities) VALUES ($1, $2, $3, $4, $5, $6)', [id, `H${id}`, building, compound, floor, shared]);
    for (const p of persons) {
      await q.query(`INSERT INTO persons (id, personal_code, name, sex, birth_date, household_id, compound_id, street_id, district_id) VALUES ($1, $2, $3, 'F', '1980-01-01', $4, $5, $5, $5)`, [p, `PC${p}`, `Person ${p}`, id, compound]);
    }
  }
  for (let p = 100; p < 160; p++) await q.query(`INSERT INTO persons (id, personal_code, name, sex, birth_date, compound_id, street_id, district_id) VALUES ($1, $2, $3, 'M', '1990-01-01', 2, 2, 2)`, [p, `PC${p}`, `Shopper ${p}`]);
  await q.query("INSERT INTO venues (id, code, name, kind, district_id, street_id, lon, lat) VALUES (1, 'V1', 'Market', 'market', 1, 1, 121.4, 31.2), (2, 'V2', 'Noodles', 'restaurant', 2, 2, 121.45, 31.2)");
  // Quarantine sites: 2 rooms in district 1, 5 in district 2 (near), 10 in district 3 (far).
  await q.query(`INSERT INTO facilities (id, code, name, kind, district_id, lon, lat, rooms) VALUES
    (1, 'Q1', 'Site 1', 'quarantineSite', 1, 121.4, 31.2, 2), (2, 'Q2', 'Site 2', 'quarantineSite', 2, 121.45, 31.2, 5), (3, 'Q3', 'Site 3', 'quarantineSite', 3, 121.9, 31.2, 10)`);
  // The market at busy hours on day 4: A at 18:00; shoppers every minute from 17:00 to 17:59 and 18:01 to 18:59.
  const scans: [number, number, Date][] = [[1, 1, at(4, 18)]];
  for (let i = 0; i < 60; i++) scans.push([100 + i, 1, i < 30 ? at(4, 17, 2 * i) : at(4, 18, 2 * (i - 30) + 1)]);
  // D eats noodles on day 5 at 20:00 with shopper 150 (after D met A): 150 is D's contact, so A's secondary.
  scans.push([7, 2, at(5, 20)], [150, 2, at(5, 20, 10)]);
  for (const [person, venue, t] of scans) await q.query(`INSERT INTO checkins (venue_id, person_id, scanned_at, source) VALUES ($1, $2, $3, 'venueCode')`, [venue, person, t]);
  for (const t of ['districts', 'streets', 'compounds', 'buildings', 'households', 'persons', 'venues', 'facilities']) {
    await q.query(`SELECT setval(pg_get_serial_sequence('${t}', 'id'), (SELECT max(id) FROM ${t}))`);
  }
}

// Who A's market visit reaches: scans within 30 minutes of 18:00 (17:30 ... 18:29 inclusive of 18:30).
const marketWindow = [...Array(60).keys()].map((i) => 100 + i).filter((p) => {
  const i = p - 100;
  const minute = i < 30 ? 17 * 60 + 2 * i : 18 * 60 + 2 * (i - 30) + 1;
  return Math.abs(minute - 18 * 60) <= 30;
});

for (const presetId of ['shanghai-2022-05', 'cn-2022-9th']) {
  describe(`tracing under ${presetId}`, () => {
    let ctx: TestContext;
    let srv: TestServer;
    let epi: Session;
    let city: Session;
    const contactsOf = async (caseId: number) => Object.fromEntries((await srv.call('GET', `/api/v1/cases/${caseId}/contacts`, { as: epi })).body.items.map((c: { personId: number; level: string }) => [c.personId, c.level]));

    beforeAll(async () => {
      ctx = await testContext({ preset: presetId, now: day(7) });
      await ctx.db.tx((q) => buildTown(q));
      await ctx.db.tx(async (q) => {
        await createUser(q, { username: 'epi', password: 'epi-password', role: 'epidemiologist' }, new Date());
        await createUser(q, { username: 'city', password: 'city-password', role: 'city_command' }, new Date());
      });
      srv = await testServer(ctx);
      epi = await srv.login('epi', 'epi-password');
      city = await srv.login('city', 'city-password');
    });
    afterAll(async () => {
      await srv?.close();
      await ctx?.close();
    });

    it('a positive in a household with its own kitchen: household close, same and next floors secondary, the market’s visitors by the preset; D named by the case, and D’s own contact secondary', async () => {
      const interview = await srv.call('PUT', '/api/v1/cases/1/interview', {
        as: epi,
        body: { symptomatic: true, onsetAt: iso(at(5, 8)), sampledAt: iso(at(6, 9)), isolatedAt: iso(at(6, 20)), persons: [{ personId: 7, name: 'Person 7', relation: 'colleague', lastContactAt: iso(at(5, 12)) }] },
      });
      expect(interview.status, interview.text).toBe(200);
      const traced = await srv.call('POST', '/api/v1/cases/1/trace', { as: epi });
      expect(traced.status, traced.text).toBe(200);
      const colocation = ctx.preset.contacts.colocationLevel;
      // 150 ate with D, and 8 lives with D, after D met A: both are A's secondary contacts through D.
      const expected: Record<number, string> = { 2: 'close', 3: 'secondary', 4: 'secondary', 5: 'secondary', 7: 'close', 8: 'secondary', 150: 'secondary' };
      for (const p of marketWindow) expected[p] = colocation;
      expect(await contactsOf(1)).toEqual(expected);
      // Each contact names its evidence.
      const items = (await srv.call('GET', '/api/v1/cases/1/contacts', { as: epi })).body.items;
      expect(items.find((c: { personId: number }) => c.personId === 2).exposures[0]).toMatchObject({ kind: 'household', state: 'confirmed', evidence: { householdId: 10 } });
      expect(items.find((c: { personId: number }) => c.personId === 150).exposures[0]).toMatchObject({ kind: 'contactOfContact', sourcePersonId: 7, evidence: { venueId: 2, via: 'venue' } });
      expect(items.find((c: { personId: number }) => c.personId === marketWindow[0]).exposures[0]).toMatchObject({ kind: 'venue', state: 'candidate', evidence: { venueId: 1 } });
    });

    it('orders the confirmed contacts from their last exposure, with the preset’s test days; candidates wait for the investigator', async () => {
      const r = await srv.call('POST', '/api/v1/cases/1/orders', { as: epi });
      expect(r.body).toEqual({ issued: 2, upgraded: 0 }); // B (household) and D (named)
      const orders = await ctx.db.query<{ id: number; person_id: number; level: string; last_exposure_at: Date; ends_at: Date; tests: { day: number }[] }>('SELECT id, person_id, level, last_exposure_at, ends_at, tests FROM quarantine_orders ORDER BY person_id');
      const close = ctx.preset.quarantine.close;
      expect(orders.map((o) => o.person_id)).toEqual([2, 7]);
      // B lived with A until A's isolation; D last met A on day 5 at noon.
      expect(new Date(orders[0].last_exposure_at)).toEqual(at(6, 20));
      expect(new Date(orders[0].ends_at)).toEqual(new Date(at(6, 20).getTime() + (close.centralDays + close.homeDays) * 86_400_000));
      expect(new Date(orders[1].last_exposure_at)).toEqual(at(5, 12));
      expect(orders[1].tests.map((t) => t.day)).toEqual([...close.pcrDays, ...close.homePcrDays.map((d) => close.centralDays + d)]);
      // 四早: both close contacts were ordered at once, but central quarantine counts once they have a room.
      const before = (await srv.call('GET', '/api/v1/tracing/timeliness', { as: epi })).body.items;
      expect(before).toEqual([{ day: '2022-04-17', districtId: 1, closeContacts: 2, within24h: 0, share: 0 }]);
      expect((await srv.call('POST', '/api/v1/quarantine/allocate', { as: city })).body).toEqual({ placed: 2, waiting: 0 });
      const after = (await srv.call('GET', '/api/v1/tracing/timeliness', { as: epi })).body.items;
      expect(after).toEqual([{ day: '2022-04-17', districtId: 1, closeContacts: 2, within24h: 2, share: 1 }]);
      // The investigator confirms the same-floor neighbour; the next run orders them as secondary.
      const items = (await srv.call('GET', '/api/v1/cases/1/contacts', { as: epi })).body.items;
      const neighbour = items.find((c: { personId: number }) => c.personId === 3).exposures[0].id;
      expect((await srv.call('POST', `/api/v1/contact-exposures/${neighbour}/confirm`, { as: epi })).status).toBe(200);
      expect((await srv.call('POST', '/api/v1/cases/1/orders', { as: epi })).body).toEqual({ issued: 1, upgraded: 0 });
      const [o3] = await ctx.db.query<{ level: string; central_until: Date | null }>('SELECT level, central_until FROM quarantine_orders WHERE person_id = 3');
      expect(o3.level).toBe('secondary');
      expect(o3.central_until === null).toBe(ctx.preset.quarantine.secondary.centralDays === 0);
      // A dismissed candidate is no contact at all.
      const shopper = items.find((c: { personId: number }) => c.personId === marketWindow[0]).exposures[0].id;
      await srv.call('POST', `/api/v1/contact-exposures/${shopper}/dismiss`, { as: epi });
      expect(await contactsOf(1)).not.toHaveProperty(String(marketWindow[0]));
      // A close contact's status is red (quarantine), as the status capability reads the contact record.
      const status = await srv.call('GET', '/api/v1/persons/2/status', { as: city });
      expect(status.body).toMatchObject({ colour: 'red', reasons: [{ code: 'closeContact', fact: { kind: 'contact', id: 2 } }] });
    });

    it('refuses an interview naming a person or venue that does not exist, and records nothing', async () => {
      const r = await srv.call('PUT', '/api/v1/cases/20/interview', { as: epi, body: { symptomatic: false, sampledAt: iso(at(6, 9)), persons: [{ personId: 999999, name: 'Nobody', lastContactAt: iso(at(5, 9)) }], places: [{ venueId: 888888, place: 'Nowhere', from: iso(at(5, 9)), to: iso(at(5, 10)) }] } });
      expect(r.status).toBe(400);
      expect(r.body.detail).toMatch(/person 999999, venue 888888/);
      expect(await ctx.db.query('SELECT 1 FROM interviews WHERE case_person_id = 20')).toEqual([]);
    });

    it('shared kitchen and bathroom: household and same floor close, the rest of the building secondary', async () => {
      await srv.call('PUT', '/api/v1/cases/20/interview', { as: epi, body: { symptomatic: false, sampledAt: iso(at(6, 9)), isolatedAt: iso(at(6, 18)) } });
      await srv.call('POST', '/api/v1/cases/20/trace', { as: epi });
      expect(await contactsOf(20)).toEqual({ 21: 'close', 22: 'close', 23: 'secondary' });
    });

    it('a chain of three generations: D becomes a case and E, D’s household, a close contact; a secondary contact named again as close is upgraded', async () => {
      // D (7) tests positive on day 6; E (8) lives with D; neighbour 9 one floor up.
      ctx.clock.set(day(8), 0);
      await srv.call('PUT', '/api/v1/cases/7/interview', { as: epi, body: { symptomatic: true, onsetAt: iso(at(6, 8)), sampledAt: iso(at(6, 10)), isolatedAt: iso(at(6, 22)), persons: [{ personId: 3, name: 'Person 3', lastContactAt: iso(at(6, 12)) }] } });
      await srv.call('POST', '/api/v1/cases/7/trace', { as: epi });
      const second = await contactsOf(7);
      expect(second[8]).toBe('close');
      expect(second[9]).toBe('secondary');
      // Person 3, a secondary contact of A, is a close contact of D: one record, now close, order upgraded.
      expect(second[3]).toBe('close');
      const r = await srv.call('POST', '/api/v1/cases/7/orders', { as: epi });
      expect(r.body.upgraded).toBe(ctx.preset.quarantine.secondary.upgradeToCloseIfContactPositive ? 1 : 0);
      const orders3 = await ctx.db.query<{ level: string; superseded_by: number | null }>('SELECT level, superseded_by FROM quarantine_orders WHERE person_id = 3 ORDER BY id');
      expect(orders3.map((o) => o.level)).toEqual(['secondary', 'close']);
      expect(orders3[0].superseded_by).not.toBeNull();
      // E becomes the third generation: their own household has nobody else; the chain reaches 3 generations.
      ctx.clock.set(day(9), 0);
      await srv.call('PUT', '/api/v1/cases/8/interview', { as: epi, body: { symptomatic: false, sampledAt: iso(at(7, 10)), isolatedAt: iso(at(7, 12)) } });
      expect((await srv.call('POST', '/api/v1/cases/8/trace', { as: epi })).status).toBe(200);
      expect(await contactsOf(8)).toMatchObject({ 7: 'close', 9: 'secondary' });
      const [{ n }] = await ctx.db.query<{ n: number }>('SELECT count(*)::int AS n FROM contacts WHERE person_id = 9');
      expect(n).toBe(1); // reached by two cases, one record
      // The chain as the graph page draws it: A -> D -> E, three generations; X stands alone.
      const chains = (await srv.call('GET', '/api/v1/tracing/chains', { as: epi })).body;
      const gen = Object.fromEntries(chains.nodes.map((node: [number, number]) => [node[0], node[1]]));
      expect(gen).toEqual({ 1: 1, 20: 1, 7: 2, 8: 3 });
      expect(chains.edges).toEqual(expect.arrayContaining([[1, 7], [7, 8]]));
      expect(chains.edges).toHaveLength(2);
    });

    it('gives every central order a task to locate its person, done once a room is found', async () => {
      const rows = await ctx.db.query<{ order_id: number; placed: boolean; status: string | null; street_id: number | null; person_street: number | null }>(
        `SELECT pl.order_id, pl.placed_at IS NOT NULL AS placed, t.status, t.street_id, p.street_id AS person_street
           FROM quarantine_placements pl JOIN persons p ON p.id = pl.person_id LEFT JOIN tasks t ON t.dedupe_key = 'locate:' || pl.order_id`,
      );
      expect(rows.length).toBeGreaterThan(0);
      for (const r of rows) expect([r.status, r.street_id]).toEqual([r.placed ? 'done' : 'open', r.person_street]);
    });

    it('gives rooms to whole households, own district first, then the nearest district with rooms', async () => {
      // Start from an empty queue: the orders above placed their contacts already.
      await ctx.db.query('UPDATE quarantine_placements SET left_at = $1 WHERE left_at IS NULL', [day(8)]);
      await ctx.db.query('UPDATE quarantine_orders SET released_at = $1 WHERE released_at IS NULL', [day(8)]);
      // District 1 (site 1: 2 rooms): person 3 first, then household 10 (persons 1 and 2), then person 46.
      // District 3 (site 3: 10 rooms): households 40 and 41 of three persons each.
      const queue: [number, number][] = [[3, 11], [1, 10], [2, 10], [46, 42], [40, 40], [41, 40], [42, 40], [43, 41], [44, 41], [45, 41]];
      await ctx.db.tx(async (q) => {
        for (const [i, [person, household]] of queue.entries()) {
          await q.query(`INSERT INTO quarantine_orders (id, person_id, level, last_exposure_at, ends_at, tests, rule, preset, issued_by, issued_at) VALUES ($1, $2, 'close', $3, $4, '[]', 'test', 'test', 'test', $3)`, [2000 + i, person, day(6), day(20)]);
          await q.query('INSERT INTO quarantine_placements (person_id, order_id, waiting_since, household_id) VALUES ($1, $2, $3, $4)', [person, 2000 + i, new Date(day(8).getTime() + i * 60_000), household]);
        }
      });
      const r = await srv.call('POST', '/api/v1/quarantine/allocate', { as: city });
      expect(r.body).toEqual({ placed: 10, waiting: 0 });
      const placed = Object.fromEntries((await ctx.db.query<{ person_id: number; facility_id: number }>('SELECT person_id, facility_id FROM quarantine_placements WHERE left_at IS NULL ORDER BY person_id')).map((x) => [x.person_id, x.facility_id]));
      // Person 3 takes a room at home; household 10 needs two and site 1 has one left: both go to the
      // nearest district's site (2), not the far one (3), and never one each; person 46 takes site 1's last room.
      expect(placed).toEqual({ 3: 1, 1: 2, 2: 2, 46: 1, 40: 3, 41: 3, 42: 3, 43: 3, 44: 3, 45: 3 });
      const capacity = (await srv.call('GET', '/api/v1/quarantine/capacity', { as: city })).body.districts as { districtId: number; rooms: number; used: number; free: number }[];
      expect(capacity.map((d) => [d.districtId, d.used, d.free])).toEqual([[1, 2, 0], [2, 2, 3], [3, 6, 4]]);
    });
  });
}
