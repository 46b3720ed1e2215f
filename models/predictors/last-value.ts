/**
 * Last value (the naive or random-walk forecast): every step ahead is the latest observation,
 * y^_{t+h} = y_t. The baseline every forecaster must beat; optimal when the series is a random walk.
 */
import { checkDimension, checkSample, checkSteps, flatForecast, type Predictor } from "./predictor.ts";

export class LastValuePredictor implements Predictor {
  readonly name = "lv";
  readonly dimension: number;
  private readonly last: Float64Array;

  /** @param dimension P, the number of pairs. */
  constructor(dimension: number) {
    this.dimension = checkDimension("lv", dimension);
    this.last = new Float64Array(dimension);
  }

  params(): Record<string, unknown> {
    return {};
  }

  observe(_timeNs: number, sample: Float64Array): void {
    checkSample(this.name, this.dimension, sample);
    this.last.set(sample);
  }

  forecast(steps: number): Float64Array[] {
    checkSteps(this.name, steps);
    return flatForecast(this.last, steps);
  }
}
