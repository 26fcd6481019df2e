// Status rules (rules.md "Health code", "Venue code and digital sentinel", 24): a person's colour as a pure
// function of recorded facts, the preset and `now`. Every reason names the fact that caused it and the rule.
import type { Preset } from '../core/presets.ts';
import { presetLabel } from '../core/presets.ts';
import { DAY_MS, localDay } from '../core/days.ts';
import type { HomeZone, Zone } from '../zoning/index.ts';

export type { HomeZone };

export type Colour = 'green' | 'yellow' | 'red';
export const COLOURS = ['green', 'yellow', 'red'] as const satisfies readonly Colour[];

/** The reasons a preset can list under red or yellow (rules.md 29). */
export type ReasonCode =
  | 'poolPositive'
  | 'confirmed'
  | 'asymptomatic'
  | 'suspected'
  | 'closeContact'
  | 'secondaryContact'
  | 'closeContactMonitoring'
  | 'dischargedMonitoring'
  | 'untested'
  | 'inbound'
  | 'inboundMonitoring'
  | 'highRiskArrival'
  | 'mediumRiskArrival'
  | 'lowRiskArrivalUntested';

/**
 * A home's zone that confines its residents (rules.md 1-2, 11): their compound's, or their building's while
 * it stays sealed. It does not colour the code: the zone is the compound's and changes for thousands at
 * once, so it is read where it applies (the person's own status, an entrance) instead of being stored in
 * each resident's status.
 */
export type ConfinedCode = 'sealedCompound' | 'controlledCompound' | 'sealedBuilding';

/** The preset's rule confining the residents of a zone, or null when the zone does not confine. */
export function confinementRule(zone: Zone, preset: Preset): string | null {
  return (preset.entry.confinedZones as Record<string, string | null | undefined>)[zone] ?? null;
}

/** The facts status reads. Each capability records its own; a list is empty where none exists yet. */
export interface PersonFacts {
  /** Positive single tubes (testing): a confirmed positive until a case's discharge says otherwise. */
  findings: { id: number; resultedAt: Date }[];
  /** Places under a positive pool's control pending a single-tube retest (testing). */
  poolControls: { id: number; poolBarcode: string; since: Date; clearedAt: Date | null }[];
  /** Cases (cases capability): positive until discharged. */
  cases: { id: number; kind: 'confirmed' | 'asymptomatic'; since: Date; dischargedAt: Date | null }[];
  /** Contact links (tracing capability): close or secondary, with the last exposure and the quarantine release. */
  contacts: { id: number; level: 'close' | 'secondary'; lastExposureAt: Date; releasedAt: Date | null }[];
  /** Screening rounds the person had to take: sampled at any time since the round began, or not. */
  rounds: { campaignId: number; name: string; startsAt: Date; endsAt: Date; sampledAt: Date | null }[];
  /** Times of the person's own tests: the latest sampling, and the latest sampling that came back negative. */
  lastSampledAt: Date | null;
  lastNegativeSampledAt: Date | null;
  /** Arrivals into the city (tracing capability): an inbound traveller, or from a high-, medium- or low-risk area. */
  arrivals: { id: number; kind: 'inbound' | 'highRisk' | 'mediumRisk' | 'lowRisk'; arrivedAt: Date }[];
  /** When the person was sampled since their first arrival from a low-risk area (read only for them: no other rule counts tests). */
  samplings: Date[];
  /** Positive antigen self-tests (testing capability). */
  antigenPositives: { id: number; testedAt: Date }[];
  /** The zone of the person's home today (compound or building); read only where it applies (see ConfinedCode). */
  home: HomeZone | null;
  /** Approved manual overrides (two persons); the latest one in force wins. */
  overrides: { id: number; colour: Colour; reason: string; requestedBy: string; approvedBy: string; approvedAt: Date; expiresAt: Date }[];
}

export const noFacts = (): PersonFacts => ({ findings: [], poolControls: [], cases: [], contacts: [], rounds: [], lastSampledAt: null, lastNegativeSampledAt: null, arrivals: [], samplings: [], antigenPositives: [], home: null, overrides: [] });

export interface Reason {
  code: ReasonCode | ConfinedCode | 'override';
  /** The colour the reason gives; a confinement gives none and says green. */
  colour: Colour;
  /** The recorded fact: its kind and id, and when it took effect. */
  fact: { kind: string; id: number; at: string };
  /** The rule that applies, with the preset that holds its numbers. */
  rule: string;
  /** When this reason stops applying by itself, if it does. */
  until: string | null;
  /** Set when a manual override decides the colour instead. */
  overridden?: boolean;
  text: string;
}

export interface Prompt {
  code: 'testOverdue' | 'arrivalTests';
  /** Overdue since (a missing test), or the arrival the tests are asked for. */
  since: string | null;
  /** An arrival's tests: the time they are due by, how many are asked for and how many days have one. */
  due?: string;
  needed?: number;
  taken?: number;
  text: string;
}

export interface Status {
  colour: Colour;
  reasons: Reason[];
  /** When the colour will change by itself if no new fact arrives (null: it will not). */
  changesAt: string | null;
  prompts: Prompt[];
  preset: string;
}

const HOUR = 3_600_000;
const rank: Record<Colour, number> = { green: 0, yellow: 1, red: 2 };
const iso = (d: Date | null) => (d ? d.toISOString() : null);

/** The colour a reason code carries under the preset, or null when the preset does not list it. */
export function colourOf(code: ReasonCode, preset: Preset): Colour | null {
  if ((preset.status.red as string[]).includes(code)) return 'red';
  if ((preset.status.yellow as string[]).includes(code)) return 'yellow';
  return null;
}

/** Every reason in force at `now`, before overrides. */
function reasonsAt(f: PersonFacts, preset: Preset, now: Date): Reason[] {
  const out: Reason[] = [];
  const t = now.getTime();
  const add = (code: ReasonCode, fact: Reason['fact'], rule: string, until: Date | null, text: string) => {
    const colour = colourOf(code, preset);
    if (colour) out.push({ code, colour, fact, rule: `${rule}; ${presetLabel(preset)} status.${colour}`, until: iso(until), text });
  };
  const negativeSince = (d: Date) => f.lastNegativeSampledAt !== null && f.lastNegativeSampledAt.getTime() >= d.getTime();

  for (const c of f.poolControls) {
    if (c.since.getTime() <= t && (c.clearedAt === null || c.clearedAt.getTime() > t)) {
      add('poolPositive', { kind: 'poolControl', id: c.id, at: c.since.toISOString() }, 'rules.md 15, 29', null, `In positive pool ${c.poolBarcode}, waiting for a single-tube retest`);
    }
  }
  const discharged = f.cases.filter((c) => c.dischargedAt !== null);
  const lastDischarge = discharged.length ? Math.max(...discharged.map((c) => c.dischargedAt!.getTime())) : null;
  for (const p of f.findings) {
    // A positive finding is red until a case that follows it is discharged.
    if (p.resultedAt.getTime() <= t && (lastDischarge === null || lastDischarge < p.resultedAt.getTime())) {
      add('confirmed', { kind: 'positiveFinding', id: p.id, at: p.resultedAt.toISOString() }, 'rules.md 16, 29', null, 'Positive single-tube PCR result');
    }
  }
  for (const c of f.cases) {
    if (c.since.getTime() > t) continue;
    if (c.dischargedAt === null || c.dischargedAt.getTime() > t) {
      add(c.kind, { kind: 'case', id: c.id, at: c.since.toISOString() }, 'rules.md 29', null, c.kind === 'confirmed' ? 'Confirmed case' : 'Asymptomatic infection');
    } else {
      const until = new Date(c.dischargedAt.getTime() + preset.status.revert.dischargedYellowDays * DAY_MS);
      if (t < until.getTime()) add('dischargedMonitoring', { kind: 'case', id: c.id, at: c.dischargedAt.toISOString() }, 'rules.md 29-30', until, 'Discharged, in home health monitoring');
    }
  }
  for (const c of f.contacts) {
    const from = c.lastExposureAt.getTime();
    if (from > t) continue;
    const fact = { kind: 'contact', id: c.id, at: c.lastExposureAt.toISOString() };
    if (c.level === 'close') {
      const greenDay = new Date(from + preset.status.revert.closeContactGreenDay * DAY_MS);
      const released = c.releasedAt !== null && c.releasedAt.getTime() <= t;
      if (!released && t < greenDay.getTime()) add('closeContact', fact, 'rules.md 29-30', greenDay, 'Close contact of a case');
      else if (t < greenDay.getTime() || !negativeSince(c.lastExposureAt)) {
        // Green from the green day, and only with a negative test taken after the exposure.
        add('closeContactMonitoring', fact, 'rules.md 29-30', t < greenDay.getTime() ? greenDay : null, t < greenDay.getTime() ? 'Close contact, released from quarantine, in health monitoring' : 'Close contact: a negative test after the exposure is needed');
      }
    } else {
      const greenAt = new Date(from + preset.status.revert.secondaryGreenDaysAfterContact * DAY_MS);
      if (t < greenAt.getTime() || !negativeSince(c.lastExposureAt)) {
        add('secondaryContact', fact, 'rules.md 29-30', t < greenAt.getTime() ? greenAt : null, t < greenAt.getTime() ? 'Secondary contact' : 'Secondary contact: a negative test after the exposure is needed');
      }
    }
  }
  const revert = preset.status.revert;
  for (const a of f.arrivals) {
    const from = a.arrivedAt.getTime();
    if (from > t) continue;
    // Where from stays in the arrival's record: the reason, shown at entrances too, names only the kind.
    const fact = { kind: 'arrival', id: a.id, at: a.arrivedAt.toISOString() };
    const after = (days: number) => new Date(from + days * DAY_MS);
    if (a.kind === 'inbound') {
      // Red for the preset's days from the arrival, then yellow for its days more (rules.md 30).
      const redUntil = after(revert.inboundRedDays);
      const yellowUntil = after(revert.inboundRedDays + revert.inboundYellowDays);
      if (t < redUntil.getTime()) add('inbound', fact, 'rules.md 29-30', redUntil, 'Inbound traveller');
      else if (t < yellowUntil.getTime()) add('inboundMonitoring', fact, 'rules.md 29-30', yellowUntil, 'Inbound traveller, in health monitoring');
    } else if (a.kind === 'highRisk') {
      // rules.md 11: 7 days of central quarantine after an arrival from a high-risk area, 7 at home from a medium-risk one.
      const until = after(revert.highRiskArrivalRedDays);
      if (t < until.getTime()) add('highRiskArrival', fact, 'rules.md 11, 29', until, 'Arrived from a high-risk area');
    } else if (a.kind === 'mediumRisk') {
      const until = after(revert.mediumRiskArrivalYellowDays);
      if (t < until.getTime()) add('mediumRiskArrival', fact, 'rules.md 11, 29', until, 'Arrived from a medium-risk area');
    } else {
      // rules.md 11: no quarantine from a low-risk area, but tests on so many days within so many (三天两检). Missed,
      // it is yellow once those days are over, as a missed screening round is (rules.md 18), until made up.
      const { tests, withinDays } = preset.status.lowRiskArrival;
      const taken = testDays(f, a.arrivedAt, now, preset);
      if (t >= after(withinDays).getTime() && taken < tests) {
        add('lowRiskArrivalUntested', fact, 'rules.md 11, 18, 29', null, `Arrived from a low-risk area: tests on ${tests} days within ${withinDays} were asked for, ${taken} taken; green again once tested on ${tests} days`);
      }
    }
  }
  if (preset.status.suspectedOnPositiveAntigen) {
    // A positive antigen self-test is a suspected case until a PCR test sampled after it: a negative one clears
    // it, a positive one (or a case) stands in its place as the reason (rules.md 17, 29).
    for (const a of f.antigenPositives) {
      const at = a.testedAt.getTime();
      if (at > t) continue;
      const after = (d: Date) => d.getTime() >= at && d.getTime() <= t;
      if (negativeSince(a.testedAt) || f.findings.some((p) => after(p.resultedAt)) || f.cases.some((c) => after(c.since))) continue;
      add('suspected', { kind: 'antigenReport', id: a.id, at: a.testedAt.toISOString() }, 'rules.md 17, 29', null, 'Positive antigen self-test, waiting for a PCR test');
    }
  }
  for (const r of f.rounds) {
    if (r.endsAt.getTime() <= t && (r.sampledAt === null || r.sampledAt.getTime() > t)) {
      add('untested', { kind: 'screeningRound', id: r.campaignId, at: r.endsAt.toISOString() }, 'rules.md 18, 29', null, `Not tested in screening round "${r.name}"; green again once sampled`);
    }
  }
  return out;
}

/** On how many local days the person was sampled from `since` up to `now` (two samplings in a day count once). */
function testDays(f: PersonFacts, since: Date, now: Date, preset: Preset): number {
  const days = new Set<string>();
  for (const s of f.samplings) if (s.getTime() >= since.getTime() && s.getTime() <= now.getTime()) days.add(localDay(s, preset.reporting.timeZone));
  return days.size;
}

/** The tests an arrival from a low-risk area is asked for, while its days last and until they are taken. */
function arrivalPrompts(f: PersonFacts, preset: Preset, now: Date): Prompt[] {
  const { tests, withinDays } = preset.status.lowRiskArrival;
  const out: Prompt[] = [];
  for (const a of f.arrivals) {
    if (a.kind !== 'lowRisk' || a.arrivedAt.getTime() > now.getTime()) continue;
    const due = new Date(a.arrivedAt.getTime() + withinDays * DAY_MS);
    const taken = testDays(f, a.arrivedAt, now, preset);
    if (now.getTime() < due.getTime() && taken < tests) {
      out.push({ code: 'arrivalTests', since: a.arrivedAt.toISOString(), due: due.toISOString(), needed: tests, taken, text: `Arrived from a low-risk area: please get tested on ${tests} days by ${due.toISOString()} (${taken} so far)` });
    }
  }
  return out;
}

function overrideAt(f: PersonFacts, t: number) {
  const live = f.overrides.filter((o) => o.approvedAt.getTime() <= t && o.expiresAt.getTime() > t);
  return live.sort((a, b) => b.approvedAt.getTime() - a.approvedAt.getTime())[0] ?? null;
}

function colourAt(f: PersonFacts, preset: Preset, now: Date): Colour {
  const o = overrideAt(f, now.getTime());
  if (o) return o.colour;
  return reasonsAt(f, preset, now).reduce<Colour>((c, r) => (rank[r.colour] > rank[c] ? r.colour : c), 'green');
}

/** A person's status at `now`: colour, every reason with its fact and rule, when it changes, and prompts. */
export function statusOf(f: PersonFacts, preset: Preset, now: Date): Status {
  const t = now.getTime();
  const reasons = reasonsAt(f, preset, now);
  let colour = reasons.reduce<Colour>((c, r) => (rank[r.colour] > rank[c] ? r.colour : c), 'green');
  const o = overrideAt(f, t);
  if (o) {
    for (const r of reasons) r.overridden = true;
    reasons.unshift({
      code: 'override',
      colour: o.colour,
      fact: { kind: 'override', id: o.id, at: o.approvedAt.toISOString() },
      // Who asked and who approved are in the audit log and the override list, not in what the person reads.
      rule: 'manual override: asked for by one person, approved by a second',
      until: o.expiresAt.toISOString(),
      text: o.reason,
    });
    colour = o.colour;
  }
  const home = f.home;
  const confined = home && confinementRule(home.zone, preset);
  if (home && confined) {
    const building = home.building;
    reasons.push({
      code: building ? 'sealedBuilding' : home.zone === 'sealed' ? 'sealedCompound' : 'controlledCompound',
      colour: 'green',
      // A building is kept sealed by a case in it; a compound's zone is the zoning's, by the compound.
      fact: building ? { kind: 'case', id: building.caseId, at: iso(home.since) ?? '' } : { kind: 'compoundZone', id: home.compoundId, at: iso(home.since) ?? '' },
      rule: `${confined}${building ? '; a positive in the sealed week keeps its building sealed (rules.md 1)' : ''}; ${presetLabel(preset)} entry.confinedZones`,
      until: iso(home.movesAt),
      text: building
        ? 'Your building is still sealed after a positive in it: stay home; entrances refuse you'
        : home.zone === 'sealed'
          ? 'Your compound is sealed: stay home; entrances outside it refuse you'
          : 'Your compound is controlled: stay inside it; entrances outside it refuse you',
    });
  }
  // The colour changes by itself only at a time some fact names: try each, in order.
  const moments = [
    ...reasons.map((r) => r.until),
    ...f.overrides.flatMap((x) => [x.approvedAt.toISOString(), x.expiresAt.toISOString()]),
    ...f.rounds.map((r) => r.endsAt.toISOString()),
    ...f.contacts.flatMap((c) => [c.lastExposureAt, c.releasedAt].filter((d): d is Date => d !== null).map((d) => d.toISOString())),
    ...f.arrivals.map((a) => a.arrivedAt.toISOString()),
    ...f.arrivals.filter((a) => a.kind === 'lowRisk').map((a) => new Date(a.arrivedAt.getTime() + preset.status.lowRiskArrival.withinDays * DAY_MS).toISOString()),
    ...f.antigenPositives.map((a) => a.testedAt.toISOString()),
  ]
    .filter((m): m is string => m !== null && Date.parse(m) > t)
    .sort();
  const changesAt = moments.find((m) => colourAt(f, preset, new Date(m)) !== colour) ?? null;
  const prompts: Prompt[] = arrivalPrompts(f, preset, now);
  const overdueAfter = preset.status.overdueTestPromptHours * HOUR;
  if (f.lastSampledAt === null || t - f.lastSampledAt.getTime() > overdueAfter) {
    prompts.push({ code: 'testOverdue', since: f.lastSampledAt ? new Date(f.lastSampledAt.getTime() + overdueAfter).toISOString() : null, text: `No test in the last ${preset.status.overdueTestPromptHours} hours: please get tested` });
  }
  return { colour, reasons, changesAt, prompts, preset: presetLabel(preset) };
}

/** A venue's entry rule (rules.md 27): the preset's default unless the venue sets its own. */
export interface EntryRule {
  negativePcrWithinHours: number | null;
  orSampledWithinHours: number | null;
  requireGreen: boolean;
}

export interface EntryDecision {
  admit: boolean;
  /** Why, in the order checked: what the person at the door is shown (the server's words, made from `why`). */
  because: string[];
  /** The same as data, for a screen to word in its reader's language. */
  why: EntryWhy[];
}

/** A reason of an entry decision as data: its code and the numbers in it. */
export type EntryWhy =
  | { code: 'emergency' | 'notGreen'; colour: Colour }
  | { code: 'negativeWithin' | 'sampledWithin'; hours: number }
  | { code: 'noNegative'; hours: number; sampledHours: number | null }
  | { code: 'noCondition' }
  | { code: 'confined'; zone: Zone }
  | { code: 'confinedBuilding' };

/** An entry reason in the server's words (English). */
export function entryText(w: EntryWhy): string {
  switch (w.code) {
    case 'emergency':
      return `Medical emergency entrance: never refused (rules.md 24); status ${w.colour}`;
    case 'notGreen':
      return `Status is ${w.colour}, the venue admits green only`;
    case 'negativeWithin':
      return `Negative PCR sampled within ${w.hours} h`;
    case 'sampledWithin':
      return `Sampled within ${w.hours} h`;
    case 'noNegative':
      return `No negative PCR sampled within ${w.hours} h${w.sampledHours !== null ? ` and no sampling within ${w.sampledHours} h` : ''}`;
    case 'noCondition':
      return 'No entry condition';
    case 'confined':
      return `Lives in a ${w.zone} compound and may not leave it (rules.md 1-2, 11)`;
    case 'confinedBuilding':
      return 'Lives in a building still sealed after a positive in it, and may not leave it (rules.md 1)';
  }
}

/**
 * Whether a person may enter: green when the rule asks for it, and a negative test sampled within the
 * window (or, where the rule allows, any sampling within its shorter window), and not confined to a home
 * compound elsewhere by its zone (a venue inside that compound is theirs to use) nor to a sealed building
 * (no venue at all). A medical facility's
 * emergency entrance admits everyone, whatever their status or zone (rules.md 24).
 */
export function entryDecision(
  status: Pick<Status, 'colour'>,
  tests: { lastSampledAt: Date | null; lastNegativeSampledAt: Date | null },
  rule: EntryRule,
  gate: 'venue' | 'medicalEmergency',
  preset: Preset,
  now: Date,
  place: { home: HomeZone | null; venueCompoundId: number | null } = { home: null, venueCompoundId: null },
): EntryDecision {
  if (gate === 'medicalEmergency' && preset.entry.medicalEmergencyNeverRefuses) {
    const why: EntryWhy[] = [{ code: 'emergency', colour: status.colour }];
    return { admit: true, because: why.map(entryText), why };
  }
  const why: EntryWhy[] = [];
  let admit = true;
  const home = place.home;
  // A compound's residents may use what is inside it; a sealed building's stay home.
  if (home && confinementRule(home.zone, preset) && (home.building !== null || place.venueCompoundId !== home.compoundId)) {
    admit = false;
    why.push(home.building ? { code: 'confinedBuilding' } : { code: 'confined', zone: home.zone });
  }
  if (rule.requireGreen && status.colour !== 'green') {
    admit = false;
    why.push({ code: 'notGreen', colour: status.colour });
  }
  if (rule.negativePcrWithinHours !== null) {
    const t = now.getTime();
    const negOk = tests.lastNegativeSampledAt !== null && t - tests.lastNegativeSampledAt.getTime() <= rule.negativePcrWithinHours * HOUR;
    const sampledOk = rule.orSampledWithinHours !== null && tests.lastSampledAt !== null && t - tests.lastSampledAt.getTime() <= rule.orSampledWithinHours * HOUR;
    if (negOk) why.push({ code: 'negativeWithin', hours: rule.negativePcrWithinHours });
    else if (sampledOk) why.push({ code: 'sampledWithin', hours: rule.orSampledWithinHours! });
    else {
      admit = false;
      why.push({ code: 'noNegative', hours: rule.negativePcrWithinHours, sampledHours: rule.orSampledWithinHours });
    }
  }
  if (admit && why.length === 0) why.push({ code: 'noCondition' });
  return { admit, because: why.map(entryText), why };
}
