// The synthetic city: what the demo, the tests and the benchmarks load. A city is a description
// (size and seed) plus lazy, deterministic record streams in the registry's CSV shape.
import { createWriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { once } from 'node:events';
import type { AppContext } from '../core/context.ts';
import { CSV_COLUMNS, ENTITIES, importRecords, type CsvRecord, type EntityName, type ImportReport } from '../registry/index.ts';
import { CityModel, REFERENCE_DATE } from './city.ts';

export { REFERENCE_DATE };

export interface CityOptions {
  persons: number;
  seed: number;
}

export interface City {
  options: CityOptions;
  /** Rows records(entity) will yield. */
  counts: Record<EntityName, number>;
  /** Deterministic, re-iterable, generated lazily; columns exactly CSV_COLUMNS[entity], all values strings ('' for none). */
  records(entity: EntityName): Iterable<CsvRecord>;
}

export type CityProgress = (entity: EntityName, rows: number) => void;

/** Plans a city of `persons` residents; records are generated when iterated (a 1M city takes seconds). */
export function generateCity(opts: CityOptions): City {
  const model = new CityModel(opts.persons, opts.seed);
  return {
    options: { persons: opts.persons, seed: opts.seed },
    counts: { ...model.counts },
    records: (entity) => ({ [Symbol.iterator]: () => model.records(entity) }),
  };
}

/** Imports every entity, parents first; throws when an import is not committed (nothing of that entity is kept). */
export async function loadCity(ctx: AppContext, city: City, onProgress?: CityProgress): Promise<Record<EntityName, ImportReport>> {
  const reports = {} as Record<EntityName, ImportReport>;
  for (const entity of ENTITIES) {
    const report = await importRecords(ctx, entity, city.records(entity), { onProgress: onProgress && ((rows) => onProgress(entity, rows)) });
    if (!report.committed) {
      const first = report.rejected.slice(0, 3).map((r) => `line ${r.line}: ${r.reason}`).join('; ');
      throw new Error(`Loading the synthetic city: ${entity} was not imported (${report.rejectedCount ?? report.rejected.length} bad rows; ${first})`);
    }
    onProgress?.(entity, report.read);
    reports[entity] = report;
  }
  return reports;
}

/** A CSV field: quoted when it holds a comma, a quote or a line break. */
export function csvCell(s: string): string {
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** Writes <dir>/<entity>.csv for every entity (header row first), streamed with back-pressure. */
export async function writeCityCsv(city: City, dir: string, onProgress?: CityProgress): Promise<void> {
  await mkdir(dir, { recursive: true });
  for (const entity of ENTITIES) {
    const cols = CSV_COLUMNS[entity];
    const out = createWriteStream(join(dir, `${entity}.csv`));
    const failed = new Promise<never>((_, reject) => out.once('error', reject));
    failed.catch(() => {});
    const write = async (text: string) => {
      if (!out.write(text)) await Promise.race([once(out, 'drain'), failed]);
    };
    await write(cols.join(',') + '\n');
    let rows = 0;
    let buf = '';
    for (const r of city.records(entity)) {
      let line = '';
      for (let i = 0; i < cols.length; i++) line += (i ? ',' : '') + csvCell(r[cols[i]]);
      buf += line + '\n';
      rows++;
      if (buf.length > 1 << 16) {
        await write(buf);
        buf = '';
        onProgress?.(entity, rows);
      }
    }
    if (buf) await write(buf);
    out.end();
    await Promise.race([once(out, 'finish'), failed]);
    onProgress?.(entity, rows);
  }
}
