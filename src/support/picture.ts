// What the command centre reads of livelihood: requests open and overdue by kind and by street, the time to
// answer (and to serve) at p50 and p90, and the worst streets. Aggregated in SQL: one pass over the open
// requests grouped by (kind, street), one over those filed in the window; JavaScript only adds up the few
// hundred groups.
import type { Queryable } from '../core/db.ts';
import type { Principal } from '../core/auth.ts';
import { OPEN_SQL, reachSql } from './store.ts';
import type { RequestKind } from './rules.ts';

export interface KindFigures {
  kind: RequestKind;
  open: number;
  overdue: number;
}
export interface StreetFigures {
  streetId: number | null;
  name: string | null;
  districtId: number | null;
  open: number;
  overdue: number;
  /** The oldest deadline still open (the longest overdue when past). */
  oldestDeadline: string | null;
  overdueByKind: Partial<Record<RequestKind, number>>;
}
export interface AnswerTimes {
  kind: RequestKind | 'all';
  filed: number;
  answered: number;
  done: number;
  /** Minutes from filing to the first answer (accepted, on the way, done or refused). */
  answerP50: number | null;
  answerP90: number | null;
  /** Minutes from filing to done. */
  doneP50: number | null;
  doneP90: number | null;
}

const minutes = (s: number | null) => (s === null || s === undefined ? null : Math.round(Number(s) / 6) / 10);

/** The dashboard figures over the caller's reach; times to answer over requests filed in the last `days` days. */
export async function supportPicture(q: Queryable, p: Principal, now: Date, opts: { days?: number; worst?: number } = {}) {
  const days = opts.days ?? 7;
  const params: unknown[] = [now];
  const reach = reachSql(p, 'r', params);
  const groups = await q.query<{ kind: RequestKind; street_id: number | null; open: number; overdue: number; oldest: Date | null }>(
    `SELECT r.kind, r.street_id, count(*)::int AS open, count(*) FILTER (WHERE r.deadline_at < $1)::int AS overdue, min(r.deadline_at) AS oldest
       FROM support_requests r WHERE r.status IN ${OPEN_SQL} AND ${reach} GROUP BY r.kind, r.street_id`,
    params,
  );
  const tParams: unknown[] = [now, new Date(now.getTime() - days * 86_400_000)];
  const tReach = reachSql(p, 'r', tParams);
  const times = await q.query<{ kind: RequestKind | null; filed: number; answered: number; done: number; a: number[] | null; d: number[] | null }>(
    `SELECT r.kind, count(*)::int AS filed, count(r.answered_at)::int AS answered, count(r.done_at)::int AS done,
            percentile_cont(ARRAY[0.5, 0.9]::float8[]) WITHIN GROUP (ORDER BY extract(epoch FROM r.answered_at - r.created_at)) FILTER (WHERE r.answered_at IS NOT NULL) AS a,
            percentile_cont(ARRAY[0.5, 0.9]::float8[]) WITHIN GROUP (ORDER BY extract(epoch FROM r.done_at - r.created_at)) FILTER (WHERE r.done_at IS NOT NULL) AS d
       FROM support_requests r WHERE r.created_at >= $2 AND r.created_at <= $1 AND ${tReach} GROUP BY ROLLUP (r.kind)`,
    tParams,
  );

  const byKind = new Map<RequestKind, KindFigures>();
  const byStreet = new Map<number | null, StreetFigures>();
  for (const g of groups) {
    const k = byKind.get(g.kind) ?? { kind: g.kind, open: 0, overdue: 0 };
    k.open += g.open;
    k.overdue += g.overdue;
    byKind.set(g.kind, k);
    const s = byStreet.get(g.street_id) ?? { streetId: g.street_id, name: null, districtId: null, open: 0, overdue: 0, oldestDeadline: null, overdueByKind: {} };
    s.open += g.open;
    s.overdue += g.overdue;
    const oldest = g.oldest ? new Date(g.oldest).toISOString() : null;
    if (oldest && (!s.oldestDeadline || oldest < s.oldestDeadline)) s.oldestDeadline = oldest;
    if (g.overdue) s.overdueByKind[g.kind] = g.overdue;
    byStreet.set(g.street_id, s);
  }
  const streetIds = [...byStreet.keys()].filter((id): id is number => id !== null);
  if (streetIds.length) {
    for (const s of await q.query<{ id: number; name: string; district_id: number }>('SELECT id, name, district_id FROM streets WHERE id = ANY($1)', [streetIds])) {
      const f = byStreet.get(s.id)!;
      f.name = s.name;
      f.districtId = s.district_id;
    }
  }
  const streets = [...byStreet.values()].sort((a, b) => b.overdue - a.overdue || b.open - a.open || (a.streetId ?? 0) - (b.streetId ?? 0));
  const answerTimes: AnswerTimes[] = times
    .map((t) => ({
      kind: t.kind ?? ('all' as const),
      filed: t.filed,
      answered: t.answered,
      done: t.done,
      answerP50: minutes(t.a?.[0] ?? null),
      answerP90: minutes(t.a?.[1] ?? null),
      doneP50: minutes(t.d?.[0] ?? null),
      doneP90: minutes(t.d?.[1] ?? null),
    }))
    .sort((a, b) => (a.kind === 'all' ? -1 : b.kind === 'all' ? 1 : a.kind.localeCompare(b.kind)));
  const kinds = [...byKind.values()].sort((a, b) => b.overdue - a.overdue || b.open - a.open);
  const total = kinds.reduce((t, k) => ({ open: t.open + k.open, overdue: t.overdue + k.overdue }), { open: 0, overdue: 0 });
  if (!answerTimes.length) answerTimes.push({ kind: 'all', filed: 0, answered: 0, done: 0, answerP50: null, answerP90: null, doneP50: null, doneP90: null });
  return {
    asOf: now.toISOString(),
    days,
    total,
    byKind: kinds,
    byStreet: streets,
    worstStreets: streets.filter((s) => s.overdue > 0).slice(0, opts.worst ?? 10),
    answerTimes,
  };
}
