// The daily public bulletin (信息发布): the day's counts per district and the compounds where the day's
// cases lived (never a person, never a building), drafted from the facts, redacted and approved by one
// person, published by another step; then public, in zh-CN and en, with its curve as an SVG.
import type { Queryable } from '../core/db.ts';
import type { Preset } from '../core/presets.ts';
import { conflict, notFound } from '../core/errors.ts';
import { addDays } from '../core/days.ts';

export interface BulletinContent {
  day: string;
  totals: Record<string, number>;
  districts: { id: number; name: string; nameEn: string | null; confirmed: number; asymptomatic: number; discharged: number; died: number }[];
  /** Where the day's cases lived, compound by compound. */
  addresses: { compoundId: number; compound: string; street: string; district: string; districtEn: string | null }[];
  /** The last 30 days of new cases (for the curve). */
  curve: { day: string; cases: number }[];
}

export async function draftBulletin(q: Queryable, preset: Preset, day: string, by: string, now: Date): Promise<BulletinContent> {
  const [existing] = await q.query<{ state: string }>('SELECT state FROM bulletins WHERE day = $1 FOR UPDATE', [day]);
  if (existing && existing.state !== 'draft') throw conflict(`The bulletin of ${day} is ${existing.state}; it cannot be drafted again.`, { code: 'bulletinNotDraft', day, bulletinState: existing.state });
  const tz = preset.reporting.timeZone;
  const rows = await q.query<{ metric: string; district_id: number; value: number }>(
    `SELECT metric, district_id, sum(value)::float AS value FROM daily_stats WHERE day = $1 AND metric = ANY($2) GROUP BY metric, district_id`,
    [day, ['cases.confirmed', 'cases.asymptomatic', 'cases.discharged', 'cases.died']],
  );
  const districts = await q.query<{ id: number; name: string; name_en: string | null }>('SELECT id, name, name_en FROM districts ORDER BY id');
  const of = (metric: string, d?: number) => rows.filter((r) => r.metric === metric && (d === undefined || r.district_id === d)).reduce((s, r) => s + r.value, 0);
  const addresses = await q.query<{ compoundId: number; compound: string; street: string; district: string; districtEn: string | null }>(
    `SELECT DISTINCT co.id AS "compoundId", co.name AS compound, s.name AS street, d.name AS district, d.name_en AS "districtEn"
       FROM cases c JOIN compounds co ON co.id = c.compound_id JOIN streets s ON s.id = co.street_id JOIN districts d ON d.id = co.district_id
      WHERE c.reported_at >= ($1::date::timestamp AT TIME ZONE $2) AND c.reported_at < (($1::date + 1)::timestamp AT TIME ZONE $2)
      ORDER BY d.name, s.name, co.name`,
    [day, tz],
  );
  const curveRows = await q.query<{ day: string; value: number }>(
    `SELECT to_char(day, 'YYYY-MM-DD') AS day, sum(value)::float AS value FROM daily_stats WHERE day > $1::date - 30 AND day <= $1 AND metric IN ('cases.confirmed', 'cases.asymptomatic') GROUP BY day`,
    [day],
  );
  const curve = [...Array(30).keys()].map((i) => addDays(day, i - 29)).map((d) => ({ day: d, cases: curveRows.find((r) => r.day === d)?.value ?? 0 }));
  const content: BulletinContent = {
    day,
    totals: { confirmed: of('cases.confirmed'), asymptomatic: of('cases.asymptomatic'), discharged: of('cases.discharged'), died: of('cases.died') },
    districts: districts.map((d) => ({ id: d.id, name: d.name, nameEn: d.name_en, confirmed: of('cases.confirmed', d.id), asymptomatic: of('cases.asymptomatic', d.id), discharged: of('cases.discharged', d.id), died: of('cases.died', d.id) })),
    addresses,
    curve,
  };
  await q.query(
    `INSERT INTO bulletins (day, state, content, redactions, drafted_by, drafted_at) VALUES ($1, 'draft', $2, '[]', $3, $4)
     ON CONFLICT (day) DO UPDATE SET content = $2, redactions = '[]', drafted_by = $3, drafted_at = $4`,
    [day, JSON.stringify(content), by, now],
  );
  return content;
}

export interface Bulletin {
  day: string;
  state: 'draft' | 'approved' | 'published';
  content: BulletinContent;
  redactions: { compoundId: number; reason: string; by: string }[];
  draftedBy: string;
  approvedBy: string | null;
  publishedAt: string | null;
}

export async function getBulletin(q: Queryable, day: string, lock = false): Promise<Bulletin> {
  const [b] = await q.query<{ day: string; state: Bulletin['state']; content: BulletinContent; redactions: Bulletin['redactions']; drafted_by: string; approved_by: string | null; published_at: Date | null }>(
    `SELECT to_char(day, 'YYYY-MM-DD') AS day, state, content, redactions, drafted_by, approved_by, published_at FROM bulletins WHERE day = $1 ${lock ? 'FOR UPDATE' : ''}`,
    [day],
  );
  if (!b) throw notFound(`The bulletin of ${day}`, { code: 'bulletinUnknown', day });
  return { day: b.day, state: b.state, content: b.content, redactions: b.redactions, draftedBy: b.drafted_by, approvedBy: b.approved_by, publishedAt: b.published_at ? new Date(b.published_at).toISOString() : null };
}

/** Holds addresses back from a draft, each with the reason. */
export async function redactBulletin(q: Queryable, day: string, compoundIds: number[], reason: string, by: string): Promise<Bulletin> {
  const b = await getBulletin(q, day, true);
  if (b.state !== 'draft') throw conflict(`The bulletin of ${day} is ${b.state}: only a draft can be redacted.`, { code: 'bulletinNotDraft', day, bulletinState: b.state });
  const listed = new Set(b.content.addresses.map((a) => a.compoundId));
  const unknown = compoundIds.filter((id) => !listed.has(id));
  if (unknown.length) throw conflict(`Not among the draft's addresses: ${unknown.join(', ')}.`, { code: 'notInDraft', compounds: unknown.join(', ') });
  const redactions = [...b.redactions.filter((r) => !compoundIds.includes(r.compoundId)), ...compoundIds.map((compoundId) => ({ compoundId, reason, by }))];
  await q.query('UPDATE bulletins SET redactions = $2 WHERE day = $1', [day, JSON.stringify(redactions)]);
  return { ...b, redactions };
}

/** Approval by someone other than the drafter; publishing only after approval. */
export async function advanceBulletin(q: Queryable, day: string, to: 'approved' | 'published', by: string, now: Date): Promise<Bulletin> {
  const b = await getBulletin(q, day, true);
  if (to === 'approved') {
    if (b.state !== 'draft') throw conflict(`The bulletin of ${day} is ${b.state}, not a draft.`, { code: 'bulletinNotDraft', day, bulletinState: b.state });
    if (b.draftedBy === by) throw conflict('The person who drafted a bulletin cannot approve it: a second person must.', { code: 'bulletinSecondPerson' });
    await q.query(`UPDATE bulletins SET state = 'approved', approved_by = $2, approved_at = $3 WHERE day = $1`, [day, by, now]);
  } else {
    if (b.state !== 'approved') throw conflict(`The bulletin of ${day} is ${b.state}: it must be approved before it is published.`, { code: 'bulletinNotApproved', day, bulletinState: b.state });
    await q.query(`UPDATE bulletins SET state = 'published', published_by = $2, published_at = $3 WHERE day = $1`, [day, by, now]);
  }
  return getBulletin(q, day);
}

/** What the public sees: the approved content without the redacted addresses, and nothing else. */
export function publicBulletin(b: Bulletin) {
  const held = new Set(b.redactions.map((r) => r.compoundId));
  return { day: b.day, publishedAt: b.publishedAt, totals: b.content.totals, districts: b.content.districts, addresses: b.content.addresses.filter((a) => !held.has(a.compoundId)).map(({ compoundId: _c, ...a }) => a), curve: b.content.curve };
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** The bulletin's curve of new cases as a small standalone SVG (bars, with the axis labels). */
export function curveSvg(curve: { day: string; cases: number }[], title: string): string {
  const w = 640;
  const h = 240;
  const pad = { l: 48, r: 12, t: 28, b: 36 };
  const max = Math.max(1, ...curve.map((c) => c.cases));
  const bw = (w - pad.l - pad.r) / curve.length;
  const y = (v: number) => pad.t + (h - pad.t - pad.b) * (1 - v / max);
  const bars = curve.map((c, i) => `<rect x="${(pad.l + i * bw + 1).toFixed(1)}" y="${y(c.cases).toFixed(1)}" width="${(bw - 2).toFixed(1)}" height="${(h - pad.b - y(c.cases)).toFixed(1)}" fill="#c0392b"><title>${c.day}: ${c.cases}</title></rect>`);
  const ticks = [0, max / 2, max].map((v) => `<text x="${pad.l - 6}" y="${y(v) + 4}" text-anchor="end" font-size="11">${Math.round(v)}</text>`);
  // Every 7th day, and the last unless it would print over the one before.
  const labels = curve.filter((_, i) => i % 7 === 0 || (i === curve.length - 1 && i % 7 >= 3)).map((c) => `<text x="${pad.l + curve.indexOf(c) * bw + bw / 2}" y="${h - pad.b + 16}" text-anchor="middle" font-size="10">${c.day.slice(5)}</text>`);
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}" viewBox="0 0 ${w} ${h}" font-family="sans-serif"><text x="${pad.l}" y="18" font-size="13">${esc(title)}</text><line x1="${pad.l}" y1="${h - pad.b}" x2="${w - pad.r}" y2="${h - pad.b}" stroke="#888"/>${ticks.join('')}${bars.join('')}${labels.join('')}</svg>`;
}
