// The gamma distribution: log-gamma, the regularised incomplete gamma P(a, x), its inverse and the density.
// Written here rather than taken from npm: the few packages that exist either lose precision for the large
// shapes a city's case counts give (a = 1 + cases in a week), or pull in a whole statistics library.
// The prefactor x^a e^-x / Γ(a+1) is computed as R's nmath does (dpois_raw with Loader's stirlerr and bd0),
// so that it keeps full relative precision when a and x are large and close, where the naive
// exp(a log x - x - lgamma(a+1)) loses digits to cancellation.

const LN_SQRT_2PI = 0.9189385332046728; // log(sqrt(2π)), the double nearest to it
const SQRT_2PI = 2.5066282746310007;

// Lanczos approximation (g = 7, n = 9; Godfrey's coefficients): about 15 significant digits for x > 0.
const LANCZOS = [
  0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
  12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
];

/** log Γ(x) for x > 0. */
export function lgamma(x: number): number {
  if (!(x > 0)) throw new RangeError(`lgamma needs x > 0, not ${x}`);
  if (x < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * x)) - lgamma(1 - x); // reflection
  const z = x - 1;
  let s = LANCZOS[0];
  for (let i = 1; i < 9; i++) s += LANCZOS[i] / (z + i);
  const t = z + 7.5;
  return LN_SQRT_2PI + (z + 0.5) * Math.log(t) - t + Math.log(s);
}

/** log(n!) - log(sqrt(2πn) (n/e)^n): the error of Stirling's formula, without cancellation for large n. */
function stirlerr(n: number): number {
  if (n <= 15) return lgamma(n + 1) - (n + 0.5) * Math.log(n) + n - LN_SQRT_2PI;
  const nn = n * n;
  const S0 = 1 / 12, S1 = 1 / 360, S2 = 1 / 1260, S3 = 1 / 1680, S4 = 1 / 1188;
  if (n > 500) return (S0 - S1 / nn) / n;
  if (n > 80) return (S0 - (S1 - S2 / nn) / nn) / n;
  if (n > 35) return (S0 - (S1 - (S2 - S3 / nn) / nn) / nn) / n;
  return (S0 - (S1 - (S2 - (S3 - S4 / nn) / nn) / nn) / nn) / n;
}

/** x log(x/np) + np - x, by a series when x and np are close (the direct form cancels there). */
function bd0(x: number, np: number): number {
  if (Math.abs(x - np) < 0.1 * (x + np)) {
    let v = (x - np) / (x + np);
    let s = (x - np) * v;
    let ej = 2 * x * v;
    v *= v;
    for (let j = 1; j < 1000; j++) {
      ej *= v;
      const s1 = s + ej / (2 * j + 1);
      if (s1 === s) return s1;
      s = s1;
    }
    return s;
  }
  return x * Math.log(x / np) + np - x;
}

/** x^a e^-x / Γ(a+1), for a > 0 and x ≥ 0. */
function poissonTerm(a: number, x: number): number {
  if (x === 0) return 0;
  return Math.exp(-stirlerr(a) - bd0(a, x)) / (SQRT_2PI * Math.sqrt(a));
}

/** The regularised lower incomplete gamma function P(a, x) = γ(a, x) / Γ(a), a > 0. */
export function gammaP(a: number, x: number): number {
  if (!(a > 0)) throw new RangeError(`gammaP needs a > 0, not ${a}`);
  if (Number.isNaN(x)) return NaN;
  if (x <= 0) return 0;
  if (x === Infinity) return 1;
  const front = poissonTerm(a, x);
  if (x < a + 1) {
    // Series: P = x^a e^-x / Γ(a+1) · Σ x^n / ((a+1)…(a+n)); its terms shrink once n > x - a.
    let term = 1;
    let sum = 1;
    for (let n = 1; n < 10_000_000; n++) {
      term *= x / (a + n);
      sum += term;
      if (term < sum * 1e-17) break;
    }
    return Math.min(1, front * sum);
  }
  // Continued fraction for Q = 1 - P (modified Lentz), which converges fast for x > a + 1.
  const tiny = 1e-300;
  let b = x + 1 - a;
  let c = 1 / tiny;
  let d = 1 / b;
  let h = d;
  for (let i = 1; i < 10_000_000; i++) {
    const an = -i * (i - a);
    b += 2;
    d = an * d + b;
    if (Math.abs(d) < tiny) d = tiny;
    c = b + an / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    const del = d * c;
    h *= del;
    if (Math.abs(del - 1) < 1e-16) break;
  }
  // x^a e^-x / Γ(a) = a · x^a e^-x / Γ(a+1)
  return Math.max(0, 1 - a * front * h);
}

/** Density of the gamma distribution with the given shape and unit scale. */
function gammaDensityUnit(a: number, x: number): number {
  if (x <= 0) return a === 1 ? 1 : a < 1 ? Infinity : 0;
  return (a / x) * poissonTerm(a, x);
}

/** Gamma density with shape and scale (R's dgamma(x, shape, scale = scale)). */
export function gammaPdf(x: number, shape: number, scale: number): number {
  return gammaDensityUnit(shape, x / scale) / scale;
}

/** Gamma CDF with shape and scale (R's pgamma(x, shape, scale = scale)). */
export function gammaCdf(x: number, shape: number, scale: number): number {
  return gammaP(shape, x / scale);
}

/** Standard normal quantile (Acklam's rational approximation, about 1e-9): only a starting point here. */
function normalQuantile(p: number): number {
  const a = [-3.969683028665376e1, 2.209460984245205e2, -2.759285104469687e2, 1.38357751867269e2, -3.066479806614716e1, 2.506628277459239];
  const b = [-5.447609879822406e1, 1.615858368580409e2, -1.556989798598866e2, 6.680131188771972e1, -1.328068155288572e1];
  const c = [-7.784894002430293e-3, -3.223964580411365e-1, -2.400758277161838, -2.549732539343734, 4.374664141464968, 2.938163982698783];
  const d = [7.784695709041462e-3, 3.224671290700398e-1, 2.445134137142996, 3.754408661907416];
  const lo = 0.02425;
  if (p < lo) {
    const q = Math.sqrt(-2 * Math.log(p));
    return (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) / ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
  }
  if (p > 1 - lo) return -normalQuantile(1 - p);
  const q = p - 0.5;
  const r = q * q;
  return ((((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q) / (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1);
}

/**
 * Gamma quantile with shape and scale (R's qgamma(p, shape, scale = scale)): Newton's method on P(a, x) - p,
 * kept inside a bracket that bisection narrows whenever a Newton step would leave it; stops when a step
 * moves x by less than 1e-14 of itself.
 */
export function gammaQuantile(p: number, shape: number, scale: number): number {
  if (!(shape > 0) || !(scale > 0)) throw new RangeError(`gammaQuantile needs shape > 0 and scale > 0`);
  if (!(p >= 0 && p <= 1)) return NaN;
  if (p === 0) return 0;
  if (p === 1) return Infinity;
  const a = shape;
  // Wilson-Hilferty start; for small shapes, where it can go negative, the small-x form P ≈ x^a / Γ(a+1).
  const z = normalQuantile(p);
  const wh = a * Math.pow(1 - 1 / (9 * a) + z / (3 * Math.sqrt(a)), 3);
  let x = a >= 1 && wh > 0 ? wh : Math.exp((Math.log(p) + lgamma(a + 1)) / a);
  if (!(x > 0) || !Number.isFinite(x)) x = a;
  let lo = 0;
  let hi = Infinity;
  for (let i = 0; i < 500; i++) {
    const f = gammaP(a, x) - p;
    if (f === 0) break;
    if (f < 0) lo = x;
    else hi = x;
    let next = x - f / gammaDensityUnit(a, x);
    if (!(next > lo && next < hi)) next = hi === Infinity ? Math.max(2 * x, lo * 2) : (lo + hi) / 2;
    const moved = Math.abs(next - x);
    x = next;
    if (moved <= 1e-14 * x || (hi < Infinity && hi - lo <= 1e-15 * hi)) break;
  }
  return x * scale;
}
