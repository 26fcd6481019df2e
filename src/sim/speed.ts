// Measures how fast the synthetic city generates its records (no database):
//   npx tsx src/sim/speed.ts [persons=1000000] [seed=1]
// Prints rows and rows/s per entity, the total, and the peak resident memory.
import { ENTITIES } from '../registry/index.ts';
import { generateCity } from './index.ts';

const persons = Number(process.argv[2] ?? 1_000_000);
const seed = Number(process.argv[3] ?? 1);
let peak = process.memoryUsage().rss;
const sample = () => (peak = Math.max(peak, process.memoryUsage().rss));

const t0 = performance.now();
const city = generateCity({ persons, seed });
const plan = performance.now() - t0;
process.stdout.write(`plan (layout and counts)  ${plan.toFixed(0)} ms\n`);
let total = 0;
for (const e of ENTITIES) {
  const t = performance.now();
  let n = 0;
  let chars = 0;
  for (const r of city.records(e)) {
    // Touch every value so that nothing is left unevaluated.
    for (const k in r) chars += r[k].length;
    if (++n % 100_000 === 0) sample();
  }
  const ms = performance.now() - t;
  total += n;
  process.stdout.write(`${e.padEnd(20)} ${String(n).padStart(9)} rows ${ms.toFixed(0).padStart(6)} ms ${Math.round(n / (ms / 1000)).toLocaleString('en').padStart(11)} rows/s (${(chars / n).toFixed(0)} chars a row)\n`);
}
const all = performance.now() - t0;
sample();
process.stdout.write(`total ${total.toLocaleString('en')} records in ${(all / 1000).toFixed(2)} s: ${Math.round(total / (all / 1000)).toLocaleString('en')} records/s; peak RSS ${(peak / 2 ** 20).toFixed(0)} MB\n`);
