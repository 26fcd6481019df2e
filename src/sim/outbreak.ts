// A demo outbreak over the last weeks, recorded through the platform's own paths so that every page has
// something true to show: screening pools sampled and resulted (a positive pool, its single-tube retests),
// cases taken in from the positive findings with triage and beds, admissions, contacts traced and ordered
// into quarantine with rooms, discharges on two results of Ct >= 35; then the daily figures and alerts.
// Deterministic from the seed. Transmission: each new case comes from a recent case's household, compound
// or neighbouring compound, so compounds and chains form as they did.
import type { AppContext } from '../core/context.ts';
import { recordTubeBatch, parseResultsCsv, uploadResults, type BatchTube } from '../testing/index.ts';
import { admit, careUpkeep, discharge } from '../cases/index.ts';
import { allocateRooms, issueOrders, recordInterview, traceCase } from '../tracing/index.ts';
import { raiseCommandAlerts, refreshStats } from '../command/index.ts';
import { DAY_MS, localDay } from '../core/days.ts';
import { fileRequest } from '../support/index.ts';
import { zoningUpkeep } from '../zoning/index.ts';
import { Rng } from './rng.ts';

const HOUR = 3_600_000;

interface Resident {
  id: number;
  code: string;
  compound: number;
  household: number | null;
}

export interface OutbreakOptions {
  days?: number;
  seed?: number;
  /** Cases on the first day; they grow by `growth` a day until `peakDay`, then fall by `decline`. */
  firstDay?: number;
  growth?: number;
  decline?: number;
  peakDay?: number;
  /** Cases traced (contacts and quarantine orders) per day, at most. */
  tracedPerDay?: number;
  onDay?: (day: number, days: number, cases: number) => void;
}

export async function seedOutbreak(ctx: AppContext, o: OutbreakOptions = {}): Promise<{ cases: number; tubes: number }> {
  const days = o.days ?? 21;
  const peakDay = o.peakDay ?? days - 8;
  const rng = new Rng(o.seed ?? 7, 4242);
  const db = ctx.db;
  const preset = ctx.preset;
  const end = ctx.clock.now();
  // Day 0 starts at midnight of the city's local day, `days` days ago.
  const [{ start }] = await db.query<{ start: Date }>(`SELECT ((($1::timestamptz AT TIME ZONE $2)::date - $3::int)::timestamp AT TIME ZONE $2) AS start`, [end, preset.reporting.timeZone, days]);
  const day0 = new Date(start).getTime();
  const at = (d: number, hours: number) => new Date(day0 + d * DAY_MS + hours * HOUR);

  const residents = (await db.query<{ id: number; code: string; compound: number; household: number | null }>(
    'SELECT id, personal_code AS code, compound_id AS compound, household_id AS household FROM persons WHERE compound_id IS NOT NULL ORDER BY id',
  )).map((r) => ({ ...r, id: Number(r.id) }));
  if (!residents.length) return { cases: 0, tubes: 0 };
  const byCompound = new Map<number, Resident[]>();
  const byHousehold = new Map<number, Resident[]>();
  for (const r of residents) {
    byCompound.set(r.compound, [...(byCompound.get(r.compound) ?? []), r]);
    if (r.household !== null) byHousehold.set(r.household, [...(byHousehold.get(r.household) ?? []), r]);
  }
  const neighbours = new Map<number, number[]>();
  for (const a of await db.query<{ a: number; b: number }>('SELECT compound_id AS a, neighbor_id AS b FROM compound_adjacency')) {
    neighbours.set(a.a, [...(neighbours.get(a.a) ?? []), a.b]);
    neighbours.set(a.b, [...(neighbours.get(a.b) ?? []), a.a]);
  }
  const [point] = await db.query<{ id: number }>('SELECT id FROM sampling_points ORDER BY id LIMIT 1');
  const [lab] = await db.query<{ id: number }>('SELECT id FROM labs ORDER BY id LIMIT 1');
  if (!point || !lab) return { cases: 0, tubes: 0 };

  const infected = new Set<number>();
  const recent: Resident[][] = [];
  // The first cases: a few residents of two compounds far apart.
  const seeds = [residents[rng.int(residents.length)], residents[rng.int(residents.length)]];
  const newCase = (): Resident => {
    const pool = recent.slice(-5).flat();
    for (let tries = 0; tries < 20; tries++) {
      const src = pool.length ? rng.pick(pool) : rng.pick(seeds);
      const r = rng.next();
      let candidates: Resident[];
      if (r < 0.45 && src.household !== null) candidates = byHousehold.get(src.household) ?? [];
      else if (r < 0.85) candidates = byCompound.get(src.compound) ?? [];
      else {
        const near = neighbours.get(src.compound) ?? [];
        candidates = near.length ? byCompound.get(rng.pick(near)) ?? [] : byCompound.get(src.compound) ?? [];
      }
      const c = candidates.length ? rng.pick(candidates) : null;
      if (c && !infected.has(c.id)) return c;
    }
    let r = residents[rng.int(residents.length)];
    while (infected.has(r.id)) r = residents[rng.int(residents.length)];
    return r;
  };

  let tubes = 0;
  let cases = 0;
  const by = 'demo';
  for (let d = 0; d < days; d++) {
    const n = Math.max(1, Math.round((o.firstDay ?? 3) * (d <= peakDay ? (o.growth ?? 1.25) ** d : (o.growth ?? 1.25) ** peakDay * (o.decline ?? 0.8) ** (d - peakDay))));
    const today: Resident[] = [];
    for (let i = 0; i < n; i++) {
      const c = d === 0 && i < seeds.length ? seeds[i] : newCase();
      if (infected.has(c.id)) continue;
      infected.add(c.id);
      today.push(c);
    }
    recent.push(today);
    // Screening of the compounds with recent cases, in pools of 10, with today's cases among them.
    const compounds = new Set(recent.slice(-4).flat().map((r) => r.compound));
    const screened = new Map<number, Resident>();
    for (const c of today) screened.set(c.id, c);
    for (const comp of compounds) for (const r of byCompound.get(comp) ?? []) if (screened.size < 1500 && !infected.has(r.id)) screened.set(r.id, r);
    const people = [...screened.values()].sort(() => rng.next() - 0.5);
    const pools: BatchTube[] = [];
    for (let i = 0; i < people.length; i += 10) pools.push({ barcode: `DEMO${d}P${i / 10}`, samplingPointId: point.id, group: 'controlled', sampledAt: at(d, 1), persons: people.slice(i, i + 10).map((r) => r.code) });
    const sick = new Set(today.map((r) => r.code));
    const positivePools = pools.filter((t) => t.persons.some((p) => sick.has(p)));
    await upload(ctx, pools, at(d, 10), (t) => (positivePools.includes(t) ? 'positive,28.4,29.1' : 'negative,,'));
    // Every member of a positive pool is retested alone: the cases come back positive, the rest clear.
    const retests: BatchTube[] = positivePools.flatMap((t) => t.persons.map((p, i) => ({ barcode: `DEMO${d}R${t.barcode.slice(4)}x${i}`, samplingPointId: point.id, group: 'sealed' as const, sampledAt: at(d, 11), persons: [p] })));
    await upload(ctx, retests, at(d, 13), (t) => (sick.has(t.persons[0]) ? 'positive,24.2,25.0' : 'negative,,'));
    tubes += pools.length + retests.length;
    // Cases, triage and beds (the server's job), then their arrival.
    await careUpkeep(db, preset, at(d, 14));
    const assigned = await db.query<{ id: number }>(`SELECT id FROM cases WHERE state = 'assigned' ORDER BY id`);
    for (const c of assigned) await db.tx((q) => admit(q, Number(c.id), null, by, at(d, 16)));
    // Contacts of today's first cases, their quarantine orders and rooms.
    for (const c of today.slice(0, o.tracedPerDay ?? 5)) {
      await db.tx(async (q) => {
        await recordInterview(q, c.id, { symptomatic: false, isolatedAt: at(d, 14).toISOString(), notes: 'demo' }, by, at(d, 14.5));
        await traceCase(q, c.id, preset, at(d, 15));
        await issueOrders(q, c.id, preset, by, at(d, 15));
      });
    }
    await db.tx((q) => allocateRooms(q, at(d, 17)));
    // Discharge of cases in care for ten days: two results of Ct >= 35, a day apart.
    const ready = await db.query<{ id: number; code: string }>(
      `SELECT c.id, p.personal_code AS code FROM cases c JOIN persons p ON p.id = c.person_id WHERE c.state = 'admitted' AND c.admitted_at < $1 ORDER BY c.id LIMIT 200`,
      [at(d - 9, 0)],
    );
    if (ready.length) {
      const first = ready.map((r, i) => ({ barcode: `DEMO${d}D${i}a`, samplingPointId: point.id, group: 'sealed' as const, sampledAt: at(d - 1, 8), persons: [r.code] }));
      const second = ready.map((r, i) => ({ barcode: `DEMO${d}D${i}b`, samplingPointId: point.id, group: 'sealed' as const, sampledAt: at(d, 8), persons: [r.code] }));
      await upload(ctx, [...first, ...second], at(d, 10), (t) => (t.barcode.endsWith('a') ? 'positive,36.1,36.8' : 'negative,,'));
      tubes += first.length + second.length;
      for (const r of ready) await db.tx((q) => discharge(q, Number(r.id), preset, by, at(d, 12)).catch(() => undefined));
    }
    // People shut in where cases were ask for food, medicine and care (the last days' requests stay open).
    if (d >= days - 4) {
      const shut = [...compounds].flatMap((comp) => byCompound.get(comp) ?? []);
      await db.tx(async (q) => {
        for (let i = 0; i < Math.min(shut.length, 5 + n); i++) {
          const r = rng.pick(shut);
          const x = rng.next();
          const kind = x < 0.55 ? 'food' : x < 0.8 ? 'medicineRefill' : x < 0.87 ? 'medicalEmergency' : x < 0.93 ? 'dialysis' : 'other';
          await fileRequest(q, { personId: r.id, kind, prescriptionDays: kind === 'medicineRefill' ? 30 : null, onBehalf: false }, infected.has(r.id) ? 'red' : 'yellow', preset, by, at(d, 8 + rng.next() * 10));
        }
      });
    }
    cases += today.length;
    o.onDay?.(d + 1, days, cases);
  }
  await careUpkeep(db, preset, end);
  await zoningUpkeep(db, preset, end);
  await refreshStats(db, preset, end, localDay(at(0, 0), preset.reporting.timeZone));
  await raiseCommandAlerts(db, preset, end);
  return { cases, tubes };
}

/** Records sampled tubes and uploads their results as a lab would (CSV through the upload path). */
async function upload(ctx: AppContext, batch: BatchTube[], resultedAt: Date, result: (t: BatchTube) => string): Promise<void> {
  if (!batch.length) return;
  await ctx.db.tx((q) => recordTubeBatch(q, ctx.pii, batch, ctx.preset, 'demo'));
  const csv = ['barcode,result,ct_orf1ab,ct_n,resulted_at', ...batch.map((t) => `${t.barcode},${result(t)},${resultedAt.toISOString()}`)].join('\n');
  const parsed = parseResultsCsv(csv);
  const [lab] = await ctx.db.query<{ id: number }>('SELECT id FROM labs ORDER BY id LIMIT 1');
  const r = await uploadResults(ctx.db, { labId: lab.id, rows: parsed.rows, rejected: parsed.rejected, sha256: `demo-${batch[0].barcode}`, preset: ctx.preset, by: 'demo', now: resultedAt });
  if (r.rejected.length) throw new Error(`demo results rejected: ${JSON.stringify(r.rejected.slice(0, 3))}`);
}
