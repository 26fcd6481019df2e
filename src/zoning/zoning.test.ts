// Zoning over real HTTP on a hand-built 3 x 3 grid of compounds, under both presets: cases opened as the
// cases capability opens them (openCases), screenings as tubes, samples and lab results; the job's stored
// zones equal zoneOn and epidemicFree on every day, for every compound, after the first run and after new
// cases, results and days; each case's level with the fact that decided it; the free areas of the grid;
// district clearance; the counts; the GeoJSON map (shape, no personal data) and who may read what; the
// command's designations of compounds under control and their withdrawals, taken in like any other fact.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testContext, testServer, type Session, type TestContext, type TestServer } from '../../test/harness.ts';
import { createUser } from '../core/users.ts';
import { openCases } from '../cases/store.ts';
import { districtClearance, epidemicFree, freeAreas, zoneOn, type CompoundFacts } from './rules.ts';
import { D, EDGES, GRID, POPULATION, TZ, at, building, buildGrid, person, screen } from './grid.test-helpers.ts';
import { zoningUpkeep } from './store.ts';
import { localDay } from '../core/days.ts';
import { societyCasesByDay, zoneCountsOn } from './index.ts';

for (const presetId of ['shanghai-2022-05', 'cn-2022-9th']) {
  describe(`zoning under ${presetId}`, () => {
    let ctx: TestContext;
    let srv: TestServer;
    let city: Session;
    let district2: Session;
    let street30: Session;
    let epi: Session;
    const caseIds: Record<string, number> = {};
    /** What the test itself knows of each compound: its cases and its all-negative screening days. */
    const known = new Map<number, CompoundFacts>(GRID.map((c) => [c.id, { cases: [], screenings: [] }]));
    const allNegative = (compound: number, day: number) => known.get(compound)!.screenings.push({ day: D(day), allNegative: true });

    const open = async (name: string, personId: number, day: number, hour = 10, minute = 0) => {
      const reportedAt = at(day, hour, minute);
      const [r] = await ctx.db.tx((q) => openCases(q, [{ personId, classification: 'confirmed', source: 'finding', sampledAt: new Date(reportedAt.getTime() - 3_600_000), reportedAt }], ctx.preset, 'test', reportedAt));
      caseIds[name] = r.caseId;
      const compound = Math.floor(personId / 100);
      known.get(compound)!.cases.push({ id: r.caseId, day: localDay(reportedAt, TZ), buildingId: building(compound, personId % 100 <= 3 ? 1 : 2) });
    };
    const upkeep = async (day: number, full = false) => {
      ctx.clock.set(at(day, 23, 30), 0);
      return zoningUpkeep(ctx.db, ctx.preset, ctx.clock.now(), { full });
    };
    /** Every stored zone of every compound equals what the rules say from the facts the test made. */
    const expectStoredMatchRules = async (from: number, to: number) => {
      for (let d = from; d <= to; d++) {
        const r = await srv.call('GET', `/api/v1/zones?day=${D(d)}`, { as: city });
        expect(r.status, r.text).toBe(200);
        expect(r.body.items).toHaveLength(9);
        const free = new Set<number>();
        for (const item of r.body.items) {
          const f = known.get(item.compoundId)!;
          const z = zoneOn(f, ctx.preset, D(d));
          const e = epidemicFree(f, ctx.preset, D(d));
          expect({ compound: item.compoundId, day: item.day, zone: item.zone, since: item.since, clockFrom: item.clockFrom, reason: item.reason, moves: item.moves, sealedBuildings: item.sealedBuildings }).toEqual({
            compound: item.compoundId,
            day: D(d),
            zone: z.zone,
            since: z.since,
            clockFrom: z.clockFrom,
            reason: z.reason,
            moves: z.moves,
            sealedBuildings: z.sealedBuildings,
          });
          expect([item.compoundId, D(d), item.epidemicFree.free, item.epidemicFree.since, item.epidemicFree.freeOn]).toEqual([item.compoundId, D(d), e.free, e.since, e.freeOn]);
          if (e.free) free.add(item.compoundId);
        }
        // Free areas as freeAreas finds them on the grid, each named by its smallest compound.
        const areas = freeAreas(GRID, EDGES, free, ctx.preset);
        for (const item of r.body.items) expect([D(d), item.compoundId, item.epidemicFree.areaId]).toEqual([D(d), item.compoundId, areas.areas.find((a) => a.includes(item.compoundId))?.[0] ?? null]);
        const fa = await srv.call('GET', `/api/v1/zones/free-areas?day=${D(d)}`, { as: city });
        expect(fa.body.areas.map((a: { members: number[] }) => a.members)).toEqual(areas.areas);
        expect([fa.body.streets, fa.body.districts]).toEqual([areas.streets, areas.districts]);
      }
    };

    /** The stretches of unchanged days the rules give over days `from`..`to`, all compounds together (each is one stored row). */
    const stretches = (from: number, to: number) => {
      let n = 0;
      for (const c of GRID) {
        const f = known.get(c.id)!;
        let was = '';
        for (let d = from; d <= to; d++) {
          const z = zoneOn(f, ctx.preset, D(d));
          const e = epidemicFree(f, ctx.preset, D(d));
          const v = JSON.stringify([z.zone, z.since, z.clockFrom, z.reason, z.moves, z.sealedBuildings, e.free, e.since, e.freeOn]);
          if (v !== was) n++;
          was = v;
        }
      }
      return n;
    };
    const stored = async () => Number((await ctx.db.query<{ n: number }>('SELECT count(*)::int AS n FROM compound_zones'))[0].n);

    beforeAll(async () => {
      ctx = await testContext({ preset: presetId, now: at(0, 8) });
      await ctx.db.tx((q) => buildGrid(q));
      await ctx.db.tx(async (q) => {
        await createUser(q, { username: 'city', password: 'city-password', role: 'city_command' }, new Date());
        await createUser(q, { username: 'district2', password: 'district-password', role: 'district_command', districtId: 2 }, new Date());
        await createUser(q, { username: 'street30', password: 'street-password', role: 'street_worker', streetId: 30 }, new Date());
        await createUser(q, { username: 'epi', password: 'epi-password', role: 'epidemiologist' }, new Date());
      });
      srv = await testServer(ctx);
      city = await srv.login('city', 'city-password');
      district2 = await srv.login('district2', 'district-password');
      street30 = await srv.login('street30', 'street-password');
      epi = await srv.login('epi', 'epi-password');

      // Control the cases are found under: resident 1 of compound 1 in quarantine from day 1; resident 1 of
      // compound 9 in a positive pool's retest from day 4.
      await ctx.db.query(
        `INSERT INTO quarantine_orders (id, person_id, level, last_exposure_at, ends_at, tests, rule, preset, issued_by, issued_at) VALUES (77, $1, 'close', $2, $3, '[]', 'test', 'test', 'test', $2)`,
        [person(1, 1), at(1), at(15)],
      );
      await ctx.db.query(`INSERT INTO pool_controls (person_id, pool_tube_id, since, retest_due, reason, preset) VALUES ($1, 555, $2, $3, 'test', 'test')`, [person(9, 1), at(4), at(5)]);

      // Screening: every compound every day from day 0 to day 12, all negative but compound 5 on days 0-5
      // (its positives) and compound 4 on day 6 (an invalid tube).
      await ctx.db.tx(async (q) => {
        for (let d = 0; d <= 12; d++) {
          await screen(q, d, GRID.map((c) => c.id), (c) => (c === 5 && d <= 5 ? 'positive' : c === 4 && d === 6 ? 'invalid' : 'negative'));
          for (const c of GRID) if (!(c.id === 5 && d <= 5) && !(c.id === 4 && d === 6)) allNegative(c.id, d);
        }
      });
      // The cases of days 0 to 12.
      await open('first', person(5, 1), 0, 10); // compound 5 was precaution: society level; it seals the compound
      await open('sameFinding', person(5, 2), 0, 10); // reported with it: society level too
      await open('laterSameDay', person(5, 3), 0, 15); // the compound was sealed that morning
      await open('quarantined', person(1, 1), 2); // in quarantine
      await open('inSealedWeek', person(5, 4), 3); // sealed since day 0; building 52 stays sealed to day 14
      await open('poolRetest', person(9, 1), 5); // under a positive pool's retest
      await open('sealedBuilding', person(5, 5), 11); // compound 5 has moved on, building 52 is still sealed
      await open('society', person(3, 1), 12); // compound 3: precaution, no control
    });
    afterAll(async () => {
      await srv?.close();
      await ctx?.close();
    });

    it('refuses to answer before the job has run, then stores every day of every compound as zoneOn and epidemicFree say', async () => {
      const before = await srv.call('GET', '/api/v1/zones', { as: city });
      expect(before.status).toBe(409);
      expect(before.headers.get('content-type')).toContain('application/problem+json');
      expect(before.body.code).toBe('zonesNotYet');
      const r = await upkeep(12);
      expect(r).toMatchObject({ full: true, firstDay: D(0), lastDay: D(12), cases: 8, compounds: 9 });
      // Stored as stretches of unchanged days: one row per compound per stretch.
      expect(r.rows).toBe(stretches(0, 12));
      expect(await stored()).toBe(stretches(0, 12));
      await expectStoredMatchRules(0, 12);
      // Nothing new: nothing done.
      expect(await upkeep(12)).toMatchObject({ full: false, cases: 0, compounds: 0, fromDay: null, rows: 0 });
    });

    it('decides each case’s level at its detection, with the fact that decided it', async () => {
      const levels = new Map(
        (await ctx.db.query<{ case_id: number; level: string; fact: Record<string, unknown>; day: string; district_id: number }>('SELECT case_id, level, fact, day, district_id FROM case_levels')).map((l) => [Number(l.case_id), l]),
      );
      const of = (name: string) => levels.get(caseIds[name])!;
      expect(levels.size).toBe(8);
      expect(of('first')).toMatchObject({ level: 'society', fact: { fact: null, compoundId: 5, zoneDayBefore: 'precaution' }, day: D(0), district_id: 1 });
      expect(of('sameFinding')).toMatchObject({ level: 'society', fact: { fact: null } });
      expect(of('laterSameDay')).toMatchObject({ level: 'controlled', fact: { fact: 'sealedCompound', id: 5, by: 'earlierCase', caseId: caseIds.first } });
      expect(of('quarantined')).toMatchObject({ level: 'controlled', fact: { fact: 'quarantine', id: 77 } });
      expect(of('inSealedWeek')).toMatchObject({ level: 'controlled', fact: { fact: 'sealedCompound', id: 5, by: 'zone', sealedSince: D(0), dayBefore: D(2) } });
      expect(of('poolRetest')).toMatchObject({ level: 'controlled', fact: { fact: 'poolRetest', id: 555 } });
      expect(of('sealedBuilding')).toMatchObject({ level: 'controlled', fact: { fact: 'sealedCompound', id: 5, by: 'building', buildingId: building(5, 2), caseId: caseIds.inSealedWeek, releasedOn: D(14) } });
      expect(of('society')).toMatchObject({ level: 'society', fact: { fact: null, compoundId: 3, zoneDayBefore: 'precaution' }, day: D(12) });
      for (const l of levels.values()) expect(String(l.fact.rule)).toMatch(/^rules\.md 6/);
      // Compound 5 was controlled (not sealed) the day before the sealed-building case: that decides nothing by itself.
      expect((await srv.call('GET', `/api/v1/zones/compounds/5?from=${D(10)}&to=${D(10)}`, { as: city })).body.days[0].zone).toBe('controlled');
      // For the dashboard: society-level cases per day and district.
      expect(await societyCasesByDay(ctx.db, D(0), TZ)).toEqual([
        { day: D(0), districtId: 1, n: 2 },
        { day: D(12), districtId: 1, n: 1 },
      ]);
    });

    it('keeps district clearance per day: society-level cases against population, as districtClearance says', async () => {
      const r = await srv.call('GET', `/api/v1/zones/clearance?from=${D(0)}&to=${D(12)}`, { as: city });
      expect(r.status, r.text).toBe(200);
      const want = districtClearance([{ day: D(0), cases: 2 }, { day: D(12), cases: 1 }], 100_000, ctx.preset);
      const d1 = r.body.districts.find((d: { districtId: number }) => d.districtId === 1);
      expect(d1).toMatchObject({ name: '一区', nameEn: 'District 1', population: 100_000 });
      expect(d1.days).toEqual(want.map(({ day, cases, per100k, belowRun, zeroRun, basicallyZero, zero }) => ({ day, cases, per100k, belowRun, zeroRun, basicallyZero, zero })));
      expect(d1.latest).toEqual(d1.days.at(-1));
      // 2 per 100,000 on day 0; zero from day 3 (three days without); day 12 breaks the run.
      expect(d1.days.map((d: { zero: boolean }) => d.zero)).toEqual([false, false, false, true, true, true, true, true, true, true, true, true, false]);
      const d2 = r.body.districts.find((d: { districtId: number }) => d.districtId === 2);
      expect(d2.days.every((d: { cases: number }) => d.cases === 0)).toBe(true);
      expect(r.body.rule).toMatch(/^rules\.md 6/);
      // A district's command sees its own district only.
      const own = await srv.call('GET', `/api/v1/zones/clearance?from=${D(0)}&to=${D(12)}`, { as: district2 });
      expect(own.body.districts.map((d: { districtId: number }) => d.districtId)).toEqual([2]);
      expect((await srv.call('GET', '/api/v1/zones/clearance?districtId=1', { as: district2 })).status).toBe(404);
    });

    it('takes in new cases, results and days: only the compounds touched are recomputed, and everything still matches the rules', async () => {
      // Day 13: a case in compound 7 (reported late for day 12), all-negative screenings of every compound on
      // day 13, and a pool mixing residents of compounds 2 and 8 that is positive (neither day is all negative).
      await open('late', person(7, 1), 12, 22);
      await ctx.db.tx(async (q) => {
        await screen(q, 13, [1, 3, 4, 5, 6, 7, 9]);
        await screen(q, 13, [2], () => 'positive', () => [person(2, 1), person(8, 1)]);
      });
      for (const c of [1, 3, 4, 5, 6, 7, 9]) allNegative(c, 13);
      const r = await upkeep(13);
      expect(r).toMatchObject({ full: false, cases: 1, society: 1, fromDay: D(12), lastDay: D(13) });
      expect(r.compounds).toBe(9); // 7 by its case, and every compound by its results
      await expectStoredMatchRules(0, 13);
      expect(await stored()).toBe(stretches(0, 13));
      // Two days on, with nothing new: two new days for every compound, written only where a compound changed.
      // (The server's copy of the stored stretches is made stale first: they are read again from storage.)
      await ctx.db.query('UPDATE zoning_state SET zones_version = zones_version + 100');
      const later = await upkeep(15);
      expect(later).toMatchObject({ full: false, cases: 0, compounds: 0, lastDay: D(15) });
      expect(await stored()).toBe(stretches(0, 15));
      await expectStoredMatchRules(13, 15);
    });

    it('a case in one epidemic-free compound recomputes that compound only, and renames the areas it split', async () => {
      const before = (await srv.call('GET', `/api/v1/zones/free-areas?day=${D(15)}`, { as: city })).body.areas.map((a: { members: number[] }) => a.members);
      expect(before.flat()).toContain(2);
      await open('freeNoMore', person(2, 4), 15, 9);
      const r = await upkeep(15);
      expect(r).toMatchObject({ full: false, cases: 1, society: 1, compounds: 1, fromDay: D(15) });
      expect(await stored()).toBe(stretches(0, 15));
      const after = (await srv.call('GET', `/api/v1/zones/free-areas?day=${D(15)}`, { as: city })).body.areas.map((a: { members: number[] }) => a.members);
      expect(after.flat()).not.toContain(2);
      await expectStoredMatchRules(15, 15);
      // What the job kept up one change at a time (counts adjusted by what changed, clearance carried on
      // from a stored day) is what a computation of everything gives.
      const kept = async () => [
        (await srv.call('GET', `/api/v1/zones/counts?from=${D(0)}&to=${D(15)}`, { as: city })).body,
        (await srv.call('GET', `/api/v1/zones/clearance?from=${D(0)}&to=${D(15)}`, { as: city })).body,
        await stored(),
      ];
      const incremental = await kept();
      expect(await zoningUpkeep(ctx.db, ctx.preset, ctx.clock.now(), { full: true })).toMatchObject({ full: true });
      expect(await kept()).toEqual(incremental);
    });

    it('a fact before the first day recomputes the whole history', async () => {
      await open('early', person(6, 1), -2);
      const r = await upkeep(15);
      expect(r).toMatchObject({ full: true, firstDay: D(-2), lastDay: D(15) });
      await expectStoredMatchRules(-2, 15);
    });

    it('counts compounds and people in each zone per district and day, as stored', async () => {
      const r = await srv.call('GET', `/api/v1/zones/counts?from=${D(0)}&to=${D(15)}`, { as: city });
      expect(r.status, r.text).toBe(200);
      expect(r.body.days).toHaveLength(16);
      for (const day of r.body.days) {
        const zones = (await srv.call('GET', `/api/v1/zones?day=${day.day}`, { as: city })).body.items as { districtId: number; zone: 'sealed' | 'controlled' | 'precaution'; epidemicFree: { free: boolean } }[];
        for (const d of day.districts) {
          for (const zone of ['sealed', 'controlled', 'precaution'] as const) {
            const n = zones.filter((z) => z.districtId === d.districtId && z.zone === zone).length;
            expect([day.day, d.districtId, zone, d[zone]]).toEqual([day.day, d.districtId, zone, { compounds: n, people: n * POPULATION }]);
          }
          expect(d.freeCompounds).toBe(zones.filter((z) => z.districtId === d.districtId && z.epidemicFree.free).length);
        }
        expect(day.total.sealed.compounds + day.total.controlled.compounds + day.total.precaution.compounds).toBe(9);
      }
      // For the dashboard: the same counts of a day as rows.
      const day3 = r.body.days.find((d: { day: string }) => d.day === D(3));
      const rows = (await zoneCountsOn(ctx.db, D(3))).map((x) => ({ ...x, people: Number(x.people) }));
      for (const d of day3.districts) for (const zone of ['sealed', 'controlled', 'precaution'] as const) if (d[zone].compounds) expect(rows).toContainEqual({ districtId: d.districtId, zone, ...d[zone] });
      expect(rows.reduce((s, x) => s + x.compounds, 0)).toBe(9);
      // A district's command: its own district only, by default and when asking for it; another is "not found".
      const own = await srv.call('GET', `/api/v1/zones/counts?day=${D(3)}`, { as: district2 });
      expect(own.body.days[0].districts.map((d: { districtId: number }) => d.districtId)).toEqual([2]);
      expect((await srv.call('GET', `/api/v1/zones/counts?day=${D(3)}&districtId=1`, { as: district2 })).status).toBe(404);
      expect((await srv.call('GET', `/api/v1/zones/counts?day=${D(99)}`, { as: city })).status).toBe(404);
    });

    it('gives a compound’s history with reasons, within jurisdiction', async () => {
      const r = await srv.call('GET', '/api/v1/zones/compounds/5', { as: city });
      expect(r.status, r.text).toBe(200);
      expect(r.body).toMatchObject({ compound: { id: 5, code: 'C5', districtId: 1, streetId: 20 }, from: D(-2), to: D(15) });
      expect(r.body.days).toHaveLength(18);
      expect(r.body.days[2]).toMatchObject({ day: D(0), zone: 'sealed', since: D(0), reason: { lastCase: { id: caseIds.laterSameDay, day: D(0) }, rule: expect.stringMatching(/^rules\.md 1-3/) } });
      expect(r.body.days[2].moves).toMatchObject({ to: 'controlled' });
      expect((await srv.call('GET', '/api/v1/zones/compounds/5', { as: district2 })).status).toBe(404);
      expect((await srv.call('GET', '/api/v1/zones/compounds/8', { as: district2 })).status).toBe(200);
      expect((await srv.call('GET', '/api/v1/zones/compounds/8', { as: street30 })).status).toBe(403);
    });

    it('draws the day as GeoJSON for every staff role within reach, with no personal data', async () => {
      const r = await srv.call('GET', `/api/v1/zones/map.geojson?day=${D(3)}`, { as: city });
      expect(r.status, r.text).toBe(200);
      expect(r.headers.get('content-type')).toContain('application/geo+json');
      const fc = r.body;
      expect(fc).toMatchObject({ type: 'FeatureCollection', day: D(3) });
      expect(fc.features).toHaveLength(9);
      const f5 = fc.features.find((f: { id: number }) => f.id === 5);
      expect(f5.type).toBe('Feature');
      expect(f5.geometry.type).toBe('Polygon');
      expect(f5.geometry.coordinates[0]).toHaveLength(5);
      expect(f5.properties).toMatchObject({ id: 5, code: 'C5', name: '小区5', districtId: 1, streetId: 20, population: POPULATION, zone: 'sealed', since: D(0), reason: { lastCaseDay: D(3) }, nextChange: { to: 'controlled' }, sealedBuildings: 1, free: false, freeAreaId: null });
      const stored = (await srv.call('GET', `/api/v1/zones?day=${D(3)}`, { as: city })).body.items;
      for (const f of fc.features) {
        const s = stored.find((x: { compoundId: number }) => x.compoundId === f.id);
        expect([f.id, f.properties.zone, f.properties.since, f.properties.reason.rule, f.properties.nextChange?.on ?? null, f.properties.freeAreaId]).toEqual([f.id, s.zone, s.since, s.reason.rule, s.moves?.on ?? null, s.epidemicFree.areaId]);
        // Compound facts only: no case, no person, no count below the compound.
        expect(Object.keys(f.properties).sort()).toEqual(['code', 'districtId', 'free', 'freeAreaId', 'freeOn', 'freeSince', 'id', 'name', 'nextChange', 'population', 'reason', 'sealedBuildings', 'since', 'streetId', 'zone'].sort());
        expect(Object.keys(f.properties.reason).sort()).toEqual(['lastCaseDay', 'rule']);
      }
      expect(r.text).not.toMatch(/居民|personId|caseId|P\d{3}/);
      // Street staff see their street; an epidemiologist of the city sees all; a resident is refused.
      const street = await srv.call('GET', `/api/v1/zones/map.geojson?day=${D(3)}`, { as: street30 });
      expect(street.body.features.map((f: { id: number }) => f.id)).toEqual([7, 8, 9]);
      expect((await srv.call('GET', `/api/v1/zones/map.geojson?day=${D(3)}`, { as: epi })).body.features).toHaveLength(9);
      expect((await srv.call('GET', `/api/v1/zones/map.geojson?day=${D(3)}&districtId=1`, { as: district2 })).status).toBe(404);
      expect((await srv.call('GET', `/api/v1/zones/map.geojson?day=${D(3)}`)).status).toBe(401);
      // The compact view for the page: one letter a zone, in compound order.
      const compact = await srv.call('GET', `/api/v1/zones?day=${D(3)}&view=compact`, { as: city });
      expect(compact.body).toMatchObject({ day: D(3), ids: [1, 2, 3, 4, 5, 6, 7, 8, 9], history: { from: D(-2), to: D(15) } });
      expect(compact.body.zones).toBe(stored.map((s: { zone: string }) => s.zone[0]).join(''));
      expect((await srv.call('GET', `/api/v1/zones?day=${D(3)}&zone=sealed`, { as: city })).body.items.map((i: { compoundId: number }) => i.compoundId)).toEqual([1, 5, 6]);
    });

    it('places compounds under control by the command’s designation, with its reason and an audit entry, and refuses what is not its to place', async () => {
      const post = (as: Session, body: unknown) => srv.call('POST', '/api/v1/zones/designations', { as, body });
      const body = { compoundIds: [8], day: D(14), reason: '密接集中居住 (close contacts live here)' };
      // Refused, changing nothing: no reason, a day still to come, a compound of another district, a street worker.
      expect((await post(district2, { ...body, reason: '  ' })).status).toBe(400);
      const ahead = await post(district2, { ...body, day: D(16) });
      expect([ahead.status, ahead.body.code, ahead.body.day, ahead.body.today]).toEqual([400, 'designationAhead', D(16), D(15)]);
      const outside = await post(district2, { ...body, compoundIds: [8, 5] });
      expect([outside.status, outside.body.code, outside.body.compoundId]).toEqual([404, 'compoundUnknown', 5]);
      expect((await post(street30, body)).status).toBe(403);
      expect((await ctx.db.query('SELECT 1 FROM zone_designations')).length).toBe(0);

      const made = await post(district2, body);
      expect(made.status, made.text).toBe(201);
      expect(made.body.designations).toEqual([{ id: expect.any(Number), compoundId: 8, day: D(14), reason: body.reason }]);
      const audit = await ctx.db.query<{ actor: string; action: string; entity_id: string; detail: unknown }>("SELECT actor, action, entity_id, detail FROM audit_log WHERE entity = 'zoneDesignation'");
      expect(audit).toEqual([{ actor: expect.stringMatching(/:district2$/), action: 'create', entity_id: String(made.body.designations[0].id), detail: { compoundId: 8, day: D(14), reason: body.reason } }]);

      // The job takes it in: compound 8 alone, from day 14, and every stored day still as the rules say.
      known.get(8)!.controlled = [D(14)];
      expect(await upkeep(15)).toMatchObject({ full: false, compounds: 1, fromDay: D(14) });
      await expectStoredMatchRules(13, 15);
      const h = await srv.call('GET', `/api/v1/zones/compounds/8?from=${D(13)}`, { as: district2 });
      expect(h.body.days.map((d: { zone: string }) => d.zone)).toEqual(['precaution', 'controlled', 'controlled']);
      expect(h.body.days[1]).toMatchObject({ since: D(14), reason: { rule: expect.stringMatching(/^rules\.md 2, 4, 11/), lastCase: null } });
      expect(h.body.designations).toEqual([{ id: made.body.designations[0].id, compoundId: 8, compoundName: expect.any(String), day: D(14), reason: body.reason, designatedBy: expect.stringMatching(/:district2$/), designatedAt: expect.any(String), withdrawal: null }]);
      expect((await srv.call('GET', '/api/v1/zones/designations', { as: city })).body.items).toHaveLength(1);
      expect((await srv.call('GET', '/api/v1/zones/designations?compoundId=8', { as: district2 })).body.items).toHaveLength(1);

      // One before the history's first day: everything from that day, still as the rules say, and the same as
      // what the job keeps up one change at a time.
      expect((await post(city, { compoundIds: [7], day: D(-4), reason: 'late record' })).status).toBe(201);
      known.get(7)!.controlled = [D(-4)];
      expect(await upkeep(15)).toMatchObject({ full: true, firstDay: D(-4), lastDay: D(15) });
      await expectStoredMatchRules(-4, 15);
      expect((await srv.call('GET', '/api/v1/zones/designations', { as: district2 })).body.items.map((d: { compoundId: number }) => d.compoundId)).toEqual([7, 8]);
    });

    it('withdraws a designation given in error, with its reason and an audit entry: the zones are then as if it had never been given', async () => {
      const [d8] = (await srv.call('GET', '/api/v1/zones/designations?compoundId=8', { as: city })).body.items as { id: number }[];
      const withdraw = (as: Session, id: number, body: unknown) => srv.call('POST', `/api/v1/zones/designations/${id}/withdraw`, { as, body });
      const body = { reason: 'wrong compound: the contacts live in compound 9' };
      // Refused, changing nothing: no reason, an unknown designation, one of another district, a street worker.
      expect((await withdraw(district2, d8.id, { reason: ' ' })).status).toBe(400);
      const unknown = await withdraw(city, 999_999, body);
      expect([unknown.status, unknown.body.code]).toEqual([404, 'designationUnknown']);
      expect((await withdraw(street30, d8.id, body)).status).toBe(403);
      expect((await ctx.db.query('SELECT 1 FROM zone_designation_withdrawals')).length).toBe(0);
      // One of another district is not district 2's to withdraw (answered as unknown); the city withdraws it.
      const made5 = await srv.call('POST', '/api/v1/zones/designations', { as: city, body: { compoundIds: [5], reason: 'typed in the wrong box' } });
      const d5 = made5.body.designations[0].id as number;
      expect((await withdraw(district2, d5, body)).body.code).toBe('designationUnknown');
      expect((await withdraw(city, d5, { reason: 'typed in the wrong box' })).status).toBe(200);

      const done = await withdraw(district2, d8.id, body);
      expect(done.status, done.text).toBe(200);
      expect(done.body.designation).toMatchObject({ id: d8.id, compoundId: 8, day: D(14), withdrawal: { reason: body.reason, withdrawnBy: expect.stringMatching(/:district2$/), withdrawnAt: expect.any(String) } });
      const audit = await ctx.db.query<{ action: string; entity_id: string; reason: string }>("SELECT action, entity_id, reason FROM audit_log WHERE entity = 'zoneDesignation' AND action = 'withdraw' ORDER BY id");
      expect(audit).toEqual([
        { action: 'withdraw', entity_id: String(d5), reason: 'typed in the wrong box' },
        { action: 'withdraw', entity_id: String(d8.id), reason: body.reason },
      ]);
      const again = await withdraw(city, d8.id, body);
      expect([again.status, again.body.code]).toEqual([409, 'designationWithdrawn']);

      // The job takes them in: compounds 5 and 8, from the first day designated, every stored day as the rules say without them.
      known.get(8)!.controlled = [];
      expect(await upkeep(15)).toMatchObject({ full: false, compounds: 2, fromDay: D(14) });
      await expectStoredMatchRules(13, 15);
      const h = await srv.call('GET', `/api/v1/zones/compounds/8?from=${D(13)}`, { as: district2 });
      expect(h.body.days.map((d: { zone: string }) => d.zone)).toEqual(['precaution', 'precaution', 'precaution']);
      expect(h.body.designations).toEqual([expect.objectContaining({ id: d8.id, withdrawal: expect.objectContaining({ reason: body.reason }) })]);
      // A full recomputation agrees.
      expect(await upkeep(15, true)).toMatchObject({ full: true });
      await expectStoredMatchRules(-4, 15);
    });
  });
}
