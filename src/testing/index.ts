// The testing capability: what other capabilities may use of it.
export { testingRoutes } from './routes.ts';
export { testHistory, alertOverdueTubes } from './store.ts';
export { poolSizeFor, verdictOf, meetsReleaseCt, type SamplingGroup, type Verdict } from './rules.ts';
