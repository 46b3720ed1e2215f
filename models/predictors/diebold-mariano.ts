/**
 * The Diebold-Mariano test of equal predictive accuracy (Diebold & Mariano, "Comparing predictive accuracy",
 * J. Business & Economic Statistics 13(3), 1995), with the small-sample correction of Harvey, Leybourne & Newbold
 * ("Testing the equality of prediction mean squared errors", Int. J. Forecasting 13(2), 1997).
 *
 * Input: the loss differential d_t = L(e1_t) - L(e2_t) of two forecasters over the same n forecast origins, for
 * h-step-ahead forecasts. Under the null E[d] = 0. The long-run variance of d-bar uses the autocovariances up to
 * lag h-1 (h-step forecast errors are at most MA(h-1)):
 *
 *     V = (gamma_0 + 2 sum_{k=1}^{h-1} gamma_k) / n,     DM = d-bar / sqrt(V),
 *     DM* = DM * sqrt((n + 1 - 2h + h(h-1)/n) / n),      p = 2 P(T_{n-1} > |DM*|)   (Student t, n-1 df).
 *
 * When the truncated sum makes V <= 0 (possible for h > 1), V falls back to gamma_0 / n, as Diebold & Mariano
 * suggest; `varianceFallback` says so. A negative statistic means the first forecaster's loss is lower.
 */
import tCdf from "@stdlib/stats-base-dists-t-cdf";

/** Result of {@link dieboldMariano}. */
export interface DieboldMarianoResult {
  /** Forecast origins compared. */
  n: number;
  /** Mean loss differential (first minus second), in the loss's unit. */
  meanDifference: number;
  /** DM* (HLN-corrected); NaN when n < 2 or every differential is equal (then pValue is NaN too). */
  statistic: number;
  /** Two-sided p-value from Student's t with n - 1 degrees of freedom. */
  pValue: number;
  /** Whether the long-run variance fell back to gamma_0 (see the module doc). */
  varianceFallback: boolean;
}

/**
 * The Diebold-Mariano test of `differences` (d_t, oldest first) for `horizon`-step forecasts.
 * @throws RangeError for a horizon that is not a positive integer, or a non-finite differential.
 */
export function dieboldMariano(differences: ArrayLike<number>, horizon: number): DieboldMarianoResult {
  if (!Number.isInteger(horizon) || horizon < 1) {
    throw new RangeError(`horizon: expected a positive integer, got ${horizon}`);
  }
  const n = differences.length;
  let sum = 0;
  for (let t = 0; t < n; t++) {
    const d = differences[t]!;
    if (!Number.isFinite(d)) throw new RangeError(`differences[${t}]: ${d} is not a finite number`);
    sum += d;
  }
  const mean = n > 0 ? sum / n : Number.NaN;
  const nan = { n, meanDifference: mean, statistic: Number.NaN, pValue: Number.NaN, varianceFallback: false };
  if (n < 2) return nan;
  const gamma = (k: number) => {
    let g = 0;
    for (let t = k; t < n; t++) g += (differences[t]! - mean) * (differences[t - k]! - mean);
    return g / n;
  };
  const g0 = gamma(0);
  if (!(g0 > 0)) return nan;
  let lrv = g0;
  for (let k = 1; k < Math.min(horizon, n); k++) lrv += 2 * gamma(k);
  const varianceFallback = !(lrv > 0);
  if (varianceFallback) lrv = g0;
  const dm = mean / Math.sqrt(lrv / n);
  const h = horizon;
  const correction = Math.sqrt(Math.max(0, (n + 1 - 2 * h + (h * (h - 1)) / n) / n));
  const statistic = dm * correction;
  const pValue = 2 * (1 - tCdf(Math.abs(statistic), n - 1));
  return { n, meanDifference: mean, statistic, pValue, varianceFallback };
}
