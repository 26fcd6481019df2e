// Livelihood and vaccination rules as pure functions of facts, the preset and `now`: a request's priority,
// deadline and the steps it may take; the dispatch decision, which a person's status colour can shape
// (precautions) but never stop for medical care (rules.md 24); when an open request escalates; a person's
// vaccination state (primary series, booster due) and whether a booking slot can be taken.
// Numbers and lists come from the preset's `support` and `vaccination`.
import { presetLabel, type Preset } from '../core/presets.ts';
import { addDays } from '../core/days.ts';

export const REQUEST_KINDS = ['medicalEmergency', 'maternity', 'dialysis', 'chemotherapy', 'medicineRefill', 'food', 'other'] as const;
export type RequestKind = (typeof REQUEST_KINDS)[number];
export const REQUEST_STATUSES = ['open', 'accepted', 'onTheWay', 'done', 'refused'] as const;
export type RequestStatus = (typeof REQUEST_STATUSES)[number];
/** Statuses of a request still to be served: the queue, the overdue list and the escalation job read these. */
export const OPEN_STATUSES: readonly RequestStatus[] = ['open', 'accepted', 'onTheWay'];
export const COMPLAINT_KINDS = ['spoiled', 'expired', 'missing', 'damaged', 'late', 'refused', 'other'] as const;
export type ComplaintKind = (typeof COMPLAINT_KINDS)[number];
export type Colour = 'green' | 'yellow' | 'red';

export const isMedical = (kind: RequestKind, preset: Preset): boolean => (preset.support.medicalKinds as string[]).includes(kind);

/** Priority of a kind (1 first, emergencies), and the deadline counted from the filing. */
export function terms(kind: RequestKind, createdAt: Date, preset: Preset): { priority: number; deadlineAt: Date; medical: boolean; rule: string } {
  const s = preset.support;
  const hours = (s.deadlineHours as Record<RequestKind, number>)[kind];
  const priority = (s.priority as Record<RequestKind, number>)[kind];
  if (hours === undefined || priority === undefined) throw new Error(`Preset ${presetLabel(preset)} has no support settings for "${kind}"`);
  return {
    priority,
    deadlineAt: new Date(createdAt.getTime() + hours * 3_600_000),
    medical: isMedical(kind, preset),
    rule: `${kind}: priority ${priority}, within ${hours} h (${presetLabel(preset)} support.deadlineHours.${kind})`,
  };
}

/** What a new request must satisfy: a medicine refill lasts at most the preset's long-prescription limit (rules.md 24). */
export function requestProblem(r: { kind: RequestKind; prescriptionDays?: number | null }, preset: Preset): { code: string; text: string; max?: number; asked?: number } | null {
  const max = preset.support.maxPrescriptionDays;
  if (r.kind === 'medicineRefill') {
    if (!r.prescriptionDays) return { code: 'refillDaysNeeded', text: `A medicine refill needs prescriptionDays (at most ${max}).`, max };
    if (r.prescriptionDays > max) return { code: 'refillTooLong', text: `A refill may cover at most ${max} days (${presetLabel(preset)} support.maxPrescriptionDays); asked for ${r.prescriptionDays}.`, max, asked: r.prescriptionDays };
  } else if (r.prescriptionDays != null) {
    return { code: 'refillDaysOnly', text: 'prescriptionDays belongs to a medicine refill only.' };
  }
  return null;
}

export interface Dispatch {
  /** Always true: no status colour or test result holds a request back. */
  dispatch: true;
  medical: boolean;
  colour: Colour;
  /** How to serve a person under control: never whether. */
  precautions: string[];
  reasons: string[];
  preset: string;
}

/**
 * The dispatch decision for a request of a person whose status is `colour` (rules.md 24, "Failures to
 * design against"): a medical request is dispatched whatever the colour, and nobody may demand a negative
 * test first; a red or yellow colour only adds precautions (closed-loop transport, contactless delivery).
 */
export function dispatchDecision(kind: RequestKind, colour: Colour, preset: Preset): Dispatch {
  const label = presetLabel(preset);
  const medical = isMedical(kind, preset);
  const reasons = [
    medical
      ? `Medical access is never gated by status or a test result (rules.md 24; ${label} support.medicalNeverGated)`
      : 'Supplies reach every home whatever its status',
  ];
  const precautions: string[] = [];
  if (colour !== 'green') {
    reasons.push(`status ${colour}: served with precautions, not held back`);
    if (medical) precautions.push(colour === 'red' ? 'closedLoopTransport' : 'protectiveEquipment');
    else precautions.push('contactlessDelivery');
  }
  return { dispatch: true, medical, colour, precautions, reasons, preset: label };
}

/** The preset must keep medical access ungated; a copy that says otherwise is refused at start. */
export function assertMedicalNeverGated(preset: Preset): void {
  if (preset.support.medicalNeverGated !== true) throw new Error(`Preset ${presetLabel(preset)}: support.medicalNeverGated may not be false (rules.md 24)`);
  for (const k of ['medicalEmergency', 'maternity', 'dialysis'] as const) {
    if (!isMedical(k, preset)) throw new Error(`Preset ${presetLabel(preset)}: support.medicalKinds must include ${k} (rules.md 24)`);
  }
}

const NEXT: Record<RequestStatus, readonly RequestStatus[]> = {
  open: ['accepted', 'onTheWay', 'done', 'refused'],
  accepted: ['onTheWay', 'done', 'refused'],
  onTheWay: ['done'],
  done: [],
  refused: [],
};

/**
 * Whether a request may move from `from` to `to`, and if not why. A medical request is refused only by
 * command (a duplicate, already in hospital), never by a street's worker, and the refusal is reviewed.
 */
export function transition(from: RequestStatus, to: RequestStatus, r: { medical: boolean }, by: { command: boolean }): { ok: true; review: boolean } | { ok: false; why: string; code: 'requestCannotMove' | 'medicalRefusalByCommand' } {
  if (!NEXT[from].includes(to)) return { ok: false, why: `A request that is ${from} cannot become ${to}.`, code: 'requestCannotMove' };
  if (to === 'refused' && r.medical && !by.command) return { ok: false, why: 'A medical request is never refused by a street: only district or city command may close it, and it is reviewed.', code: 'medicalRefusalByCommand' };
  return { ok: true, review: to === 'refused' && r.medical };
}

/** Whether a request is overdue now: still to be served past its deadline. */
export const isOverdue = (r: { status: RequestStatus; deadlineAt: Date }, now: Date): boolean => OPEN_STATUSES.includes(r.status) && r.deadlineAt.getTime() < now.getTime();

/**
 * The escalation of an overdue request to its district: a task due within the kind's deadline again, and
 * an alert (critical for medical requests).
 */
export function escalation(r: { id: number; kind: RequestKind; medical: boolean; deadlineAt: Date }, preset: Preset, now: Date): { severity: 'critical' | 'warning'; dueAt: Date; overdueMinutes: number; rule: string } {
  const hours = (preset.support.deadlineHours as Record<RequestKind, number>)[r.kind];
  return {
    severity: r.medical ? 'critical' : 'warning',
    dueAt: new Date(now.getTime() + hours * 3_600_000),
    overdueMinutes: Math.max(0, Math.floor((now.getTime() - r.deadlineAt.getTime()) / 60_000)),
    rule: `past the ${hours} h deadline: escalated to the district (${presetLabel(preset)} support.deadlineHours.${r.kind})`,
  };
}

// --- vaccination ----------------------------------------------------------------------------------------

export interface DoseRecord {
  dose: number;
  product: string;
  /** YYYY-MM-DD */
  givenOn: string;
}

export interface VaccinationState {
  doses: number;
  /** Doses of the primary series for the first dose's product. */
  primaryDoses: number;
  primaryComplete: boolean;
  primaryCompletedOn: string | null;
  boosted: boolean;
  /** From when a booster is due (the preset's months after the primary series), while not boosted. */
  boosterDueFrom: string | null;
  boosterDue: boolean;
  next: { dose: number; series: 'primary' | 'booster'; earliest: string | null } | null;
  reasons: string[];
  preset: string;
}

const ymd = (d: Date) => d.toISOString().slice(0, 10);
function addMonths(day: string, n: number): string {
  const d = new Date(`${day}T00:00:00Z`);
  const target = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + n, 1));
  const last = new Date(Date.UTC(target.getUTCFullYear(), target.getUTCMonth() + 1, 0)).getUTCDate();
  target.setUTCDate(Math.min(d.getUTCDate(), last));
  return ymd(target);
}

/** Doses of the primary series for a product (the preset's default when it names no other). */
export function primaryDosesOf(product: string | null, preset: Preset): number {
  const byProduct = preset.vaccination.primaryDosesByProduct as Record<string, number>;
  return (product !== null ? byProduct[product] : undefined) ?? preset.vaccination.primaryDoses;
}

/** A person's vaccination from their doses (rules.md 33: booster >= the preset's months after the primary series). */
export function vaccinationState(records: DoseRecord[], preset: Preset, today: string): VaccinationState {
  const v = preset.vaccination;
  const label = presetLabel(preset);
  const sorted = [...records].sort((a, b) => a.dose - b.dose);
  const first = sorted.find((r) => r.dose === 1) ?? null;
  const primaryDoses = primaryDosesOf(first?.product ?? null, preset);
  const doses = sorted.length;
  const primaryComplete = doses >= primaryDoses;
  const primaryCompletedOn = primaryComplete ? sorted[primaryDoses - 1].givenOn : null;
  const boosted = doses > primaryDoses;
  const boosterDueFrom = primaryCompletedOn && !boosted ? addMonths(primaryCompletedOn, v.boosterAfterMonths) : null;
  const boosterDue = boosterDueFrom !== null && boosterDueFrom <= today;
  const reasons: string[] = [];
  let next: VaccinationState['next'] = null;
  if (!doses) {
    reasons.push('no dose recorded');
    next = { dose: 1, series: 'primary', earliest: null };
  } else if (!primaryComplete) {
    const last = sorted[doses - 1];
    reasons.push(`${doses} of ${primaryDoses} primary doses (${first?.product ?? 'unknown product'})`);
    next = { dose: doses + 1, series: 'primary', earliest: addDays(last.givenOn, v.minDaysBetweenPrimaryDoses) };
  } else if (!boosted) {
    reasons.push(`primary series complete on ${primaryCompletedOn}; booster ${boosterDue ? 'due' : 'from'} ${boosterDueFrom} (${label} vaccination.boosterAfterMonths)`);
    next = { dose: doses + 1, series: 'booster', earliest: boosterDueFrom };
  } else {
    reasons.push(`boosted (${doses} doses)`);
  }
  return { doses, primaryDoses, primaryComplete, primaryCompletedOn, boosted, boosterDueFrom, boosterDue, next, reasons, preset: label };
}

/**
 * A refusal by a vaccination rule as data, its code and the values in it (what a page words in its reader's
 * language), with the server's words in English.
 */
export type RuleProblem = { code: string; text: string } & Record<string, string | number>;

/** Problems with recording dose `dose` on `givenOn` after the doses already recorded. */
export function doseProblems(existing: DoseRecord[], dose: { dose: number; givenOn: string }, birthDate: string, today: string): RuleProblem[] {
  const out: RuleProblem[] = [];
  const { givenOn } = dose;
  if (givenOn > today) out.push({ code: 'doseInFuture', givenOn, text: `givenOn ${givenOn} is in the future.` });
  if (givenOn < birthDate) out.push({ code: 'doseBeforeBirth', givenOn, birthDate, text: `givenOn ${givenOn} is before the person's birth.` });
  if (existing.some((r) => r.dose === dose.dose)) out.push({ code: 'doseRecorded', dose: dose.dose, text: `Dose ${dose.dose} is already recorded; a record is never edited in place.` });
  const before = existing.find((r) => r.dose === dose.dose - 1);
  if (dose.dose > 1 && !before) out.push({ code: 'dosePreviousMissing', dose: dose.dose, previous: dose.dose - 1, text: `Dose ${dose.dose - 1} must be recorded before dose ${dose.dose}.` });
  if (before && before.givenOn > givenOn) {
    out.push({ code: 'doseBeforePrevious', dose: dose.dose, givenOn, previous: dose.dose - 1, previousOn: before.givenOn, text: `Dose ${dose.dose} (${givenOn}) cannot come before dose ${dose.dose - 1} (${before.givenOn}).` });
  }
  return out;
}

/** The body of a refusal for rule problems: the first one's code and values, and every one of them as data. */
export function problemsBody(problems: RuleProblem[]): Record<string, unknown> {
  const data = problems.map(({ text: _text, ...values }) => values);
  return { ...data[0], problems: data };
}

/** The local date and minutes after midnight of a moment, in the preset's time zone. */
export function localTime(at: Date, timeZone: string): { day: string; minutes: number } {
  const parts = Object.fromEntries(new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).formatToParts(at).map((p) => [p.type, p.value]));
  return { day: `${parts.year}-${parts.month}-${parts.day}`, minutes: Number(parts.hour) * 60 + Number(parts.minute) };
}

const minutesOf = (hhmm: string) => Number(hhmm.slice(0, 2)) * 60 + Number(hhmm.slice(3, 5));

/**
 * Whether an hour slot can be booked for the person's next dose at a sampling point: the point vaccinates,
 * the hour lies within its opening hours, it is not past, the dose is due by then, and the hour has room
 * (stations x the preset's bookings per station an hour).
 */
export function bookingProblems(
  point: { vaccinates: boolean; opens: string; closes: string; stations: number },
  slotAt: Date,
  state: VaccinationState,
  bookedInSlot: number,
  preset: Preset,
  now: Date,
): { problems: RuleProblem[]; capacity: number } {
  const label = presetLabel(preset);
  const capacity = point.stations * preset.vaccination.bookingsPerStationPerHour;
  const out: RuleProblem[] = [];
  if (!point.vaccinates) out.push({ code: 'pointNotVaccinating', text: 'This sampling point does not vaccinate.' });
  const local = localTime(slotAt, preset.reporting.timeZone);
  if (local.minutes < minutesOf(point.opens) || local.minutes + 60 > minutesOf(point.closes) + (point.closes.startsWith('23:59') ? 1 : 0)) {
    const [slot, opens, closes] = [`${String(Math.floor(local.minutes / 60)).padStart(2, '0')}:00`, point.opens.slice(0, 5), point.closes.slice(0, 5)];
    out.push({ code: 'slotOutsideHours', slot, opens, closes, text: `The slot ${slot} is outside the point's hours ${opens}-${closes}.` });
  }
  if (slotAt.getTime() < now.getTime()) out.push({ code: 'slotPassed', text: 'The slot has passed.' });
  if (!state.next) out.push({ code: 'noDoseToBook', text: 'Already boosted: no dose to book.' });
  else if (state.next.earliest && local.day < state.next.earliest) {
    const { dose, series, earliest } = state.next;
    out.push({ code: 'doseNotDue', dose, series, earliest, preset: label, text: `Dose ${dose} (${series}) is due from ${earliest} (${label} vaccination).` });
  }
  if (bookedInSlot >= capacity) {
    const perStation = preset.vaccination.bookingsPerStationPerHour;
    out.push({ code: 'slotFull', capacity, stations: point.stations, perStation, preset: label, text: `The slot is full (${capacity} bookings: ${point.stations} stations x ${perStation}, ${label} vaccination.bookingsPerStationPerHour).` });
  }
  return { problems: out, capacity };
}

// --- times to answer ------------------------------------------------------------------------------------

/**
 * The minutes a histogram bucket of support_bucket (migrations/012_support.sql) covers: whole minutes
 * under 10, then buckets 5 % wide; a percentile read from them is within 2.5 % of the exact one.
 */
export function bucketBounds(bucket: number): { from: number; to: number } {
  if (bucket < 10) return { from: bucket, to: bucket + 1 };
  return { from: 10 * 1.05 ** (bucket - 10), to: 10 * 1.05 ** (bucket - 9) };
}

/** The p-th percentile (nearest rank) of a histogram of minutes, as its bucket's value (a whole minute under 10, else the bucket's geometric middle, to 0.1). */
export function percentile(histogram: { bucket: number; n: number }[], p: number): number | null {
  const total = histogram.reduce((s, h) => s + h.n, 0);
  if (!total) return null;
  const rank = Math.max(1, Math.ceil(p * total));
  let seen = 0;
  for (const h of [...histogram].sort((a, b) => a.bucket - b.bucket)) {
    seen += h.n;
    if (seen >= rank) {
      if (h.bucket < 10) return h.bucket;
      const b = bucketBounds(h.bucket);
      return Math.round(Math.sqrt(b.from * b.to) * 10) / 10;
    }
  }
  return null;
}
