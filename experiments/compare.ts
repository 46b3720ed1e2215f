/**
 * Comparing two run summaries metric by metric (`topocast compare`, the CI regression gate).
 *
 * For each policy of the baseline and each metric, delta = current - baseline and the relative change
 * rel = delta / |baseline| (when baseline = 0: 0 if equal, else +-Infinity). A metric regresses when it moves in
 * its worse direction by more than its tolerance: rel > tol for lower-is-better metrics (FCT, slowdown, MLU,
 * unfinished flows), -rel > tol for higher-is-better ones (goodput, completed flows). A policy missing from the
 * current run is a regression too.
 */
import type { PolicySummary } from "./policy-summary.ts";
import type { RunSummary } from "./results.ts";

export interface Metric {
  key: string;
  better: "lower" | "higher";
  value: number | null;
}

/** The compared metrics of one policy, in a fixed order. */
export function policyMetrics(p: PolicySummary): Metric[] {
  const f = p.flows;
  const out: Metric[] = [
    { key: "flows.completed", better: "higher", value: p.flowCounts.completed },
    { key: "flows.unfinished", better: "lower", value: p.flowCounts.unfinished },
    { key: "fct.mean", better: "lower", value: f.fctNs?.mean ?? null },
    { key: "fct.p99", better: "lower", value: f.fctNs?.p99 ?? null },
    { key: "slowdown.mean", better: "lower", value: f.slowdown?.mean ?? null },
    { key: "slowdown.p50", better: "lower", value: f.slowdown?.p50 ?? null },
    { key: "slowdown.p99", better: "lower", value: f.slowdown?.p99 ?? null },
  ];
  for (const b of f.buckets) {
    out.push({ key: `slowdown.mean[${b.name}]`, better: "lower", value: b.slowdown?.mean ?? null });
    out.push({ key: `slowdown.p99[${b.name}]`, better: "lower", value: b.slowdown?.p99 ?? null });
  }
  out.push(
    { key: "goodput", better: "higher", value: f.goodputBps },
    { key: "mlu.peak", better: "lower", value: p.links.peakMlu },
    { key: "mlu.mean", better: "lower", value: p.links.meanMlu },
  );
  return out;
}

export type Status = "ok" | "improved" | "regressed" | "missing";

export interface Delta {
  policy: string;
  metric: string;
  baseline: number | null;
  current: number | null;
  /** Relative change, or null when either side is null. */
  relative: number | null;
  tolerance: number;
  status: Status;
}

export interface Comparison {
  deltas: Delta[];
  regressions: number;
  /** Notes: experiment or seed mismatches, policies only in the current run. */
  notes: string[];
}

/** Tolerances: a default and per-metric overrides (a key matches itself and its bucketed variants `key[...]`). */
export interface Tolerances {
  default: number;
  perMetric: Readonly<Record<string, number>>;
}

export const DEFAULT_TOLERANCE = 0.05;

/** Parses `--tolerance` values: `0.05` sets the default, `slowdown.p99=0.1` one metric. */
export function parseTolerances(args: readonly string[]): Tolerances {
  const t: { default: number; perMetric: Record<string, number> } = {
    default: DEFAULT_TOLERANCE,
    perMetric: {},
  };
  for (const a of args) {
    const eq = a.indexOf("=");
    const v = Number(eq < 0 ? a : a.slice(eq + 1));
    if (!(v >= 0) || !Number.isFinite(v)) {
      throw new ToleranceError(
        `--tolerance: expected a number >= 0 or metric=number, got ${JSON.stringify(a)}`,
      );
    }
    if (eq < 0) t.default = v;
    else t.perMetric[a.slice(0, eq)] = v;
  }
  return t;
}

export class ToleranceError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ToleranceError";
  }
}

function toleranceOf(t: Tolerances, metric: string): number {
  if (t.perMetric[metric] !== undefined) return t.perMetric[metric]!;
  const base = metric.replace(/\[.*$/, "");
  return t.perMetric[base] ?? t.default;
}

function relative(base: number, cur: number): number {
  if (base === cur) return 0;
  if (base === 0) return cur > 0 ? Number.POSITIVE_INFINITY : Number.NEGATIVE_INFINITY;
  return (cur - base) / Math.abs(base);
}

export function compareSummaries(baseline: RunSummary, current: RunSummary, tol: Tolerances): Comparison {
  const notes: string[] = [];
  if (baseline.experiment !== current.experiment) {
    notes.push(`experiments differ: baseline "${baseline.experiment}", current "${current.experiment}"`);
  }
  if (baseline.seed !== current.seed || baseline.run !== current.run) {
    notes.push(
      `seed/run differ: baseline ${baseline.seed}/${baseline.run}, current ${current.seed}/${current.run}`,
    );
  }
  const cur = new Map(current.policies.map((p) => [p.policy, p]));
  const deltas: Delta[] = [];
  for (const bp of baseline.policies) {
    const cp = cur.get(bp.policy);
    const cm = new Map((cp ? policyMetrics(cp) : []).map((m) => [m.key, m]));
    for (const m of policyMetrics(bp)) {
      const tolerance = toleranceOf(tol, m.key);
      const c = cm.get(m.key);
      if (!cp || !c) {
        deltas.push({
          policy: bp.policy,
          metric: m.key,
          baseline: m.value,
          current: null,
          relative: null,
          tolerance,
          status: "missing",
        });
        continue;
      }
      let status: Status = "ok";
      let rel: number | null = null;
      if (m.value !== null && c.value !== null) {
        rel = relative(m.value, c.value);
        const worse = m.better === "lower" ? rel : -rel;
        if (worse > tolerance) status = "regressed";
        else if (-worse > tolerance) status = "improved";
      } else if (m.value !== null && c.value === null) status = "missing";
      deltas.push({
        policy: bp.policy,
        metric: m.key,
        baseline: m.value,
        current: c.value,
        relative: rel,
        tolerance,
        status,
      });
    }
  }
  for (const p of current.policies) {
    if (!baseline.policies.some((b) => b.policy === p.policy))
      notes.push(`policy "${p.policy}" is new (not in the baseline)`);
  }
  return {
    deltas,
    regressions: deltas.filter((d) => d.status === "regressed" || d.status === "missing").length,
    notes,
  };
}
