// A hand-built town for zoning's tests (src/zoning/zoning.test.ts, test/zones.browser.test.ts): a 3 x 3 grid of
// square compounds in two districts, two buildings and six residents each, and screenings as tubes, samples
// and lab results written straight into the tables.
import type { Queryable } from '../core/db.ts';
import { dayNumber, dayText, type CompoundPlace } from './rules.ts';

export const TZ = 'Asia/Shanghai';
/** Day `n` of the story (day 0 = 1 May 2022, Shanghai), and a moment on it (hour in Shanghai). */
export const D = (n: number) => dayText(dayNumber('2022-05-01') + n);
export const at = (n: number, hour = 10, minute = 0) => new Date(Date.parse(`${D(n)}T00:00:00+08:00`) + hour * 3_600_000 + minute * 60_000);

//  1 2 3   street 10 (district 1)
//  4 5 6   street 20 (district 1)
//  7 8 9   street 30 (district 2)
export const GRID: CompoundPlace[] = [1, 2, 3, 4, 5, 6, 7, 8, 9].map((id) => ({ id, streetId: 10 * (Math.floor((id - 1) / 3) + 1), districtId: id <= 6 ? 1 : 2 }));
export const EDGES: [number, number][] = GRID.flatMap((c) => [...(c.id % 3 ? [[c.id, c.id + 1] as [number, number]] : []), ...(c.id <= 6 ? [[c.id, c.id + 3] as [number, number]] : [])]);
export const POPULATION = 200;
export const person = (compound: number, k: number) => compound * 100 + k;
export const building = (compound: number, b: number) => compound * 10 + b;

/** Two districts, three streets, nine square compounds that share edges; in each, two buildings and six residents. */
export async function buildGrid(q: Queryable): Promise<void> {
  await q.query(`INSERT INTO districts (id, code, name, name_en, population) VALUES (1, 'D1', '一区', 'District 1', 100000), (2, 'D2', '二区', 'District 2', 50000)`);
  await q.query(`INSERT INTO streets (id, code, district_id, name) VALUES (10, 'S10', 1, '十街'), (20, 'S20', 1, '二十街'), (30, 'S30', 2, '三十街')`);
  for (const c of GRID) {
    const x = (c.id - 1) % 3;
    const y = 2 - Math.floor((c.id - 1) / 3);
    const ring = [[x, y], [x + 1, y], [x + 1, y + 1], [x, y + 1], [x, y]].map(([a, b]) => [121.4 + a * 0.01, 31.2 + b * 0.01]);
    await q.query(`INSERT INTO compounds (id, code, street_id, district_id, name, geom, centroid_lon, centroid_lat, population) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`, [
      c.id,
      `C${c.id}`,
      c.streetId,
      c.districtId,
      `小区${c.id}`,
      JSON.stringify({ type: 'Polygon', coordinates: [ring] }),
      121.405 + x * 0.01,
      31.205 + y * 0.01,
      POPULATION,
    ]);
    for (const b of [1, 2]) {
      await q.query(`INSERT INTO buildings (id, code, compound_id, name) VALUES ($1, $2, $3, $4)`, [building(c.id, b), `B${building(c.id, b)}`, c.id, `${b}号楼`]);
      await q.query(`INSERT INTO households (id, code, building_id, compound_id) VALUES ($1, $2, $3, $4)`, [building(c.id, b), `H${building(c.id, b)}`, building(c.id, b), c.id]);
    }
    for (let k = 1; k <= 6; k++) {
      await q.query(`INSERT INTO persons (id, personal_code, name, sex, birth_date, household_id, compound_id, street_id, district_id) VALUES ($1, $2, $3, 'F', '1985-01-01', $4, $5, $6, $7)`, [
        person(c.id, k),
        `P${person(c.id, k)}`,
        `居民${person(c.id, k)}`,
        building(c.id, k <= 3 ? 1 : 2),
        c.id,
        c.streetId,
        c.districtId,
      ]);
    }
  }
  for (const [a, b] of EDGES) await q.query('INSERT INTO compound_adjacency (compound_id, neighbor_id) VALUES ($1, $2), ($2, $1)', [a, b]);
  await q.query(`INSERT INTO labs (id, code, name, district_id, daily_capacity) VALUES (1, 'L1', 'Lab 1', 1, 10000)`);
}

let tubeNo = 0;
/**
 * One tube a compound and day, holding its residents 1 and 2 (sampled at 09:00), resulted negative unless
 * `verdict` says otherwise. A pool of residents of two compounds makes both days not all negative.
 */
export async function screen(q: Queryable, day: number, compounds: number[], verdict: (c: number) => string = () => 'negative', persons: (c: number) => number[] = (c) => [person(c, 1), person(c, 2)]): Promise<void> {
  for (const c of compounds) {
    const id = 900_000 + ++tubeNo;
    const sampled = at(day, 9);
    const ps = persons(c);
    await q.query(`INSERT INTO tubes (id, barcode, capacity, opened_by, opened_at, closed_at, lab_id, received_at, samples) VALUES ($1, $2, 10, 'test', $3, $3, 1, $3, $4)`, [id, `T${id}`, sampled, ps.length]);
    for (const p of ps) await q.query('INSERT INTO samples (tube_id, person_id, sampled_at) VALUES ($1, $2, $3)', [id, p, sampled]);
    const v = verdict(c);
    await q.query(`INSERT INTO lab_results (tube_id, lab_id, result, resulted_at, verdict, state, received_at) VALUES ($1, 1, $2, $3, $2, 'applied', $3)`, [id, v, at(day, 20)]);
  }
}

