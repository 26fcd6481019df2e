// The command capability's face to the rest of the code (the CLI now, the dashboard later).
export { estimateR, growthRate, discrSi, discreteSerialInterval, overallInfectivity, parseIncidenceCsv, formatRtCsv, RT_CSV_HEADER, RT_QUANTILES } from './rt.ts';
export type { RtOptions, RtResult, RtWindow, GrowthFit, Incidence, ParsedIncidence, CsvProblem } from './rt.ts';
