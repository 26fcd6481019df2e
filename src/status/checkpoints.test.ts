// Checkpoints end to end over real HTTP: a positive pool turns its members red at the door and a negative
// retest turns them back; overrides need a second person; every change of colour is audited with its
// facts; a hospital's emergency entrance never refuses; forged and far codes; a round's untested turn
// yellow; arrivals and a positive antigen self-test colour a person by the preset (an arrival from a
// low-risk area only when its tests are missed); no acknowledged scan is lost under concurrent check-ins.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { engine, signal, testContext, testServer, whenWaitingOrDone, type Session, type TestContext, type TestServer } from '../../test/harness.ts';
import { generateCity, loadCity } from '../sim/index.ts';
import { createUser } from '../core/users.ts';
import { signVenueCode } from './venue-code.ts';
import { currentStatus, refreshDue, refreshStatus } from './store.ts';
import { DoorIndex, doorIndexFor } from './door-index.ts';
import { markStatusStale } from '../core/stale.ts';
import { VenueCache } from './checkpoints.ts';
import { lanesServed } from '../core/http.ts';
import { zoningUpkeep } from '../zoning/index.ts';
import { openCase } from '../cases/index.ts';
import type { Db, Queryable } from '../core/db.ts';

interface P { id: number; code: string; street: number; district: number }

describe('checkpoints and status', () => {
  let ctx: TestContext;
  let srv: TestServer;
  let city: Session, city2: Session, district: Session, lab: Session, sampler: Session;
  // The venue's scanner, by an API token: after its first request, its check-ins are served by the route's
  // lane (core/http.ts), as are a session's; byFastify sends them the way the lane does not take.
  let scanner: Session;
  let persons: P[];
  let pointId: number;
  let labId: number;
  let venue: { id: number; lat: number; lon: number; code: string };
  let hospital: { id: number };
  const pool: P[] = [];

  const checkin = (person: string, as: Session = scanner, extra: Record<string, unknown> = {}, headers?: Record<string, string>) =>
    srv.call('POST', '/api/v1/checkins', { as, body: JSON.stringify({ venueCode: venue.code, person, ...extra }), headers: headers ?? { 'content-type': 'application/json' } });
  const byFastify = { 'content-type': 'application/json; charset=UTF-8' };
  const upload = (lines: string[]) => srv.call('POST', `/api/v1/labs/${labId}/results`, { as: lab, body: ['barcode,result,ct_orf1ab,ct_n,resulted_at', ...lines].join('\n') + '\n', headers: { 'content-type': 'text/csv' } });
  const statusAudits = (personId: number) => ctx.db.query<{ detail: { from: string; to: string; facts: { code: string; kind: string }[] }; reason: string }>("SELECT detail, reason FROM audit_log WHERE action = 'status' AND entity_id = $1 ORDER BY id", [String(personId)]);

  beforeAll(async () => {
    ctx = await testContext({ now: new Date('2022-04-10T06:00:00Z') });
    await loadCity(ctx, generateCity({ persons: 2000, seed: 4 }));
    persons = await ctx.db.query<P>('SELECT id, personal_code AS code, street_id AS street, district_id AS district FROM persons ORDER BY id LIMIT 200');
    [{ id: pointId }] = await ctx.db.query<{ id: number }>('SELECT id FROM sampling_points ORDER BY id LIMIT 1');
    [{ id: labId }] = await ctx.db.query<{ id: number }>('SELECT id FROM labs ORDER BY id LIMIT 1');
    const [v] = await ctx.db.query<{ id: number; lat: number; lon: number }>("SELECT id, lat, lon FROM venues WHERE kind = 'supermarket' ORDER BY id LIMIT 1");
    venue = { ...v, code: signVenueCode(ctx.pii, v.id) };
    [hospital] = await ctx.db.query<{ id: number }>("SELECT id FROM venues WHERE kind = 'hospital' ORDER BY id LIMIT 1");
    await ctx.db.tx(async (q) => {
      await createUser(q, { username: 'city', password: 'city-password', role: 'city_command' }, new Date());
      await createUser(q, { username: 'city2', password: 'city2-password', role: 'city_command' }, new Date());
      await createUser(q, { username: 'district', password: 'district-password', role: 'district_command', districtId: persons[0].district }, new Date());
      await createUser(q, { username: 'sampler', password: 'sampler-password', role: 'sampler' }, new Date());
      await createUser(q, { username: 'venue', password: 'venue-password', role: 'venue_operator', venueId: hospital.id }, new Date());
      await createUser(q, { username: 'me', password: 'resident-password', role: 'resident', personId: persons[5].id }, new Date());
    });
    srv = await testServer(ctx);
    city = await srv.login('city', 'city-password');
    city2 = await srv.login('city2', 'city2-password');
    district = await srv.login('district', 'district-password');
    sampler = await srv.login('sampler', 'sampler-password');
    lab = { bearer: (await srv.call('POST', '/api/v1/tokens', { as: city, body: { name: 'lab', role: 'lab', labId } })).body.token };
    scanner = { bearer: (await srv.call('POST', '/api/v1/tokens', { as: city, body: { name: 'the supermarket’s scanner', role: 'venue_operator', venueId: venue.id } })).body.token };
    // Everyone of the first 200 tested negative this morning, in tubes of 10.
    const tubes = [];
    for (let i = 0; i < persons.length; i += 10) tubes.push({ barcode: `N${String(i).padStart(5, '0')}`, samplingPointId: pointId, group: 'controlled', sampledAt: '2022-04-10T05:00:00Z', persons: persons.slice(i, i + 10).map((p) => p.code) });
    expect((await srv.call('POST', '/api/v1/tubes/batch', { as: sampler, body: { tubes } })).status).toBe(201);
    expect((await upload(tubes.map((t) => `${t.barcode},negative,,,2022-04-10T05:30:00Z`))).status).toBe(200);
    pool.push(...persons.slice(10, 20));
  }, 120_000);
  afterAll(async () => {
    await srv?.close();
    await ctx?.close();
  });

  it('admits a green person with a negative test, answering the colour and the test time', async () => {
    const r = await checkin(persons[0].code);
    expect(r.status, r.text).toBe(201);
    expect(r.body).toMatchObject({ admit: true, colour: 'green', reasons: [], lastNegativeSampledAt: '2022-04-10T05:00:00.000Z', venue: { id: venue.id }, far: false });
  });

  it('turns the members of a positive pool red at the door, and green again after a negative retest, auditing both changes with their facts', async () => {
    ctx.clock.set(new Date('2022-04-10T10:00:00Z'), 0);
    expect((await srv.call('POST', '/api/v1/tubes/batch', { as: sampler, body: { tubes: [{ barcode: 'POOL0001', samplingPointId: pointId, group: 'controlled', sampledAt: '2022-04-10T09:00:00Z', persons: pool.map((p) => p.code) }] } })).status).toBe(201);
    expect((await upload(['POOL0001,positive,30.2,31.0,2022-04-10T09:50:00Z'])).body).toMatchObject({ poolControls: 10 });
    // The check-in sees the new fact at once, before any background upkeep has run.
    const red = await checkin(pool[0].code);
    expect(red.body).toMatchObject({ admit: false, colour: 'red' });
    expect(red.body.reasons).toMatchObject([{ code: 'poolPositive', text: expect.stringContaining('POOL0001') }]);
    // A negative single-tube retest releases the person.
    ctx.clock.set(new Date('2022-04-10T12:00:00Z'), 0);
    expect((await srv.call('POST', '/api/v1/tubes', { as: sampler, body: { barcode: 'RT000001', samplingPointId: pointId, retestOf: 'POOL0001' } })).status).toBe(201);
    expect((await srv.call('POST', '/api/v1/tubes/RT000001/samples', { as: sampler, body: { person: pool[0].code } })).status).toBe(201);
    expect((await upload(['RT000001,negative,,,2022-04-10T11:55:00Z'])).body).toMatchObject({ cleared: 1 });
    const green = await checkin(pool[0].code);
    expect(green.body).toMatchObject({ admit: true, colour: 'green', reasons: [] });
    const audits = await statusAudits(pool[0].id);
    expect(audits.map((a) => [a.detail.from, a.detail.to])).toEqual([
      ['green', 'red'],
      ['red', 'green'],
    ]);
    expect(audits[0].detail.facts).toMatchObject([{ code: 'poolPositive', kind: 'poolControl' }]);
    // The others of the pool are still red, and the background upkeep stores them so.
    await refreshDue(ctx.db, ctx.preset, ctx.clock.now());
    const [row] = await ctx.db.query<{ colour: string }>('SELECT colour FROM person_status WHERE person_id = $1', [pool[1].id]);
    expect(row.colour).toBe('red');
  });

  it('puts an override in force only with a second person’s approval, shows it to the person, and audits it', async () => {
    const person = pool[1];
    const asked = await srv.call('POST', `/api/v1/persons/${person.id}/status/overrides`, { as: city, body: { colour: 'green', reason: 'Lab L1 mixed up pool POOL0001; retest already negative', hours: 48 } });
    expect(asked.status).toBe(201);
    // Not in force while it waits.
    expect((await checkin(person.code)).body.colour).toBe('red');
    const self = await srv.call('POST', `/api/v1/status/overrides/${asked.body.id}/approve`, { as: city, body: {} });
    expect(self.status).toBe(403);
    expect(self.body.detail).toMatch(/second person/);
    // A code beside the words, for a page to word the refusal in its reader's language.
    expect(self.body.code).toBe('secondPersonNeeded');
    expect((await checkin(person.code)).body.colour).toBe('red');
    const approved = await srv.call('POST', `/api/v1/status/overrides/${asked.body.id}/approve`, { as: city2, body: {} });
    expect(approved.body).toMatchObject({ state: 'approved', recoloured: true });
    const status = await srv.call('GET', `/api/v1/persons/${person.id}/status`, { as: city });
    expect(status.body.colour).toBe('green');
    expect(status.body.reasons[0]).toMatchObject({ code: 'override', text: 'Lab L1 mixed up pool POOL0001; retest already negative', until: '2022-04-12T12:00:00.000Z' });
    expect(status.body.reasons[1]).toMatchObject({ code: 'poolPositive', overridden: true });
    expect(status.body.changesAt).toBe('2022-04-12T12:00:00.000Z');
    // The person reads the reason; an entrance shows only that an override is in force.
    const door = await checkin(person.code);
    expect(door.body).toMatchObject({ colour: 'green', reasons: [{ code: 'override', text: expect.stringMatching(/manual override/) }] });
    expect(JSON.stringify(door.body)).not.toContain('mixed up');
    const audits = await statusAudits(person.id);
    expect(audits.at(-1)!.detail).toMatchObject({ from: 'red', to: 'green', facts: [{ code: 'override', kind: 'override' }] });
    expect(audits.at(-1)!.reason).toMatch(/approved by user:\d+:city2/);
    const again = await srv.call('POST', `/api/v1/status/overrides/${asked.body.id}/approve`, { as: city2, body: {} });
    expect(again.status).toBe(409);
    expect(again.body).toMatchObject({ code: 'overrideApproved', overrideId: asked.body.id });
  });

  it('lets a resident see their own status and appeal; the appeal lands in their district’s queue', async () => {
    const me = await srv.login('me', 'resident-password');
    const mine = await srv.call('GET', `/api/v1/persons/${persons[5].id}/status`, { as: me });
    expect(mine.status).toBe(200);
    expect(mine.body.colour).toBe('green');
    expect((await srv.call('GET', `/api/v1/persons/${persons[6].id}/status`, { as: me })).status).toBe(404);
    const appeal = await srv.call('POST', '/api/v1/status/appeals', { as: me, body: { text: 'My code shows an overdue test but I was tested today.' } });
    expect(appeal.status).toBe(201);
    const queue = await srv.call('GET', '/api/v1/status/appeals', { as: district });
    expect(queue.body.items.map((a: { id: number }) => a.id)).toContain(appeal.body.id);
    const answered = await srv.call('POST', `/api/v1/status/appeals/${appeal.body.id}/answer`, { as: district, body: { state: 'rejected', answer: 'Your status is green; the prompt is only a reminder.' } });
    expect(answered.body.state).toBe('rejected');
    const own = await srv.call('GET', '/api/v1/status/appeals', { as: me });
    expect(own.body.items).toMatchObject([{ id: appeal.body.id, state: 'rejected', answer: 'Your status is green; the prompt is only a reminder.' }]);
    // A resident checks in for themselves only, and the refused scan is not recorded (it would put the
    // other person at the venue for tracing).
    const scansOf = async (personId: number) => (await ctx.db.query<{ n: number }>('SELECT count(*)::int AS n FROM checkins WHERE person_id = $1', [personId]))[0].n;
    const before = await scansOf(persons[6].id);
    const other = await checkin(persons[6].code, me);
    expect(other.status).toBe(403);
    expect(other.body.code).toBe('checkInSelfOnly');
    expect(await scansOf(persons[6].id)).toBe(before);
    // The resident's session was just seen: the lane takes their check-ins, and refuses this one as Fastify does.
    const served = lanesServed.requests;
    const byLane = await checkin(persons[6].code, me);
    expect(lanesServed.requests).toBe(served + 1);
    expect(byLane.body).toEqual(other.body);
    const fastifyAgain = await checkin(persons[6].code, me, {}, byFastify);
    expect(lanesServed.requests).toBe(served + 1);
    expect(fastifyAgain.body).toEqual(other.body);
    // A code that does not exist is refused alike: the answer does not tell real codes from made-up ones.
    const madeUp = await checkin('ZZZZZZZZ', me);
    expect(madeUp.status).toBe(403);
    expect(madeUp.body).toEqual(other.body);
    const mineBefore = await scansOf(persons[5].id);
    expect((await checkin(persons[5].code, me)).status).toBe(201);
    expect(await scansOf(persons[5].id)).toBe(mineBefore + 1);
  });

  it('never refuses anyone at a hospital’s emergency entrance, and refuses a red person at its main one', async () => {
    const venueOp = await srv.login('venue', 'venue-password');
    const emergency = await srv.call('POST', `/api/v1/venues/${hospital.id}/sentinels`, { as: venueOp, body: { name: 'ER door', entrance: 'emergency' } });
    const main = await srv.call('POST', `/api/v1/venues/${hospital.id}/sentinels`, { as: venueOp, body: { name: 'Main door' } });
    expect(emergency.status).toBe(201);
    const notMine = await srv.call('POST', `/api/v1/venues/${venue.id}/sentinels`, { as: venueOp, body: { name: 'Not mine' } });
    expect(notMine.status).toBe(403);
    expect(notMine.body).toMatchObject({ code: 'notYourVenue', venueId: venue.id });
    // A district's command outside the venue's district is told so, in words of its own.
    const [away] = await ctx.db.query<{ id: number }>('SELECT id FROM venues WHERE district_id <> $1 ORDER BY id LIMIT 1', [persons[0].district]);
    const outside = await srv.call('POST', `/api/v1/venues/${away.id}/sentinels`, { as: district, body: { name: 'Elsewhere' } });
    expect(outside.status).toBe(403);
    expect(outside.body).toMatchObject({ code: 'venueOutsideJurisdiction', venueId: away.id });
    expect((await srv.call('POST', `/api/v1/venues/${venue.id}/sentinels`, { as: city, body: { name: 'x', entrance: 'emergency' } })).status).toBe(400);
    await ctx.db.query("INSERT INTO vaccinations (person_id, dose, product, given_on, recorded_by, recorded_at) VALUES ($1, 1, 'CoronaVac', '2021-05-01', 'test', now()), ($1, 2, 'CoronaVac', '2021-06-01', 'test', now())", [pool[2].id]);
    const sentinel = (token: string, person: string) => srv.call('POST', '/api/v1/sentinel/checks', { body: { person }, headers: { 'x-device-token': token } });
    const served = lanesServed.requests;
    const er = await sentinel(emergency.body.token, pool[2].code);
    expect(er.status).toBe(201);
    // A device sends no credentials but its token: its checks are the lane's (core/http.ts).
    expect(lanesServed.requests).toBe(served + 1);
    expect(er.body).toMatchObject({ admit: true, colour: 'red', entrance: 'emergency', vaccination: { doses: 2, fullyVaccinated: true, boosted: false } });
    expect(er.body.because[0]).toMatch(/never refused/);
    // The device's screen words the decision from its data.
    expect(er.body.why).toEqual([{ code: 'emergency', colour: 'red' }]);
    expect((await sentinel(main.body.token, pool[2].code)).body).toMatchObject({ admit: false, colour: 'red' });
    expect((await sentinel('not-a-device-token', pool[2].code)).status).toBe(401);
    // The series is the preset's: one dose of Ad5-nCoV completes it; three doses of ZF2001 complete it and are not a booster.
    const [one, three] = [persons[30], persons[31]];
    await ctx.db.query("INSERT INTO vaccinations (person_id, dose, product, given_on, recorded_by, recorded_at) VALUES ($1, 1, 'Ad5-nCoV', '2021-07-01', 'test', now())", [one.id]);
    await ctx.db.query("INSERT INTO vaccinations (person_id, dose, product, given_on, recorded_by, recorded_at) SELECT $1, d, 'ZF2001', date '2021-03-01' + 30 * d, 'test', now() FROM generate_series(1, 3) d", [three.id]);
    expect((await sentinel(main.body.token, one.code)).body.vaccination).toEqual({ doses: 1, lastDoseOn: '2021-07-01', fullyVaccinated: true, boosted: false });
    expect((await sentinel(main.body.token, three.code)).body.vaccination).toEqual({ doses: 3, lastDoseOn: '2021-05-30', fullyVaccinated: true, boosted: false });
    const [scans] = await ctx.db.query<{ n: number }>("SELECT count(*)::int AS n FROM checkins WHERE source = 'sentinel' AND person_id = $1", [pool[2].id]);
    expect(scans.n).toBe(2);
  });

  it('refuses an altered venue code and flags a scan far from its venue', async () => {
    const forged = venue.code.replace(/\.(\d+)\./, (_m, id) => `.${Number(id) + 1}.`);
    const r = await srv.call('POST', '/api/v1/checkins', { as: city, body: JSON.stringify({ venueCode: forged, person: persons[0].code }), headers: byFastify });
    expect(r.status).toBe(400);
    expect(r.headers.get('content-type')).toContain('application/problem+json');
    expect(r.body.detail).toMatch(/altered or forged/);
    expect(r.body).toMatchObject({ reason: 'venue-code-signature', code: 'venueCodeForged' });
    // The lane refuses it alike.
    await checkin(persons[0].code);
    const served = lanesServed.requests;
    const byLane = await srv.call('POST', '/api/v1/checkins', { as: scanner, body: { venueCode: forged, person: persons[0].code } });
    expect(lanesServed.requests).toBe(served + 1);
    expect({ status: byLane.status, type: byLane.headers.get('content-type'), body: byLane.body }).toEqual({ status: r.status, type: r.headers.get('content-type'), body: r.body });
    const far = await checkin(persons[0].code, scanner, { lat: venue.lat + 0.2, lon: venue.lon });
    expect(far.status).toBe(201);
    expect(far.body.far).toBe(true);
    const [row] = await ctx.db.query<{ far: boolean; distance_m: number }>('SELECT far, distance_m FROM checkins WHERE person_id = $1 ORDER BY scanned_at DESC, distance_m DESC NULLS LAST LIMIT 1', [persons[0].id]);
    expect(row.far).toBe(true);
    expect(row.distance_m).toBeGreaterThan(20_000);
  });

  it('turns the untested of an ended round yellow once, and green when they are sampled', async () => {
    // A street none of whose residents has a story yet in this file.
    const [{ street }] = await ctx.db.query<{ street: number }>('SELECT street_id AS street FROM persons GROUP BY street_id HAVING min(id) > $1 ORDER BY street_id LIMIT 1', [persons[persons.length - 1].id]);
    const campaign = await srv.call('POST', '/api/v1/campaigns', { as: city, body: { name: 'Round 2', areaLevel: 'street', areaIds: [street], startsAt: '2022-04-10T12:00:00Z', endsAt: '2022-04-10T20:00:00Z', defaultGroup: 'controlled' } });
    expect(campaign.status).toBe(201);
    const residents = await ctx.db.query<{ id: number; code: string }>('SELECT p.id, p.personal_code AS code FROM campaign_expected e JOIN persons p ON p.id = e.person_id WHERE e.campaign_id = $1 ORDER BY p.id', [campaign.body.id]);
    expect(residents.length).toBeGreaterThan(2);
    const [tested, ...untested] = residents;
    // Looking at their status during the round stores nothing for a green resident: the round's end finds them.
    ctx.clock.set(new Date('2022-04-10T12:30:00Z'), 0);
    expect((await srv.call('GET', `/api/v1/persons/${untested[0].id}/status`, { as: city })).body).toMatchObject({ colour: 'green', changesAt: '2022-04-10T20:00:00.000Z' });
    expect(await ctx.db.query('SELECT 1 FROM person_status WHERE person_id = $1', [untested[0].id])).toEqual([]);
    expect((await srv.call('POST', '/api/v1/tubes/batch', { as: sampler, body: { tubes: [{ barcode: 'R2000001', samplingPointId: pointId, campaignId: campaign.body.id, group: 'controlled', sampledAt: '2022-04-10T13:00:00Z', persons: [tested.code] }] } })).status).toBe(201);
    ctx.clock.set(new Date('2022-04-10T21:00:00Z'), 0);
    await refreshDue(ctx.db, ctx.preset, ctx.clock.now());
    const colours = new Map((await ctx.db.query<{ person_id: number; colour: string }>('SELECT person_id, colour FROM person_status WHERE person_id = ANY($1)', [residents.map((r) => r.id)])).map((r) => [r.person_id, r.colour]));
    expect(colours.get(tested.id) ?? 'green').toBe('green');
    for (const u of untested) expect(colours.get(u.id)).toBe('yellow');
    const [{ n }] = await ctx.db.query<{ n: number }>("SELECT count(*)::int AS n FROM audit_log WHERE action = 'status' AND reason = 'screening round ended'");
    expect(n).toBe(untested.length);
    // Again: nothing changes twice.
    await refreshDue(ctx.db, ctx.preset, ctx.clock.now());
    expect((await ctx.db.query("SELECT 1 FROM audit_log WHERE action = 'status' AND reason = 'screening round ended'")).length).toBe(untested.length);
    // Sampled late: green again, through the upkeep that watches persons waiting for a test.
    expect((await srv.call('POST', '/api/v1/tubes/batch', { as: sampler, body: { tubes: [{ barcode: 'R2000002', samplingPointId: pointId, group: 'controlled', sampledAt: '2022-04-10T21:30:00Z', persons: [untested[0].code] }] } })).status).toBe(201);
    ctx.clock.set(new Date('2022-04-10T22:00:00Z'), 0);
    await refreshDue(ctx.db, ctx.preset, ctx.clock.now());
    const [back] = await ctx.db.query<{ colour: string }>('SELECT colour FROM person_status WHERE person_id = $1', [untested[0].id]);
    expect(back.colour).toBe('green');
  });

  it('turns an arrival red or yellow at the door, recorded only as an arrival that has happened, within the recorder’s street', async () => {
    const [inbound, medium] = [persons[150], persons[151]];
    const [other] = await ctx.db.query<{ id: number }>('SELECT id FROM streets WHERE id <> $1 ORDER BY id LIMIT 1', [inbound.street]);
    await ctx.db.tx(async (q) => {
      await createUser(q, { username: 'street', password: 'street-password', role: 'street_worker', streetId: inbound.street }, new Date());
      await createUser(q, { username: 'elsewhere', password: 'elsewhere-password', role: 'street_worker', streetId: other.id }, new Date());
    });
    const street = await srv.login('street', 'street-password');
    const elsewhere = await srv.login('elsewhere', 'elsewhere-password');
    const arrive = (p: P, body: Record<string, unknown>, as: Session = street) => srv.call('POST', `/api/v1/persons/${p.id}/arrivals`, { as, body });
    // Refused, and nothing recorded: an arrival still to come, no origin, a kind the rules do not know, another street's resident.
    const ahead = await arrive(inbound, { kind: 'inbound', origin: 'Singapore', arrivedAt: '2022-04-11T08:00:00Z' });
    expect([ahead.status, ahead.body.code]).toEqual([400, 'arrivalAhead']);
    expect((await arrive(inbound, { kind: 'inbound', origin: '  ', arrivedAt: '2022-04-10T08:00:00Z' })).body.code).toBe('originMissing');
    expect((await arrive(inbound, { kind: 'nearby', origin: 'Hangzhou', arrivedAt: '2022-04-10T08:00:00Z' })).status).toBe(400);
    expect((await arrive(inbound, { kind: 'inbound', origin: 'Singapore', arrivedAt: '2022-04-10T08:00:00Z' }, elsewhere)).status).toBe(404);
    expect(await ctx.db.query('SELECT 1 FROM arrivals')).toEqual([]);
    expect((await checkin(inbound.code)).body).toMatchObject({ admit: true, colour: 'green' });

    const recorded = await arrive(inbound, { kind: 'inbound', origin: 'Singapore', arrivedAt: '2022-04-10T08:00:00Z' });
    expect(recorded.status, recorded.text).toBe(201);
    expect(recorded.body).toMatchObject({ personId: inbound.id, kind: 'inbound', origin: 'Singapore', arrivedAt: '2022-04-10T08:00:00.000Z' });
    expect((await arrive(medium, { kind: 'mediumRisk', origin: 'Suzhou, Kunshan', arrivedAt: '2022-04-10T09:00:00Z' })).status).toBe(201);
    // The door sees each at once; it is told the kind of arrival, never where from.
    const red = await checkin(inbound.code);
    expect(red.body).toMatchObject({ admit: false, colour: 'red', reasons: [{ code: 'inbound', until: '2022-04-24T08:00:00.000Z' }] });
    expect(JSON.stringify(red.body)).not.toContain('Singapore');
    expect((await checkin(medium.code)).body).toMatchObject({ admit: false, colour: 'yellow', reasons: [{ code: 'mediumRiskArrival', until: '2022-04-17T09:00:00.000Z' }] });
    // The change of colour is audited with its fact, the recording with who recorded what.
    await refreshDue(ctx.db, ctx.preset, ctx.clock.now());
    expect((await statusAudits(inbound.id)).map((a) => a.detail)).toMatchObject([{ from: 'green', to: 'red', facts: [{ code: 'inbound', kind: 'arrival', id: recorded.body.id }] }]);
    const [entry] = await ctx.db.query<{ actor: string; detail: { kind: string; origin: string } }>("SELECT actor, detail FROM audit_log WHERE action = 'arrival' AND entity_id = $1", [String(inbound.id)]);
    expect(entry).toMatchObject({ actor: expect.stringContaining('street'), detail: { kind: 'inbound', origin: 'Singapore' } });
    const list = await srv.call('GET', `/api/v1/persons/${inbound.id}/arrivals`, { as: street });
    expect(list.body.items).toMatchObject([{ id: recorded.body.id, kind: 'inbound', origin: 'Singapore' }]);
    expect((await srv.call('GET', `/api/v1/persons/${inbound.id}/arrivals`, { as: elsewhere })).status).toBe(404);
  });

  it('holds a positive antigen self-test red as a suspected case until a negative PCR test sampled after it', async () => {
    const person = persons[152];
    const t0 = ctx.clock.now().getTime();
    const reported = await srv.call('POST', '/api/v1/antigen-reports', { as: city, body: { personId: person.id, result: 'positive', testedAt: new Date(t0 - 30 * 60_000).toISOString(), symptoms: true } });
    expect(reported.status, reported.text).toBe(201);
    expect((await checkin(person.code)).body).toMatchObject({ admit: false, colour: 'red', reasons: [{ code: 'suspected' }] });
    await refreshDue(ctx.db, ctx.preset, ctx.clock.now());
    expect((await statusAudits(person.id)).map((a) => a.detail)).toMatchObject([{ from: 'green', to: 'red', facts: [{ code: 'suspected', kind: 'antigenReport', id: reported.body.id }] }]);
    // The morning's negative test came before the antigen: it does not clear it. A PCR sampled after it does.
    const sampledAt = new Date(t0 - 10 * 60_000).toISOString();
    expect((await srv.call('POST', '/api/v1/tubes/batch', { as: sampler, body: { tubes: [{ barcode: 'AG000001', samplingPointId: pointId, group: 'controlled', sampledAt, persons: [person.code] }] } })).status).toBe(201);
    expect((await checkin(person.code)).body.colour).toBe('red');
    // The result arrives an hour later.
    ctx.clock.set(new Date(t0 + 60 * 60_000), 0);
    expect((await upload([`AG000001,negative,,,${new Date(t0 + 50 * 60_000).toISOString()}`])).status).toBe(200);
    await refreshDue(ctx.db, ctx.preset, ctx.clock.now());
    expect((await checkin(person.code)).body).toMatchObject({ admit: true, colour: 'green', reasons: [] });
    expect((await statusAudits(person.id)).map((a) => [a.detail.from, a.detail.to])).toEqual([
      ['green', 'red'],
      ['red', 'green'],
    ]);
  });

  it('answers entrances from memory once the index has loaded, and stops trusting a person the moment a fact of theirs changes', async () => {
    const door = doorIndexFor(ctx);
    await door.sync();
    const now = ctx.clock.now();
    expect(door.get(persons[0].code, now)).toMatchObject({ personId: persons[0].id, colour: 'green', lastNegativeSampledAt: new Date('2022-04-10T05:00:00Z') });
    expect(door.get(pool[3].code, now)).toMatchObject({ colour: 'red', reasons: [{ code: 'poolPositive' }] });
    expect(door.get('NOT-A-CODE', now)).toBeNull();
    // A fact recorded by this process: the index defers to the database at once, and trusts it again
    // once the upkeep has recomputed the person and the index has read the result.
    await ctx.db.tx((q) => markStatusStale(q, [pool[3].id], ctx.clock.now()));
    expect(door.get(pool[3].code, now)).toBeNull();
    expect((await checkin(pool[3].code)).body.colour).toBe('red');
    await refreshDue(ctx.db, ctx.preset, ctx.clock.now());
    await door.sync();
    await door.sync();
    expect(door.get(pool[3].code, now)).toMatchObject({ colour: 'red' });
    // The answer from memory is the answer from the database.
    const fromMemory = await checkin(pool[4].code);
    door.ready = false;
    const fromDatabase = await checkin(pool[4].code);
    door.ready = true;
    expect(fromMemory.body).toEqual(fromDatabase.body);
  });

  it('beside a long request, the index leaves new results for later but still reads whom to distrust', async () => {
    const door = doorIndexFor(ctx);
    await door.sync();
    const [a, b] = [persons[40], persons[41]];
    const tube = { barcode: 'LATE0001', samplingPointId: pointId, group: 'controlled', sampledAt: '2022-04-10T05:45:00Z', persons: [a.code] };
    expect((await srv.call('POST', '/api/v1/tubes/batch', { as: sampler, body: { tubes: [tube] } })).status).toBe(201);
    expect((await upload(['LATE0001,negative,,,2022-04-10T05:50:00Z'])).status).toBe(200);
    // Another server marks b: only the stored mark tells this one.
    await ctx.db.query('INSERT INTO status_stale (person_id, since) VALUES ($1, $2) ON CONFLICT DO NOTHING', [b.id, ctx.clock.now()]);
    const now = ctx.clock.now();
    await door.sync(() => true);
    expect(door.get(a.code, now)).toMatchObject({ lastNegativeSampledAt: new Date('2022-04-10T05:00:00Z') });
    expect(door.get(b.code, now)).toBeNull();
    await door.sync(() => false);
    expect(door.get(a.code, now)).toMatchObject({ lastNegativeSampledAt: new Date('2022-04-10T05:45:00Z') });
    await refreshDue(ctx.db, ctx.preset, ctx.clock.now());
    await door.sync();
    expect(door.get(b.code, now)).toMatchObject({ personId: b.id });
  });

  it('follows a tube while it is open, and reads the last samples of one closed between two looks, so that its result reaches every member', async () => {
    const door = doorIndexFor(ctx);
    const [a, b, c] = [persons[42], persons[43], persons[44]];
    const add = async (p: P) => expect((await srv.call('POST', '/api/v1/tubes/SHUT0001/samples', { as: sampler, body: { person: p.code } })).status).toBe(201);
    expect((await srv.call('POST', '/api/v1/tubes', { as: sampler, body: { barcode: 'SHUT0001', samplingPointId: pointId } })).status).toBe(201);
    await add(a);
    await door.sync();
    const now = ctx.clock.now();
    expect(door.get(a.code, now)).toMatchObject({ lastSampledAt: now });
    await add(b);
    await door.sync();
    expect(door.get(b.code, now)).toMatchObject({ lastSampledAt: now });
    // The last person goes in and the tube is closed before the index looks again.
    await add(c);
    expect((await srv.call('POST', '/api/v1/tubes/SHUT0001/close', { as: sampler })).status).toBe(200);
    await door.sync();
    expect((await upload(['SHUT0001,negative,,,2022-04-10T06:30:00Z'])).status).toBe(200);
    await door.sync();
    for (const p of [a, b, c]) expect(door.get(p.code, now)).toMatchObject({ personId: p.id, lastSampledAt: now, lastNegativeSampledAt: now });
  });

  it('reads a person’s tests again when a conflict puts another result in force, so that memory answers as the database does', async () => {
    const door = doorIndexFor(ctx);
    const x = persons[45];
    expect((await srv.call('POST', '/api/v1/tubes/batch', { as: sampler, body: { tubes: [{ barcode: 'TWICE001', samplingPointId: pointId, group: 'controlled', sampledAt: '2022-04-10T05:40:00Z', persons: [x.code] }] } })).status).toBe(201);
    expect((await upload(['TWICE001,negative,,,2022-04-10T05:50:00Z'])).status).toBe(200);
    await door.sync();
    const now = ctx.clock.now();
    expect(door.get(x.code, now)).toMatchObject({ lastNegativeSampledAt: new Date('2022-04-10T05:40:00Z') });
    // The lab sends a second, positive result for the tube; a person puts it in force.
    expect((await upload(['TWICE001,positive,22,23,2022-04-10T05:55:00Z'])).status).toBe(200);
    await door.sync();
    const conflicts = (await srv.call('GET', '/api/v1/results/conflicts', { as: city })).body.items as { id: number; barcode: string }[];
    const c = conflicts.find((i) => i.barcode === 'TWICE001')!;
    expect((await srv.call('POST', `/api/v1/results/conflicts/${c.id}/resolve`, { as: city, body: { keep: 'conflicting', reason: 'the lab confirmed the second run' } })).status).toBe(200);
    await refreshDue(ctx.db, ctx.preset, ctx.clock.now());
    await door.sync();
    await door.sync();
    expect(door.get(x.code, now)).toMatchObject({ colour: 'red', lastNegativeSampledAt: new Date('2022-04-10T05:00:00Z') });
    const fromMemory = await checkin(x.code);
    door.ready = false;
    const fromDatabase = await checkin(x.code);
    door.ready = true;
    expect(fromMemory.body).toEqual(fromDatabase.body);
  });

  it('reads again the status of a person recomputed between its read of statuses and its read of whom to distrust', async () => {
    const x = persons[46];
    // The upkeep's recomputation lands between the index's two reads (each statement sees its own moment).
    let between: (() => Promise<unknown>) | null = null;
    const db = {
      ...ctx.db,
      query: async (sql: string, params?: unknown[]) => {
        if (between && sql.startsWith('SELECT person_id FROM status_stale')) {
          const run = between;
          between = null;
          await run();
        }
        return ctx.db.query(sql, params);
      },
    } as Db;
    const door = new DoorIndex(db, ctx.preset, () => ctx.clock.now());
    try {
      await door.sync();
      const now = ctx.clock.now();
      expect(door.get(x.code, now)).toMatchObject({ personId: x.id, colour: 'green' });
      const reported = await srv.call('POST', '/api/v1/antigen-reports', { as: city, body: { personId: x.id, result: 'positive', testedAt: new Date(now.getTime() - 10 * 60_000).toISOString(), symptoms: true } });
      expect(reported.status, reported.text).toBe(201);
      expect(door.get(x.code, now)).toBeNull();
      between = () => refreshDue(ctx.db, ctx.preset, ctx.clock.now());
      await door.sync();
      expect(between).toBeNull();
      expect(door.get(x.code, now)).toMatchObject({ personId: x.id, colour: 'red', reasons: [{ code: 'suspected' }] });
    } finally {
      door.close();
    }
  });

  // Embedded PGlite commits one transaction at a time: there a lower id never commits after a higher one.
  it.runIf(engine === 'pg')('reads a tube and a result committed after later ones were read (a PostgreSQL server commits in any order)', async () => {
    const door = doorIndexFor(ctx);
    await door.sync();
    const [a, b] = [persons[47], persons[48]];
    const at = new Date(ctx.clock.now().getTime() - 20 * 60_000);
    const record = async (q: Queryable, barcode: string, personId: number) => {
      const [t] = await q.query<{ id: number }>("INSERT INTO tubes (barcode, capacity, opened_by, opened_at, closed_at, samples) VALUES ($1, 1, 'test', $2, $2, 1) RETURNING id", [barcode, at]);
      await q.query('INSERT INTO samples (tube_id, person_id, sampled_at) VALUES ($1, $2, $3)', [t.id, personId, at]);
      await q.query("INSERT INTO lab_results (tube_id, lab_id, result, resulted_at, verdict, state, received_at) VALUES ($1, $2, 'negative', $3, 'negative', 'applied', $3)", [t.id, labId, at]);
    };
    // The first transaction takes the lower ids and commits after the second was read.
    const released = signal();
    const inFirst = signal();
    const first = ctx.db.tx(async (q) => {
      await record(q, 'ORDER001', a.id);
      inFirst.fire();
      await released.done;
    });
    await Promise.race([inFirst.done, first]);
    await ctx.db.tx((q) => record(q, 'ORDER002', b.id));
    await door.sync();
    const now = ctx.clock.now();
    expect(door.get(b.code, now)).toMatchObject({ lastSampledAt: at, lastNegativeSampledAt: at });
    released.fire();
    await first;
    await door.sync();
    expect(door.get(a.code, now)).toMatchObject({ personId: a.id, lastSampledAt: at, lastNegativeSampledAt: at });
  });

  it.runIf(engine === 'pg')('sees every status another server stores, in the order the statuses commit', async () => {
    const door = doorIndexFor(ctx);
    const [a, b] = [persons[49], persons[50]];
    const now = ctx.clock.now();
    // Another server approves overrides and stores the statuses they give: this process hears of none of it.
    const override = async (q: Queryable, p: P, minutesAgo = 0) => {
      const at = new Date(now.getTime() - minutesAgo * 60_000);
      const [o] = await q.query<{ id: number }>(
        "INSERT INTO status_overrides (person_id, colour, reason, requested_by, requested_at, expires_at, approved_by, approved_at) VALUES ($1, 'red', 'isolation ordered by the district', 'user:1:a', $2, $3, 'user:2:b', $2) RETURNING id",
        [p.id, at, new Date(now.getTime() + 24 * 3_600_000)],
      );
      await refreshStatus(q, [p.id], ctx.preset, now, 'override approved elsewhere');
      return Number(o.id);
    };
    const overrideOf = (p: P) => door.get(p.code, now)?.reasons.find((r) => r.code === 'override')?.fact.id;
    const earlier = await ctx.db.tx((q) => override(q, a, 5));
    await door.sync();
    expect(door.get(a.code, now)).toMatchObject({ personId: a.id, colour: 'red' });
    expect(overrideOf(a)).toBe(earlier);
    // A later override for a keeps its colour (no audit entry, whose lock would have ordered the writers), and
    // its transaction commits only after b's has stored b's status and the index has looked.
    const released = signal();
    const stored = signal<number>();
    const first = ctx.db.tx(async (q) => {
      stored.fire(await override(q, a));
      await released.done;
    });
    const later = await Promise.race([stored.done, first.then(() => -1)]);
    // b's transaction commits, or waits for a's.
    const { outcome: second } = await whenWaitingOrDone(ctx.db, ctx.db.tx((q) => override(q, b)));
    await door.sync();
    released.fire();
    await Promise.all([first, second]);
    await door.sync();
    expect(door.get(b.code, now)).toMatchObject({ personId: b.id, colour: 'red' });
    expect(overrideOf(a)).toBe(later);
  });

  it.runIf(engine === 'pg')('reads a person at the door while the upkeep holds their mark, neither waiting for the other for ever', async () => {
    const x = persons[51];
    const now = ctx.clock.now();
    // A fact another server recorded: an approved override, and the person's mark.
    await ctx.db.query(
      "INSERT INTO status_overrides (person_id, colour, reason, requested_by, requested_at, expires_at, approved_by, approved_at) VALUES ($1, 'red', 'isolation ordered by the district', 'user:1:a', $2, $3, 'user:2:b', $2)",
      [x.id, now, new Date(now.getTime() + 24 * 3_600_000)],
    );
    await ctx.db.query('INSERT INTO status_stale (person_id, since) VALUES ($1, $2)', [x.id, now]);
    // The upkeep's batch as refreshDue runs it: the mark taken first, then the recomputation (here held in between).
    const going = signal();
    const holding = signal();
    const upkeep = ctx.db.tx(async (q) => {
      await q.query('SELECT person_id FROM status_stale WHERE person_id = $1 FOR UPDATE SKIP LOCKED', [x.id]);
      holding.fire();
      await going.done;
      await refreshStatus(q, [x.id], ctx.preset, now, 'facts recorded');
      await q.query('DELETE FROM status_stale WHERE person_id = $1', [x.id]);
    });
    await Promise.race([holding.done, upkeep]);
    // The door's read waits for the mark; then the upkeep goes on.
    const { outcome: done } = await whenWaitingOrDone(ctx.db, currentStatus(ctx.db, x.id, ctx.preset, now));
    going.fire();
    const [status] = await Promise.all([done, upkeep]);
    expect(status).toMatchObject({ colour: 'red' });
    expect((await ctx.db.query('SELECT 1 FROM status_stale WHERE person_id = $1', [x.id])).length).toBe(0);
  });

  it('keeps the venues in use when its cache is full, and reads a venue again only once it has dropped out', async () => {
    let reads = 0;
    const counted: Db = { ...ctx.db, query: (sql: string, params?: unknown[]) => (reads++, ctx.db.query(sql, params)) } as Db;
    const cache = new VenueCache(counted, ctx.preset, 60_000, 2);
    const ids = (await ctx.db.query<{ id: number }>('SELECT id FROM venues ORDER BY id LIMIT 4')).map((v) => v.id);
    const [v1, v2, v3, v4] = ids;
    const seen: number[] = [];
    for (const id of [v1, v2, v1, v3, v1, v4, v1]) seen.push((await cache.get(id)).id);
    // v1, in use all along, was read once; v2, unused for two generations, has dropped out.
    expect(reads).toBe(4);
    expect(seen).toEqual([v1, v2, v1, v3, v1, v4, v1]);
    expect(cache.cached(v1)?.id).toBe(v1);
    expect(cache.cached(v2)).toBeUndefined();
    expect((await cache.get(v2)).id).toBe(v2);
    expect(reads).toBe(5);
    await expect(cache.get(-1)).rejects.toMatchObject({ status: 404 });
  });

  it('reads the venues asked for at once in one query, an unknown one among them refused alone', async () => {
    let reads = 0;
    const counted: Db = { ...ctx.db, query: (sql: string, params?: unknown[]) => (reads++, ctx.db.query(sql, params)) } as Db;
    const cache = new VenueCache(counted, ctx.preset);
    const ids = (await ctx.db.query<{ id: number }>('SELECT id FROM venues ORDER BY id LIMIT 50')).map((v) => v.id);
    const answers = await Promise.allSettled([...ids, -1].map((id) => cache.get(id)));
    expect(reads).toBe(1);
    expect(answers.slice(0, 50).map((a) => (a.status === 'fulfilled' ? a.value.id : null))).toEqual(ids);
    expect(answers[50]).toMatchObject({ status: 'rejected', reason: { status: 404 } });
    // Kept: asked again, nothing is read.
    await Promise.all(ids.map((id) => cache.get(id)));
    expect(reads).toBe(1);
  });

  it('answers a venue kept too long from the cache at once, and reads it again meanwhile', async () => {
    let reads = 0;
    const counted: Db = { ...ctx.db, query: (sql: string, params?: unknown[]) => (reads++, ctx.db.query(sql, params)) } as Db;
    const cache = new VenueCache(counted, ctx.preset, 50);
    const [{ id }] = await ctx.db.query<{ id: number }>("SELECT id FROM venues WHERE kind = 'market' AND entry_rule IS NULL ORDER BY id LIMIT 1");
    const before = (await cache.get(id)).rule;
    try {
      await ctx.db.query(`UPDATE venues SET entry_rule = '{"negativePcrWithinHours": 24}' WHERE id = $1`, [id]);
      await new Promise((resolve) => setTimeout(resolve, 60));
      // Too old: still answered without waiting, as it was, and read again in the background.
      expect(cache.cached(id)?.rule).toEqual(before);
      expect(cache.cached(id)?.rule).toEqual(before);
      await new Promise((resolve) => setTimeout(resolve, 20));
      expect(reads).toBe(2);
      expect(cache.cached(id)?.rule.negativePcrWithinHours).toBe(24);
      expect(before.negativePcrWithinHours).not.toBe(24);
    } finally {
      await ctx.db.query('UPDATE venues SET entry_rule = NULL WHERE id = $1', [id]);
    }
  });

  it('loses no acknowledged scan when many arrive at once, by the lane and by Fastify together', async () => {
    await checkin(persons[0].code);
    const [{ n: before }] = await ctx.db.query<{ n: number }>('SELECT count(*)::int AS n FROM checkins WHERE venue_id = $1', [venue.id]);
    const served = lanesServed.requests;
    const answers = await Promise.all(persons.slice(100, 200).flatMap((p) => [checkin(p.code), checkin(p.code, scanner, {}, byFastify)]));
    expect(answers.every((a) => a.status === 201)).toBe(true);
    expect(lanesServed.requests - served).toBe(100);
    // The same person, the same moment: the same answer either way.
    expect(answers[0].body).toEqual(answers[1].body);
    const [{ n: after }] = await ctx.db.query<{ n: number }>('SELECT count(*)::int AS n FROM checkins WHERE venue_id = $1', [venue.id]);
    expect(after - before).toBe(200);
  });

  it('counts the use of codes and sentinels by district', async () => {
    const r = await srv.call('GET', '/api/v1/checkpoints/usage?days=1', { as: city });
    expect(r.status).toBe(200);
    const mine = r.body.districts.find((d: { districtId: number }) => d.districtId === persons[0].district) ?? r.body.districts[0];
    expect(r.body.districts.reduce((s: number, d: { venuesScanning: number }) => s + d.venuesScanning, 0)).toBe(2);
    expect(r.body.districts.reduce((s: number, d: { sentinels: number }) => s + d.sentinels, 0)).toBe(2);
    expect(mine.venues).toBeGreaterThan(0);
  });

  // Last: the zoning job runs here, and every compound has a zone from then on.
  it('refuses the residents of a controlled compound outside it, from memory as from the database, names it in their status, and follows a move', async () => {
    const p = persons[70];
    const [{ compound_id: home }] = await ctx.db.query<{ compound_id: number }>('SELECT compound_id FROM persons WHERE id = $1', [p.id]);
    const [{ id: elsewhere }] = await ctx.db.query<{ id: number }>('SELECT id FROM compounds WHERE id <> $1 ORDER BY id LIMIT 1', [home]);
    // A market on the street, and a shop inside the person's compound.
    const venueIn = async (code: string, compound: number | null) =>
      (await ctx.db.query<{ id: number }>("INSERT INTO venues (code, name, kind, district_id, compound_id, lon, lat) SELECT $1, $1, 'shop', district_id, $2, 121.4, 31.2 FROM compounds WHERE id = $3 RETURNING id", [code, compound, home]))[0].id;
    const market = await venueIn('MARKET', null);
    const homeVenue = await venueIn('HOME-SHOP', home);
    const at = (venueId: number) => srv.call('POST', '/api/v1/checkins', { as: city, body: { venueCode: signVenueCode(ctx.pii, venueId), person: p.code } });
    const door = doorIndexFor(ctx);
    const designated = await srv.call('POST', '/api/v1/zones/designations', { as: city, body: { compoundIds: [home], reason: 'Close contacts live here' } });
    expect(designated.status, designated.text).toBe(201);
    // Not until the zoning job has taken the designation in.
    expect((await at(market)).body.admit).toBe(true);
    await zoningUpkeep(ctx.db, ctx.preset, ctx.clock.now());
    await door.sync();
    const fromMemory = await at(market);
    expect(fromMemory.body).toMatchObject({ admit: false, colour: 'green', because: ['Lives in a controlled compound and may not leave it (rules.md 1-2, 11)', 'Negative PCR sampled within 72 h'] });
    expect(door.get(p.code, ctx.clock.now())?.home).toMatchObject({ compoundId: home, zone: 'controlled' });
    door.ready = false;
    const fromDatabase = await at(market);
    door.ready = true;
    expect(fromDatabase.body).toEqual(fromMemory.body);
    // A fact of theirs changed: the database computes their status afresh, and answers the same.
    await ctx.db.tx((q) => markStatusStale(q, [p.id], ctx.clock.now()));
    expect(door.get(p.code, ctx.clock.now())).toBeNull();
    expect((await at(market)).body).toEqual(fromMemory.body);
    // The compound's own shop admits them; so does a hospital's emergency entrance (rules.md 24).
    expect((await at(homeVenue)).body.admit).toBe(true);
    const device = await srv.call('POST', `/api/v1/venues/${hospital.id}/sentinels`, { as: city, body: { name: 'Emergency gate 2', entrance: 'emergency' } });
    const emergency = await srv.call('POST', '/api/v1/sentinel/checks', { body: { person: p.code }, headers: { 'x-device-token': device.body.token } });
    expect(emergency.body).toMatchObject({ admit: true, why: [{ code: 'emergency' }] });
    // The person reads it among their reasons; the colour stays green and no change of colour is audited.
    const status = await srv.call('GET', `/api/v1/persons/${p.id}/status`, { as: city });
    expect(status.body).toMatchObject({ colour: 'green', reasons: [{ code: 'controlledCompound', colour: 'green', fact: { kind: 'compoundZone', id: home }, rule: expect.stringMatching(/^rules\.md 2/) }] });
    expect(await statusAudits(p.id)).toEqual([]);
    // A sentinel at the main entrance words it as data.
    const main = await srv.call('POST', `/api/v1/venues/${market}/sentinels`, { as: city, body: { name: 'Main gate' } });
    const check = await srv.call('POST', '/api/v1/sentinel/checks', { body: { person: p.code }, headers: { 'x-device-token': main.body.token } });
    expect(check.body).toMatchObject({ admit: false, why: [{ code: 'confined', zone: 'controlled' }, { code: 'negativeWithin', hours: 72 }] });
    // Moved to another compound: marked like a fact, so the database answers at once, and the index trusts
    // the person again, with their new home, once the status upkeep has been by.
    await ctx.db.query('UPDATE persons SET compound_id = $2 WHERE id = $1', [p.id, elsewhere]);
    await door.sync();
    expect(door.get(p.code, ctx.clock.now())).toBeNull();
    expect((await at(market)).body).toMatchObject({ admit: true, because: ['Negative PCR sampled within 72 h'] });
    await refreshDue(ctx.db, ctx.preset, ctx.clock.now());
    await door.sync();
    expect(door.get(p.code, ctx.clock.now())).toMatchObject({ personId: p.id, home: null });
    expect((await at(market)).body).toMatchObject({ admit: true, because: ['Negative PCR sampled within 72 h'] });
    // Moved back, and recomputed before the index's next look (the mark gone before it was seen): the index
    // reads the move itself.
    await ctx.db.query('UPDATE persons SET compound_id = $2 WHERE id = $1', [p.id, home]);
    await refreshDue(ctx.db, ctx.preset, ctx.clock.now());
    await door.sync();
    expect(door.get(p.code, ctx.clock.now())?.home).toMatchObject({ compoundId: home, zone: 'controlled' });
    expect((await at(market)).body.admit).toBe(false);
  });

  it('keeps the residents of a building home while it stays sealed after its compound moved on (a positive in the sealed week)', async () => {
    // A building of two residents or more, in a compound with someone else in it too.
    const [b] = await ctx.db.query<{ building: number; compound: number; inside: number[]; other: number }>(
      `SELECT h.building_id AS building, h.compound_id AS compound, array_agg(p.id ORDER BY p.id) AS inside,
              (SELECT min(o.id) FROM persons o JOIN households oh ON oh.id = o.household_id WHERE oh.compound_id = h.compound_id AND oh.building_id <> h.building_id) AS other
         FROM persons p JOIN households h ON h.id = p.household_id
        WHERE h.compound_id NOT IN (SELECT compound_id FROM persons WHERE id = $1)
        GROUP BY h.building_id, h.compound_id HAVING count(*) >= 2 ORDER BY h.building_id LIMIT 1`,
      [persons[70].id],
    );
    expect(b.other).not.toBeNull();
    const [sick, resident] = b.inside.map(Number);
    const [{ code }] = await ctx.db.query<{ code: string }>('SELECT personal_code AS code FROM persons WHERE id = $1', [resident]);
    const d0 = ctx.clock.now();
    const days = (n: number) => new Date(d0.getTime() + n * 86_400_000);
    // Day 0 a case elsewhere in the compound seals it; day 3, inside its sealed week, a case in the building.
    // Seven clean days after it (day 10) the compound is controlled; the building stays sealed.
    ctx.clock.set(days(11), 0);
    const [first, second] = await ctx.db.tx(async (q) => [
      await openCase(q, { personId: Number(b.other), classification: 'confirmed', source: 'clinician', sampledAt: d0, reportedAt: d0 }, ctx.preset, 'test', days(0)),
      await openCase(q, { personId: sick, classification: 'confirmed', source: 'clinician', sampledAt: days(3), reportedAt: days(3) }, ctx.preset, 'test', days(3)),
    ]);
    await zoningUpkeep(ctx.db, ctx.preset, ctx.clock.now());
    const [zone] = await ctx.db.query<{ zone: string; sealed_buildings: { buildingId: number; caseId: number; releasedOn: string }[] }>(
      'SELECT zone, sealed_buildings FROM compound_zones WHERE compound_id = $1 ORDER BY day DESC LIMIT 1',
      [b.compound],
    );
    expect(zone).toMatchObject({ zone: 'controlled', sealed_buildings: [{ buildingId: b.building, caseId: second.caseId }] });
    expect(first.created).toBe(true);
    const releasedAt = new Date(`${zone.sealed_buildings[0].releasedOn}T00:00:00+08:00`);
    const door = doorIndexFor(ctx);
    await door.sync();
    expect(door.get(code, ctx.clock.now())?.home).toEqual({ compoundId: b.compound, zone: 'sealed', since: days(3), movesAt: releasedAt, building: { id: b.building, caseId: second.caseId } });
    // Refused even at a shop inside the compound, from memory as from the database; a hospital's emergency gate admits.
    const [{ id: shop }] = await ctx.db.query<{ id: number }>("INSERT INTO venues (code, name, kind, district_id, compound_id, lon, lat) SELECT 'SHOP-2', 'Shop 2', 'shop', district_id, id, 121.4, 31.2 FROM compounds WHERE id = $1 RETURNING id", [b.compound]);
    const at = () => srv.call('POST', '/api/v1/checkins', { as: city, body: { venueCode: signVenueCode(ctx.pii, shop), person: code } });
    const fromMemory = await at();
    expect(fromMemory.body).toMatchObject({ admit: false, because: ['Lives in a building still sealed after a positive in it, and may not leave it (rules.md 1)', 'No negative PCR sampled within 72 h'] });
    door.ready = false;
    expect((await at()).body).toEqual(fromMemory.body);
    door.ready = true;
    const device = await srv.call('POST', `/api/v1/venues/${hospital.id}/sentinels`, { as: city, body: { name: 'Emergency gate 3', entrance: 'emergency' } });
    expect((await srv.call('POST', '/api/v1/sentinel/checks', { body: { person: code }, headers: { 'x-device-token': device.body.token } })).body.admit).toBe(true);
    // The resident reads why, with the case that keeps the building sealed and the day it is released.
    const status = await srv.call('GET', `/api/v1/persons/${resident}/status`, { as: city });
    expect(status.body.reasons).toMatchObject([{ code: 'sealedBuilding', colour: 'green', fact: { kind: 'case', id: second.caseId }, until: releasedAt.toISOString() }]);
    // A household of the compound moves into the building (the registry's edit): its member is kept home too.
    const [mover] = await ctx.db.query<{ id: number; code: string; household: number }>(
      `SELECT p.id, p.personal_code AS code, p.household_id AS household FROM persons p JOIN households h ON h.id = p.household_id
        WHERE h.compound_id = $1 AND h.building_id <> $2 AND p.id <> $3
          AND NOT EXISTS (SELECT 1 FROM person_status s WHERE s.person_id = p.id) AND NOT EXISTS (SELECT 1 FROM status_stale st WHERE st.person_id = p.id)
        ORDER BY p.id LIMIT 1`,
      [b.compound, b.building, b.other],
    );
    await door.sync();
    expect(door.get(mover.code, ctx.clock.now())?.home).toMatchObject({ zone: 'controlled', building: null });
    expect((await srv.call('PATCH', `/api/v1/households/${mover.household}`, { as: city, body: { buildingId: b.building } })).status).toBe(200);
    await refreshDue(ctx.db, ctx.preset, ctx.clock.now());
    await door.sync();
    expect(door.get(mover.code, ctx.clock.now())?.home).toMatchObject({ zone: 'sealed', building: { id: b.building, caseId: second.caseId } });
    // Released at the start of its day, before the zoning job has computed the day: the compound's zone is theirs again.
    ctx.clock.set(releasedAt, 0);
    await door.sync();
    expect(door.get(code, ctx.clock.now())?.home?.building ?? null).toBeNull();
    const released = await srv.call('GET', `/api/v1/persons/${resident}/status`, { as: city });
    expect(released.body.reasons.map((r: { code: string }) => r.code)).not.toContain('sealedBuilding');
  });

  it('asks an arrival from a low-risk area for tests on 2 days within 3 without a quarantine order, turns them yellow when missed and green when made up', async () => {
    const person = persons[60];
    const { tests, withinDays } = ctx.preset.status.lowRiskArrival;
    const t0 = ctx.clock.now().getTime();
    const arrivedAt = new Date(t0 - 30 * 60_000);
    const due = new Date(arrivedAt.getTime() + withinDays * 86_400_000);
    const sample = (barcode: string, at: Date) => srv.call('POST', '/api/v1/tubes/batch', { as: sampler, body: { tubes: [{ barcode, samplingPointId: pointId, group: 'controlled', sampledAt: at.toISOString(), persons: [person.code] }] } });
    const status = async () => (await srv.call('GET', `/api/v1/persons/${person.id}/status`, { as: city })).body;
    const recorded = await srv.call('POST', `/api/v1/persons/${person.id}/arrivals`, { as: city, body: { kind: 'lowRisk', origin: 'Hangzhou', arrivedAt: arrivedAt.toISOString() } });
    expect(recorded.status, recorded.text).toBe(201);
    expect(recorded.body).toMatchObject({ kind: 'lowRisk', order: null });
    expect(await ctx.db.query('SELECT 1 FROM quarantine_orders WHERE person_id = $1', [person.id])).toEqual([]);
    // Green meanwhile, asked for the tests, and due to turn yellow when the days end.
    await refreshDue(ctx.db, ctx.preset, ctx.clock.now());
    expect(await status()).toMatchObject({ colour: 'green', changesAt: due.toISOString(), prompts: expect.arrayContaining([{ code: 'arrivalTests', since: arrivedAt.toISOString(), due: due.toISOString(), needed: tests, taken: 0, text: expect.any(String) }]) });
    expect((await checkin(person.code)).body.colour).toBe('green');
    // One day tested, then the days end: yellow, through the upkeep that finds statuses due by time, audited with the arrival.
    expect((await sample('LR000001', new Date(t0))).status).toBe(201);
    ctx.clock.set(new Date(t0 + 60 * 60_000), 0);
    expect((await status()).prompts).toEqual(expect.arrayContaining([expect.objectContaining({ code: 'arrivalTests', taken: 1 })]));
    ctx.clock.set(new Date(due.getTime() + 60 * 60_000), 0);
    await refreshDue(ctx.db, ctx.preset, ctx.clock.now());
    expect((await checkin(person.code)).body).toMatchObject({ admit: false, colour: 'yellow', reasons: [{ code: 'lowRiskArrivalUntested', until: null }] });
    expect((await statusAudits(person.id)).map((a) => a.detail)).toMatchObject([{ from: 'green', to: 'yellow', facts: [{ code: 'lowRiskArrivalUntested', kind: 'arrival', id: recorded.body.id }] }]);
    // Tested on a second day: green again, through the upkeep that watches persons waiting for a test.
    ctx.clock.set(new Date(due.getTime() + 90 * 60_000), 0);
    expect((await sample('LR000002', ctx.clock.now())).status).toBe(201);
    ctx.clock.set(new Date(due.getTime() + 2 * 60 * 60_000), 0);
    await refreshDue(ctx.db, ctx.preset, ctx.clock.now());
    expect((await checkin(person.code)).body).toMatchObject({ colour: 'green', reasons: [] });
    expect((await statusAudits(person.id)).map((a) => [a.detail.from, a.detail.to])).toEqual([
      ['green', 'yellow'],
      ['yellow', 'green'],
    ]);
  });
});
