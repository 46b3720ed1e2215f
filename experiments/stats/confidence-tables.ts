/**
 * Tables of a sweep's confidence intervals and paired comparisons (./sweep-confidence.ts), as rows for the
 * terminal (cli-table3) and report.html: means as `mean [lo, hi]`, FCT in ms, p-values to 2 significant digits,
 * and a verdict per paired difference that says plainly when the interval includes 0.
 */
import type { Rows } from "../summary-table.ts";
import type { MeanCi } from "./confidence.ts";
import type { GroupConfidence, PairedRow, SweepConfidence } from "./sweep-confidence.ts";

/** Metric key -> column title and scale (values are divided by it: ns -> ms). */
const COLUMNS: Record<string, { title: string; scale: number }> = {
  "slowdown.mean": { title: "slowdown mean", scale: 1 },
  "slowdown.p99": { title: "slowdown p99", scale: 1 },
  "fct.mean": { title: "FCT mean (ms)", scale: 1e6 },
  "fct.p99": { title: "FCT p99 (ms)", scale: 1e6 },
  "mlu.mean": { title: "mean MLU", scale: 1 },
};

/** Metrics of the paired table on the terminal (all of them are in sweep-summary.json). */
export const PAIRED_SHOWN = ["slowdown.mean", "slowdown.p99", "fct.mean"];

function num(x: number, scale = 1): string {
  return String(+(x / scale).toPrecision(4));
}

/** `mean [lo, hi]`, or the mean alone when there is no interval (one sample). */
export function formatCi(c: MeanCi, scale = 1): string {
  return c.lo === null || c.hi === null
    ? num(c.mean, scale)
    : `${num(c.mean, scale)} [${num(c.lo, scale)}, ${num(c.hi, scale)}]`;
}

/** A group's grid values, short: scalars as they are, lists by their length (`failures=none`, `failures=2 items`). */
export function groupLabel(params: Readonly<Record<string, unknown>>): string {
  const parts = Object.entries(params).map(([k, v]) => {
    const name = k.split(".").pop();
    if (Array.isArray(v)) return `${name}=${v.length === 0 ? "none" : `${v.length} items`}`;
    const text = JSON.stringify(v);
    return `${name}=${text.length <= 24 ? text : `${text.slice(0, 21)}...`}`;
  });
  return parts.join(", ") || "all runs";
}

/** The verdict on a difference policy - reference of a lower-is-better metric. */
export function verdict(p: PairedRow): string {
  if (p.ciIncludesZero === null) return "one sample: no interval";
  if (p.ciIncludesZero) return "no difference shown (95% CI includes 0)";
  return p.difference.mean < 0 ? "lower (better)" : "higher (worse)";
}

function pValue(p: number | null): string {
  return p === null ? "-" : p < 1e-4 ? "<1e-4" : String(+p.toPrecision(2));
}

/** One row per (group, policy): n and each metric's mean with its interval. */
export function intervalRows(c: SweepConfidence): Rows {
  const rows = c.groups.flatMap((g: GroupConfidence) =>
    g.policies.map((p) => [
      groupLabel(g.params),
      p.policy,
      String(g.samples.length),
      ...c.metrics.map((m) => {
        const ci = p.metrics[m];
        return ci ? formatCi(ci, COLUMNS[m]?.scale ?? 1) : "-";
      }),
    ]),
  );
  const level = Math.round(c.level * 100);
  return {
    head: ["group", "policy", "n", ...c.metrics.map((m) => `${COLUMNS[m]?.title ?? m} [${level}% CI]`)],
    rows,
  };
}

/** One row per (group, reference, policy, metric) of `metrics`: difference with its interval, both tests. */
export function pairedRows(c: SweepConfidence, metrics: readonly string[] = PAIRED_SHOWN): Rows {
  const rows = c.groups.flatMap((g) =>
    g.paired
      .filter((p) => metrics.includes(p.metric))
      .map((p) => [
        groupLabel(g.params),
        `${p.policy} - ${p.reference}`,
        COLUMNS[p.metric]?.title ?? p.metric,
        formatCi(p.difference, COLUMNS[p.metric]?.scale ?? 1),
        pValue(p.tTestP),
        pValue(p.wilcoxonP),
        `${p.signs.less}/${p.signs.equal}/${p.signs.greater}`,
        verdict(p),
      ]),
  );
  return {
    head: [
      "group",
      "policy - reference",
      "metric",
      `mean difference [${Math.round(c.level * 100)}% CI]`,
      "paired t p",
      "Wilcoxon p",
      "lower/equal/higher",
      "verdict",
    ],
    rows,
  };
}
