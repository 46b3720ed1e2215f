/**
 * The predictor seam (see DESIGN.md): a forecaster of P per-pair series sampled once per interval.
 *
 * A sample is a `Float64Array` of length P (the predictor's `dimension`, fixed at construction): entry p is pair
 * p's volume in the interval (bytes, or an average rate in bits/s; a predictor never looks at the unit, and its
 * forecasts come back in the unit it was fed). The caller feeds every interval in time order through `observe`
 * and may ask at any point for the next `steps` intervals with `forecast`; `forecast(3)[0]` is the next interval,
 * `[2]` the one three ahead. Learned predictors (LSTM; EWMA and Holt-Winters when they tune their smoothing
 * constants) fit their parameters in `train(history)` before observing; it does not feed the history as
 * observations: the caller observes it afterwards (as `evaluatePredictors` does), so every predictor sees the same
 * stream.
 */

/** A forecaster over P per-pair series. */
export interface Predictor {
  /** The registry name (`"lv"`, `"ewma"`, ...), used as the `predictor` field of evaluation records. */
  readonly name: string;
  /** P, the length of every sample and forecast vector. */
  readonly dimension: number;
  /**
   * The effective parameters (after defaults and any tuning in `train`), for result manifests, e.g.
   * `{ alpha: 0.3 }`. JSON-serializable.
   */
  params(): Record<string, unknown>;
  /**
   * Fits parameters on `history` (T x P, oldest first). Call it before observing: it does not feed the history
   * as observations and may reset the observed state; observe the history afterwards to warm the predictor up.
   * `endNs`, when given, is each history row's end time (ns, as `observe`'s `timeNs`), for predictors with time
   * features (the Transformer); the others ignore it.
   */
  train?(history: readonly Float64Array[], endNs?: ArrayLike<number>): void | Promise<void>;
  /**
   * Feeds the sample of one interval. `timeNs` is the end of that interval (as `Observation.timeNs`), ns; samples
   * must come in time order, one per interval.
   * @throws PredictorError when `sample.length !== dimension` or a value is not finite.
   */
  observe(timeNs: number, sample: Float64Array): void;
  /**
   * Forecasts of the next `steps` intervals, each a fresh `Float64Array` of length P. Before the first
   * observation every predictor forecasts zeros.
   * @throws PredictorError when `steps` is not a positive integer.
   */
  forecast(steps: number): Float64Array[];
  /** Releases resources held outside the JS heap (tfjs tensors); the predictor is unusable afterwards. */
  dispose?(): void;
}

/** Bad predictor parameters or inputs; the message names the predictor, the parameter or input and the value. */
export class PredictorError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "PredictorError";
  }
}

/** Throws unless `sample` has length `dimension` and only finite values. */
export function checkSample(name: string, dimension: number, sample: Float64Array): void {
  if (sample.length !== dimension) {
    throw new PredictorError(
      `${name}.observe: expected a sample of ${dimension} pairs, got ${sample.length}`,
    );
  }
  for (let p = 0; p < dimension; p++) {
    if (!Number.isFinite(sample[p]!)) {
      throw new PredictorError(`${name}.observe: sample[${p}] must be a finite number, got ${sample[p]}`);
    }
  }
}

/** Throws unless `steps` is a positive integer. */
export function checkSteps(name: string, steps: number): void {
  if (!Number.isInteger(steps) || steps < 1) {
    throw new PredictorError(`${name}.forecast: steps must be a positive integer, got ${steps}`);
  }
}

/** Throws unless `history` is a non-empty list of P-vectors of finite values. */
export function checkHistory(name: string, dimension: number, history: readonly Float64Array[]): void {
  if (history.length === 0) throw new PredictorError(`${name}.train: history is empty`);
  history.forEach((row, t) => {
    if (row.length !== dimension) {
      throw new PredictorError(`${name}.train: history[${t}] has ${row.length} pairs, expected ${dimension}`);
    }
    for (let p = 0; p < dimension; p++) {
      if (!Number.isFinite(row[p]!)) {
        throw new PredictorError(`${name}.train: history[${t}][${p}] must be a finite number, got ${row[p]}`);
      }
    }
  });
}

/** `steps` copies of `level` (flat forecasts: last value, moving average, EWMA). */
export function flatForecast(level: Float64Array, steps: number): Float64Array[] {
  return Array.from({ length: steps }, () => Float64Array.from(level));
}

/** A parameter's validation: the value, or the default when undefined; throws naming `where`. */
export function numberParam(
  where: string,
  value: number | undefined,
  fallback: number,
  ok: (v: number) => boolean,
  expected: string,
): number {
  const v = value ?? fallback;
  if (typeof v !== "number" || !ok(v)) throw new PredictorError(`${where}: expected ${expected}, got ${v}`);
  return v;
}

/** Checks a dimension P: a positive integer. */
export function checkDimension(name: string, dimension: number): number {
  return numberParam(
    `${name}.dimension`,
    dimension,
    0,
    (v) => Number.isInteger(v) && v >= 1,
    "a positive integer",
  );
}
