/** `topocast compare <baseline> <current>`: prints the deltas; returns 1 when a metric regressed, else 0. */
import { existsSync, statSync } from "node:fs";
import { dirname } from "node:path";
import { formatDuration, formatRate } from "../sim/units.ts";
import { compareSummaries, type Delta, parseTolerances } from "./compare.ts";
import { readSummary } from "./results.ts";
import { textTable } from "./summary-table.ts";

export interface CompareOptions {
  tolerance: string[];
  json: boolean;
}

/** A run directory, or a summary.json file's directory. */
function runDir(p: string): string {
  return existsSync(p) && statSync(p).isFile() ? dirname(p) : p;
}

function fmt(metric: string, v: number | null): string {
  if (v === null) return "-";
  if (metric.startsWith("fct")) return formatDuration(v);
  if (metric === "goodput") return formatRate(v);
  return Number.isInteger(v) ? String(v) : v.toPrecision(5);
}

function pct(d: Delta): string {
  if (d.relative === null) return "-";
  if (!Number.isFinite(d.relative)) return d.relative > 0 ? "+inf" : "-inf";
  return `${d.relative >= 0 ? "+" : ""}${(d.relative * 100).toFixed(2)}%`;
}

export function compareCommand(baseline: string, current: string, o: CompareOptions): number {
  const tol = parseTolerances(o.tolerance);
  const c = compareSummaries(readSummary(runDir(baseline)), readSummary(runDir(current)), tol);
  if (o.json) {
    console.log(JSON.stringify(c, null, 2));
  } else {
    const rows = c.deltas.map((d) => [
      d.policy,
      d.metric,
      fmt(d.metric, d.baseline),
      fmt(d.metric, d.current),
      pct(d),
      `${(d.tolerance * 100).toFixed(1)}%`,
      d.status === "regressed" ? "REGRESSED" : d.status === "missing" ? "MISSING" : d.status,
    ]);
    console.log(
      textTable({ head: ["policy", "metric", "baseline", "current", "change", "tolerance", "status"], rows }),
    );
    for (const n of c.notes) console.log(`note: ${n}`);
    console.log(
      c.regressions === 0 ? "no regressions" : `${c.regressions} metric(s) regressed beyond tolerance`,
    );
  }
  return c.regressions === 0 ? 0 : 1;
}
