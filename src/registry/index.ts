// The registry capability: what other capabilities may use of it.
// (Stub signatures; the registry work fills them in.)
import type { FastifyInstance } from 'fastify';
import type { Readable } from 'node:stream';
import type { AppContext } from '../core/context.ts';
import type { CsvRecord, EntityName, ImportOptions, ImportReport } from './entities.ts';
export * from './entities.ts';

export function registryRoutes(_app: FastifyInstance, _ctx: AppContext): void {}

/** Streams a CSV file (with a header row) into the registry. */
export async function importCsv(_ctx: AppContext, _entity: EntityName, _input: Readable, _opts: ImportOptions = {}): Promise<ImportReport> {
  throw new Error('not built yet');
}

/** Imports rows already split into columns (the synthetic city uses this; lines are counted from 2). */
export async function importRecords(_ctx: AppContext, _entity: EntityName, _rows: Iterable<CsvRecord> | AsyncIterable<CsvRecord>, _opts: ImportOptions = {}): Promise<ImportReport> {
  throw new Error('not built yet');
}
