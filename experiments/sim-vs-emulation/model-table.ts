/**
 * Sim vs emulation across simulator models: the emulation's FCTs beside each model's ({@link compareFlows} of each
 * model's run against the same emulation), per policy and size bucket, and whether each model agrees with the
 * emulator on the sign of every policy's effect against the baseline (the policy labelled `shortest-path`, else the
 * first): the relative change of its mean and p99 FCT, (x_policy - x_baseline) / x_baseline, each run over its own
 * flows of the compared window. Issue 12's targets read from it: the matched per-flow FCT ratio emu / sim (median)
 * of every bucket within [0.8, 1.25] for the packet model and [0.67, 1.5] for the TCP-aware fluid model, and the
 * same sign of every effect. Times in ns, p99 nearest-rank as in summary.json.
 */
import { percentileNearestRank } from "../../sim/metrics/flow-stats.ts";
import type { SimEmuComparison } from "./flow-comparison.ts";
import type { FlowsCsvRow } from "./flows-csv.ts";

/** One model's side of a (policy, bucket) row. Null statistics: empty sample. */
export interface ModelCell {
  simFlows: number;
  simFctP50Ns: number | null;
  simFctP99Ns: number | null;
  matchedFlows: number;
  /** Median over the flows in both runs of fct_emu / fct_sim. */
  matchedFctRatioP50: number | null;
}

export interface ModelTableRow {
  policy: string;
  bucket: string;
  emuFlows: number;
  emuFctP50Ns: number | null;
  emuFctP99Ns: number | null;
  /** By model name, in the order of {@link ModelComparison.models}; absent when the model's run lacks the policy. */
  models: Record<string, ModelCell>;
}

/** A change of mean and p99 FCT against the baseline, relative; null when either side has no flows. */
export interface Effect {
  meanChange: number | null;
  p99Change: number | null;
}

export interface PolicyEffect {
  policy: string;
  baseline: string;
  emulation: Effect;
  /** By model: its effect and whether its signs agree with the emulation's (null when a side is missing). */
  models: Record<string, Effect & { meanSignAgrees: boolean | null; p99SignAgrees: boolean | null }>;
}

export interface ModelComparison {
  models: string[];
  rows: ModelTableRow[];
  effects: PolicyEffect[];
}

/** One model's run: its name, its comparison with the emulation, and its flows (of the compared window). */
export interface ModelRun {
  model: string;
  comparison: SimEmuComparison;
  simRows: readonly FlowsCsvRow[];
}

function cellOf(r: SimEmuComparison["rows"][number]): ModelCell {
  return {
    simFlows: r.simFlows,
    simFctP50Ns: r.simFctP50Ns,
    simFctP99Ns: r.simFctP99Ns,
    matchedFlows: r.matchedFlows,
    matchedFctRatioP50: r.matchedFctRatioP50,
  };
}

/** Mean and p99 FCT (ns) of each policy's rows, or null for a policy without rows. */
function fctStats(rows: readonly FlowsCsvRow[]): Map<string, { mean: number; p99: number }> {
  const by = new Map<string, number[]>();
  for (const r of rows) {
    const a = by.get(r.policy);
    if (a) a.push(r.fctNs);
    else by.set(r.policy, [r.fctNs]);
  }
  const out = new Map<string, { mean: number; p99: number }>();
  for (const [p, a] of by) {
    const s = Float64Array.from(a).sort();
    out.set(p, { mean: s.reduce((x, y) => x + y, 0) / s.length, p99: percentileNearestRank(s, 99) });
  }
  return out;
}

function effectOf(
  stats: Map<string, { mean: number; p99: number }>,
  policy: string,
  baseline: string,
): Effect {
  const p = stats.get(policy);
  const b = stats.get(baseline);
  if (!p || !b) return { meanChange: null, p99Change: null };
  return { meanChange: (p.mean - b.mean) / b.mean, p99Change: (p.p99 - b.p99) / b.p99 };
}

function sameSign(a: number | null, b: number | null): boolean | null {
  return a === null || b === null ? null : Math.sign(a) === Math.sign(b);
}

/** The policy effects of every non-baseline policy of the emulation, per model. */
function policyEffects(runs: readonly ModelRun[], emuRows: readonly FlowsCsvRow[]): PolicyEffect[] {
  const emu = fctStats(emuRows);
  const policies = [...emu.keys()];
  const baseline = policies.includes("shortest-path") ? "shortest-path" : policies[0];
  if (baseline === undefined) return [];
  const sims = runs.map((r) => ({ model: r.model, stats: fctStats(r.simRows) }));
  return policies
    .filter((p) => p !== baseline)
    .map((policy) => {
      const e = effectOf(emu, policy, baseline);
      const models: PolicyEffect["models"] = {};
      for (const s of sims) {
        const m = effectOf(s.stats, policy, baseline);
        models[s.model] = {
          ...m,
          meanSignAgrees: sameSign(m.meanChange, e.meanChange),
          p99SignAgrees: sameSign(m.p99Change, e.p99Change),
        };
      }
      return { policy, baseline, emulation: e, models };
    });
}

/**
 * The side-by-side table of several models' comparisons with one emulation: rows in the order of the first model's
 * comparison (policy x bucket, then "all"); the emulation's columns are the same in every comparison.
 */
export function compareModels(runs: readonly ModelRun[], emuRows: readonly FlowsCsvRow[]): ModelComparison {
  const rows: ModelTableRow[] = [];
  const index = new Map<string, ModelTableRow>();
  for (const run of runs) {
    for (const r of run.comparison.rows) {
      const key = `${r.policy}\n${r.bucket}`;
      let row = index.get(key);
      if (!row) {
        row = {
          policy: r.policy,
          bucket: r.bucket,
          emuFlows: r.emuFlows,
          emuFctP50Ns: r.emuFctP50Ns,
          emuFctP99Ns: r.emuFctP99Ns,
          models: {},
        };
        index.set(key, row);
        rows.push(row);
      }
      row.models[run.model] = cellOf(r);
    }
  }
  return { models: runs.map((r) => r.model), rows, effects: policyEffects(runs, emuRows) };
}
