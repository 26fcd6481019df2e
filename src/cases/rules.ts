// Care rules as pure functions of facts, the preset and `now`: severity from what the clinician observed,
// triage to a shelter hospital, a designated hospital or its ICU, and readiness for discharge.
// Numbers and lists come from the preset's `triage` and `discharge` (rules.md 19-23).
import { presetLabel, type Preset } from '../core/presets.ts';
import { DAY_MS } from '../core/days.ts';

export const SEVERITIES = ['mild', 'moderate', 'severe', 'critical'] as const;
export type Severity = (typeof SEVERITIES)[number];
export const DESTINATIONS = ['shelterHospital', 'designatedHospital', 'icu'] as const;
export type Destination = (typeof DESTINATIONS)[number];
export type BedType = 'general' | 'icu';

/** The kind of facility and the type of bed a destination needs. */
export function bedFor(d: Destination): { facilityKind: 'shelterHospital' | 'designatedHospital'; bedType: BedType } {
  return d === 'icu' ? { facilityKind: 'designatedHospital', bedType: 'icu' } : { facilityKind: d, bedType: 'general' };
}

/** What the registry knows of a patient (rules.md 20). */
export interface Patient {
  birthDate: Date;
  comorbidities: string[];
  pregnancy: string;
  careNeeds: string[];
  vaccineDoses: number;
}

/** A clinician's observation: the severity they judge, and the signs that may imply a worse one. */
export interface Observation {
  severity?: Severity | null;
  pneumonia?: boolean | null;
  respiratoryRate?: number | null;
  spo2?: number | null;
  pao2Fio2?: number | null;
  lesionGrowthPercent48h?: number | null;
  mechanicalVentilation?: boolean | null;
  shock?: boolean | null;
  organFailure?: boolean | null;
  temperature?: number | null;
  improving?: boolean | null;
}

const order = (s: Severity) => SEVERITIES.indexOf(s);

/**
 * A reason of the care rules as data: its code and the numbers in it. The server words it in English
 * (`careText`, what the API's `reasons` and `missing` carry and the audit keeps); a page words the same data
 * in its reader's language.
 */
export type CareWhy =
  | { code: 'clinician' | 'unchanged'; severity: Severity }
  | { code: 'pneumonia' | 'ventilation' | 'shock' | 'organFailure' | 'noSigns' | 'notImproving' }
  | { code: 'respiratoryRate' | 'spo2' | 'pao2Fio2' | 'lesionGrowth'; value: number; limit: number }
  | { code: 'place'; severity: Severity; destination: Destination; preset: string }
  | { code: 'highRisk' | 'riskNoted'; factors: string; preset: string }
  | { code: 'moreResults'; count: number; ct: number; hours: number; preset: string }
  | { code: 'afebrile'; days: number; of: number; preset: string };

/** A care reason in the server's words (English). */
export function careText(w: CareWhy): string {
  switch (w.code) {
    case 'clinician':
      return `clinician: ${w.severity}`;
    case 'unchanged':
      return `unchanged (${w.severity})`;
    case 'noSigns':
      return 'no signs beyond mild';
    case 'pneumonia':
      return 'pneumonia on imaging (moderate)';
    case 'respiratoryRate':
      return `respiratory rate ${w.value} >= ${w.limit}`;
    case 'spo2':
      return `SpO2 ${w.value}% <= ${w.limit}%`;
    case 'pao2Fio2':
      return `PaO2/FiO2 ${w.value} <= ${w.limit}`;
    case 'lesionGrowth':
      return `lesions +${w.value}% in 24-48 h`;
    case 'ventilation':
      return 'mechanical ventilation';
    case 'shock':
      return 'shock';
    case 'organFailure':
      return 'other organ failure';
    case 'place':
      return `${w.severity} -> ${w.destination} (${w.preset} triage.${w.severity})`;
    case 'highRisk':
      return `high risk: ${w.factors} -> designatedHospital, never a shelter (${w.preset} triage.toHospital)`;
    case 'riskNoted':
      return `risk factors noted: ${w.factors}`;
    case 'moreResults':
      return `${w.count} more result(s) with ORF1ab and N Ct >= ${w.ct}, >= ${w.hours} h apart (${w.preset} discharge)`;
    case 'afebrile':
      return `afebrile ${w.days} of ${w.of} days (${w.preset} discharge.hospitalAfebrileDays)`;
    case 'notImproving':
      return 'clinician has not recorded improvement';
  }
}

/** Age in whole years on `now`. */
export function ageOn(birthDate: Date, now: Date): number {
  let age = now.getUTCFullYear() - birthDate.getUTCFullYear();
  if (now.getUTCMonth() < birthDate.getUTCMonth() || (now.getUTCMonth() === birthDate.getUTCMonth() && now.getUTCDate() < birthDate.getUTCDate())) age--;
  return age;
}

/**
 * Severity from an observation (rules.md 21): the clinician's judgement, raised by any sign of a worse
 * one (severe: RR, SpO2, PaO2/FiO2 or lesion growth past the preset's limits; critical: ventilation,
 * shock, organ failure; moderate: pneumonia). Never lower than `previous` unless the clinician says so.
 */
export function severityOf(o: Observation, previous: Severity | null, preset: Preset): { severity: Severity; reasons: string[]; why: CareWhy[] } {
  const c = preset.triage.severeCriteria;
  const why: CareWhy[] = [];
  let s: Severity = o.severity ?? previous ?? 'mild';
  if (o.severity) why.push({ code: 'clinician', severity: o.severity });
  const raise = (to: Severity, w: CareWhy) => {
    if (order(to) > order(s)) {
      s = to;
      why.push(w);
    }
  };
  if (o.pneumonia) raise('moderate', { code: 'pneumonia' });
  if (o.respiratoryRate != null && o.respiratoryRate >= c.respiratoryRateAtLeast) raise('severe', { code: 'respiratoryRate', value: o.respiratoryRate, limit: c.respiratoryRateAtLeast });
  if (o.spo2 != null && o.spo2 <= c.spo2AtMost) raise('severe', { code: 'spo2', value: o.spo2, limit: c.spo2AtMost });
  if (o.pao2Fio2 != null && o.pao2Fio2 <= c.pao2Fio2AtMost) raise('severe', { code: 'pao2Fio2', value: o.pao2Fio2, limit: c.pao2Fio2AtMost });
  if (o.lesionGrowthPercent48h != null && o.lesionGrowthPercent48h >= c.lesionGrowthPercentIn48h) raise('severe', { code: 'lesionGrowth', value: o.lesionGrowthPercent48h, limit: c.lesionGrowthPercentIn48h });
  if (o.mechanicalVentilation) raise('critical', { code: 'ventilation' });
  if (o.shock) raise('critical', { code: 'shock' });
  if (o.organFailure) raise('critical', { code: 'organFailure' });
  if (!why.length) why.push(previous ? { code: 'unchanged', severity: previous } : { code: 'noSigns' });
  return { severity: s, reasons: why.map(careText), why };
}

export interface RiskFactor {
  /** The group of rules.md 20 / 22 it belongs to. */
  group: 'ageOver' | 'child' | 'comorbidity' | 'pregnancy' | 'careNeed';
  value: string;
  /** Whether the preset sends this group to a designated hospital rather than a shelter. */
  toHospital: boolean;
  /** The listed item (a comorbidity, a stage of pregnancy, a care need), or for an age group the age and the preset's limit: what a page words in its language. */
  item?: string;
  age?: number;
  limit?: number;
}

/** The patient's high-risk factors under the preset (rules.md 20, 22), and which of them decide the place. */
export function riskFactors(p: Patient, preset: Preset, now: Date): RiskFactor[] {
  const t = preset.triage;
  const h = t.toHospital;
  const age = ageOn(p.birthDate, now);
  const out: RiskFactor[] = [];
  if (age > t.highRiskAgeOver) out.push({ group: 'ageOver', value: `age ${age} > ${t.highRiskAgeOver}`, toHospital: h.ageOver, age, limit: t.highRiskAgeOver });
  if (age < t.childAgeUnder) out.push({ group: 'child', value: `age ${age} < ${t.childAgeUnder}`, toHospital: h.children, age, limit: t.childAgeUnder });
  for (const c of p.comorbidities) {
    const listed = t.highRiskComorbidities.includes(c);
    const hospital = h.comorbidities.includes(c);
    if (listed || hospital) out.push({ group: 'comorbidity', value: c, toHospital: hospital, item: c });
  }
  if (t.highRiskPregnancy.includes(p.pregnancy) || h.pregnancy.includes(p.pregnancy)) out.push({ group: 'pregnancy', value: `pregnancy (${p.pregnancy})`, toHospital: h.pregnancy.includes(p.pregnancy), item: p.pregnancy });
  for (const n of p.careNeeds) {
    if (t.highRiskCareNeeds.includes(n) || h.careNeeds.includes(n)) out.push({ group: 'careNeed', value: n, toHospital: h.careNeeds.includes(n), item: n });
  }
  return out;
}

export interface Triage {
  destination: Destination;
  severity: Severity;
  /** What the registry said of the patient when triaged. */
  patient: { age: number; vaccineDoses: number };
  reasons: string[];
  /** The same reasons as data (CareWhy), in the same order. */
  why: CareWhy[];
  riskFactors: RiskFactor[];
  preset: string;
}

const rank = (d: Destination) => DESTINATIONS.indexOf(d);

/**
 * Where a case is cared for (rules.md 19, 22): the preset's place for its severity, and a designated
 * hospital at least for anyone in a group the preset sends there (never a shelter, when it says so).
 */
export function triage(p: Patient, severity: Severity, preset: Preset, now: Date): Triage {
  const t = preset.triage;
  const label = presetLabel(preset);
  let destination = t[severity] as Destination;
  const why: CareWhy[] = [{ code: 'place', severity, destination, preset: label }];
  const factors = riskFactors(p, preset, now);
  const decisive = factors.filter((f) => f.toHospital);
  if (t.highRiskToHospital && decisive.length && rank(destination) < rank('designatedHospital')) {
    destination = 'designatedHospital';
    why.push({ code: 'highRisk', factors: decisive.map((f) => f.value).join(', '), preset: label });
  } else if (factors.length) {
    why.push({ code: 'riskNoted', factors: factors.map((f) => f.value).join(', '), preset: label });
  }
  return { destination, severity, patient: { age: ageOn(p.birthDate, now), vaccineDoses: p.vaccineDoses }, reasons: why.map(careText), why, riskFactors: factors, preset: label };
}

/** A PCR result of the patient's own (single) tube. A negative without Ct values counts as not detected. */
export interface CareTest {
  sampledAt: Date;
  verdict: 'positive' | 'negative' | 'invalid';
  ctOrf1ab: number | null;
  ctN: number | null;
}

export interface DischargeReadiness {
  ready: boolean;
  /** The tests that satisfy the rule (oldest first), when they do. */
  tests: CareTest[];
  /** What is still missing, in words; empty when ready. */
  missing: string[];
  /** The same as data (CareWhy), in the same order. */
  missingWhy: CareWhy[];
  preset: string;
}

/**
 * Ready for discharge (rules.md 23): the latest results, back to the last one under the Ct limit, include
 * the preset's number of samples with both Ct values at or above it, each at least `hoursApart` after
 * the previous; a hospital case must also be afebrile for `hospitalAfebrileDays` and improving.
 */
export function dischargeReadiness(
  c: { inHospital: boolean; reportedAt: Date; lastFeverAt: Date | null; improving: boolean | null },
  tests: CareTest[],
  preset: Preset,
  now: Date,
): DischargeReadiness {
  const d = preset.discharge;
  const label = presetLabel(preset);
  const clear = (x: CareTest) => x.verdict === 'negative' && (x.ctOrf1ab === null || x.ctOrf1ab >= d.ctAtLeast) && (x.ctN === null || x.ctN >= d.ctAtLeast);
  const clearOrLow = (x: CareTest) => clear(x) || (x.verdict === 'positive' && x.ctOrf1ab !== null && x.ctN !== null && x.ctOrf1ab >= d.ctAtLeast && x.ctN >= d.ctAtLeast);
  const sorted = tests.filter((x) => x.verdict !== 'invalid' && x.sampledAt.getTime() <= now.getTime()).sort((a, b) => a.sampledAt.getTime() - b.sampledAt.getTime());
  // Only the run of results since the last one under the limit counts.
  let start = sorted.length;
  while (start > 0 && clearOrLow(sorted[start - 1])) start--;
  const run = sorted.slice(start);
  const used: CareTest[] = [];
  for (const x of run) if (!used.length || x.sampledAt.getTime() - used[used.length - 1].sampledAt.getTime() >= d.hoursApart * 3_600_000) used.push(x);
  const missing: CareWhy[] = [];
  if (used.length < d.negativeSamples) missing.push({ code: 'moreResults', count: d.negativeSamples - used.length, ct: d.ctAtLeast, hours: d.hoursApart, preset: label });
  if (c.inHospital) {
    const afebrileSince = c.lastFeverAt ?? c.reportedAt;
    const days = (now.getTime() - afebrileSince.getTime()) / DAY_MS;
    if (days < d.hospitalAfebrileDays) missing.push({ code: 'afebrile', days: Math.max(0, Math.floor(days)), of: d.hospitalAfebrileDays, preset: label });
    if (c.improving !== true) missing.push({ code: 'notImproving' });
  }
  return { ready: missing.length === 0, tests: missing.length ? [] : used.slice(0, d.negativeSamples), missing: missing.map(careText), missingWhy: missing, preset: label };
}
