/**
 * Confidence intervals and paired comparisons for results over many traffic windows (issue 18).
 *
 * Unit of analysis. One sample is one run of a sweep (a traffic window x seed x replication): a run's summary
 * gives one value per metric and policy, and every policy of a run replays the very same flows, so two policies'
 * values of one run form a pair. Samples are treated as independent draws of windows; adjacent windows of one
 * week are not quite independent (diurnal and weekly patterns), so the intervals describe this week's windows
 * rather than all traffic.
 *
 * - {@link meanCi}: mean with a two-sided Student-t interval, mean +- t(1 - a/2, n - 1) s / sqrt(n) (s the sample
 *   standard deviation). Exact for normal samples, asymptotically right otherwise (central limit theorem).
 * - {@link pairedComparison}: per sample the difference d_i = a_i - b_i; its mean with the t interval above
 *   (identical to the paired t-test's interval), the paired t-test's two-sided p-value, and the Wilcoxon
 *   signed-rank test's two-sided p-value (exact for n < 50 without ties; else the normal approximation with
 *   continuity correction; zero differences dropped: R's `wilcox.test(a, b, paired = TRUE)`). Both tests because
 *   per-window differences of slowdown are skewed (a failure window can dominate): the t-test and its interval
 *   speak about the mean difference and assume roughly normal differences; the signed-rank test does not, and
 *   asks whether one policy is better in most windows. When they disagree, the mean is carried by a few windows.
 *
 * The quantile and both tests are stdlib's (@stdlib/stats-base-dists-t-quantile, @stdlib/stats-ttest,
 * @stdlib/stats-wilcoxon), checked in the tests against R's outputs.
 */
import tQuantile from "@stdlib/stats-base-dists-t-quantile";
import ttest from "@stdlib/stats-ttest";
import wilcoxon from "@stdlib/stats-wilcoxon";

/** A sample mean with its two-sided confidence interval; `lo`/`hi` null when n < 2 (no spread to estimate). */
export interface MeanCi {
  n: number;
  mean: number;
  /** Sample standard deviation (n - 1 denominator); null when n < 2. */
  sd: number | null;
  lo: number | null;
  hi: number | null;
  /** Confidence level, e.g. 0.95. */
  level: number;
}

/** Mean of `xs` with a two-sided Student-t interval at `level`. @throws RangeError on no samples or a bad level. */
export function meanCi(xs: readonly number[], level = 0.95): MeanCi {
  if (xs.length === 0) throw new RangeError("meanCi: no samples");
  if (!(level > 0 && level < 1)) throw new RangeError(`meanCi: level must be in (0, 1), got ${level}`);
  const n = xs.length;
  const mean = xs.reduce((a, b) => a + b, 0) / n;
  if (n < 2) return { n, mean, sd: null, lo: null, hi: null, level };
  const sd = Math.sqrt(xs.reduce((a, x) => a + (x - mean) ** 2, 0) / (n - 1));
  const half = tQuantile(1 - (1 - level) / 2, n - 1) * (sd / Math.sqrt(n));
  return { n, mean, sd, lo: mean - half, hi: mean + half, level };
}

/** Policy a against policy b over the same samples (difference a - b). */
export interface PairedComparison {
  /** Mean of a - b with its t interval. */
  difference: MeanCi;
  /** Whether the interval of the difference includes 0 (no difference shown at this level); null when n < 2. */
  ciIncludesZero: boolean | null;
  /** Paired t-test, two-sided p-value; null when n < 2 or every difference is equal (no spread). */
  tTestP: number | null;
  /** Wilcoxon signed-rank test, two-sided p-value; null when fewer than 2 non-zero differences. */
  wilcoxonP: number | null;
  /** Samples where a < b, a == b, a > b (lower is better for slowdown: "a wins" is `less`). */
  signs: { less: number; equal: number; greater: number };
}

/**
 * Paired comparison of `a` and `b` (same length, sample i of both from the same window and flows).
 * @throws RangeError if the lengths differ or there are no samples.
 */
export function pairedComparison(a: readonly number[], b: readonly number[], level = 0.95): PairedComparison {
  if (a.length !== b.length) {
    throw new RangeError(`pairedComparison: ${a.length} samples of a but ${b.length} of b`);
  }
  const d = a.map((x, i) => x - b[i]!);
  const difference = meanCi(d, level);
  const nonZero = d.filter((x) => x !== 0).length;
  const spread = difference.sd !== null && difference.sd > 0;
  return {
    difference,
    ciIncludesZero: difference.lo === null ? null : difference.lo <= 0 && difference.hi! >= 0,
    tTestP: spread ? ttest([...a], [...b], { alpha: 1 - level }).pValue : null,
    wilcoxonP: nonZero >= 2 ? wilcoxon([...a], [...b], { alpha: 1 - level }).pValue : null,
    signs: {
      less: d.filter((x) => x < 0).length,
      equal: d.length - nonZero,
      greater: d.filter((x) => x > 0).length,
    },
  };
}
