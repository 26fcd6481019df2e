// Killing the server in the middle of a large result upload loses nothing it committed, and uploading
// the same file again completes it with no duplicates. Real processes, a real kill -9.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliDatabase, runCli, startServer, type RunningServer } from '../../test/cli-harness.ts';

const ROWS = 60_000;

describe('a result upload killed mid-way', () => {
  let where: Awaited<ReturnType<typeof cliDatabase>>;
  let server: RunningServer | undefined;
  let cookie = '';
  let csv = '';
  let labId = 0;

  const call = async (method: string, path: string, body?: string, type = 'application/json') => {
    const res = await fetch(server!.url + path, { method, headers: { cookie, ...(body ? { 'content-type': type } : {}) }, body });
    return { status: res.status, body: (await res.json()) as any };
  };

  beforeAll(async () => {
    where = await cliDatabase();
    expect((await runCli(['city', '--persons', '2000', '--seed', '3'], where.env)).code).toBe(0);
    expect((await runCli(['user', 'labadmin', '--role', 'city_command'], { ...where.env, CORDON_PASSWORD: 'lab-admin-password' })).code).toBe(0);
    // Small chunks: the kill lands after the first commit with most of the upload still to apply.
    server = await startServer({ ...where.env, CORDON_RESULT_CHUNK_ROWS: '500' });
    const login = await fetch(server.url + '/api/v1/auth/login', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'labadmin', password: 'lab-admin-password' }) });
    cookie = (login.headers.get('set-cookie') ?? '').split(';')[0];
    const points = await call('GET', '/api/v1/sampling-points?limit=1');
    const labs = await call('GET', '/api/v1/labs?limit=1');
    const persons = await call('GET', '/api/v1/persons?limit=1000');
    labId = labs.body.items[0].id;
    const codes: string[] = persons.body.items.map((p: { personalCode: string }) => p.personalCode);
    // ROWS single tubes, each person sampled many times, sent as a sampling device's batches.
    for (let start = 0; start < ROWS; start += 20_000) {
      const tubes = [];
      for (let i = start; i < start + 20_000; i++) tubes.push({ barcode: `K${String(i).padStart(7, "0")}`, samplingPointId: points.body.items[0].id, group: 'sealed', sampledAt: '2022-04-10T08:00:00Z', persons: [codes[i % codes.length]] });
      const r = await call('POST', '/api/v1/tubes/batch', JSON.stringify({ tubes }));
      expect(r.status).toBe(201);
    }
    const lines = ['barcode,result,ct_orf1ab,ct_n,resulted_at'];
    for (let i = 0; i < ROWS; i++) lines.push(`K${String(i).padStart(7, "0")},negative,,,2022-04-10T20:00:00+08:00`);
    csv = lines.join('\n') + '\n';
  }, 300_000);

  afterAll(async () => {
    await server?.kill();
    await where?.remove();
  });

  it('keeps the chunks committed before the kill and completes on the second upload', async () => {
    // Send the upload and kill -9 the server as soon as it reports its first committed chunk.
    const upload = fetch(`${server!.url}/api/v1/labs/${labId}/results`, { method: 'POST', headers: { cookie, 'content-type': 'text/csv' }, body: csv }).then(
      (r) => r.status,
      () => 'connection lost',
    );
    await server!.waitFor(/results applied/, 120_000);
    await server!.kill('SIGKILL');
    expect(await upload).toBe('connection lost');

    server = await startServer(where.env);
    const login = await fetch(server.url + '/api/v1/auth/login', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'labadmin', password: 'lab-admin-password' }) });
    cookie = (login.headers.get('set-cookie') ?? '').split(';')[0];
    const again = await call('POST', `/api/v1/labs/${labId}/results`, csv, 'text/csv');
    expect(again.status).toBe(200);
    // What the first attempt committed is found again as duplicates; the rest is applied now.
    expect(again.body.duplicates).toBeGreaterThan(0);
    expect(again.body.duplicates).toBeLessThan(ROWS);
    expect(again.body.applied + again.body.duplicates).toBe(ROWS);
    expect(again.body.conflicts).toBe(0);
    await server!.kill('SIGTERM');
    server = undefined;

    const db = await where.open();
    try {
      const [r] = await db.query<{ n: number; tubes: number }>("SELECT count(*)::int AS n, count(DISTINCT tube_id)::int AS tubes FROM lab_results WHERE state = 'applied'");
      expect(r).toEqual({ n: ROWS, tubes: ROWS });
    } finally {
      await db.close();
    }
  });
});
