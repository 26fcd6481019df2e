// npm run bench -- registry [--persons N]
// Persons imported per second from a CSV file (importCsv: parse, validate, hash and encrypt the ID number,
// resolve households, COPY, one transaction), beside the raw COPY rate of the same final rows (as the
// import wrote them) into an empty twin of the persons table on the same engine, in the same run.
import { createReadStream, createWriteStream, mkdtempSync, rmSync } from 'node:fs';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { csvField, type Db } from '../src/core/db.ts';
import { progress } from '../src/core/progress.ts';
import type { AppContext } from '../src/core/context.ts';
import { CSV_COLUMNS, ENTITIES, importCsv, importRecords, type CsvRecord, type EntityName } from '../src/registry/index.ts';
import { PERSON_COPY_COLUMNS } from '../src/registry/import.ts';
import { benchContext, benchEngines, numberArg, rateLine, timed } from './lib.ts';

/** Writes records as a CSV file with a header row. */
export async function writeCsv(file: string, columns: readonly string[], records: Iterable<CsvRecord>): Promise<number> {
  const out = createWriteStream(file);
  let n = 0;
  let buf: string[] = [columns.join(',')];
  for (const r of records) {
    buf.push(columns.map((c) => csvField(r[c] ?? '')).join(','));
    if (++n % 10_000 === 0) {
      if (!out.write(buf.join('\n') + '\n')) await once(out, 'drain');
      buf = [];
    }
  }
  out.write(buf.length ? buf.join('\n') + '\n' : '');
  out.end();
  await once(out, 'finish');
  return n;
}

/** The import of `file` into persons, and the raw COPY of the rows it wrote into an empty twin table. */
export async function measure(engine: string, ctx: AppContext, file: string, total: number): Promise<void> {
  const db = ctx.db as Db;
  const bar = progress(`${engine}: importing persons`, total);
  const imp = await timed(() => importCsv(ctx, 'persons', createReadStream(file, { highWaterMark: 1 << 20 }), { onProgress: (n) => bar.update(n) }));
  bar.done();
  const report = imp.value;
  if (!report.committed || report.inserted !== total) throw new Error(`import did not load every row: ${JSON.stringify({ ...report, rejected: report.rejected.slice(0, 5) })}`);

  // The same final rows, exported as COPY text in chunks like the import's (not timed).
  const exportBar = progress(`${engine}: exporting the imported rows`, total);
  const select = PERSON_COPY_COLUMNS.map((c) => (c === 'id_hash' || c === 'id_enc' ? `'\\x' || encode(${c}, 'hex') AS ${c}` : `${c}::text AS ${c}`)).join(', ');
  const chunks: string[] = [];
  let after = 0;
  let exported = 0;
  for (;;) {
    const rows = await db.query<Record<string, string | null> & { id: number }>(`SELECT id, ${select} FROM persons WHERE id > $1 ORDER BY id LIMIT 50000`, [after]);
    if (!rows.length) break;
    chunks.push(rows.map((r) => PERSON_COPY_COLUMNS.map((c) => csvField(r[c])).join(',')).join('\n') + '\n');
    after = rows[rows.length - 1].id;
    exported += rows.length;
    exportBar.update(exported);
  }
  exportBar.done();
  await db.exec('CREATE TABLE raw_persons (LIKE persons INCLUDING ALL)');
  const raw = await timed(() => db.tx((q) => q.copyCsv('raw_persons', PERSON_COPY_COLUMNS, chunks)));
  await db.exec('DROP TABLE raw_persons');
  rateLine(engine, 'import', total, imp.seconds, 'raw COPY', raw.value, raw.seconds, '>= 0.5');
}

export default async function run(args: string[]): Promise<void> {
  const persons = numberArg(args, '--persons', 1_000_000);
  // Loaded here, so that measure() can be used without the synthetic city.
  const { generateCity } = await import('../src/sim/index.ts');
  const city = generateCity({ persons, seed: 1 });
  const dir = mkdtempSync(path.join(tmpdir(), 'cordon-bench-registry-'));
  try {
    const file = path.join(dir, 'persons.csv');
    const written = await timed(() => writeCsv(file, CSV_COLUMNS.persons, city.records('persons')));
    process.stdout.write(`persons.csv: ${written.value.toLocaleString('en')} rows written in ${written.seconds.toFixed(1)} s\n`);
    // Everything persons refer to is loaded first, and not timed.
    const geography = ENTITIES.slice(0, ENTITIES.indexOf('persons')) as EntityName[];
    for (const engine of await benchEngines()) {
      const db = await engine.open();
      try {
        const ctx = benchContext(db);
        for (const entity of geography) {
          const bar = progress(`${engine.name}: loading ${entity}`, city.counts[entity]);
          const r = await importRecords(ctx, entity, city.records(entity), { onProgress: (n) => bar.update(n) });
          bar.done();
          if (!r.committed) throw new Error(`${entity}: ${JSON.stringify(r.rejected.slice(0, 5))}`);
        }
        await measure(engine.name, ctx, file, written.value);
      } finally {
        await db.dispose();
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
