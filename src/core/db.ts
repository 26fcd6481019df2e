// One SQL dialect on two engines: embedded PGlite (default) or a PostgreSQL server (DATABASE_URL).
// Callers see the same small interface; bulk loads go through COPY on both.
import { PGlite, types as pgliteTypes } from '@electric-sql/pglite';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import { mkdirSync } from 'node:fs';

export interface Queryable {
  /** Which engine runs the statements: embedded PGlite runs one transaction at a time, a PostgreSQL server many. */
  readonly engine: 'pglite' | 'pg';
  /**
   * Runs one statement with $1.. parameters and returns its rows. A hot statement of fixed text may give
   * a name: a PostgreSQL server then parses and plans it once per connection (PGlite ignores it).
   */
  query<T = Record<string, unknown>>(sql: string, params?: unknown[], prepared?: string): Promise<T[]>;
  /** COPY ... FROM STDIN in CSV format; `chunks` are CSV text without a header. Returns rows loaded, as the server counts them. */
  copyCsv(table: string, columns: string[], chunks: Iterable<string> | AsyncIterable<string>): Promise<number>;
  /** COPY ... FROM STDIN in PostgreSQL's binary format: `data` is a whole COPY file (signature, tuples, trailer). Returns rows loaded. */
  copyBinary(table: string, columns: string[], data: Uint8Array<ArrayBuffer>): Promise<number>;
}

export interface Db extends Queryable {
  /** Runs several statements (migrations); no parameters. */
  exec(sql: string): Promise<void>;
  /** Runs fn in one transaction: all of it commits, or none of it. */
  tx<T>(fn: (q: Queryable) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

// int8 and numeric as numbers (our counts and ids fit), dates as 'YYYY-MM-DD' strings (never shifted by a time zone).
const asNumber = (v: string) => (v === null ? null : Number(v));
const asText = (v: string) => v;

/**
 * PGlite runs without fsync (its own default): what it writes survives the process being killed (the kernel
 * holds it), not the machine losing power. Two safeguards that only matter for a power loss then cost without
 * protecting anything, and both land on the server's only thread, inside a request:
 * - full_page_writes: the first change to a page after a checkpoint copies the whole 8 kB page into the WAL
 *   (against a page torn by a power loss): every index page a check-in touches first after one.
 * - wal_init_zero: a new 16 MB WAL file is filled with zeros, inside the COMMIT that needs it (28 ms measured in
 *   a trace: PGlite has no checkpointer to recycle old files ahead of time).
 */
const PGLITE_SETTINGS = ['-c', 'full_page_writes=off', '-c', 'wal_init_zero=off'];

export async function openPglite(dataDir?: string): Promise<Db> {
  if (dataDir) mkdirSync(dataDir, { recursive: true });
  const db = await PGlite.create(dataDir, {
    parsers: { [pgliteTypes.INT8]: asNumber, [pgliteTypes.NUMERIC]: asNumber, [pgliteTypes.DATE]: asText },
    startParams: [...PGlite.defaultStartParams, ...PGLITE_SETTINGS],
  });
  type Runner = Pick<PGlite, 'query'>;
  // A binary COPY goes to the engine as wire messages in one call (Query, CopyData, CopyDone): that spares
  // the extended protocol's six calls and the Blob passed through PGlite's file system, 150-165 us a group
  // of 46 scans instead of 270-430 (.prof/s12/fixed4.ts). It takes PGlite's locks as its own statements do:
  // outside a transaction both (never inside another caller's open one), inside one the statement lock.
  const copyBinaryUnder = (locked: <T>(fn: () => Promise<T>) => Promise<T>): Queryable['copyBinary'] => async (table, columns, data) => {
    await db._checkReady();
    return copiedRows(await locked(() => db.execProtocolRaw(copyInMessages(`COPY ${table} (${columns.join(',')}) FROM STDIN WITH (FORMAT binary)`, data))));
  };
  const queryable = (r: Runner, copyBinary: Queryable['copyBinary']): Queryable => ({
    engine: 'pglite',
    async query<T>(sql: string, params?: unknown[]) {
      return (await r.query<T>(sql, params as unknown[])).rows;
    },
    async copyCsv(table, columns, chunks) {
      // PGlite reads COPY input from a Blob; feed it in slices so memory stays bounded.
      let total = 0;
      let parts: string[] = [];
      let size = 0;
      const flush = async () => {
        if (!size) return;
        const res = await r.query(`COPY ${table} (${columns.join(',')}) FROM '/dev/blob' WITH (FORMAT csv)`, [], { blob: new Blob(parts) });
        total += res.affectedRows ?? 0;
        parts = [];
        size = 0;
      };
      for await (const chunk of chunks) {
        parts.push(chunk);
        size += chunk.length;
        if (size > 32 * 1024 * 1024) await flush();
      }
      await flush();
      return total;
    },
    copyBinary,
  });
  const inTransaction = copyBinaryUnder((fn) => db._runExclusiveQuery(fn));
  return {
    ...queryable(db, copyBinaryUnder((fn) => db._runExclusiveTransaction(() => db._runExclusiveQuery(fn)))),
    async exec(sql) {
      await db.exec(sql);
    },
    tx: (fn) => db.transaction((t) => fn(queryable(t as unknown as Runner, inTransaction))),
    close: () => db.close(),
  };
}

/** CopyData messages carry at most this much each (the protocol allows more; the engine's buffers need not grow). */
const COPY_DATA_CHUNK = 256 * 1024;

const utf8 = { encoder: new TextEncoder(), decoder: new TextDecoder() };

/** The frontend messages of a whole COPY FROM STDIN: Query, the data as CopyData messages, CopyDone. */
function copyInMessages(sql: string, data: Uint8Array): Uint8Array {
  const text = utf8.encoder.encode(`${sql}\0`);
  const chunks = Math.max(1, Math.ceil(data.length / COPY_DATA_CHUNK));
  const out = new Uint8Array(5 + text.length + chunks * 5 + data.length + 5);
  const view = new DataView(out.buffer);
  let at = 0;
  const message = (type: string, body: Uint8Array) => {
    out[at] = type.charCodeAt(0);
    view.setInt32(at + 1, 4 + body.length);
    out.set(body, at + 5);
    at += 5 + body.length;
  };
  message('Q', text);
  for (let i = 0; i < chunks; i++) message('d', data.subarray(i * COPY_DATA_CHUNK, (i + 1) * COPY_DATA_CHUNK));
  message('c', new Uint8Array(0));
  return out;
}

/**
 * The rows a COPY loaded, from the backend's reply to copyInMessages; its ErrorResponse as an Error with the
 * fields PGlite's own errors carry (message, code, detail, constraint...).
 */
function copiedRows(reply: Uint8Array): number {
  const view = new DataView(reply.buffer, reply.byteOffset, reply.byteLength);
  const text = utf8.decoder;
  let rows: number | null = null;
  for (let at = 0; at + 5 <= reply.length; at += 1 + view.getInt32(at + 1)) {
    const type = String.fromCharCode(reply[at]);
    const body = reply.subarray(at + 5, at + 1 + view.getInt32(at + 1));
    if (type === 'E') {
      // Fields: a type byte and a NUL-ended string each, a NUL at the end.
      const fields: Record<string, string> = {};
      for (let i = 0; i < body.length && body[i] !== 0; ) {
        const end = body.indexOf(0, i + 1);
        fields[String.fromCharCode(body[i])] = text.decode(body.subarray(i + 1, end));
        i = end + 1;
      }
      throw Object.assign(new Error(fields.M ?? 'COPY failed'), { severity: fields.S, code: fields.C, detail: fields.D, schema: fields.s, table: fields.t, column: fields.c, constraint: fields.n });
    }
    // CommandComplete: "COPY <rows>".
    if (type === 'C') rows = Number(text.decode(body.subarray(0, body.length - 1)).split(' ')[1]);
  }
  if (rows === null) throw new Error('COPY ended without a reply');
  return rows;
}

export async function openPg(url: string): Promise<Db> {
  const parsers = new Map<number, (v: string) => unknown>([
    [20, asNumber],
    [1700, asNumber],
    [1082, asText],
  ]);
  const pool = new pg.Pool({
    connectionString: url,
    max: 10,
    types: { getTypeParser: ((oid: number, format?: string) => parsers.get(oid) ?? pg.types.getTypeParser(oid, format as 'text')) as typeof pg.types.getTypeParser },
  });
  // An idle connection the server ends (a restart, an administrator) is replaced on next use; it must
  // not take the process down as an unhandled 'error' event.
  pool.on('error', (e) => process.emitWarning(`PostgreSQL connection lost while idle: ${e.message}`));
  // Check the server now, so a wrong DATABASE_URL fails at start with its own message.
  await pool.query('SELECT 1');
  const queryable = (c: pg.Pool | pg.PoolClient): Queryable => ({
    engine: 'pg',
    async query<T>(sql: string, params?: unknown[], prepared?: string) {
      return (await (prepared ? c.query({ name: prepared, text: sql, values: params }) : c.query(sql, params))).rows as T[];
    },
    async copyCsv(table, columns, chunks) {
      const client = 'release' in c ? c : await c.connect();
      try {
        const sink = client.query(copyFrom(`COPY ${table} (${columns.join(',')}) FROM STDIN WITH (FORMAT csv)`));
        await pipeline(Readable.from(chunks), sink);
        return sink.rowCount;
      } finally {
        if (client !== c) (client as pg.PoolClient).release();
      }
    },
    async copyBinary(table, columns, data) {
      const client = 'release' in c ? c : await c.connect();
      try {
        const sink = client.query(copyFrom(`COPY ${table} (${columns.join(',')}) FROM STDIN WITH (FORMAT binary)`));
        await pipeline(Readable.from([Buffer.from(data.buffer, data.byteOffset, data.byteLength)]), sink);
        return sink.rowCount;
      } finally {
        if (client !== c) (client as pg.PoolClient).release();
      }
    },
  });
  return {
    ...queryable(pool),
    async exec(sql) {
      await pool.query(sql);
    },
    async tx(fn) {
      const client = await pool.connect();
      try {
        await client.query('BEGIN');
        const result = await fn(queryable(client));
        await client.query('COMMIT');
        return result;
      } catch (e) {
        await client.query('ROLLBACK').catch(() => {});
        throw e;
      } finally {
        client.release();
      }
    },
    close: () => pool.end(),
  };
}

export function openDb(opts: { databaseUrl?: string; dataDir?: string }): Promise<Db> {
  return opts.databaseUrl ? openPg(opts.databaseUrl) : openPglite(opts.dataDir);
}

/** Quotes one value for a CSV line that COPY reads: null becomes an empty unquoted field. */
export function csvField(v: unknown): string {
  if (v === null || v === undefined) return '';
  if (Array.isArray(v)) return csvField(pgArray(v));
  const s = v instanceof Date ? v.toISOString() : typeof v === 'object' ? JSON.stringify(v) : String(v);
  return /[",\n\r]/.test(s) || s === '' ? `"${s.replace(/"/g, '""')}"` : s;
}

/** A PostgreSQL array literal of text values. */
export function pgArray(values: unknown[]): string {
  return `{${values.map((x) => `"${String(x).replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`).join(',')}}`;
}
