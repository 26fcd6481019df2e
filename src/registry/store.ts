// Registry storage: plain SQL. Places (districts .. facilities) share one table-driven CRUD; persons have
// their own functions because of the ID number (hashed and encrypted, never returned in clear).
import { randomBytes } from 'node:crypto';
import type { Queryable } from '../core/db.ts';
import { jurisdictionSql, withinJurisdiction, type Principal } from '../core/auth.ts';
import { idNumberFault, idNumberProblem, maskIdNumber, normalizeIdNumber, type PiiKeys } from '../core/pii.ts';
import { badRequest, conflict, forbidden, notFound, personIdUnknown } from '../core/errors.ts';
import { base32 } from '../core/pii.ts';
import { CARE_NEEDS, COMORBIDITIES, FACILITY_KINDS, PREGNANCY, VENUE_KINDS } from './entities.ts';
import * as v from './validation.ts';

// ---- places ----

type Kind = 'text' | 'int' | 'number' | 'bool' | 'json' | 'time';
export interface FieldDef {
  json: string;
  col: string;
  kind: Kind;
  required?: boolean;
  /** Derived from a parent (a compound's district from its street): shown, never written. */
  derived?: boolean;
  enum?: readonly string[];
  min?: number;
  max?: number;
  /** Left out of list pages (shapes: fetch one record, or the map). */
  detailOnly?: boolean;
}

export interface PlaceDef {
  /** URL segment. */
  path: string;
  table: string;
  /** One record, for messages. */
  noun: string;
  fields: FieldDef[];
  /** Filters accepted on lists (json names of id columns). */
  filters: string[];
  /** Who refers to a record of this table (for a clear 409 before the database's own check). */
  refs: { table: string; col: string; noun: string }[];
}

const code: FieldDef = { json: 'code', col: 'code', kind: 'text', required: true, max: 50 };
const name: FieldDef = { json: 'name', col: 'name', kind: 'text', required: true, max: 200 };
const nameEn: FieldDef = { json: 'nameEn', col: 'name_en', kind: 'text', max: 200 };
const geom: FieldDef = { json: 'geom', col: 'geom', kind: 'json', detailOnly: true };
const lon: FieldDef = { json: 'lon', col: 'lon', kind: 'number', required: true, min: -180, max: 180 };
const lat: FieldDef = { json: 'lat', col: 'lat', kind: 'number', required: true, min: -90, max: 90 };
const districtId: FieldDef = { json: 'districtId', col: 'district_id', kind: 'int', required: true, min: 1 };
const ref = (json: string, col: string, extra: Partial<FieldDef> = {}): FieldDef => ({ json, col, kind: 'int', min: 1, ...extra });

export const PLACES: PlaceDef[] = [
  {
    path: 'districts', table: 'districts', noun: 'District',
    fields: [code, name, nameEn, { json: 'population', col: 'population', kind: 'int', min: 0 }, geom],
    filters: [],
    refs: [{ table: 'streets', col: 'district_id', noun: 'streets' }, { table: 'persons', col: 'district_id', noun: 'persons' }],
  },
  {
    path: 'streets', table: 'streets', noun: 'Street',
    fields: [code, districtId, name, nameEn, { json: 'population', col: 'population', kind: 'int', min: 0 }, geom],
    filters: ['districtId'],
    refs: [{ table: 'compounds', col: 'street_id', noun: 'compounds' }, { table: 'persons', col: 'street_id', noun: 'persons' }],
  },
  {
    path: 'compounds', table: 'compounds', noun: 'Compound',
    fields: [code, ref('streetId', 'street_id', { required: true }), ref('districtId', 'district_id', { derived: true }), name, geom,
      { json: 'centroidLon', col: 'centroid_lon', kind: 'number', min: -180, max: 180 }, { json: 'centroidLat', col: 'centroid_lat', kind: 'number', min: -90, max: 90 }, { json: 'population', col: 'population', kind: 'int', min: 0 }],
    filters: ['districtId', 'streetId'],
    refs: [{ table: 'buildings', col: 'compound_id', noun: 'buildings' }, { table: 'households', col: 'compound_id', noun: 'households' }, { table: 'persons', col: 'compound_id', noun: 'persons' }, { table: 'venues', col: 'compound_id', noun: 'venues' }],
  },
  {
    path: 'buildings', table: 'buildings', noun: 'Building',
    fields: [code, ref('compoundId', 'compound_id', { required: true }), name, { json: 'floors', col: 'floors', kind: 'int', min: 1, max: 300 }],
    filters: ['compoundId'],
    refs: [{ table: 'households', col: 'building_id', noun: 'households' }],
  },
  {
    path: 'households', table: 'households', noun: 'Household',
    fields: [code, ref('buildingId', 'building_id', { required: true }), ref('compoundId', 'compound_id', { derived: true }), { json: 'floor', col: 'floor', kind: 'int', min: -5, max: 300 },
      { json: 'unit', col: 'unit', kind: 'text', max: 50 }, { json: 'sharedFacilities', col: 'shared_facilities', kind: 'bool' }],
    filters: ['compoundId', 'buildingId'],
    refs: [{ table: 'persons', col: 'household_id', noun: 'persons' }],
  },
  {
    path: 'venues', table: 'venues', noun: 'Venue',
    fields: [code, name, { json: 'kind', col: 'kind', kind: 'text', required: true, enum: VENUE_KINDS }, { ...districtId, required: false }, ref('streetId', 'street_id'), ref('compoundId', 'compound_id'), lon, lat,
      { json: 'popularity', col: 'popularity', kind: 'number', min: 0 }],
    filters: ['districtId', 'streetId', 'compoundId', 'kind'],
    refs: [],
  },
  {
    path: 'sampling-points', table: 'sampling_points', noun: 'Sampling point',
    fields: [code, name, { ...districtId, required: false }, ref('streetId', 'street_id'), lon, lat, { json: 'stations', col: 'stations', kind: 'int', min: 1, max: 1000 },
      { json: 'opens', col: 'opens', kind: 'time' }, { json: 'closes', col: 'closes', kind: 'time' }, { json: 'vaccinates', col: 'vaccinates', kind: 'bool' }],
    filters: ['districtId', 'streetId'],
    refs: [],
  },
  {
    path: 'labs', table: 'labs', noun: 'Lab',
    fields: [code, name, districtId, { json: 'dailyCapacity', col: 'daily_capacity', kind: 'int', required: true, min: 0 }],
    filters: ['districtId'],
    refs: [],
  },
  {
    path: 'facilities', table: 'facilities', noun: 'Facility',
    fields: [code, name, { json: 'kind', col: 'kind', kind: 'text', required: true, enum: FACILITY_KINDS }, districtId, lon, lat,
      { json: 'bedsGeneral', col: 'beds_general', kind: 'int', min: 0 }, { json: 'bedsIcu', col: 'beds_icu', kind: 'int', min: 0 }, { json: 'rooms', col: 'rooms', kind: 'int', min: 0 }],
    filters: ['districtId', 'kind'],
    refs: [],
  },
];

const colOf = (def: PlaceDef, json: string) => def.fields.find((f) => f.json === json)!.col;

function placeJson(def: PlaceDef, row: Record<string, unknown>, detail: boolean): Record<string, unknown> {
  const out: Record<string, unknown> = { id: row.id };
  for (const fd of def.fields) if (detail || !fd.detailOnly) out[fd.json] = row[fd.col] ?? null;
  return out;
}

export interface Page<T> {
  items: T[];
  next: number | null;
}

export interface ListQuery {
  after?: number;
  limit?: number;
  q?: string;
  [filter: string]: unknown;
}

/** `LIKE` pattern for "starts with", with the pattern characters of the text taken literally. */
export const prefixPattern = (s: string) => s.replace(/[\\%_]/g, '\\$&') + '%';

export async function listPlaces(q: Queryable, def: PlaceDef, query: ListQuery): Promise<Page<Record<string, unknown>>> {
  const limit = query.limit ?? 50;
  const params: unknown[] = [query.after ?? 0];
  const where = ['t.id > $1'];
  for (const fl of def.filters) {
    if (query[fl] === undefined || query[fl] === null || query[fl] === '') continue;
    params.push(query[fl]);
    where.push(`t.${colOf(def, fl)} = $${params.length}`);
  }
  if (query.q) {
    params.push(prefixPattern(query.q));
    where.push(`(t.name LIKE $${params.length} OR t.code LIKE $${params.length})`);
  }
  params.push(limit + 1);
  const cols = ['id', ...def.fields.filter((fd) => !fd.detailOnly).map((fd) => fd.col)];
  const rows = await q.query(`SELECT ${cols.map((c) => 't.' + c).join(', ')} FROM ${def.table} t WHERE ${where.join(' AND ')} ORDER BY t.id LIMIT $${params.length}`, params);
  const more = rows.length > limit;
  const items = rows.slice(0, limit).map((r) => placeJson(def, r, false));
  return { items, next: more ? (items[items.length - 1].id as number) : null };
}

export async function getPlace(q: Queryable, def: PlaceDef, id: number): Promise<Record<string, unknown>> {
  const [row] = await q.query(`SELECT * FROM ${def.table} WHERE id = $1`, [id]);
  if (!row) throw notFound(`${def.noun} ${id}`, { code: 'recordUnknown', entity: def.path, id });
  return placeJson(def, row, true);
}

/** The row a new record names as its parent (entity: its path, as districts), refused when there is none. */
async function one<T>(q: Queryable, sql: string, id: unknown, entity: string): Promise<T> {
  const [row] = await q.query<T>(sql, [id]);
  if (!row) throw badRequest(`${PLACES.find((d) => d.path === entity)?.noun ?? entity} ${id} does not exist.`, { code: 'recordUnknown', entity, id: id as number });
  return row;
}

/** Fills the columns that follow from a parent and checks that the given ones agree. Returns the row's district. */
async function derive(q: Queryable, def: PlaceDef, row: Record<string, unknown>): Promise<number> {
  switch (def.table) {
    case 'districts':
      return row.id as number;
    case 'compounds': {
      const s = await one<{ district_id: number }>(q, 'SELECT district_id FROM streets WHERE id = $1', row.street_id, 'streets');
      row.district_id = s.district_id;
      return s.district_id;
    }
    case 'buildings': {
      const c = await one<{ district_id: number }>(q, 'SELECT district_id FROM compounds WHERE id = $1', row.compound_id, 'compounds');
      return c.district_id;
    }
    case 'households': {
      const b = await one<{ compound_id: number; district_id: number; floors: number }>(
        q, 'SELECT b.compound_id, c.district_id, b.floors FROM buildings b JOIN compounds c ON c.id = b.compound_id WHERE b.id = $1', row.building_id, 'buildings',
      );
      if (row.floor != null && (row.floor as number) > b.floors) throw badRequest(`Floor ${row.floor} is above the building's ${b.floors} floors.`, { code: 'floorAboveBuilding', floor: row.floor as number, floors: b.floors });
      row.compound_id = b.compound_id;
      return b.district_id;
    }
    case 'venues':
    case 'sampling_points': {
      if (row.compound_id != null) {
        const c = await one<{ street_id: number; district_id: number }>(q, 'SELECT street_id, district_id FROM compounds WHERE id = $1', row.compound_id, 'compounds');
        if (row.street_id != null && row.street_id !== c.street_id) throw badRequest(`Compound ${row.compound_id} is not in street ${row.street_id}.`, { code: 'compoundNotInStreet', compoundId: row.compound_id as number, streetId: row.street_id as number });
        row.street_id = c.street_id;
      }
      if (row.street_id != null) {
        const s = await one<{ district_id: number }>(q, 'SELECT district_id FROM streets WHERE id = $1', row.street_id, 'streets');
        if (row.district_id != null && row.district_id !== s.district_id) throw badRequest(`Street ${row.street_id} is not in district ${row.district_id}.`, { code: 'streetNotInDistrict', streetId: row.street_id as number, districtId: row.district_id as number });
        row.district_id = s.district_id;
      }
      if (row.district_id == null) throw badRequest('districtId (or streetId or compoundId) is required.', { code: 'placeNeeded' });
      await one(q, 'SELECT id FROM districts WHERE id = $1', row.district_id, 'districts');
      return row.district_id as number;
    }
    default:
      await one(q, 'SELECT id FROM districts WHERE id = $1', row.district_id, 'districts');
      return row.district_id as number;
  }
}

function checkWrite(p: Principal, def: PlaceDef, district: number): void {
  if (!withinJurisdiction(p, { districtId: district, streetId: p.streetId })) throw forbidden(`You may change ${def.path} only within your own district.`, { code: 'changeOwnDistrict', entity: def.path });
}

function toColumns(def: PlaceDef, body: Record<string, unknown>): Record<string, unknown> {
  const row: Record<string, unknown> = {};
  for (const fd of def.fields) {
    if (fd.derived || !(fd.json in body)) continue;
    let val = body[fd.json];
    if (fd.kind === 'json' && val != null) {
      try {
        val = JSON.stringify(v.checkGeometry(val, fd.json));
      } catch (e) {
        throw e instanceof v.RowError ? badRequest(e.message, e.data) : e;
      }
    }
    if (fd.kind === 'text' && typeof val === 'string') val = val.trim();
    row[fd.col] = val;
  }
  return row;
}

/** Database errors that are the caller's fault, as problems that say so. */
export function dbProblem(e: unknown, def: { noun: string }): unknown {
  const err = e as { code?: string; detail?: string; message?: string };
  if (err.code === '23505') return conflict(`${def.noun}: ${err.detail ?? 'that code is already used'}`.replace(/Key \((\w+)\)=\((.*)\) already exists\./, '$1 "$2" is already used.'));
  if (err.code === '23503') return conflict(`${def.noun} is still referred to, or refers to something missing: ${err.detail ?? err.message}`);
  if (err.code === '23514' || err.code === '23502' || err.code === '22P02') return badRequest(`${def.noun}: ${err.message}`);
  return e;
}

export async function createPlace(q: Queryable, p: Principal, def: PlaceDef, body: Record<string, unknown>): Promise<Record<string, unknown>> {
  if (def.table === 'districts' && p.districtId) throw forbidden('Only city command may create districts.', { code: 'districtsByCity' });
  const row = toColumns(def, body);
  checkWrite(p, def, await derive(q, def, row));
  const cols = Object.keys(row);
  try {
    const [created] = await q.query(`INSERT INTO ${def.table} (${cols.join(', ')}) VALUES (${cols.map((_, i) => `$${i + 1}`).join(', ')}) RETURNING *`, cols.map((c) => row[c]));
    if (def.table === 'compounds') await recomputeStreetPopulation(q, [created.street_id as number]);
    return placeJson(def, created, true);
  } catch (e) {
    throw dbProblem(e, def);
  }
}

async function placeDistrict(q: Queryable, def: PlaceDef, row: Record<string, unknown>): Promise<number> {
  return derive(q, def, { ...row });
}

export async function updatePlace(q: Queryable, p: Principal, def: PlaceDef, id: number, body: Record<string, unknown>): Promise<Record<string, unknown>> {
  const [current] = await q.query(`SELECT * FROM ${def.table} WHERE id = $1 FOR UPDATE`, [id]);
  if (!current) throw notFound(`${def.noun} ${id}`, { code: 'recordUnknown', entity: def.path, id });
  checkWrite(p, def, await placeDistrict(q, def, current));
  const changes = toColumns(def, body);
  const row = { ...current, ...changes };
  checkWrite(p, def, await derive(q, def, row));
  // Derived columns follow their parent.
  for (const fd of def.fields) if (fd.derived) changes[fd.col] = row[fd.col];
  const cols = Object.keys(changes);
  if (!cols.length) return placeJson(def, current, true);
  try {
    const [updated] = await q.query(`UPDATE ${def.table} SET ${cols.map((c, i) => `${c} = $${i + 2}`).join(', ')} WHERE id = $1 RETURNING *`, [id, ...cols.map((c) => changes[c])]);
    if (def.table === 'compounds') {
      await recomputeStreetPopulation(q, [...new Set([current.street_id as number, updated.street_id as number])]);
      // Persons carry their compound's street and district.
      await q.query('UPDATE persons SET street_id = $2, district_id = $3 WHERE compound_id = $1 AND (street_id IS DISTINCT FROM $2 OR district_id IS DISTINCT FROM $3)', [id, updated.street_id, updated.district_id]);
    }
    if (def.table === 'households' && current.compound_id !== updated.compound_id) {
      await q.query('UPDATE persons p SET compound_id = c.id, street_id = c.street_id, district_id = c.district_id FROM compounds c WHERE p.household_id = $1 AND c.id = $2', [id, updated.compound_id]);
    }
    return placeJson(def, updated, true);
  } catch (e) {
    throw dbProblem(e, def);
  }
}

export async function deletePlace(q: Queryable, p: Principal, def: PlaceDef, id: number): Promise<void> {
  const [current] = await q.query(`SELECT * FROM ${def.table} WHERE id = $1 FOR UPDATE`, [id]);
  if (!current) throw notFound(`${def.noun} ${id}`, { code: 'recordUnknown', entity: def.path, id });
  if (def.table === 'districts' && p.districtId) throw forbidden('Only city command may delete districts.', { code: 'districtsByCity' });
  checkWrite(p, def, await placeDistrict(q, def, current));
  for (const r of def.refs) {
    const [hit] = await q.query(`SELECT 1 FROM ${r.table} WHERE ${r.col} = $1 LIMIT 1`, [id]);
    if (hit) throw conflict(`${def.noun} ${id} cannot be deleted: ${r.noun} still refer to it.`, { code: 'recordReferenced', entity: def.path, id, referencedBy: r.table });
  }
  try {
    if (def.table === 'compounds') await q.query('DELETE FROM compound_adjacency WHERE compound_id = $1 OR neighbor_id = $1', [id]);
    await q.query(`DELETE FROM ${def.table} WHERE id = $1`, [id]);
    if (def.table === 'compounds') await recomputeStreetPopulation(q, [current.street_id as number]);
  } catch (e) {
    throw dbProblem(e, def);
  }
}

/** Streets have no population of their own: it is the sum of their compounds. */
export async function recomputeStreetPopulation(q: Queryable, streetIds?: number[]): Promise<void> {
  const params: unknown[] = [];
  let only = '';
  if (streetIds) {
    params.push(streetIds);
    only = 'WHERE s.id = ANY($1::int[])';
  }
  await q.query(`UPDATE streets s SET population = coalesce((SELECT sum(c.population) FROM compounds c WHERE c.street_id = s.id), 0) ${only}`, params);
}

// ---- the map ----

/** A GeoJSON FeatureCollection of compounds or districts, as text: shapes and counts, no personal data. */
export async function mapGeoJson(q: Queryable, layer: 'compounds' | 'districts'): Promise<string> {
  const rows =
    layer === 'compounds'
      ? await q.query<{ id: number; code: string; name: string; street_id: number; district_id: number; population: number; geom: unknown }>('SELECT id, code, name, street_id, district_id, population, geom FROM compounds ORDER BY id')
      : await q.query<{ id: number; code: string; name: string; name_en: string | null; population: number; geom: unknown }>('SELECT id, code, name, name_en, population, geom FROM districts ORDER BY id');
  const features = rows.map((r: any) =>
    JSON.stringify({
      type: 'Feature',
      id: r.id,
      geometry: r.geom ?? null,
      properties: layer === 'compounds' ? { id: r.id, code: r.code, name: r.name, streetId: r.street_id, districtId: r.district_id, population: r.population } : { id: r.id, code: r.code, name: r.name, nameEn: r.name_en, population: r.population },
    }),
  );
  return `{"type":"FeatureCollection","features":[${features.join(',')}]}`;
}

// ---- persons ----

export interface Person {
  id: number;
  personalCode: string;
  /** Region and check digit only; the number itself is never in a person's JSON. */
  idNumberMasked: string | null;
  name: string;
  sex: 'F' | 'M';
  birthDate: string;
  phone: string | null;
  householdId: number | null;
  compoundId: number | null;
  streetId: number | null;
  districtId: number | null;
  comorbidities: string[];
  pregnancy: string;
  careNeeds: string[];
  createdAt: string;
  updatedAt: string;
}

const PERSON_COLS = 'p.id, p.id_enc, p.personal_code, p.name, p.sex, p.birth_date, p.phone, p.household_id, p.compound_id, p.street_id, p.district_id, p.comorbidities, p.pregnancy, p.care_needs, p.created_at, p.updated_at';
type PersonDbRow = {
  id: number; id_enc: Uint8Array | null; personal_code: string; name: string; sex: 'F' | 'M'; birth_date: string; phone: string | null; household_id: number | null;
  compound_id: number | null; street_id: number | null; district_id: number | null; comorbidities: string[]; pregnancy: string; care_needs: string[]; created_at: Date; updated_at: Date;
};

function personJson(pii: PiiKeys, r: PersonDbRow): Person {
  return {
    id: r.id,
    personalCode: r.personal_code,
    idNumberMasked: r.id_enc ? maskIdNumber(pii.decryptId(Buffer.from(r.id_enc))) : null,
    name: r.name,
    sex: r.sex,
    birthDate: r.birth_date,
    phone: r.phone,
    householdId: r.household_id,
    compoundId: r.compound_id,
    streetId: r.street_id,
    districtId: r.district_id,
    comorbidities: r.comorbidities,
    pregnancy: r.pregnancy,
    careNeeds: r.care_needs,
    createdAt: new Date(r.created_at).toISOString(),
    updatedAt: new Date(r.updated_at).toISOString(),
  };
}

export interface PersonQuery {
  after?: number;
  limit?: number;
  /** A name prefix, an ID number (exact, by its keyed hash), a personal code or a phone number (exact). */
  q?: string;
  districtId?: number;
  streetId?: number;
  compoundId?: number;
  householdId?: number;
}

const ID_SHAPE = /^\d{17}[\dXx]$/;

/** Persons within the caller's jurisdiction, in id order from `after`. */
export async function listPersons(q: Queryable, pii: PiiKeys, p: Principal, query: PersonQuery): Promise<Page<Person>> {
  const limit = query.limit ?? 50;
  const params: unknown[] = [query.after ?? 0];
  const where = ['p.id > $1', jurisdictionSql(p, 'p', params)];
  for (const [key, col] of [['districtId', 'district_id'], ['streetId', 'street_id'], ['compoundId', 'compound_id'], ['householdId', 'household_id']] as const) {
    if (query[key] == null) continue;
    params.push(query[key]);
    where.push(`p.${col} = $${params.length}`);
  }
  const text = query.q?.trim();
  if (text) {
    if (ID_SHAPE.test(text)) {
      params.push(pii.hashId(text));
      where.push(`p.id_hash = $${params.length}`);
    } else {
      params.push(prefixPattern(text), text.toUpperCase(), text.replace(/[ -]/g, ''));
      const n = params.length;
      where.push(`(p.name LIKE $${n - 2} OR p.personal_code = $${n - 1} OR p.phone = $${n})`);
    }
  }
  params.push(limit + 1);
  const rows = await q.query<PersonDbRow>(`SELECT ${PERSON_COLS} FROM persons p WHERE ${where.join(' AND ')} ORDER BY p.id LIMIT $${params.length}`, params);
  const more = rows.length > limit;
  const items = rows.slice(0, limit).map((r) => personJson(pii, r));
  return { items, next: more ? items[items.length - 1].id : null };
}

/** One person if the caller may see them; otherwise "not found" (never a hint that they exist). */
export async function getPersonFor(q: Queryable, pii: PiiKeys, p: Principal, id: number): Promise<Person> {
  const params: unknown[] = [id];
  const [row] = await q.query<PersonDbRow>(`SELECT ${PERSON_COLS} FROM persons p WHERE p.id = $1 AND ${jurisdictionSql(p, 'p', params)}`, params);
  if (!row) throw personIdUnknown(id);
  return personJson(pii, row);
}

/** One person by id, without a jurisdiction check: for other capabilities, which apply their own. */
export async function getPerson(q: Queryable, pii: PiiKeys, id: number): Promise<Person | null> {
  const [row] = await q.query<PersonDbRow>(`SELECT ${PERSON_COLS} FROM persons p WHERE p.id = $1`, [id]);
  return row ? personJson(pii, row) : null;
}

/** The person with this ID number (found by its keyed hash), or null. */
export async function findPersonByIdNumber(q: Queryable, pii: PiiKeys, idNumber: string): Promise<Person | null> {
  const [row] = await q.query<PersonDbRow>(`SELECT ${PERSON_COLS} FROM persons p WHERE p.id_hash = $1`, [pii.hashId(idNumber)]);
  return row ? personJson(pii, row) : null;
}

/** The person who shows this personal code (QR at entrances and sampling points), or null. */
export async function findPersonByPersonalCode(q: Queryable, pii: PiiKeys, personalCode: string): Promise<Person | null> {
  const [row] = await q.query<PersonDbRow>(`SELECT ${PERSON_COLS} FROM persons p WHERE p.personal_code = $1`, [personalCode.trim().toUpperCase()]);
  return row ? personJson(pii, row) : null;
}

/** The ID number in clear, for the few who may see it (the route checks role, jurisdiction and reason). */
export async function personIdNumber(q: Queryable, pii: PiiKeys, p: Principal, id: number): Promise<string | null> {
  const params: unknown[] = [id];
  const [row] = await q.query<{ id_enc: Uint8Array | null }>(`SELECT p.id_enc FROM persons p WHERE p.id = $1 AND ${jurisdictionSql(p, 'p', params)}`, params);
  if (!row) throw personIdUnknown(id);
  return row.id_enc ? pii.decryptId(Buffer.from(row.id_enc)) : null;
}

export interface PersonInput {
  idNumber?: string | null;
  name?: string;
  sex?: 'F' | 'M';
  birthDate?: string;
  phone?: string | null;
  householdId?: number | null;
  compoundId?: number | null;
  comorbidities?: string[];
  pregnancy?: string;
  careNeeds?: string[];
}

function checked<T>(fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof v.RowError) throw badRequest(e.message, e.data);
    throw e;
  }
}

/** Where a person lives follows from their household (household -> compound -> street -> district) or compound. */
async function placeOf(q: Queryable, householdId: number | null | undefined, compoundId: number | null | undefined) {
  if (householdId != null) {
    const [h] = await q.query<{ compound_id: number; street_id: number; district_id: number }>(
      'SELECT h.compound_id, c.street_id, c.district_id FROM households h JOIN compounds c ON c.id = h.compound_id WHERE h.id = $1',
      [householdId],
    );
    if (!h) throw badRequest(`Household ${householdId} does not exist.`, { code: 'recordUnknown', entity: 'households', id: householdId });
    if (compoundId != null && compoundId !== h.compound_id) throw badRequest(`Household ${householdId} is not in compound ${compoundId}.`, { code: 'householdNotInCompound', householdId, compoundId });
    return { household_id: householdId, compound_id: h.compound_id, street_id: h.street_id, district_id: h.district_id };
  }
  if (compoundId != null) {
    const [c] = await q.query<{ street_id: number; district_id: number }>('SELECT street_id, district_id FROM compounds WHERE id = $1', [compoundId]);
    if (!c) throw badRequest(`Compound ${compoundId} does not exist.`, { code: 'recordUnknown', entity: 'compounds', id: compoundId });
    return { household_id: null, compound_id: compoundId, street_id: c.street_id, district_id: c.district_id };
  }
  throw badRequest('householdId or compoundId is required (where the person lives).', { code: 'homeNeeded' });
}

function personColumns(input: PersonInput, now: Date): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (input.name !== undefined) out.name = checked(() => v.requiredText(input.name!, 'name'));
  if (input.sex !== undefined) out.sex = input.sex;
  if (input.birthDate !== undefined) out.birth_date = checked(() => v.date(input.birthDate!, 'birthDate', v.today(now)));
  if (input.phone !== undefined) out.phone = input.phone === null ? null : checked(() => v.phone(input.phone!, 'phone'));
  if (input.comorbidities !== undefined) out.comorbidities = checked(() => v.list(input.comorbidities!.join(';'), 'comorbidities', COMORBIDITIES));
  if (input.careNeeds !== undefined) out.care_needs = checked(() => v.list(input.careNeeds!.join(';'), 'careNeeds', CARE_NEEDS));
  if (input.pregnancy !== undefined) out.pregnancy = checked(() => v.oneOf(input.pregnancy!, 'pregnancy', PREGNANCY));
  return out;
}

function idColumns(pii: PiiKeys, idNumber: string | null): Record<string, unknown> {
  if (idNumber === null) return { id_hash: null, id_enc: null, personal_code: base32(randomBytes(10)) };
  // The problem, not the number: an error answer is JSON too.
  const fault = idNumberFault(idNumber);
  if (fault) throw badRequest(`idNumber is not valid: ${idNumberProblem(idNumber)}.`, { code: fault });
  const id = normalizeIdNumber(idNumber);
  const hash = pii.hashId(id);
  return { id_hash: hash, id_enc: pii.encryptId(id), personal_code: pii.personalCode(hash) };
}

async function writePerson(q: Queryable, sql: string, params: unknown[]): Promise<number> {
  try {
    const [row] = await q.query<{ id: number }>(sql, params);
    return row.id;
  } catch (e) {
    const err = e as { code?: string; constraint?: string; message?: string };
    if (err.code === '23505' && /id_hash|personal_code/.test(`${err.constraint ?? ''} ${err.message ?? ''}`)) throw conflict('A person with this ID number is already registered.', { code: 'idNumberRegistered' });
    throw dbProblem(e, { noun: 'Person' });
  }
}

export async function createPerson(q: Queryable, pii: PiiKeys, p: Principal, input: PersonInput, now: Date): Promise<number> {
  const cols: Record<string, unknown> = { ...personColumns(input, now), ...idColumns(pii, input.idNumber ?? null), ...(await placeOf(q, input.householdId, input.compoundId)) };
  if (cols.pregnancy && cols.pregnancy !== 'none' && cols.sex === 'M') throw badRequest(`pregnancy '${cols.pregnancy}' does not go with sex 'M'.`, { code: 'pregnancyMale' });
  if (!withinJurisdiction(p, { districtId: cols.district_id as number, streetId: cols.street_id as number })) throw forbidden('You may register persons only within your own jurisdiction.', { code: 'registerOwnJurisdiction' });
  const names = Object.keys(cols);
  return writePerson(q, `INSERT INTO persons (${names.join(', ')}) VALUES (${names.map((_, i) => `$${i + 1}`).join(', ')}) RETURNING id`, names.map((c) => cols[c]));
}

/** Changes a person within the caller's jurisdiction; returns the names of the fields changed. */
export async function updatePerson(q: Queryable, pii: PiiKeys, p: Principal, id: number, input: PersonInput, now: Date): Promise<string[]> {
  const params: unknown[] = [id];
  const [current] = await q.query<{ sex: string; pregnancy: string; household_id: number | null; compound_id: number | null }>(
    `SELECT p.sex, p.pregnancy, p.household_id, p.compound_id FROM persons p WHERE p.id = $1 AND ${jurisdictionSql(p, 'p', params)} FOR UPDATE`,
    params,
  );
  if (!current) throw personIdUnknown(id);
  const cols = personColumns(input, now);
  if (input.idNumber !== undefined) Object.assign(cols, idColumns(pii, input.idNumber));
  if (input.householdId !== undefined || input.compoundId !== undefined) {
    // A new household alone moves the person to its compound; a compound alone leaves the household.
    const household = input.householdId !== undefined ? input.householdId : input.compoundId !== undefined ? null : current.household_id;
    const place = await placeOf(q, household, household != null && input.compoundId === undefined ? null : input.compoundId);
    if (!withinJurisdiction(p, { districtId: place.district_id, streetId: place.street_id })) throw forbidden('You may move persons only within your own jurisdiction.', { code: 'moveOwnJurisdiction' });
    Object.assign(cols, place);
  }
  const sex = (cols.sex as string | undefined) ?? current.sex;
  const pregnancy = (cols.pregnancy as string | undefined) ?? current.pregnancy;
  if (pregnancy !== 'none' && sex === 'M') throw badRequest(`pregnancy '${pregnancy}' does not go with sex 'M'.`, { code: 'pregnancyMale' });
  const names = Object.keys(cols);
  if (!names.length) return [];
  await writePerson(q, `UPDATE persons SET ${names.map((c, i) => `${c} = $${i + 2}`).join(', ')}, updated_at = now() WHERE id = $1 RETURNING id`, [id, ...names.map((c) => cols[c])]);
  return Object.keys(input).filter((k) => (input as Record<string, unknown>)[k] !== undefined);
}

export async function deletePerson(q: Queryable, p: Principal, id: number): Promise<void> {
  const params: unknown[] = [id];
  const [current] = await q.query(`SELECT p.id FROM persons p WHERE p.id = $1 AND ${jurisdictionSql(p, 'p', params)} FOR UPDATE`, params);
  if (!current) throw personIdUnknown(id);
  const [user] = await q.query('SELECT 1 FROM users WHERE person_id = $1 LIMIT 1', [id]);
  if (user) throw conflict(`Person ${id} cannot be deleted: a user account belongs to them.`, { code: 'personHasAccount', personId: id, referencedBy: 'users' });
  try {
    await q.query('DELETE FROM persons WHERE id = $1', [id]);
  } catch (e) {
    throw dbProblem(e, { noun: 'Person' });
  }
}
