// The command centre's screen as data: the epidemic curve, tests and positivity, contacts and 四早, Rt
// with its band (city or district, and the latest per district), beds, open alerts and overdue tasks.
// Everything comes from daily_stats and small indexed reads: a city with a million cases opens as fast as
// a village.
import type { Queryable } from '../core/db.ts';
import type { Preset } from '../core/presets.ts';
import { estimateR } from './rt.ts';
import { addDays, localDay } from '../core/days.ts';

export interface DashboardOptions {
  districtId: number | null;
  days: number;
}

const CASES = ['cases.confirmed', 'cases.asymptomatic'];

export async function dashboardData(q: Queryable, preset: Preset, now: Date, opts: DashboardOptions) {
  const tz = preset.reporting.timeZone;
  const today = localDay(now, tz);
  const from = addDays(today, -(opts.days - 1));
  const days = [...Array(opts.days).keys()].map((i) => addDays(from, i));
  const params: unknown[] = [from];
  const scope = opts.districtId !== null ? `AND district_id = $${params.push(opts.districtId)}` : '';
  // Queries of their own take the district as $1.
  const own = opts.districtId !== null ? 'AND district_id = $1' : '';
  const ownParams = opts.districtId !== null ? [opts.districtId] : [];
  const [stats, byDistrict, districts, beds, alerts, tasks, state] = await Promise.all([
    q.query<{ metric: string; day: string; value: number }>(`SELECT metric, to_char(day, 'YYYY-MM-DD') AS day, sum(value)::float AS value FROM daily_stats WHERE day >= $1 ${scope} GROUP BY metric, day`, params),
    q.query<{ district_id: number; day: string; value: number }>(
      `SELECT district_id, to_char(day, 'YYYY-MM-DD') AS day, sum(value)::float AS value FROM daily_stats WHERE day >= $1 AND metric = ANY($2) GROUP BY district_id, day`,
      [from, CASES],
    ),
    q.query<{ id: number; name: string; population: number }>('SELECT id, name, population FROM districts ORDER BY id'),
    q.query<{ kind: string; total: number; occupied: number }>(
      `SELECT 'shelterHospital' AS kind, sum(beds_general)::int AS total, sum(occupied_general)::int AS occupied FROM facilities WHERE kind = 'shelterHospital' ${own}
       UNION ALL SELECT 'designatedHospital', sum(beds_general)::int, sum(occupied_general)::int FROM facilities WHERE kind = 'designatedHospital' ${own}
       UNION ALL SELECT 'icu', sum(beds_icu)::int, sum(occupied_icu)::int FROM facilities WHERE kind = 'designatedHospital' ${own}`,
      ownParams,
    ),
    q.query<{ id: number; kind: string; severity: string; title: string; district_id: number | null; facts: unknown; assignee: string | null; raised_at: Date; total: number }>(
      `SELECT id, kind, severity, title, district_id, facts, assignee, raised_at, count(*) OVER ()::int AS total FROM alerts
        WHERE resolved_at IS NULL ${opts.districtId !== null ? 'AND (district_id = $1 OR district_id IS NULL)' : ''}
        ORDER BY CASE severity WHEN 'critical' THEN 0 WHEN 'warning' THEN 1 ELSE 2 END, raised_at DESC LIMIT 50`,
      ownParams,
    ),
    // The source (the facts that made a task) lets the page word a system task in its reader's language.
    q.query<{ id: number; kind: string; title: string; source: Record<string, unknown>; district_id: number | null; street_id: number | null; team: string | null; due_at: Date; total: number }>(
      `SELECT id, kind, title, source, district_id, street_id, team, due_at, count(*) OVER ()::int AS total FROM tasks
        WHERE status IN ('open', 'accepted') AND due_at < $1 ${opts.districtId !== null ? 'AND district_id = $2' : ''} ORDER BY due_at LIMIT 20`,
      opts.districtId !== null ? [now, opts.districtId] : [now],
    ),
    q.query<{ refreshed_at: Date }>('SELECT refreshed_at FROM stats_state'),
  ]);
  const series = (metric: string) => {
    const m = new Map(stats.filter((s) => s.metric === metric).map((s) => [s.day, s.value]));
    return days.map((d) => m.get(d) ?? 0);
  };
  const confirmed = series('cases.confirmed');
  const asymptomatic = series('cases.asymptomatic');
  const society = series('cases.society');
  const cases = confirmed.map((c, i) => c + asymptomatic[i]);
  const tubes = series('tests.tubes');
  const resulted = series('tests.resulted');
  const positive = series('tests.positive');
  const closeOfCases = series('contacts.closeOfCases');
  const within24h = series('contacts.within24h');
  const rtOpts = { siMean: preset.command.serialIntervalMeanDays, siSd: preset.command.serialIntervalSdDays };
  const rt = (all: number[]) => {
    // Today is not complete: Rt ends with yesterday. EpiEstim needs a case to start from and 8 days.
    const incidence = all.slice(0, -1);
    const first = incidence.findIndex((n) => n > 0);
    if (first === -1 || incidence.length - first < 8) return [];
    return estimateR(incidence.slice(first), rtOpts).windows.map((w) => ({ day: days[first + w.tEnd - 1], mean: w.mean, low: w.q025, high: w.q975, growth: w.growth?.rate ?? null, doublingTime: w.growth?.doublingTime ?? null }));
  };
  const areaRt = rt(cases);
  const districtRt = districts.map((d) => {
    const m = new Map(byDistrict.filter((r) => r.district_id === d.id).map((r) => [r.day, r.value]));
    const inc = days.map((day) => m.get(day) ?? 0);
    const last = rt(inc).at(-1) ?? null;
    return { districtId: d.id, name: d.name, cases7d: inc.slice(-8, -1).reduce((a, b) => a + b, 0), rt: last };
  });
  // Occupancy at the end of each day, walked back from the counters now through each day's moves.
  const bedKinds = beds.map((b) => {
    const taken = series(`beds.taken.${b.kind}`);
    const released = series(`beds.released.${b.kind}`);
    const occupied: number[] = [];
    let occ = b.occupied ?? 0;
    for (let i = days.length - 1; i >= 0; i--) {
      occupied[i] = occ;
      occ -= taken[i] - released[i];
    }
    const perDay = taken.slice(-3).reduce((a, c) => a + c, 0) / 3;
    const available = (b.total ?? 0) - (b.occupied ?? 0);
    return { kind: b.kind, total: b.total ?? 0, occupied: b.occupied ?? 0, available, admissionsPerDay: Math.round(perDay * 10) / 10, daysLeft: perDay > 0 ? Math.round((available / perDay) * 10) / 10 : null, occupiedPerDay: occupied };
  });
  return {
    at: now.toISOString(),
    refreshedAt: state[0]?.refreshed_at ? new Date(state[0].refreshed_at).toISOString() : null,
    districtId: opts.districtId,
    days,
    curve: { confirmed, asymptomatic, society, total: cases },
    tests: { tubes, persons: series('tests.persons'), resulted, positive, positivity: resulted.map((r, i) => (r ? positive[i] / r : null)) },
    contacts: { close: series('contacts.close'), secondary: series('contacts.secondary'), closeOfCases, within24h, share: closeOfCases.map((c, i) => (c ? within24h[i] / c : null)) },
    quarantine: { orders: series('quarantine.orders') },
    rt: { area: areaRt, byDistrict: districtRt, serialInterval: rtOpts },
    beds: bedKinds,
    outcomes: { discharged: series('cases.discharged'), died: series('cases.died') },
    alerts: { total: alerts[0]?.total ?? 0, items: alerts.map(({ total: _t, ...a }) => a) },
    overdueTasks: { total: tasks[0]?.total ?? 0, items: tasks.map(({ total: _t, ...t }) => t) },
  };
}
