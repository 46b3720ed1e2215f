/**
 * The report of a sweep directory: merges every index file (one per shard, or index.json), reads the summaries
 * of the complete runs, and aggregates each metric per (grid point, policy) as the mean over seeds and runs.
 * Writes sweep-summary.csv, metric-vs-parameter plots and report.html.
 *
 * Over samples (issue 18): the grid keys of `sweep.samples` (e.g. traffic windows) are pooled with seeds and runs;
 * per point of the other keys, each policy's headline metrics get a mean with a 95% confidence interval and every
 * policy a paired comparison with each of `sweep.references` over the same runs (./stats/sweep-confidence.ts).
 * Written to sweep-summary.json, printed, and in report.html, whenever a group has at least two samples.
 */
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { writeFileAtomic, writeJsonAtomic } from "../sim/io/atomic-write.ts";
import { policyMetrics } from "./compare.ts";
import { type SweepPoint, sweepSpec } from "./plots/specs.ts";
import { esc, htmlTable, REPORT_CSS } from "./report.ts";
import { isCompleteRun, ResultsError, readJson, readSummary } from "./results.ts";
import { intervalRows, pairedRows } from "./stats/confidence-tables.ts";
import { type SampleRun, sweepConfidence } from "./stats/sweep-confidence.ts";
import { textTable } from "./summary-table.ts";
import type { IndexEntry, SweepIndex } from "./sweep.ts";

export function isSweepDir(dir: string): boolean {
  return existsSync(dir) && indexFiles(dir).length > 0;
}

function indexFiles(dir: string): string[] {
  return readdirSync(dir)
    .filter((f) => /^index(\.shard-\d+-of-\d+)?\.json$/.test(f))
    .sort();
}

/** All index entries of a sweep directory, merged over shards, by run index. */
export function readSweepIndex(dir: string): { meta: SweepIndex; entries: IndexEntry[] } {
  const files = indexFiles(dir);
  if (files.length === 0)
    throw new ResultsError(`${dir}: no index.json or index.shard-*.json (not a sweep directory)`);
  const byId = new Map<string, IndexEntry>();
  let meta: SweepIndex | undefined;
  for (const f of files) {
    const idx = readJson<SweepIndex>(join(dir, f));
    if (meta && idx.configHash !== meta.configHash) {
      throw new ResultsError(
        `${join(dir, f)}: from a different config (hash ${idx.configHash}, others ${meta.configHash})`,
      );
    }
    meta ??= idx;
    for (const e of idx.entries) byId.set(e.id, e);
  }
  const entries = [...byId.values()].sort((a, b) => a.index - b.index);
  return { meta: meta!, entries };
}

const REPORTED = ["slowdown.mean", "slowdown.p99", "fct.p99", "goodput", "mlu.peak", "flows.unfinished"];

export interface SweepReport {
  reportPath: string;
  table: string;
  total: number;
  complete: number;
  missing: number;
}

export async function renderSweepReport(dir: string): Promise<SweepReport> {
  const { renderVegaLite } = await import("./plots/render.ts");
  const { meta, entries } = readSweepIndex(dir);
  const keys = Object.keys(meta.grid);
  // (grid point, policy) -> metric -> values
  const groups = new Map<
    string,
    { params: Record<string, unknown>; policy: string; n: number; sums: Map<string, number[]> }
  >();
  let complete = 0;
  const samples: SampleRun[] = [];
  for (const e of entries) {
    const runDir = join(dir, e.dir);
    if (!isCompleteRun(runDir)) continue;
    complete++;
    const s = readSummary(runDir);
    samples.push({
      id: e.id,
      params: e.params,
      seed: e.seed,
      run: e.run,
      policies: s.policies,
      mluBound: s.mluBound?.mean ?? null,
    });
    for (const p of s.policies) {
      const key = JSON.stringify([keys.map((k) => e.params[k]), p.policy]);
      let g = groups.get(key);
      if (!g) {
        g = { params: e.params, policy: p.policy, n: 0, sums: new Map() };
        groups.set(key, g);
      }
      g.n++;
      for (const m of policyMetrics(p)) {
        if (!REPORTED.includes(m.key) || m.value === null) continue;
        const arr = g.sums.get(m.key) ?? [];
        arr.push(m.value);
        g.sums.set(m.key, arr);
      }
    }
  }
  const mean = (xs: number[] | undefined) => (xs?.length ? xs.reduce((a, b) => a + b, 0) / xs.length : null);
  const UNITS: Record<string, string> = { "fct.p99": " (ns)", goodput: " (bit/s)" };
  const head = [...keys, "policy", "runs", ...REPORTED.map((m) => `mean ${m}${UNITS[m] ?? ""}`)];
  const rows: string[][] = [];
  const csv = [[...keys, "policy", "runs", ...REPORTED].join(",")];
  for (const g of groups.values()) {
    const vals = REPORTED.map((m) => mean(g.sums.get(m)));
    rows.push([
      ...keys.map((k) => JSON.stringify(g.params[k])),
      g.policy,
      String(g.n),
      ...vals.map((v) => (v === null ? "-" : v.toPrecision(5))),
    ]);
    csv.push(
      [
        ...keys.map((k) => JSON.stringify(JSON.stringify(g.params[k]))),
        JSON.stringify(g.policy),
        g.n,
        ...vals.map((v) => (v === null ? "" : String(v))),
      ].join(","),
    );
  }
  writeFileAtomic(join(dir, "sweep-summary.csv"), `${csv.join("\n")}\n`);

  const figs: string[] = [];
  if (keys.length > 0 && groups.size > 0) {
    const x = keys[0]!;
    const rest = keys.slice(1);
    for (const [metric, title, yTitle] of [
      ["slowdown.p99", "99th-percentile slowdown", "Slowdown p99 (FCT / ideal FCT), mean over runs"],
      ["mlu.peak", "Peak max link utilization", "Peak MLU (0-1), mean over runs"],
    ] as const) {
      const data: SweepPoint[] = [];
      for (const g of groups.values()) {
        const v = mean(g.sums.get(metric));
        if (v === null) continue;
        const xv = g.params[x];
        const suffix = rest.map((k) => `${k.split(".").pop()}=${JSON.stringify(g.params[k])}`).join(", ");
        data.push({
          policy: suffix ? `${g.policy} (${suffix})` : g.policy,
          x: typeof xv === "number" ? xv : JSON.stringify(xv),
          value: v,
        });
      }
      const name = `sweep-${metric.replace(/\W+/g, "-")}`;
      const paths = await renderVegaLite(
        sweepSpec(`${title} vs ${x.split(".").pop()}`, x, yTitle, data),
        join(dir, "plots", name),
      );
      const { readFileSync } = await import("node:fs");
      figs.push(
        `<h2>${esc(title)}</h2>\n<div class="plot">${readFileSync(paths.svg, "utf8").replace(/^<\?xml[^>]*>\s*/, "")}</div>`,
      );
    }
  }
  const ci = confidenceSection(dir, meta, keys, samples);
  const total = meta.totalRuns;
  const html = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>topocast sweep: ${esc(meta.experiment)}</title>
<style>${REPORT_CSS}</style></head><body>
<h1>topocast sweep: ${esc(meta.experiment)}</h1>
<p>${complete} of ${total} runs complete; grid ${esc(JSON.stringify(meta.grid))}; seeds ${esc(JSON.stringify(meta.seeds))}; ${meta.runs} run(s) per seed.</p>
<h2>Mean over seeds and runs</h2>
${htmlTable({ head, rows })}
${ci.html}
${figs.join("\n")}
<h2>Runs</h2>
${htmlTable({
  head: ["#", "id", "parameters", "seed", "run", "status"],
  rows: entries.map((e) => [
    String(e.index),
    e.id,
    JSON.stringify(e.params),
    String(e.seed),
    String(e.run),
    isCompleteRun(join(dir, e.dir)) ? "done" : e.status,
  ]),
})}
</body></html>
`;
  const reportPath = join(dir, "report.html");
  writeFileAtomic(reportPath, html);
  const table = [textTable({ head, rows }), ...ci.tables].join("\n");
  return { reportPath, table, total, complete, missing: total - complete };
}

/**
 * Intervals and paired comparisons over the sweep's samples: writes sweep-summary.json and returns the terminal
 * tables and the report's HTML (both empty when no group has two samples).
 */
function confidenceSection(
  dir: string,
  meta: SweepIndex,
  keys: readonly string[],
  samples: readonly SampleRun[],
): { tables: string[]; html: string } {
  const first = samples[0]?.policies[0]?.policy;
  const references = meta.references ?? (first === undefined ? [] : [first]);
  const c = sweepConfidence(samples, keys, meta.samples ?? [], references);
  writeJsonAtomic(join(dir, "sweep-summary.json"), {
    experiment: meta.experiment,
    grid: meta.grid,
    seeds: meta.seeds,
    runs: meta.runs,
    ...c,
  });
  if (!c.groups.some((g) => g.samples.length >= 2)) return { tables: [], html: "" };
  const pooled = [...c.sampleKeys, "seeds", "runs"].join(", ");
  const intervals = intervalRows(c);
  const paired = pairedRows(c);
  return {
    tables: [
      `Mean over samples (${pooled}) with 95% confidence intervals (Student t):`,
      textTable(intervals),
      "Paired differences over the same samples (policy - reference; lower is better; tests two-sided):",
      textTable(paired),
    ],
    html: `<h2>Mean over samples with 95% confidence intervals</h2>
<p>Samples: ${esc(pooled)}; Student-t intervals over samples. All metrics and comparisons: sweep-summary.json.</p>
${htmlTable(intervals)}
<h2>Paired differences (policy - reference, same samples)</h2>
<p>Mean difference with its t interval; paired t-test and Wilcoxon signed-rank test (two-sided); lower/equal/higher counts samples where the policy's value is below, equal to, above the reference's.</p>
${htmlTable(paired)}`,
  };
}
