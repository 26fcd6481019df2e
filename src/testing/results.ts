// Lab result uploads (CSV and API): validated whole first, so a bad line writes nothing; then applied in
// chunks that each commit, so a killed server keeps what it acknowledged and a second upload completes it.
import { parse } from 'csv-parse/sync';
import { createHash } from 'node:crypto';
import type { Db } from '../core/db.ts';
import { heavyWork } from '../core/http.ts';
import type { Preset } from '../core/presets.ts';
import { applyResults, tubesForResults, type ApplySummary, type ResultRow } from './store.ts';
import type { Verdict } from './rules.ts';
import { rejection, type RejectWhy, type Rejection } from './rejections.ts';

/** What a tube's barcode may hold: the same rule as where tubes are opened. */
export const BARCODE = /^[A-Za-z0-9_-]{4,64}$/;
export const RESULT_COLUMNS = ['barcode', 'result', 'ct_orf1ab', 'ct_n', 'resulted_at'] as const;
const RESULT_WORDS = new Map<string, Verdict>([
  ['positive', 'positive'],
  ['negative', 'negative'],
  ['invalid', 'invalid'],
  ['阳性', 'positive'],
  ['阴性', 'negative'],
  ['无效', 'invalid'],
]);

export interface RawResult {
  barcode: string;
  result: string;
  ctOrf1ab?: number | string | null;
  ctN?: number | string | null;
  resultedAt: string;
}

export interface UploadReport extends ApplySummary {
  uploadId: number | null;
  rows: number;
  rejected: Rejection[];
}

/** Turns raw fields into a result row, or says what is wrong with them. */
export function readResult(raw: RawResult, line: number): ResultRow | RejectWhy {
  const barcode = String(raw.barcode ?? '').trim();
  if (!barcode) return { code: 'barcodeEmpty' };
  if (!BARCODE.test(barcode)) return { code: 'barcodeBad', value: barcode };
  const result = RESULT_WORDS.get(String(raw.result ?? '').trim().toLowerCase());
  if (!result) return { code: 'resultBad', value: String(raw.result) };
  const ctOrf1ab = ct(raw.ctOrf1ab, 'ct_orf1ab');
  if (typeof ctOrf1ab === 'object' && ctOrf1ab !== null) return ctOrf1ab;
  const ctN = ct(raw.ctN, 'ct_n');
  if (typeof ctN === 'object' && ctN !== null) return ctN;
  const resultedAt = isoTime(String(raw.resultedAt ?? ''));
  if (!resultedAt) return { code: 'timeBad', value: String(raw.resultedAt ?? '') };
  return { line, barcode, result, ctOrf1ab, ctN, resultedAt };
}

function ct(v: unknown, name: string): number | null | RejectWhy {
  if (v === null || v === undefined || v === '') return null;
  const n = Number(v);
  return Number.isFinite(n) && n >= 0 && n <= 50 ? n : { code: 'ctBad', column: name, value: String(v) };
}

// A lab's run reports one time for a whole plate, so a file repeats the same few times: parse each once.
const times = new Map<string, Date | null>();
function isoTime(text: string): Date | null {
  let t = times.get(text);
  if (t === undefined) {
    const d = new Date(text);
    t = text && !Number.isNaN(d.getTime()) && /\d{4}-\d{2}-\d{2}T\d{2}:\d{2}/.test(text) ? d : null;
    if (times.size > 10_000) times.clear();
    times.set(text, t);
  }
  return t;
}

/** Parses a results CSV (header row first); every bad line is reported with its number. */
export function parseResultsCsv(text: string): { rows: ResultRow[]; rejected: Rejection[] } {
  text = text.replace(/^\uFEFF/, '');
  const header = text.slice(0, text.search(/\r?\n|$/)).split(',').map((c) => c.trim().toLowerCase());
  const missing = RESULT_COLUMNS.filter((c) => !['ct_orf1ab', 'ct_n'].includes(c) && !header.includes(c));
  if (missing.length) return { rows: [], rejected: [rejection(1, { code: 'header', missing: missing.join(', '), expected: RESULT_COLUMNS.join(',') })] };
  const at = (name: string) => header.indexOf(name);
  const [b, r, a, n, t] = [at('barcode'), at('result'), at('ct_orf1ab'), at('ct_n'), at('resulted_at')];
  const rows: ResultRow[] = [];
  const rejected: Rejection[] = [];
  const take = (fields: string[], line: number) => {
    if (fields.length !== header.length) return rejected.push(rejection(line, { code: 'fieldCount', fields: fields.length, expected: header.length }));
    const row = readResult({ barcode: fields[b], result: fields[r], ctOrf1ab: a < 0 ? null : fields[a].trim(), ctN: n < 0 ? null : fields[n].trim(), resultedAt: fields[t].trim() }, line);
    if ('code' in row) rejected.push(rejection(line, row));
    else rows.push(row);
  };
  if (!text.includes('"')) {
    // The usual lab file has no quoted fields: split it directly (a full CSV parser costs 20x more per row).
    const lines = text.split('\n');
    for (let i = 1; i < lines.length; i++) {
      const l = lines[i].endsWith('\r') ? lines[i].slice(0, -1) : lines[i];
      if (l.trim()) take(l.split(','), i + 1);
    }
    return { rows, rejected };
  }
  let records: { record: string[]; info: { lines: number } }[];
  try {
    records = parse(text, { info: true, skip_empty_lines: true, trim: true, relax_column_count: true, from_line: 2 }) as unknown as typeof records;
  } catch (e) {
    const err = e as { lines?: number; message: string };
    return { rows: [], rejected: [rejection(err.lines ?? 0, { code: 'notCsv', message: err.message })] };
  }
  for (const { record, info } of records) take(record, info.lines);
  return { rows, rejected };
}

/**
 * Applies validated results for a lab. Nothing is written when any row is bad. Otherwise the upload is
 * recorded, then applied CHUNK rows at a time, each chunk in its own transaction.
 */
export function uploadResults(
  db: Db,
  o: { labId: number; rows: ResultRow[]; rejected: Rejection[]; sha256: string; preset: Preset; by: string; now: Date; chunk?: number; onProgress?: (done: number) => void },
): Promise<UploadReport> {
  return heavyWork(() => upload(db, o));
}

async function upload(db: Db, o: Parameters<typeof uploadResults>[1]): Promise<UploadReport> {
  const empty: ApplySummary = { applied: 0, duplicates: 0, conflicts: 0, positives: 0, poolControls: 0, cleared: 0 };
  const rejected = [...o.rejected];
  const { rejected: unknown, ...tubes } = await tubesForResults(db, o.rows);
  rejected.push(...unknown);
  if (rejected.length) return { ...empty, uploadId: null, rows: o.rows.length + o.rejected.length, rejected: rejected.sort((a, b) => a.line - b.line) };
  const [{ id: uploadId }] = await db.query<{ id: number }>(
    'INSERT INTO result_uploads (lab_id, sha256, rows, received_by, received_at) VALUES ($1,$2,$3,$4,$5) RETURNING id',
    [o.labId, o.sha256, o.rows.length, o.by, o.now],
  );
  const total = { ...empty };
  // Embedded PGlite runs one statement at a time for every request: chunks stay small so others get in
  // between. A PostgreSQL server serves other requests on their own connections meanwhile: fewer commits.
  const size = o.chunk ?? (db.engine === 'pg' ? 50_000 : 10_000);
  for (let i = 0; i < o.rows.length; i += size) {
    const part = await db.tx((q) => applyResults(q, o.labId, o.rows.slice(i, i + size), tubes, o.preset, uploadId, o.by, o.now));
    for (const k of Object.keys(total) as (keyof ApplySummary)[]) total[k] += part[k];
    o.onProgress?.(Math.min(o.rows.length, i + size));
    // Let other requests in between chunks: embedded PGlite runs on this thread, and a large upload
    // must not hold every sampler and check-in until it ends.
    await new Promise((resolve) => setImmediate(resolve));
  }
  await db.query('UPDATE result_uploads SET completed_at = $2 WHERE id = $1', [uploadId, new Date()]);
  return { ...total, uploadId, rows: o.rows.length, rejected: [] };
}

export const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');
