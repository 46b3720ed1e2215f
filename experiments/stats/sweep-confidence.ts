/**
 * A sweep's results as samples: per group of runs (a point of the grid keys that are not samples), each policy's
 * metrics as a mean with a confidence interval over the group's runs, and paired comparisons of every policy
 * against reference policies over the same runs. See ./confidence.ts for the statistics and the unit of analysis.
 *
 * Which grid keys are samples is the config's `sweep.samples` (e.g. `workload.window.start`: traffic windows);
 * seeds and replications are always samples. A group is thus, e.g., "with the failure" and "without", each with
 * windows x seeds x runs samples.
 */

import { policyMetrics } from "../compare.ts";
import type { PolicySummary } from "../policy-summary.ts";
import { type MeanCi, meanCi, type PairedComparison, pairedComparison } from "./confidence.ts";

/** Metrics given with intervals and paired comparisons (keys of compare.ts's policyMetrics). */
export const CI_METRICS = ["slowdown.mean", "slowdown.p99", "fct.mean", "fct.p99", "mlu.mean"] as const;

/** One complete run of a sweep: its grid parameters and its policies' summaries. */
export interface SampleRun {
  id: string;
  params: Readonly<Record<string, unknown>>;
  seed: number;
  run: number;
  policies: readonly PolicySummary[];
  /** The run's min-MLU bound of the offered traffic (summary.json `mluBound.mean`), when the config asked for it. */
  mluBound?: number | null;
}

/**
 * The row of the min-MLU bound (config `metrics.mluBound`, experiments/mlu-bound.ts) in a group's intervals: its
 * `mlu.mean` only, the best mean MLU any routing of the offered means could reach; paired with the references
 * like a policy.
 */
export const MLU_BOUND_ROW = "mlu-bound (LP)";

export interface PolicyIntervals {
  policy: string;
  /** Metric -> mean over the group's runs with its interval (metrics a policy never reports are absent). */
  metrics: Record<string, MeanCi>;
}

export interface PairedRow extends PairedComparison {
  /** Difference is policy - reference. */
  policy: string;
  reference: string;
  metric: string;
}

export interface GroupConfidence {
  /** Values of the grid keys that are not samples. */
  params: Record<string, unknown>;
  /** Runs (samples) in the group, in run order: their ids. */
  samples: string[];
  policies: PolicyIntervals[];
  paired: PairedRow[];
}

export interface SweepConfidence {
  level: number;
  /** Grid keys pooled as samples (with seeds and runs). */
  sampleKeys: string[];
  references: string[];
  metrics: string[];
  groups: GroupConfidence[];
}

/**
 * Groups `runs` by their non-sample grid values and computes intervals and paired comparisons per group: every
 * policy against each reference (a pair of references once, the later minus the earlier). Policies keep their
 * first-seen order; references missing from a group are skipped there; a pair uses the runs where both have the
 * metric.
 */
export function sweepConfidence(
  runs: readonly SampleRun[],
  gridKeys: readonly string[],
  sampleKeys: readonly string[],
  references: readonly string[],
  level = 0.95,
): SweepConfidence {
  const groupKeys = gridKeys.filter((k) => !sampleKeys.includes(k));
  const groups = new Map<string, { params: Record<string, unknown>; runs: SampleRun[] }>();
  for (const r of runs) {
    const params = Object.fromEntries(groupKeys.map((k) => [k, r.params[k]]));
    const key = JSON.stringify(groupKeys.map((k) => r.params[k]));
    const g = groups.get(key) ?? { params, runs: [] };
    g.runs.push(r);
    groups.set(key, g);
  }
  return {
    level,
    sampleKeys: [...sampleKeys],
    references: [...references],
    metrics: [...CI_METRICS],
    groups: [...groups.values()].map((g) => groupConfidence(g.params, g.runs, references, level)),
  };
}

/** Metric values per policy, one entry per run (null where the run lacks the policy or the metric). */
function valuesByPolicy(runs: readonly SampleRun[]): Map<string, Map<string, (number | null)[]>> {
  const out = new Map<string, Map<string, (number | null)[]>>();
  runs.forEach((r, i) => {
    for (const p of r.policies) {
      const byMetric = out.get(p.policy) ?? new Map<string, (number | null)[]>();
      out.set(p.policy, byMetric);
      const values = new Map(policyMetrics(p).map((m) => [m.key, m.value]));
      for (const m of CI_METRICS) {
        const xs = byMetric.get(m) ?? Array<number | null>(runs.length).fill(null);
        xs[i] = values.get(m) ?? null;
        byMetric.set(m, xs);
      }
    }
  });
  // After the policies: the bound is a row of the table, not a policy run.
  if (runs.some((r) => r.mluBound != null)) {
    const xs = runs.map((r) => r.mluBound ?? null);
    out.set(MLU_BOUND_ROW, new Map(CI_METRICS.map((m) => [m, m === "mlu.mean" ? xs : xs.map(() => null)])));
  }
  return out;
}

function groupConfidence(
  params: Record<string, unknown>,
  runs: readonly SampleRun[],
  references: readonly string[],
  level: number,
): GroupConfidence {
  const values = valuesByPolicy(runs);
  const policies: PolicyIntervals[] = [];
  for (const [policy, byMetric] of values) {
    const metrics: Record<string, MeanCi> = {};
    for (const [m, xs] of byMetric) {
      const present = xs.filter((x): x is number => x !== null);
      if (present.length > 0) metrics[m] = meanCi(present, level);
    }
    policies.push({ policy, metrics });
  }
  const paired: PairedRow[] = [];
  for (const reference of references) {
    const ref = values.get(reference);
    if (!ref) continue;
    for (const [policy, byMetric] of values) {
      // Two references are compared once (the later one minus the earlier one).
      const r = references.indexOf(policy);
      if (policy === reference || (r >= 0 && r < references.indexOf(reference))) continue;
      for (const metric of CI_METRICS) {
        const a = byMetric.get(metric) ?? [];
        const b = ref.get(metric) ?? [];
        const both = a.flatMap((x, i) => (x !== null && b[i] != null ? [[x, b[i]!] as const] : []));
        if (both.length === 0) continue;
        const cmp = pairedComparison(
          both.map((p) => p[0]),
          both.map((p) => p[1]),
          level,
        );
        paired.push({ policy, reference, metric, ...cmp });
      }
    }
  }
  return { params, samples: runs.map((r) => r.id), policies, paired };
}
