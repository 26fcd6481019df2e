// Venue scans are kept entry.scanRetentionDays days before today (UTC) and no longer: older days' partitions
// are dropped whole, older scans in checkins_other deleted, each removal audited; newer scans stay exactly as
// they were. A preset that would remove scans tracing still reads is refused.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { engine, testContext, type TestContext } from '../../test/harness.ts';
import { loadPreset } from '../core/presets.ts';
import { ScanWriter, type ScanRow } from './checkpoints.ts';
import { removeExpiredScans, scansKeptFrom } from './retention.ts';
import { verifyAudit } from '../core/audit.ts';

describe('scan retention', () => {
  let ctx: TestContext;
  beforeAll(async () => {
    ctx = await testContext();
  });
  afterAll(async () => {
    await ctx.close();
  });

  const scan = (personId: number, at: string): ScanRow => ({ venueId: 1, personId, scannedAt: new Date(at), source: 'venueCode', deviceId: null, lat: null, lon: null, distanceM: null, far: false, admitted: true, colour: 'green' });
  const partitions = async () =>
    (await ctx.db.query<{ name: string }>("SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'checkins'::regclass ORDER BY 1")).map((r) => r.name);
  const persons = async () => (await ctx.db.query<{ person_id: number }>('SELECT person_id FROM checkins ORDER BY person_id')).map((r) => r.person_id);

  it('keeps today and the preset days before it, and removes the days before those, once', async () => {
    const preset = { ...ctx.preset, entry: { ...ctx.preset.entry, scanRetentionDays: 28 } };
    const now = new Date('2022-05-30T10:00:00Z');
    expect(scansKeptFrom(now, preset).toISOString()).toBe('2022-05-02T00:00:00.000Z');
    // A scan of a day with no partition lands in checkins_other (migrations/017): one old, one kept.
    await ctx.db.query("INSERT INTO checkins (venue_id, person_id, scanned_at, source) VALUES (1, 1, '2022-03-01T08:00:00Z', 'venueCode'), (1, 2, '2022-05-20T08:00:00Z', 'venueCode')");
    const writer = new ScanWriter(ctx.db);
    await Promise.all([
      writer.write(scan(10, '2022-04-20T12:00:00Z')),
      writer.write(scan(11, '2022-05-01T23:59:59.999Z')),
      writer.write(scan(12, '2022-05-01T00:00:00Z')),
      writer.write(scan(13, '2022-05-02T00:00:00Z')),
      writer.write(scan(14, '2022-05-30T09:00:00Z')),
    ]);
    expect(await partitions()).toEqual(['checkins_20220420', 'checkins_20220421', 'checkins_20220501', 'checkins_20220502', 'checkins_20220503', 'checkins_20220530', 'checkins_20220531', 'checkins_other']);

    expect(await removeExpiredScans(ctx.db, preset, now)).toEqual([
      { day: '2022-04-20', scans: 1 },
      { day: '2022-04-21', scans: 0 },
      { day: '2022-05-01', scans: 2 },
      { day: 'before 2022-05-02', scans: 1 },
    ]);
    expect(await partitions()).toEqual(['checkins_20220502', 'checkins_20220503', 'checkins_20220530', 'checkins_20220531', 'checkins_other']);
    expect(await persons()).toEqual([2, 13, 14]);
    const audit = await ctx.db.query<{ actor: string; action: string; entity: string; entity_id: string; detail: Record<string, unknown> }>(
      "SELECT actor, action, entity, entity_id, detail FROM audit_log WHERE entity = 'checkins' ORDER BY id",
    );
    expect(audit).toEqual([
      ...[['2022-04-20', 1], ['2022-04-21', 0], ['2022-05-01', 2]].map(([day, scans]) => ({ actor: 'system', action: 'delete', entity: 'checkins', entity_id: day, detail: { keptFrom: '2022-05-02', retentionDays: 28, preset: expect.stringMatching(/@\d+$/), scans } })),
      { actor: 'system', action: 'delete', entity: 'checkins', entity_id: 'before 2022-05-02', detail: { keptFrom: '2022-05-02', retentionDays: 28, preset: expect.stringMatching(/@\d+$/), scans: 1, from: 'checkins_other' } },
    ]);
    expect((await verifyAudit(ctx.db)).ok).toBe(true);

    // Nothing more to remove the same day; the next day takes one more day's partition.
    expect(await removeExpiredScans(ctx.db, preset, new Date('2022-05-30T23:00:00Z'))).toEqual([]);
    expect(await removeExpiredScans(ctx.db, preset, new Date('2022-05-31T01:00:00Z'))).toEqual([{ day: '2022-05-02', scans: 1 }]);
    expect(await persons()).toEqual([2, 14]);
    // The writer still records today's scans.
    await writer.write(scan(15, '2022-05-31T01:00:00Z'));
    expect(await persons()).toEqual([2, 14, 15]);
  });

  it.skipIf(engine !== 'pg')('leaves a day that a running transaction reads, and the days after it, for the next run', async () => {
    const preset = { ...ctx.preset, entry: { ...ctx.preset.entry, scanRetentionDays: 28 } };
    await ctx.db.query('DELETE FROM checkins');
    const writer = new ScanWriter(ctx.db);
    await Promise.all([writer.write(scan(20, '2022-06-01T08:00:00Z')), writer.write(scan(21, '2022-06-03T08:00:00Z'))]);
    let release!: () => void;
    let reading!: () => void;
    const read = new Promise<void>((resolve) => (reading = resolve));
    const reader = ctx.db.tx(async (q) => {
      await q.query('SELECT count(*) FROM checkins_20220601');
      reading();
      await new Promise<void>((resolve) => (release = resolve));
    });
    await read;
    const now = new Date('2022-07-10T12:00:00Z');
    try {
      // Days left by the first test (its partitions), then this one's.
      expect(await removeExpiredScans(ctx.db, preset, now)).toEqual([
        { day: '2022-05-03', scans: 0 },
        { day: '2022-05-30', scans: 0 },
        { day: '2022-05-31', scans: 0 },
      ]);
    } finally {
      release();
      await reader;
    }
    expect(await removeExpiredScans(ctx.db, preset, now)).toEqual([
      { day: '2022-06-01', scans: 1 },
      { day: '2022-06-02', scans: 0 },
      { day: '2022-06-03', scans: 1 },
      { day: '2022-06-04', scans: 0 },
    ]);
    expect(await ctx.db.query('SELECT person_id FROM checkins')).toEqual([]);
  });

  it('refuses a preset that would remove scans before tracing has read them', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'cordon-preset-'));
    const file = path.join(dir, 'short.json');
    const p = loadPreset('shanghai-2022-05');
    writeFileSync(file, JSON.stringify({ ...p, entry: { ...p.entry, scanRetentionDays: p.contacts.colocationLookBackDays - 1 } }));
    expect(() => loadPreset(file)).toThrow(`entry.scanRetentionDays (${p.contacts.colocationLookBackDays - 1}) must be at least contacts.colocationLookBackDays (${p.contacts.colocationLookBackDays})`);
    writeFileSync(file, JSON.stringify({ ...p, entry: { ...p.entry, scanRetentionDays: p.contacts.colocationLookBackDays } }));
    expect(loadPreset(file).entry.scanRetentionDays).toBe(p.contacts.colocationLookBackDays);
  });
});
