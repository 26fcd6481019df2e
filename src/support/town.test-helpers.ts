// A small hand-built town for the support tests (and the support page's browser test): district 1 with
// streets 1 and 2, district 2 with street 3; compound 1 (street 1) has four households of two in one
// building, compound 2 (street 2) one household, compound 3 (street 3) one. Persons 1-8 live in compound 1
// (person 1 in household 1 ... person 8 in household 4), 9-10 in compound 2, 11-12 in compound 3; birth
// dates make 1 aged 70, 2 aged 85, 3 aged 65, 5 aged 82 on 2022-04-12, the rest 37. A hospital venue,
// a sampling point that vaccinates (1) and one that does not (2), a lab.
import type { Queryable } from '../core/db.ts';

export const TOWN_NOW = new Date('2022-04-12T02:00:00Z'); // 10:00 in Shanghai
export const code = (personId: number) => `PC${String(personId).padStart(4, '0')}`;
const births: Record<number, string> = { 1: '1951-06-01', 2: '1936-12-01', 3: '1956-10-10', 5: '1939-05-05' };

export async function buildSupportTown(q: Queryable): Promise<void> {
  await q.query("INSERT INTO districts (id, code, name) VALUES (1, 'D1', '一区'), (2, 'D2', '二区')");
  await q.query("INSERT INTO streets (id, code, district_id, name) VALUES (1, 'S1', 1, '一街'), (2, 'S2', 1, '二街'), (3, 'S3', 2, '三街')");
  await q.query(`INSERT INTO compounds (id, code, street_id, district_id, name, centroid_lon, centroid_lat) VALUES
    (1, 'C1', 1, 1, '一号小区', 121.40, 31.20), (2, 'C2', 2, 1, '二号小区', 121.42, 31.20), (3, 'C3', 3, 2, '三号小区', 121.50, 31.20)`);
  await q.query("INSERT INTO buildings (id, code, compound_id, name, floors) VALUES (1, 'B1', 1, '1号楼', 6), (2, 'B2', 2, '2号楼', 6), (3, 'B3', 3, '3号楼', 6)");
  await q.query(`INSERT INTO households (id, code, building_id, compound_id, floor, unit) VALUES
    (1, 'H1', 1, 1, 1, '101'), (2, 'H2', 1, 1, 1, '102'), (3, 'H3', 1, 1, 2, '201'), (4, 'H4', 1, 1, 2, '202'), (5, 'H5', 2, 2, 1, '101'), (6, 'H6', 3, 3, 1, '101')`);
  for (let p = 1; p <= 12; p++) {
    const [household, compound, street, district] = p <= 8 ? [Math.ceil(p / 2), 1, 1, 1] : p <= 10 ? [5, 2, 2, 1] : [6, 3, 3, 2];
    await q.query(
      `INSERT INTO persons (id, personal_code, name, sex, birth_date, phone, household_id, compound_id, street_id, district_id) VALUES ($1, $2, $3, 'F', $4, $5, $6, $7, $8, $9)`,
      [p, code(p), `居民${p}`, births[p] ?? '1985-01-01', `1380000${String(p).padStart(4, '0')}`, household, compound, street, district],
    );
  }
  await q.query("INSERT INTO venues (id, code, name, kind, district_id, street_id, lon, lat) VALUES (1, 'V1', '第一人民医院', 'hospital', 1, 1, 121.41, 31.2)");
  await q.query(`INSERT INTO sampling_points (id, code, name, district_id, street_id, lon, lat, stations, opens, closes, vaccinates) VALUES
    (1, 'P1', '一街采样点', 1, 1, 121.4, 31.2, 1, '08:00', '20:00', true), (2, 'P2', '二街采样点', 1, 2, 121.42, 31.2, 2, '08:00', '20:00', false)`);
  await q.query("INSERT INTO labs (id, code, name, district_id, daily_capacity) VALUES (1, 'L1', '检测所', 1, 10000)");
  for (const t of ['districts', 'streets', 'compounds', 'buildings', 'households', 'persons', 'venues', 'sampling_points', 'labs']) {
    await q.query(`SELECT setval(pg_get_serial_sequence('${t}', 'id'), (SELECT max(id) FROM ${t}))`);
  }
}
