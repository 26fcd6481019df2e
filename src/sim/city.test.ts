// The synthetic city without a database: determinism, the shape of every record, the geometry (compound
// polygons tile the plane and adjacency is exactly "shares an edge"), and the demography.
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { describe as baseDescribe, expect, it } from 'vitest';
import { CARE_NEEDS, COMORBIDITIES, CSV_COLUMNS, ENTITIES, FACILITY_KINDS, PREGNANCY, VENUE_KINDS, type CsvRecord, type EntityName } from '../registry/index.ts';
import { idNumberProblem } from '../core/pii.ts';
import { generateCity, writeCityCsv, type City } from './index.ts';
import { Rng } from './rng.ts';

const all = (city: City, e: EntityName) => [...city.records(e)];
// No database here: the PostgreSQL run of the suite would only repeat these, so it skips them.
const describe = baseDescribe.skipIf(process.env.CORDON_TEST_ENGINE === 'pg');

function hashCity(city: City): Record<string, string> {
  const out: Record<string, string> = {};
  for (const e of ENTITIES) {
    const h = createHash('sha256');
    for (const r of city.records(e)) h.update(JSON.stringify(r)).update('\n');
    out[e] = h.digest('hex');
  }
  return out;
}

describe('determinism', () => {
  it('gives byte-identical records for the same seed and size, every time they are iterated', () => {
    const a = generateCity({ persons: 4000, seed: 7 });
    const b = generateCity({ persons: 4000, seed: 7 });
    const ha = hashCity(a);
    expect(hashCity(b)).toEqual(ha);
    expect(hashCity(a)).toEqual(ha);
    expect(b.counts).toEqual(a.counts);
  });

  it('gives a different city for another seed', () => {
    const a = hashCity(generateCity({ persons: 4000, seed: 7 }));
    const b = hashCity(generateCity({ persons: 4000, seed: 8 }));
    for (const e of ['compounds', 'households', 'persons', 'venues'] as const) expect(b[e]).not.toBe(a[e]);
  });

  it('rejects a size or seed that is not a whole number', () => {
    expect(() => generateCity({ persons: 0, seed: 1 })).toThrow(/persons/);
    expect(() => generateCity({ persons: 10.5, seed: 1 })).toThrow(/persons/);
    expect(() => generateCity({ persons: 10, seed: 0.5 })).toThrow(/seed/);
  });
});

describe('records', () => {
  const city = generateCity({ persons: 6000, seed: 3 });

  it('yield exactly counts rows, with exactly the CSV columns in order, all strings', () => {
    for (const e of ENTITIES) {
      const rows = all(city, e);
      expect(rows.length, e).toBe(city.counts[e]);
      for (const r of rows) {
        expect(Object.keys(r)).toEqual(CSV_COLUMNS[e]);
        for (const v of Object.values(r)) expect(typeof v).toBe('string');
      }
    }
  });

  it('refer only to codes that exist, inside the right parents', () => {
    const codes = (e: EntityName) => new Set(all(city, e).map((r) => r.code));
    const districts = codes('districts');
    const streets = new Map(all(city, 'streets').map((s) => [s.code, s]));
    const compounds = new Map(all(city, 'compounds').map((c) => [c.code, c]));
    const buildings = new Map(all(city, 'buildings').map((b) => [b.code, b]));
    const households = new Map(all(city, 'households').map((h) => [h.code, h]));
    for (const s of streets.values()) expect(districts.has(s.district_code)).toBe(true);
    for (const c of compounds.values()) expect(streets.has(c.street_code)).toBe(true);
    for (const b of buildings.values()) expect(compounds.has(b.compound_code)).toBe(true);
    for (const h of households.values()) {
      const b = buildings.get(h.building_code)!;
      expect(b).toBeDefined();
      expect(Number(h.floor)).toBeGreaterThanOrEqual(1);
      expect(Number(h.floor)).toBeLessThanOrEqual(Number(b.floors));
    }
    for (const p of all(city, 'persons')) {
      const h = households.get(p.household_code)!;
      expect(h).toBeDefined();
      expect(buildings.get(h.building_code)!.compound_code).toBe(p.compound_code);
    }
    for (const v of all(city, 'venues')) {
      expect(streets.get(v.street_code)!.district_code).toBe(v.district_code);
      if (v.compound_code) expect(compounds.get(v.compound_code)!.street_code).toBe(v.street_code);
      expect(VENUE_KINDS).toContain(v.kind);
    }
    for (const p of all(city, 'sampling_points')) expect(streets.get(p.street_code)!.district_code).toBe(p.district_code);
    for (const l of all(city, 'labs')) expect(districts.has(l.district_code)).toBe(true);
    for (const f of all(city, 'facilities')) {
      expect(districts.has(f.district_code)).toBe(true);
      expect(FACILITY_KINDS).toContain(f.kind);
    }
    // Every code is unique within its entity.
    for (const e of ['districts', 'streets', 'compounds', 'buildings', 'households', 'venues', 'sampling_points', 'labs', 'facilities'] as const) {
      expect(codes(e).size, e).toBe(city.counts[e]);
    }
  });

  it('add up: persons per compound = compound population, compounds per district = district population', () => {
    const perCompound = new Map<string, number>();
    for (const p of all(city, 'persons')) perCompound.set(p.compound_code, (perCompound.get(p.compound_code) ?? 0) + 1);
    const streetDistrict = new Map(all(city, 'streets').map((s) => [s.code, s.district_code]));
    const perDistrict = new Map<string, number>();
    for (const c of all(city, 'compounds')) {
      expect(perCompound.get(c.code) ?? 0, c.code).toBe(Number(c.population));
      const d = streetDistrict.get(c.street_code)!;
      perDistrict.set(d, (perDistrict.get(d) ?? 0) + Number(c.population));
    }
    for (const d of all(city, 'districts')) expect(Number(d.population)).toBe(perDistrict.get(d.code));
    expect([...perDistrict.values()].reduce((a, b) => a + b)).toBe(6000);
  });

  it('are written as CSV files that read back to the same records', async () => {
    const small = generateCity({ persons: 1500, seed: 5 });
    const dir = await mkdtemp(join(tmpdir(), 'cordon-city-'));
    try {
      const seen = new Map<string, number>();
      await writeCityCsv(small, dir, (e, n) => seen.set(e, n));
      for (const e of ENTITIES) {
        const text = await readFile(join(dir, `${e}.csv`), 'utf8');
        const rows = parse(text, { columns: true }) as CsvRecord[];
        expect(text.split('\n', 1)[0]).toBe(CSV_COLUMNS[e].join(','));
        expect(rows).toEqual(all(small, e));
        expect(seen.get(e)).toBe(small.counts[e]);
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

// ---- geometry ----

type Pt = [number, number];
const ring = (geometry: string): Pt[] => {
  const g = JSON.parse(geometry) as { type: string; coordinates: Pt[][] };
  expect(g.type).toBe('Polygon');
  expect(g.coordinates).toHaveLength(1);
  return g.coordinates[0];
};
const signedArea = (r: Pt[]) => r.slice(0, -1).reduce((s, [x0, y0], i) => s + x0 * r[i + 1][1] - r[i + 1][0] * y0, 0) / 2;
/** Strictly inside (ray casting); points on an edge are not tested by the sampling below. */
function inside([x, y]: Pt, r: Pt[]): boolean {
  let c = false;
  for (let i = 0, j = r.length - 2; i < r.length - 1; j = i++) {
    const [xi, yi] = r[i];
    const [xj, yj] = r[j];
    if (yi > y !== yj > y && x < ((xj - xi) * (y - yi)) / (yj - yi) + xi) c = !c;
  }
  return c;
}

describe('geography', () => {
  const city = generateCity({ persons: 30_000, seed: 11 });
  type Shape = { code: string; r: CsvRecord; ring: Pt[] };
  const shape = (r: CsvRecord): Shape => ({ code: r.code, r, ring: ring(r.geometry) });
  const compounds = all(city, 'compounds').map(shape);
  const streets = new Map(all(city, 'streets').map((s) => [s.code, shape(s)]));
  const districts = new Map(all(city, 'districts').map((d) => [d.code, shape(d)]));

  it('scales: at least 3 districts, at least 2 streets each, ~350 residents a compound, around Shanghai', () => {
    expect(city.counts.districts).toBeGreaterThanOrEqual(3);
    expect(city.counts.streets).toBeGreaterThanOrEqual(2 * city.counts.districts);
    expect(city.counts.compounds).toBeGreaterThanOrEqual(30_000 / 350);
    expect(city.counts.compounds).toBeLessThan((30_000 / 350) * 1.1);
    for (const c of compounds) {
      expect(Math.abs(Number(c.r.centroid_lon) - 121.47)).toBeLessThan(0.5);
      expect(Math.abs(Number(c.r.centroid_lat) - 31.23)).toBeLessThan(0.5);
    }
    // Shanghai's size: 16 districts, ~70k compounds; planning it and reading its first persons must not
    // generate all 25M of them (that would take minutes and gigabytes, and time this test out).
    const shanghai = generateCity({ persons: 25_000_000, seed: 1 });
    expect(shanghai.counts.districts).toBe(16);
    expect(shanghai.counts.compounds).toBeGreaterThan(70_000);
    const first = shanghai.records('persons')[Symbol.iterator]();
    for (let i = 0; i < 1000; i++) expect(first.next().value.compound_code).toMatch(/^D01-S01-C000\d$/);
  }, 60_000);

  it('compound polygons are closed, counter-clockwise and convex, with the centroid inside', () => {
    for (const c of compounds) {
      expect(c.ring[0]).toEqual(c.ring[c.ring.length - 1]);
      expect(signedArea(c.ring)).toBeGreaterThan(0);
      const n = c.ring.length - 1;
      for (let i = 0; i < n; i++) {
        const [a, b, d] = [c.ring[i], c.ring[(i + 1) % n], c.ring[(i + 2) % n]];
        expect((b[0] - a[0]) * (d[1] - b[1]) - (b[1] - a[1]) * (d[0] - b[0])).toBeGreaterThan(0);
      }
      expect(inside([Number(c.r.centroid_lon), Number(c.r.centroid_lat)], c.ring)).toBe(true);
    }
  });

  it('compound polygons do not overlap and leave no gap: sampled points lie in exactly one compound, of the right street and district', () => {
    const rng = new Rng(99, 0, 0);
    for (const c of compounds) {
      const street = streets.get(c.r.street_code)!;
      const district = districts.get(street.r.district_code)!;
      for (let s = 0; s < 25; s++) {
        // A random convex combination of the corners: strictly inside a convex polygon.
        const w = c.ring.slice(0, -1).map(() => rng.next() + 0.01);
        const t = w.reduce((a, b) => a + b);
        const p: Pt = [0, 1].map((k) => c.ring.slice(0, -1).reduce((acc, v, i) => acc + (v[k] * w[i]) / t, 0)) as Pt;
        const holders = compounds.filter((o) => inside(p, o.ring));
        expect(holders.map((o) => o.code)).toEqual([c.code]);
        expect(inside(p, street.ring)).toBe(true);
        expect(inside(p, district.ring)).toBe(true);
      }
    }
    // No gap: the compounds' areas add up to their district's, and the districts' to the whole.
    const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
    for (const d of districts.values()) {
      const codes = new Set([...streets.values()].filter((s) => s.r.district_code === d.code).map((s) => s.code));
      expect(sum(compounds.filter((c) => codes.has(c.r.street_code)).map((c) => signedArea(c.ring)))).toBeCloseTo(signedArea(d.ring), 10);
    }
    for (const s of streets.values()) expect(sum(compounds.filter((c) => c.r.street_code === s.code).map((c) => signedArea(c.ring)))).toBeCloseTo(signedArea(s.ring), 10);
  });

  it('adjacency is symmetric and is exactly the pairs of compounds that share an edge', () => {
    const pairs = all(city, 'compound_adjacency').map((r) => `${r.compound_code}|${r.neighbor_code}`);
    const set = new Set(pairs);
    expect(set.size).toBe(pairs.length);
    for (const p of set) {
      const [a, b] = p.split('|');
      expect(a).not.toBe(b);
      expect(set.has(`${b}|${a}`)).toBe(true);
    }
    const byEdge = new Map<string, string[]>();
    for (const c of compounds) {
      for (let i = 0; i < c.ring.length - 1; i++) {
        const key = [JSON.stringify(c.ring[i]), JSON.stringify(c.ring[i + 1])].sort().join();
        byEdge.set(key, [...(byEdge.get(key) ?? []), c.code]);
      }
    }
    const sharing = new Set<string>();
    for (const holders of byEdge.values()) {
      expect(holders.length).toBeLessThanOrEqual(2);
      if (holders.length === 2) sharing.add(`${holders[0]}|${holders[1]}`).add(`${holders[1]}|${holders[0]}`);
    }
    expect([...sharing].sort()).toEqual([...set].sort());
  });

  it('streets and districts are contiguous (connected through adjacency)', () => {
    const nb = new Map<string, string[]>();
    for (const r of all(city, 'compound_adjacency')) nb.set(r.compound_code, [...(nb.get(r.compound_code) ?? []), r.neighbor_code]);
    const districtOf = (code: string) => code.slice(0, 3);
    const streetOf = (code: string) => code.slice(0, 7);
    for (const group of [districtOf, streetOf]) {
      const members = new Map<string, string[]>();
      for (const c of compounds) members.set(group(c.code), [...(members.get(group(c.code)) ?? []), c.code]);
      for (const [g, list] of members) {
        const seen = new Set([list[0]]);
        const todo = [list[0]];
        while (todo.length) {
          for (const n of nb.get(todo.pop()!) ?? []) {
            if (group(n) !== g || seen.has(n)) continue;
            seen.add(n);
            todo.push(n);
          }
        }
        expect(seen.size, g).toBe(list.length);
      }
    }
  });
});

// ---- people and resources ----

describe('population', () => {
  const persons = 50_000;
  const city = generateCity({ persons, seed: 2 });
  const people = all(city, 'persons');
  const ageOn = (birth: string) => {
    const [y, m, d] = birth.split('-').map(Number);
    return 2022 - y - (m > 4 || (m === 4 && d > 1) ? 1 : 0);
  };

  it('has about 23% aged 60 and over (Shanghai), and children only with an adult', () => {
    const old = people.filter((p) => ageOn(p.birth_date) >= 60).length / persons;
    expect(old).toBeGreaterThan(0.2);
    expect(old).toBeLessThan(0.26);
    const byHousehold = new Map<string, number[]>();
    for (const p of people) byHousehold.set(p.household_code, [...(byHousehold.get(p.household_code) ?? []), ageOn(p.birth_date)]);
    for (const ages of byHousehold.values()) expect(Math.max(...ages)).toBeGreaterThanOrEqual(18);
    for (const p of people) expect(p.birth_date < '2022-04-01' && p.birth_date > '1920-01-01').toBe(true);
  });

  it('lives in households of 1 to 6, every household occupied, about 2.4 people each', () => {
    const sizes = new Map<string, number>();
    for (const p of people) sizes.set(p.household_code, (sizes.get(p.household_code) ?? 0) + 1);
    expect(sizes.size).toBe(city.counts.households);
    for (const n of sizes.values()) {
      expect(n).toBeGreaterThanOrEqual(1);
      expect(n).toBeLessThanOrEqual(6);
    }
    expect(persons / sizes.size).toBeGreaterThan(2.1);
    expect(persons / sizes.size).toBeLessThan(2.7);
    const shared = all(city, 'households').filter((h) => h.shared_facilities === 'true').length / sizes.size;
    expect(shared).toBeGreaterThan(0.005);
    expect(shared).toBeLessThan(0.1);
  });

  it('has valid, unique 18-digit ID numbers that agree with birth date and sex', () => {
    const ids = new Set<string>();
    for (const p of people) {
      expect(idNumberProblem(p.id_number)).toBeNull();
      expect(p.id_number.slice(6, 14)).toBe(p.birth_date.replaceAll('-', ''));
      expect(Number(p.id_number[16]) % 2 === 1 ? 'M' : 'F').toBe(p.sex);
      ids.add(p.id_number);
    }
    expect(ids.size).toBe(persons);
  });

  it('has Chinese names, unique mobile phones (none for young children) and known vocabularies', () => {
    const phones = people.map((p) => p.phone).filter(Boolean);
    expect(new Set(phones).size).toBe(phones.length);
    for (const p of people) {
      expect(p.name).toMatch(/^[\u4e00-\u9fff]{2,4}$/);
      if (p.phone) expect(p.phone).toMatch(/^1[3-9]\d{9}$/);
      if (ageOn(p.birth_date) < 12) expect(p.phone).toBe('');
      for (const c of p.comorbidities ? p.comorbidities.split(';') : []) expect(COMORBIDITIES).toContain(c);
      for (const c of p.care_needs ? p.care_needs.split(';') : []) expect(CARE_NEEDS).toContain(c);
      expect(PREGNANCY).toContain(p.pregnancy);
      if (p.pregnancy !== 'none') expect(p.sex).toBe('F');
      if (p.care_needs.includes('dialysis')) expect(p.comorbidities).toContain('chronicKidney');
    }
    const pregnant = people.filter((p) => p.pregnancy !== 'none');
    expect(pregnant.some((p) => p.pregnancy === 'late')).toBe(true);
    expect(pregnant.some((p) => p.pregnancy === 'early')).toBe(true);
  });

  it('has comorbidities that rise with age, and a few people on dialysis', () => {
    const rate = (cond: string, lo: number, hi: number) => {
      const group = people.filter((p) => ageOn(p.birth_date) >= lo && ageOn(p.birth_date) < hi);
      return group.filter((p) => p.comorbidities.split(';').includes(cond)).length / group.length;
    };
    for (const cond of ['hypertension', 'diabetes', 'cardiovascular']) expect(rate(cond, 60, 200)).toBeGreaterThan(2 * rate(cond, 18, 40));
    expect(rate('hypertension', 60, 200)).toBeGreaterThan(0.35);
    expect(rate('hypertension', 60, 200)).toBeLessThan(0.7);
    const dialysis = people.filter((p) => p.care_needs.includes('dialysis')).length;
    expect(dialysis).toBeGreaterThan(0);
    expect(dialysis / persons).toBeLessThan(0.002);
  });

  it('has one sampling point per ~2,500 residents, a venue per ~13, skewed popularity', () => {
    expect(city.counts.sampling_points).toBe(persons / 2500);
    const perStreet = new Map<string, number>();
    for (const p of all(city, 'sampling_points')) perStreet.set(p.street_code, (perStreet.get(p.street_code) ?? 0) + 1);
    expect(perStreet.size).toBe(city.counts.streets);
    expect(city.counts.venues).toBe(Math.round(persons / 13));
    const pop = all(city, 'venues').map((v) => Number(v.popularity)).sort((a, b) => b - a);
    const top = pop.slice(0, Math.ceil(pop.length / 10)).reduce((a, b) => a + b);
    expect(top / pop.reduce((a, b) => a + b)).toBeGreaterThan(0.35);
  });

  it('has lab capacity, hospital beds, shelter beds and quarantine rooms in proportion to population', () => {
    const big = generateCity({ persons: 1_000_000, seed: 1 });
    for (const c of [city, big]) {
      const n = c.options.persons;
      const facilities = all(c, 'facilities');
      const sum = (kind: string, col: string) => facilities.filter((f) => f.kind === kind).reduce((s, f) => s + Number(f[col]), 0);
      const lab = all(c, 'labs').reduce((s, l) => s + Number(l.daily_capacity), 0);
      expect(lab / n).toBeCloseTo(0.2, 2);
      expect(sum('shelterHospital', 'beds_general') / (n / 1000)).toBeCloseTo(8, 0);
      expect(sum('quarantineSite', 'rooms') / (n / 1000)).toBeCloseTo(4, 0);
      const hospital = sum('designatedHospital', 'beds_general') + sum('designatedHospital', 'beds_icu');
      expect(hospital / (n / 1000)).toBeGreaterThan(0.3);
      expect(hospital / (n / 1000)).toBeLessThan(0.45);
      expect(sum('designatedHospital', 'beds_icu')).toBeGreaterThan(0);
      // Every district has each kind of facility and a lab.
      for (const d of all(c, 'districts')) {
        for (const kind of FACILITY_KINDS) expect(facilities.some((f) => f.district_code === d.code && f.kind === kind)).toBe(true);
      }
    }
  }, 60_000);
});
