// Livelihood scenarios over real HTTP on a hand-built town: a red-status person's medical emergency is
// dispatched and its deadline tracked, and the hospital's emergency entrance admits them; an overdue request
// escalates to the district once; a complaint reaches the supplier's record; supply rounds count households
// served and missed; a street sees only its own; the dashboard's times to answer.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testContext, testServer, uploadResultsCsv, type Session, type TestContext, type TestServer } from '../../test/harness.ts';
import { createUser } from '../core/users.ts';
import { escalateOverdue } from './store.ts';
import { buildSupportTown, code, TOWN_NOW } from './town.test-helpers.ts';

const PW = 'support-password';
const minutes = (n: number) => new Date(TOWN_NOW.getTime() + n * 60_000);

async function setUp(ctx: TestContext): Promise<void> {
  await ctx.db.tx((q) => buildSupportTown(q));
  await ctx.db.tx(async (q) => {
    const at = new Date();
    await createUser(q, { username: 'city', password: PW, role: 'city_command' }, at);
    await createUser(q, { username: 'district1', password: PW, role: 'district_command', districtId: 1 }, at);
    await createUser(q, { username: 'district2', password: PW, role: 'district_command', districtId: 2 }, at);
    await createUser(q, { username: 'street1', password: PW, role: 'street_worker', streetId: 1 }, at);
    await createUser(q, { username: 'street2', password: PW, role: 'street_worker', streetId: 2 }, at);
    await createUser(q, { username: 'resident1', password: PW, role: 'resident', personId: 1 }, at);
    await createUser(q, { username: 'resident3', password: PW, role: 'resident', personId: 3 }, at);
    await createUser(q, { username: 'hospital', password: PW, role: 'venue_operator', venueId: 1 }, at);
  });
}

describe('livelihood requests', () => {
  let ctx: TestContext;
  let srv: TestServer;
  let city: Session, district1: Session, district2: Session, street1: Session, street2: Session, resident1: Session, resident3: Session;
  let supplierId: number;

  beforeAll(async () => {
    ctx = await testContext({ now: TOWN_NOW });
    await setUp(ctx);
    srv = await testServer(ctx);
    [city, district1, district2, street1, street2, resident1, resident3] = await Promise.all(['city', 'district1', 'district2', 'street1', 'street2', 'resident1', 'resident3'].map((u) => srv.login(u, PW)));
  });
  afterAll(async () => {
    await srv?.close();
    await ctx?.close();
  });

  it('dispatches a red-status person’s medical emergency at once, tracks its deadline, and the hospital’s emergency entrance admits them', async () => {
    // Persons 1 and 2 share a positive pool: red until their single-tube retest.
    const batch = await srv.call('POST', '/api/v1/tubes/batch', { as: city, body: { tubes: [{ barcode: 'POOL0001', samplingPointId: 1, group: 'controlled', sampledAt: minutes(-120).toISOString(), persons: [code(1), code(2)] }] } });
    expect(batch.status, batch.text).toBe(201);
    const lab = { bearer: (await srv.call('POST', '/api/v1/tokens', { as: city, body: { name: 'lab', role: 'lab', labId: 1 } })).body.token };
    await uploadResultsCsv(srv, lab, 1, [`POOL0001,positive,28.1,29.0,${minutes(-30).toISOString()}`]);
    expect((await srv.call('GET', '/api/v1/persons/1/status', { as: city })).body.colour).toBe('red');

    const filed = await srv.call('POST', '/api/v1/support/requests', { as: resident1, body: { kind: 'medicalEmergency', details: 'Asthma attack, inhaler empty' } });
    expect(filed.status, filed.text).toBe(201);
    const deadline = new Date(TOWN_NOW.getTime() + ctx.preset.support.deadlineHours.medicalEmergency * 3_600_000).toISOString();
    expect(filed.body).toMatchObject({ personId: 1, kind: 'medicalEmergency', medical: true, priority: 1, status: 'open', deadlineAt: deadline, overdue: false, onBehalf: false, place: { streetId: 1, districtId: 1 } });
    expect(filed.body.dispatch).toMatchObject({ dispatch: true, medical: true, colour: 'red', precautions: ['closedLoopTransport'] });
    expect(filed.body.dispatch.reasons[0]).toMatch(/never gated/);
    // The street sees it first in its queue, with the minutes left.
    await srv.call('POST', '/api/v1/support/requests', { as: street1, body: { personId: 4, kind: 'food' } });
    const queue = await srv.call('GET', '/api/v1/support/requests', { as: street1 });
    expect(queue.body.items[0]).toMatchObject({ id: filed.body.id, kind: 'medicalEmergency', colour: 'red', minutesLeft: 60, overdue: false, name: '居民1', compound: '一号小区' });
    expect(queue.body.items.map((i: { kind: string }) => i.kind)).toEqual(['medicalEmergency', 'food']);
    // Another street does not see it at all.
    expect((await srv.call('GET', `/api/v1/support/requests/${filed.body.id}`, { as: street2 })).status).toBe(404);
    expect((await srv.call('POST', `/api/v1/support/requests/${filed.body.id}/dispatch`, { as: street2, body: {} })).status).toBe(404);

    ctx.clock.set(minutes(8), 0);
    const onWay = await srv.call('POST', `/api/v1/support/requests/${filed.body.id}/dispatch`, { as: street1, body: { team: '120 closed-loop ambulance' } });
    expect(onWay.status, onWay.text).toBe(200);
    expect(onWay.body).toMatchObject({ status: 'onTheWay', team: '120 closed-loop ambulance', answeredAt: minutes(8).toISOString(), onTheWayAt: minutes(8).toISOString() });

    // At the hospital: the emergency entrance never refuses, the main entrance refuses red.
    const venueOp = await srv.login('hospital', PW);
    const emergency = await srv.call('POST', '/api/v1/venues/1/sentinels', { as: venueOp, body: { name: 'ER door', entrance: 'emergency' } });
    const main = await srv.call('POST', '/api/v1/venues/1/sentinels', { as: venueOp, body: { name: 'Main door' } });
    expect(emergency.status, emergency.text).toBe(201);
    const sentinel = (token: string) => srv.call('POST', '/api/v1/sentinel/checks', { body: { person: code(1) }, headers: { 'x-device-token': token } });
    const er = await sentinel(emergency.body.token);
    expect(er.status, er.text).toBe(201);
    expect(er.body).toMatchObject({ admit: true, colour: 'red', entrance: 'emergency' });
    expect((await sentinel(main.body.token)).body).toMatchObject({ admit: false, colour: 'red' });

    ctx.clock.set(minutes(40), 0);
    const done = await srv.call('POST', `/api/v1/support/requests/${filed.body.id}/done`, { as: street1, body: { note: 'admitted at the emergency department' } });
    expect(done.body).toMatchObject({ status: 'done', overdue: false, doneAt: minutes(40).toISOString() });
    expect(done.body.events.map((e: { kind: string }) => e.kind)).toEqual(['filed', 'onTheWay', 'done']);
    const confirmed = await srv.call('POST', `/api/v1/support/requests/${filed.body.id}/feedback`, { as: resident1, body: { outcome: 'confirmed' } });
    expect(confirmed.body).toMatchObject({ feedback: 'confirmed', complaintId: null });
    // Every step is audited.
    const actions = (await ctx.db.query<{ action: string }>("SELECT action FROM audit_log WHERE entity = 'supportRequest' AND entity_id = $1 ORDER BY id", [String(filed.body.id)])).map((r) => r.action);
    expect(actions).toEqual(['support.file', 'support.onTheWay', 'support.done', 'support.confirmed']);
  });

  it('escalates an overdue request to its district once, as a task and an alert, and lists it as overdue', async () => {
    ctx.clock.set(minutes(60), 0);
    const filed = await srv.call('POST', '/api/v1/support/requests', { as: street1, body: { personId: 3, kind: 'dialysis', details: 'Thrice weekly dialysis, session due' } });
    expect(filed.body).toMatchObject({ onBehalf: true, priority: 2, dispatch: { colour: 'green', precautions: [] } });
    expect((await srv.call('GET', '/api/v1/support/overdue', { as: street1 })).body.items).toEqual([]);
    expect((await escalateOverdue(ctx.db, ctx.preset, ctx.clock.now())).escalated).toBe(0);

    // Past the dialysis deadline (and the food request's).
    const late = minutes(60 + ctx.preset.support.deadlineHours.food * 60 + 5);
    ctx.clock.set(late, 0);
    const overdue = await srv.call('GET', '/api/v1/support/overdue', { as: street1 });
    expect(overdue.body.items.map((i: { kind: string; overdue: boolean }) => [i.kind, i.overdue])).toEqual([['dialysis', true], ['food', true]]);
    expect(overdue.body.items[0].minutesLeft).toBeLessThan(0);
    const r = await srv.call('POST', '/api/v1/support/escalate', { as: district1 });
    expect(r.body).toEqual({ escalated: 2 });
    expect((await escalateOverdue(ctx.db, ctx.preset, ctx.clock.now())).escalated).toBe(0);

    const tasks = await ctx.db.query<{ kind: string; district_id: number; street_id: number | null; person_ids: number[]; source: { requestId: number; kind: string } }>("SELECT kind, district_id, street_id, person_ids, source FROM tasks WHERE kind = 'supportEscalation' ORDER BY id");
    expect(tasks).toHaveLength(2);
    expect(tasks.find((t) => t.source.requestId === filed.body.id)).toMatchObject({ district_id: 1, street_id: null, person_ids: [3], source: { kind: 'dialysis' } });
    const alerts = await ctx.db.query<{ severity: string; district_id: number; facts: { requestId: number } }>("SELECT severity, district_id, facts FROM alerts WHERE kind = 'supportOverdue' ORDER BY id");
    expect(alerts.map((a) => a.severity).sort()).toEqual(['critical', 'warning']);
    const detail = await srv.call('GET', `/api/v1/support/requests/${filed.body.id}`, { as: district1 });
    expect(detail.body).toMatchObject({ overdue: true, escalatedAt: late.toISOString() });
    expect(detail.body.events.at(-1)).toMatchObject({ kind: 'escalated', detail: { toDistrict: 1, severity: 'critical' } });
    // District 2 sees none of it.
    expect((await srv.call('GET', '/api/v1/support/overdue', { as: district2 })).body.items).toEqual([]);

    const dash = await srv.call('GET', '/api/v1/support/dashboard', { as: district1 });
    expect(dash.status, dash.text).toBe(200);
    expect(dash.body.total).toEqual({ open: 2, overdue: 2 });
    expect(dash.body.byKind).toEqual(expect.arrayContaining([{ kind: 'dialysis', open: 1, overdue: 1 }, { kind: 'food', open: 1, overdue: 1 }]));
    expect(dash.body.worstStreets).toMatchObject([{ streetId: 1, name: '一街', overdue: 2, overdueByKind: { dialysis: 1, food: 1 } }]);
    const all = dash.body.answerTimes.find((a: { kind: string }) => a.kind === 'all');
    expect(all).toMatchObject({ filed: 3, answered: 1, done: 1, answerP50: 8, answerP90: 8 });
    expect(all.doneP50).toBeCloseTo(40, -0.5);
    // The street sees the same figures, read from its own requests rather than the district's histogram.
    const mine = await srv.call('GET', '/api/v1/support/dashboard', { as: street1 });
    expect(mine.body.answerTimes[0]).toEqual(all);
    expect(mine.body.total).toEqual({ open: 2, overdue: 2 });
    // The tallies agree with a count over the requests.
    const [counted] = await ctx.db.query<{ open: number; escalated: number }>(
      "SELECT count(*)::int AS open, count(*) FILTER (WHERE escalated_at IS NOT NULL)::int AS escalated FROM support_requests WHERE status IN ('open', 'accepted', 'onTheWay')",
    );
    const [tallied] = await ctx.db.query<{ open: number; escalated: number }>('SELECT sum(open)::int AS open, sum(escalated)::int AS escalated FROM support_tallies');
    expect(tallied).toEqual(counted);
  });

  it('lands a complaint about spoiled goods on the supplier’s record and raises it to the district', async () => {
    const made = await srv.call('POST', '/api/v1/support/suppliers', { as: district1, body: { name: '盒马鲜生', contact: '021-0000' } });
    expect(made.status, made.text).toBe(201);
    supplierId = made.body.id;
    expect(made.body).toMatchObject({ districtId: 1, complaints: 0, deliveries: 0 });
    const twice = await srv.call('POST', '/api/v1/support/suppliers', { as: district1, body: { name: '盒马鲜生' } });
    expect(twice.status).toBe(409);
    expect(twice.body).toMatchObject({ status: 409, code: 'supplierExists', name: '盒马鲜生' });

    const food = await srv.call('POST', '/api/v1/support/requests', { as: resident3, body: { kind: 'food', details: 'Rice and vegetables for two' } });
    expect(food.status).toBe(201);
    // The resident cannot complain before the end, nor handle their own request.
    const early = await srv.call('POST', `/api/v1/support/requests/${food.body.id}/feedback`, { as: resident3, body: { outcome: 'complaint', kind: 'spoiled', text: 'x'.repeat(10) } });
    expect(early.status).toBe(409);
    // The problem's status stays its HTTP status; the request's own is requestStatus.
    expect(early.body).toMatchObject({ status: 409, code: 'feedbackAtEnd', requestId: food.body.id, requestStatus: 'open' });
    expect((await srv.call('POST', `/api/v1/support/requests/${food.body.id}/accept`, { as: resident3, body: {} })).status).toBe(403);
    expect((await srv.call('POST', `/api/v1/support/requests/${food.body.id}/accept`, { as: street1, body: { team: 'Volunteers A' } })).body.status).toBe('accepted');
    const done = await srv.call('POST', `/api/v1/support/requests/${food.body.id}/done`, { as: street1, body: { supplierId } });
    expect(done.body.supplier).toEqual({ id: supplierId, name: '盒马鲜生' });
    const complaint = await srv.call('POST', `/api/v1/support/requests/${food.body.id}/feedback`, { as: resident3, body: { outcome: 'complaint', kind: 'spoiled', text: 'The vegetables were rotten and the milk expired' } });
    expect(complaint.status, complaint.text).toBe(200);
    expect(complaint.body).toMatchObject({ feedback: 'complaint', complaintId: expect.any(Number) });
    const again = await srv.call('POST', `/api/v1/support/requests/${food.body.id}/feedback`, { as: resident3, body: { outcome: 'confirmed' } });
    expect(again.status).toBe(409);
    expect(again.body).toMatchObject({ code: 'feedbackGiven', requestId: food.body.id });

    const record = await srv.call('GET', `/api/v1/support/suppliers/${supplierId}`, { as: district1 });
    expect(record.body).toMatchObject({ name: '盒马鲜生', requestsDone: 1, complaints: 1, byKind: { spoiled: 1 }, deliveries: 1, complaintsPer100: 100 });
    expect(record.body.latest[0]).toMatchObject({ kind: 'spoiled', requestId: food.body.id, text: 'The vegetables were rotten and the milk expired' });
    const [alert] = await ctx.db.query<{ district_id: number; title: string; facts: unknown }>("SELECT district_id, title, facts FROM alerts WHERE kind = 'supplyComplaint'");
    expect(alert).toMatchObject({ district_id: 1, title: expect.stringContaining('盒马鲜生'), facts: { supplierId, supplierName: '盒马鲜生', kind: 'spoiled' } });
  });

  it('plans a supply round to a sealed compound, counts packages delivered and households missed, and takes complaints per supplier', async () => {
    const round = await srv.call('POST', '/api/v1/support/rounds', { as: street1, body: { compoundId: 1, supplierId, contents: '蔬菜包 (vegetables, 5 kg)', plannedFor: minutes(24 * 60).toISOString(), packagesPerHousehold: 2 } });
    expect(round.status, round.text).toBe(201);
    expect(round.body).toMatchObject({ compoundId: 1, streetId: 1, households: 4, residents: 8, packagesPlanned: 8, packagesDelivered: 0, householdsMissed: 0, status: 'open' });
    expect((await srv.call('POST', '/api/v1/support/rounds', { as: street2, body: { compoundId: 1, supplierId, contents: 'x', plannedFor: minutes(0).toISOString() } })).status).toBe(404);
    const id = round.body.id;
    const delivered = await srv.call('POST', `/api/v1/support/rounds/${id}/deliveries`, { as: street1, body: { delivered: [{ householdId: 1, packages: 2 }, { householdId: 2, packages: 2 }, { householdId: 3, packages: 1 }] } });
    expect(delivered.body).toMatchObject({ packagesDelivered: 5, householdsServed: 3 });
    const stranger = await srv.call('POST', `/api/v1/support/rounds/${id}/deliveries`, { as: street1, body: { delivered: [{ householdId: 5, packages: 1 }] } });
    expect(stranger.status).toBe(400);
    expect(stranger.body).toMatchObject({ code: 'householdsNotInRound', roundId: id, households: '5' });
    const closed = await srv.call('POST', `/api/v1/support/rounds/${id}/close`, { as: street1 });
    expect(closed.body).toMatchObject({ status: 'closed', householdsMissed: 1, closed: { missed: 1, taskCreated: true } });
    expect(closed.body.householdsList.find((h: { householdId: number }) => h.householdId === 4)).toMatchObject({ missed: true, packagesDelivered: 0, missedReason: 'nothing delivered when the round closed' });
    const [task] = await ctx.db.query<{ street_id: number; person_ids: number[] }>("SELECT street_id, person_ids FROM tasks WHERE kind = 'supplyMissed'");
    expect(task).toEqual({ street_id: 1, person_ids: [7, 8] });
    // The resident of household 1 complains about their package; it lands on the same supplier.
    const c = await srv.call('POST', `/api/v1/support/rounds/${id}/complaints`, { as: resident1, body: { kind: 'expired', text: 'Bread past its date' } });
    expect(c.status, c.text).toBe(201);
    const notMine = await srv.call('POST', `/api/v1/support/rounds/${id}/complaints`, { as: resident1, body: { householdId: 2, kind: 'expired', text: 'Not mine' } });
    expect(notMine.status).toBe(403);
    expect(notMine.body.code).toBe('complaintOwnHousehold');
    const list = await srv.call('GET', '/api/v1/support/rounds', { as: district1 });
    expect(list.body.items[0]).toMatchObject({ id, complaints: 1, packagesPlanned: 8, packagesDelivered: 5, householdsMissed: 1 });
    const record = await srv.call('GET', `/api/v1/support/suppliers/${supplierId}`, { as: district1 });
    expect(record.body).toMatchObject({ complaints: 2, byKind: { spoiled: 1, expired: 1 }, householdsServed: 3, packagesDelivered: 5, deliveries: 4, complaintsPer100: 50 });
  });

  it('lets only command refuse a medical request, for review; refuses a refill past the limit and a resident filing for another', async () => {
    const refill = await srv.call('POST', '/api/v1/support/requests', { as: street2, body: { personId: 9, kind: 'medicineRefill', prescriptionDays: ctx.preset.support.maxPrescriptionDays } });
    expect(refill.status, refill.text).toBe(201);
    expect(refill.body).toMatchObject({ prescriptionDays: ctx.preset.support.maxPrescriptionDays, medical: true, place: { streetId: 2 } });
    const tooLong = await srv.call('POST', '/api/v1/support/requests', { as: street2, body: { personId: 9, kind: 'medicineRefill', prescriptionDays: ctx.preset.support.maxPrescriptionDays + 1 } });
    expect(tooLong.status).toBe(400);
    expect(tooLong.headers.get('content-type')).toContain('application/problem+json');
    expect(tooLong.body.detail).toMatch(/at most 90 days/);
    expect(tooLong.body).toMatchObject({ code: 'refillTooLong', max: 90, asked: 91 });
    const forAnother = await srv.call('POST', '/api/v1/support/requests', { as: resident1, body: { personId: 3, kind: 'food' } });
    expect(forAnother.status).toBe(403);
    expect(forAnother.body.code).toBe('requestSelfOnly');
    expect((await srv.call('POST', '/api/v1/support/requests', { as: street2, body: { personId: 1, kind: 'food' } })).status).toBe(404);
    const byStreet = await srv.call('POST', `/api/v1/support/requests/${refill.body.id}/refuse`, { as: street2, body: { reason: 'Pharmacy closed' } });
    expect(byStreet.status).toBe(409);
    expect(byStreet.body.detail).toMatch(/never refused by a street/);
    expect(byStreet.body).toMatchObject({ status: 409, code: 'medicalRefusalByCommand', requestStatus: 'open', requestedStatus: 'refused' });
    const byDistrict = await srv.call('POST', `/api/v1/support/requests/${refill.body.id}/refuse`, { as: district1, body: { reason: 'Duplicate of a request already served today' } });
    expect(byDistrict.body).toMatchObject({ status: 'refused', refusal: 'Duplicate of a request already served today' });
    const [alert] = await ctx.db.query<{ severity: string; facts: { requestId: number } }>("SELECT severity, facts FROM alerts WHERE kind = 'supportMedicalRefused'");
    expect(alert).toMatchObject({ severity: 'critical', facts: { requestId: refill.body.id } });
    // A resident sees their own requests, every status.
    const mine = await srv.call('GET', '/api/v1/support/requests', { as: resident1 });
    expect(mine.body.items.map((i: { personId: number }) => i.personId)).toEqual([1]);
  });
});
