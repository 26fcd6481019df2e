// Zoning rules (rules.md "Three zones", and 11 for the 9th edition): a compound's zone from its own cases,
// screening days and the command's designations; epidemic-free compounds and the areas they join into;
// society-level cases and district clearance. Pure functions of facts, the preset and a day; every number
// comes from the preset.
//
// How days count (one convention for every rule here):
// - A day is a calendar day in the preset's reporting.timeZone (Asia/Shanghai), written 'YYYY-MM-DD'.
// - The zone "on day D" is the zone at the end of D, after that day's cases and screening results: a
//   positive detected on D seals the compound on D.
// - A transition's clock starts on day 0: the day the compound entered its zone, or the day of the last
//   positive when `positiveRestartsClock`. `cleanDays: N` moves it on day N (so with N = 7 a compound
//   sealed on day 0 is sealed on days 0-6 and controlled on day 7, which is also "a positive within the
//   last 7 days", sealedIfPositiveWithinDays). `allNegativeScreeningDay: S` also needs an all-negative
//   screening on day S; a missed or not-all-negative screening postpones the move to the next
//   all-negative screening, keeping the N - S days between screening and move.
// - The sealed week is days 0 to sealedIfPositiveWithinDays - 1 of a sealing (day 0: the positive that
//   sealed it); a later positive inside it keeps its building sealed until day sealedBuildingExtendsToDay
//   of the same sealing (released that day), even when the compound has moved on before.
import { presetLabel, type Preset } from '../core/presets.ts';
import { DAY_MS } from '../core/days.ts';

export type Day = string;
export type Zone = 'sealed' | 'controlled' | 'precaution';

/** A positive case as zoning sees it: detected on `day`, living (or found) in `buildingId`. */
export interface ZoneCase {
  id: number;
  day: Day;
  buildingId: number | null;
}

/** A screening round of the whole compound on `day`: were all its results negative? */
export interface Screening {
  day: Day;
  allNegative: boolean;
}

export interface CompoundFacts {
  cases: ZoneCase[];
  screenings: Screening[];
  /**
   * Days the command placed the compound under control without a positive of its own (close contacts
   * live there; a medium-risk area in the 9th edition). Optional: without them a compound is controlled
   * only after being sealed.
   */
  controlled?: Day[];
}

export interface ZoneDay {
  day: Day;
  zone: Zone;
  /** The day the compound entered this zone (null: precaution since before any fact). */
  since: Day | null;
  /** Day 0 of the clock of the next transition (a positive restarts it while sealed). */
  clockFrom: Day | null;
  /** The rule in words, and as data (for a page to word in its reader's language). */
  reason: { lastCase: { id: number; day: Day } | null; rule: string; why: ZoneWhy | null };
  /** Where and when the compound moves if no new positive comes; null if it will not move by itself. */
  moves: { on: Day; to: Zone; rule: string; ifAllNegativeScreeningOn: Day | null } | null;
  /** Buildings kept sealed for a positive inside the sealed week: sealed on every day before `releasedOn`. */
  sealedBuildings: { buildingId: number; caseId: number; releasedOn: Day }[];
  preset: string;
}

/** The zones, strictest first. */
export const ZONES: readonly Zone[] = ['sealed', 'controlled', 'precaution'];
const zoneIndex: Record<Zone, number> = { sealed: 0, controlled: 1, precaution: 2 };
const RULE_POSITIVE = 'rules.md 1-3, 11: a positive in the compound -> sealed (封控区, high risk)';
const RULE_DESIGNATED = 'rules.md 2, 4, 11: placed under control without a positive of its own -> controlled (管控区, medium risk)';
const RULE_NO_CASE = 'rules.md 3: no positive in the compound -> precaution (防范区)';

// Day texts repeat across 70,000 compounds: print each once.
const dayTexts = new Map<number, Day>();
const MONTH_DAYS = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

const digit = (day: string, i: number) => {
  const c = day.charCodeAt(i) - 48;
  return c >= 0 && c <= 9 ? c : NaN;
};
// Facts come in day order more often than not: the last day read is the next one, often.
let lastText = '';
let lastNumber = 0;

/** Days since 1970-01-01 of a 'YYYY-MM-DD' calendar day; throws on anything else. */
export function dayNumber(day: Day): number {
  if (day === lastText) return lastNumber;
  // Read by hand, not by Date.parse or a regex: zoneOn reads tens of day texts per compound, for 70,000 compounds.
  const y = digit(day, 0) * 1000 + digit(day, 1) * 100 + digit(day, 2) * 10 + digit(day, 3);
  const m = digit(day, 5) * 10 + digit(day, 6);
  const d = digit(day, 8) * 10 + digit(day, 9);
  const leapDay = m === 2 && d === 29 && y % 4 === 0 && (y % 100 !== 0 || y % 400 === 0);
  if (day.length !== 10 || day.charCodeAt(4) !== 45 || day.charCodeAt(7) !== 45 || !(y >= 0 && m >= 1 && m <= 12 && d >= 1 && (d <= MONTH_DAYS[m - 1] || leapDay))) {
    throw new RangeError(`Not a calendar day (YYYY-MM-DD): ${day}`);
  }
  // Days from the civil calendar (H. Hinnant's algorithm), exact for every Gregorian year.
  const yy = m <= 2 ? y - 1 : y;
  const era = Math.floor(yy / 400);
  const yoe = yy - era * 400;
  const doy = Math.floor((153 * (m > 2 ? m - 3 : m + 9) + 2) / 5) + d - 1;
  lastText = day;
  lastNumber = era * 146097 + yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy - 719468;
  return lastNumber;
}

/** The 'YYYY-MM-DD' of a day number (dayNumber's inverse). */
export function dayText(n: number): Day {
  let t = dayTexts.get(n);
  if (t === undefined) {
    t = new Date(n * DAY_MS).toISOString().slice(0, 10);
    dayTexts.set(n, t);
  }
  return t;
}

interface Transition {
  from: Zone;
  to: Zone;
  cleanDays: number;
  screeningDay: number | null;
  afterSealed: boolean;
  rule: string;
}

/**
 * The rule of a zone's reason as data, for a page to word in its reader's language: a positive in the
 * compound, a designation without one, no positive, or a move after clean days (a preset transition).
 */
export type ZoneWhy = { code: 'positive' | 'designated' | 'noCase' } | { code: 'clean'; from: Zone; to: Zone; cleanDays: number; screeningDay: number | null };

/** The preset's zoning settings, checked once and indexed by (zone, entered from sealed). */
interface Rules {
  /** At zoneIndex[zone] * 2 + (entered from sealed ? 1 : 0). */
  next: (Transition | null)[];
  /** Each rule's words (what a zone day stores) to its data. */
  why: Map<string, ZoneWhy>;
  restarts: boolean;
  sealedWeek: number;
  buildingReleasedOn: number;
  label: string;
}

const compiled = new WeakMap<Preset, Rules>();

function rulesOf(preset: Preset): Rules {
  let r = compiled.get(preset);
  if (r) return r;
  const z = preset.zoning;
  const transitions: Transition[] = z.transitions.map((raw, i) => {
    const t = raw as { from: string; to: string; cleanDays: number; rule: string; afterSealed?: boolean; allNegativeScreeningDay?: number | null };
    if (!ZONES.includes(t.from as Zone) || !ZONES.includes(t.to as Zone)) throw new Error(`Preset ${preset.id}: zoning.transitions[${i}] names an unknown zone`);
    // A clean-day count under 1 would let a compound move twice on one day.
    if (!Number.isInteger(t.cleanDays) || t.cleanDays < 1) throw new Error(`Preset ${preset.id}: zoning.transitions[${i}].cleanDays must be an integer >= 1`);
    const s = t.allNegativeScreeningDay ?? null;
    if (s !== null && (!Number.isInteger(s) || s < 0)) throw new Error(`Preset ${preset.id}: zoning.transitions[${i}].allNegativeScreeningDay must be an integer >= 0`);
    return { from: t.from as Zone, to: t.to as Zone, cleanDays: t.cleanDays, screeningDay: s, afterSealed: t.afterSealed === true, rule: t.rule };
  });
  const next: (Transition | null)[] = [];
  for (const zone of ZONES) {
    for (const fromSealed of [false, true]) {
      // An afterSealed transition is for a compound that came straight from sealed; otherwise the first general one.
      const fits = transitions.filter((t) => t.from === zone && (!t.afterSealed || fromSealed));
      next[zoneIndex[zone] * 2 + (fromSealed ? 1 : 0)] = fits.find((t) => t.afterSealed) ?? fits[0] ?? null;
    }
  }
  const why = new Map<string, ZoneWhy>([
    [RULE_POSITIVE, { code: 'positive' }],
    [RULE_DESIGNATED, { code: 'designated' }],
    [RULE_NO_CASE, { code: 'noCase' }],
  ]);
  for (const t of transitions) if (!why.has(t.rule)) why.set(t.rule, { code: 'clean', from: t.from, to: t.to, cleanDays: t.cleanDays, screeningDay: t.screeningDay });
  r = { next, why, restarts: z.positiveRestartsClock, sealedWeek: z.sealedIfPositiveWithinDays, buildingReleasedOn: z.sealedBuildingExtendsToDay, label: presetLabel(preset) };
  compiled.set(preset, r);
  return r;
}

/** A zone reason's rule (its stored words) as data under this preset; null for words it does not know (an older preset's). */
export function zoneWhy(rule: string, preset: Preset): ZoneWhy | null {
  return rulesOf(preset).why.get(rule) ?? null;
}

/** Facts as day numbers, in day order (prepareFacts): a caller computing many days keeps them prepared. */
export interface Prepared {
  prepared: true;
  caseDays: number[];
  cases: ZoneCase[];
  screenings: Screening[];
  /** Days of all-negative screenings (the only ones any rule counts), read when a rule first needs them. */
  clear: number[] | null;
  designated: number[];
}

function prepare(f: CompoundFacts): Prepared {
  let cases = f.cases;
  let caseDays = cases.map((c) => dayNumber(c.day));
  for (let i = 1; i < caseDays.length; i++) {
    if (caseDays[i - 1] > caseDays[i] || (caseDays[i - 1] === caseDays[i] && cases[i - 1].id > cases[i].id)) {
      const order = caseDays.map((_, k) => k).sort((a, b) => caseDays[a] - caseDays[b] || cases[a].id - cases[b].id);
      cases = order.map((k) => f.cases[k]);
      caseDays = order.map((k) => caseDays[k]);
      break;
    }
  }
  return { prepared: true, caseDays, cases, screenings: f.screenings, clear: null, designated: sortNumbers((f.controlled ?? []).map(dayNumber)) };
}

/** A compound's facts read once for many computations (the rules take either form). */
export function prepareFacts(f: CompoundFacts | Prepared): Prepared {
  return 'prepared' in f ? f : prepare(f);
}

// Most compounds never had a case and most rules need no screening: read screening days only when asked.
function clearOf(f: Prepared): number[] {
  if (f.clear === null) {
    const clear: number[] = [];
    for (const s of f.screenings) if (s.allNegative) clear.push(dayNumber(s.day));
    f.clear = sortNumbers(clear);
  }
  return f.clear;
}

function sortNumbers(a: number[]): number[] {
  for (let i = 1; i < a.length; i++) if (a[i - 1] > a[i]) return a.sort((x, y) => x - y);
  return a;
}

/**
 * When a clock started on `clock` is released by `cleanDays` and an all-negative screening on day
 * `screeningDay` (if any), knowing the screenings up to `known`. `screened` is the screening that counted;
 * `screenOn` the one still needed (it then assumes it comes out all negative).
 */
function release(clock: number, cleanDays: number, screeningDay: number | null, f: Prepared, known: number): { on: number; screened: number | null; screenOn: number | null } {
  const earliest = clock + cleanDays;
  if (screeningDay === null) return { on: earliest, screened: null, screenOn: null };
  const due = clock + screeningDay;
  const gap = Math.max(0, cleanDays - screeningDay);
  // Before the due day no screening can count: leave the screenings unread.
  if (due > known) return { on: Math.max(earliest, due + gap), screened: null, screenOn: due };
  const clear = clearOf(f);
  // The first all-negative screening on or after the due day (binary search: this runs at every fact).
  let lo = 0;
  let hi = clear.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (clear[mid] < due) lo = mid + 1;
    else hi = mid;
  }
  if (lo < clear.length && clear[lo] <= known) return { on: Math.max(earliest, clear[lo] + gap), screened: clear[lo], screenOn: null };
  const screenOn = Math.max(due, known + 1);
  return { on: Math.max(earliest, screenOn + gap), screened: null, screenOn };
}

interface State {
  zone: Zone;
  since: number | null;
  clock: number | null;
  fromSealed: boolean;
  rule: string;
  lastCase: ZoneCase | null;
  /** The day the current sealing began (null when not sealed). */
  sealedOn: number | null;
  buildings: Map<number, { caseId: number; releasedOn: number }> | null;
  ci: number;
  di: number;
}

const nextOf = (r: Rules, st: State) => r.next[zoneIndex[st.zone] * 2 + (st.fromSealed ? 1 : 0)];

const fresh = (): State => ({ zone: 'precaution', since: null, clock: null, fromSealed: false, rule: RULE_NO_CASE, lastCase: null, sealedOn: null, buildings: null, ci: 0, di: 0 });

/** The day of the next move if it has happened by `through` (its screening, if any, done), else Infinity. */
function movedBy(st: State, r: Rules, f: Prepared, through: number): number {
  const t = nextOf(r, st);
  if (!t || st.clock === null || st.clock + t.cleanDays > through) return Infinity;
  const m = release(st.clock, t.cleanDays, t.screeningDay, f, through);
  return m.screenOn === null && m.on <= through ? m.on : Infinity;
}

/** Brings the state to the end of day `target`, jumping from fact to fact (no loop over quiet days). */
function advance(st: State, r: Rules, f: Prepared, target: number): void {
  for (;;) {
    const nextCase = st.ci < f.caseDays.length ? f.caseDays[st.ci] : Infinity;
    const nextDesignation = st.di < f.designated.length ? f.designated[st.di] : Infinity;
    const event = Math.min(nextCase, nextDesignation);
    const move = movedBy(st, r, f, Math.min(target, event));
    if (move <= target) {
      // A move falls before that day's facts: a positive on the day a compound would move keeps it sealed.
      const t = nextOf(r, st)!;
      st.fromSealed = st.zone === 'sealed';
      st.zone = t.to;
      st.since = st.clock = move;
      st.rule = t.rule;
      st.sealedOn = t.to === 'sealed' ? move : null;
      continue;
    }
    if (event > target) return;
    while (st.di < f.designated.length && f.designated[st.di] === event) {
      st.di++;
      // Sealed is stricter than controlled: a designation changes nothing there.
      if (st.zone === 'sealed') continue;
      if (st.zone !== 'controlled') st.since = event;
      st.zone = 'controlled';
      st.clock = event;
      st.fromSealed = false;
      st.rule = RULE_DESIGNATED;
    }
    if (nextCase !== event) continue;
    const sealedDay = st.zone === 'sealed' && st.sealedOn !== null ? event - st.sealedOn : -1;
    for (; st.ci < f.caseDays.length && f.caseDays[st.ci] === event; st.ci++) {
      const c = f.cases[st.ci];
      st.lastCase = c;
      if (sealedDay >= 1 && sealedDay < r.sealedWeek && c.buildingId !== null) {
        st.buildings ??= new Map();
        const releasedOn = st.sealedOn! + r.buildingReleasedOn;
        const had = st.buildings.get(c.buildingId);
        if (!had || had.releasedOn < releasedOn) st.buildings.set(c.buildingId, { caseId: had?.caseId ?? c.id, releasedOn });
      }
    }
    if (st.zone !== 'sealed') {
      st.zone = 'sealed';
      st.since = st.clock = st.sealedOn = event;
      st.rule = RULE_POSITIVE;
    } else if (r.restarts) {
      st.clock = event;
      st.rule = RULE_POSITIVE;
    }
  }
}

function snapshot(st: State, r: Rules, f: Prepared, day: number): ZoneDay {
  const t = nextOf(r, st);
  let moves: ZoneDay['moves'] = null;
  if (t && st.clock !== null) {
    const m = release(st.clock, t.cleanDays, t.screeningDay, f, day);
    moves = { on: dayText(m.on), to: t.to, rule: t.rule, ifAllNegativeScreeningOn: m.screenOn === null ? null : dayText(m.screenOn) };
  }
  const sealedBuildings: ZoneDay['sealedBuildings'] = [];
  if (st.buildings) {
    for (const [buildingId, b] of st.buildings) {
      if (b.releasedOn > day) sealedBuildings.push({ buildingId, caseId: b.caseId, releasedOn: dayText(b.releasedOn) });
    }
    sealedBuildings.sort((a, b) => a.buildingId - b.buildingId);
  }
  return {
    day: dayText(day),
    zone: st.zone,
    since: st.since === null ? null : dayText(st.since),
    clockFrom: st.clock === null ? null : dayText(st.clock),
    reason: { lastCase: st.lastCase ? { id: st.lastCase.id, day: st.lastCase.day } : null, rule: st.rule, why: r.why.get(st.rule) ?? null },
    moves,
    sealedBuildings,
    preset: r.label,
  };
}

/** A compound's zone on each day from `fromDay` to `toDay` (inclusive), with reasons and the next move. */
export function zoneHistory(facts: CompoundFacts | Prepared, preset: Preset, fromDay: Day, toDay: Day): ZoneDay[] {
  const from = dayNumber(fromDay);
  const to = dayNumber(toDay);
  if (to < from) throw new RangeError(`zoneHistory: ${toDay} is before ${fromDay}`);
  const r = rulesOf(preset);
  const f = prepareFacts(facts);
  const st = fresh();
  const out: ZoneDay[] = [];
  for (let d = from; d <= to; d++) {
    advance(st, r, f, d);
    out.push(snapshot(st, r, f, d));
  }
  return out;
}

/** A compound's zone on one day; facts after that day are not read. */
export function zoneOn(facts: CompoundFacts | Prepared, preset: Preset, day: Day): ZoneDay {
  const d = dayNumber(day);
  const r = rulesOf(preset);
  const f = prepareFacts(facts);
  const st = fresh();
  advance(st, r, f, d);
  return snapshot(st, r, f, d);
}

export interface EpidemicFree {
  free: boolean;
  /** The first day of the current epidemic-free run (null when not free). */
  since: Day | null;
  lastCase: { id: number; day: Day } | null;
  /** The all-negative screening that qualified it, or (when not free) the one it still needs. */
  screeningDay: Day | null;
  /** What is still missing (empty when free): days to wait, an all-negative screening on `screeningDay`, or both. */
  missing: ('cleanDays' | 'allNegativeScreening')[];
  /** When it becomes free if no positive comes and the screening it needs is all negative (null when free). */
  freeOn: Day | null;
  rule: string;
  preset: string;
}

/**
 * 无疫小区 (rules.md 5): no new positive in preset.zoning.epidemicFree.noPositiveDays days and everyone
 * negative on its allNegativeScreeningDay (counted from the last positive; a compound that never had one
 * needs any earlier all-negative screening). It lasts until a positive revokes it.
 */
export function epidemicFree(facts: CompoundFacts | Prepared, preset: Preset, day: Day): EpidemicFree {
  const d = dayNumber(day);
  const { noPositiveDays, allNegativeScreeningDay } = preset.zoning.epidemicFree;
  const f = prepareFacts(facts);
  let last: ZoneCase | null = null;
  for (let i = 0; i < f.caseDays.length && f.caseDays[i] <= d; i++) last = f.cases[i];
  const clock = last ? dayNumber(last.day) : -Infinity;
  const m = release(clock, noPositiveDays, allNegativeScreeningDay, f, d);
  const free = m.screenOn === null && m.on <= d;
  const screening = m.screened ?? m.screenOn;
  const missing: EpidemicFree['missing'] = [];
  // Days are missing too when the screening is done but the move comes N - S days after it.
  if (!free && (clock + noPositiveDays > d || m.screenOn === null)) missing.push('cleanDays');
  if (m.screenOn !== null) missing.push('allNegativeScreening');
  return {
    free,
    since: free ? dayText(m.on) : null,
    lastCase: last ? { id: last.id, day: last.day } : null,
    screeningDay: screening === null ? null : dayText(screening),
    missing,
    freeOn: free ? null : dayText(m.on),
    rule: `rules.md 5: no new positive in ${noPositiveDays} days and all negative on day ${allNegativeScreeningDay} -> epidemic-free; a positive revokes it`,
    preset: presetLabel(preset),
  };
}

export interface CompoundPlace {
  id: number;
  streetId: number;
  districtId: number;
}

export interface FreeAreas {
  /** Connected epidemic-free compounds (sharing an edge), each sorted by id, largest area first. */
  areas: number[][];
  /** Streets and districts wholly free by preset.zoning.epidemicFreeStreet. */
  streets: number[];
  districts: number[];
  preset: string;
}

/** The compounds and their adjacency prepared once for the free areas of many days (positions, not ids). */
export interface AreaGraph {
  ids: number[];
  position: Map<number, number>;
  /** Edges as pairs of positions. */
  a: Int32Array;
  b: Int32Array;
  streets: number[];
  districts: number[];
}

export function areaGraph(compounds: CompoundPlace[], adjacency: [number, number][]): AreaGraph {
  const position = new Map<number, number>();
  const ids: number[] = [];
  const streets: number[] = [];
  const districts: number[] = [];
  for (const c of compounds) {
    if (position.has(c.id)) continue;
    position.set(c.id, ids.length);
    ids.push(c.id);
    streets.push(c.streetId);
    districts.push(c.districtId);
  }
  const a: number[] = [];
  const b: number[] = [];
  for (const [x, y] of adjacency) {
    const px = position.get(x);
    const py = position.get(y);
    if (px === undefined || py === undefined || px === py) continue;
    a.push(px);
    b.push(py);
  }
  return { ids, position, a: Int32Array.from(a), b: Int32Array.from(b), streets, districts };
}

/**
 * The area of each compound (by position in the graph) among those flagged free: the smallest compound id
 * of its connected free compounds, or 0 when not free. Union-find with path halving: linear in the edges.
 */
export function freeAreaIds(g: AreaGraph, free: Uint8Array): Int32Array {
  const n = g.ids.length;
  const parent = new Int32Array(n);
  for (let i = 0; i < n; i++) parent[i] = i;
  const root = (i: number) => {
    while (parent[i] !== i) i = parent[i] = parent[parent[i]];
    return i;
  };
  for (let e = 0; e < g.a.length; e++) {
    const x = g.a[e];
    const y = g.b[e];
    if (!free[x] || !free[y]) continue;
    const rx = root(x);
    const ry = root(y);
    if (rx !== ry) parent[Math.max(rx, ry)] = Math.min(rx, ry);
  }
  // Each root's smallest id (positions need not be in id order).
  const smallest = new Float64Array(n).fill(Infinity);
  for (let i = 0; i < n; i++) if (free[i]) smallest[root(i)] = Math.min(smallest[root(i)], g.ids[i]);
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) if (free[i]) out[i] = smallest[root(i)];
  return out;
}

/** Streets and districts wholly free by preset.zoning.epidemicFreeStreet (none when the preset names no criterion). */
export function whollyFree(g: AreaGraph, free: Uint8Array, preset: Preset): { streets: number[]; districts: number[] } {
  if (!preset.zoning.epidemicFreeStreet.allCompoundsFree) return { streets: [], districts: [] };
  const streetFree = new Map<number, boolean>();
  const districtFree = new Map<number, boolean>();
  for (let i = 0; i < g.ids.length; i++) {
    const isFree = free[i] === 1;
    streetFree.set(g.streets[i], (streetFree.get(g.streets[i]) ?? true) && isFree);
    districtFree.set(g.districts[i], (districtFree.get(g.districts[i]) ?? true) && isFree);
  }
  const wholly = (m: Map<number, boolean>) => [...m].filter(([, ok]) => ok).map(([id]) => id).sort((x, y) => x - y);
  return { streets: wholly(streetFree), districts: wholly(districtFree) };
}

/**
 * The areas epidemic-free compounds form through `adjacency` (pairs of compound ids sharing an edge), and
 * the streets and districts wholly free. Only compounds in `compounds` count. A preset whose
 * epidemicFreeStreet.allCompoundsFree is false names no free street or district: rules.md 5 gives no other
 * criterion, so that is left to the command centre.
 */
export function freeAreas(compounds: CompoundPlace[], adjacency: [number, number][], free: ReadonlySet<number>, preset: Preset): FreeAreas {
  const g = areaGraph(compounds, adjacency);
  const flags = Uint8Array.from(g.ids, (id) => (free.has(id) ? 1 : 0));
  const area = freeAreaIds(g, flags);
  const groups = new Map<number, number[]>();
  for (let i = 0; i < g.ids.length; i++) {
    if (!area[i]) continue;
    const list = groups.get(area[i]);
    if (list) list.push(g.ids[i]);
    else groups.set(area[i], [g.ids[i]]);
  }
  const areas = [...groups.values()].map((x) => x.sort((p, q) => p - q)).sort((p, q) => q.length - p.length || p[0] - q[0]);
  return { areas, ...whollyFree(g, flags, preset), preset: presetLabel(preset) };
}

/** What was known about a new case at its detection (null: not so). */
export interface CaseAtDetection {
  /** The quarantine order (central or home) the person was under. */
  quarantineOrderId: number | null;
  /** The compound the person was in, if it was sealed before this case (not sealed by it). */
  sealedCompoundId: number | null;
  /** The positive pool whose single-tube retest found the person. */
  poolRetestTubeId: number | null;
}

export interface CaseLevel {
  level: 'controlled' | 'society';
  decidedBy: { fact: 'quarantine' | 'sealedCompound' | 'poolRetest'; id: number } | null;
  rule: string;
}

/**
 * 社会面 (rules.md 6): a case found inside control (in quarantine, in a sealed compound, already under a
 * pool retest) is not society-level; every other case is. The first of those facts decides.
 */
export function classifyCase(c: CaseAtDetection): CaseLevel {
  const rule = 'rules.md 6: society level = controlled and precaution zones and people outside closed-loop management';
  if (c.quarantineOrderId !== null) return { level: 'controlled', decidedBy: { fact: 'quarantine', id: c.quarantineOrderId }, rule };
  if (c.sealedCompoundId !== null) return { level: 'controlled', decidedBy: { fact: 'sealedCompound', id: c.sealedCompoundId }, rule };
  if (c.poolRetestTubeId !== null) return { level: 'controlled', decidedBy: { fact: 'poolRetest', id: c.poolRetestTubeId }, rule };
  return { level: 'society', decidedBy: null, rule };
}

export interface DailyCases {
  day: Day;
  cases: number;
}

export interface ClearanceDay {
  day: Day;
  cases: number;
  per100k: number;
  /** Days running (up to this one) under preset.clearance.basicallyZeroPer100k, and with none. */
  belowRun: number;
  zeroRun: number;
  basicallyZero: boolean;
  zero: boolean;
  rule: string;
  preset: string;
}

/**
 * District clearance (rules.md 6), per day from the first to the last day given (a day not given had no
 * society-level case): basically zero after preset.clearance.consecutiveDays days running under
 * basicallyZeroPer100k society-level cases per 100,000 people, zero after as many days with none.
 * `before`: the runs at the end of the day before the first (a series continued from a stored day).
 */
export function districtClearance(daily: DailyCases[], population: number, preset: Preset, before: { belowRun: number; zeroRun: number } = { belowRun: 0, zeroRun: 0 }): ClearanceDay[] {
  if (!(population > 0)) throw new RangeError('districtClearance: population must be positive');
  if (daily.length === 0) return [];
  const { basicallyZeroPer100k, consecutiveDays } = preset.clearance;
  const counts = new Map<number, number>();
  for (const d of daily) {
    if (!Number.isInteger(d.cases) || d.cases < 0) throw new RangeError(`districtClearance: bad case count on ${d.day}`);
    const n = dayNumber(d.day);
    counts.set(n, (counts.get(n) ?? 0) + d.cases);
  }
  const days = [...counts.keys()];
  const first = Math.min(...days);
  const last = Math.max(...days);
  const rule = `rules.md 6: basically zero under ${basicallyZeroPer100k} per 100,000 for ${consecutiveDays} days running; zero with none for ${consecutiveDays} days running`;
  const label = presetLabel(preset);
  const out: ClearanceDay[] = [];
  let belowRun = before.belowRun;
  let zeroRun = before.zeroRun;
  for (let d = first; d <= last; d++) {
    const cases = counts.get(d) ?? 0;
    const per100k = (cases * 100_000) / population;
    belowRun = per100k < basicallyZeroPer100k ? belowRun + 1 : 0;
    zeroRun = cases === 0 ? zeroRun + 1 : 0;
    out.push({ day: dayText(d), cases, per100k, belowRun, zeroRun, basicallyZero: belowRun >= consecutiveDays, zero: zeroRun >= consecutiveDays, rule, preset: label });
  }
  return out;
}
