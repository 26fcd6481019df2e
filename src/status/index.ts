// The status capability: what other capabilities may use of it.
export { venueCodeRoutes } from './venue-code-routes.ts';
export { signVenueCode, readVenueCode } from './venue-code.ts';
export { statusRoutes } from './routes.ts';
export { refreshDue, refreshStatus, currentStatus } from './store.ts';
export { statusOf, entryDecision } from './rules.ts';
export { doorIndexFor } from './door-index.ts';
export { scanWrites } from './checkpoints.ts';
export { removeExpiredScans } from './retention.ts';
