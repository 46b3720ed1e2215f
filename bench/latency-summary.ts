/** Summary of repeated wall-clock measurements for bench results: count, median, 95th percentile and maximum. */
import { percentileNearestRank } from "../sim/metrics/flow-stats.ts";

/** `xs` (any order) summarized by nearest rank, each figure rounded to `digits` decimals. */
export function latencySummary(xs: readonly number[], digits: number) {
  const s = [...xs].sort((a, b) => a - b);
  const f = 10 ** digits;
  const r = (x: number) => Math.round(x * f) / f;
  return {
    n: s.length,
    median: r(percentileNearestRank(s, 50)),
    p95: r(percentileNearestRank(s, 95)),
    max: r(s.at(-1)!),
  };
}
