/**
 * Plots and report.html from a stored results directory (nothing is re-simulated): `topocast report <dir>` and
 * the end of `topocast run`. A run directory gets FCT and slowdown CDFs, slowdown by flow size, MLU over time,
 * and (once policies act) control overhead; a sweep directory gets metric-vs-parameter plots over its runs
 * (see sweep-report.ts). report.html is one self-contained file: inline SVG, tables, config and manifest, and
 * relative links to the run's data files (CSV, JSON) and plot files beside it.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { writeFileAtomic } from "../sim/io/atomic-write.ts";
import { decisionCost } from "./decision-cost.ts";
import {
  type BucketBar,
  type CdfPoint,
  cdfPoints,
  cdfSpec,
  type MluPoint,
  mluSpec,
  overheadSpec,
  slowdownBySizeSpec,
} from "./plots/specs.ts";
import { type RunSummary, readCsv, readSummary } from "./results.ts";
import {
  bucketRows,
  overallRows,
  type Rows,
  type RunConditions,
  readingLines,
  workloadLine,
} from "./summary-table.ts";

/** Decade flow-size buckets for the slowdown-by-size plot: edges in bytes and labels. */
const PLOT_EDGES = [10_000, 100_000, 1_000_000, 10_000_000];
const PLOT_LABELS = ["< 10 kB", "10-100 kB", "100 kB-1 MB", "1-10 MB", ">= 10 MB"];

function nearestRank(sorted: Float64Array, p: number): number {
  const n = sorted.length;
  return sorted[Math.min(n, Math.max(1, Math.ceil((p * n) / 100))) - 1]!;
}

interface Plot {
  name: string;
  title: string;
  svg: string;
}

/** Renders plots into `<dir>/plots/` and writes `<dir>/report.html`; returns the report's path. */
export async function renderRunReport(dir: string): Promise<string> {
  const { renderVegaLite } = await import("./plots/render.ts");
  const summary = readSummary(dir);
  const policies = summary.policies.map((p) => p.policy);
  const flows = readCsv(join(dir, "flows.csv"));
  const series = readCsv(join(dir, "timeseries.csv"));

  const byPolicy = new Map<string, { fct: number[]; slow: number[]; size: number[] }>();
  for (const p of policies) byPolicy.set(p, { fct: [], slow: [], size: [] });
  for (const r of flows) {
    const b = byPolicy.get(r.policy!);
    if (!b) continue;
    b.fct.push(Number(r.fct_ns) / 1e6);
    b.slow.push(Number(r.slowdown));
    b.size.push(Number(r.size_bytes));
  }
  const fctCdf: CdfPoint[] = [];
  const slowCdf: CdfPoint[] = [];
  const bars: BucketBar[] = [];
  for (const p of policies) {
    const b = byPolicy.get(p)!;
    fctCdf.push(...cdfPoints(p, Float64Array.from(b.fct)));
    slowCdf.push(...cdfPoints(p, Float64Array.from(b.slow)));
    const groups: number[][] = PLOT_LABELS.map(() => []);
    b.size.forEach((s, i) => {
      let k = 0;
      while (k < PLOT_EDGES.length && s >= PLOT_EDGES[k]!) k++;
      groups[k]!.push(b.slow[i]!);
    });
    groups.forEach((g, k) => {
      if (g.length === 0) return;
      const sorted = Float64Array.from(g).sort();
      for (const [statistic, q] of [
        ["p50", 50],
        ["p99", 99],
      ] as const) {
        bars.push({
          policy: p,
          bucket: PLOT_LABELS[k]!,
          order: k,
          statistic,
          slowdown: nearestRank(sorted, q),
          flows: g.length,
        });
      }
    });
  }
  const mlu: MluPoint[] = series.map((r) => ({
    policy: r.policy!,
    timeS: Number(r.interval_end_ns) / 1e9,
    mlu: Number(r.mlu),
  }));

  const plotsDir = join(dir, "plots");
  const plots: Plot[] = [];
  const render = async (name: string, title: string, spec: Parameters<typeof renderVegaLite>[0]) => {
    const paths = await renderVegaLite(spec, join(plotsDir, name));
    plots.push({ name, title, svg: readFileSync(paths.svg, "utf8") });
  };
  if (fctCdf.length) {
    await render(
      "fct-cdf",
      "Flow completion time",
      cdfSpec("Flow completion time (CDF)", "FCT (ms, log scale)", fctCdf),
    );
    await render(
      "slowdown-cdf",
      "Slowdown",
      cdfSpec("Slowdown (CDF)", "Slowdown: FCT / ideal FCT (log scale)", slowCdf),
    );
    await render("slowdown-by-size", "Slowdown by flow size", slowdownBySizeSpec(bars));
  }
  if (mlu.length) await render("mlu-over-time", "Max link utilization", mluSpec(mlu));
  const actions = summary.policies.map((p) => ({ policy: p.policy, actions: p.overhead.controlActions }));
  if (actions.some((a) => a.actions > 0)) await render("overhead", "Control overhead", overheadSpec(actions));

  const config = readOptional(join(dir, "config.json"));
  const manifest = readOptional(join(dir, "manifest.json"));
  const html = runHtml(
    summary,
    plots,
    config,
    manifest,
    actions.some((a) => a.actions > 0),
    await comparisonHtml(dir),
    dataFiles(dir),
  );
  const path = join(dir, "report.html");
  writeFileAtomic(path, html);
  return path;
}

/**
 * An emulation run's sim-vs-emulation section (table, notes and the side-by-side CDF written with it), or "" when
 * the directory has no comparison.
 */
async function comparisonHtml(dir: string): Promise<string> {
  const json = readOptional(join(dir, "sim-vs-emulation.json"));
  if (json === null) return "";
  const { comparisonRows } = await import("./sim-vs-emulation/output.ts");
  const { linkComparisonRows } = await import("./sim-vs-emulation/link-comparison.ts");
  const c = JSON.parse(json) as Parameters<typeof comparisonRows>[0];
  const svg = readOptional(join(dir, "plots", "sim-vs-emulation-fct-cdf.svg"));
  const notes = c.notes.map((n) => `<p class="note">${esc(n)}</p>`).join("\n");
  return `<h2>Simulation vs emulation (the same flows)</h2>
${htmlTable(comparisonRows(c))}
${c.links && c.links.length > 0 ? htmlTable(linkComparisonRows(c.links)) : ""}
${notes}
${svg ? `<div class="plot">${svg.replace(/^<\?xml[^>]*>\s*/, "")}</div>` : ""}
${await modelsHtml(dir)}`;
}

/** The simulator's models side by side against the emulation (sim-models-vs-emulation.json), when more than one. */
async function modelsHtml(dir: string): Promise<string> {
  const json = readOptional(join(dir, "sim-models-vs-emulation.json"));
  if (json === null) return "";
  const { modelComparisonRows, effectRows } = await import("./sim-vs-emulation/output.ts");
  const m = JSON.parse(json) as Parameters<typeof modelComparisonRows>[0];
  if (m.models.length < 2) return "";
  return `<h2>The simulator's models vs emulation</h2>
${htmlTable(modelComparisonRows(m))}
${m.effects.length > 0 ? htmlTable(effectRows(m)) : ""}`;
}

/** The run's data files, for a reader to take further. */
const DATA_FILES = [
  "flows.csv",
  "links.csv",
  "timeseries.csv",
  "actions.csv",
  "summary.json",
  "config.json",
  "manifest.json",
  "sim-vs-emulation.csv",
  "sim-vs-emulation.json",
  "sim-models-vs-emulation.csv",
  "sim-models-vs-emulation.json",
];

/** A line of the report's file list: a name and links (text, path relative to the report). */
interface FileLinks {
  name: string;
  links: [text: string, href: string][];
}

/** The data files `dir` holds (one line), then one line per plot with its PNG, SVG and vega-lite spec. */
function dataFiles(dir: string): FileLinks[] {
  const data = DATA_FILES.filter((f) => existsSync(join(dir, f)));
  const lines: FileLinks[] = data.length ? [{ name: "data", links: data.map((f) => [f, f]) }] : [];
  const plotsDir = join(dir, "plots");
  const plotFiles = existsSync(plotsDir) ? readdirSync(plotsDir).sort() : [];
  for (const svg of plotFiles.filter((f) => f.endsWith(".svg"))) {
    const base = svg.slice(0, -".svg".length);
    const links: [string, string][] = [];
    for (const [text, ext] of [
      ["png", ".png"],
      ["svg", ".svg"],
      ["vega-lite", ".vl.json"],
    ] as const) {
      if (plotFiles.includes(base + ext)) links.push([text, `plots/${base}${ext}`]);
    }
    lines.push({ name: base, links });
  }
  return lines;
}

/** Failures and convergence delay from a run's config.json, for the lines under the summary table. */
function runConditions(config: string | null): RunConditions {
  const c = config === null ? {} : (JSON.parse(config) as Partial<RunConditionsJson>);
  return { failures: c.failures ?? [], convergenceDelay: c.control?.convergenceDelay ?? "0s" };
}

interface RunConditionsJson {
  failures: RunConditions["failures"];
  control: { convergenceDelay: string };
}

function readOptional(path: string): string | null {
  return existsSync(path) ? readFileSync(path, "utf8") : null;
}

export function esc(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

export function htmlTable(r: Rows): string {
  const head = r.head.map((h) => `<th>${esc(h)}</th>`).join("");
  const body = r.rows.map((row) => `<tr>${row.map((c) => `<td>${esc(c)}</td>`).join("")}</tr>`).join("\n");
  return `<table><thead><tr>${head}</tr></thead><tbody>\n${body}\n</tbody></table>`;
}

export const REPORT_CSS = `body{font-family:"DejaVu Sans",Helvetica,Arial,sans-serif;margin:2em auto;max-width:1100px;color:#222;padding:0 1em}
h1{font-size:1.5em}h2{font-size:1.2em;margin-top:2em;border-bottom:1px solid #ccc}
table{border-collapse:collapse;font-size:.9em;margin:.5em 0}th,td{border:1px solid #ccc;padding:.3em .6em;text-align:right}
.flag{color:#a00}th{background:#f3f3f3}td:first-child,th:first-child{text-align:left}
.plot svg{max-width:100%;height:auto}.note{color:#666}pre{background:#f7f7f7;padding:1em;overflow:auto;font-size:.85em}`;

/** Wall time per control decision (manifest.json; experiments/decision-cost.ts), flagged beyond the interval. */
function decisionHtml(manifest: string | null, config: string | null): string {
  const d =
    manifest === null
      ? null
      : decisionCost(JSON.parse(manifest), config === null ? null : JSON.parse(config));
  if (d === null) return "";
  const flags = d.flagged.map((f) => `<p class="flag">Flagged: ${esc(f)}.</p>`).join("\n");
  return `<h2>Cost of deciding</h2>
${htmlTable(d.rows)}
<p class="note">Wall time of each policy's decision per control step (forecasts included), from manifest.json; control interval ${esc(d.intervalMs.toFixed(3))} ms of wall time.</p>
${flags}`;
}

/** Value of prediction per predictive policy (experiments/value-of-prediction.ts), or a note when there is none. */
function predictionHtml(s: RunSummary): string {
  if (s.valueOfPrediction.length === 0) {
    return '<p class="note">No predictive policy with an oracle variant in this experiment.</p>';
  }
  const ratio = (x: number | null) => (x === null ? "-" : x.toFixed(3));
  return htmlTable({
    head: ["policy", "predictor", "baseline", "oracle", "on mean slowdown", "on mean FCT"],
    rows: s.valueOfPrediction.map((v) => [
      v.policy,
      v.predictor,
      v.baseline,
      v.oracle ?? "-",
      ratio(v.meanSlowdown),
      ratio(v.meanFct),
    ]),
  });
}

function runHtml(
  s: RunSummary,
  plots: Plot[],
  config: string | null,
  manifest: string | null,
  hasOverhead: boolean,
  comparison: string,
  files: readonly FileLinks[],
): string {
  const reading = readingLines(s, runConditions(config))
    .map((l) => `<p class="reading">${esc(l)}</p>`)
    .join("\n");
  const links = files
    .map(
      (f) =>
        `<li>${esc(f.name)}: ${f.links.map(([t, h]) => `<a href="${esc(h)}">${esc(t)}</a>`).join(" ")}</li>`,
    )
    .join("\n");
  const figs = plots
    .map((p) => `<h2>${esc(p.title)}</h2>\n<div class="plot">${p.svg.replace(/^<\?xml[^>]*>\s*/, "")}</div>`)
    .join("\n");
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>topocast: ${esc(s.experiment)} seed ${s.seed} run ${s.run}</title>
<style>${REPORT_CSS}</style></head><body>
<h1>topocast report: ${esc(s.experiment)}</h1>
<p>${esc(workloadLine(s))}</p>
<h2>Summary</h2>
${htmlTable(overallRows(s))}
${reading}
<h2>By flow size</h2>
${htmlTable(bucketRows(s))}
${figs}
${comparison}
${hasOverhead ? "" : '<h2>Control overhead</h2>\n<p class="note">No control actions: the policies in this experiment are static.</p>'}
<h2>Value of prediction</h2>
${predictionHtml(s)}
${decisionHtml(manifest, config)}
<h2>Files</h2>
<ul class="files">
${links}
</ul>
<h2>Config</h2>
<pre>${esc(config ?? "(config.json missing)")}</pre>
<h2>Manifest</h2>
<pre>${esc(manifest ?? "(written after the report)")}</pre>
</body></html>
`;
}
