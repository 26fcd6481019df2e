// The cordon command. Long jobs show progress on stderr; data and reports go to stdout.
import { Command, Option } from 'commander';
import { createReadStream, readFileSync, statSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Transform } from 'node:stream';
import { loadConfig } from './core/config.ts';
import { openPlatform } from './core/platform.ts';
import { verifyAudit } from './core/audit.ts';
import { createUser } from './core/users.ts';
import { ROLES, type Role } from './core/auth.ts';
import { progress } from './core/progress.ts';
import { presetLabel } from './core/presets.ts';
import { ENTITIES, importCsv, type EntityName } from './registry/index.ts';
import { generateCity, loadCity, writeCityCsv } from './sim/index.ts';
import { seedDemo } from './sim/demo.ts';
import { seedOutbreak } from './sim/outbreak.ts';
import { buildApp, startJobs } from './server.ts';
import { estimateR, formatRtCsv, parseIncidenceCsv } from './command/index.ts';

const program = new Command();
program.name('cordon').description('Outbreak-response command platform for a city').showHelpAfterError();

const fail = (message: string): never => {
  process.stderr.write(`cordon: ${message}\n`);
  process.exit(2);
};
const positiveInt = (name: string) => (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) fail(`${name} must be a whole number, not "${v}"`);
  return n;
};

program
  .command('serve')
  .description('Run the platform (embedded database unless DATABASE_URL is set)')
  .option('--demo', 'load a demo city and demo users when the database is empty')
  .addOption(new Option('--demo-persons <n>', 'size of the demo city').default(100_000).argParser(positiveInt('--demo-persons')))
  .action(async (opts: { demo?: boolean; demoPersons: number }) => {
    const started = Date.now();
    const config = loadConfig();
    const ctx = await openPlatform(config);
    const where = config.databaseUrl ? 'PostgreSQL server (DATABASE_URL)' : `embedded PGlite in ${config.dataDir}`;
    process.stderr.write(`cordon: database ${where}; preset ${presetLabel(ctx.preset)}${ctx.migrated.length ? `; applied ${ctx.migrated.join(', ')}` : ''}\n`);
    let freshDemo = false;
    if (opts.demo) {
      const [{ n }] = await ctx.db.query<{ n: number }>('SELECT count(*)::int AS n FROM districts');
      if (n === 0) {
        freshDemo = true;
        process.stderr.write(`cordon: empty database, loading a demo city of ${opts.demoPersons.toLocaleString('en')} persons\n`);
        let bar: ReturnType<typeof progress> | undefined;
        let current = '';
        const users = await seedDemo(ctx, {
          persons: opts.demoPersons,
          seed: 1,
          onProgress: (entity: string, rows: number) => {
            if (entity !== current) {
              bar?.done();
              current = entity;
              bar = progress(`  ${entity}`);
            }
            bar?.update(rows);
          },
        });
        bar?.done();
        process.stderr.write('cordon: demo users (password for all: cordon-demo)\n');
        for (const u of users) process.stderr.write(`  ${u.username.padEnd(10)} ${u.role.padEnd(17)} ${u.jurisdiction}\n`);
      } else {
        const users = await ctx.db.query<{ username: string; role: string }>("SELECT username, role FROM users ORDER BY id LIMIT 20");
        if (users.length) process.stderr.write(`cordon: users: ${users.map((u) => `${u.username} (${u.role})`).join(', ')}\n`);
      }
    }
    const app = await buildApp(ctx, { logger: { level: config.logLevel === 'info' ? 'warn' : config.logLevel } });
    let stopJobs = () => {};
    const shutdown = async () => {
      stopJobs();
      await app.close();
      await ctx.db.close();
      process.exit(0);
    };
    process.on('SIGINT', shutdown);
    process.on('SIGTERM', shutdown);
    await app.listen({ port: config.port, host: config.host });
    const shown = config.host === '0.0.0.0' ? '127.0.0.1' : config.host;
    process.stdout.write(`cordon is running at http://${shown}:${config.port}/ (API docs at /api/docs; ready in ${((Date.now() - started) / 1000).toFixed(1)} s)\n`);
    if (freshDemo) {
      // The demo outbreak of the last three weeks is recorded through the platform's own paths while the
      // server already answers; the background jobs start once it is in, so that they do not stamp its
      // facts with today's time.
      const t0 = Date.now();
      const r = await seedOutbreak(ctx, { onDay: (d, days, cases) => process.stderr.write(`cordon: demo outbreak, day ${d} of ${days}: ${cases} cases so far\n`) });
      process.stderr.write(`cordon: demo outbreak recorded (${r.cases} cases, ${r.tubes} tubes) in ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);
    }
    stopJobs = startJobs(ctx, (m, level) => app.log[level](m));
  });

program
  .command('migrate')
  .description('Apply pending database migrations')
  .action(async () => {
    const ctx = await openPlatform(loadConfig());
    process.stdout.write(ctx.migrated.length ? `applied ${ctx.migrated.join(', ')}\n` : 'database is up to date\n');
    await ctx.db.close();
  });

program
  .command('city')
  .description('Build a deterministic synthetic city: load it into the database, or write CSV files with --out')
  .requiredOption('--persons <n>', 'number of persons', positiveInt('--persons'))
  .option('--seed <s>', 'random seed (same seed, same city)', positiveInt('--seed'), 1)
  .option('--out <dir>', 'write one CSV file per entity into this folder instead of loading')
  .action(async (opts: { persons: number; seed: number; out?: string }) => {
    const city = generateCity({ persons: opts.persons, seed: opts.seed });
    const bars = new Map<string, ReturnType<typeof progress>>();
    const onProgress = (entity: string, rows: number) => {
      if (!bars.has(entity)) {
        [...bars.values()].at(-1)?.done();
        bars.set(entity, progress(`  ${entity}`, city.counts[entity as EntityName]));
      }
      bars.get(entity)!.update(rows);
    };
    if (opts.out) {
      await writeCityCsv(city, opts.out, onProgress);
      [...bars.values()].at(-1)?.done();
      process.stdout.write(`wrote ${ENTITIES.length} CSV files to ${opts.out}\n`);
      return;
    }
    const ctx = await openPlatform(loadConfig());
    const reports = await loadCity(ctx, city, onProgress);
    [...bars.values()].at(-1)?.done();
    for (const e of ENTITIES) process.stdout.write(`${e.padEnd(18)} ${String(reports[e].inserted).padStart(9)} inserted ${String(reports[e].matched).padStart(7)} matched\n`);
    await ctx.db.close();
  });

program
  .command('import')
  .description(`Import a CSV file (header row) into the registry; all or nothing unless --partial. Entities: ${ENTITIES.join(', ')}`)
  .argument('<entity>', 'what the file holds')
  .argument('<file>', 'CSV file')
  .option('--partial', 'keep the good rows when some are bad')
  .action(async (entity: string, file: string, opts: { partial?: boolean }) => {
    if (!(ENTITIES as readonly string[]).includes(entity)) fail(`unknown entity "${entity}"; one of: ${ENTITIES.join(', ')}`);
    let size = 0;
    try {
      size = statSync(file).size;
    } catch {
      fail(`cannot read ${file}`);
    }
    const ctx = await openPlatform(loadConfig());
    const bar = progress(`importing ${entity}`, size);
    let bytes = 0;
    const counter = new Transform({
      transform(chunk, _enc, done) {
        bytes += chunk.length;
        bar.update(bytes);
        done(null, chunk);
      },
    });
    const report = await importCsv(ctx, entity as EntityName, createReadStream(file).pipe(counter), { partial: opts.partial });
    bar.done();
    await ctx.db.close();
    for (const r of report.rejected) process.stderr.write(`${file}:${r.line}: ${r.reason}\n`);
    process.stdout.write(`${report.read} rows read, ${report.inserted} inserted, ${report.matched} matched, ${report.rejected.length} rejected\n`);
    if (!report.committed) fail(`nothing imported: ${report.rejected.length} bad row(s); fix them, or use --partial to keep the good rows`);
  });

const auditCmd = program.command('audit').description('The audit log');
auditCmd
  .command('verify')
  .description('Check the hash chain of the audit log; exits 1 and names the first entry altered or removed')
  .action(async () => {
    const ctx = await openPlatform(loadConfig());
    const bar = progress('verifying audit log');
    const result = await verifyAudit(ctx.db, (n) => bar.update(n));
    bar.done();
    await ctx.db.close();
    if (result.ok) {
      process.stdout.write(`audit log intact: ${result.checked} entries verified\n`);
    } else {
      process.stdout.write(`audit log BROKEN at entry ${result.firstBad!.id}: ${result.firstBad!.problem} (${result.checked} entries verified before it)\n`);
      process.exit(1);
    }
  });

program
  .command('user')
  .description('Add a user')
  .argument('<username>')
  .requiredOption('--role <role>', `one of ${ROLES.join(', ')}`)
  .option('--district <id>', 'district id (jurisdiction)', positiveInt('--district'))
  .option('--street <id>', 'street id (jurisdiction)', positiveInt('--street'))
  .option('--person <id>', 'person id (for a resident)', positiveInt('--person'))
  .action(async (username: string, opts: { role: string; district?: number; street?: number; person?: number }) => {
    if (!(ROLES as readonly string[]).includes(opts.role)) fail(`unknown role "${opts.role}"; one of: ${ROLES.join(', ')}`);
    const password = process.env.CORDON_PASSWORD;
    if (!password) fail('set the new password in CORDON_PASSWORD (kept out of the shell history)');
    const ctx = await openPlatform(loadConfig());
    const id = await ctx.db.tx((q) => createUser(q, { username, password: password!, role: opts.role as Role, districtId: opts.district, streetId: opts.street, personId: opts.person }, new Date(), 'cli'));
    process.stdout.write(`user ${username} created (id ${id})\n`);
    await ctx.db.close();
  });

program
  .command('rt')
  .description('Rt by the method of Cori et al. (2013), as EpiEstim\'s estimate_R(method = "parametric_si"): weekly sliding windows, gamma prior mean 5 sd 5; CSV out')
  .requiredOption('--input <file>', 'CSV with the header day,cases: one row per consecutive day (a number or YYYY-MM-DD), cases a whole number')
  .requiredOption('--si-mean <days>', 'mean of the serial interval (> 1 day)')
  .requiredOption('--si-sd <days>', 'standard deviation of the serial interval (> 0)')
  .option('--growth', 'add growth_rate, growth_rate_low, growth_rate_high (per day, 95%) and doubling_time (days) from a Poisson log-linear fit of each window')
  .action((opts: { input: string; siMean: string; siSd: string; growth?: boolean }) => {
    // Bad input exits 1 with every problem named, file:line first, and nothing on stdout.
    const bad = (lines: string[]): never => {
      for (const l of lines) process.stderr.write(`${l}\n`);
      process.exit(1);
    };
    const siMean = Number(opts.siMean);
    const siSd = Number(opts.siSd);
    if (!Number.isFinite(siMean) || siMean <= 1) bad([`cordon: --si-mean must be a number of days greater than 1 (the serial interval is at least one day), not "${opts.siMean}"`]);
    if (!Number.isFinite(siSd) || siSd <= 0) bad([`cordon: --si-sd must be a number greater than 0, not "${opts.siSd}"`]);
    let text = '';
    try {
      text = readFileSync(opts.input, 'utf8');
    } catch (e) {
      bad([`cordon: cannot read ${opts.input}: ${(e as Error).message}`]);
    }
    const parsed = parseIncidenceCsv(text);
    if (parsed.problems.length) bad([...parsed.problems.map((p) => `${opts.input}:${p.line}: ${p.message}`), `cordon: no estimate: ${parsed.problems.length} problem(s) in ${opts.input}`]);
    const result = estimateR(parsed.cases, { siMean, siSd });
    for (const w of result.warnings) process.stderr.write(`cordon: warning: ${w}\n`);
    process.stdout.write(formatRtCsv(result.windows, { growth: opts.growth }));
  });

const benchDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../bench');
program
  .command('bench')
  .description('Run benchmarks (all, or those named); each prints its figures beside a baseline from the same run')
  .argument('[names...]')
  .allowUnknownOption()
  .action(async (names: string[]) => {
    // Every bench/NAME.ts but the shared lib.ts is a benchmark.
    const available = (await readdir(benchDir)).filter((f) => f.endsWith('.ts') && f !== 'lib.ts').map((f) => f.replace(/\.ts$/, ''));
    const args = names.filter((n) => n.startsWith('--') || /^\d+$/.test(n));
    const chosen = names.filter((n) => !args.includes(n));
    for (const n of chosen) if (!available.includes(n)) fail(`no benchmark "${n}"; available: ${available.join(', ')}`);
    for (const n of chosen.length ? chosen : available) {
      process.stdout.write(`== bench ${n}\n`);
      const mod = (await import(path.join(benchDir, `${n}.ts`))) as { default: (args: string[]) => Promise<void> };
      await mod.default(args);
    }
  });

await program.parseAsync(process.argv).catch((e: Error) => fail(e.message));
