// The zoning capability: what other capabilities may use of it.
export { zoneHistory, zoneOn, epidemicFree, freeAreas, classifyCase, districtClearance, dayNumber, dayText } from './rules.ts';
export type { Day, Zone, ZoneCase, Screening, CompoundFacts, ZoneDay, EpidemicFree, CompoundPlace, FreeAreas, CaseAtDetection, CaseLevel, DailyCases, ClearanceDay } from './rules.ts';
