// Days as the protocol counts them: a fixed length for durations (14 days of quarantine is 14 × 24 h), and
// local calendar days (YYYY-MM-DD in the city's time zone) for what is reported by the day.

/** A day's length in milliseconds. */
export const DAY_MS = 86_400_000;

const dayFormats = new Map<string, Intl.DateTimeFormat>();

/** The local calendar day of `at` in `timeZone`, as YYYY-MM-DD. */
export function localDay(at: Date, timeZone: string): string {
  // A format is made once per time zone: making one costs far more than using it (an entrance asks per scan).
  let f = dayFormats.get(timeZone);
  if (!f) dayFormats.set(timeZone, (f = new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' })));
  return f.format(at);
}

/** The day `n` days after `day` (YYYY-MM-DD; calendar arithmetic, no time zone involved). */
export function addDays(day: string, n: number): string {
  return new Date(Date.parse(`${day}T00:00:00Z`) + n * DAY_MS).toISOString().slice(0, 10);
}
