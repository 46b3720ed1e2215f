/**
 * Pooled direct linear autoregression in log space (an AR-X model fitted jointly on all pairs): for each horizon
 * h = 1 .. H its own weight vector w_h, and
 *
 *   z_t = log1p(y_t / c),   b_t = EWMA of z (smoothing constant alpha),
 *   z^_{t+h} = b_t + sum_k w_h[k] (z_{t-k} - b_t)                       k = 0 .. W-1
 *                  + sum_j w_h[W+1+j] (z_{t+h-S+j} - b_{t-S})           j = -1, 0, 1, with S > 0
 *   y^_{t+h} = c expm1(z^_{t+h}), at least 0
 *
 * c is the median of the positive training values; b is an EWMA whose alpha is the ewma predictor's (tuned on the
 * training history, ewma.ts); S is the seasonal lag (`seasonalLag`, e.g. 288 for a day of 5-minute intervals),
 * whose three terms carry what the series did around the target's time one season ago, relative to its level
 * then. Direct multi-horizon forecasting (one model per step ahead, nothing fed back) follows Ben Taieb et al.,
 * "A review and comparison of strategies for multi-step ahead time series forecasting" (Expert Systems with
 * Applications 39(8), 2012); the linear autoregressive component beside a network is LSTNet's (Lai et al., SIGIR
 * 2018). Each w_h minimizes the squared error of z weighted per pair by its mean volume (pair mean / mean of all
 * pairs, as the LSTM's `weighting: "volume"`, so the fit tracks the large pairs that dominate MAE), with a small
 * ridge (`ridge` x the mean diagonal of the normal matrix): one closed-form solve per horizon, no iterations.
 * Forecasts beyond H repeat the H-step forecast.
 */
import { EwmaPredictor, ewmaRows } from "./ewma.ts";
import {
  checkDimension,
  checkHistory,
  checkSample,
  checkSteps,
  numberParam,
  type Predictor,
  PredictorError,
} from "./predictor.ts";

export interface LinearConfig {
  /** W, the latest intervals in each forecast's inputs. */
  window: number;
  /** H, the horizons fitted directly (1 .. H). */
  horizon: number;
  /** S, the seasonal lag in intervals (> H); 0 = none. */
  seasonalLag: number;
  /** Ridge factor relative to the mean diagonal of each normal matrix, >= 0. */
  ridge: number;
}

export type LinearOptions = Partial<LinearConfig>;

/** What `train` fitted: enough to forecast without training again (a deep model's saved base). */
export interface LinearFit {
  alpha: number;
  scale: number;
  /** w_h of horizon h at weights[h - 1]. */
  weights: number[][];
}

export const LINEAR_DEFAULTS: Readonly<LinearConfig> = {
  window: 36,
  horizon: 12,
  seasonalLag: 0,
  ridge: 1e-6,
};

/** The seasonal lag's terms: offsets -1, 0, +1 around t + h - S. */
const LAG_OFFSETS = [-1, 0, 1] as const;

export class LinearPredictor implements Predictor {
  readonly name = "linear";
  readonly dimension: number;
  private readonly config: LinearConfig;
  /** w_h of horizon h at weights[h - 1]; empty before `train`. */
  private weights: Float64Array[] = [];
  private alpha = 0.5;
  private scale = 1;
  /** z and b of the latest `cap` observations, row t at (t mod cap) * P. */
  private readonly cap: number;
  private readonly zRing: Float64Array;
  private readonly bRing: Float64Array;
  private readonly lastY: Float64Array;
  private count = 0;

  /** @param dimension P, the number of pairs. @throws PredictorError naming a bad option. */
  constructor(dimension: number, opts: LinearOptions = {}) {
    this.dimension = checkDimension(this.name, dimension);
    const c = {
      ...LINEAR_DEFAULTS,
      ...Object.fromEntries(Object.entries(opts).filter(([, v]) => v !== undefined)),
    };
    const int = (field: "window" | "horizon" | "seasonalLag", min: number) =>
      numberParam(
        `${this.name}.${field}`,
        c[field],
        0,
        (v) => Number.isInteger(v) && v >= min,
        `an integer >= ${min}`,
      );
    this.config = {
      window: int("window", 1),
      horizon: int("horizon", 1),
      seasonalLag: int("seasonalLag", 0),
      ridge: numberParam(`${this.name}.ridge`, c.ridge, 0, (v) => v >= 0, "a number >= 0"),
    };
    const { seasonalLag: S, horizon: H } = this.config;
    if (S > 0 && S <= H + 1) {
      throw new PredictorError(
        `${this.name}.seasonalLag: expected 0 or more than horizon + 1 (${H + 1}), got ${S}`,
      );
    }
    this.cap = Math.max(this.config.window, S + 2);
    this.zRing = new Float64Array(this.cap * dimension);
    this.bRing = new Float64Array(this.cap * dimension);
    this.lastY = new Float64Array(dimension);
  }

  params(): Record<string, unknown> {
    return { ...this.config, alpha: this.alpha, scale: this.scale, trained: this.weights.length > 0 };
  }

  /** The fitted state (empty weights before `train`). */
  fit(): LinearFit {
    return { alpha: this.alpha, scale: this.scale, weights: this.weights.map((w) => Array.from(w)) };
  }

  /**
   * Takes a fit from {@link fit} instead of training. @throws PredictorError when it has not H weight vectors of
   * F values each.
   */
  restore(fit: LinearFit): void {
    const F = this.features;
    if (fit.weights.length !== this.config.horizon || fit.weights.some((w) => w.length !== F)) {
      throw new PredictorError(
        `${this.name}.restore: expected ${this.config.horizon} weight vectors of ${F} values, got ${fit.weights.length}`,
      );
    }
    this.alpha = fit.alpha;
    this.scale = fit.scale;
    this.weights = fit.weights.map((w) => Float64Array.from(w));
  }

  /** The first origin t (0-based row of a history) with every input of a forecast: max(W - 1, S + 1). */
  get firstOrigin(): number {
    const { window: W, seasonalLag: S } = this.config;
    return Math.max(W - 1, S > 0 ? S + 1 : 0);
  }

  /**
   * The forecasts of 1 .. H steps from every origin t = first .. T-1 of `rows` (T x P; z and the EWMA computed from
   * row 0, as `observe` computes them online), with the fitted weights: y[((t - first) H + h - 1) P + p], the
   * data's units; first = {@link firstOrigin}. The same numbers as `forecast(H)` after observing rows 0 .. t.
   * @throws PredictorError before `train` or `restore`.
   */
  forecastHistory(rows: readonly Float64Array[]): { first: number; y: Float64Array } {
    if (this.weights.length === 0) throw new PredictorError(`${this.name}.forecastHistory: not trained`);
    const P = this.dimension;
    const H = this.config.horizon;
    const first = this.firstOrigin;
    const z = rows.map((row) => row.map((v) => Math.log1p(Math.max(v, 0) / this.scale)));
    const b = ewmaRows(z, this.alpha);
    const y = new Float64Array(Math.max(0, rows.length - first) * H * P);
    const x = new Float64Array(this.features);
    for (let t = first; t < rows.length; t++) {
      for (let h = 1; h <= H; h++) {
        const at = ((t - first) * H + h - 1) * P;
        for (let p = 0; p < P; p++) {
          this.inputs(
            x,
            h,
            (i) => z[i]![p]!,
            (i) => b[i]![p]!,
            t,
          );
          y[at + p] = this.predict(this.weights[h - 1]!, x, b[t]![p]!);
        }
      }
    }
    return { first, y };
  }

  /** y^ = c expm1(b_t + w . x), at least 0. */
  private predict(w: Float64Array, x: Float64Array, bt: number): number {
    let zh = bt;
    for (let k = 0; k < x.length; k++) zh += w[k]! * x[k]!;
    return Math.max(0, this.scale * Math.expm1(zh));
  }

  /** F, the inputs per forecast. */
  private get features(): number {
    return this.config.window + (this.config.seasonalLag > 0 ? LAG_OFFSETS.length : 0);
  }

  /**
   * Fits alpha (as the ewma predictor), c and w_1 .. w_H on `history` (T x P). @throws PredictorError when T is
   * below W + H (or S + 2 + H with the seasonal lag), too short for one training window.
   */
  train(history: readonly Float64Array[]): void {
    const P = this.dimension;
    checkHistory(this.name, P, history);
    const { horizon: H } = this.config;
    const first = this.firstOrigin;
    if (history.length < first + H + 1) {
      throw new PredictorError(
        `${this.name}.train: history has ${history.length} intervals; needs at least ${first + H + 1}`,
      );
    }
    const ewma = new EwmaPredictor(P);
    ewma.train(history);
    this.alpha = ewma.alpha;
    this.scale = positiveMedian(history);
    const z = history.map((row) => row.map((v) => Math.log1p(Math.max(v, 0) / this.scale)));
    const b = ewmaRows(z, this.alpha);
    const vol = volumeWeights(history);
    const F = this.features;
    const x = new Float64Array(F);
    this.weights = [];
    for (let h = 1; h <= H; h++) {
      const A = new Float64Array(F * F);
      const r = new Float64Array(F);
      for (let t = first; t + h < history.length; t++) {
        for (let p = 0; p < P; p++) {
          this.inputs(
            x,
            h,
            (i) => z[i]![p]!,
            (i) => b[i]![p]!,
            t,
          );
          accumulate(A, r, x, z[t + h]![p]! - b[t]![p]!, vol[p]!);
        }
      }
      this.weights.push(solveRidge(A, r, F, this.config.ridge));
    }
  }

  /** x of pair p, horizon h, origin t (the latest observation), reading z and b at absolute times. */
  private inputs(
    x: Float64Array,
    h: number,
    zAt: (t: number) => number,
    bAt: (t: number) => number,
    t: number,
  ): void {
    const { window: W, seasonalLag: S } = this.config;
    const bt = bAt(t);
    for (let k = 0; k < W; k++) x[k] = zAt(t - k) - bt;
    if (S > 0) {
      const bs = bAt(t - S);
      LAG_OFFSETS.forEach((j, i) => {
        x[W + i] = zAt(t + h - S + j) - bs;
      });
    }
  }

  observe(_timeNs: number, sample: Float64Array): void {
    checkSample(this.name, this.dimension, sample);
    const P = this.dimension;
    const at = (this.count % this.cap) * P;
    const prev = ((this.count - 1 + this.cap) % this.cap) * P;
    for (let p = 0; p < P; p++) {
      const zv = Math.log1p(Math.max(sample[p]!, 0) / this.scale);
      this.zRing[at + p] = zv;
      this.bRing[at + p] =
        this.count === 0 ? zv : this.bRing[prev + p]! + this.alpha * (zv - this.bRing[prev + p]!);
    }
    this.lastY.set(sample);
    this.count++;
  }

  /**
   * Forecasts of 1 .. steps; before `train` or before enough observations for the inputs (W, or S + 2 with the
   * seasonal lag) the last value.
   */
  forecast(steps: number): Float64Array[] {
    checkSteps(this.name, steps);
    const P = this.dimension;
    const ready = this.weights.length > 0 && this.count >= this.cap;
    const t = this.count - 1;
    const slot = (i: number) => (((i % this.cap) + this.cap) % this.cap) * P;
    const x = new Float64Array(this.features);
    return Array.from({ length: steps }, (_, i) => {
      if (!ready) return Float64Array.from(this.lastY);
      const h = Math.min(i + 1, this.config.horizon);
      const w = this.weights[h - 1]!;
      const out = new Float64Array(P);
      for (let p = 0; p < P; p++) {
        this.inputs(
          x,
          h,
          (s) => this.zRing[slot(s) + p]!,
          (s) => this.bRing[slot(s) + p]!,
          t,
        );
        out[p] = this.predict(w, x, this.bRing[slot(t) + p]!);
      }
      return out;
    });
  }
}

/** The median of the positive values of `rows` (1 when none is positive). */
function positiveMedian(rows: readonly Float64Array[]): number {
  const v = rows.flatMap((r) => Array.from(r).filter((x) => x > 0));
  if (v.length === 0) return 1;
  const s = Float64Array.from(v).sort();
  return s[Math.floor(s.length / 2)]!;
}

/** Per-pair weights: the pair's mean over `rows` divided by the mean over all pairs (1 each when all are 0). */
function volumeWeights(rows: readonly Float64Array[]): Float64Array {
  const P = rows[0]!.length;
  const m = new Float64Array(P);
  for (const r of rows) for (let p = 0; p < P; p++) m[p]! += r[p]! / rows.length;
  const all = m.reduce((a, v) => a + v, 0) / P;
  return m.map((v) => (all > 0 ? v / all : 1));
}

/** A += weight x x^T (upper triangle), r += weight x y. */
function accumulate(A: Float64Array, r: Float64Array, x: Float64Array, y: number, weight: number): void {
  const F = x.length;
  for (let i = 0; i < F; i++) {
    const wx = weight * x[i]!;
    r[i]! += wx * y;
    for (let j = i; j < F; j++) A[i * F + j]! += wx * x[j]!;
  }
}

/**
 * The solution w of (A + lambda I) w = r, A symmetric (upper triangle given), lambda = ridge x mean diagonal, by
 * Cholesky decomposition; all zeros when A is zero (no variation in the inputs). @throws PredictorError when the
 * matrix is not positive definite.
 */
function solveRidge(A: Float64Array, r: Float64Array, F: number, ridge: number): Float64Array {
  let trace = 0;
  for (let i = 0; i < F; i++) trace += A[i * F + i]!;
  // No variation in the inputs (a constant history): every weight 0, the forecast is the EWMA base.
  if (!(trace > 0)) return new Float64Array(F);
  const lambda = Math.max((ridge * trace) / F, trace * 1e-12);
  const L = new Float64Array(F * F);
  for (let i = 0; i < F; i++) {
    for (let j = 0; j <= i; j++) {
      let s = A[j * F + i]! + (i === j ? lambda : 0);
      for (let k = 0; k < j; k++) s -= L[i * F + k]! * L[j * F + k]!;
      if (i === j) {
        if (!(s > 0)) throw new PredictorError("linear.train: the inputs are degenerate (constant history?)");
        L[i * F + i] = Math.sqrt(s);
      } else L[i * F + j] = s / L[j * F + j]!;
    }
  }
  const y = new Float64Array(F);
  for (let i = 0; i < F; i++) {
    let s = r[i]!;
    for (let k = 0; k < i; k++) s -= L[i * F + k]! * y[k]!;
    y[i] = s / L[i * F + i]!;
  }
  const w = new Float64Array(F);
  for (let i = F - 1; i >= 0; i--) {
    let s = y[i]!;
    for (let k = i + 1; k < F; k++) s -= L[k * F + i]! * w[k]!;
    w[i] = s / L[i * F + i]!;
  }
  return w;
}
