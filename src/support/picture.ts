// What the command centre reads of livelihood: requests open and overdue by kind and by street, the time to
// answer (and to serve) at p50 and p90, and the worst streets. Nothing here counts the requests themselves:
// open and escalated requests per street and kind are tallied, and times are histograms per day, district
// and kind, both kept by triggers in the transaction of each change (migrations/012_support.sql), as beds
// are counted on facilities. Overdue = escalated + those past their deadline that the escalation job has
// not reached yet (a short range of a partial index). A street's times come from its own requests.
import type { Db } from '../core/db.ts';
import type { Principal } from '../core/auth.ts';
import { byIndex, OPEN_SQL, reachSql } from './store.ts';
import { percentile, type RequestKind } from './rules.ts';
import { DAY_MS } from '../core/days.ts';

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
  overdueByKind: Partial<Record<RequestKind, number>>;
}
export interface AnswerTimes {
  kind: RequestKind | 'all';
  filed: number;
  answered: number;
  done: number;
  /** Minutes from filing to the first answer (accepted, on the way, done or refused); within 2.5 % above 10 min. */
  answerP50: number | null;
  answerP90: number | null;
  /** Minutes from filing to done. */
  doneP50: number | null;
  doneP90: number | null;
}

type Bucket = { kind: RequestKind; what: 'filed' | 'answer' | 'done'; bucket: number; n: number };

/** The dashboard figures over the caller's reach; times over requests filed on the last `days` days (UTC days, today included). */
export async function supportPicture(q: Db, p: Principal, now: Date, opts: { days?: number; worst?: number } = {}) {
  const days = opts.days ?? 7;
  const scope = p.streetId ? { col: 'street_id', id: p.streetId } : p.districtId ? { col: 'district_id', id: p.districtId } : null;
  const tParams: unknown[] = [];
  const tallies = await q.query<{ street_id: number; district_id: number | null; kind: RequestKind; open: number; escalated: number }>(
    `SELECT t.street_id, t.district_id, t.kind, t.open, t.escalated FROM support_tallies t WHERE t.open > 0${scope ? ` AND t.${scope.col} = $${tParams.push(scope.id)}` : ''}`,
    tParams,
  );
  const lParams: unknown[] = [now];
  const late = await byIndex(q, (t) =>
    t.query<{ street_id: number; kind: RequestKind; n: number }>(
      `SELECT coalesce(r.street_id, 0) AS street_id, r.kind, count(*)::int AS n FROM support_requests r
        WHERE r.status IN ${OPEN_SQL} AND r.escalated_at IS NULL AND r.deadline_at < $1 AND ${reachSql(p, 'r', lParams)} GROUP BY 1, 2`,
      lParams,
    ),
  );
  const sinceDay = new Date(now.getTime() - (days - 1) * DAY_MS).toISOString().slice(0, 10);
  const today = now.toISOString().slice(0, 10);
  const histogram = p.streetId
    ? await q.query<Bucket>(
        `SELECT r.kind, x.what, x.bucket, count(*)::int AS n FROM support_requests r
           CROSS JOIN LATERAL (VALUES ('filed', 0),
                                      ('answer', CASE WHEN r.answered_at IS NOT NULL THEN support_bucket(extract(epoch FROM r.answered_at - r.created_at) / 60) END),
                                      ('done', CASE WHEN r.done_at IS NOT NULL THEN support_bucket(extract(epoch FROM r.done_at - r.created_at) / 60) END)) x(what, bucket)
          WHERE r.street_id = $1 AND r.created_at >= ($2::date::timestamp AT TIME ZONE 'UTC') AND r.created_at < (($3::date + 1)::timestamp AT TIME ZONE 'UTC') AND x.bucket IS NOT NULL
          GROUP BY 1, 2, 3`,
        [p.streetId, sinceDay, today],
      )
    : await q.query<Bucket>(
        `SELECT h.kind, h.what, h.bucket, sum(h.n)::int AS n FROM support_time_histogram h
          WHERE h.day BETWEEN $1::date AND $2::date${p.districtId ? ' AND h.district_id = $3' : ''} GROUP BY 1, 2, 3`,
        p.districtId ? [sinceDay, today, p.districtId] : [sinceDay, today],
      );

  const byKind = new Map<RequestKind, KindFigures>();
  const byStreet = new Map<number, StreetFigures>();
  const street = (id: number, districtId: number | null) => {
    let s = byStreet.get(id);
    if (!s) byStreet.set(id, (s = { streetId: id || null, name: null, districtId, open: 0, overdue: 0, overdueByKind: {} }));
    return s;
  };
  const kind = (k: RequestKind) => {
    let f = byKind.get(k);
    if (!f) byKind.set(k, (f = { kind: k, open: 0, overdue: 0 }));
    return f;
  };
  const addOverdue = (s: StreetFigures, k: RequestKind, n: number) => {
    if (!n) return;
    s.overdue += n;
    s.overdueByKind[k] = (s.overdueByKind[k] ?? 0) + n;
    kind(k).overdue += n;
  };
  for (const t of tallies) {
    const s = street(t.street_id, t.district_id);
    s.open += t.open;
    kind(t.kind).open += t.open;
    addOverdue(s, t.kind, t.escalated);
  }
  for (const l of late) addOverdue(street(l.street_id, null), l.kind, l.n);
  const streetIds = [...byStreet.keys()].filter((id) => id !== 0);
  if (streetIds.length) {
    for (const s of await q.query<{ id: number; name: string; district_id: number }>('SELECT id, name, district_id FROM streets WHERE id = ANY($1)', [streetIds])) {
      const f = byStreet.get(s.id)!;
      f.name = s.name;
      f.districtId = s.district_id;
    }
  }
  const streets = [...byStreet.values()].sort((a, b) => b.overdue - a.overdue || b.open - a.open || (a.streetId ?? 0) - (b.streetId ?? 0));
  const kinds = [...byKind.values()].sort((a, b) => b.overdue - a.overdue || b.open - a.open);
  const total = kinds.reduce((t, k) => ({ open: t.open + k.open, overdue: t.overdue + k.overdue }), { open: 0, overdue: 0 });

  const times = (rows: Bucket[], k: RequestKind | 'all'): AnswerTimes => {
    const of = (what: Bucket['what']) => rows.filter((r) => r.what === what);
    const sum = (what: Bucket['what']) => of(what).reduce((s, r) => s + r.n, 0);
    // The same bucket of different kinds adds up for 'all'.
    const merged = (what: Bucket['what']) => [...of(what).reduce((m, r) => m.set(r.bucket, (m.get(r.bucket) ?? 0) + r.n), new Map<number, number>())].map(([bucket, n]) => ({ bucket, n }));
    return { kind: k, filed: sum('filed'), answered: sum('answer'), done: sum('done'), answerP50: percentile(merged('answer'), 0.5), answerP90: percentile(merged('answer'), 0.9), doneP50: percentile(merged('done'), 0.5), doneP90: percentile(merged('done'), 0.9) };
  };
  const kindsFiled = [...new Set(histogram.map((h) => h.kind))].sort();
  const answerTimes = [times(histogram, 'all'), ...kindsFiled.map((k) => times(histogram.filter((h) => h.kind === k), k))];
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
