// npm run bench -- command [--cases 1000000] [--contacts 5000000] [--days 60]
// The dashboard of a city with 1,000,000 cases and 5,000,000 contacts over 60 days (16 districts): the time
// to open its data (city-wide and for one district, in process and over HTTP), beside one SQL count over
// the same tables in the same run. Also the daily figures' first full build and their minute-by-minute
// refresh, which is what keeps the dashboard's reads small.
import { progress } from '../src/core/progress.ts';
import { refreshStatistics } from '../src/core/maintenance.ts';
import { dashboardData, refreshStats } from '../src/command/index.ts';
import { benchContext, benchEngines, benchServer, numberArg, timed, timeLine } from './lib.ts';
import { DAY_MS } from '../src/core/days.ts';

export default async function run(args: string[]): Promise<void> {
  const cases = numberArg(args, '--cases', 1_000_000);
  const contacts = numberArg(args, '--contacts', 5_000_000);
  const days = numberArg(args, '--days', 60);
  for (const engine of await benchEngines()) {
    const db = await engine.open();
    const now = new Date(Date.parse('2022-03-01T04:00:00Z') + days * DAY_MS);
    const ctx = benchContext(db, now);
    try {
      const start = new Date(now.getTime() - days * DAY_MS);
      await db.exec(`INSERT INTO districts (id, code, name, population) SELECT g, 'D' || g, '区' || g, 1500000 FROM generate_series(1, 16) g;
                     INSERT INTO streets (id, code, district_id, name) SELECT g, 'S' || g, 1 + g % 16, '街道' || g FROM generate_series(1, 160) g;
                     INSERT INTO compounds (id, code, street_id, district_id, name) SELECT g, 'C' || g, 1 + g % 160, 1 + (g % 160) % 16, '小区' || g FROM generate_series(1, 20000) g;
                     INSERT INTO facilities (code, name, kind, district_id, lon, lat, beds_general, beds_icu) SELECT 'F' || g, 'F' || g, CASE WHEN g % 4 = 0 THEN 'designatedHospital' ELSE 'shelterHospital' END, 1 + g % 16, 121.4, 31.2, 10000, 100 FROM generate_series(1, 64) g;`);
      // An epidemic curve that rises and falls (a bell over the days), spread over the districts.
      let bar = progress(`${engine.name}: ${cases.toLocaleString('en')} cases over ${days} days`, cases);
      for (let done = 0; done < cases; done += 250_000) {
        const n = Math.min(250_000, cases - done);
        await db.query(
          `INSERT INTO cases (person_id, classification, source, sampled_at, reported_at, district_id, street_id, compound_id, severity, destination, triage, state, created_by, created_at, updated_at)
           SELECT $1 + g, CASE WHEN g % 3 = 0 THEN 'asymptomatic' ELSE 'confirmed' END, 'finding', t - interval '12 hours', t, 1 + (g % 20000 % 160) % 16, 1 + g % 20000 % 160, 1 + g % 20000,
                  'mild', 'shelterHospital', '{}', CASE WHEN t < $3::timestamptz - interval '10 days' THEN 'discharged' ELSE 'admitted' END, 'bench', t, t
             FROM (SELECT g, $2::timestamptz + (0.5 + (random() + random() + random() + random() - 2) / 4) * ($3::timestamptz - $2::timestamptz) AS t FROM generate_series(1, $4) g) x`,
          [done, start, now, n],
        );
        bar.update(done + n);
      }
      bar.done();
      bar = progress(`${engine.name}: ${contacts.toLocaleString('en')} contacts`, contacts);
      for (let done = 0; done < contacts; done += 500_000) {
        const n = Math.min(500_000, contacts - done);
        await db.query(
          `INSERT INTO contacts (person_id, level, first_exposure_at, last_exposure_at, found_at, updated_at)
           SELECT $1 + g + 10000000, CASE WHEN g % 4 = 0 THEN 'secondary' ELSE 'close' END, t - interval '1 day', t - interval '1 day', t, t
             FROM (SELECT g, $2::timestamptz + (0.5 + (random() + random() + random() + random() - 2) / 4) * ($3::timestamptz - $2::timestamptz) AS t FROM generate_series(1, $4) g) x`,
          [done, start, now, n],
        );
        bar.update(done + n);
      }
      bar.done();
      bar = progress(`${engine.name}: statistics`);
      if (db.engine === 'pg') await db.exec('ANALYZE');
      else await refreshStatistics(db);
      bar.done();

      bar = progress(`${engine.name}: daily figures, first full build`);
      const full = await timed(() => refreshStats(db, ctx.preset, now));
      bar.done(`${full.value.rows.toLocaleString('en')} rows from ${full.value.fromDay}`);
      const refresh = await timed(() => refreshStats(db, ctx.preset, now));

      const opens = async (districtId: number | null) => {
        const times: number[] = [];
        for (let i = 0; i < 21; i++) times.push((await timed(() => dashboardData(db, ctx.preset, now, { districtId, days: 30 }))).seconds);
        return times.sort((a, b) => a - b)[10];
      };
      const city = await opens(null);
      const district = await opens(3);
      const server = await benchServer(ctx);
      const { url, cookie } = server;
      const httpTimes: number[] = [];
      let curveTotal = 0;
      for (let i = 0; i < 21; i++) {
        const t = await timed(async () => (await fetch(url + '/api/v1/command/dashboard', { headers: { cookie } })).json() as Promise<{ curve: { total: number[] } }>);
        curveTotal = t.value.curve.total.reduce((a, b) => a + b, 0);
        httpTimes.push(t.seconds);
      }
      await server.close();
      const counts = await timed(() => db.query('SELECT (SELECT count(*) FROM cases) AS cases, (SELECT count(*) FROM contacts) AS contacts'));
      process.stdout.write(`${engine.name}: the dashboard's last 30 days hold ${curveTotal.toLocaleString('en')} of the ${cases.toLocaleString('en')} cases\n`);
      timeLine(engine.name, 'dashboard data, city (median of 21)', city, 'one SQL count over cases and contacts', counts.seconds, '< 200 ms');
      timeLine(engine.name, 'dashboard data, one district (median of 21)', district, 'one SQL count over cases and contacts', counts.seconds, '< 200 ms');
      timeLine(engine.name, 'dashboard over HTTP (median of 21)', httpTimes.sort((a, b) => a - b)[10], 'one SQL count over cases and contacts', counts.seconds, '< 200 ms');
      timeLine(engine.name, 'daily figures, first full build', full.seconds, 'one SQL count over cases and contacts', counts.seconds);
      timeLine(engine.name, 'daily figures, the job each minute (last two days)', refresh.seconds, 'one SQL count over cases and contacts', counts.seconds);
    } finally {
      await db.dispose();
    }
  }
}
