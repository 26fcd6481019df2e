// Stretches of unchanged days (migrations/016_zone_spans.sql): what to delete and insert so that one
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
 * The stretches of one compound after days `from`..`to` take the values `keys[day - from]` ('': none that
 * day). `old`: its stored stretches that touch `from - 1`..`to + 1`, in day order; `storedLast`: the last
 * day they cover when open (null `until`); `newLast`: the last day computed after this (a stretch reaching
 * it is stored open). Returns null when the stored stretches are already right, else the days of the old
 * stretches to delete and the stretches to insert. (No closures: it runs for every compound of the city.)
 */
export function respan(old: Span[], keys: string[], from: number, to: number, storedLast: number, newLast: number): { remove: number[]; add: Span[] } | null {
  const days: number[] = [];
  const ends: number[] = [];
  const values: string[] = [];
  // The days before `from` of a stretch running into the range, then the range, then the days after it;
  // each joined to the one before when the values meet.
  for (let pass = 0; pass < 3; pass++) {
    const n = pass === 1 ? to - from + 1 : old.length;
    for (let i = 0; i < n; i++) {
      let day: number;
      let end: number;
      let key: string;
      if (pass === 1) {
        day = end = from + i;
        key = keys[i];
      } else {
        const s = old[i];
        const sEnd = s.until ?? storedLast;
        if (pass === 0 ? !(s.day < from && sEnd >= from - 1) : !(sEnd > to && s.day <= to + 1)) continue;
        day = pass === 0 ? s.day : Math.max(s.day, to + 1);
        end = pass === 0 ? Math.min(sEnd, from - 1) : sEnd;
        key = s.key;
      }
      const k = values.length - 1;
      if (k >= 0 && values[k] === key && ends[k] === day - 1) ends[k] = end;
      else {
        days.push(day);
        ends.push(end);
        values.push(key);
      }
    }
  }
  const add: Span[] = [];
  for (let i = 0; i < days.length; i++) if (values[i] !== '') add.push({ day: days[i], until: ends[i] >= newLast ? null : ends[i], key: values[i] });
  if (add.length === old.length) {
    let same = true;
    for (let i = 0; i < add.length && same; i++) same = add[i].day === old[i].day && add[i].until === old[i].until && add[i].key === old[i].key;
    if (same) return null;
  }
  return { remove: old.map((s) => s.day), add };
}
