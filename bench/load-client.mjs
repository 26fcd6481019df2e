// The load generator of `npm run bench -- checkpoints`, run as a second process so that it does not share
// the server's thread: autocannon against one URL, each connection sending its share of the bodies of a
// JSON file in turn; prints the result as one JSON line.  node bench/load-client.mjs URL BODIES.json|- CONNECTIONS SECONDS [HEADERS.json]
import { readFileSync } from 'node:fs';
import { PerformanceObserver } from 'node:perf_hooks';
import autocannon from 'autocannon';

const [url, bodiesFile, connections, seconds, headersJson] = process.argv.slice(2);
const bodies = bodiesFile === '-' ? null : JSON.parse(readFileSync(bodiesFile, 'utf8'));
const headers = { 'content-type': 'application/json', ...(headersJson ? JSON.parse(headersJson) : {}) };
// Each connection takes its own share of the bodies, its requests built once: a request built anew for
// each send (autocannon's setupRequest) cost the client about 7 us more a request, on the CPU the server
// shares with it.
let clients = 0;
const share = bodies && Math.max(1, Math.floor(bodies.length / Number(connections)));
// This process's own garbage collection: its pauses delay the responses it reads, and so the latency it reports.
const gc = { ms: 0, max: 0 };
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) {
    gc.ms += e.duration;
    gc.max = Math.max(gc.max, e.duration);
  }
}).observe({ entryTypes: ['gc'] });
const cpuBefore = process.cpuUsage();
const result = await autocannon({
  url,
  connections: Number(connections),
  duration: Number(seconds),
  method: bodies ? 'POST' : 'GET',
  headers,
  setupClient: bodies
    ? (client) => {
        const from = (clients++ * share) % bodies.length;
        client.setRequests(bodies.slice(from, from + share).map((body) => ({ method: 'POST', body })));
      }
    : undefined,
});
process.stdout.write(
  JSON.stringify({
    requests: result.requests.total,
    rps: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    tail: { p90: result.latency.p90, p97_5: result.latency.p97_5, p99_9: result.latency.p99_9, max: result.latency.max, mean: result.latency.average },
    ok: result['2xx'],
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
    // This process's own CPU (user + system), so that a run shows which side was busy.
    cpuMs: (({ user, system }) => (user + system) / 1000)(process.cpuUsage(cpuBefore)),
    gcMs: gc.ms,
    gcMaxMs: gc.max,
  }) + '\n',
);
