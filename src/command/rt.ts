// The time-varying reproduction number Rt by the method of Cori et al. (AJE 2013), computed as the R package
// EpiEstim computes it with estimate_R(incid, method = "parametric_si", config = make_config(list(mean_si,
// std_si))): the same discretised serial interval, windows, prior, treatment of the first day and the same
// dropping of windows that end too early. Pure functions: the dashboard and `cordon rt` both call them.
import { parse } from 'csv-parse/sync';
import { gammaCdf, gammaQuantile } from './gamma.ts';
import { DAY_MS } from '../core/days.ts';

/** Posterior quantiles EpiEstim reports, in its column order. */
export const RT_QUANTILES = [0.025, 0.05, 0.25, 0.5, 0.75, 0.95, 0.975] as const;

/**
 * EpiEstim's discr_si(k, mu, sigma): the probability that the serial interval is k days, for a serial interval
 * 1 + G with G gamma-distributed with mean mu - 1 and sd sigma, when both onsets are known only to the day
 * (Cori et al. 2013, web appendix 11). The closed form is the second difference of the integrated gamma CDF,
 * that is G integrated against a triangle on [k-2, k]; EpiEstim now gets the same numbers from
 * primarycensored::dprimarycensored and tests that they agree with this form to 1e-10.
 */
export function discrSi(k: number, mu: number, sigma: number): number {
  if (sigma < 0) throw new RangeError('the serial interval sd must be >= 0');
  if (mu <= 1) throw new RangeError('the serial interval mean must be > 1 (the serial interval is at least one day)');
  if (k < 0) throw new RangeError('k must be >= 0');
  const shape = ((mu - 1) / sigma) ** 2;
  const scale = sigma ** 2 / (mu - 1);
  const F = (x: number) => (x <= 0 ? 0 : gammaCdf(x, shape, scale));
  const F1 = (x: number) => (x <= 0 ? 0 : gammaCdf(x, shape + 1, scale));
  const w =
    k * F(k) + (k - 2) * F(k - 2) - 2 * (k - 1) * F(k - 1) + shape * scale * (2 * F1(k - 1) - F1(k - 2) - F1(k));
  return Math.max(0, w); // rounding can leave a tiny negative number in the tail; EpiEstim clips it too
}

/** discr_si(0:(n-1), mu, sigma). */
export function discreteSerialInterval(n: number, mu: number, sigma: number): number[] {
  return Array.from({ length: n }, (_, k) => discrSi(k, mu, sigma));
}

/**
 * EpiEstim's overall_infectivity: lambda_t = sum_{k=0}^{t-1} w_k I_{t-k}, over local plus imported cases.
 * Index 0 (EpiEstim's t = 1) has no past and is NaN, as EpiEstim's NA.
 */
export function overallInfectivity(total: readonly number[], si: readonly number[]): number[] {
  const lambda = new Array<number>(total.length);
  lambda[0] = NaN;
  for (let t = 1; t < total.length; t++) {
    let s = 0;
    for (let k = 0; k <= t && k < si.length; k++) s += si[k] * total[t - k];
    lambda[t] = s;
  }
  return lambda;
}

export interface Incidence {
  local: readonly number[];
  imported: readonly number[];
}

export interface RtOptions {
  siMean: number;
  siSd: number;
  /** Prior on R: gamma with this mean and sd (EpiEstim's defaults, 5 and 5). */
  meanPrior?: number;
  stdPrior?: number;
  /** 1-based first and last days of each window; by default EpiEstim's weekly sliding windows 2..T-6 / 8..T. */
  tStart?: readonly number[];
  tEnd?: readonly number[];
}

export interface GrowthFit {
  /** Exponential growth rate per day (negative when declining). */
  rate: number;
  /** 95% Wald interval of the rate. */
  rateLow: number;
  rateHigh: number;
  /** ln 2 / rate in days: the doubling time, or, when negative, minus the halving time; null when rate = 0. */
  doublingTime: number | null;
}

export interface RtWindow {
  tStart: number;
  tEnd: number;
  mean: number;
  std: number;
  q025: number;
  q05: number;
  q25: number;
  median: number;
  q75: number;
  q95: number;
  q975: number;
  /** The posterior gamma: shape and scale. */
  shape: number;
  scale: number;
  /** Log-linear fit of the window's daily cases; null when it has no cases or the fit diverges (see growthRate). */
  growth: GrowthFit | null;
}

export interface RtResult {
  windows: RtWindow[];
  /** The discretised serial interval w_0..w_T used (EpiEstim's si_distr, padded with a 0 at T). */
  si: number[];
  /** Mean and sd of that discrete distribution (EpiEstim's SI.Moments). */
  siMoments: { mean: number; std: number };
  /** EpiEstim's warnings, in words. */
  warnings: string[];
}

/**
 * Rt on each window, as EpiEstim's estimate_R(method = "parametric_si"). `cases` is either the daily total
 * (the first day's cases are then all taken as imported, as EpiEstim does) or local and imported counts.
 * Windows that end on or before the mean of the discretised serial interval are dropped, as EpiEstim drops
 * them (their rows are NA there).
 */
export function estimateR(cases: readonly number[] | Incidence, opts: RtOptions): RtResult {
  const { local, imported } = splitIncidence(cases);
  const T = local.length;
  const { siMean, siSd } = opts;
  const meanPrior = opts.meanPrior ?? 5;
  const stdPrior = opts.stdPrior ?? 5;
  // EpiEstim's check_config for parametric_si; discr_si alone would accept sd = 0.
  if (!(siMean > 1)) throw new RangeError(`the serial interval mean must be > 1 (EpiEstim's requirement for parametric_si), not ${siMean}`);
  if (!(siSd > 0)) throw new RangeError(`the serial interval sd must be > 0, not ${siSd}`);
  if (!(meanPrior > 0) || !(stdPrior > 0)) throw new RangeError('the prior mean and sd must be > 0');
  // EpiEstim's make_config defaults; with fewer than 8 days its seq(2, T - 6) runs backwards and fails.
  if (!opts.tStart && T < 8) throw new RangeError(`need at least 8 days of incidence for weekly windows starting on day 2, got ${T}`);
  const tStart = opts.tStart ?? range(2, T - 6);
  const tEnd = opts.tEnd ?? range(8, T);
  checkTimes(tStart, tEnd, T);

  const aPrior = (meanPrior / stdPrior) ** 2;
  const bPrior = stdPrior ** 2 / meanPrior;
  const total = local.map((l, i) => l + imported[i]);
  const warnings: string[] = [];
  // EpiEstim warns when the first window holds too few cases to reach the aimed posterior CV (0.3).
  const minCases = Math.ceil(1 / 0.3 ** 2 - aPrior);
  if (tStart.length && sum(total, tStart[0] - 1, tEnd[0] - 1) < minCases) {
    warnings.push(`fewer than ${minCases} cases in the first window (days ${tStart[0]}-${tEnd[0]}): estimating R too early in the epidemic to get a posterior CV of 0.3`);
  }

  const si = discreteSerialInterval(T, siMean, siSd);
  si.push(0); // EpiEstim pads si_distr to length T + 1
  const siMeanDiscrete = si.reduce((s, w, k) => s + w * k, 0);
  const siSdDiscrete = Math.sqrt(si.reduce((s, w, k) => s + w * k * k, 0) - siMeanDiscrete ** 2);
  const lambda = overallInfectivity(total, si);

  const windows: RtWindow[] = [];
  for (let i = 0; i < tStart.length; i++) {
    const s = tStart[i];
    const e = tEnd[i];
    if (!(e > siMeanDiscrete)) continue;
    // Only local cases count in the numerator; lambda counts everybody who could infect.
    const shape = aPrior + sum(local, s - 1, e - 1);
    const scale = 1 / (1 / bPrior + sum(lambda, s - 1, e - 1));
    const [q025, q05, q25, median, q75, q95, q975] = RT_QUANTILES.map((p) => gammaQuantile(p, shape, scale));
    windows.push({
      tStart: s,
      tEnd: e,
      mean: shape * scale,
      std: Math.sqrt(shape) * scale,
      q025, q05, q25, median, q75, q95, q975,
      shape,
      scale,
      growth: growthRate(total.slice(s - 1, e)),
    });
  }
  return { windows, si, siMoments: { mean: siMeanDiscrete, std: siSdDiscrete }, warnings };
}

/**
 * Growth rate of a run of daily counts y_0..y_{n-1}: the maximum-likelihood fit of the Poisson log-linear model
 * E[y_t] = exp(c + r t). A Poisson fit, rather than least squares on log counts, takes days with no cases as
 * they are (log 0 has no value) and weights each day by its count. With c profiled out, the score equation is
 * "the mean day under weights e^{rt} equals the case-weighted mean day", whose left side increases with r, so
 * the root is unique; it exists unless every case falls on the first or on the last day (then r would be -∞ or
 * +∞) and the function returns null, as it does for a run without cases. Standard error from the observed
 * information, 1 / sqrt(total · variance of t under the fitted weights); doubling time ln 2 / r.
 */
export function growthRate(y: readonly number[]): GrowthFit | null {
  const n = y.length;
  const total = y.reduce((s, v) => s + v, 0);
  if (n < 2 || total <= 0) return null;
  if (y.every((v, i) => i === 0 || v === 0) || y.every((v, i) => i === n - 1 || v === 0)) return null;
  const centre = (n - 1) / 2; // centred days keep e^{rt} in range
  const target = y.reduce((s, v, i) => s + v * (i - centre), 0) / total;
  const moments = (r: number) => {
    const m = r >= 0 ? r * centre : -r * centre; // largest exponent, subtracted for stability
    let w = 0, wt = 0, wtt = 0;
    for (let i = 0; i < n; i++) {
      const t = i - centre;
      const e = Math.exp(r * t - m);
      w += e;
      wt += e * t;
      wtt += e * t * t;
    }
    const mean = wt / w;
    return { mean, variance: wtt / w - mean * mean };
  };
  let r = 0;
  let lo = -Infinity;
  let hi = Infinity;
  for (let i = 0; i < 200; i++) {
    const { mean, variance } = moments(r);
    const f = mean - target;
    if (f === 0) break;
    if (f < 0) lo = r;
    else hi = r;
    let next = r - f / variance;
    if (!(next > lo && next < hi)) {
      if (Number.isFinite(lo) && Number.isFinite(hi)) next = (lo + hi) / 2;
      else next = Number.isFinite(lo) ? lo + Math.max(1, Math.abs(lo)) : hi - Math.max(1, Math.abs(hi));
    }
    const moved = Math.abs(next - r);
    r = next;
    if (moved <= 1e-13 * Math.max(1, Math.abs(r))) break;
  }
  const se = 1 / Math.sqrt(total * moments(r).variance);
  return { rate: r, rateLow: r - 1.959963984540054 * se, rateHigh: r + 1.959963984540054 * se, doublingTime: r === 0 ? null : Math.LN2 / r };
}

/** EpiEstim's process_I: totals become local cases except on day 1, whose cases are all taken as imported. */
function splitIncidence(cases: readonly number[] | Incidence): { local: number[]; imported: number[] } {
  let local: number[];
  let imported: number[];
  if (Array.isArray(cases)) {
    local = [...(cases as readonly number[])];
    imported = local.map(() => 0);
  } else {
    const c = cases as Incidence;
    if (c.local.length !== c.imported.length) throw new RangeError('local and imported must have the same length');
    local = [...c.local];
    imported = [...c.imported];
  }
  for (const v of [...local, ...imported]) {
    if (!(v >= 0) || !Number.isFinite(v)) throw new RangeError(`incidence must be non-negative numbers, not ${v}`);
  }
  if (local.length) {
    imported[0] += local[0];
    local[0] = 0;
  }
  return { local, imported };
}

/** EpiEstim's check_times. */
function checkTimes(tStart: readonly number[], tEnd: readonly number[], T: number): void {
  if (tStart.length !== tEnd.length) throw new RangeError('t_start and t_end must have the same length');
  for (let i = 0; i < tStart.length; i++) {
    const s = tStart[i];
    const e = tEnd[i];
    if (s > e) throw new RangeError('t_start[i] must be <= t_end[i] for all i');
    if (!Number.isInteger(s) || s < 2 || s > T) throw new RangeError(`t_start must be whole numbers between 2 and ${T}, the number of days`);
    if (!Number.isInteger(e) || e < 2 || e > T) throw new RangeError(`t_end must be whole numbers between 2 and ${T}, the number of days`);
  }
}

function range(from: number, to: number): number[] {
  const out: number[] = [];
  for (let v = from; v <= to; v++) out.push(v);
  return out;
}

/** Sum of xs[from..to], both 0-based and included. */
function sum(xs: readonly number[], from: number, to: number): number {
  let s = 0;
  for (let i = from; i <= to; i++) s += xs[i];
  return s;
}

// ---- CSV in and out, for `cordon rt` ----

export interface CsvProblem {
  line: number;
  message: string;
}

export interface ParsedIncidence {
  /** The day column as written (a whole number or a YYYY-MM-DD date), one per row. */
  days: string[];
  cases: number[];
  problems: CsvProblem[];
}

/**
 * Reads `day,cases` CSV (other columns are ignored; a quoted header, as R's write.csv writes, is fine). Days are
 * whole numbers or YYYY-MM-DD dates, one row per day, increasing by exactly one: EpiEstim reads the rows as
 * consecutive days, so a missing day would silently shift every later one. Cases are whole numbers >= 0.
 * Every bad line is reported with its line number in the file.
 */
export function parseIncidenceCsv(text: string): ParsedIncidence {
  const out: ParsedIncidence = { days: [], cases: [], problems: [] };
  let rows: { record: string[]; line: number }[];
  try {
    const records = parse(text, { bom: true, info: true, skip_empty_lines: true, relax_column_count: true }) as unknown as { record: string[]; info: { lines: number } }[];
    rows = records.map((r) => ({ record: r.record, line: r.info.lines }));
  } catch (e) {
    const err = e as { lines?: number; message: string };
    out.problems.push({ line: err.lines ?? 1, message: `not valid CSV: ${err.message}` });
    return out;
  }
  if (!rows.length) {
    out.problems.push({ line: 1, message: 'the file is empty; expected a header line "day,cases"' });
    return out;
  }
  const header = rows[0].record.map((h) => h.trim().toLowerCase());
  const dayCol = header.indexOf('day');
  const casesCol = header.indexOf('cases');
  const missing = [dayCol < 0 ? 'day' : '', casesCol < 0 ? 'cases' : ''].filter(Boolean);
  if (missing.length) {
    out.problems.push({ line: rows[0].line, message: `missing column ${missing.map((m) => `"${m}"`).join(' and ')}; the header must name day and cases (it reads "${rows[0].record.join(',')}")` });
    return out;
  }
  let previous: { ordinal: number; text: string; kind: 'number' | 'date' } | undefined;
  for (const { record, line } of rows.slice(1)) {
    if (record.length < header.length) {
      out.problems.push({ line, message: `has ${record.length} field(s), the header has ${header.length}` });
      continue;
    }
    const dayText = record[dayCol].trim();
    const casesText = record[casesCol].trim();
    const day = parseDay(dayText);
    if (!day) {
      out.problems.push({ line, message: dayText ? `day "${dayText}" is neither a whole number nor a YYYY-MM-DD date` : 'day is empty' });
    } else if (previous && day.kind !== previous.kind) {
      out.problems.push({ line, message: `day "${dayText}" mixes ${day.kind === 'date' ? 'dates with day numbers' : 'day numbers with dates'}` });
    } else if (previous && day.ordinal <= previous.ordinal) {
      out.problems.push({ line, message: `day ${dayText} does not come after day ${previous.text}; days must increase` });
    } else if (previous && day.ordinal !== previous.ordinal + 1) {
      out.problems.push({ line, message: `day ${dayText} follows day ${previous.text}: days must be consecutive (write a row with 0 cases for a day without cases)` });
    }
    if (day && (!previous || day.kind === previous.kind) && (!previous || day.ordinal > previous.ordinal)) previous = { ...day, text: dayText };
    if (!/^\d+$/.test(casesText)) {
      const message = casesText === '' ? 'cases is empty'
        : /^-\d+(\.0*)?$/.test(casesText) ? `cases "${casesText}" is negative`
        : `cases "${casesText}" is not a whole number`;
      out.problems.push({ line, message });
    }
    out.days.push(dayText);
    out.cases.push(Number(casesText));
  }
  if (!out.problems.length && out.cases.length < 8) {
    out.problems.push({ line: rows.at(-1)!.line, message: `${out.cases.length} day(s) of incidence; weekly windows from day 2 need at least 8` });
  }
  return out;
}

function parseDay(text: string): { ordinal: number; kind: 'number' | 'date' } | undefined {
  if (/^-?\d+$/.test(text)) return { ordinal: Number(text), kind: 'number' };
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(text);
  if (!m) return undefined;
  const ms = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]));
  const d = new Date(ms);
  if (d.getUTCFullYear() !== Number(m[1]) || d.getUTCMonth() !== Number(m[2]) - 1 || d.getUTCDate() !== Number(m[3])) return undefined;
  return { ordinal: ms / DAY_MS, kind: 'date' };
}

export const RT_CSV_HEADER = 't_start,t_end,mean,std,q025,q05,q25,median,q75,q95,q975';
export const RT_CSV_GROWTH_HEADER = 'growth_rate,growth_rate_low,growth_rate_high,doubling_time';

/** The windows as CSV; numbers at full double precision (shortest round-trip form), so nothing is lost. */
export function formatRtCsv(windows: readonly RtWindow[], opts: { growth?: boolean } = {}): string {
  const lines = [opts.growth ? `${RT_CSV_HEADER},${RT_CSV_GROWTH_HEADER}` : RT_CSV_HEADER];
  for (const w of windows) {
    const cells: (number | string)[] = [w.tStart, w.tEnd, w.mean, w.std, w.q025, w.q05, w.q25, w.median, w.q75, w.q95, w.q975];
    if (opts.growth) {
      const g = w.growth;
      cells.push(g ? g.rate : '', g ? g.rateLow : '', g ? g.rateHigh : '', g?.doublingTime ?? '');
    }
    lines.push(cells.map(String).join(','));
  }
  return lines.join('\n') + '\n';
}
