// Field rules shared by the CSV import and the HTTP routes. Each parser takes the raw text of a field and
// returns its value, or throws a RowError whose message says what is wrong with it in the user's terms.
import { idNumberProblem, normalizeIdNumber } from '../core/pii.ts';

export class RowError extends Error {}

const fail = (col: string, v: string, why: string): never => {
  throw new RowError(`${col} '${v.length > 60 ? v.slice(0, 60) + '...' : v}' ${why}`);
};

export function text(v: string, col: string, opts: { required?: boolean; max?: number } = {}): string | null {
  const s = v.trim();
  if (!s) {
    if (opts.required) throw new RowError(`${col} is missing`);
    return null;
  }
  if (s.length > (opts.max ?? 200)) fail(col, s, `is longer than ${opts.max ?? 200} characters`);
  return s;
}

export function requiredText(v: string, col: string, max = 200): string {
  return text(v, col, { required: true, max }) as string;
}

export function int(v: string, col: string, opts: { min?: number; max?: number; required?: boolean; def?: number } = {}): number | null {
  if (v === '') {
    if (opts.def !== undefined) return opts.def;
    if (opts.required) throw new RowError(`${col} is missing`);
    return null;
  }
  if (!/^-?\d{1,10}$/.test(v)) fail(col, v, 'is not a whole number');
  const n = Number(v);
  if (opts.min !== undefined && n < opts.min) fail(col, v, `is below ${opts.min}`);
  if (n > (opts.max ?? 2_000_000_000)) fail(col, v, `is above ${opts.max ?? 2_000_000_000}`);
  return n;
}

export function num(v: string, col: string, opts: { min?: number; max?: number; required?: boolean; def?: number } = {}): number | null {
  if (v === '') {
    if (opts.def !== undefined) return opts.def;
    if (opts.required) throw new RowError(`${col} is missing`);
    return null;
  }
  const n = Number(v);
  if (!Number.isFinite(n) || !/^-?[\d.]+(e-?\d+)?$/i.test(v)) fail(col, v, 'is not a number');
  if (opts.min !== undefined && n < opts.min) fail(col, v, `is below ${opts.min}`);
  if (opts.max !== undefined && n > opts.max) fail(col, v, `is above ${opts.max}`);
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
  return fail(col, v, 'is not true or false');
}

const DAYS = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
/** A calendar date YYYY-MM-DD between 1900 and `latest` (as text, compared as text). */
export function date(v: string, col: string, latest?: string): string {
  if (v === '') throw new RowError(`${col} is missing`);
  if (v.length !== 10 || v[4] !== '-' || v[7] !== '-') fail(col, v, 'is not a date (YYYY-MM-DD)');
  const y = Number(v.slice(0, 4));
  const m = Number(v.slice(5, 7));
  const d = Number(v.slice(8, 10));
  if (!Number.isInteger(y) || !Number.isInteger(m) || !Number.isInteger(d) || m < 1 || m > 12 || d < 1 || d > DAYS[m - 1] || (m === 2 && d === 29 && !(y % 4 === 0 && (y % 100 !== 0 || y % 400 === 0)))) {
    fail(col, v, 'is not a date');
  }
  if (y < 1900) fail(col, v, 'is before 1900');
  if (latest && v > latest) fail(col, v, 'is in the future');
  return v;
}

export function time(v: string, col: string, def: string): string {
  if (v === '') return def;
  if (!/^([01]\d|2[0-3]):[0-5]\d(:[0-5]\d)?$/.test(v)) fail(col, v, 'is not a time of day (HH:MM)');
  return v;
}

export function oneOf<T extends string>(v: string, col: string, vocab: readonly T[], def?: T): T {
  if (v === '' && def !== undefined) return def;
  if (!(vocab as readonly string[]).includes(v)) fail(col, v, `is not one of ${vocab.join(', ')}`);
  return v as T;
}

/** A ';'-separated list of words from a vocabulary (empty = none). */
export function list<T extends string>(v: string, col: string, vocab: readonly T[]): T[] {
  if (v === '') return [];
  const out: T[] = [];
  for (const raw of v.split(';')) {
    const w = raw.trim();
    if (!w) continue;
    if (!(vocab as readonly string[]).includes(w)) fail(col, w, `is not a known value (${vocab.join(', ')})`);
    if (!out.includes(w as T)) out.push(w as T);
  }
  return out;
}

export function phone(v: string, col = 'phone'): string | null {
  const s = v.trim();
  if (!s) return null;
  if (!/^\+?[0-9][0-9 -]{3,22}$/.test(s)) fail(col, s, 'is not a phone number');
  return s.replace(/[ -]/g, '');
}

export function idNumber(v: string, col = 'id_number'): string {
  if (!v.trim()) throw new RowError(`${col} is missing`);
  const problem = idNumberProblem(v);
  if (problem) fail(col, v, `is not valid: ${problem}`);
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
    return fail(col, v, 'is not JSON');
  }
  return JSON.stringify(checkGeometry(g, col));
}

export function checkGeometry(g: unknown, col = 'geometry'): object {
  const o = g as { type?: unknown; coordinates?: unknown };
  if (!o || typeof o !== 'object' || !GEOMETRY_TYPES.includes(String(o.type)) || !Array.isArray(o.coordinates)) {
    throw new RowError(`${col} is not a GeoJSON geometry (needs a type of ${GEOMETRY_TYPES.join(', ')} and coordinates)`);
  }
  return o;
}

export const today = (now: Date) => now.toISOString().slice(0, 10);
