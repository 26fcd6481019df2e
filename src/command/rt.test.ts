// Rt against EpiEstim's own published outputs, and the gamma functions under it against exact identities.
import { describe, expect, it } from 'vitest';
import { gammaCdf, gammaP, gammaPdf, gammaQuantile, lgamma } from './gamma.ts';
import { discrSi, discreteSerialInterval, estimateR, formatRtCsv, growthRate, parseIncidenceCsv, RT_CSV_HEADER } from './rt.ts';

/**
 * Parses a data frame as R prints it (a header line of column names, then rows led by the row number; wide
 * frames wrap into several blocks) into columns of numbers, keeping how many decimals each value was printed
 * with: a value printed to d decimals is only known to ±0.5·10^-d.
 */
function readRPrint(text: string): Map<string, { value: number; decimals: number }[]> {
  const cols = new Map<string, { value: number; decimals: number }[]>();
  let names: string[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line) continue;
    const cells = line.split(/\s+/);
    if (!/^\d+$/.test(cells[0])) {
      names = cells;
      for (const n of names) if (!cols.has(n)) cols.set(n, []);
      continue;
    }
    cells.slice(1).forEach((c, i) => {
      if (/^\d{4}-\d{2}-\d{2}$/.test(c)) return;
      const decimals = (/\.(\d+)/.exec(c)?.[1].length ?? 0) + (/e-(\d+)/.exec(c) ? Number(/e-(\d+)/.exec(c)![1]) : 0);
      cols.get(names[i])!.push({ value: Number(c), decimals });
    });
  }
  return cols;
}

const COLUMNS = { mean: 'Mean(R)', std: 'Std(R)', q025: 'Quantile.0.025(R)', q05: 'Quantile.0.05(R)', q25: 'Quantile.0.25(R)', median: 'Median(R)', q75: 'Quantile.0.75(R)', q95: 'Quantile.0.95(R)', q975: 'Quantile.0.975(R)' } as const;

/** Every printed value agrees with ours to within its printed precision (half a unit of its last digit). */
function expectMatchesPrint(windows: ReturnType<typeof estimateR>['windows'], printed: string, rows: number) {
  const ref = readRPrint(printed);
  expect(windows).toHaveLength(rows);
  expect(windows.map((w) => w.tStart)).toEqual(ref.get('t_start')!.map((c) => c.value));
  expect(windows.map((w) => w.tEnd)).toEqual(ref.get('t_end')!.map((c) => c.value));
  let worst = 0;
  for (const [ours, theirs] of Object.entries(COLUMNS) as [keyof typeof COLUMNS, string][]) {
    const col = ref.get(theirs)!;
    expect(col).toHaveLength(rows);
    col.forEach((c, i) => {
      const tol = 0.5 * 10 ** -c.decimals + 1e-12;
      const diff = Math.abs(windows[i][ours] - c.value);
      worst = Math.max(worst, diff);
      if (diff > tol) throw new Error(`window ${i + 1} ${theirs}: ours ${windows[i][ours]}, EpiEstim printed ${c.value}`);
    });
  }
  expect(worst).toBeLessThan(1e-6);
}

// Flu2009$incidence$I: daily onsets of acute respiratory illness in a Pennsylvania school, 2009-04-27 to 2009-05-28
// (Cauchemez et al. PNAS 2011), as printed under $I in mrc-ide/EpiEstim tests/testthat/_snaps/estimate_R.md.
const FLU2009 = [1, 1, 0, 2, 5, 3, 3, 3, 6, 2, 5, 9, 13, 12, 13, 11, 12, 6, 6, 6, 3, 1, 0, 2, 0, 0, 0, 0, 2, 0, 2, 0];

// mrc-ide/EpiEstim tests/testthat/_snaps/estimate_R.md, "Example 3 matches saved output": estimate_R(Flu2009$incidence,
// method = "parametric_si", config = list(t_start = 2:26, t_end = 8:32, mean_si = 2.6, std_si = 1.5)), i.e. the
// default weekly windows for these 32 days. The first six rows are also printed by the package's demonstration
// vignette (articles/short_demo.md) for make_config(list(mean_si = 2.6, std_si = 1.5)) with default windows.
const FLU2009_PARAMETRIC = `
   t_start t_end date_start   date_end   Mean(R)     Std(R) Quantile.0.025(R)
1        2     8 2009-04-28 2009-05-04 1.7357977 0.40913143        1.02874370
2        3     9 2009-04-29 2009-05-05 1.7491678 0.36472669        1.10882231
3        4    10 2009-04-30 2009-05-06 1.5370581 0.30741163        0.99470299
4        5    11 2009-05-01 2009-05-07 1.4318389 0.27059213        0.95144658
5        6    12 2009-05-02 2009-05-08 1.4227247 0.25150457        0.97314263
6        7    13 2009-05-03 2009-05-09 1.6353733 0.25234358        1.17863324
7        8    14 2009-05-04 2009-05-10 1.6639845 0.23300443        1.23894574
8        9    15 2009-05-05 2009-05-11 1.6161467 0.20692639        1.23622420
9       10    16 2009-05-06 2009-05-12 1.4344239 0.17656537        1.10938331
10      11    17 2009-05-07 2009-05-13 1.4087217 0.16159146        1.10991245
11      12    18 2009-05-08 2009-05-14 1.2479472 0.14221678        0.98486038
12      13    19 2009-05-09 2009-05-15 1.0821477 0.12579711        0.84971868
13      14    20 2009-05-10 2009-05-16 0.9371671 0.11449319        0.72629165
14      15    21 2009-05-11 2009-05-17 0.8196564 0.10762616        0.62239946
15      16    22 2009-05-12 2009-05-18 0.6910352 0.10188759        0.50592464
16      17    23 2009-05-13 2009-05-19 0.5896765 0.09967353        0.41073132
17      18    24 2009-05-14 2009-05-20 0.4992206 0.09984413        0.32306927
18      19    25 2009-05-15 2009-05-21 0.4729631 0.10850519        0.28475471
19      20    26 2009-05-16 2009-05-22 0.4176319 0.11583024        0.22237137
20      21    27 2009-05-17 2009-05-23 0.2978682 0.11258359        0.11975846
21      22    28 2009-05-18 2009-05-24 0.2400880 0.12004401        0.06541591
22      23    29 2009-05-19 2009-05-25 0.4573477 0.20453212        0.14849956
23      24    30 2009-05-20 2009-05-26 0.6734382 0.30117074        0.21866356
24      25    31 2009-05-21 2009-05-27 0.8591897 0.38424130        0.27897655
25      26    32 2009-05-22 2009-05-28 0.9975352 0.44611130        0.32389696
   Quantile.0.05(R) Quantile.0.25(R) Median(R) Quantile.0.75(R)
1        1.12193325        1.4451981 1.7037612        1.9915200
2        1.19547993        1.4913446 1.7238839        1.9794569
3        1.06869352        1.3200896 1.5166133        1.7317605
4        1.01766106        1.2412511 1.4148298        1.6039005
5        1.03580815        1.2459958 1.4079324        1.5833401
6        1.24358968        1.4588473 1.6224126        1.7977785
7        1.30015068        1.5014679 1.6531215        1.8146646
8        1.29149686        1.4721862 1.6073240        1.7504931
9        1.15686977        1.3117168 1.4271858        1.5492434
10       1.15387452        1.2966267 1.4025479        1.5140885
11       1.02359091        1.1493086 1.2425490        1.3407028
12       0.88387071        0.9948535 1.0772771        1.1641340
13       0.75712322        0.8576141 0.9325088        1.0116437
14       0.65101748        0.7447274 0.8149506        0.8894575
15       0.53240938        0.6198605 0.6860342        0.7567610
16       0.43584912        0.5197437 0.5840702        0.6535019
17       0.34710064        0.4287515 0.4925804        0.5624580
18       0.30971499        0.3959768 0.4646919        0.5409442
19       0.24703176        0.3348031 0.4069735        0.4888632
20       0.13979872        0.2162803 0.2838104        0.3641850
21       0.08200917        0.1521750 0.2204045        0.3066781
22       0.18020868        0.3081243 0.4272459        0.5739193
23       0.26535481        0.4537089 0.6291137        0.8450883
24       0.33854643        0.5788533 0.8026393        1.0781852
25       0.39305871        0.6720595 0.9318792        1.2517931
   Quantile.0.95(R) Quantile.0.975(R)
1         2.4589724         2.6247813
2         2.3891206         2.5331192
3         2.0751763         2.1955399
4         1.9040473         2.0088487
5         1.8601072         1.9563365
6         2.0713724         2.1657455
7         2.0648767         2.1507413
8         1.9708944         2.0461979
9         1.7366694         1.8005896
10        1.6846295         1.7426100
11        1.4907183         1.5417063
12        1.2970399         1.3422512
13        1.1331024         1.1745108
14        1.0043487         1.0436503
15        0.8667218         0.9045582
16        0.7626306         0.8004706
17        0.6739958         0.7130887
18        0.6644328         0.7081443
19        0.6246028         0.6734020
20        0.5039247         0.5557145
21        0.4653900         0.5262293
22        0.8372682         0.9367934
23        1.2328660         1.3794155
24        1.5729218         1.7598935
25        1.8261915         2.0432690
`;

// Same file, "Example 2 matches saved output": 27 days of local and imported cases (an incidence object grouped
// by location; the counts below are its printed $I_local and $I_imported), parametric_si 2.6 / 1.5, windows
// t_start = 2:21, t_end = 8:27 (the defaults for 27 days).
const EXAMPLE2_LOCAL = [0, 2, 0, 0, 1, 2, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];
const EXAMPLE2_IMPORTED = [1, 1, 1, 1, 2, 2, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
const EXAMPLE2 = `
   t_start t_end date_start date_end   Mean(R)    Std(R) Quantile.0.025(R)
1        2     8          1        7 0.6413590 0.2424109       0.257859602
2        3     9          2        8 0.3999222 0.1788506       0.129853640
3        4    10          3        9 0.3956574 0.1769434       0.128468883
4        5    11          4       10 0.4170468 0.1865090       0.135413957
5        6    12          5       11 0.3515432 0.1757716       0.095783678
6        7    13          6       12 0.1976371 0.1397505       0.023934764
7        8    14          7       13 0.2561099 0.1810970       0.031016091
8        9    15          8       14 0.1854957 0.1854957       0.004696345
9       10    16          9       15 0.2764736 0.2764736       0.006999704
10      11    17         10       16 0.4085199 0.4085199       0.010342829
11      12    18         11       17 0.6246688 0.6246688       0.015815245
12      13    19         12       18 1.0775772 1.0775772       0.027281893
13      14    20         13       19 1.7523399 1.7523399       0.044365405
14      15    21         14       20 2.5831197 2.5831197       0.065398929
15      16    22         15       21 3.4013907 3.4013907       0.086115755
16      17    23         16       22 4.0476611 4.0476611       0.102477905
17      18    24         17       23 4.4742953 4.4742953       0.113279349
18      19    25         18       24 4.7233814 4.7233814       0.119585664
19      20    26         19       25 4.8583931 4.8583931       0.123003865
20      21    27         20       26 9.8571825 6.9700806       1.193750537
   Quantile.0.05(R) Quantile.0.25(R) Median(R) Quantile.0.75(R)
1       0.301009564       0.46568686 0.6110903        0.7841500
2       0.157581299       0.26943560 0.3736000        0.5018568
3       0.155900853       0.26656234 0.3696159        0.4965050
4       0.164328910       0.28097279 0.3895975        0.5233462
5       0.120079970       0.22281862 0.3227220        0.4490461
6       0.035116301       0.09499215 0.1658518        0.2660822
7       0.045505792       0.12309648 0.2149206        0.3448051
8       0.009514686       0.05336379 0.1285758        0.2571517
9       0.014181240       0.07953649 0.1916369        0.3832737
10      0.020954333       0.11752386 0.2831644        0.5663289
11      0.032041322       0.17970602 0.4329874        0.8659749
12      0.055272486       0.30999965 0.7469196        1.4938392
13      0.089883287       0.50411678 1.2146295        2.4292589
14      0.132496720       0.74311724 1.7904822        3.5809643
15      0.174468532       0.97851911 2.3576643        4.7153287
16      0.207617870       1.16443952 2.8056248        5.6112497
17      0.229501345       1.28717454 3.1013452        6.2026903
18      0.242277793       1.35883215 3.2739985        6.5479970
19      0.249202990       1.39767261 3.3675815        6.7351630
20      1.751431640       4.73775012 8.2718863       13.2708950
   Quantile.0.95(R) Quantile.0.975(R)
1         1.0850325         1.1965445
2         0.7321390         0.8191677
3         0.7243315         0.8104321
4         0.7634891         0.8542443
5         0.6814362         0.7705187
6         0.4687817         0.5505816
7         0.6074752         0.7134764
8         0.5556955         0.6842713
9         0.8282408         1.0198776
10        1.2238163         1.5069808
11        1.8713406         2.3043280
12        3.2281329         3.9750525
13        5.2495412         6.4641707
14        7.7383351         9.5288173
15       10.1896558        12.5473201
16       12.1257088        14.9313337
17       13.4037908        16.5051359
18       14.1499861        17.4239846
19       14.5544451        17.9220266
20       23.3805693        27.4603530
`;

// discr_si(0:20, mu = 2.6, sigma = 1.5) as printed by EpiEstim's demonstration vignette (articles/short_demo.md);
// the same numbers are the $si_distr of Examples 2 and 3 in tests/testthat/_snaps/estimate_R.md.
const FLU_SI = [
  0.0, 2.331721e-1, 3.585794e-1, 1.981108e-1, 1.033427e-1, 5.290518e-2, 2.682146e-2, 1.35162e-2, 6.783438e-3, 3.394351e-3,
  1.694674e-3, 8.445945e-4, 4.203313e-4, 2.089422e-4, 1.037609e-4, 5.14848e-5, 2.552773e-5, 1.264952e-5, 6.264667e-6,
  3.101068e-6, 1.534394e-6,
];

describe('gamma functions', () => {
  // For whole a, P(a, x) = 1 - e^-x Σ_{k<a} x^k / k! (the Poisson-gamma identity), summed in logs for large a.
  const poissonIdentity = (a: number, x: number) => {
    let s = 0;
    for (let k = 0; k < a; k++) s += Math.exp(k * Math.log(x) - x - lgamma(k + 1));
    return 1 - s;
  };

  it('lgamma matches factorials and Γ(1/2) = √π', () => {
    let f = 0;
    for (let n = 1; n <= 170; n++) {
      expect(Math.abs(lgamma(n) - f)).toBeLessThan(1e-13 * Math.max(1, f));
      f += Math.log(n);
    }
    expect(lgamma(0.5)).toBeCloseTo(Math.log(Math.sqrt(Math.PI)), 14);
  });

  it('P(a, x) matches the Poisson identity on both sides of a + 1 (series and continued fraction), small to large a', () => {
    for (const a of [1, 2, 5, 10, 50, 200, 1000]) {
      for (const f of [0.2, 0.5, 0.8, 0.95, 1, 1.05, 1.2, 1.5, 2.5]) {
        const x = a * f;
        expect(Math.abs(gammaP(a, x) - poissonIdentity(a, x))).toBeLessThan(1e-12);
      }
    }
    expect(gammaP(1, 3)).toBeCloseTo(1 - Math.exp(-3), 15);
  });

  it('the quantile inverts the CDF to 1e-12 of itself, for exponential (closed form), small, mid and city-sized shapes', () => {
    for (const p of [0.025, 0.05, 0.25, 0.5, 0.75, 0.95, 0.975]) {
      expect(gammaQuantile(p, 1, 2)).toBeCloseTo(-2 * Math.log(1 - p), 12);
      for (const shape of [0.05, 0.5, 1.7, 8, 140, 25_000, 2_000_000]) {
        const q = gammaQuantile(p, shape, 0.3);
        // The residual in P, carried back through the density, is the relative error of q.
        const relative = Math.abs(gammaCdf(q, shape, 0.3) - p) / (gammaPdf(q, shape, 0.3) * q);
        expect(relative).toBeLessThan(1e-12);
      }
    }
  });
});

describe('discretised serial interval (EpiEstim discr_si)', () => {
  it('matches EpiEstim for the flu serial interval (mean 2.6, sd 1.5) to its printed 7 digits', () => {
    const ours = discreteSerialInterval(21, 2.6, 1.5);
    expect(ours[0]).toBe(0);
    // Seven significant digits: each is known to half a unit of its seventh digit.
    FLU_SI.forEach((ref, k) => expect(Math.abs(ours[k] - ref)).toBeLessThanOrEqual(ref === 0 ? 0 : 0.5 * 10 ** (Math.floor(Math.log10(ref)) - 6) + 1e-15));
  });

  it('equals the triangle-weighted integral of the shifted gamma density, computed independently by Simpson', () => {
    // w_k = ∫ (1 - |g - (k-1)|) f(g) dg over g in [k-2, k], G the gamma part of SI = 1 + G.
    for (const [mu, sigma] of [[4.7, 2.9], [8.4, 3.8], [14.9, 3.9]]) {
      const shape = ((mu - 1) / sigma) ** 2;
      const scale = sigma ** 2 / (mu - 1);
      const density = (g: number) => (g <= 0 ? 0 : Math.exp((shape - 1) * Math.log(g) - g / scale - lgamma(shape) - shape * Math.log(scale)));
      const simpson = (f: (x: number) => number, a: number, b: number, n = 2000) => {
        const h = (b - a) / n;
        let s = 0;
        for (let i = 0; i <= n; i++) s += (i === 0 || i === n ? 1 : i % 2 ? 4 : 2) * f(a + i * h);
        return (s * h) / 3;
      };
      // A piece starting at 0, where the density behaves like g^(shape-1), is integrated in u = g^(1/4) to make
      // it smooth; the kink of the triangle at k-1 is a piece boundary.
      const piece = (f: (g: number) => number, a: number, b: number) =>
        a === 0 ? simpson((u) => f(u ** 4) * 4 * u ** 3, 0, b ** 0.25) : simpson(f, a, b);
      for (let k = 1; k <= 30; k++) {
        const tri = (g: number) => (1 - Math.abs(g - (k - 1))) * density(g);
        const w = (k >= 2 ? piece(tri, k - 2, k - 1) : 0) + piece(tri, k - 1, k);
        expect(Math.abs(discrSi(k, mu, sigma) - w)).toBeLessThan(1e-10);
      }
    }
  });

  it('sums to 1 and keeps the mean (EpiEstim test-discr_si.R: k = 0..200, tolerances 1e-6 and 1e-4)', () => {
    for (const [mu, sigma] of [[2.6, 1.5], [4.7, 2.9], [8.4, 3.8], [14.9, 3.9], [22, 8]]) {
      const w = discreteSerialInterval(201, mu, sigma);
      expect(Math.abs(w.reduce((a, b) => a + b, 0) - 1)).toBeLessThan(1e-6);
      expect(Math.abs(w.reduce((a, b, k) => a + b * k, 0) - mu)).toBeLessThan(1e-4);
    }
  });

  it('refuses a mean of 1 or less, as EpiEstim does', () => {
    expect(() => discrSi(2, 1, 1)).toThrow(/mean must be > 1/);
    expect(() => estimateR(FLU2009, { siMean: 1, siSd: 0.5 })).toThrow(/> 1/);
    expect(() => estimateR(FLU2009, { siMean: 2.6, siSd: 0 })).toThrow(/sd must be > 0/);
  });
});

describe('estimateR (EpiEstim estimate_R, parametric_si)', () => {
  it('matches EpiEstim on Flu2009 with a serial interval of mean 2.6 and sd 1.5, every window and column', () => {
    const r = estimateR(FLU2009, { siMean: 2.6, siSd: 1.5 });
    expectMatchesPrint(r.windows, FLU2009_PARAMETRIC, 25);
    // $SI.Moments printed for Example 3: Mean 2.6, Std 1.55488.
    expect(r.siMoments.mean).toBeCloseTo(2.6, 6);
    expect(r.siMoments.std).toBeCloseTo(1.55488, 5);
    expect(r.si).toHaveLength(33);
    expect(r.warnings).toEqual([]);
  });

  it('matches EpiEstim with local and imported cases (imported cases infect but are not counted as infected)', () => {
    const r = estimateR({ local: EXAMPLE2_LOCAL, imported: EXAMPLE2_IMPORTED }, { siMean: 2.6, siSd: 1.5 });
    expectMatchesPrint(r.windows, EXAMPLE2, 20);
  });

  it('takes all of the first day\'s cases as imported and drops windows ending before the mean serial interval', () => {
    // Doubling day 1 changes lambda only: the numerator never counts day 1 (windows start on day 2).
    const a = estimateR(FLU2009, { siMean: 2.6, siSd: 1.5 });
    const b = estimateR({ local: FLU2009.map((c, i) => (i === 0 ? 0 : c)), imported: FLU2009.map((c, i) => (i === 0 ? c : 0)) }, { siMean: 2.6, siSd: 1.5 });
    expect(b.windows.map((w) => w.mean)).toEqual(a.windows.map((w) => w.mean));
    // A mean serial interval of 10.5 days: windows ending on days 8 to 10 end before it and are dropped.
    const late = estimateR(FLU2009, { siMean: 10.5, siSd: 3 });
    expect(late.windows[0].tEnd).toBe(11);
    expect(late.windows).toHaveLength(22);
  });

  it('warns like EpiEstim when the first window is too small, and needs 8 days for weekly windows', () => {
    const few = [1, 0, 1, 0, 1, 0, 1, 0, 2, 3];
    expect(estimateR(few, { siMean: 2.6, siSd: 1.5 }).warnings[0]).toMatch(/too early/);
    expect(() => estimateR([1, 2, 3, 4, 5, 6, 7], { siMean: 2.6, siSd: 1.5 })).toThrow(/at least 8 days/);
    expect(estimateR([1, 2, 3, 4, 5, 6, 7, 8], { siMean: 2.6, siSd: 1.5 }).windows).toHaveLength(1);
  });
});

describe('growth rate and doubling time', () => {
  it('recovers the rate of exact exponential counts, and its sign when they fall', () => {
    const y = Array.from({ length: 7 }, (_, t) => 10 * 2 ** (t / 3));
    const g = growthRate(y)!;
    expect(g.rate).toBeCloseTo(Math.LN2 / 3, 12);
    expect(g.doublingTime).toBeCloseTo(3, 10);
    expect(g.rateLow).toBeLessThan(g.rate);
    expect(g.rateHigh).toBeGreaterThan(g.rate);
    const down = growthRate([...y].reverse())!;
    expect(down.rate).toBeCloseTo(-Math.LN2 / 3, 12);
    expect(down.doublingTime).toBeCloseTo(-3, 10);
  });

  it('is the maximum of the Poisson likelihood, zeros included', () => {
    const y = [0, 3, 1, 0, 4, 6, 9];
    const g = growthRate(y)!;
    // Profile log-likelihood in r (intercept at its optimum): Σ y t r - S log Σ e^{r t}.
    const ll = (r: number) => y.reduce((s, v, t) => s + v * t * r, 0) - y.reduce((a, b) => a + b, 0) * Math.log(y.reduce((s, _v, t) => s + Math.exp(r * t), 0));
    expect(ll(g.rate)).toBeGreaterThan(ll(g.rate + 1e-4));
    expect(ll(g.rate)).toBeGreaterThan(ll(g.rate - 1e-4));
  });

  it('is null without cases or when every case is on the window\'s first or last day (the fit diverges)', () => {
    expect(growthRate([0, 0, 0, 0, 0, 0, 0])).toBeNull();
    expect(growthRate([0, 0, 0, 0, 0, 0, 5])).toBeNull();
    expect(growthRate([4, 0, 0, 0, 0, 0, 0])).toBeNull();
    expect(growthRate([0, 0, 0, 5, 0, 0, 0])!.rate).toBeCloseTo(0, 12);
  });

  it('comes with every window', () => {
    const r = estimateR(FLU2009, { siMean: 2.6, siSd: 1.5 });
    expect(r.windows[0].growth!.rate).toBeGreaterThan(0); // cases 1, 0, 2, 5, 3, 3, 3 on days 2-8
    expect(r.windows[15].growth!.rate).toBeLessThan(0); // days 17-23: 12, 6, 6, 6, 3, 1, 0
  });
});

describe('CSV in and out', () => {
  it('reads day,cases with numbered or dated days, and names every bad line', () => {
    const good = parseIncidenceCsv('day,cases\n2022-03-01,1\n2022-03-02,0\n');
    expect(good.cases).toEqual([1, 0]);
    expect(good.problems[0].message).toMatch(/at least 8/);
    const bad = parseIncidenceCsv('day,cases\n1,4\n2,-1\n3,2.5\n3,1\n5,1\n6,\nx,2\n');
    expect(bad.problems).toEqual([
      { line: 3, message: 'cases "-1" is negative' },
      { line: 4, message: 'cases "2.5" is not a whole number' },
      { line: 5, message: 'day 3 does not come after day 3; days must increase' },
      { line: 6, message: 'day 5 follows day 3: days must be consecutive (write a row with 0 cases for a day without cases)' },
      { line: 7, message: 'cases is empty' },
      { line: 8, message: 'day "x" is neither a whole number nor a YYYY-MM-DD date' },
    ]);
    expect(parseIncidenceCsv('date,count\n1,2\n').problems).toEqual([
      { line: 1, message: 'missing column "day" and "cases"; the header must name day and cases (it reads "date,count")' },
    ]);
    // R's write.csv quotes the header and adds a row-name column.
    const fromR = parseIncidenceCsv('"","day","cases"\n' + FLU2009.map((c, i) => `"${i + 1}",${i + 1},${c}`).join('\n'));
    expect(fromR.problems).toEqual([]);
    expect(fromR.cases).toEqual(FLU2009);
  });

  it('writes the header and full-precision numbers', () => {
    const r = estimateR(FLU2009, { siMean: 2.6, siSd: 1.5 });
    const lines = formatRtCsv(r.windows).trim().split('\n');
    expect(lines[0]).toBe(RT_CSV_HEADER);
    expect(lines).toHaveLength(26);
    expect(Number(lines[1].split(',')[2])).toBe(r.windows[0].mean);
    expect(formatRtCsv(r.windows, { growth: true }).split('\n')[0]).toBe(`${RT_CSV_HEADER},growth_rate,growth_rate_low,growth_rate_high,doubling_time`);
  });
});
