// The group commit of scans writes every field as given (on PGlite through binary COPY, on PostgreSQL
// through column arrays): NULLs, positions, distances, times to the microsecond the clock gives (ms), and
// every scan of concurrent groups exactly once; a group whose write fails is not acknowledged. Each day's
// scans go into that day's partition (migrations/017), made before the day is first written.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { engine, testContext, type TestContext } from '../../test/harness.ts';
import { ScanWriter, scanWrites, scansAsCopyBinary, type ScanRow } from './checkpoints.ts';
import { makeCheckinDays } from './checkin-days.ts';

describe('scan writer', () => {
  let ctx: TestContext;
  beforeAll(async () => {
    ctx = await testContext();
  });
  afterAll(async () => {
    await ctx.close();
  });

  const read = () =>
    ctx.db.query<{ venue_id: number; person_id: number; at: string; source: string; device_id: number | null; lat: number | null; lon: number | null; distance_m: number | null; far: boolean; admitted: boolean; colour: string }>(
      `SELECT venue_id, person_id, to_char(scanned_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US') AS at, source, device_id, lat, lon, distance_m, far, admitted, colour
         FROM checkins ORDER BY person_id`,
    );

  it('writes every field as given, NULLs included', async () => {
    const writer = new ScanWriter(ctx.db);
    const rows: ScanRow[] = [
      { venueId: 7, personId: 1, scannedAt: new Date('2022-04-10T06:00:00.123Z'), source: 'venueCode', deviceId: null, lat: null, lon: null, distanceM: null, far: false, admitted: true, colour: 'green' },
      { venueId: 2_000_000_000, personId: 2, scannedAt: new Date('1999-12-31T23:59:59.999Z'), source: 'sentinel', deviceId: 42, lat: -31.2304123, lon: 121.4737001, distanceM: 1234.5, far: true, admitted: false, colour: 'red' },
      { venueId: 3, personId: 3, scannedAt: new Date('2038-01-19T03:14:08.001Z'), source: 'venueCode', deviceId: null, lat: 0, lon: -180, distanceM: 0, far: false, admitted: false, colour: 'yellow' },
    ];
    await Promise.all(rows.map((r) => writer.write(r)));
    expect(await read()).toEqual([
      { venue_id: 7, person_id: 1, at: '2022-04-10T06:00:00.123000', source: 'venueCode', device_id: null, lat: null, lon: null, distance_m: null, far: false, admitted: true, colour: 'green' },
      { venue_id: 2_000_000_000, person_id: 2, at: '1999-12-31T23:59:59.999000', source: 'sentinel', device_id: 42, lat: -31.2304123, lon: 121.4737001, distance_m: 1234.5, far: true, admitted: false, colour: 'red' },
      { venue_id: 3, person_id: 3, at: '2038-01-19T03:14:08.001000', source: 'venueCode', device_id: null, lat: 0, lon: -180, distance_m: 0, far: false, admitted: false, colour: 'yellow' },
    ]);
  });

  it('loads the binary COPY file of scans on either engine', async () => {
    await ctx.db.query('DELETE FROM checkins');
    const rows: ScanRow[] = [
      { venueId: 5, personId: 11, scannedAt: new Date('2022-04-10T06:00:00.500Z'), source: 'sentinel', deviceId: 3, lat: 31.5, lon: 121.25, distanceM: 12.5, far: false, admitted: true, colour: 'yellow' },
      { venueId: 6, personId: 12, scannedAt: new Date('2022-04-10T06:00:01Z'), source: 'venueCode', deviceId: null, lat: null, lon: null, distanceM: null, far: false, admitted: false, colour: 'red' },
    ];
    const columns = ['venue_id', 'person_id', 'scanned_at', 'source', 'device_id', 'lat', 'lon', 'distance_m', 'far', 'admitted', 'colour'];
    expect(await ctx.db.copyBinary('checkins', columns, scansAsCopyBinary(rows))).toBe(2);
    expect(await read()).toEqual([
      { venue_id: 5, person_id: 11, at: '2022-04-10T06:00:00.500000', source: 'sentinel', device_id: 3, lat: 31.5, lon: 121.25, distance_m: 12.5, far: false, admitted: true, colour: 'yellow' },
      { venue_id: 6, person_id: 12, at: '2022-04-10T06:00:01.000000', source: 'venueCode', device_id: null, lat: null, lon: null, distance_m: null, far: false, admitted: false, colour: 'red' },
    ]);
  });

  it('records each scan of many concurrent groups once', async () => {
    await ctx.db.query('DELETE FROM checkins');
    const writer = new ScanWriter(ctx.db);
    const scan = (i: number): ScanRow => ({ venueId: 1 + (i % 17), personId: 1000 + i, scannedAt: new Date(Date.UTC(2022, 3, 10) + i), source: 'venueCode', deviceId: null, lat: null, lon: null, distanceM: null, far: false, admitted: true, colour: 'green' });
    const waits: Promise<void>[] = [];
    // Groups of different sizes, some started while a write runs.
    for (let round = 0; round < 20; round++) {
      for (let k = 0; k < 1 + ((round * 37) % 300); k++) waits.push(writer.write(scan(waits.length)));
      if (round % 3 === 0) await new Promise((resolve) => setImmediate(resolve));
    }
    await Promise.all(waits);
    const [{ n, distinct }] = await ctx.db.query<{ n: number; distinct: number }>('SELECT count(*)::int AS n, count(DISTINCT person_id)::int AS distinct FROM checkins');
    expect({ n, distinct }).toEqual({ n: waits.length, distinct: waits.length });
  });

  it('counts the groups it commits, their scans and their time, for the bench', async () => {
    await ctx.db.query('DELETE FROM checkins');
    const writer = new ScanWriter(ctx.db);
    const scan = (i: number): ScanRow => ({ venueId: 3, personId: 2000 + i, scannedAt: new Date(Date.UTC(2022, 3, 10) + i), source: 'venueCode', deviceId: null, lat: null, lon: null, distanceM: null, far: false, admitted: true, colour: 'green' });
    const before = { ...scanWrites };
    await Promise.all(Array.from({ length: 30 }, (_, i) => writer.write(scan(i))));
    await writer.write(scan(30));
    const groups = scanWrites.groups - before.groups;
    expect(scanWrites.scans - before.scans).toBe(31);
    // The last scan was written alone, after the 30 that went together.
    expect(groups).toBeGreaterThanOrEqual(2);
    expect(groups).toBeLessThanOrEqual(31);
    expect(scanWrites.ms).toBeGreaterThan(before.ms);
    // A group whose write fails is not counted.
    const broken = new ScanWriter(ctx.db);
    const failed = { ...scanWrites };
    await expect(broken.write({ ...scan(40), colour: 'x'.repeat(3) as never, source: 'nowhere' as never })).rejects.toThrow();
    expect(scanWrites).toEqual(failed);
  });

  it('writes each day into a partition of its own, made with the day after, and a day kept elsewhere stays there', async () => {
    await ctx.db.query('DELETE FROM checkins');
    // A scan of 2021-03-02 that arrived before its day had a partition (here: written straight into the table).
    await ctx.db.query(`INSERT INTO checkins (venue_id, person_id, scanned_at, source) VALUES (1, 500, '2021-03-02T10:00:00Z', 'import')`);
    const writer = new ScanWriter(ctx.db);
    const scan = (personId: number, at: string): ScanRow => ({ venueId: 2, personId, scannedAt: new Date(at), source: 'venueCode', deviceId: null, lat: null, lon: null, distanceM: null, far: false, admitted: true, colour: 'green' });
    await Promise.all([scan(501, '2021-03-01T23:59:59.999Z'), scan(502, '2021-03-02T00:00:00Z'), scan(503, '2021-03-02T23:00:00Z'), scan(504, '2021-03-05T12:00:00Z')].map((r) => writer.write(r)));
    expect(await ctx.db.query(`SELECT person_id, tableoid::regclass::text AS part FROM checkins WHERE person_id BETWEEN 500 AND 504 ORDER BY person_id`)).toEqual([
      { person_id: 500, part: 'checkins_other' },
      { person_id: 501, part: 'checkins_20210301' },
      { person_id: 502, part: 'checkins_other' },
      { person_id: 503, part: 'checkins_other' },
      { person_id: 504, part: 'checkins_20210305' },
    ]);
    // The day after each day written is ready; 2021-03-02 could not be made over the scan already kept.
    const parts = await ctx.db.query<{ name: string }>(`SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'checkins'::regclass AND c.relname LIKE 'checkins_2021%' ORDER BY 1`);
    expect(parts.map((r) => r.name)).toEqual(['checkins_20210301', 'checkins_20210303', 'checkins_20210305', 'checkins_20210306']);
  });

  // PGlite: a B-tree without a free space map looks for the map's file at every page split (checkin-days.ts).
  it.runIf(engine === 'pglite')('gives the indexes of each new empty day a free space map, and leaves no row behind and a day with scans as it was', async () => {
    const maps = (day: string) =>
      ctx.db.query<{ fsm: number }>(`SELECT pg_relation_size(x.indexrelid, 'fsm')::int AS fsm FROM pg_index x WHERE x.indrelid = $1::regclass`, [`checkins_${day}`]);
    // Made by the writer above: the day written and the day after, both empty when made.
    for (const day of ['20210305', '20210306']) {
      expect((await maps(day)).map((m) => m.fsm > 0)).toEqual([true, true]);
    }
    expect(await ctx.db.query(`SELECT person_id FROM checkins_20210305 UNION ALL SELECT person_id FROM checkins_20210306`)).toEqual([{ person_id: 504 }]);
    // A day made and written before it was prepared keeps its scans, and is not vacuumed for the sake of a map.
    await ctx.db.query(`SELECT checkin_days('2021-04-01T00:00:00Z', '2021-04-01T00:00:00Z')`);
    await ctx.db.query(`INSERT INTO checkins (venue_id, person_id, scanned_at, source) VALUES (4, 700, '2021-04-01T09:00:00Z', 'import')`);
    await makeCheckinDays(ctx.db, new Date('2021-04-01T12:00:00Z'), new Date('2021-04-02T12:00:00Z'));
    expect((await maps('20210401')).map((m) => m.fsm)).toEqual([0, 0]);
    expect((await maps('20210402')).map((m) => m.fsm > 0)).toEqual([true, true]);
    expect(await ctx.db.query(`SELECT person_id, tableoid::regclass::text AS part FROM checkins WHERE scanned_at >= '2021-04-01' AND scanned_at < '2021-04-03'`)).toEqual([{ person_id: 700, part: 'checkins_20210401' }]);
  });

  // PostgreSQL: a transaction reading checkins holds the lock a new partition needs. The scan does not wait for it.
  it.runIf(engine === 'pg')('records a scan at once while a long transaction keeps its day from being made', async () => {
    const writer = new ScanWriter(ctx.db);
    let scanned: Promise<void> | null = null;
    await ctx.db.tx(async (q) => {
      await q.query('SELECT count(*) FROM checkins');
      scanned = writer.write({ venueId: 3, personId: 601, scannedAt: new Date('2021-06-01T08:00:00Z'), source: 'venueCode', deviceId: null, lat: null, lon: null, distanceM: null, far: false, admitted: true, colour: 'green' });
      await scanned;
    });
    await scanned;
    expect(await ctx.db.query(`SELECT tableoid::regclass::text AS part FROM checkins WHERE person_id = 601`)).toEqual([{ part: 'checkins_other' }]);
  });

  it('does not acknowledge a group whose write fails', async () => {
    const writer = new ScanWriter(ctx.db);
    // A scan the table refuses (person_id NOT NULL): the whole group fails, and the next group is written.
    const bad = writer.write({ venueId: 1, personId: null as unknown as number, scannedAt: new Date(), source: 'venueCode', deviceId: null, lat: null, lon: null, distanceM: null, far: false, admitted: true, colour: 'green' });
    await expect(bad).rejects.toThrow();
    await expect(writer.write({ venueId: 1, personId: 99_999, scannedAt: new Date(), source: 'venueCode', deviceId: null, lat: null, lon: null, distanceM: null, far: false, admitted: true, colour: 'green' })).resolves.toBeUndefined();
  });
});
