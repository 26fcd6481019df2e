// Testing rules (rules.md "Testing"): pure functions of facts, the preset and `now`. No I/O here.
import type { Preset } from '../core/presets.ts';

/** The groups that decide how people are sampled (rules.md 13). */
export type SamplingGroup = keyof Preset['testing']['poolSizeByGroup'];
export const SAMPLING_GROUPS = ['quarantine', 'keyGroup', 'sealed', 'controlled', 'precaution', 'other'] as const satisfies readonly SamplingGroup[];

/** How many persons may share a tube for a group: the preset's size, never above its pool limit (<= 20). */
export function poolSizeFor(group: SamplingGroup, preset: Preset): number {
  return Math.min(preset.testing.poolSizeByGroup[group], preset.testing.maxPoolSize, 20);
}

export type Verdict = 'positive' | 'negative' | 'invalid';

export interface LabResult {
  /** What the lab reported. */
  result: Verdict;
  ctOrf1ab?: number | null;
  ctN?: number | null;
}

/**
 * The verdict of a lab result under the preset: positive when either target's Ct is below the cutoff,
 * whatever the lab's label says (a label contradicting the Ct values is invalid, for a person to resolve).
 */
export function verdictOf(r: LabResult, preset: Preset): { verdict: Verdict; reason: string } {
  const cutoff = preset.testing.ctPositiveBelow;
  const cts = [r.ctOrf1ab, r.ctN].filter((c): c is number => typeof c === 'number');
  if (r.result === 'invalid') return { verdict: 'invalid', reason: 'the lab reported the sample invalid' };
  if (!cts.length) return { verdict: r.result, reason: `the lab reported ${r.result} without Ct values` };
  const below = cts.some((c) => c < cutoff);
  if (below && r.result === 'negative') return { verdict: 'invalid', reason: `reported negative but a Ct value is below ${cutoff}` };
  if (!below && r.result === 'positive') return { verdict: 'invalid', reason: `reported positive but no Ct value is below ${cutoff}` };
  return { verdict: r.result, reason: below ? `Ct below ${cutoff}` : `all Ct values at or above ${cutoff}` };
}

/** Whether a negative result is strong enough for release or discharge (both targets >= the release Ct). */
export function meetsReleaseCt(r: LabResult, preset: Preset): boolean {
  const need = preset.testing.ctReleaseAtLeast;
  return r.result === 'negative' || (typeof r.ctOrf1ab === 'number' && typeof r.ctN === 'number' && r.ctOrf1ab >= need && r.ctN >= need);
}

export interface TubeFacts {
  tubeId: number;
  barcode: string;
  /** Persons in the tube, with their street (for retest tasks). */
  members: { personId: number; streetId: number | null; districtId: number | null }[];
  sampledAt: Date;
}

/** What follows from a tube's verdict: the facts to record for its members. */
export type Consequence =
  | { kind: 'confirmedPositive'; personId: number; reason: string }
  | { kind: 'poolControl'; personId: number; reason: string; retestDue: Date }
  | { kind: 'retestTask'; streetId: number | null; districtId: number | null; personIds: number[]; due: Date; reason: string }
  | { kind: 'negative'; personId: number };

/**
 * A single tube's positive makes a positive finding for its person (handed to cases); a positive pool puts
 * every member under control pending a single-tube retest, with one retest task per street (rules.md 15).
 */
export function consequencesOf(tube: TubeFacts, verdict: Verdict, resultedAt: Date, preset: Preset): Consequence[] {
  if (verdict === 'invalid') return [];
  if (verdict === 'negative') return tube.members.map((m) => ({ kind: 'negative', personId: m.personId }));
  if (tube.members.length === 1) {
    return [{ kind: 'confirmedPositive', personId: tube.members[0].personId, reason: `single tube ${tube.barcode} positive` }];
  }
  const due = new Date(resultedAt.getTime() + preset.testing.retestDeadlineHours * 3600_000);
  const out: Consequence[] = tube.members.map((m) => ({ kind: 'poolControl', personId: m.personId, retestDue: due, reason: `pool ${tube.barcode} (${tube.members.length}-in-1) positive` }));
  const byStreet = new Map<string, { streetId: number | null; districtId: number | null; personIds: number[] }>();
  for (const m of tube.members) {
    const key = `${m.districtId}:${m.streetId}`;
    if (!byStreet.has(key)) byStreet.set(key, { streetId: m.streetId, districtId: m.districtId, personIds: [] });
    byStreet.get(key)!.personIds.push(m.personId);
  }
  for (const g of byStreet.values()) out.push({ kind: 'retestTask', ...g, due, reason: `single-tube retest of pool ${tube.barcode}` });
  return out;
}

/** A sampler may add a person to a tube only while it is open and below its size. */
export function canAddToTube(tube: { closed: boolean; capacity: number; count: number }): { code: 'tubeClosed' | 'tubeFull'; text: string } | null {
  if (tube.closed) return { code: 'tubeClosed', text: 'the tube is closed' };
  if (tube.count >= tube.capacity) return { code: 'tubeFull', text: `the tube is full: it holds at most ${tube.capacity}` };
  return null;
}

/**
 * Expected wait in a sampling point's queue now (rules.md 13: goal <= 20 min): persons who arrived in the
 * last window and not yet served, over the service rate the point showed in that window.
 */
export function queueWaitMinutes(o: { arrivalsPerHour: number; servedPerHourPerStation: number; stations: number; waiting: number }): number {
  const capacity = o.servedPerHourPerStation * o.stations;
  if (capacity <= 0) return o.waiting > 0 ? Infinity : 0;
  return (o.waiting / capacity) * 60;
}

/** Percentile of sorted numbers (nearest rank), for turnaround p50/p90. */
export function percentile(sorted: number[], p: number): number | null {
  if (!sorted.length) return null;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}
