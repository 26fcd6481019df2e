// Bulk import of registry CSV files. Every row is validated and its codes resolved to ids (parent maps
// loaded once, households and existing records looked up per chunk, never per row); good rows go to the
// table with COPY in chunks, all in ONE transaction. All or nothing unless `partial`: with a bad row and
// no `partial`, the transaction is rolled back and every bad line is reported.
import { Parser } from 'csv-parse';
import type { Readable } from 'node:stream';
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { AppContext } from '../core/context.ts';
import type { Queryable } from '../core/db.ts';
import { csvField } from '../core/db.ts';
import { appendAudit } from '../core/audit.ts';
import { PiiKeys } from '../core/pii.ts';
import { conflict } from '../core/errors.ts';
import { CARE_NEEDS, COMORBIDITIES, CSV_COLUMNS, FACILITY_KINDS, PREGNANCY, VENUE_KINDS, type CsvRecord, type EntityName, type ImportOptions, type ImportReport } from './entities.ts';
import { bool, date, geometry, idNumber, int, list, num, oneOf, phone, requiredText, RowError, text, time, today } from './validation.ts';
import { recomputeStreetPopulation } from './store.ts';

/** Rows per COPY chunk and per batch lookup: small enough that a chunk's objects die young (GC was a
 * quarter of the time with 50k), large enough that a COPY statement's own cost does not show. */
const CHUNK = 10_000;
/** Bad lines listed in a report (all are counted). */
const MAX_LISTED = 1000;

interface Row {
  line: number;
  /** What makes two rows the same record (a code, an ID number): duplicates within a file are rejected. */
  key: string;
  /** The district the row belongs to, once known (for district users' imports). */
  district: number | null;
  reject?: string;
}

interface Prepared<R extends Row> {
  /** Checks one row's fields and resolves what can be resolved from the maps loaded up front. */
  parse(f: string[], line: number): R;
  /** Resolves what needs a lookup (per chunk); sets `reject` on rows that fail. */
  resolve?(q: Queryable, rows: R[]): Promise<void>;
  /** The keys of these rows that already exist in the table. */
  existing(q: Queryable, rows: R[]): Promise<Set<string>>;
  /** The row as a CSV line for COPY, in `columns` order. */
  line(r: R): string;
}

/** What checking a row needs besides the loaded maps: the same on this thread and in a worker. */
interface ParseEnv {
  pii: PiiKeys;
  /** Today (no birth date after it). */
  latest: string;
}

interface Spec<R extends Row, D = any> {
  table: string;
  columns: string[];
  /** Updates the table from the staged rows that matched existing records (null: matched rows stay as they are). */
  update: string | null;
  /** Loads what checking the rows needs (maps by code); plain data, so that a worker thread can be given a copy. */
  load(q: Queryable): Promise<D>;
  /** The row functions over the loaded data. */
  make(d: D, env: ParseEnv): Prepared<R>;
  after?(q: Queryable): Promise<void>;
}

// ---- helpers for the specs ----

async function codeMap<T>(q: Queryable, sql: string, value: (r: any) => T): Promise<Map<string, T>> {
  const rows = await q.query<{ code: string }>(sql);
  return new Map(rows.map((r) => [r.code, value(r)]));
}

function lookup<T>(map: Map<string, T>, v: string, col: string, what: string): T {
  const s = v.trim();
  if (!s) throw new RowError(`${col} is missing`);
  const hit = map.get(s);
  if (hit === undefined) throw new RowError(`unknown ${col} '${s}' (no such ${what})`);
  return hit;
}

function optionalLookup<T>(map: Map<string, T>, v: string, col: string, what: string): T | null {
  return v.trim() ? lookup(map, v, col, what) : null;
}

async function existingCodes(q: Queryable, table: string, rows: Row[]): Promise<Set<string>> {
  const found = await q.query<{ code: string }>(`SELECT code FROM ${table} WHERE code = ANY($1::text[])`, [rows.map((r) => r.key)]);
  return new Set(found.map((r) => r.code));
}

const updateByCode = (table: string, columns: string[]) =>
  `UPDATE ${table} t SET ${columns.filter((c) => c !== 'code').map((c) => `${c} = s.${c}`).join(', ')} FROM registry_stage s WHERE t.code = s.code`;

const f = csvField;
const n = (v: number | null) => (v === null ? '' : String(v));
/** A text[] value for COPY; our vocabulary words need no escaping, only the CSV quotes around a comma. */
const arr = (a: readonly string[]) => (a.length === 0 ? '{}' : a.length === 1 ? `{${a[0]}}` : `"{${a.join(',')}}"`);

type Place = { id: number; district: number };
type StreetRef = { id: number; district: number };
type CompoundRef = { id: number; street: number; district: number };

const districtsSql = 'SELECT code, id FROM districts';
const streetsSql = 'SELECT code, id, district_id FROM streets';
const compoundsSql = 'SELECT code, id, street_id, district_id FROM compounds';

// ---- the specs, one per entity ----

type DistrictRow = Row & { code: string; name: string; nameEn: string | null; population: number; geom: string | null };
const districtCols = ['code', 'name', 'name_en', 'population', 'geom'];
const districts: Spec<DistrictRow> = {
  table: 'districts',
  columns: districtCols,
  update: updateByCode('districts', districtCols),
  load: async () => null,
  make() {
    return {
      parse: (c, line) => {
        const code = requiredText(c[0], 'code', 50);
        return { line, key: code, district: null, code, name: requiredText(c[1], 'name'), nameEn: text(c[2], 'name_en'), population: int(c[3], 'population', { min: 0, def: 0 })!, geom: geometry(c[4]) };
      },
      existing: (q, rows) => existingCodes(q, 'districts', rows),
      line: (r) => `${f(r.code)},${f(r.name)},${f(r.nameEn)},${r.population},${f(r.geom)}\n`,
    };
  },
};

type StreetRow = Row & { code: string; districtId: number; name: string; nameEn: string | null; geom: string | null };
const streetCols = ['code', 'district_id', 'name', 'name_en', 'geom'];
const streets: Spec<StreetRow> = {
  table: 'streets',
  columns: streetCols,
  update: updateByCode('streets', streetCols),
  load: async (q) => ({ ds: await codeMap(q, districtsSql, (r) => r.id as number) }),
  make({ ds }: { ds: Map<string, number> }) {
    return {
      parse: (c, line) => {
        const code = requiredText(c[0], 'code', 50);
        const districtId = lookup(ds, c[1], 'district_code', 'district');
        return { line, key: code, district: districtId, code, districtId, name: requiredText(c[2], 'name'), nameEn: text(c[3], 'name_en'), geom: geometry(c[4]) };
      },
      existing: (q, rows) => existingCodes(q, 'streets', rows),
      line: (r) => `${f(r.code)},${r.districtId},${f(r.name)},${f(r.nameEn)},${f(r.geom)}\n`,
    };
  },
};

type CompoundRow = Row & { code: string; street: StreetRef; name: string; geom: string | null; lon: number | null; lat: number | null; population: number };
const compoundCols = ['code', 'street_id', 'district_id', 'name', 'geom', 'centroid_lon', 'centroid_lat', 'population'];
const compounds: Spec<CompoundRow> = {
  table: 'compounds',
  columns: compoundCols,
  update: updateByCode('compounds', compoundCols),
  load: async (q) => ({ ss: await codeMap<StreetRef>(q, streetsSql, (r) => ({ id: r.id, district: r.district_id })) }),
  make({ ss }: { ss: Map<string, StreetRef> }) {
    return {
      parse: (c, line) => {
        const code = requiredText(c[0], 'code', 50);
        const street = lookup(ss, c[1], 'street_code', 'street');
        return {
          line, key: code, district: street.district, code, street, name: requiredText(c[2], 'name'), geom: geometry(c[3]),
          lon: num(c[4], 'centroid_lon', { min: -180, max: 180 }), lat: num(c[5], 'centroid_lat', { min: -90, max: 90 }), population: int(c[6], 'population', { min: 0, def: 0 })!,
        };
      },
      existing: (q, rows) => existingCodes(q, 'compounds', rows),
      line: (r) => `${f(r.code)},${r.street.id},${r.street.district},${f(r.name)},${f(r.geom)},${n(r.lon)},${n(r.lat)},${r.population}\n`,
    };
  },
  // Streets have no population column in their file: it is the sum of their compounds.
  after: (q) => recomputeStreetPopulation(q),
};

type AdjacencyRow = Row & { a: number; b: number };
const compound_adjacency: Spec<AdjacencyRow> = {
  table: 'compound_adjacency',
  columns: ['compound_id', 'neighbor_id'],
  update: null,
  load: async (q) => ({ cs: await codeMap<CompoundRef>(q, compoundsSql, (r) => ({ id: r.id, street: r.street_id, district: r.district_id })) }),
  make({ cs }: { cs: Map<string, CompoundRef> }) {
    return {
      parse: (c, line) => {
        const a = lookup(cs, c[0], 'compound_code', 'compound');
        const b = lookup(cs, c[1], 'neighbor_code', 'compound');
        if (a.id === b.id) throw new RowError(`compound '${c[0]}' cannot be its own neighbour`);
        return { line, key: `${a.id}-${b.id}`, district: a.district, a: a.id, b: b.id };
      },
      async existing(q, rows) {
        const found = await q.query<{ k: string }>(
          `SELECT compound_id || '-' || neighbor_id AS k FROM compound_adjacency WHERE (compound_id, neighbor_id) IN (SELECT * FROM unnest($1::int[], $2::int[]))`,
          [rows.map((r) => r.a), rows.map((r) => r.b)],
        );
        return new Set(found.map((r) => r.k));
      },
      line: (r) => `${r.a},${r.b}\n`,
    };
  },
};

type BuildingRow = Row & { code: string; compound: number; name: string; floors: number };
const buildingCols = ['code', 'compound_id', 'name', 'floors'];
const buildings: Spec<BuildingRow> = {
  table: 'buildings',
  columns: buildingCols,
  update: updateByCode('buildings', buildingCols),
  load: async (q) => ({ cs: await codeMap<Place>(q, compoundsSql, (r) => ({ id: r.id, district: r.district_id })) }),
  make({ cs }: { cs: Map<string, Place> }) {
    return {
      parse: (c, line) => {
        const code = requiredText(c[0], 'code', 50);
        const compound = lookup(cs, c[1], 'compound_code', 'compound');
        return { line, key: code, district: compound.district, code, compound: compound.id, name: requiredText(c[2], 'name'), floors: int(c[3], 'floors', { min: 1, max: 300, def: 1 })! };
      },
      existing: (q, rows) => existingCodes(q, 'buildings', rows),
      line: (r) => `${f(r.code)},${r.compound},${f(r.name)},${r.floors}\n`,
    };
  },
};

type HouseholdRow = Row & { code: string; building: number; compound: number; floor: number; unit: string | null; shared: boolean };
const householdCols = ['code', 'building_id', 'compound_id', 'floor', 'unit', 'shared_facilities'];
const households: Spec<HouseholdRow> = {
  table: 'households',
  columns: householdCols,
  update: updateByCode('households', householdCols),
  load: async (q) => ({ bs: await codeMap<{ id: number; compound: number; district: number; floors: number }>(
      q,
      'SELECT b.code, b.id, b.compound_id, b.floors, c.district_id FROM buildings b JOIN compounds c ON c.id = b.compound_id',
      (r) => ({ id: r.id, compound: r.compound_id, district: r.district_id, floors: r.floors }),
    ) }),
  make({ bs }: { bs: Map<string, { id: number; compound: number; district: number; floors: number }> }) {
    return {
      parse: (c, line) => {
        const code = requiredText(c[0], 'code', 50);
        const b = lookup(bs, c[1], 'building_code', 'building');
        const floor = int(c[2], 'floor', { min: -5, max: 300, def: 1 })!;
        if (floor > b.floors) throw new RowError(`floor ${floor} is above the building's ${b.floors} floors`);
        return { line, key: code, district: b.district, code, building: b.id, compound: b.compound, floor, unit: text(c[3], 'unit', { max: 50 }), shared: bool(c[4], 'shared_facilities') };
      },
      existing: (q, rows) => existingCodes(q, 'households', rows),
      line: (r) => `${f(r.code)},${r.building},${r.compound},${r.floor},${f(r.unit)},${r.shared}\n`,
    };
  },
};

type PersonRow = Row & {
  /** The ID number's keyed hash, in hex (what finds an existing person). */
  hashHex: string;
  /** The COPY line up to the household, and after the district. */
  head: string;
  tail: string;
  householdCode: string | null;
  compound: CompoundRef | null;
  household: number | null;
};
export const PERSON_COPY_COLUMNS = ['id_hash', 'id_enc', 'personal_code', 'name', 'sex', 'birth_date', 'phone', 'household_id', 'compound_id', 'street_id', 'district_id', 'comorbidities', 'pregnancy', 'care_needs'];
const persons: Spec<PersonRow> = {
  table: 'persons',
  columns: PERSON_COPY_COLUMNS,
  // A person found again by ID number is updated; the ID copies and the personal code stay as they are.
  update: `UPDATE persons p SET ${PERSON_COPY_COLUMNS.slice(3).map((c) => `${c} = s.${c}`).join(', ')}, updated_at = now() FROM registry_stage s WHERE p.id_hash = s.id_hash`,
  load: async (q) => ({ cs: await codeMap<CompoundRef>(q, compoundsSql, (r) => ({ id: r.id, street: r.street_id, district: r.district_id })) }),
  make({ cs }: { cs: Map<string, CompoundRef> }, { pii, latest }) {
    return {
      parse: (c, line) => {
        const key = idNumber(c[0]);
        const sex = oneOf(c[2], 'sex', ['F', 'M']);
        const pregnancy = oneOf(c[8], 'pregnancy', PREGNANCY, 'none');
        if (pregnancy !== 'none' && sex === 'M') throw new RowError(`pregnancy '${pregnancy}' does not go with sex 'M'`);
        const householdCode = text(c[5], 'household_code', { max: 50 });
        const compound = optionalLookup(cs, c[6], 'compound_code', 'compound');
        if (!householdCode && !compound) throw new RowError('household_code or compound_code is needed (where the person lives)');
        const name = requiredText(c[1], 'name');
        const birth = date(c[3], 'birth_date', latest);
        const tel = phone(c[4]);
        const comorbidities = list(c[7], 'comorbidities', COMORBIDITIES);
        const careNeeds = list(c[9], 'care_needs', CARE_NEEDS);
        // The hashing and encryption happen here, in the worker thread for a large file (or, on this
        // thread, while the previous chunk's COPY is still running).
        const hash = pii.hashId(key);
        const hashHex = hash.toString('hex');
        const head = `\\x${hashHex},\\x${pii.encryptId(key).toString('hex')},${pii.personalCode(hash)},${f(name)},${sex},${birth},${tel ?? ''},`;
        return { line, key, district: compound?.district ?? null, hashHex, head, householdCode, compound, household: null, tail: `,${arr(comorbidities)},${pregnancy},${arr(careNeeds)}\n` };
      },
      async resolve(q, rows) {
        const codes = [...new Set(rows.filter((r) => r.householdCode).map((r) => r.householdCode!))];
        if (!codes.length) return;
        const found = await q.query<{ code: string; id: number; compound_id: number }>('SELECT code, id, compound_id FROM households WHERE code = ANY($1::text[])', [codes]);
        const hh = new Map(found.map((h) => [h.code, h]));
        const byId = new Map([...cs.values()].map((c) => [c.id, c]));
        for (const r of rows) {
          if (!r.householdCode) continue;
          const h = hh.get(r.householdCode);
          if (!h) r.reject = `unknown household_code '${r.householdCode}' (no such household)`;
          else if (r.compound && r.compound.id !== h.compound_id) r.reject = `household '${r.householdCode}' is not in compound_code's compound`;
          else {
            r.household = h.id;
            r.compound = byId.get(h.compound_id) ?? null;
            r.district = r.compound?.district ?? null;
          }
        }
      },
      async existing(q, rows) {
        const byHex = new Map<string, string>();
        for (const r of rows) byHex.set(r.hashHex, r.key);
        const found = await q.query<{ h: string }>(`SELECT encode(id_hash, 'hex') AS h FROM persons WHERE id_hash IN (SELECT decode(x, 'hex') FROM unnest($1::text[]) x)`, [[...byHex.keys()]]);
        return new Set(found.map((r) => byHex.get(r.h)!));
      },
      line: (r) => {
        const c = r.compound;
        return `${r.head}${n(r.household)},${c ? `${c.id},${c.street},${c.district}` : ',,'}${r.tail}`;
      },
    };
  },
};

type VenueRow = Row & { code: string; name: string; kind: string; district: number; street: number | null; compound: number | null; lon: number; lat: number; popularity: number };
const venueCols = ['code', 'name', 'kind', 'district_id', 'street_id', 'compound_id', 'lon', 'lat', 'popularity'];
const venues: Spec<VenueRow> = {
  table: 'venues',
  columns: venueCols,
  update: updateByCode('venues', venueCols),
  load: async (q) => ({ ds: await codeMap(q, districtsSql, (r) => r.id as number), ss: await codeMap<StreetRef>(q, streetsSql, (r) => ({ id: r.id, district: r.district_id })), cs: await codeMap<CompoundRef>(q, compoundsSql, (r) => ({ id: r.id, street: r.street_id, district: r.district_id })) }),
  make({ ds, ss, cs }: { ds: Map<string, number>; ss: Map<string, StreetRef>; cs: Map<string, CompoundRef> }) {
    return {
      parse: (c, line) => {
        const code = requiredText(c[0], 'code', 50);
        const district = lookup(ds, c[3], 'district_code', 'district');
        const street = optionalLookup(ss, c[4], 'street_code', 'street');
        const compound = optionalLookup(cs, c[5], 'compound_code', 'compound');
        if (street && street.district !== district) throw new RowError(`street '${c[4]}' is not in district '${c[3]}'`);
        if (compound && compound.district !== district) throw new RowError(`compound '${c[5]}' is not in district '${c[3]}'`);
        if (compound && street && compound.street !== street.id) throw new RowError(`compound '${c[5]}' is not in street '${c[4]}'`);
        return {
          line, key: code, code, name: requiredText(c[1], 'name'), kind: oneOf(c[2], 'kind', VENUE_KINDS), district, street: street?.id ?? compound?.street ?? null, compound: compound?.id ?? null,
          lon: num(c[6], 'lon', { min: -180, max: 180, required: true })!, lat: num(c[7], 'lat', { min: -90, max: 90, required: true })!, popularity: num(c[8], 'popularity', { min: 0, def: 1 })!,
        };
      },
      existing: (q, rows) => existingCodes(q, 'venues', rows),
      line: (r) => `${f(r.code)},${f(r.name)},${r.kind},${r.district},${n(r.street)},${n(r.compound)},${r.lon},${r.lat},${r.popularity}\n`,
    };
  },
};

type PointRow = Row & { code: string; name: string; district: number; street: number | null; lon: number; lat: number; stations: number; opens: string; closes: string; vaccinates: boolean };
const pointCols = ['code', 'name', 'district_id', 'street_id', 'lon', 'lat', 'stations', 'opens', 'closes', 'vaccinates'];
const sampling_points: Spec<PointRow> = {
  table: 'sampling_points',
  columns: pointCols,
  update: updateByCode('sampling_points', pointCols),
  load: async (q) => ({ ds: await codeMap(q, districtsSql, (r) => r.id as number), ss: await codeMap<StreetRef>(q, streetsSql, (r) => ({ id: r.id, district: r.district_id })) }),
  make({ ds, ss }: { ds: Map<string, number>; ss: Map<string, StreetRef> }) {
    return {
      parse: (c, line) => {
        const code = requiredText(c[0], 'code', 50);
        const district = lookup(ds, c[2], 'district_code', 'district');
        const street = optionalLookup(ss, c[3], 'street_code', 'street');
        if (street && street.district !== district) throw new RowError(`street '${c[3]}' is not in district '${c[2]}'`);
        const opens = time(c[7], 'opens', '08:00');
        const closes = time(c[8], 'closes', '20:00');
        return {
          line, key: code, code, name: requiredText(c[1], 'name'), district, street: street?.id ?? null, lon: num(c[4], 'lon', { min: -180, max: 180, required: true })!,
          lat: num(c[5], 'lat', { min: -90, max: 90, required: true })!, stations: int(c[6], 'stations', { min: 1, max: 1000, def: 1 })!, opens, closes, vaccinates: bool(c[9], 'vaccinates'),
        };
      },
      existing: (q, rows) => existingCodes(q, 'sampling_points', rows),
      line: (r) => `${f(r.code)},${f(r.name)},${r.district},${n(r.street)},${r.lon},${r.lat},${r.stations},${r.opens},${r.closes},${r.vaccinates}\n`,
    };
  },
};

type LabRow = Row & { code: string; name: string; district: number; capacity: number };
const labCols = ['code', 'name', 'district_id', 'daily_capacity'];
const labs: Spec<LabRow> = {
  table: 'labs',
  columns: labCols,
  update: updateByCode('labs', labCols),
  load: async (q) => ({ ds: await codeMap(q, districtsSql, (r) => r.id as number) }),
  make({ ds }: { ds: Map<string, number> }) {
    return {
      parse: (c, line) => {
        const code = requiredText(c[0], 'code', 50);
        return { line, key: code, code, name: requiredText(c[1], 'name'), district: lookup(ds, c[2], 'district_code', 'district'), capacity: int(c[3], 'daily_capacity', { min: 0, required: true })! };
      },
      existing: (q, rows) => existingCodes(q, 'labs', rows),
      line: (r) => `${f(r.code)},${f(r.name)},${r.district},${r.capacity}\n`,
    };
  },
};

type FacilityRow = Row & { code: string; name: string; kind: string; district: number; lon: number; lat: number; general: number; icu: number; rooms: number };
const facilityCols = ['code', 'name', 'kind', 'district_id', 'lon', 'lat', 'beds_general', 'beds_icu', 'rooms'];
const facilities: Spec<FacilityRow> = {
  table: 'facilities',
  columns: facilityCols,
  update: updateByCode('facilities', facilityCols),
  load: async (q) => ({ ds: await codeMap(q, districtsSql, (r) => r.id as number) }),
  make({ ds }: { ds: Map<string, number> }) {
    return {
      parse: (c, line) => {
        const code = requiredText(c[0], 'code', 50);
        return {
          line, key: code, code, name: requiredText(c[1], 'name'), kind: oneOf(c[2], 'kind', FACILITY_KINDS), district: lookup(ds, c[3], 'district_code', 'district'),
          lon: num(c[4], 'lon', { min: -180, max: 180, required: true })!, lat: num(c[5], 'lat', { min: -90, max: 90, required: true })!,
          general: int(c[6], 'beds_general', { min: 0, def: 0 })!, icu: int(c[7], 'beds_icu', { min: 0, def: 0 })!, rooms: int(c[8], 'rooms', { min: 0, def: 0 })!,
        };
      },
      existing: (q, rows) => existingCodes(q, 'facilities', rows),
      line: (r) => `${f(r.code)},${f(r.name)},${r.kind},${r.district},${r.lon},${r.lat},${r.general},${r.icu},${r.rooms}\n`,
    };
  },
};

const SPECS: Record<EntityName, Spec<any>> = { districts, streets, compounds, compound_adjacency, buildings, households, persons, venues, sampling_points, labs, facilities };

// ---- reading and checking the records (on this thread, or the same code in a worker thread) ----

/** Records, each with the line it starts on. */
export interface Batch {
  lines: number[];
  records: string[][];
}

/** A bad line: its number in the file and why. */
export interface BadLine {
  line: number;
  reason: string;
}

/** What one record came to: a row to keep, a bad line, or null (a blank line: not a record). */
export type Checked = Row | BadLine | null;

/** How the file's fields map to the spec's: how many there are, and their order (null: the spec's own). */
export interface Shape {
  width: number;
  order: number[] | null;
}

export class MalformedCsv extends Error {
  constructor(
    readonly line: number,
    message: string,
  ) {
    super(message);
  }
}

interface CsvApi {
  parse(buf: Buffer | undefined, end: boolean, push: (record: string[]) => void, close: () => void): Error | undefined;
  info: { lines: number };
}

/** csv-parse's parser core, driven directly: records come out in batches per piece of input, without a
 * stream hop and a promise per record (a large share of the time at a million rows). */
export class CsvReader {
  private readonly api = (new Parser({ bom: true, relax_column_count: true }) as unknown as { api: CsvApi }).api;
  private lines: number[] = [];
  private records: string[][] = [];
  private lastLine = 0;
  private readonly push = (record: string[]) => {
    this.lines.push(this.lastLine + 1);
    this.records.push(record);
    this.lastLine = this.api.info.lines;
  };

  /** The records this piece of input completes (`undefined`: the input has ended). */
  read(buf: Buffer | undefined): Batch {
    const err = this.api.parse(buf, buf === undefined, this.push, () => {}) as (Error & { lines?: number }) | undefined;
    // A broken file (an unclosed quote ...) cannot be read on: name where it broke, keep nothing.
    if (err) throw new MalformedCsv(err.lines ?? this.lastLine + 1, `the file cannot be read from here on: ${err.message}`);
    const batch = { lines: this.lines, records: this.records };
    this.lines = [];
    this.records = [];
    return batch;
  }
}

/** Checks each record of a batch: its field count, then the spec's own checks. */
export function checkRecords(parse: (f: string[], line: number) => Row, shape: Shape, { lines, records }: Batch): Checked[] {
  const out: Checked[] = new Array(records.length);
  for (let i = 0; i < records.length; i++) {
    const fields = records[i];
    const line = lines[i];
    if (fields.length !== shape.width) {
      // A blank line is not a record; anything else with the wrong count is.
      out[i] = fields.length === 1 && fields[0] === '' ? null : { line, reason: `has ${fields.length} field(s), the header has ${shape.width}` };
      continue;
    }
    try {
      out[i] = parse(shape.order ? shape.order.map((p) => fields[p]) : fields, line);
    } catch (e) {
      if (!(e instanceof RowError)) throw e;
      out[i] = { line, reason: e.message };
    }
  }
  return out;
}

/** The row checker of an entity over its loaded data: what a worker thread builds from what it is sent. */
export function parserFor(entity: EntityName, data: unknown, env: ParseEnv): (f: string[], line: number) => Row {
  return SPECS[entity].make(data, env).parse;
}

/** What checking the records of one import needs: the same on this thread and sent to a worker. */
interface CheckSetup {
  entity: EntityName;
  shape: Shape;
  data: unknown;
  latest: string;
  /** The checker on this thread (a worker builds its own from the rest). */
  parse: (f: string[], line: number) => Row;
}

/** Where an import's records come from: the header first, then the other records, checked. */
interface Reader {
  /** The first record (null: the input is empty). */
  header(): Promise<string[] | null>;
  checked(setup: CheckSetup): AsyncIterable<Checked[]>;
  /** Frees what the reader holds (a worker goes back to the pool only when its session ended cleanly). */
  close(): void;
}

/** Records read and checked on this thread. */
class LocalReader implements Reader {
  private first: Batch | null = null;

  constructor(
    private readonly next: () => Promise<Batch | null>,
    private readonly head?: string[],
  ) {}

  async header(): Promise<string[] | null> {
    if (this.head) return this.head;
    this.first = await this.next();
    if (!this.first) return null;
    this.first.lines.shift();
    return this.first.records.shift()!;
  }

  async *checked(setup: CheckSetup): AsyncIterable<Checked[]> {
    for (let b = this.first ?? (await this.next()); b; b = await this.next()) yield checkRecords(setup.parse, setup.shape, b);
  }

  close(): void {}
}

// ---- the worker pool ----

/** Below this much input, a file is read on this thread (a worker's start is about a second). */
const WORKER_MIN_BYTES = 1.5 * (1 << 20);
/** Input sent ahead to a worker and not yet answered: enough that it never waits for this thread's COPY. */
const WORKER_AHEAD_BYTES = 4 << 20;
/** Rows answered by a worker and not yet taken by this thread (as the input they came from). */
const WORKER_HELD_BYTES = 16 << 20;
const POOL_SIZE = Math.max(1, availableParallelism() - 1);

type Reply = { header?: string[] | null; checked?: Checked[]; malformed?: { line: number; message: string }; failed?: string };
export type WorkerMessage =
  | { type: 'piece'; buf: Uint8Array | null; first: boolean }
  | { type: 'start'; entity: EntityName; shape: Shape; data: unknown; latest: string; key: Uint8Array };

/** A worker thread that answers every message with one reply, in order. */
class CheckThread {
  private readonly worker: Worker;
  private readonly waiting: { resolve: (r: Reply) => void; reject: (e: Error) => void }[] = [];
  dead = false;

  constructor() {
    // The project runs TypeScript through tsx; a new thread registers it again (import-worker.mjs).
    this.worker = new Worker(new URL('./import-worker.mjs', import.meta.url));
    this.worker.on('message', (r: Reply) => this.waiting.shift()?.resolve(r));
    const fail = (e: Error) => {
      this.dead = true;
      pool.forget(this);
      for (const w of this.waiting.splice(0)) w.reject(e);
    };
    this.worker.on('error', fail);
    this.worker.on('exit', (code) => fail(new Error(`the import worker stopped (exit code ${code})`)));
  }

  ask(m: WorkerMessage): Promise<Reply> {
    const p = new Promise<Reply>((resolve, reject) => this.waiting.push({ resolve, reject }));
    p.catch(() => {}); // a failure is thrown where the reply is awaited
    if (this.dead) this.waiting.pop()!.reject(new Error('the import worker has stopped'));
    else this.worker.postMessage(m);
    return p;
  }

  get busy(): boolean {
    return this.waiting.length > 0;
  }

  hold(on: boolean): void {
    // An idle worker does not keep the process alive.
    if (on) this.worker.ref();
    else this.worker.unref();
  }

  stop(): void {
    this.dead = true;
    pool.forget(this);
    void this.worker.terminate();
  }
}

/** Up to one worker per core but one (this thread runs the COPY); each import takes one while it runs. */
const pool = {
  idle: [] as CheckThread[],
  live: new Set<CheckThread>(),
  take(): CheckThread | null {
    const t = this.idle.pop() ?? (this.live.size < POOL_SIZE ? new CheckThread() : null);
    if (!t) return null;
    this.live.add(t);
    t.hold(true);
    return t;
  },
  give(t: CheckThread, clean: boolean): void {
    if (!clean || t.dead || t.busy) return t.stop();
    t.hold(false);
    this.idle.push(t);
  },
  forget(t: CheckThread): void {
    this.live.delete(t);
    const i = this.idle.indexOf(t);
    if (i !== -1) this.idle.splice(i, 1);
  },
};

/** A piece of input sent to a worker, and its answer to come. */
interface Sent {
  reply: Promise<Reply>;
  size: number;
}

/** Records read and checked in a worker thread; this thread only sends the input on and gets rows back. */
class WorkerReader implements Reader {
  private ended = false;
  private sent = 0;
  private clean = false;

  constructor(
    private readonly thread: CheckThread,
    private readonly nextPiece: () => Promise<Buffer | null>,
    private readonly key: Buffer,
  ) {}

  private async send(): Promise<Sent> {
    const buf = await this.nextPiece();
    if (!buf) this.ended = true;
    return { reply: this.thread.ask({ type: 'piece', buf, first: this.sent++ === 0 }), size: buf?.length ?? 0 };
  }

  private static open(r: Reply): Reply {
    if (r.malformed) throw new MalformedCsv(r.malformed.line, r.malformed.message);
    if (r.failed) throw new Error(r.failed);
    return r;
  }

  async header(): Promise<string[] | null> {
    for (;;) {
      const r = WorkerReader.open(await (await this.send()).reply);
      if (r.header !== undefined) {
        if (r.header === null) this.clean = true;
        return r.header;
      }
    }
  }

  async *checked(setup: CheckSetup): AsyncIterable<Checked[]> {
    const { entity, shape, data, latest } = setup;
    const ahead: Sent[] = [{ reply: this.thread.ask({ type: 'start', entity, shape, data, latest, key: this.key }), size: 0 }];
    // Input goes on to the worker as it answers, not only as this thread takes the rows: the worker keeps
    // working while this thread waits for a COPY. Bounded: so much unanswered, so much answered and not taken.
    let unanswered = 0;
    let untaken = 0;
    const failure: { error?: unknown; happened?: boolean } = {};
    let running: Promise<void> | null = null;
    const more = () => !this.ended && unanswered < WORKER_AHEAD_BYTES && untaken < WORKER_HELD_BYTES;
    const pump = (): Promise<void> => {
      if (running || !more()) return running ?? Promise.resolve();
      running = (async () => {
        try {
          do {
            const sent = await this.send();
            ahead.push(sent);
            unanswered += sent.size;
            sent.reply.then(
              () => {
                unanswered -= sent.size;
                untaken += sent.size;
                void pump();
              },
              () => {},
            );
          } while (more());
        } catch (error) {
          failure.error = error;
          failure.happened = true;
        }
      })().finally(() => (running = null));
      return running;
    };
    void pump();
    for (;;) {
      let next = ahead.shift();
      while (!next && running) {
        await running;
        next = ahead.shift();
      }
      if (failure.happened) throw failure.error;
      if (!next) break; // nothing sent and nothing being read: the input has ended
      const r = WorkerReader.open(await next.reply);
      untaken -= next.size;
      void pump();
      yield r.checked!;
    }
    this.clean = true;
  }

  close(): void {
    pool.give(this.thread, this.clean);
  }
}

/** A worker for this import, if it is large enough and the pool has one (null: read it on this thread). */
async function workerFor(ctx: AppContext, pieces: Buffer[], nextPiece: () => Promise<Buffer | null>, want: boolean | undefined): Promise<CheckThread | null> {
  if (want === false) return null;
  if (want === undefined) {
    let size = 0;
    for (const p of pieces) size += p.length;
    while (size < WORKER_MIN_BYTES) {
      const p = await nextPiece();
      if (!p) return null;
      pieces.push(p);
      size += p.length;
    }
  }
  // The worker derives the keys from the master key: only when those are the keys of this context.
  const probe = '110101199003070000';
  try {
    if (!new PiiKeys(ctx.config.key).hashId(probe).equals(ctx.pii.hashId(probe))) return null;
  } catch {
    return null; // no usable master key in this context: read on this thread
  }
  return pool.take();
}

// ---- the import run ----

class NotCommitted extends Error {}

const emptyReport = (entity: EntityName): ImportReport => ({ entity, read: 0, inserted: 0, matched: 0, rejected: [], rejectedCount: 0, committed: false });

async function run(ctx: AppContext, entity: EntityName, header: string[] | null, reader: Reader, opts: ImportOptions): Promise<ImportReport> {
  const report = emptyReport(entity);
  const reject = (line: number, reason: string) => {
    report.rejectedCount!++;
    if (report.rejected.length < MAX_LISTED) report.rejected.push({ line, reason });
  };
  const expected = CSV_COLUMNS[entity];
  if (!header) {
    reject(1, 'the file is empty: a header row naming the columns is required');
    return report;
  }
  header = header.map((h) => h.trim());
  const unknown = header.filter((h) => !expected.includes(h));
  const missing = expected.filter((c) => !header!.includes(c));
  const twice = header.filter((h, i) => header!.indexOf(h) !== i);
  if (unknown.length || missing.length || twice.length) {
    const parts = [unknown.length && `unknown column(s): ${unknown.join(', ')}`, missing.length && `missing column(s): ${missing.join(', ')}`, twice.length && `column(s) named twice: ${twice.join(', ')}`];
    reject(1, `header: ${parts.filter(Boolean).join('; ')} (expected: ${expected.join(', ')})`);
    return report;
  }
  // Fields are handed to the spec in CSV_COLUMNS order; reorder only when the file's order differs.
  const order = expected.map((c) => header!.indexOf(c));
  const shape: Shape = { width: header.length, order: order.every((p, i) => p === i) ? null : order };
  const spec = SPECS[entity];
  const onlyDistrict = opts.districtId ?? null;
  if (onlyDistrict !== null && entity === 'districts') {
    reject(1, 'districts can be imported only by city command');
    return report;
  }

  try {
    await ctx.db.tx(async (q) => {
      const data = await spec.load(q);
      const latest = today(ctx.clock.now());
      const prep: Prepared<Row> = spec.make(data, { pii: ctx.pii, latest });
      const [{ any }] = await q.query<{ any: boolean }>(`SELECT EXISTS (SELECT 1 FROM ${spec.table}) AS any`);
      let staged = false;
      const seen = new Map<string, number>();
      let chunk: Row[] = [];
      // The COPY of the previous chunk: the next chunk is read and checked while it runs.
      let copying: Promise<unknown> = Promise.resolve();

      const flush = async () => {
        const rows = chunk;
        chunk = [];
        await copying;
        if (!rows.length) return;
        if (prep.resolve) await prep.resolve(q, rows);
        let good: Row[] = [];
        for (const r of rows) {
          if (!r.reject && onlyDistrict !== null && r.district !== onlyDistrict) r.reject = 'outside your jurisdiction (another district)';
          if (r.reject) reject(r.line, r.reject);
          else good.push(r);
        }
        // All or nothing: once a row is bad nothing will be kept, so only validation goes on.
        if (!good.length || (report.rejectedCount && !opts.partial)) return;
        const existing = any ? await prep.existing(q, good) : new Set<string>();
        let updates: Row[] = [];
        if (existing.size) {
          updates = good.filter((r) => existing.has(r.key));
          good = good.filter((r) => !existing.has(r.key));
        }
        if (updates.length) {
          if (spec.update) {
            if (!staged) {
              await q.query(`CREATE TEMP TABLE registry_stage ON COMMIT DROP AS SELECT ${spec.columns.join(', ')} FROM ${spec.table} WITH NO DATA`);
              staged = true;
            } else await q.query('TRUNCATE registry_stage');
            await q.copyCsv('registry_stage', spec.columns, [updates.map(prep.line).join('')]);
            await q.query(spec.update);
          }
          report.matched += updates.length;
        }
        if (good.length) {
          copying = q.copyCsv(spec.table, spec.columns, [good.map(prep.line).join('')]).then((n) => (report.inserted += n));
          copying.catch(() => {}); // awaited (and thrown) by the next flush
        }
      };

      for await (const batch of reader.checked({ entity, shape, data, latest, parse: prep.parse })) {
        for (const c of batch) {
          report.read++;
          if (opts.onProgress && report.read % 10_000 === 0) opts.onProgress(report.read);
          if (c === null) {
            report.read--;
            continue;
          }
          if ('reason' in c) {
            reject(c.line, c.reason);
            continue;
          }
          const first = seen.get(c.key);
          if (first !== undefined) {
            reject(c.line, `duplicate of line ${first} (${entity === 'persons' ? 'same ID number' : `same ${entity === 'compound_adjacency' ? 'pair' : 'code'} '${c.key}'`})`);
            continue;
          }
          seen.set(c.key, c.line);
          chunk.push(c);
          if (chunk.length >= CHUNK) await flush();
        }
      }
      await flush();
      await copying;
      opts.onProgress?.(report.read);
      if (report.rejectedCount && !opts.partial) throw new NotCommitted();
      if (report.inserted + report.matched > 0 && spec.after) await spec.after(q);
      await appendAudit(
        q,
        [{ actor: opts.actor?.actor ?? 'system', role: opts.actor?.role ?? null, action: 'import', entity: entity === 'persons' ? 'person' : entity, detail: { read: report.read, inserted: report.inserted, matched: report.matched, rejected: report.rejectedCount, partial: Boolean(opts.partial) } }],
        ctx.clock.now(),
      );
    });
    report.committed = true;
  } catch (e) {
    if ((e as { code?: string }).code === '23505') throw conflict(`Another import or change wrote the same ${entity} meanwhile (${(e as Error).message}); nothing was written, import the file again.`);
    if (!(e instanceof NotCommitted) && !(e instanceof MalformedCsv)) throw e;
    if (e instanceof MalformedCsv) reject(e.line, e.message);
    report.inserted = 0;
    report.matched = 0;
  }
  return report;
}

/** Streams a CSV file (with a header row) into the registry. A large file is read and checked in a
 * worker thread, so that this thread is left the COPY and what needs the database. */
export async function importCsv(ctx: AppContext, entity: EntityName, input: Readable, opts: ImportOptions = {}): Promise<ImportReport> {
  const source = input[Symbol.asyncIterator]();
  // Pieces read to decide where the file is read; they are read first, then the rest of the input.
  const pieces: Buffer[] = [];
  const fromSource = async (): Promise<Buffer | null> => {
    const r = await source.next();
    return r.done ? null : typeof r.value === 'string' ? Buffer.from(r.value) : r.value;
  };
  const nextPiece = async () => pieces.shift() ?? (await fromSource());
  let reader: Reader | null = null;
  try {
    const thread = await workerFor(ctx, pieces, fromSource, opts.worker);
    if (thread) reader = new WorkerReader(thread, nextPiece, ctx.config.key);
    else {
      const csv = new CsvReader();
      let ended = false;
      reader = new LocalReader(async () => {
        let batch: Batch = { lines: [], records: [] };
        while (!batch.records.length && !ended) {
          const buf = await nextPiece();
          if (!buf) ended = true;
          batch = csv.read(buf ?? undefined);
        }
        return batch.records.length ? batch : null;
      });
    }
    const header = await reader.header();
    return await run(ctx, entity, header, reader, opts);
  } catch (e) {
    if (!(e instanceof MalformedCsv)) throw e;
    const report = emptyReport(entity);
    report.rejected.push({ line: e.line, reason: e.message });
    report.rejectedCount = 1;
    return report;
  } finally {
    reader?.close();
    input.destroy();
  }
}

/** Imports rows already split into columns (the synthetic city uses this; lines are counted from 2). */
export async function importRecords(ctx: AppContext, entity: EntityName, rows: Iterable<CsvRecord> | AsyncIterable<CsvRecord>, opts: ImportOptions = {}): Promise<ImportReport> {
  const columns = CSV_COLUMNS[entity];
  const it = (Symbol.asyncIterator in rows ? rows[Symbol.asyncIterator]() : (rows as Iterable<CsvRecord>)[Symbol.iterator]()) as AsyncIterator<CsvRecord> | Iterator<CsvRecord>;
  let r = await it.next();
  // The first record's keys are the header; later records are read by those names.
  const header = r.done ? [...columns] : Object.keys(r.value);
  let line = 2;
  const next = async (): Promise<Batch | null> => {
    if (r.done) return null;
    const batch: Batch = { lines: [], records: [] };
    while (!r.done && batch.records.length < 10_000) {
      const rec = r.value;
      batch.lines.push(line++);
      batch.records.push(header.map((c) => rec[c] ?? ''));
      r = await it.next();
    }
    return batch;
  };
  return run(ctx, entity, header, new LocalReader(next, header), opts);
}
