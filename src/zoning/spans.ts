// Stretches of unchanged days (migrations/017_zone_spans.sql): what to delete and insert so that one
// compound's stored stretches carry new values for a range of days, merged with the days around it, and
// nothing at all when the values are those already stored (the common case: a new day like the last).

/** A stored stretch: days `day`..`until` (day numbers, inclusive); `until` null: through the last day computed. */
export interface Span {
  day: number;
  until: number | null;
  /** The values of the stretch; '' is never stored (no value that day: no stretch). */
  key: string;
}

/**
 * The stretches of one compound after days `from`..`to` take the values `keyAt(day)` ('': none that day).
 * `old`: its stored stretches that touch `from - 1`..`to + 1`, in day order; `storedLast`: the last day
 * they cover when open (null `until`); `newLast`: the last day computed after this (a stretch reaching it
 * is stored open). Returns null when the stored stretches are already right, else the days of the old
 * stretches to delete and the stretches to insert.
 */
export function respan(old: Span[], keyAt: (day: number) => string, from: number, to: number, storedLast: number, newLast: number): { remove: number[]; add: Span[] } | null {
  const segments: { day: number; end: number; key: string }[] = [];
  const push = (day: number, end: number, key: string) => {
    const last = segments[segments.length - 1];
    if (last && last.key === key && last.end === day - 1) last.end = end;
    else segments.push({ day, end, key });
  };
  const endOf = (s: Span) => s.until ?? storedLast;
  // The days before `from` of a stretch running into the range, then the range, then the days after it.
  for (const s of old) if (s.day < from && endOf(s) >= from - 1) push(s.day, Math.min(endOf(s), from - 1), s.key);
  for (let d = from; d <= to; d++) push(d, d, keyAt(d));
  for (const s of old) if (endOf(s) > to && s.day <= to + 1) push(Math.max(s.day, to + 1), endOf(s), s.key);
  const add: Span[] = [];
  for (const g of segments) if (g.key !== '') add.push({ day: g.day, until: g.end >= newLast ? null : g.end, key: g.key });
  if (add.length === old.length && add.every((s, i) => s.day === old[i].day && s.until === old[i].until && s.key === old[i].key)) return null;
  return { remove: old.map((s) => s.day), add };
}
