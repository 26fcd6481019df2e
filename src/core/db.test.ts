// The database interface behaves the same on both engines: rows in our types, errors that keep the database's
// fields, a transaction that commits whole or not at all and is seen by others only once committed, COPY in
// both formats; and on embedded PGlite, a commit survives the process ending without closing the database.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { engine, testDb } from '../../test/harness.ts';
import type { Db } from './db.ts';
import { BinaryCopy } from './binary-copy.ts';

/** A transaction that has inserted `id` into things and stays open until released; then it commits or throws 'rolled back'. */
async function openTransaction(db: Db, id: number, end: 'commit' | 'roll back'): Promise<{ tx: Promise<void>; release: () => void }> {
  let release!: () => void;
  const held = new Promise<void>((resolve) => (release = resolve));
  let inside!: () => void;
  const started = new Promise<void>((resolve) => (inside = resolve));
  const tx = db.tx(async (q) => {
    await q.query('INSERT INTO things (id) VALUES ($1)', [id]);
    inside();
    await held;
    if (end === 'roll back') throw new Error('rolled back');
  });
  await started;
  return { tx, release };
}

describe('the database interface', () => {
  let db: Db;
  beforeAll(async () => {
    db = await testDb();
    await db.exec('CREATE TABLE things (id int PRIMARY KEY, on_day date, big int8, doc jsonb, at timestamptz, raw bytea)');
  });
  afterAll(() => db.close());

  it('answers rows in our types: int8 as a number, date as text, jsonb as objects, timestamptz as a Date, bytea as bytes', async () => {
    const at = new Date('2022-04-10T08:00:00.123Z');
    const [row] = await db.query('INSERT INTO things VALUES ($1, $2, $3, $4, $5, $6) RETURNING *', [1, '2022-05-01', 12_345_678_901, JSON.stringify({ a: [1, 2] }), at, new Uint8Array([1, 2, 255])]);
    expect(row).toEqual({ id: 1, on_day: '2022-05-01', big: 12_345_678_901, doc: { a: [1, 2] }, at, raw: expect.anything() });
    expect([...(row.raw as Uint8Array)]).toEqual([1, 2, 255]);
  });

  it('rejects a bad statement with an Error carrying the database fields, and goes on working', async () => {
    const e = await db.query('INSERT INTO things (id) VALUES (1)').then(() => null, (x: Error & { detail?: string }) => x);
    expect(e).toBeInstanceOf(Error);
    expect(e).toMatchObject({ code: '23505', constraint: 'things_pkey', message: expect.stringContaining('duplicate key') });
    expect(e?.detail).toContain('(id)=(1)');
    expect(await db.query('SELECT count(*)::int AS n FROM things')).toEqual([{ n: 1 }]);
  });

  it('commits a transaction whole, and none of it when its work throws or a statement fails', async () => {
    expect(await db.tx(async (q) => (await q.query('INSERT INTO things (id) VALUES (2) RETURNING id'))[0])).toEqual({ id: 2 });
    await expect(db.tx(async (q) => {
      await q.query('INSERT INTO things (id) VALUES (3)');
      throw new Error('changed my mind');
    })).rejects.toThrow('changed my mind');
    await expect(db.tx(async (q) => {
      await q.query('INSERT INTO things (id) VALUES (4)');
      await q.query('INSERT INTO things (id) VALUES (1)');
    })).rejects.toMatchObject({ code: '23505' });
    expect((await db.query<{ id: number }>('SELECT id FROM things ORDER BY id')).map((r) => r.id)).toEqual([1, 2]);
  });

  it('keeps a transaction apart: what it wrote is seen by others only after it commits', async () => {
    const { tx, release } = await openTransaction(db, 5, 'commit');
    // Read while the transaction is open: it answers without the uncommitted row (PostgreSQL), or only after
    // the commit (PGlite runs one transaction at a time); never the row of a transaction still open.
    let committed = false;
    const seen = db.query<{ n: number }>('SELECT count(*)::int AS n FROM things WHERE id = 5').then((r) => ({ n: r[0].n, committed }));
    await new Promise((resolve) => setTimeout(resolve, 50));
    release();
    await tx;
    committed = true;
    const s = await seen;
    expect(s.n === 0 || s.committed).toBe(true);
    if (engine === 'pglite') expect(s).toEqual({ n: 1, committed: true });
  });

  it('loads rows by COPY, in CSV and in the binary format', async () => {
    expect(await db.copyCsv('things', ['id', 'on_day'], ['10,2022-01-01\n', '11,\n'])).toBe(2);
    // One tuple (id 12) in the binary format: signature, flags, extension, field count, length and int4, trailer.
    const file = Buffer.concat([Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1'), Buffer.from([0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 4, 0, 0, 0, 12, 0xff, 0xff])]);
    expect(await db.copyBinary('things', ['id'], new Uint8Array(file))).toBe(1);
    expect(await db.query('SELECT id, on_day FROM things WHERE id >= 10 ORDER BY id')).toEqual([{ id: 10, on_day: '2022-01-01' }, { id: 11, on_day: null }, { id: 12, on_day: null }]);
  });

  it('loads a binary COPY larger than one message of data, and refuses a failing one whole, with the database fields', async () => {
    const ids = (from: number, n: number) => {
      const file = new BinaryCopy(n * 10);
      for (let i = 0; i < n; i++) file.tuple(1).int4(from + i);
      return file.done();
    };
    // 60,000 tuples of 10 bytes: more than one CopyData message (src/core/db.ts).
    expect(await db.copyBinary('things', ['id'], ids(100_000, 60_000))).toBe(60_000);
    expect(await db.query('SELECT count(*)::int AS n, min(id), max(id) FROM things WHERE id >= 100000')).toEqual([{ n: 60_000, min: 100_000, max: 159_999 }]);
    // The last tuple repeats a kept id: nothing of this COPY is kept.
    const e = await db.copyBinary('things', ['id'], ids(159_990, 20)).then(() => null, (x: Error) => x);
    expect(e).toBeInstanceOf(Error);
    expect(e).toMatchObject({ code: '23505', constraint: 'things_pkey', message: expect.stringContaining('duplicate key') });
    expect(await db.query('SELECT count(*)::int AS n FROM things WHERE id >= 100000')).toEqual([{ n: 60_000 }]);
    // A statement that fails before any data is read (no such table) leaves the connection working too.
    await expect(db.copyBinary('no_such_things', ['id'], ids(1, 1))).rejects.toMatchObject({ code: '42P01' });
    expect(await db.copyBinary('things', ['id'], ids(160_000, 1))).toBe(1);
    await db.query('DELETE FROM things WHERE id >= 100000');
  });

  it('loads a binary COPY file written again into the same buffer, without the last file\'s bytes', async () => {
    const file = new BinaryCopy(64);
    // Three tuples (the buffer grows), then one in the same buffer.
    for (const id of [40, 41, 42]) file.tuple(1).int4(id);
    expect(await db.copyBinary('things', ['id'], file.done())).toBe(3);
    expect(await db.copyBinary('things', ['id'], file.reset().tuple(1).int4(43).done())).toBe(1);
    expect(await db.query('SELECT id FROM things WHERE id BETWEEN 40 AND 49 ORDER BY id')).toEqual([{ id: 40 }, { id: 41 }, { id: 42 }, { id: 43 }]);
  });

  it('loads a binary COPY inside a transaction as part of it: kept when it commits, gone when it does not', async () => {
    const one = (id: number) => {
      const file = new BinaryCopy();
      file.tuple(1).int4(id);
      return file.done();
    };
    expect(await db.tx(async (q) => q.copyBinary('things', ['id'], one(30)))).toBe(1);
    await expect(db.tx(async (q) => {
      await q.copyBinary('things', ['id'], one(31));
      throw new Error('changed my mind');
    })).rejects.toThrow('changed my mind');
    await expect(db.tx(async (q) => {
      await q.copyBinary('things', ['id'], one(32));
      await q.copyBinary('things', ['id'], one(30));
    })).rejects.toMatchObject({ code: '23505' });
    expect(await db.query('SELECT id FROM things WHERE id BETWEEN 30 AND 32')).toEqual([{ id: 30 }]);
  });

  it('never loads a COPY into another caller\'s open transaction', async () => {
    const { tx, release } = await openTransaction(db, 20, 'roll back');
    const file = new BinaryCopy();
    file.tuple(1).int4(21);
    const copied = db.copyBinary('things', ['id'], file.done());
    await new Promise((resolve) => setTimeout(resolve, 50));
    release();
    await expect(tx).rejects.toThrow('rolled back');
    expect(await copied).toBe(1);
    expect(await db.query('SELECT id FROM things WHERE id IN (20, 21)')).toEqual([{ id: 21 }]);
  });
});

describe.runIf(engine === 'pglite')('embedded PGlite', () => {
  it('keeps what a process committed when it ended without closing the database', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'cordon-db-'));
    const script = `import { openPglite } from ${JSON.stringify(path.join(path.dirname(fileURLToPath(import.meta.url)), 'db.ts'))};
      const db = await openPglite(${JSON.stringify(path.join(dir, 'data'))});
      await db.exec('CREATE TABLE kept (id int)');
      await db.query('INSERT INTO kept VALUES (1)');
      console.log('done');`;
    try {
      writeFileSync(path.join(dir, 'script.mts'), script);
      const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', path.join(dir, 'script.mts')], { timeout: 60_000 });
      expect(stdout.trim()).toBe('done');
      const { openPglite } = await import('./db.ts');
      const again = await openPglite(path.join(dir, 'data'));
      expect(await again.query('SELECT id FROM kept')).toEqual([{ id: 1 }]);
      await again.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
