// Care scenarios over real HTTP on a hand-built town, under both presets: a positive single tube becomes a
// case and a bed; full shelters spill to the nearest district; racing admissions never share a bed; a case
// with no bed anywhere waits in the queue with its reason and an alert, and gets the bed that comes free;
// a referral holds its old bed until arrival; discharge needs the preset's results; the capacity picture.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testContext, testServer, uploadResultsCsv, type Session, type TestContext, type TestServer } from '../../test/harness.ts';
import { createUser } from '../core/users.ts';
import type { Queryable } from '../core/db.ts';
import { careUpkeep } from './store.ts';

const T0 = Date.parse('2022-04-10T00:00:00Z');
const at = (d: number, h = 0) => new Date(T0 + d * 86_400_000 + h * 3_600_000);

/** Districts 1-3 along a line (1 and 2 near, 3 far); persons 1-99 live in district 1. */
async function buildTown(q: Queryable): Promise<void> {
  for (const [d, lon] of [[1, 121.4], [2, 121.45], [3, 121.9]] as const) {
    await q.query('INSERT INTO districts (id, code, name) VALUES ($1, $2, $3)', [d, `D${d}`, `District ${d}`]);
    await q.query('INSERT INTO streets (id, code, district_id, name) VALUES ($1, $2, $1, $3)', [d, `S${d}`, `Street ${d}`]);
    await q.query('INSERT INTO compounds (id, code, street_id, district_id, name, centroid_lon, centroid_lat) VALUES ($1, $2, $1, $1, $3, $4, 31.2)', [d, `C${d}`, `Compound ${d}`, lon]);
  }
  for (let p = 1; p < 100; p++) {
    // Person 90 is 75 (high risk in cn-2022-9th only); 91 is on dialysis (both presets).
    const birth = p === 90 ? '1947-01-01' : '1985-01-01';
    await q.query(`INSERT INTO persons (id, personal_code, name, sex, birth_date, compound_id, street_id, district_id, care_needs) VALUES ($1, $2, $3, 'F', $4, 1, 1, 1, $5)`, [p, `PC${String(p).padStart(4, '0')}`, `Patient ${p}`, birth, p === 91 ? ['dialysis'] : []]);
  }
  // Shelters: 2 beds in district 1, 3 in district 2 (near), 50 in district 3 (far). Hospital in district 1:
  // 2 general beds and 1 ICU bed.
  await q.query(`INSERT INTO facilities (id, code, name, kind, district_id, lon, lat, beds_general, beds_icu) VALUES
    (1, 'F1', 'Shelter 1', 'shelterHospital', 1, 121.4, 31.2, 2, 0), (2, 'F2', 'Shelter 2', 'shelterHospital', 2, 121.45, 31.2, 3, 0),
    (3, 'F3', 'Shelter 3', 'shelterHospital', 3, 121.9, 31.2, 50, 0), (4, 'H1', 'Hospital 1', 'designatedHospital', 1, 121.41, 31.2, 2, 1)`);
  await q.query("INSERT INTO sampling_points (id, code, name, district_id, street_id, lon, lat) VALUES (1, 'P1', 'Point 1', 1, 1, 121.4, 31.2)");
  await q.query("INSERT INTO labs (id, code, name, district_id, daily_capacity) VALUES (1, 'L1', 'Lab 1', 1, 10000)");
  for (const t of ['districts', 'streets', 'compounds', 'persons', 'facilities', 'sampling_points', 'labs']) await q.query(`SELECT setval(pg_get_serial_sequence('${t}', 'id'), (SELECT max(id) FROM ${t}))`);
}

for (const presetId of ['shanghai-2022-05', 'cn-2022-9th']) {
  describe(`cases and care under ${presetId}`, () => {
    let ctx: TestContext;
    let srv: TestServer;
    let city: Session;
    let shelter1: Session;
    let lab: Session;
    const openCase = (personId: number, body: Record<string, unknown> = {}) => srv.call('POST', '/api/v1/care/cases', { as: city, body: { personId, classification: 'confirmed', sampledAt: at(0).toISOString(), ...body } });
    const occupied = async () => Object.fromEntries((await ctx.db.query<{ id: number; g: number; i: number }>('SELECT id, occupied_general AS g, occupied_icu AS i FROM facilities ORDER BY id')).map((r) => [r.id, [r.g, r.i]]));
    // Beds counted on the facilities must equal the beds the cases hold (assigned or admitted, and a referral's old bed).
    const held = async () =>
      Object.fromEntries(
        (await ctx.db.query<{ id: number; g: number; i: number }>(
          `SELECT f.id, count(*) FILTER (WHERE b.bed_type = 'general')::int AS g, count(*) FILTER (WHERE b.bed_type = 'icu')::int AS i
             FROM facilities f LEFT JOIN (SELECT facility_id AS fid, bed_type FROM cases WHERE facility_id IS NOT NULL UNION ALL SELECT leaving_facility_id, leaving_bed_type FROM cases WHERE leaving_facility_id IS NOT NULL) b ON b.fid = f.id
            GROUP BY f.id ORDER BY f.id`,
        )).map((r) => [r.id, [r.g, r.i]]),
      );
    const single = async (barcode: string, personId: number, sampledAt: Date) => {
      const r = await srv.call('POST', '/api/v1/tubes/batch', { as: city, body: { tubes: [{ barcode, samplingPointId: 1, group: 'sealed', sampledAt: sampledAt.toISOString(), persons: [`PC${String(personId).padStart(4, '0')}`] }] } });
      expect(r.status, r.text).toBeLessThan(300);
    };

    beforeAll(async () => {
      ctx = await testContext({ preset: presetId, now: at(1) });
      await ctx.db.tx((q) => buildTown(q));
      await ctx.db.tx(async (q) => {
        await createUser(q, { username: 'city', password: 'city-password', role: 'city_command' }, new Date());
        await createUser(q, { username: 'shelter1', password: 'shelter-password', role: 'facility_manager', facilityId: 1 }, new Date());
      });
      srv = await testServer(ctx);
      city = await srv.login('city', 'city-password');
      shelter1 = await srv.login('shelter1', 'shelter-password');
      const token = await srv.call('POST', '/api/v1/tokens', { as: city, body: { name: 'lab upload', role: 'lab', labId: 1 } });
      lab = { bearer: token.body.token };
    });
    afterAll(async () => {
      await srv?.close();
      await ctx?.close();
    });

    it('turns a positive single tube into a case with where it was found, a triage and a bed in its own district', async () => {
      await single('T0001', 1, at(0, 9));
      await uploadResultsCsv(srv, lab, 1, ['T0001,positive,25.1,26.3,2022-04-10T20:00:00Z']);
      const job = await careUpkeep(ctx.db, ctx.preset, ctx.clock.now());
      expect(job.opened).toBe(1);
      // Taking the same findings in again opens nothing.
      expect((await careUpkeep(ctx.db, ctx.preset, ctx.clock.now())).opened).toBe(0);
      const list = await srv.call('GET', '/api/v1/care/cases', { as: city });
      expect(list.body.items).toHaveLength(1);
      const c = list.body.items[0];
      expect(c).toMatchObject({ personId: 1, source: 'finding', classification: 'confirmed', state: 'assigned', destination: 'shelterHospital', severity: 'mild', foundAt: { districtId: 1, compoundId: 1 } });
      expect(c.bed).toMatchObject({ facilityId: 1, bedType: 'general' });
      expect(c.triage.reasons.join(' ')).toContain(`${presetId}@`);
      // Taking the bed is a transfer for the district to carry out, with the preset's deadline.
      const [task] = await ctx.db.query<{ status: string; district_id: number; person_ids: number[]; due_at: Date }>(`SELECT status, district_id, person_ids, due_at FROM tasks WHERE kind = 'transfer'`);
      expect(task).toMatchObject({ status: 'open', district_id: 1, person_ids: [1] });
      expect(new Date(task.due_at).getTime() - ctx.clock.now().getTime()).toBe(ctx.preset.command.taskDeadlineHours.transfer * 3_600_000);
      const status = await srv.call('GET', '/api/v1/persons/1/status', { as: city });
      expect(status.body.colour).toBe('red');
      expect(status.body.reasons.map((r: { code: string }) => r.code)).toContain('confirmed');
    });

    it('sends cases to the nearest district with beds when their own shelters are full, never the far one', async () => {
      expect((await openCase(2)).body.case.bed.facilityId).toBe(1); // the last bed of district 1
      const third = await openCase(3);
      expect(third.status).toBe(201);
      expect(third.body.case.bed).toMatchObject({ facilityId: 2, kind: 'shelterHospital' });
      expect(await occupied()).toMatchObject({ 1: [2, 0], 2: [1, 0], 3: [0, 0] });
    });

    it('never gives one bed twice when admissions race', async () => {
      // Shelter 2 has 2 beds left, then shelter 3 has 50: 12 cases at once take exactly 2 of 2 and 10 of 3.
      const rs = await Promise.all([...Array(12).keys()].map((i) => openCase(10 + i)));
      expect(rs.map((r) => r.status)).toEqual(Array(12).fill(201));
      const by = rs.reduce<Record<number, number>>((m, r) => ((m[r.body.case.bed.facilityId] = (m[r.body.case.bed.facilityId] ?? 0) + 1), m), {});
      expect(by).toEqual({ 2: 2, 3: 10 });
      expect(await occupied()).toEqual(await held());
      expect((await occupied())[2]).toEqual([3, 0]);
      // The same case assigned twice at once keeps one bed.
      const c = rs[0].body.case.id;
      await Promise.all([srv.call('POST', `/api/v1/care/cases/${c}/assign`, { as: city }), srv.call('POST', `/api/v1/care/cases/${c}/assign`, { as: city })]);
      expect(await occupied()).toEqual(await held());
    });

    it('sends a high-risk case to a designated hospital as the preset says', async () => {
      const dialysis = await openCase(91);
      expect(dialysis.body.case).toMatchObject({ destination: 'designatedHospital', bed: { facilityId: 4, bedType: 'general' } });
      const elderly = await openCase(90);
      // Age 75 sends a mild case to hospital under the national guideline, not under Shanghai's May rules.
      expect(elderly.body.case.destination).toBe(presetId === 'cn-2022-9th' ? 'designatedHospital' : 'shelterHospital');
    });

    it('queues a case with no bed of its kind anywhere, with the reason and an alert, and places it when a bed comes free', async () => {
      const first = await openCase(30, { observation: { mechanicalVentilation: true } });
      expect(first.body.case).toMatchObject({ severity: 'critical', destination: 'icu', bed: { facilityId: 4, bedType: 'icu' } });
      const second = await openCase(31, { observation: { shock: true } });
      expect(second.status).toBe(201);
      expect(second.body.case).toMatchObject({ state: 'waiting', destination: 'icu', bed: null });
      expect(second.body.case.queueReason).toMatch(/No free ICU bed/);
      const queue = await srv.call('GET', '/api/v1/care/queue', { as: city });
      expect(queue.body.items.map((i: { caseId: number }) => i.caseId)).toContain(second.body.case.id);
      const entry = queue.body.items.find((i: { caseId: number }) => i.caseId === second.body.case.id);
      expect(entry).toMatchObject({ destination: 'icu', reason: second.body.case.queueReason, reportedAt: expect.any(String) });
      const [alert] = await ctx.db.query<{ kind: string; severity: string; facts: { caseId: number }; resolved_at: Date | null }>("SELECT kind, severity, facts, resolved_at FROM alerts WHERE kind = 'noBed'");
      expect(alert).toMatchObject({ severity: 'critical', facts: { caseId: second.body.case.id }, resolved_at: null });
      // The job tries again and still finds nothing: the case stays, nothing is dropped or raised twice.
      await careUpkeep(ctx.db, ctx.preset, ctx.clock.now());
      expect((await srv.call('GET', `/api/v1/care/cases/${second.body.case.id}`, { as: city })).body.state).toBe('waiting');
      expect(await ctx.db.query("SELECT 1 FROM alerts WHERE kind = 'noBed'")).toHaveLength(1);
      // The first patient dies: the ICU bed comes free and the waiting case gets it.
      expect((await srv.call('POST', `/api/v1/care/cases/${first.body.case.id}/death`, { as: city, body: { cause: 'respiratory failure' } })).status).toBe(200);
      const placed = await careUpkeep(ctx.db, ctx.preset, ctx.clock.now());
      expect(placed.placed).toBeGreaterThanOrEqual(1);
      const after = await srv.call('GET', `/api/v1/care/cases/${second.body.case.id}`, { as: city });
      expect(after.body).toMatchObject({ state: 'assigned', bed: { facilityId: 4, bedType: 'icu' }, waitingSince: null });
      expect(after.body.events.map((e: { kind: string }) => e.kind)).toEqual(['reported', 'observation', 'triaged', 'queued', 'bedTaken']);
      expect((await ctx.db.query<{ resolved_at: Date | null }>("SELECT resolved_at FROM alerts WHERE kind = 'noBed'"))[0].resolved_at).not.toBeNull();
      expect(await occupied()).toEqual(await held());
    });

    it('refers a worsening shelter patient to hospital, holding the shelter bed until arrival', async () => {
      const c = (await srv.call('GET', '/api/v1/care/cases?state=assigned', { as: city })).body.items.find((x: { personId: number }) => x.personId === 2);
      expect((await srv.call('POST', `/api/v1/care/cases/${c.id}/admit`, { as: shelter1 })).body.state).toBe('admitted');
      expect((await ctx.db.query<{ status: string }>(`SELECT status FROM tasks WHERE dedupe_key = $1`, [`transfer:${c.id}:1:general`]))[0].status).toBe('done');
      const worse = await srv.call('POST', `/api/v1/care/cases/${c.id}/observations`, { as: shelter1, body: { spo2: 91, temperature: 38.5 } });
      expect(worse.status, worse.text).toBe(200);
      const want = presetId === 'cn-2022-9th' ? 'icu' : 'designatedHospital';
      expect(worse.body).toMatchObject({ severity: 'severe', triage: { destination: want } });
      const moved = (await srv.call('GET', `/api/v1/care/cases/${c.id}`, { as: city })).body;
      if (want === 'icu') {
        // The only ICU bed is taken: the patient waits in the shelter bed they have, in the queue.
        expect(moved).toMatchObject({ state: 'admitted', bed: { facilityId: 1 }, destination: 'icu', queueReason: expect.stringMatching(/ICU/) });
      } else {
        expect(moved).toMatchObject({ state: 'assigned', bed: { facilityId: 4, bedType: 'general' }, leavingBed: { facilityId: 1, bedType: 'general' } });
        expect((await occupied())[1]).toEqual([2, 0]); // still held
        expect((await srv.call('POST', `/api/v1/care/cases/${c.id}/admit`, { as: city })).body).toMatchObject({ state: 'admitted', leavingBed: null });
        expect((await occupied())[1]).toEqual([1, 0]);
        expect(moved.events.map((e: { kind: string }) => e.kind)).toContain('referred');
      }
      expect(await occupied()).toEqual(await held());
    });

    it('keeps a facility to its own patients', async () => {
      const mine = await srv.call('GET', '/api/v1/care/cases', { as: shelter1 });
      expect(mine.body.items.length).toBeGreaterThan(0);
      expect(mine.body.items.every((c: { bed: { facilityId: number } | null; leavingBed: { facilityId: number } | null }) => c.bed?.facilityId === 1 || c.leavingBed?.facilityId === 1)).toBe(true);
      const other = (await srv.call('GET', '/api/v1/care/cases', { as: city })).body.items.find((c: { bed: { facilityId: number } | null }) => c.bed?.facilityId === 3);
      expect((await srv.call('GET', `/api/v1/care/cases/${other.id}`, { as: shelter1 })).status).toBe(404);
      expect((await srv.call('POST', `/api/v1/care/cases/${other.id}/admit`, { as: shelter1 })).status).toBe(404);
    });

    it('draws the capacity picture: beds by kind and district, the queue, admissions per day and days left', async () => {
      const cap = await srv.call('GET', '/api/v1/care/capacity', { as: city });
      expect(cap.status).toBe(200);
      const shelters = cap.body.kinds.find((k: { kind: string }) => k.kind === 'shelterHospital');
      const occ = await occupied();
      expect(shelters).toMatchObject({ total: 55, occupied: occ[1][0] + occ[2][0] + occ[3][0], available: 55 - (occ[1][0] + occ[2][0] + occ[3][0]) });
      expect(shelters.byDistrict.map((d: { districtId: number }) => d.districtId)).toEqual([1, 2, 3]);
      expect(shelters.perDay.at(-1).occupied).toBe(shelters.occupied);
      // Every bed was taken on the town's first day (local date 2022-04-11): the day before held none.
      const first = shelters.perDay.find((d: { day: string }) => d.day === '2022-04-11');
      expect(first.taken - first.released).toBe(shelters.occupied);
      expect(shelters.perDay.find((d: { day: string }) => d.day === '2022-04-10')).toMatchObject({ occupied: 0 });
      expect(shelters.admissionsPerDay).toBeGreaterThan(0);
      expect(shelters.daysLeft).toBeCloseTo(shelters.available / shelters.admissionsPerDay, 0);
      const beds = await srv.call('GET', '/api/v1/care/beds', { as: city });
      expect(beds.body.items.find((f: { facilityId: number }) => f.facilityId === 4)).toMatchObject({ icu: { total: 1, occupied: occ[4][1], available: 1 - occ[4][1] } });
    });

    it('discharges only with two results of Ct >= 35 at least 24 h apart, then home monitoring', async () => {
      const c = (await srv.call('GET', '/api/v1/care/cases', { as: city })).body.items.find((x: { personId: number }) => x.personId === 1);
      await srv.call('POST', `/api/v1/care/cases/${c.id}/admit`, { as: shelter1 });
      let refused = await srv.call('POST', `/api/v1/care/cases/${c.id}/discharge`, { as: shelter1 });
      expect(refused.status).toBe(409);
      expect(refused.headers.get('content-type')).toContain('application/problem+json');
      expect(refused.body.missing.join(' ')).toMatch(/Ct >= 35/);
      // The same as data, for a page to word in its reader's language.
      expect(refused.body.missingWhy).toEqual([expect.objectContaining({ code: 'moreResults', count: 2, ct: 35, hours: 24 })]);
      expect(refused.body).toMatchObject({ code: 'dischargeNotReady', caseId: c.id });
      // Day 7 and day 8 (24 h apart): Ct 36/37 (a "positive" under the Ct 40 cutoff, still >= 35), then negative.
      ctx.clock.set(at(7, 21), 0);
      await single('D0001', 1, at(7, 8));
      await uploadResultsCsv(srv, lab, 1, ['D0001,positive,36.2,37.1,2022-04-17T20:00:00Z']);
      expect((await careUpkeep(ctx.db, ctx.preset, ctx.clock.now())).opened).toBe(0); // the low positive is an event of the open case
      refused = await srv.call('POST', `/api/v1/care/cases/${c.id}/discharge`, { as: shelter1 });
      expect(refused.status).toBe(409);
      ctx.clock.set(at(8, 21), 0);
      await single('D0002', 1, at(8, 9));
      await uploadResultsCsv(srv, lab, 1, ['D0002,negative,,,2022-04-18T20:00:00Z']);
      const ready = await srv.call('GET', '/api/v1/care/discharges', { as: shelter1 });
      expect(ready.body.items.map((i: { caseId: number }) => i.caseId)).toEqual([c.id]);
      const done = await srv.call('POST', `/api/v1/care/cases/${c.id}/discharge`, { as: shelter1 });
      expect(done.status, done.text).toBe(200);
      expect(done.body).toMatchObject({ state: 'discharged', bed: null, readiness: { ready: true } });
      // Discharged, the case cannot be discharged again (command still reaches it; the shelter no longer does).
      const twice = await srv.call('POST', `/api/v1/care/cases/${c.id}/discharge`, { as: city });
      expect(twice.status).toBe(409);
      expect(twice.body).toMatchObject({ status: 409, code: 'caseNotAdmitted', caseId: c.id, caseState: 'discharged' });
      expect(Date.parse(done.body.monitoringUntil) - Date.parse(done.body.dischargedAt)).toBe(ctx.preset.discharge.homeMonitoringDays * 86_400_000);
      const status = await srv.call('GET', '/api/v1/persons/1/status', { as: city });
      expect(status.body.colour).not.toBe('red');
      if (presetId === 'cn-2022-9th') expect(status.body.reasons.map((r: { code: string }) => r.code)).toContain('dischargedMonitoring');
      expect(await occupied()).toEqual(await held());
      // A positive soon after the discharge is a re-positive of the same case, not a new case.
      ctx.clock.set(at(10, 21), 0);
      await single('D0003', 1, at(10, 9));
      await uploadResultsCsv(srv, lab, 1, ['D0003,positive,33.0,34.0,2022-04-20T20:00:00Z']);
      expect((await careUpkeep(ctx.db, ctx.preset, ctx.clock.now())).opened).toBe(0);
      const after = await srv.call('GET', `/api/v1/care/cases/${c.id}`, { as: city });
      expect(after.body.events.at(-1)).toMatchObject({ kind: 'finding', detail: { repositive: true } });
      expect((await ctx.db.query('SELECT id FROM cases WHERE person_id = 1')).length).toBe(1);
    });

    it('refuses bad input and changes nothing', async () => {
      const before = await ctx.db.query('SELECT count(*)::int AS n FROM cases');
      expect((await openCase(99999)).status).toBe(404);
      expect((await openCase(50, { classification: 'maybe' })).status).toBe(400);
      expect((await openCase(50, { sampledAt: at(30).toISOString() })).status).toBe(400);
      expect((await openCase(50, { observation: { spo2: 140 } })).status).toBe(400);
      expect(await ctx.db.query('SELECT count(*)::int AS n FROM cases')).toEqual(before);
    });
  });
}
