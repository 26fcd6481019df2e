// The zoning capability: what other capabilities may use of it.
export { zoneHistory, zoneOn, epidemicFree, freeAreas, classifyCase, districtClearance, dayNumber, dayText, ZONES } from './rules.ts';
export type { Day, Zone, ZoneCase, Screening, CompoundFacts, ZoneDay, EpidemicFree, CompoundPlace, FreeAreas, CaseAtDetection, CaseLevel, DailyCases, ClearanceDay } from './rules.ts';
export { zoningUpkeep, recomputeDay, recomputeHistory, societyCasesByDay, zoneCountsOn, zonesGeoJson, homeZones, homeZoneOf, homeZoneColumns, homeZoneFrom, zoneStretchOn, sealedBuildingsOf } from './store.ts';
export type { UpkeepResult, Reach, HomeZone, HomeZoneRow } from './store.ts';
export { zoningRoutes } from './routes.ts';
