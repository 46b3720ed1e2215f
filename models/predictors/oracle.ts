/**
 * The oracle: forecasts the workload's actual future, read from the series it was built with. Not a predictor
 * anyone can build; the upper bound in "value of prediction" experiments (a policy that acts on the oracle shows
 * what perfect forecasts would buy).
 *
 * It keeps a cursor, the index of the next interval to be observed: observing interval t moves it to t + 1, and
 * `forecast(k)` returns rows cursor .. cursor + k - 1. With `endNs` given, the cursor follows the observed time
 * instead (interval t ends at `endNs[t]`), so skipped or repeated observations cannot desynchronize it.
 */
import { checkDimension, checkSample, checkSteps, type Predictor, PredictorError } from "./predictor.ts";

export interface OracleOptions {
  /** The full series, T x P, oldest first: what will be observed. */
  rows: readonly Float64Array[];
  /** The index of the first interval to be observed (default 0). */
  cursor?: number;
  /** End time of each row's interval, ns, increasing (optional; see the module doc). */
  endNs?: Float64Array;
}

export class OraclePredictor implements Predictor {
  readonly name = "oracle";
  readonly dimension: number;
  private readonly rows: readonly Float64Array[];
  private readonly endNs: Float64Array | undefined;
  private cursorValue: number;

  /** @param dimension P, the number of pairs; every row must have that length. */
  constructor(dimension: number, opts: OracleOptions) {
    this.dimension = checkDimension(this.name, dimension);
    this.rows = opts.rows;
    opts.rows.forEach((r, t) => {
      if (r.length !== dimension) {
        throw new PredictorError(`oracle.rows[${t}]: expected ${dimension} pairs, got ${r.length}`);
      }
    });
    if (opts.endNs !== undefined && opts.endNs.length !== opts.rows.length) {
      throw new PredictorError(
        `oracle.endNs: expected one end time per row (${opts.rows.length}), got ${opts.endNs.length}`,
      );
    }
    this.endNs = opts.endNs;
    const cursor = opts.cursor ?? 0;
    if (!Number.isInteger(cursor) || cursor < 0 || cursor > opts.rows.length) {
      throw new PredictorError(
        `oracle.cursor: expected an integer in [0, ${opts.rows.length}], got ${cursor}`,
      );
    }
    this.cursorValue = cursor;
  }

  /** Index of the next interval to be observed. */
  get cursor(): number {
    return this.cursorValue;
  }

  params(): Record<string, unknown> {
    return { intervals: this.rows.length };
  }

  observe(timeNs: number, sample: Float64Array): void {
    checkSample(this.name, this.dimension, sample);
    if (this.endNs === undefined) {
      this.cursorValue++;
      return;
    }
    const t = lowerBound(this.endNs, timeNs);
    if (this.endNs[t] !== timeNs) {
      throw new PredictorError(
        `oracle.observe: time ${timeNs} ns is not the end of any interval of the series`,
      );
    }
    this.cursorValue = t + 1;
  }

  /** @throws PredictorError when the forecast would run past the end of the series. */
  forecast(steps: number): Float64Array[] {
    checkSteps(this.name, steps);
    const end = this.cursorValue + steps;
    if (end > this.rows.length) {
      throw new PredictorError(
        `oracle.forecast: ${steps} steps from interval ${this.cursorValue} run past the end of the series (${this.rows.length} intervals)`,
      );
    }
    return this.rows.slice(this.cursorValue, end).map((r) => Float64Array.from(r));
  }
}

/** The first index i with a[i] >= x (a.length when none). */
function lowerBound(a: Float64Array, x: number): number {
  let lo = 0;
  let hi = a.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (a[mid]! < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
