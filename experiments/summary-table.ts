/**
 * The tables of a run summary, as rows of strings, shared by the terminal (cli-table3) and report.html.
 */
import Table from "cli-table3";
import type { PolicySummary } from "../sim/engine/run.ts";
import { formatDuration, formatRate, formatSize } from "../sim/units.ts";
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
