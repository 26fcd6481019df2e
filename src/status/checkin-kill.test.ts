// Killing the server while entrances are scanning loses no scan it acknowledged: a check-in is answered
// only after its group of scans is committed. Real processes, real check-ins over HTTP, a real kill -9.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliDatabase, runCli, startServer, type RunningServer } from '../../test/cli-harness.ts';

const ENTRANCES = 16;
const KILL_AFTER = 1_500;

describe('check-ins when the server is killed mid-way', () => {
  let where: Awaited<ReturnType<typeof cliDatabase>>;
  let server: RunningServer | undefined;
  let cookie = '';
  const persons: { id: number; code: string }[] = [];
  const venues: { id: number; code: string }[] = [];

  const get = async (path: string) => (await (await fetch(server!.url + path, { headers: { cookie } })).json()) as any;

  beforeAll(async () => {
    where = await cliDatabase();
    expect((await runCli(['city', '--persons', '2000', '--seed', '5'], where.env)).code).toBe(0);
    expect((await runCli(['user', 'gate', '--role', 'city_command'], { ...where.env, CORDON_PASSWORD: 'gate-password' })).code).toBe(0);
    server = await startServer(where.env);
    const login = await fetch(server.url + '/api/v1/auth/login', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'gate', password: 'gate-password' }) });
    cookie = (login.headers.get('set-cookie') ?? '').split(';')[0];
    for (const p of (await get('/api/v1/persons?limit=1000')).items) persons.push({ id: p.id, code: p.personalCode });
    for (const v of (await get('/api/v1/venues?limit=40')).items) venues.push({ id: v.id, code: (await get(`/api/v1/venues/${v.id}/code`)).code });
    expect(persons.length).toBe(1000);
    expect(venues.length).toBe(40);
  }, 300_000);

  afterAll(async () => {
    await server?.kill();
    await where?.remove();
  });

  it('finds every acknowledged scan in the database after a kill -9', async () => {
    // Each (person, venue) pair is scanned once, so a scan in the database names the request that made it
    // (the generated city has no scans of its own).
    const pairs = persons.flatMap((p) => venues.map((v) => ({ p, v })));
    let next = 0;
    const acknowledged: { personId: number; venueId: number }[] = [];
    let lost = 0;
    let other = 0;
    let killAt!: () => void;
    const enough = new Promise<void>((resolve) => (killAt = resolve));
    const entrance = async () => {
      while (next < pairs.length) {
        const { p, v } = pairs[next++];
        try {
          const res = await fetch(`${server!.url}/api/v1/checkins`, { method: 'POST', headers: { cookie, 'content-type': 'application/json' }, body: JSON.stringify({ venueCode: v.code, person: p.code }) });
          if (res.status === 201) {
            acknowledged.push({ personId: p.id, venueId: v.id });
            if (acknowledged.length === KILL_AFTER) killAt();
          } else other++;
          await res.arrayBuffer();
        } catch {
          // The connection died with the server: this scan was never acknowledged.
          lost++;
          return;
        }
      }
    };
    const running = Promise.all(Array.from({ length: ENTRANCES }, entrance));
    await enough;
    await server!.kill('SIGKILL');
    await running;
    server = undefined;
    expect(other).toBe(0);
    // The kill landed while scans were on their way, not after the entrances had stopped.
    expect(lost).toBeGreaterThan(0);
    expect(next).toBeLessThan(pairs.length);

    const db = await where.open();
    try {
      const rows = await db.query<{ person_id: number; venue_id: number }>('SELECT person_id, venue_id FROM checkins');
      const recorded = new Set(rows.map((r) => `${r.person_id} ${r.venue_id}`));
      const missing = acknowledged.filter((a) => !recorded.has(`${a.personId} ${a.venueId}`));
      expect(missing).toEqual([]);
      expect(acknowledged.length).toBeGreaterThanOrEqual(KILL_AFTER);
      // Scans in flight at the kill may or may not have been committed; nothing else was recorded.
      expect(rows.length).toBeGreaterThanOrEqual(acknowledged.length);
      expect(rows.length).toBeLessThanOrEqual(acknowledged.length + ENTRANCES);
    } finally {
      await db.close();
    }
  }, 300_000);
});
