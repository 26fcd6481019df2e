// Tracing a batch of cases in one call gives exactly what tracing them one by one gives: the same exposures
// with the same evidence in the same order, the same contact records, the same persons told their status
// changed, the same counts. A seeded random town: buildings with own and shared facilities, busy venues,
// cases that are each other's household, named places and persons, orders, an exposure already dismissed.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testContext, type TestContext } from '../../test/harness.ts';
import type { Queryable } from '../core/db.ts';
import { decideExposure, traceCase, traceCases } from './store.ts';

const T0 = Date.parse('2022-04-10T00:00:00Z');
const HOUR = 3_600_000;

function rng(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

async function buildTown(q: Queryable): Promise<number[]> {
  const r = rng(5);
  await q.query(`INSERT INTO districts (id, code, name) VALUES (1, 'D1', 'District 1')`);
  await q.query(`INSERT INTO streets (id, code, district_id, name) VALUES (1, 'S1', 1, 'Street 1')`);
  await q.query(`INSERT INTO compounds (id, code, street_id, district_id, name, centroid_lon, centroid_lat) VALUES (1, 'C1', 1, 1, 'Compound 1', 121.4, 31.2)`);
  await q.query(`INSERT INTO buildings (id, code, compound_id, name, floors) VALUES (1, 'B1', 1, 'B1', 6), (2, 'B2', 1, 'B2', 6), (3, 'B3', 1, 'B3', 6)`);
  let person = 1;
  let household = 1;
  for (let b = 1; b <= 3; b++) {
    for (let floor = 1; floor <= 6; floor++) {
      for (let unit = 0; unit < 3; unit++) {
        await q.query('INSERT INTO households (id, code, building_id, compound_id, floor, shared_facilities) VALUES ($1, $2, $3, 1, $4, $5)', [household, `H${household}`, b, floor, b === 3]);
        const size = 1 + Math.floor(r() * 3);
        await q.query(
          `INSERT INTO persons (id, personal_code, name, sex, birth_date, household_id, compound_id, street_id, district_id)
           SELECT p, 'PC' || p, 'Person ' || p, 'F', '1980-01-01', $3, 1, 1, 1 FROM generate_series($1::int, $2::int) p`,
          [person, person + size - 1, household],
        );
        person += size;
        household++;
      }
    }
  }
  // Persons without a home, who only scan.
  await q.query(`INSERT INTO persons (id, personal_code, name, sex, birth_date, compound_id, street_id, district_id) SELECT p, 'PC' || p, 'Visitor ' || p, 'M', '1990-01-01', 1, 1, 1 FROM generate_series($1::int, $1::int + 59) p`, [person]);
  const persons = person + 59;
  await q.query(`INSERT INTO venues (id, code, name, kind, district_id, street_id, lon, lat) SELECT v, 'V' || v, 'Venue ' || v, 'market', 1, 1, 121.4, 31.2 FROM generate_series(1, 6) v`);
  // Scans over six days, venue 1 far busier than the rest; some on the minute (equal times).
  const scans: [number, number, Date][] = [];
  for (let k = 0; k < 2500; k++) {
    const venue = 1 + Math.floor(r() ** 3 * 6);
    const minute = Math.floor(r() * 6 * 24 * 60);
    scans.push([venue, 1 + Math.floor(r() * persons), new Date(T0 + minute * 60_000 + (r() < 0.7 ? 0 : Math.floor(r() * 60_000)))]);
  }
  await q.query(`INSERT INTO checkins (venue_id, person_id, scanned_at, source) SELECT * , 'venueCode' FROM unnest($1::int[], $2::int[], $3::timestamptz[])`, [scans.map((s) => s[0]), scans.map((s) => s[1]), scans.map((s) => s[2])]);
  // Some persons are already in quarantine: their isolation bounds their own contacts.
  for (const [k, p] of [5, 9, 40, 77].entries()) {
    await q.query(`INSERT INTO quarantine_orders (person_id, level, last_exposure_at, ends_at, tests, rule, preset, issued_by, issued_at) VALUES ($1, 'close', $2, $3, '[]', 'test', 'test', 'test', $4)`, [p, new Date(T0 + 2 * 24 * HOUR), new Date(T0 + 20 * 24 * HOUR), new Date(T0 + (3 + k) * 24 * HOUR)]);
  }
  // The cases: households 1 and 2 of building 1 (living together), one on each floor of building 3 (shared facilities), a visitor.
  const cases = [1, 2, 3, 4, 50, 41, 45, 90, persons - 3, persons - 10];
  for (const [k, c] of cases.entries()) {
    const symptomatic = k % 3 === 0;
    const places = k % 4 === 1 ? [{ venueId: 2, place: 'Venue 2', from: new Date(T0 + (3 * 24 + 10) * HOUR).toISOString(), to: new Date(T0 + (3 * 24 + 13) * HOUR).toISOString() }, { place: 'a park' , from: new Date(T0).toISOString(), to: new Date(T0 + HOUR).toISOString() }] : [];
    const named = k % 4 === 2 ? [{ personId: 100 + k, name: 'Colleague', relation: 'colleague', lastContactAt: new Date(T0 + (4 * 24 + 9) * HOUR).toISOString() }, { name: 'Stranger', lastContactAt: new Date(T0).toISOString() }] : [];
    await q.query(
      `INSERT INTO interviews (case_person_id, symptomatic, onset_at, sampled_at, isolated_at, places, persons, recorded_by, recorded_at, reported_at) VALUES ($1, $2, $3, $4, $5, $6, $7, 'test', $4, $4)`,
      [c, symptomatic, symptomatic ? new Date(T0 + (4 * 24 + k) * HOUR) : null, new Date(T0 + (5 * 24 + k) * HOUR), k === 7 ? null : new Date(T0 + (5 * 24 + 6 + k) * HOUR), JSON.stringify(places), JSON.stringify(named)],
    );
  }
  return cases;
}

async function snapshot(q: Queryable) {
  return {
    exposures: await q.query(`SELECT person_id, source_person_id, case_person_id, kind, level, exposed_at, evidence, rule, state FROM contact_exposures ORDER BY id`),
    contacts: await q.query('SELECT * FROM contacts ORDER BY person_id'),
    stale: await q.query('SELECT * FROM status_stale ORDER BY person_id'),
  };
}

/** Runs fn in a transaction that is rolled back, and returns what it saw. */
async function thenRollBack<T>(ctx: TestContext, fn: (q: Queryable) => Promise<T>): Promise<T> {
  let out: T | undefined;
  const undo = new Error('roll back');
  await ctx.db.tx(async (q) => {
    out = await fn(q);
    throw undo;
  }).catch((e) => {
    if (e !== undo) throw e;
  });
  return out as T;
}

for (const presetId of ['shanghai-2022-05', 'cn-2022-9th']) {
  describe(`a batch of cases under ${presetId}`, () => {
    let ctx: TestContext;
    let cases: number[];
    const now = new Date(T0 + 7 * 24 * HOUR);

    beforeAll(async () => {
      ctx = await testContext({ preset: presetId, now });
      cases = await ctx.db.tx((q) => buildTown(q));
      // Traced before: the last case, with one of its exposures dismissed by the investigator.
      await ctx.db.tx((q) => traceCase(q, cases[cases.length - 1], ctx.preset, now));
      const [{ id }] = await ctx.db.query<{ id: number }>(`SELECT min(id) AS id FROM contact_exposures WHERE state = 'candidate'`);
      await ctx.db.tx((q) => decideExposure(q, id, 'dismissed', 'test', now));
      await ctx.db.query('DELETE FROM status_stale');
    });
    afterAll(async () => {
      await ctx?.close();
    });

    it('records the same exposures, contacts and stale statuses as tracing the cases one by one', async () => {
      const one = await thenRollBack(ctx, async (q) => {
        const counts = [];
        for (const c of cases) counts.push({ casePersonId: c, ...(await traceCase(q, c, ctx.preset, now)) });
        return { counts, ...(await snapshot(q)) };
      });
      const batch = await thenRollBack(ctx, async (q) => ({ counts: await traceCases(q, cases, ctx.preset, now), ...(await snapshot(q)) }));
      // The town reaches every kind of exposure, and the batch is no empty match.
      expect(new Set(one.exposures.map((e) => e.kind))).toEqual(new Set(['household', 'sameFloor', 'adjacentFloor', 'building', 'venue', 'interview', 'contactOfContact']));
      expect(one.exposures.length).toBeGreaterThan(300);
      expect(batch.counts).toEqual(one.counts);
      expect(batch.exposures).toEqual(one.exposures);
      expect(batch.contacts).toEqual(one.contacts);
      expect(batch.stale).toEqual(one.stale);
    });
  });
}
