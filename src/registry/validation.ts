// Field rules shared by the CSV import and the HTTP routes. Each parser takes the raw text of a field and
// returns its value, or throws a RowError whose message says what is wrong with it in the user's terms.
import { idNumberFault, idNumberProblem, normalizeIdNumber } from '../core/pii.ts';

/** What is wrong with a field, in words and as data (its code, the column, the value and the limit it broke) for a page to word. */
export class RowError extends Error {
  constructor(
    message: string,
    readonly data?: { code: string; column: string } & Record<string, string | number>,
  ) {
    super(message);
  }
}

const shown = (v: string) => (v.length > 60 ? v.slice(0, 60) + '...' : v);
const fail = (col: string, v: string, why: string, code: string, values: Record<string, string | number> = {}): never => {
  throw new RowError(`${col} '${shown(v)}' ${why}`, { code, column: col, value: shown(v), ...values });
};
const missing = (col: string) => new RowError(`${col} is missing`, { code: 'fieldMissing', column: col });

export function text(v: string, col: string, opts: { required?: boolean; max?: number } = {}): string | null {
  const s = v.trim();
  if (!s) {
    if (opts.required) throw missing(col);
    return null;
  }
  if (s.length > (opts.max ?? 200)) fail(col, s, `is longer than ${opts.max ?? 200} characters`, 'fieldTooLong', { max: opts.max ?? 200 });
  return s;
}

export function requiredText(v: string, col: string, max = 200): string {
  return text(v, col, { required: true, max }) as string;
}

export function int(v: string, col: string, opts: { min?: number; max?: number; required?: boolean; def?: number } = {}): number | null {
  if (v === '') {
    if (opts.def !== undefined) return opts.def;
    if (opts.required) throw missing(col);
    return null;
  }
  if (!/^-?\d{1,10}$/.test(v)) fail(col, v, 'is not a whole number', 'fieldNotWholeNumber');
  const n = Number(v);
  if (opts.min !== undefined && n < opts.min) fail(col, v, `is below ${opts.min}`, 'fieldBelowMin', { min: opts.min });
  if (n > (opts.max ?? 2_000_000_000)) fail(col, v, `is above ${opts.max ?? 2_000_000_000}`, 'fieldAboveMax', { max: opts.max ?? 2_000_000_000 });
  return n;
}

export function num(v: string, col: string, opts: { min?: number; max?: number; required?: boolean; def?: number } = {}): number | null {
  if (v === '') {
    if (opts.def !== undefined) return opts.def;
    if (opts.required) throw missing(col);
    return null;
  }
  const n = Number(v);
  if (!Number.isFinite(n) || !/^-?[\d.]+(e-?\d+)?$/i.test(v)) fail(col, v, 'is not a number', 'fieldNotNumber');
  if (opts.min !== undefined && n < opts.min) fail(col, v, `is below ${opts.min}`, 'fieldBelowMin', { min: opts.min });
  if (opts.max !== undefined && n > opts.max) fail(col, v, `is above ${opts.max}`, 'fieldAboveMax', { max: opts.max });
  return n;
}

export function bool(v: string, col: string): boolean {
  switch (v.trim().toLowerCase()) {
    case '':
    case 'false':
    case '0':
    case 'no':
      return false;
    case 'true':
    case '1':
    case 'yes':
      return true;
  }
  return fail(col, v, 'is not true or false', 'fieldNotBoolean');
}

const DAYS = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
/** A calendar date YYYY-MM-DD between 1900 and `latest` (as text, compared as text). */
export function date(v: string, col: string, latest?: string): string {
  if (v === '') throw missing(col);
  if (v.length !== 10 || v[4] !== '-' || v[7] !== '-') fail(col, v, 'is not a date (YYYY-MM-DD)', 'fieldNotDate');
  const y = Number(v.slice(0, 4));
  const m = Number(v.slice(5, 7));
  const d = Number(v.slice(8, 10));
  if (!Number.isInteger(y) || !Number.isInteger(m) || !Number.isInteger(d) || m < 1 || m > 12 || d < 1 || d > DAYS[m - 1] || (m === 2 && d === 29 && !(y % 4 === 0 && (y % 100 !== 0 || y % 400 === 0)))) {
    fail(col, v, 'is not a date', 'fieldNotDate');
  }
  if (y < 1900) fail(col, v, 'is before 1900', 'fieldDateTooEarly', { min: '1900-01-01' });
  if (latest && v > latest) fail(col, v, 'is in the future', 'fieldDateAhead', { latest });
  return v;
}

export function time(v: string, col: string, def: string): string {
  if (v === '') return def;
  if (!/^([01]\d|2[0-3]):[0-5]\d(:[0-5]\d)?$/.test(v)) fail(col, v, 'is not a time of day (HH:MM)', 'fieldNotTime');
  return v;
}

export function oneOf<T extends string>(v: string, col: string, vocab: readonly T[], def?: T): T {
  if (v === '' && def !== undefined) return def;
  if (!(vocab as readonly string[]).includes(v)) fail(col, v, `is not one of ${vocab.join(', ')}`, 'fieldNotInList', { allowed: vocab.join(', ') });
  return v as T;
}

/** A ';'-separated list of words from a vocabulary (empty = none). */
export function list<T extends string>(v: string, col: string, vocab: readonly T[]): T[] {
  if (v === '') return [];
  const out: T[] = [];
  for (const raw of v.split(';')) {
    const w = raw.trim();
    if (!w) continue;
    if (!(vocab as readonly string[]).includes(w)) fail(col, w, `is not a known value (${vocab.join(', ')})`, 'fieldNotInList', { allowed: vocab.join(', ') });
    if (!out.includes(w as T)) out.push(w as T);
  }
  return out;
}

export function phone(v: string, col = 'phone'): string | null {
  const s = v.trim();
  if (!s) return null;
  if (!/^\+?[0-9][0-9 -]{3,22}$/.test(s)) fail(col, s, 'is not a phone number', 'fieldNotPhone');
  return s.replace(/[ -]/g, '');
}

export function idNumber(v: string, col = 'id_number'): string {
  if (!v.trim()) throw missing(col);
  const fault = idNumberFault(v);
  // The number itself stays out of the data a page may show or a log may keep.
  if (fault) throw new RowError(`${col} '${shown(v)}' is not valid: ${idNumberProblem(v)}`, { code: fault, column: col });
  return normalizeIdNumber(v);
}

const GEOMETRY_TYPES = ['Point', 'MultiPoint', 'LineString', 'MultiLineString', 'Polygon', 'MultiPolygon'];
/** A GeoJSON geometry as text; returns it re-serialised (compact), or null when empty. */
export function geometry(v: string, col = 'geometry'): string | null {
  if (!v.trim()) return null;
  let g: unknown;
  try {
    g = JSON.parse(v);
  } catch {
    return fail(col, v, 'is not JSON', 'fieldNotJson');
  }
  return JSON.stringify(checkGeometry(g, col));
}

export function checkGeometry(g: unknown, col = 'geometry'): object {
  const o = g as { type?: unknown; coordinates?: unknown };
  if (!o || typeof o !== 'object' || !GEOMETRY_TYPES.includes(String(o.type)) || !Array.isArray(o.coordinates)) {
    throw new RowError(`${col} is not a GeoJSON geometry (needs a type of ${GEOMETRY_TYPES.join(', ')} and coordinates)`, { code: 'fieldNotGeometry', column: col });
  }
  return o;
}

export const today = (now: Date) => now.toISOString().slice(0, 10);
