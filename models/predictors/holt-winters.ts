/**
 * Holt-Winters additive seasonal method (Holt 1957, "Forecasting seasonals and trends by exponentially weighted
 * moving averages", ONR memo 52; Winters 1960, Management Science 6(3)), in the component form of Hyndman &
 * Athanasopoulos, "Forecasting: Principles and Practice", 3rd ed., section 8.3, with period m:
 *
 *   level   l_t = alpha (y_t - s_{t-m}) + (1 - alpha)(l_{t-1} + b_{t-1})
 *   trend   b_t = beta (l_t - l_{t-1}) + (1 - beta) b_{t-1}
 *   season  s_t = gamma (y_t - l_{t-1} - b_{t-1}) + (1 - gamma) s_{t-m}
 *   forecast y^_{t+h} = l_t + h b_t + s_{t+h-m(k+1)},  k = floor((h-1)/m)
 *
 * Initialization (per pair, from the first two full periods, y_0 .. y_{2m-1}): with M1 and M2 the means of the
 * first and second period, b = (M2 - M1)/m and the straight line L(j) = M1 + b (j - (m-1)/2) through both
 * means; the seasonal index of phase i is s_i = ((y_i - L(i)) + (y_{i+m} - L(i+m))) / 2 (they sum to zero), and
 * the state after y_{2m-1} is l = L(2m-1), b. So any series y_t = a + c t + q_{t mod m} (a line plus a fixed
 * periodic pattern) is forecast exactly from then on, whatever alpha, beta, gamma. Before two full periods the
 * forecast is seasonal naive (the last value for targets whose phase has not been observed yet).
 *
 * m = 1 is Holt's linear method (no season: gamma is 0), exact on straight lines after two observations.
 *
 * `train(history)` picks the constants not given from the grid alpha in {0.05, 0.1, 0.2, ..., 1}, beta in
 * {0, 0.01, 0.05, 0.1, 0.2}, gamma in {0, 0.05, 0.1, 0.2, 0.3, 0.5} by the least sum over pairs of squared
 * one-step-ahead errors after the warm-up (needs at least 2m + 1 intervals; else the defaults stay). One set of
 * constants serves all pairs.
 */
import {
  checkDimension,
  checkHistory,
  checkSample,
  checkSteps,
  numberParam,
  type Predictor,
} from "./predictor.ts";

export interface HoltWintersOptions {
  /** m, the period in intervals (e.g. 288 for a day of 5-minute intervals); 1 for Holt's linear method. */
  period: number;
  /** Level smoothing in (0, 1]; default 0.5 until `train` tunes it. */
  alpha?: number;
  /** Trend smoothing in [0, 1]; default 0.05 until `train` tunes it. */
  beta?: number;
  /** Season smoothing in [0, 1]; default 0.1 until `train` tunes it (always 0 when m = 1). */
  gamma?: number;
}

export const HW_ALPHA_GRID: readonly number[] = [0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1];
export const HW_BETA_GRID: readonly number[] = [0, 0.01, 0.05, 0.1, 0.2];
export const HW_GAMMA_GRID: readonly number[] = [0, 0.05, 0.1, 0.2, 0.3, 0.5];

interface Constants {
  alpha: number;
  beta: number;
  gamma: number;
}

/** The recursions for P series; `count` observations so far. */
class HwState {
  readonly level: Float64Array;
  readonly trend: Float64Array;
  /** s of phase i, pair p at `season[i * P + p]`; before initialization, the first 2m observations. */
  readonly season: Float64Array;
  private readonly warmup: Float64Array;
  count = 0;

  constructor(
    readonly P: number,
    readonly m: number,
    readonly c: Constants,
  ) {
    this.level = new Float64Array(P);
    this.trend = new Float64Array(P);
    this.season = new Float64Array(m * P);
    this.warmup = new Float64Array(2 * m * P);
  }

  get initialized(): boolean {
    return this.count >= 2 * this.m;
  }

  update(y: Float64Array): void {
    const { P, m } = this;
    if (this.count < 2 * m) {
      this.warmup.set(y, this.count * P);
      this.count++;
      if (this.count === 2 * m) this.initialize();
      return;
    }
    const { alpha, beta, gamma } = this.c;
    const at = (this.count % m) * P;
    for (let p = 0; p < P; p++) {
      const l0 = this.level[p]!;
      const b0 = this.trend[p]!;
      const s0 = this.season[at + p]!;
      const yp = y[p]!;
      const l = alpha * (yp - s0) + (1 - alpha) * (l0 + b0);
      this.level[p] = l;
      this.trend[p] = beta * (l - l0) + (1 - beta) * b0;
      this.season[at + p] = gamma * (yp - l0 - b0) + (1 - gamma) * s0;
    }
    this.count++;
  }

  private initialize(): void {
    const { P, m } = this;
    const w = this.warmup;
    const mid = (m - 1) / 2;
    for (let p = 0; p < P; p++) {
      let sum1 = 0;
      let sum2 = 0;
      for (let i = 0; i < m; i++) {
        sum1 += w[i * P + p]!;
        sum2 += w[(i + m) * P + p]!;
      }
      const m1 = sum1 / m;
      const b = (sum2 / m - m1) / m;
      const line = (j: number) => m1 + b * (j - mid);
      for (let i = 0; i < m; i++) {
        this.season[i * P + p] = (w[i * P + p]! - line(i) + (w[(i + m) * P + p]! - line(i + m))) / 2;
      }
      this.level[p] = line(2 * m - 1);
      this.trend[p] = b;
    }
  }

  /** Writes the h-step-ahead forecast (h >= 1) into `out`. */
  forecastInto(h: number, out: Float64Array): void {
    const { P, m } = this;
    const last = this.count - 1;
    if (this.count === 0) {
      out.fill(0);
    } else if (this.initialized) {
      const at = ((last + h) % m) * P;
      for (let p = 0; p < P; p++) out[p] = this.level[p]! + h * this.trend[p]! + this.season[at + p]!;
    } else {
      const src = last + h - m * (Math.floor((h - 1) / m) + 1);
      const t = src >= 0 ? src : last;
      out.set(this.warmup.subarray(t * P, t * P + P));
    }
  }
}

export class HoltWintersPredictor implements Predictor {
  readonly name = "hw";
  readonly dimension: number;
  readonly period: number;
  private constants: Constants;
  private readonly given: { alpha: boolean; beta: boolean; gamma: boolean };
  private tuned = false;
  private state: HwState;

  /** @param dimension P, the number of pairs. */
  constructor(dimension: number, opts: HoltWintersOptions) {
    this.dimension = checkDimension(this.name, dimension);
    this.period = numberParam(
      `${this.name}.period`,
      opts.period,
      0,
      (v) => Number.isInteger(v) && v >= 1,
      "a positive integer number of intervals",
    );
    const unit = (v: number) => v >= 0 && v <= 1;
    const alpha = numberParam(
      `${this.name}.alpha`,
      opts.alpha,
      0.5,
      (v) => v > 0 && v <= 1,
      "a number in (0, 1]",
    );
    const beta = numberParam(`${this.name}.beta`, opts.beta, 0.05, unit, "a number in [0, 1]");
    const gamma = numberParam(`${this.name}.gamma`, opts.gamma, 0.1, unit, "a number in [0, 1]");
    this.constants = { alpha, beta, gamma: this.period === 1 ? 0 : gamma };
    this.given = {
      alpha: opts.alpha !== undefined,
      beta: opts.beta !== undefined,
      gamma: opts.gamma !== undefined,
    };
    this.state = new HwState(dimension, this.period, this.constants);
  }

  params(): Record<string, unknown> {
    return { period: this.period, ...this.constants, tuned: this.tuned };
  }

  /** Tunes the constants not given on `history` (T x P), when T >= 2m + 1. Resets the observed state. */
  train(history: readonly Float64Array[]): void {
    checkHistory(this.name, this.dimension, history);
    const m = this.period;
    if (history.length < 2 * m + 1) return;
    const grid = (given: boolean, value: number, values: readonly number[]) => (given ? [value] : values);
    const c = this.constants;
    let best = Number.POSITIVE_INFINITY;
    for (const alpha of grid(this.given.alpha, c.alpha, HW_ALPHA_GRID)) {
      for (const beta of grid(this.given.beta, c.beta, HW_BETA_GRID)) {
        for (const gamma of grid(this.given.gamma || m === 1, c.gamma, HW_GAMMA_GRID)) {
          const sse = hwSse(history, this.dimension, m, { alpha, beta, gamma }, best);
          if (sse < best) {
            best = sse;
            this.constants = { alpha, beta, gamma };
          }
        }
      }
    }
    this.tuned = true;
    this.state = new HwState(this.dimension, m, this.constants);
  }

  observe(_timeNs: number, sample: Float64Array): void {
    checkSample(this.name, this.dimension, sample);
    this.state.update(sample);
  }

  forecast(steps: number): Float64Array[] {
    checkSteps(this.name, steps);
    return Array.from({ length: steps }, (_, i) => {
      const out = new Float64Array(this.dimension);
      this.state.forecastInto(i + 1, out);
      return out;
    });
  }
}

/** Sum of squared one-step-ahead errors after the 2m warm-up; stops early once above `bound`. */
function hwSse(history: readonly Float64Array[], P: number, m: number, c: Constants, bound: number): number {
  const s = new HwState(P, m, c);
  const f = new Float64Array(P);
  let sse = 0;
  for (const y of history) {
    if (s.initialized) {
      s.forecastInto(1, f);
      for (let p = 0; p < P; p++) {
        const e = y[p]! - f[p]!;
        sse += e * e;
      }
      if (sse > bound) return sse;
    }
    s.update(y);
  }
  return sse;
}
