// The testing capability: what other capabilities may use of it.
export { testingRoutes } from './routes.ts';
export { testHistory, alertOverdueTubes, recordTubeBatch, type BatchTube } from './store.ts';
export { parseResultsCsv, uploadResults } from './results.ts';
export { poolSizeFor, verdictOf, meetsReleaseCt, type SamplingGroup, type Verdict } from './rules.ts';
export { TUBE_COUNTS, foldTubeCounts } from './counts.ts';
