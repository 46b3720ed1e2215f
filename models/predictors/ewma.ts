/**
 * Exponentially weighted moving average (simple exponential smoothing; Brown 1956, Holt 1957):
 * s_t = alpha y_t + (1 - alpha) s_{t-1} (computed as s_{t-1} + alpha (y_t - s_{t-1}), exact on constants), s_0 = y_0, and every step ahead is y^_{t+h} = s_t. alpha = 1 is the last
 * value; small alpha averages over about 2/alpha - 1 intervals. Exact on constant series.
 *
 * `train(history)` picks alpha, when it was not given, from {0.05, 0.10, ..., 1.00} by the least sum over pairs
 * and intervals of squared one-step-ahead errors on the history (the classical criterion; Hyndman &
 * Athanasopoulos, "Forecasting: Principles and Practice", 3rd ed., section 8.1). One alpha serves all pairs.
 */
import {
  checkDimension,
  checkHistory,
  checkSample,
  checkSteps,
  flatForecast,
  numberParam,
  type Predictor,
} from "./predictor.ts";

export interface EwmaOptions {
  /** Smoothing constant in (0, 1]. Default 0.5 until `train` tunes it; given, it is never tuned. */
  alpha?: number;
}

/** The alphas `train` tries. */
export const EWMA_ALPHA_GRID: readonly number[] = Array.from({ length: 20 }, (_, i) => (i + 1) / 20);

export class EwmaPredictor implements Predictor {
  readonly name = "ewma";
  readonly dimension: number;
  private alphaValue: number;
  private readonly fixed: boolean;
  private tuned = false;
  private readonly level: Float64Array;
  private count = 0;

  /** @param dimension P, the number of pairs. */
  constructor(dimension: number, opts: EwmaOptions = {}) {
    this.dimension = checkDimension(this.name, dimension);
    this.fixed = opts.alpha !== undefined;
    this.alphaValue = numberParam(
      `${this.name}.alpha`,
      opts.alpha,
      0.5,
      (v) => v > 0 && v <= 1,
      "a number in (0, 1]",
    );
    this.level = new Float64Array(dimension);
  }

  get alpha(): number {
    return this.alphaValue;
  }

  params(): Record<string, unknown> {
    return { alpha: this.alphaValue, tuned: this.tuned };
  }

  /** Tunes alpha on `history` (T x P) unless it was given; needs T >= 2. */
  train(history: readonly Float64Array[]): void {
    checkHistory(this.name, this.dimension, history);
    if (this.fixed || history.length < 2) return;
    let best = Number.POSITIVE_INFINITY;
    for (const alpha of EWMA_ALPHA_GRID) {
      const sse = ewmaSse(history, this.dimension, alpha);
      if (sse < best) {
        best = sse;
        this.alphaValue = alpha;
      }
    }
    this.tuned = true;
  }

  observe(_timeNs: number, sample: Float64Array): void {
    checkSample(this.name, this.dimension, sample);
    const a = this.alphaValue;
    if (this.count === 0) this.level.set(sample);
    else
      for (let p = 0; p < this.dimension; p++)
        this.level[p] = this.level[p]! + a * (sample[p]! - this.level[p]!);
    this.count++;
  }

  forecast(steps: number): Float64Array[] {
    checkSteps(this.name, steps);
    return flatForecast(this.level, steps);
  }
}

/** Sum over t >= 1 and pairs of (y_t - s_{t-1})^2 for smoothing constant `alpha`. */
function ewmaSse(history: readonly Float64Array[], P: number, alpha: number): number {
  const s = Float64Array.from(history[0]!);
  let sse = 0;
  for (let t = 1; t < history.length; t++) {
    const y = history[t]!;
    for (let p = 0; p < P; p++) {
      const e = y[p]! - s[p]!;
      sse += e * e;
      s[p] = s[p]! + alpha * e;
    }
  }
  return sse;
}

/** One EWMA step in place: level += alpha (x - level). */
export function ewmaStep(level: Float64Array, x: Float64Array, alpha: number): void {
  for (let p = 0; p < level.length; p++) level[p] = level[p]! + alpha * (x[p]! - level[p]!);
}

/** The EWMA level after each row of `rows` (level_0 = row 0). */
export function ewmaRows(rows: readonly Float64Array[], alpha: number): Float64Array[] {
  const out: Float64Array[] = [];
  const level = Float64Array.from(rows[0] ?? []);
  for (const [t, row] of rows.entries()) {
    if (t > 0) ewmaStep(level, row, alpha);
    out.push(Float64Array.from(level));
  }
  return out;
}
