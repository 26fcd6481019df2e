// Marking persons stale: each person once, with the time of the first mark, however often and in whatever
// company they are marked again (PGlite inserts the persons not marked yet, its transactions running one at a
// time; a server inserts ON CONFLICT).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testDb } from '../../test/harness.ts';
import type { Db } from './db.ts';
import { markStatusStale, onStatusStale } from './stale.ts';

describe('markStatusStale', () => {
  let db: Db;
  beforeAll(async () => {
    db = await testDb();
  });
  afterAll(() => db.close());

  it('keeps one mark a person, the first, when persons are marked again alone, with others, and twice in one call', async () => {
    const t1 = new Date('2022-04-10T08:00:00.123Z');
    const t2 = new Date('2022-04-10T09:00:00Z');
    const heard: number[][] = [];
    const stop = onStatusStale((ids) => heard.push(ids));
    await db.tx((q) => markStatusStale(q, [3, 1, 3], t1));
    await db.tx((q) => markStatusStale(q, [1], t2));
    await db.tx(async (q) => {
      await markStatusStale(q, [2, 1, 4, 2], t2);
      await markStatusStale(q, [4, 3], t2);
    });
    await db.tx((q) => markStatusStale(q, [], t2));
    stop();
    expect(await db.query('SELECT person_id, since FROM status_stale ORDER BY person_id')).toEqual([
      { person_id: 1, since: t1 },
      { person_id: 2, since: t2 },
      { person_id: 3, since: t1 },
      { person_id: 4, since: t2 },
    ]);
    expect(heard).toEqual([[3, 1], [1], [2, 1, 4], [4, 3]]);
  });
});
