// The registry capability: what other capabilities may use of it.
export * from './entities.ts';
export { registryRoutes } from './routes.ts';
export { importCsv, importRecords } from './import.ts';
export {
  getPerson,
  findPersonByIdNumber,
  findPersonByPersonalCode,
  recomputeStreetPopulation,
  mapGeoJson,
  type Person,
  type Page,
} from './store.ts';
