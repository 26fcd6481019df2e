// The load generator of `npm run bench -- checkpoints`, run as a second process so that it does not share
// the server's thread: autocannon against one URL, bodies taken in turn from a JSON file; prints the
// result as one JSON line.  node bench/load-client.mjs URL BODIES.json|- CONNECTIONS SECONDS [HEADERS.json]
import { readFileSync } from 'node:fs';
import autocannon from 'autocannon';

const [url, bodiesFile, connections, seconds, headersJson] = process.argv.slice(2);
const bodies = bodiesFile === '-' ? null : JSON.parse(readFileSync(bodiesFile, 'utf8'));
const headers = { 'content-type': 'application/json', ...(headersJson ? JSON.parse(headersJson) : {}) };
let next = 0;
const cpuBefore = process.cpuUsage();
const result = await autocannon({
  url,
  connections: Number(connections),
  duration: Number(seconds),
  method: bodies ? 'POST' : 'GET',
  headers,
  requests: [{ setupRequest: (req) => (bodies ? { ...req, body: bodies[next++ % bodies.length] } : req) }],
});
process.stdout.write(
  JSON.stringify({
    requests: result.requests.total,
    rps: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    ok: result['2xx'],
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
    // This process's own CPU (user + system), so that a run shows which side was busy.
    cpuMs: (({ user, system }) => (user + system) / 1000)(process.cpuUsage(cpuBefore)),
  }) + '\n',
);
