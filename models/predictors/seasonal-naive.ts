/**
 * Seasonal naive: the value one season ago at the same phase, y^_{t+h} = y_{t+h-m(k+1)} with k = floor((h-1)/m)
 * and m the period in intervals (Hyndman & Athanasopoulos, "Forecasting: Principles and Practice", 3rd ed.,
 * section 5.2). Exact on any purely periodic series once one full period has been observed. Before that, a target
 * whose source time t + h - m(k+1) is still in the future of the first observation gets the last value.
 */
import { checkDimension, checkSample, checkSteps, numberParam, type Predictor } from "./predictor.ts";

export interface SeasonalNaiveOptions {
  /** m, the period in intervals (e.g. 288 for a day of 5-minute intervals). Integer >= 1. */
  period: number;
}

export class SeasonalNaivePredictor implements Predictor {
  readonly name = "seasonal-naive";
  readonly dimension: number;
  readonly period: number;
  /** Observation t of pair p at `ring[(t mod m) * P + p]`. */
  private readonly ring: Float64Array;
  private count = 0;

  /** @param dimension P, the number of pairs. */
  constructor(dimension: number, opts: SeasonalNaiveOptions) {
    this.dimension = checkDimension(this.name, dimension);
    this.period = numberParam(
      `${this.name}.period`,
      opts.period,
      0,
      (v) => Number.isInteger(v) && v >= 1,
      "a positive integer number of intervals",
    );
    this.ring = new Float64Array(this.period * dimension);
  }

  params(): Record<string, unknown> {
    return { period: this.period };
  }

  observe(_timeNs: number, sample: Float64Array): void {
    checkSample(this.name, this.dimension, sample);
    this.ring.set(sample, (this.count % this.period) * this.dimension);
    this.count++;
  }

  forecast(steps: number): Float64Array[] {
    checkSteps(this.name, steps);
    const P = this.dimension;
    const m = this.period;
    const last = this.count - 1;
    return Array.from({ length: steps }, (_, i) => {
      if (this.count === 0) return new Float64Array(P);
      const h = i + 1;
      // The source time t + h - m(k+1); before a full period, the last value.
      const src = last + h - m * (Math.floor((h - 1) / m) + 1);
      const t = src >= 0 ? src : last;
      const at = (t % m) * P;
      return this.ring.slice(at, at + P);
    });
  }
}
