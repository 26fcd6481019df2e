// npm run bench -- care [--persons N] [--cases 20000] [--beds 200000]
// A day of 20,000 new cases against 200,000 beds on a city of N persons (default 1,000,000): positive
// findings taken in as cases, triaged and given a bed (the server's job, as in service), and 2,000 more
// cases entered by clinicians over HTTP, 8 at a time; then the capacity picture, the transfer queue and the
// SANER bed counts. Each beside a baseline from the same run: a bare transaction per case writing the same
// tables (one bed counter UPDATE, one case INSERT, one event INSERT, no rules or look-ups), the same rows
// written set-wise (one statement a table), and one SQL aggregate over the same tables.
import { generateCity } from '../src/sim/index.ts';
import { progress } from '../src/core/progress.ts';
import { refreshStatistics } from '../src/core/maintenance.ts';
import { careUpkeep, capacityPicture, facilityBeds, transferQueue } from '../src/cases/index.ts';
import { benchContext, benchEngines, benchServer, loadBenchCity, numberArg, rateLine, timed, timeLine } from './lib.ts';
import { DAY_MS } from '../src/core/days.ts';

export default async function run(args: string[]): Promise<void> {
  const persons = numberArg(args, '--persons', 1_000_000);
  const cases = numberArg(args, '--cases', 20_000);
  const beds = numberArg(args, '--beds', 200_000);
  const clinician = Math.min(2_000, Math.floor(cases / 10));
  const city = generateCity({ persons, seed: 1 });
  for (const engine of await benchEngines()) {
    const db = await engine.open();
    const now = new Date('2022-04-12T00:00:00Z');
    const ctx = benchContext(db, now);
    try {
      await loadBenchCity(engine.name, ctx, city);
      // Beds as in Shanghai's April: mostly shelter beds, some hospital beds, few ICU (rules.md, scale figures).
      const share = { shelterHospital: 0.85, designatedHospital: 0.135, icu: 0.015 };
      await db.query(
        `WITH t AS (SELECT kind, sum(beds_general)::float AS g, sum(beds_icu)::float AS i FROM facilities GROUP BY kind)
         UPDATE facilities f SET beds_general = ceil(f.beds_general / t.g * $1 * CASE f.kind WHEN 'shelterHospital' THEN $2::float ELSE $3::float END)::int,
                                 beds_icu = CASE WHEN t.i > 0 THEN ceil(f.beds_icu / t.i * $1 * $4::float)::int ELSE 0 END
           FROM t WHERE t.kind = f.kind AND f.kind IN ('shelterHospital', 'designatedHospital')`,
        [beds, share.shelterHospital, share.designatedHospital, share.icu],
      );
      const [total] = await db.query<{ g: number; i: number; n: number }>("SELECT sum(beds_general)::int AS g, sum(beds_icu)::int AS i, count(*)::int AS n FROM facilities WHERE kind <> 'quarantineSite'");
      process.stdout.write(`${engine.name}: ${total.n} hospitals and shelters, ${total.g.toLocaleString('en')} general beds, ${total.i.toLocaleString('en')} ICU beds\n`);
      // The day's positives: persons spread over the city (a multiplicative hash of the id), found through
      // the day. The trigger fills the cases' inbox as testing would.
      const ids = (await db.query<{ id: number }>('SELECT id FROM persons ORDER BY (id::bigint * 2654435761) % 4294967296 LIMIT $1', [cases + clinician])).map((r) => r.id);
      await db.query(
        `INSERT INTO positive_findings (person_id, tube_id, result_id, sampled_at, resulted_at, reason, preset)
         SELECT p, 900000000 + n, 900000000 + n, $2::timestamptz - interval '1 day' + n * interval '1 second', $2::timestamptz - interval '1 day' + interval '12 hours' + n * interval '1 second', 'bench', 'bench'
           FROM unnest($1::int[]) WITH ORDINALITY AS u(p, n)`,
        [ids.slice(0, cases), now],
      );
      if (db.engine === 'pglite') await refreshStatistics(db);
      else await db.exec('ANALYZE');

      let bar = progress(`${engine.name}: ${cases.toLocaleString('en')} findings to cases and beds`, cases);
      const intake = await timed(() => careUpkeep(db, ctx.preset, now, 1000, (n) => bar.update(n)));
      bar.done(`${intake.value.opened.toLocaleString('en')} cases, ${intake.value.waiting} waiting for a bed`);

      // Clinicians' cases over HTTP, 8 requests in flight.
      const server = await benchServer(ctx);
      const { url, cookie } = server;
      const rest = ids.slice(cases);
      bar = progress(`${engine.name}: ${rest.length.toLocaleString('en')} clinicians' cases over HTTP`, rest.length);
      let next = 0;
      const http = await timed(() =>
        Promise.all(
          [...Array(8)].map(async () => {
            while (next < rest.length) {
              const personId = rest[next++];
              const r = await fetch(url + '/api/v1/care/cases', { method: 'POST', headers: { cookie, 'content-type': 'application/json' }, body: JSON.stringify({ personId, classification: 'asymptomatic', sampledAt: new Date(now.getTime() - DAY_MS).toISOString() }) });
              if (r.status !== 201) throw new Error(`case for ${personId}: ${r.status} ${await r.text()}`);
              bar.update(next);
            }
          }),
        ),
      );
      bar.done();

      // The baseline: the same writes per case, bare, into twins of the tables.
      await db.exec(`CREATE TABLE raw_facilities (LIKE facilities INCLUDING ALL); INSERT INTO raw_facilities SELECT * FROM facilities; UPDATE raw_facilities SET occupied_general = 0, occupied_icu = 0;
                     CREATE TABLE raw_cases (LIKE cases INCLUDING ALL); CREATE TABLE raw_case_events (LIKE case_events INCLUDING ALL);`);
      const shelters = (await db.query<{ id: number; beds: number }>("SELECT id, beds_general AS beds FROM raw_facilities WHERE kind = 'shelterHospital' ORDER BY id")).map((r) => ({ id: r.id, free: r.beds }));
      bar = progress(`${engine.name}: baseline, bare writes per case`, cases);
      const raw = await timed(async () => {
        let f = 0;
        for (let i = 0; i < cases; i++) {
          while (shelters[f].free === 0) f++;
          shelters[f].free--;
          await db.tx(async (q) => {
            await q.query('UPDATE raw_facilities SET occupied_general = occupied_general + 1 WHERE id = $1 AND beds_general > occupied_general RETURNING id', [shelters[f].id]);
            const [c] = await q.query<{ id: number }>(
              `INSERT INTO raw_cases (person_id, classification, source, sampled_at, reported_at, destination, triage, state, facility_id, bed_type, created_by, created_at, updated_at)
               VALUES ($1, 'confirmed', 'finding', $2, $2, 'shelterHospital', '{}', 'assigned', $3, 'general', 'bench', $2, $2) RETURNING id`,
              [ids[i], now, shelters[f].id],
            );
            await q.query("INSERT INTO raw_case_events (case_id, kind, at, facility_id, bed_type, recorded_by) VALUES ($1, 'bedTaken', $2, $3, 'general', 'bench')", [c.id, now, shelters[f].id]);
          });
          if (i % 1000 === 0) bar.update(i);
        }
      });
      bar.done();
      // And the same rows written set-wise, one statement a table: the database's own speed for them.
      await db.exec('TRUNCATE raw_cases, raw_case_events; UPDATE raw_facilities SET occupied_general = 0');
      const rawBulk = await timed(() =>
        db.tx(async (q) => {
          await q.query(
            `INSERT INTO raw_cases (person_id, classification, source, sampled_at, reported_at, destination, triage, state, facility_id, bed_type, created_by, created_at, updated_at)
             SELECT p, 'confirmed', 'finding', $2, $2, 'shelterHospital', '{}', 'assigned', $3, 'general', 'bench', $2, $2 FROM unnest($1::int[]) AS p`,
            [ids.slice(0, cases), now, shelters[0].id],
          );
          await q.query("INSERT INTO raw_case_events (case_id, kind, at, facility_id, bed_type, recorded_by) SELECT id, 'bedTaken', $1, facility_id, 'general', 'bench' FROM raw_cases", [now]);
          await q.query('UPDATE raw_facilities SET occupied_general = occupied_general + $2 WHERE id = $1', [shelters[0].id, 0]);
        }),
      );
      await db.exec('DROP TABLE raw_facilities; DROP TABLE raw_cases; DROP TABLE raw_case_events');

      const picture = await timed(() => capacityPicture(db, ctx.preset, now, null));
      const queue = await timed(() => transferQueue(db, { districtId: null, streetId: null, facilityId: null }, now));
      const saner = await timed(() => facilityBeds(db, null));
      const overHttp = await timed(async () => (await fetch(url + '/api/v1/care/capacity', { headers: { cookie } })).json());
      const aggregate = await timed(() =>
        db.query(
          `SELECT f.kind, count(*) FILTER (WHERE e.kind = 'bedTaken') AS taken, count(*) FILTER (WHERE e.kind = 'bedReleased') AS released, sum(f.beds_general) AS beds
             FROM case_events e JOIN facilities f ON f.id = e.facility_id GROUP BY f.kind`,
        ),
      );
      await server.close();
      const shelterNow = picture.value.kinds.find((k) => k.kind === 'shelterHospital')!;
      process.stdout.write(`${engine.name}: shelters ${shelterNow.occupied.toLocaleString('en')} of ${shelterNow.total.toLocaleString('en')} beds, ${shelterNow.admissionsPerDay} admissions a day, ${shelterNow.daysLeft} days left; queue ${queue.value.total}\n`);

      rateLine(engine.name, 'cases triaged and given a bed (findings, server job)', intake.value.opened, intake.seconds, 'bare writes per case (UPDATE bed, INSERT case, INSERT event)', cases, raw.seconds);
      rateLine(engine.name, 'cases triaged and given a bed (findings, server job)', intake.value.opened, intake.seconds, 'the same rows written set-wise (one statement a table)', cases, rawBulk.seconds);
      rateLine(engine.name, `clinicians' cases over HTTP (8 in flight)`, rest.length, http.seconds, 'bare writes per case', cases, raw.seconds);
      timeLine(engine.name, 'capacity picture (beds by kind and district, 14 days)', picture.seconds, 'one SQL aggregate over case_events and facilities', aggregate.seconds);
      timeLine(engine.name, 'capacity picture over HTTP', overHttp.seconds, 'one SQL aggregate', aggregate.seconds);
      timeLine(engine.name, `transfer queue (${queue.value.total} waiting)`, queue.seconds, 'one SQL aggregate', aggregate.seconds);
      timeLine(engine.name, `SANER bed counts (${saner.value.length} facilities)`, saner.seconds, 'one SQL aggregate', aggregate.seconds);
    } finally {
      await db.dispose();
    }
  }
}
