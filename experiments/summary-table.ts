/**
 * The tables of a run summary, as rows of strings, shared by the terminal (cli-table3) and report.html.
 */
import Table from "cli-table3";
import { formatDuration, formatRate, formatSize } from "../sim/units.ts";
import type { PolicySummary } from "./policy-summary.ts";
import type { RunSummary } from "./results.ts";

export interface Rows {
  head: string[];
  rows: string[][];
}

function num(x: number | null | undefined, digits = 3): string {
  return x === null || x === undefined ? "-" : x.toFixed(digits);
}

function dur(x: number | null | undefined): string {
  return x === null || x === undefined ? "-" : formatDuration(x);
}

/** One row per policy: flows, FCT, slowdown, goodput, MLU. */
export function overallRows(s: RunSummary): Rows {
  return {
    head: [
      "policy",
      "flows done",
      "unfinished",
      "FCT mean",
      "FCT p99",
      "slowdown mean",
      "slowdown p50",
      "slowdown p99",
      "goodput",
      "MLU peak",
      "MLU mean",
    ],
    rows: s.policies.map((p: PolicySummary) => [
      p.policy,
      String(p.flowCounts.completed),
      String(p.flowCounts.unfinished),
      dur(p.flows.fctNs?.mean),
      dur(p.flows.fctNs?.p99),
      num(p.flows.slowdown?.mean),
      num(p.flows.slowdown?.p50),
      num(p.flows.slowdown?.p99),
      p.flows.goodputBps === null ? "-" : formatRate(p.flows.goodputBps),
      num(p.links.peakMlu),
      num(p.links.meanMlu),
    ]),
  };
}

/** One row per (policy, size bucket): count, FCT and slowdown statistics. */
export function bucketRows(s: RunSummary): Rows {
  const rows: string[][] = [];
  for (const p of s.policies) {
    for (const b of p.flows.buckets) {
      const range = `${formatSize(b.loBytes)}-${b.hiBytes === null ? "" : formatSize(b.hiBytes)}`;
      rows.push([
        p.policy,
        `${b.name} (${range})`,
        String(b.count),
        dur(b.fctNs?.p50),
        dur(b.fctNs?.p99),
        num(b.slowdown?.mean),
        num(b.slowdown?.p99),
      ]);
    }
  }
  return {
    head: ["policy", "flow size", "flows", "FCT p50", "FCT p99", "slowdown mean", "slowdown p99"],
    rows,
  };
}

/** A cli-table3 table; plain (no colour) unless stdout is a terminal. */
export function textTable(r: Rows): string {
  const plain = !process.stdout.isTTY;
  const t = new Table({ head: r.head, ...(plain ? { style: { head: [], border: [] } } : {}) });
  for (const row of r.rows) t.push(row);
  return t.toString();
}

/** A line describing the workload every policy saw. */
export function workloadLine(s: RunSummary): string {
  const w = s.workload;
  return `${s.experiment}: ${s.topology.name} (${s.topology.nodes} nodes, ${s.topology.links} directed links), ${w.source}, ${w.intervals} interval(s) over ${formatDuration(w.horizonNs)}, mean offered ${formatRate(w.meanOfferedBps)}, offered peak MLU ${num(w.offeredPeakMlu)} (scale x${+w.loadScale.toPrecision(4)}), seed ${s.seed}, run ${s.run}`;
}

/** The link events of a run as the config wrote them, and the default routes' convergence delay. */
export interface RunConditions {
  failures: readonly {
    at: string;
    link: string;
    state: string;
    capacity?: string;
    delay?: string;
    loss?: number;
  }[];
  convergenceDelay: string;
}

function percent(x: number): string {
  return `${Math.round(x * 100)}%`;
}

/**
 * Three plain sentences that say what the summary's numbers mean: the metrics; which policy has the lowest mean
 * slowdown under this load and these failures, against the first policy without a predictor; and the value of
 * prediction (experiments/value-of-prediction.ts), saying so when a predictor beat its oracle (the oracle foresees
 * the traffic matrix, not the flows drawn from it nor the failures, so it bounds forecasting, not the outcome).
 */
export function readingLines(s: RunSummary, c: RunConditions): string[] {
  const lines = [
    "Slowdown = a flow's FCT / its ideal FCT (its best time alone on the idle network: size at the best path's bottleneck plus its propagation delay; 1 = no waiting); MLU = the busiest link's utilization; lower is better.",
  ];
  const slow = (p: PolicySummary) => p.flows.slowdown?.mean ?? Number.POSITIVE_INFINITY;
  const ranked = [...s.policies].sort((a, b) => slow(a) - slow(b));
  const best = ranked[0];
  const base = s.policies.find((p) => p.policy === s.valueOfPrediction[0]?.baseline) ?? s.policies[0];
  const failures = linkEvents(c.failures);
  const setting = `At ${percent(s.workload.offeredPeakMlu)} peak load${failures ? ` with ${failures} (default routes reconverge ${c.convergenceDelay} after a failure)` : " and no failure"}`;
  if (best && base && Number.isFinite(slow(best))) {
    const worst = ranked[ranked.length - 1]!;
    const highest =
      worst === base ? " (the highest)" : `; the highest is ${worst.policy}'s ${num(slow(worst))}`;
    lines.push(
      slow(worst) / slow(best) - 1 < 0.01
        ? `${setting}, all policies are within 1% of each other on mean slowdown: nothing here separates them.`
        : `${setting}, ${best.policy} has the lowest mean slowdown, ${num(slow(best))}, ${percent(1 - slow(best) / slow(base))} below ${base.policy}'s ${num(slow(base))}${highest}.`,
    );
  }
  lines.push(predictionLine(s, best));
  if (s.mluBound) lines.push(mluBoundLine(s.mluBound));
  return lines;
}

/** "Min-MLU bound ...": the bound of the offered traffic and each policy's mean MLU against it. */
function mluBoundLine(b: NonNullable<RunSummary["mluBound"]>): string {
  const per = b.policies
    .filter((p) => p.overBound !== null)
    .map((p) => `${p.policy} ${num(p.overBound!)}x`)
    .join(", ");
  return `Min-MLU bound of the offered traffic (the best any routing could do on the offered means, per demand interval over the links up in it): mean ${num(b.mean)}, max ${num(b.max)}; mean MLU / bound: ${per || "no samples"}.`;
}

/** "link 6->7 down from 2s to 4s": each down event with the next up event of its link, if any. */
function linkEvents(events: RunConditions["failures"]): string {
  const parts: string[] = [];
  events.forEach((e, i) => {
    if (e.state === "up") return;
    const what = e.state === "down" ? "down" : `degraded (${degradation(e)})`;
    const up = events.find((u, j) => j > i && u.link === e.link && u.state !== "degraded");
    parts.push(up ? `link ${e.link} ${what} from ${e.at} to ${up.at}` : `link ${e.link} ${what} at ${e.at}`);
  });
  return parts.join(", ");
}

function degradation(e: RunConditions["failures"][number]): string {
  const parts = [e.capacity, e.delay && `${e.delay} delay`, e.loss !== undefined && `${e.loss * 100}% loss`];
  return parts.filter((p) => p).join(", ");
}

function predictionLine(s: RunSummary, best: PolicySummary | undefined): string {
  const known = s.valueOfPrediction.filter((v) => v.meanSlowdown !== null);
  if (known.length === 0) {
    return s.valueOfPrediction.length === 0
      ? "No predictive policy with an oracle variant here, so no value of prediction."
      : "Value of prediction undefined: no oracle variant improved on the baseline's mean slowdown.";
  }
  const base = known[0]!.baseline;
  const slowOf = (label: string | null) => s.policies.find((p) => p.policy === label)?.flows.slowdown?.mean;
  const parts = known.map((v) => `${v.policy} gets ${percent(v.meanSlowdown!)} of ${v.oracle}'s`);
  const small = known
    .map((v) => ({ oracle: v.oracle!, gain: 1 - slowOf(v.oracle)! / slowOf(base)! }))
    .filter((o) => o.gain < 0.02)
    .map(
      (o) => ` ${o.oracle} itself is only ${percent(o.gain)} better than ${base}, so this ratio is noise.`,
    );
  const beat = known.filter((v) => v.meanSlowdown! > 1).map((v) => v.policy);
  const oracles = new Set(known.map((v) => v.oracle));
  const bound = beat.length
    ? ` ${beat.join(" and ")} beat the oracle here: it foresees the traffic matrix, not the flows drawn from it or the failures, so it bounds forecasting, not the outcome.`
    : best && !oracles.has(best.policy)
      ? ` The oracle bounds its own policy only: ${best.policy} did better.`
      : " The oracle is the bound here.";
  return `Value of prediction: ${parts.join(", ")} improvement in mean slowdown over ${base} (100% = as good as perfect foresight of the traffic, 0% = no better than ${base}).${[...new Set(small)].join("")}${bound}`;
}
