// The command capability: what other parts of the code may use of it (the CLI, the server's jobs).
export { estimateR, growthRate, discrSi, discreteSerialInterval, overallInfectivity, parseIncidenceCsv, formatRtCsv, RT_CSV_HEADER, RT_QUANTILES } from './rt.ts';
export type { RtOptions, RtResult, RtWindow, GrowthFit, Incidence, ParsedIncidence, CsvProblem } from './rt.ts';
export { commandRoutes } from './routes.ts';
export { refreshStats } from './stats.ts';
export { raiseCommandAlerts } from './alerts.ts';
export { dashboardData } from './dashboard.ts';
