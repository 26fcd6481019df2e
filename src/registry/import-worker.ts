// An import worker thread: reads a CSV file's pieces and checks its records with the same code as an import
// on the main thread (import.ts), hashing and encrypting ID numbers on the way, and answers every message
// with one reply, in order: first the header, then the checked rows of each piece. The main thread keeps
// what needs the database (households, existing records, duplicates across the file, the COPY).
import { parentPort } from 'node:worker_threads';
import { PiiKeys } from '../core/pii.ts';
import { checkRecords, CsvReader, MalformedCsv, parserFor, type Batch, type Checked, type WorkerMessage } from './import.ts';

let csv = new CsvReader();
let header: string[] | null = null;
/** Records read with the header, before the main thread sent what checking them needs. */
let held: Batch | null = null;
let check: ((b: Batch) => Checked[]) | null = null;

function answer(m: WorkerMessage): object {
  if (m.type === 'start') {
    // The key stays in this thread's memory; it is never logged.
    const parse = parserFor(m.entity, m.data, { pii: new PiiKeys(Buffer.from(m.key)), latest: m.latest });
    check = (b) => checkRecords(parse, m.shape, b);
    const checked = held ? check(held) : [];
    held = null;
    return { checked };
  }
  if (m.first) {
    csv = new CsvReader();
    header = null;
    held = null;
    check = null;
  }
  const batch = csv.read(m.buf ? Buffer.from(m.buf.buffer, m.buf.byteOffset, m.buf.byteLength) : undefined);
  if (header) return { checked: check!(batch) };
  if (!batch.records.length) return m.buf ? {} : { header: null };
  batch.lines.shift();
  header = batch.records.shift()!;
  held = batch;
  return { header };
}

parentPort!.on('message', (m: WorkerMessage) => {
  try {
    parentPort!.postMessage(answer(m));
  } catch (e) {
    header = null;
    if (e instanceof MalformedCsv) parentPort!.postMessage({ malformed: { line: e.line, message: e.message } });
    else parentPort!.postMessage({ failed: e instanceof Error ? (e.stack ?? e.message) : String(e) });
  }
});
