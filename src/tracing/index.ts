// The tracing capability: what other capabilities may use of it.
export { tracingRoutes } from './routes.ts';
export { traceCase, traceCases, findExposures, issueOrders, allocateRooms, releaseOrder, quarantineTimeliness, recordInterview } from './store.ts';
export { quarantineOrder, infectiousWindow } from './rules.ts';
