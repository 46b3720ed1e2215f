/**
 * Moving average: every step ahead is the mean of the last w observations (of all of them while fewer than w
 * have been seen), y^_{t+h} = (1/w) sum_{i=0}^{w-1} y_{t-i}. Exact on constant series; lags a trend by
 * (w-1)/2 intervals.
 */
import {
  checkDimension,
  checkSample,
  checkSteps,
  flatForecast,
  numberParam,
  type Predictor,
} from "./predictor.ts";

export interface MovingAverageOptions {
  /** w, the number of latest intervals averaged. Integer >= 1; default 12. */
  window?: number;
}

export class MovingAveragePredictor implements Predictor {
  readonly name = "ma";
  readonly dimension: number;
  readonly window: number;
  private readonly ring: Float64Array;
  private count = 0;

  /** @param dimension P, the number of pairs. */
  constructor(dimension: number, opts: MovingAverageOptions = {}) {
    this.dimension = checkDimension(this.name, dimension);
    this.window = numberParam(
      `${this.name}.window`,
      opts.window,
      12,
      (v) => Number.isInteger(v) && v >= 1,
      "a positive integer number of intervals",
    );
    this.ring = new Float64Array(this.window * dimension);
  }

  params(): Record<string, unknown> {
    return { window: this.window };
  }

  observe(_timeNs: number, sample: Float64Array): void {
    checkSample(this.name, this.dimension, sample);
    this.ring.set(sample, (this.count % this.window) * this.dimension);
    this.count++;
  }

  forecast(steps: number): Float64Array[] {
    checkSteps(this.name, steps);
    const P = this.dimension;
    const n = Math.min(this.count, this.window);
    const mean = new Float64Array(P);
    for (let k = 0; k < n; k++) {
      for (let p = 0; p < P; p++) mean[p]! += this.ring[k * P + p]!;
    }
    if (n > 0) for (let p = 0; p < P; p++) mean[p]! /= n;
    return flatForecast(mean, steps);
  }
}
