// Builds the HTTP app from each capability's routes, and starts the platform.
import Fastify, { type FastifyInstance } from 'fastify';
import cookie from '@fastify/cookie';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import fastifyStatic from '@fastify/static';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { AppContext } from './core/context.ts';
import { heavyWorkInFlight, httpActivity, installHttpCore } from './core/http.ts';
import { coreRoutes } from './core/routes.ts';
import { registryRoutes } from './registry/index.ts';
import { alertOverdueTubes, testingRoutes } from './testing/index.ts';
import { doorIndexFor, refreshDue, removeExpiredScans, statusRoutes, venueCodeRoutes } from './status/index.ts';
import { checkpointIfDue, refreshStatistics } from './core/maintenance.ts';
import { tracingRoutes } from './tracing/index.ts';
import { careUpkeep, casesRoutes } from './cases/index.ts';
import { commandRoutes, raiseCommandAlerts, refreshStats } from './command/index.ts';
import { escalateOverdue, supportRoutes } from './support/index.ts';
import { zoningRoutes, zoningUpkeep } from './zoning/index.ts';

export const webDist = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../dist/web');

/** How the app's Fastify reads bodies and checks them against route schemas (an unknown field is refused, not dropped). */
export const appOptions = {
  bodyLimit: 64 * 1024 * 1024,
  ajv: { customOptions: { coerceTypes: 'array' as const, removeAdditional: false, allErrors: true } },
};

export async function buildApp(ctx: AppContext, opts: { logger?: boolean | object } = {}): Promise<FastifyInstance> {
  const app = Fastify({ logger: opts.logger ?? false, ...appOptions });
  await app.register(cookie);
  await app.register(swagger, {
    openapi: {
      info: { title: 'cordon', description: 'Outbreak-response command platform: the HTTP API', version: '0.1.0' },
      components: {
        securitySchemes: {
          session: { type: 'apiKey', in: 'cookie', name: 'cordon_session' },
          bearer: { type: 'http', scheme: 'bearer' },
        },
      },
    },
  });
  await app.register(swaggerUi, { routePrefix: '/api/docs' });
  installHttpCore(app, ctx);

  app.get('/api/openapi.json', { config: { access: 'public' }, schema: { hide: true } }, async () => app.swagger());
  coreRoutes(app, ctx);
  registryRoutes(app, ctx);
  testingRoutes(app, ctx);
  venueCodeRoutes(app, ctx);
  statusRoutes(app, ctx);
  tracingRoutes(app, ctx);
  casesRoutes(app, ctx);
  commandRoutes(app, ctx);
  supportRoutes(app, ctx);
  zoningRoutes(app, ctx);

  if (existsSync(webDist)) await app.register(fastifyStatic, { root: webDist, prefix: '/', wildcard: false });
  return app;
}

/** Periodic checks that raise alerts from the facts (overdue lab results ...). Returns a stop function. */
export function startJobs(ctx: AppContext, log: (msg: string, level: 'error' | 'warn') => void = () => {}): () => void {
  // Embedded PGlite runs every query on the server's only thread: work that can wait (vacuuming a
  // million-row table, the daily figures, the early-warning scan) waits for a moment without requests
  // (a lab upload, a sampling rush), but never longer than `maxWaitMs`.
  const whenQuiet = (maxWaitMs: number, run: () => Promise<unknown>) => {
    let deferredSince = 0;
    return async () => {
      const quiet = httpActivity.inFlight === 0 && Date.now() - httpActivity.lastAt > 2_000;
      if (!quiet && (deferredSince === 0 || Date.now() - deferredSince < maxWaitMs)) {
        deferredSince ||= Date.now();
        return;
      }
      deferredSince = 0;
      await run();
    };
  };
  // Upkeep every few seconds steps aside while heavy work runs (a lab's upload of 100,000 results, an
  // import): on PGlite each of its reads waits in line with the work's. For 10 seconds at most, so a
  // stream of uploads never stops it.
  const heavyWorkWait = () => {
    let since = 0;
    return () => {
      if (!heavyWorkInFlight()) return (since = 0), false;
      since ||= Date.now();
      return Date.now() - since < 10_000;
    };
  };
  const besideHeavyWork = (run: () => Promise<unknown>) => {
    const waiting = heavyWorkWait();
    return () => (waiting() ? Promise.resolve() : run());
  };
  const doorWaits = heavyWorkWait();
  const jobs = [
    { name: 'overdue lab results', everyMs: 60_000, run: () => alertOverdueTubes(ctx.db, ctx.preset, ctx.clock.now()) },
    { name: 'table statistics', everyMs: 60_000, run: whenQuiet(600_000, () => refreshStatistics(ctx.db)) },
    // The embedded database's WAL kept to about max_wal_size (PGlite has no checkpointer of its own).
    { name: 'checkpoint', everyMs: 60_000, run: whenQuiet(600_000, () => checkpointIfDue(ctx.db)) },
    { name: 'status upkeep', everyMs: 5_000, run: besideHeavyWork(() => refreshDue(ctx.db, ctx.preset, ctx.clock.now())) },
    // The entrances' in-memory index (it reads whom to distrust every time, even beside a long request).
    { name: 'entrance index', everyMs: 1_000, run: () => doorIndexFor(ctx).sync(doorWaits) },
    // Positive findings become cases, and waiting cases get the beds that came free.
    { name: 'care upkeep', everyMs: 5_000, run: besideHeavyWork(() => careUpkeep(ctx.db, ctx.preset, ctx.clock.now())) },
    // The dashboard's daily figures, and the early-warning alerts read from the facts.
    { name: 'daily figures', everyMs: 60_000, run: whenQuiet(120_000, () => refreshStats(ctx.db, ctx.preset, ctx.clock.now())) },
    { name: 'early warning', everyMs: 60_000, run: whenQuiet(120_000, () => raiseCommandAlerts(ctx.db, ctx.preset, ctx.clock.now())) },
    // Every compound's zone for today, and new cases' levels (society-level or found inside control).
    { name: 'zoning', everyMs: 60_000, run: whenQuiet(120_000, () => zoningUpkeep(ctx.db, ctx.preset, ctx.clock.now())) },
    // Requests past their deadline go to their district (a task and an alert each, once): never deferred.
    { name: 'support escalation', everyMs: 60_000, run: () => escalateOverdue(ctx.db, ctx.preset, ctx.clock.now()) },
    // Venue scans older than the preset keeps them, a day at a time (a partition dropped locks check-ins a moment).
    { name: 'scan retention', everyMs: 600_000, run: whenQuiet(3_600_000, () => removeExpiredScans(ctx.db, ctx.preset, ctx.clock.now())) },
  ];
  const running = new Set<string>();
  const timers = jobs.map((j) =>
    setInterval(() => {
      // A run that outlasts its interval is not started a second time beside itself.
      if (running.has(j.name)) return;
      running.add(j.name);
      const started = performance.now();
      j.run()
        .catch((e: Error) => log(`job "${j.name}" failed: ${e.message}`, 'error'))
        .finally(() => {
          running.delete(j.name);
          // On PGlite a long run holds every request back: say so.
          const ms = performance.now() - started;
          if (ms > 1_000) log(`job "${j.name}" ran ${Math.round(ms).toLocaleString('en')} ms`, 'warn');
        });
    }, j.everyMs),
  );
  return () => timers.forEach(clearInterval);
}
