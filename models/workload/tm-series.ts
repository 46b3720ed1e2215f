/**
 * A traffic-matrix time series: what the network carried (or is asked to carry) between every ordered node pair,
 * per interval. The shape shared by the readers (SNDlib dynamic matrices, CSV), the synthetic generators, the
 * flow generator and the predictors.
 */

export interface TrafficMatrixSeries {
  /** Where it came from (a directory, a file, `"gravity(seed=1)"`), for messages and manifests. */
  readonly source: string;
  /** Node ids, sorted; pair (i, j) is `rates[t][i * nodes.length + j]`. */
  readonly nodes: readonly string[];
  /** Interval length, integer ns (e.g. 5 min for Abilene). */
  readonly intervalNs: number;
  /** Start of each interval, ns from the start of the series (0, intervalNs, 2 intervalNs, ...). */
  readonly startNs: Float64Array;
  /** Wall-clock label of each interval's start where the source has one (e.g. `"20040301-0000"`). */
  readonly labels: readonly string[] | undefined;
  /** Average rate per ordered pair over each interval, bits/s; row-major N x N, diagonal zero. */
  readonly rates: readonly Float64Array[];
}

/** Rate of pair (src, dst) in interval t, bits/s (indices into `series.nodes`). */
export function pairRate(series: TrafficMatrixSeries, t: number, src: number, dst: number): number {
  return series.rates[t]![src * series.nodes.length + dst]!;
}
