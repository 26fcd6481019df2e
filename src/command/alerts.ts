// Early warning: alerts raised from the facts by the rules of the preset (command.alerts), each naming the
// facts that raised it and who must act. Keyed by those facts (and the day, where a condition can last),
// so the job can run every minute without raising anything twice.
import type { Db } from '../core/db.ts';
import type { Preset } from '../core/presets.ts';
import { raiseAlerts, type NewAlert } from '../core/work.ts';
import { DAY_MS, addDays, localDay } from '../core/days.ts';
import { societyCasesByDay } from '../zoning/index.ts';
import { TUBE_COUNTS, foldTubeCounts } from '../testing/index.ts';

export async function raiseCommandAlerts(db: Db, preset: Preset, now: Date): Promise<number> {
  const rules = preset.command.alerts;
  const today = localDay(now, preset.reporting.timeZone);
  const alerts: NewAlert[] = [];

  if (rules.firstCaseInCompound) {
    // A compound's first case: no case of that compound reported before it.
    for (const c of await db.query<{ id: number; compound_id: number; name: string; district_id: number | null; street_id: number | null; reported_at: Date }>(
      `SELECT c.id, c.compound_id, co.name, c.district_id, c.street_id, c.reported_at FROM cases c JOIN compounds co ON co.id = c.compound_id
        WHERE c.reported_at >= $1 AND c.reported_at <= $2
          AND NOT EXISTS (SELECT 1 FROM cases e WHERE e.compound_id = c.compound_id AND (e.reported_at < c.reported_at OR (e.reported_at = c.reported_at AND e.id < c.id)))`,
      [new Date(now.getTime() - 2 * DAY_MS), now],
    )) {
      alerts.push({
        kind: 'firstCaseInCompound',
        severity: 'warning',
        title: `First case in compound ${c.name}`,
        districtId: c.district_id,
        streetId: c.street_id,
        facts: { caseId: Number(c.id), compoundId: c.compound_id, compoundName: c.name, reportedAt: new Date(c.reported_at).toISOString(), rule: 'command.alerts.firstCaseInCompound' },
        assignee: 'street_worker',
        dedupeKey: `firstCase:${c.compound_id}`,
      });
    }
  }

  if (rules.societyLevelCase) {
    // Cases found outside any control (zoning's classification at detection), per district and day.
    for (const s of await societyCasesByDay(db, addDays(today, -1), preset.reporting.timeZone)) {
      const day = typeof s.day === 'string' ? s.day : new Date(s.day).toISOString().slice(0, 10);
      alerts.push({
        kind: 'societyLevelCase',
        severity: 'critical',
        title: `${s.n} society-level case(s) on ${day}`,
        districtId: s.districtId || null,
        facts: { day, districtId: s.districtId, cases: s.n, rule: 'command.alerts.societyLevelCase; rules.md 6' },
        assignee: 'district_command',
        dedupeKey: `society:${s.districtId}:${day}`,
      });
    }
  }

  // Positivity at a sampling point: the last N days against the N days before, on enough tubes with a result
  // (tubes by the hour they were opened: each window starts at the first whole hour in it).
  const n = rules.positivityWindowDays;
  await foldTubeCounts(db);
  for (const p of await db.query<{ id: number; name: string; district_id: number; street_id: number | null; now_tubes: number; now_pos: number; before_tubes: number; before_pos: number }>(
    `SELECT sp.id, sp.name, sp.district_id, sp.street_id,
            coalesce(sum(c.resulted) FILTER (WHERE c.hour >= $2), 0)::int AS now_tubes, coalesce(sum(c.positive) FILTER (WHERE c.hour >= $2), 0)::int AS now_pos,
            coalesce(sum(c.resulted) FILTER (WHERE c.hour < $2), 0)::int AS before_tubes, coalesce(sum(c.positive) FILTER (WHERE c.hour < $2), 0)::int AS before_pos
       FROM ${TUBE_COUNTS} c JOIN sampling_points sp ON sp.id = c.sampling_point_id
      WHERE c.hour >= $1 AND c.hour <= $3
      GROUP BY sp.id, sp.name, sp.district_id, sp.street_id`,
    [new Date(now.getTime() - 2 * n * DAY_MS), new Date(now.getTime() - n * DAY_MS), now],
  )) {
    if (p.now_tubes < rules.positivityMinTubes || p.now_pos === 0) continue;
    const nowRate = p.now_pos / p.now_tubes;
    const beforeRate = p.before_tubes ? p.before_pos / p.before_tubes : 0;
    if (nowRate < rules.positivityRiseFactor * beforeRate) continue;
    alerts.push({
      kind: 'positivityRising',
      severity: 'warning',
      title: `Positivity rising at sampling point ${p.name}: ${(nowRate * 100).toFixed(1)}% of ${p.now_tubes} tubes (was ${(beforeRate * 100).toFixed(1)}%)`,
      districtId: p.district_id,
      streetId: p.street_id,
      facts: { samplingPointId: p.id, samplingPointName: p.name, days: n, tubes: p.now_tubes, positive: p.now_pos, tubesBefore: p.before_tubes, positiveBefore: p.before_pos, rule: `command.alerts.positivityRiseFactor ${rules.positivityRiseFactor}` },
      assignee: 'district_command',
      dedupeKey: `positivity:${p.id}:${today}`,
    });
  }

  // Beds and quarantine rooms running out within N days at the admissions of the last three days.
  const since = new Date(now.getTime() - 3 * DAY_MS);
  const capacity = await db.query<{ kind: string; free: number; per_day: number }>(
    `SELECT 'shelterHospital' AS kind, (SELECT sum(beds_general - occupied_general) FROM facilities WHERE kind = 'shelterHospital')::int AS free,
            (SELECT count(*) FROM case_events e JOIN facilities f ON f.id = e.facility_id WHERE e.kind = 'bedTaken' AND e.at >= $1 AND f.kind = 'shelterHospital' AND e.bed_type = 'general')::float / 3 AS per_day
     UNION ALL
     SELECT 'designatedHospital', (SELECT sum(beds_general - occupied_general) FROM facilities WHERE kind = 'designatedHospital')::int,
            (SELECT count(*) FROM case_events e JOIN facilities f ON f.id = e.facility_id WHERE e.kind = 'bedTaken' AND e.at >= $1 AND f.kind = 'designatedHospital' AND e.bed_type = 'general')::float / 3
     UNION ALL
     SELECT 'icu', (SELECT sum(beds_icu - occupied_icu) FROM facilities WHERE kind = 'designatedHospital')::int,
            (SELECT count(*) FROM case_events e WHERE e.kind = 'bedTaken' AND e.at >= $1 AND e.bed_type = 'icu')::float / 3
     UNION ALL
     SELECT 'quarantineRooms', (SELECT sum(rooms) FROM facilities WHERE kind = 'quarantineSite')::int - (SELECT count(*) FROM quarantine_placements WHERE placed_at IS NOT NULL AND left_at IS NULL)::int,
            (SELECT count(*) FROM quarantine_placements WHERE placed_at >= $1)::float / 3`,
    [since],
  );
  for (const c of capacity) {
    if (!c.per_day || c.free === null) continue;
    const daysLeft = c.free / c.per_day;
    if (daysLeft >= rules.capacityDaysLeftBelow) continue;
    alerts.push({
      kind: 'capacityRunningOut',
      severity: 'critical',
      title: `${c.kind}: ${c.free} free, ${daysLeft.toFixed(1)} days left at ${c.per_day.toFixed(1)} a day`,
      facts: { kind: c.kind, free: c.free, perDay: c.per_day, daysLeft, rule: `command.alerts.capacityDaysLeftBelow ${rules.capacityDaysLeftBelow}` },
      assignee: 'city_command',
      dedupeKey: `capacity:${c.kind}:${today}`,
    });
  }

  if (rules.tasksOverdue) {
    for (const t of await db.query<{ district_id: number | null; n: number; oldest: Date }>(
      `SELECT district_id, count(*)::int AS n, min(due_at) AS oldest FROM tasks WHERE status IN ('open', 'accepted') AND due_at < $1 GROUP BY district_id`,
      [now],
    )) {
      alerts.push({
        kind: 'tasksOverdue',
        severity: 'warning',
        title: `${t.n} tasks overdue${t.district_id ? '' : ' (no district)'}`,
        districtId: t.district_id,
        facts: { overdue: t.n, oldestDueAt: new Date(t.oldest).toISOString(), rule: 'command.alerts.tasksOverdue' },
        assignee: 'district_command',
        dedupeKey: `tasksOverdue:${t.district_id ?? 0}:${today}`,
      });
    }
  }
  return raiseAlerts(db, alerts, now);
}
