// The support capability (livelihood and vaccination): what other capabilities may use of it.
export { supportRoutes } from './routes.ts';
export { escalateOverdue, fileRequest, moveRequest, giveFeedback, requestQueue } from './store.ts';
export { supportPicture } from './picture.ts';
export { coverage, elderlyList, recordDose, dosesOf } from './vaccination.ts';
export { immunizationBundle } from './fhir.ts';
export { dispatchDecision, terms, transition, vaccinationState, REQUEST_KINDS } from './rules.ts';
