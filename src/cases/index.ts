// The cases capability: what other capabilities may use of it.
export { casesRoutes } from './routes.ts';
export { openCase, assignBed, admit, observe, discharge, recordDeath, careUpkeep } from './store.ts';
export { capacityPicture, transferQueue, facilityBeds, dischargeList } from './picture.ts';
export { triage, severityOf, dischargeReadiness, riskFactors, bedFor } from './rules.ts';
