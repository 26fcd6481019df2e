// npm run bench -- testing [--persons N]
// One screening round for a city of N persons (default 1,000,000) in tubes of 10: samples registered through
// the HTTP API (device batches), results applied from one lab CSV upload, and the full coverage report,
// each beside a baseline from the same run (raw COPY of the same rows; the bare SQL anti-join of expected
// persons and samples, which is what coverage would cost without its incremental mark); and the once-a-minute
// jobs that read the round's tubes, beside a read of every tube with its result (what they did before).
import { generateCity } from '../src/sim/index.ts';
import { buildApp, startJobs } from '../src/server.ts';
import { createUser } from '../src/core/users.ts';
import { progress, type Progress } from '../src/core/progress.ts';
import { refreshStats, raiseCommandAlerts } from '../src/command/index.ts';
import { DAY_MS } from '../src/core/days.ts';
import { benchContext, benchEngines, loadBenchCity, numberArg, rateLine, timed, timeLine } from './lib.ts';

export default async function run(args: string[]): Promise<void> {
  const persons = numberArg(args, '--persons', 1_000_000);
  const city = generateCity({ persons, seed: 1 });
  for (const engine of await benchEngines()) {
    const db = await engine.open();
    try {
      const ctx = benchContext(db);
      await loadBenchCity(engine.name, ctx, city);
      let bar: Progress;
      await db.tx((q) => createUser(q, { username: 'bench', password: 'bench-password', role: 'city_command' }, new Date()));
      const app = await buildApp(ctx);
      // The server's background jobs run as they would in service (on PGlite, its statistics upkeep).
      // Runs of a job over a second, with when they ended: on PGlite every request waits for them.
      const longJobs: string[] = [];
      const benchStart = performance.now();
      const stopJobs = startJobs(ctx, (m) => longJobs.push(`${m} (ended ${((performance.now() - benchStart) / 1000).toFixed(1)} s into the round)`));
      await app.listen({ port: 0, host: '127.0.0.1' });
      const addr = app.server.address();
      const url = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
      const login = await fetch(url + '/api/v1/auth/login', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'bench', password: 'bench-password' }) });
      const cookie = (login.headers.get('set-cookie') ?? '').split(';')[0];
      const post = async (path: string, body: string, type = 'application/json') => {
        const r = await fetch(url + path, { method: 'POST', headers: { cookie, 'content-type': type }, body });
        if (r.status >= 300) throw new Error(`${path}: ${r.status} ${(await r.text()).slice(0, 500)}`);
        return r.json() as Promise<any>;
      };

      const campaign = await post('/api/v1/campaigns', JSON.stringify({ name: 'bench round', areaLevel: 'city', startsAt: '2022-04-10T00:00:00Z', endsAt: '2022-04-11T00:00:00Z', defaultGroup: 'controlled' }));
      const [{ id: pointId }] = await db.query<{ id: number }>('SELECT id FROM sampling_points ORDER BY id LIMIT 1');
      const [{ id: labId }] = await db.query<{ id: number }>('SELECT id FROM labs ORDER BY id LIMIT 1');
      // Every 20th household is not sampled, so coverage has door-to-door work to list.
      const codes = (await db.query<{ c: string }>('SELECT personal_code AS c FROM persons WHERE coalesce(household_id, id) % 20 <> 7 ORDER BY household_id, id')).map((r) => r.c);

      // Sampling: tubes of 10 sent as devices' batches of 1,000 tubes.
      bar = progress(`${engine.name}: registering samples`, codes.length);
      const tubes: string[] = [];
      const phase: string[] = [];
      const mark = (name: string) => phase.push(`${name} at ${((performance.now() - benchStart) / 1000).toFixed(1)} s`);
      mark('sampling started');
      const sampling = await timed(async () => {
        for (let i = 0; i < codes.length; i += 10_000) {
          const batch = [];
          for (let j = i; j < Math.min(codes.length, i + 10_000); j += 10) {
            const barcode = `B${String(j / 10).padStart(8, '0')}`;
            tubes.push(barcode);
            batch.push({ barcode, samplingPointId: pointId, campaignId: campaign.id, group: 'controlled', sampledAt: '2022-04-10T09:00:00Z', persons: codes.slice(j, j + 10) });
          }
          await post('/api/v1/tubes/batch', JSON.stringify({ tubes: batch }));
          bar.update(Math.min(codes.length, i + 10_000));
        }
      });
      bar.done();
      const sampleRaw = await rawCopy(db, 'samples', 'tube_id, person_id, sampled_at, campaign_id, sampling_point_id, repeat_in_round');

      // Results: one CSV upload, one positive pool in a thousand.
      const lines = ['barcode,result,ct_orf1ab,ct_n,resulted_at'];
      tubes.forEach((b, i) => lines.push(i % 1000 === 1 ? `${b},positive,30.1,31.4,2022-04-10T20:00:00+08:00` : `${b},negative,,,2022-04-10T20:00:00+08:00`));
      const csv = lines.join('\n') + '\n';
      bar = progress(`${engine.name}: applying ${tubes.length.toLocaleString('en')} results`);
      mark('upload started');
      const results = await timed(() => post(`/api/v1/labs/${labId}/results`, csv, 'text/csv'));
      mark('upload done');
      bar.done(`applied ${results.value.applied}, positives ${results.value.positives}, pool controls ${results.value.poolControls}`);
      const resultRaw = await rawCopy(db, 'lab_results', 'tube_id, lab_id, result, ct_orf1ab, ct_n, resulted_at, verdict, state, upload_id, received_at');

      // Coverage: the whole list of who has not been sampled, as the CSV a street office downloads.
      mark('coverage asked');
      const coverage = await timed(async () => {
        const r = await fetch(`${url}/api/v1/campaigns/${campaign.id}/coverage?format=csv`, { headers: { cookie } });
        return (await r.text()).split('\n').length - 2;
      });
      mark('coverage done');
      const antiJoin = await timed(() => db.query(`SELECT count(*) FROM campaign_expected e WHERE e.campaign_id = $1 AND NOT EXISTS (SELECT 1 FROM samples s WHERE s.campaign_id = $1 AND s.person_id = e.person_id)`, [campaign.id]));

      // The once-a-minute jobs that read the round's tubes, the daily figures and the early warning (their
      // second run: the first builds every day), beside the read they did before tube counts were kept:
      // every tube of the last two days with the result it has in force.
      const jobsNow = ctx.clock.now();
      await refreshStats(db, ctx.preset, jobsNow);
      const jobs = await timed(async () => {
        await refreshStats(db, ctx.preset, jobsNow);
        await raiseCommandAlerts(db, ctx.preset, jobsNow);
      });
      const everyTube = await timed(() => db.query(
        `SELECT count(*), count(r.verdict) FROM tubes t LEFT JOIN LATERAL (SELECT verdict FROM lab_results lr WHERE lr.tube_id = t.id AND lr.state = 'applied' LIMIT 1) r ON true WHERE t.opened_at >= $1`,
        [new Date(jobsNow.getTime() - 2 * DAY_MS)],
      ));

      rateLine(engine.name, 'samples registered (HTTP batches)', codes.length, sampling.seconds, 'raw COPY of the same rows', sampleRaw.rows, sampleRaw.seconds);
      rateLine(engine.name, 'results applied (CSV upload)', tubes.length, results.seconds, 'raw COPY of the same rows', resultRaw.rows, resultRaw.seconds, '>= 0.5');
      timeLine(engine.name, `coverage report (${coverage.value.toLocaleString('en')} of ${campaign.expected.toLocaleString('en')} missing, CSV over HTTP)`, coverage.seconds, 'bare SQL anti-join count', antiJoin.seconds, '< 2000 ms');
      timeLine(engine.name, 'daily figures and early warning after the round (one run each)', jobs.seconds, 'the round\'s tubes read with their results', everyTube.seconds);
      process.stdout.write(`${engine.name.padEnd(7)} ${phase.join(', ')}; jobs over 1 s: ${longJobs.length ? longJobs.join('; ') : 'none'}\n`);
      stopJobs();
      await app.close();
    } finally {
      await db.dispose();
    }
  }
}

/** The baseline: COPY the rows of `table` as they are now into an empty twin with the same indexes. */
async function rawCopy(db: Awaited<ReturnType<Awaited<ReturnType<typeof benchEngines>>[number]['open']>>, table: string, columns: string): Promise<{ rows: number; seconds: number }> {
  const rows = await db.query<Record<string, unknown>>(`SELECT ${columns} FROM ${table}`);
  const cols = columns.split(',').map((c) => c.trim());
  const text = rows.map((r) => cols.map((c) => (r[c] === null ? '' : r[c] instanceof Date ? (r[c] as Date).toISOString() : String(r[c]))).join(',')).join('\n') + '\n';
  await db.exec(`CREATE TABLE raw_${table} (LIKE ${table} INCLUDING ALL)`);
  const t = await timed(() => db.copyCsv(`raw_${table}`, cols, [text]));
  await db.exec(`DROP TABLE raw_${table}`);
  return { rows: rows.length, seconds: t.seconds };
}
