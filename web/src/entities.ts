// What the registry pages show of each entity: the API path and the table's columns.
// Field names are those of the registry API (camelCase records).
import type { Key } from './i18n.ts';

/** How a cell is drawn: plain text, a number, a translated vocabulary word, a reference to another record... */
export type Format = 'text' | 'number' | 'bool' | 'sex' | 'date' | 'datetime' | 'list' | 'kind' | 'pregnancy' | 'lonlat' | 'hours' | 'mono';
export type RefEntity = 'districts' | 'streets' | 'compounds';

export interface Column {
  /** The record's field (for lonlat: the lon field; the lat field is `lat`). */
  key: string;
  label: Key;
  format?: Format;
  /** An id field shown as the referenced record's name. */
  ref?: RefEntity;
}

export const ENTITY_ORDER = ['districts', 'streets', 'compounds', 'buildings', 'households', 'persons', 'venues', 'sampling-points', 'labs', 'facilities'] as const;
export type Entity = (typeof ENTITY_ORDER)[number];

const code: Column = { key: 'code', label: 'col.code', format: 'mono' };
const name: Column = { key: 'name', label: 'col.name' };
const district: Column = { key: 'districtId', label: 'col.district', ref: 'districts' };
const street: Column = { key: 'streetId', label: 'col.street', ref: 'streets' };
const compound: Column = { key: 'compoundId', label: 'col.compound', ref: 'compounds' };

export const COLUMNS: Record<Entity, Column[]> = {
  districts: [code, name, { key: 'nameEn', label: 'col.nameEn' }, { key: 'population', label: 'col.population', format: 'number' }],
  streets: [code, name, { key: 'nameEn', label: 'col.nameEn' }, district, { key: 'population', label: 'col.population', format: 'number' }],
  compounds: [code, name, street, district, { key: 'population', label: 'col.population', format: 'number' }, { key: 'centroidLon', label: 'col.location', format: 'lonlat' }],
  buildings: [code, name, compound, { key: 'floors', label: 'col.floors', format: 'number' }],
  households: [code, { key: 'buildingId', label: 'col.building', format: 'number' }, compound, { key: 'floor', label: 'col.floor', format: 'number' }, { key: 'unit', label: 'col.unit' }, { key: 'sharedFacilities', label: 'col.shared', format: 'bool' }],
  persons: [
    { key: 'name', label: 'col.personName' },
    // The API masks the number (region and check digit only); the clear number is a separate, audited call.
    { key: 'idNumberMasked', label: 'col.idNumber', format: 'mono' },
    { key: 'sex', label: 'col.sex', format: 'sex' },
    { key: 'birthDate', label: 'col.birthDate', format: 'date' },
    { key: 'phone', label: 'col.phone', format: 'mono' },
    compound,
    district,
    { key: 'comorbidities', label: 'col.comorbidities', format: 'list' },
  ],
  venues: [code, name, { key: 'kind', label: 'col.kind', format: 'kind' }, district, street, { key: 'popularity', label: 'col.popularity', format: 'number' }, { key: 'lon', label: 'col.location', format: 'lonlat' }],
  'sampling-points': [code, name, district, street, { key: 'stations', label: 'col.stations', format: 'number' }, { key: 'opens', label: 'col.hours', format: 'hours' }, { key: 'vaccinates', label: 'col.vaccinates', format: 'bool' }],
  labs: [code, name, district, { key: 'dailyCapacity', label: 'col.dailyCapacity', format: 'number' }],
  facilities: [
    code,
    name,
    { key: 'kind', label: 'col.kind', format: 'kind' },
    district,
    { key: 'bedsGeneral', label: 'col.bedsGeneral', format: 'number' },
    { key: 'bedsIcu', label: 'col.bedsIcu', format: 'number' },
    { key: 'rooms', label: 'col.rooms', format: 'number' },
  ],
};

/** Labels of the fields a detail panel may show; other fields show under their API name. */
export const FIELD_LABELS: Record<string, Key> = {
  id: 'col.id',
  code: 'col.code',
  name: 'col.name',
  nameEn: 'col.nameEn',
  population: 'col.population',
  districtId: 'col.district',
  streetId: 'col.street',
  compoundId: 'col.compound',
  buildingId: 'col.building',
  householdId: 'col.household',
  floor: 'col.floor',
  floors: 'col.floors',
  unit: 'col.unit',
  sharedFacilities: 'col.shared',
  sex: 'col.sex',
  birthDate: 'col.birthDate',
  idNumberMasked: 'col.idNumber',
  phone: 'col.phone',
  personalCode: 'col.personalCode',
  comorbidities: 'col.comorbidities',
  pregnancy: 'col.pregnancy',
  careNeeds: 'col.careNeeds',
  kind: 'col.kind',
  popularity: 'col.popularity',
  stations: 'col.stations',
  vaccinates: 'col.vaccinates',
  dailyCapacity: 'col.dailyCapacity',
  bedsGeneral: 'col.bedsGeneral',
  bedsIcu: 'col.bedsIcu',
  rooms: 'col.rooms',
  lon: 'col.lon',
  lat: 'col.lat',
  centroidLon: 'col.lon',
  centroidLat: 'col.lat',
  opens: 'col.opens',
  closes: 'col.closes',
  createdAt: 'col.createdAt',
  updatedAt: 'col.updatedAt',
};

/** How a field is drawn wherever it appears (tables and the detail panel). */
export const FIELD_FORMATS: Record<string, Format> = {
  population: 'number',
  floor: 'number',
  floors: 'number',
  sharedFacilities: 'bool',
  sex: 'sex',
  birthDate: 'date',
  idNumberMasked: 'mono',
  phone: 'mono',
  personalCode: 'mono',
  code: 'mono',
  comorbidities: 'list',
  careNeeds: 'list',
  pregnancy: 'pregnancy',
  kind: 'kind',
  popularity: 'number',
  stations: 'number',
  vaccinates: 'bool',
  dailyCapacity: 'number',
  bedsGeneral: 'number',
  bedsIcu: 'number',
  rooms: 'number',
  createdAt: 'datetime',
  updatedAt: 'datetime',
};

export function isEntity(s: string | null): s is Entity {
  return (ENTITY_ORDER as readonly string[]).includes(s ?? '');
}
