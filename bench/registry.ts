// npm run bench -- registry [--persons N]
// Persons imported per second from a CSV file (importCsv: parse, validate, hash and encrypt the ID number,
// resolve households, COPY, one transaction), beside the raw COPY rate of the same final rows (as the
// import wrote them) into an empty twin of the persons table on the same engine, in the same run.
import { createReadStream, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { csvField, type Db } from '../src/core/db.ts';
import { progress } from '../src/core/progress.ts';
import type { AppContext } from '../src/core/context.ts';
import { ENTITIES, importCsv } from '../src/registry/index.ts';
import { PERSON_COPY_COLUMNS } from '../src/registry/import.ts';
import { benchContext, benchEngines, numberArg, rateLine, timed } from './lib.ts';

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
  const { generateCity, writeCityCsv } = await import('../src/sim/index.ts');
  const city = generateCity({ persons, seed: 1 });
  const dir = mkdtempSync(path.join(tmpdir(), 'cordon-bench-registry-'));
  try {
    let bar = progress('writing the city as CSV files');
    await writeCityCsv(city, dir, (_entity, n) => bar.update(n));
    bar.done();
    // Everything persons refer to is loaded first, from its file, and not timed.
    const geography = ENTITIES.slice(0, ENTITIES.indexOf('persons'));
    for (const engine of await benchEngines()) {
      const db = await engine.open();
      try {
        const ctx = benchContext(db);
        for (const entity of geography) {
          bar = progress(`${engine.name}: loading ${entity}`, city.counts[entity]);
          const r = await importCsv(ctx, entity, createReadStream(path.join(dir, `${entity}.csv`)), { onProgress: (n) => bar.update(n) });
          bar.done();
          if (!r.committed) throw new Error(`${entity}: ${JSON.stringify(r.rejected.slice(0, 5))}`);
        }
        await measure(engine.name, ctx, path.join(dir, 'persons.csv'), city.counts.persons);
      } finally {
        await db.dispose();
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
