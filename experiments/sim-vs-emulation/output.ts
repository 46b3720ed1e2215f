/** Sim vs emulation, output: sim-vs-emulation.csv/.json, the text and report tables, and the FCT CDF plot. */
import { join } from "node:path";
import type { TopLevelSpec } from "vega-lite";
import { writeFileAtomic, writeJsonAtomic } from "../../sim/io/atomic-write.ts";
import { formatDuration, formatSize } from "../../sim/units.ts";
import { csvField, formatCsvNumber } from "../csv.ts";
import { type CdfPoint, cdfPoints } from "../plots/specs.ts";
import { type Rows, textTable } from "../summary-table.ts";
import { ALL_FLOWS, type SimEmuComparison, type SimEmuRow } from "./flow-comparison.ts";
import type { FlowsCsvRow } from "./flows-csv.ts";
import { linkComparisonRows } from "./link-comparison.ts";
import type { ModelComparison, ModelTableRow } from "./model-table.ts";

/** The columns of sim-vs-emulation.csv: header and value of a row (null prints as an empty field). */
const CSV_COLUMNS: readonly [string, (r: SimEmuRow) => string | number | null][] = [
  ["policy", (r) => r.policy],
  ["bucket", (r) => r.bucket],
  ["lo_bytes", (r) => r.loBytes],
  ["hi_bytes", (r) => r.hiBytes],
  ["sim_flows", (r) => r.simFlows],
  ["emu_flows", (r) => r.emuFlows],
  ["sim_fct_p50_ns", (r) => r.simFctP50Ns],
  ["emu_fct_p50_ns", (r) => r.emuFctP50Ns],
  ["fct_p50_ratio", (r) => r.fctP50Ratio],
  ["sim_fct_p99_ns", (r) => r.simFctP99Ns],
  ["emu_fct_p99_ns", (r) => r.emuFctP99Ns],
  ["sim_slowdown_p50", (r) => r.simSlowdownP50],
  ["emu_slowdown_p50", (r) => r.emuSlowdownP50],
  ["ks_d", (r) => r.ksD],
  ["matched_flows", (r) => r.matchedFlows],
  ["matched_fct_ratio_p50", (r) => r.matchedFctRatioP50],
];

/** Header of sim-vs-emulation.csv. */
export const SIM_VS_EMULATION_CSV_HEADER: string = CSV_COLUMNS.map(([h]) => h).join(",");

/**
 * sim-vs-emulation.csv: {@link SIM_VS_EMULATION_CSV_HEADER}, then one line per row of `c` (policy x bucket, in
 * order); FCTs in ns, sizes in bytes, numbers by {@link formatCsvNumber}, null as an empty field; ends with "\n".
 */
export function comparisonCsv(c: SimEmuComparison): string {
  const field = (v: string | number | null) =>
    v === null ? "" : typeof v === "string" ? csvField(v) : formatCsvNumber(v);
  const lines = [SIM_VS_EMULATION_CSV_HEADER];
  for (const r of c.rows) lines.push(CSV_COLUMNS.map(([, get]) => field(get(r))).join(","));
  return `${lines.join("\n")}\n`;
}

/**
 * The comparison for the terminal: a table (sim / emu side by side in each cell, FCTs with units, ratios and D to
 * three decimals, "-" for an empty sample), then the one-sided policies and the notes.
 */
export function comparisonText(c: SimEmuComparison): string {
  const t = comparisonRows(c);
  const lines = [t.rows.length > 0 ? textTable(t) : "no policy in both runs"];
  if (c.links && c.links.length > 0) lines.push(textTable(linkComparisonRows(c.links)));
  if (c.onlyInSim.length > 0) lines.push(`only in the simulation: ${c.onlyInSim.join(", ")}`);
  if (c.onlyInEmulation.length > 0) lines.push(`only in the emulation: ${c.onlyInEmulation.join(", ")}`);
  for (const n of c.notes) lines.push(`note: ${n}`);
  return `${lines.join("\n")}\n`;
}

/** The comparison as table rows (terminal and report.html): sim / emu side by side in each cell. */
export function comparisonRows(c: SimEmuComparison): Rows {
  const dur = (x: number | null) => (x === null ? "-" : formatDuration(x));
  const num = (x: number | null) => (x === null ? "-" : x.toFixed(3));
  const range = (r: SimEmuRow) =>
    r.bucket === ALL_FLOWS
      ? ALL_FLOWS
      : `${r.bucket} (${formatSize(r.loBytes)}-${r.hiBytes === null ? "" : formatSize(r.hiBytes)})`;
  const rows = c.rows.map((r) => [
    r.policy,
    range(r),
    `${r.simFlows} / ${r.emuFlows}`,
    `${dur(r.simFctP50Ns)} / ${dur(r.emuFctP50Ns)}`,
    num(r.fctP50Ratio),
    `${dur(r.simFctP99Ns)} / ${dur(r.emuFctP99Ns)}`,
    `${num(r.simSlowdownP50)} / ${num(r.emuSlowdownP50)}`,
    num(r.ksD),
    String(r.matchedFlows),
    num(r.matchedFctRatioP50),
  ]);
  const head = [
    "policy",
    "flow size",
    "flows sim / emu",
    "FCT p50 sim / emu",
    "p50 emu/sim",
    "FCT p99 sim / emu",
    "slowdown p50 sim / emu",
    "KS D",
    "matched",
    "matched emu/sim p50",
  ];
  return { head, rows };
}

/** A point of a per-policy FCT CDF of one run: `value` is the FCT in ms, `fraction` P(FCT <= value). */
export interface RunCdfPoint extends CdfPoint {
  run: "simulation" | "emulation";
}

/**
 * The FCT CDF points of `rows` for each of `policies`: at most 300 points per policy (see {@link cdfPoints}),
 * FCT converted from ns to ms.
 */
export function fctCdfPoints(
  run: RunCdfPoint["run"],
  rows: readonly FlowsCsvRow[],
  policies: readonly string[],
): RunCdfPoint[] {
  const out: RunCdfPoint[] = [];
  for (const p of policies) {
    const ms = Float64Array.from(
      rows.filter((r) => r.policy === p),
      (r) => r.fctNs / 1e6,
    );
    for (const pt of cdfPoints(p, ms)) out.push({ ...pt, run });
  }
  return out;
}

/**
 * Vega-lite spec: one panel per policy (two columns, in the order of `data`), each with the FCT CDF of the
 * simulation and the emulation (color and dash by run); x = FCT in ms on a log scale shared by all panels,
 * y = fraction of flows.
 */
export function simVsEmulationCdfSpec(data: readonly RunCdfPoint[]): TopLevelSpec {
  const policies = [...new Set(data.map((d) => d.policy))];
  // Color and dash encode the same field with the same title, so vega-lite draws one legend for both.
  const run = {
    field: "run",
    type: "nominal" as const,
    scale: { domain: ["simulation", "emulation"] },
    title: "Run",
  };
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    title: { text: "Flow completion time: simulation vs emulation (CDF)", anchor: "start", fontSize: 15 },
    config: {
      font: "DejaVu Sans",
      axis: { labelFontSize: 11, titleFontSize: 12, grid: true, gridOpacity: 0.5 },
      legend: { orient: "bottom", direction: "horizontal" },
      view: { stroke: "#999" },
    },
    data: { values: [...data] },
    columns: Math.min(2, Math.max(1, policies.length)),
    facet: { field: "policy", type: "nominal", sort: policies, title: null, header: { labelFontSize: 13 } },
    spec: {
      width: 320,
      height: 200,
      mark: { type: "line", interpolate: "step-after", strokeWidth: 2 },
      encoding: {
        x: {
          field: "value",
          type: "quantitative",
          scale: { type: "log", nice: false },
          title: "FCT (ms, log scale)",
        },
        y: {
          field: "fraction",
          type: "quantitative",
          scale: { domain: [0, 1] },
          title: "Fraction of flows (CDF)",
        },
        color: run,
        strokeDash: run,
      },
    },
  };
}

/** Paths written by {@link writeComparison}; `plot` null when no policy is in both runs. */
export interface ComparisonFiles {
  json: string;
  csv: string;
  plot: { svg: string; png: string; spec: string } | null;
}

/**
 * Writes, atomically, `<dir>/sim-vs-emulation.json` (`c` as is), `<dir>/sim-vs-emulation.csv`
 * ({@link comparisonCsv}) and the FCT CDF plot of the policies of `c` as `<dir>/plots/sim-vs-emulation-fct-cdf`
 * `.svg`, `.png` and `.vl.json` ({@link simVsEmulationCdfSpec} of `simRows` and `emuRows`).
 */
export async function writeComparison(
  dir: string,
  c: SimEmuComparison,
  simRows: readonly FlowsCsvRow[],
  emuRows: readonly FlowsCsvRow[],
): Promise<ComparisonFiles> {
  const json = join(dir, "sim-vs-emulation.json");
  const csv = join(dir, "sim-vs-emulation.csv");
  writeJsonAtomic(json, c);
  writeFileAtomic(csv, comparisonCsv(c));
  const policies = [...new Set(c.rows.map((r) => r.policy))];
  if (policies.length === 0) return { json, csv, plot: null };
  const data = [
    ...fctCdfPoints("simulation", simRows, policies),
    ...fctCdfPoints("emulation", emuRows, policies),
  ];
  // Loaded on demand: vega and resvg are heavy and only plotting needs them.
  const { renderVegaLite } = await import("../plots/render.ts");
  const plot = await renderVegaLite(
    simVsEmulationCdfSpec(data),
    join(dir, "plots", "sim-vs-emulation-fct-cdf"),
  );
  return { json, csv, plot };
}

/** The columns of sim-models-vs-emulation.csv, one line per (policy, bucket, model). */
const MODEL_CSV_COLUMNS: readonly [string, (r: ModelTableRow, m: string) => string | number | null][] = [
  ["policy", (r) => r.policy],
  ["bucket", (r) => r.bucket],
  ["model", (_, m) => m],
  ["emu_flows", (r) => r.emuFlows],
  ["emu_fct_p50_ns", (r) => r.emuFctP50Ns],
  ["emu_fct_p99_ns", (r) => r.emuFctP99Ns],
  ["sim_flows", (r, m) => r.models[m]?.simFlows ?? null],
  ["sim_fct_p50_ns", (r, m) => r.models[m]?.simFctP50Ns ?? null],
  ["sim_fct_p99_ns", (r, m) => r.models[m]?.simFctP99Ns ?? null],
  ["matched_flows", (r, m) => r.models[m]?.matchedFlows ?? null],
  ["matched_fct_ratio_p50", (r, m) => r.models[m]?.matchedFctRatioP50 ?? null],
];

/** Header of sim-models-vs-emulation.csv. */
export const SIM_MODELS_CSV_HEADER: string = MODEL_CSV_COLUMNS.map(([h]) => h).join(",");

/** sim-models-vs-emulation.csv: one line per (policy, bucket) row and model, models in their column order. */
export function modelComparisonCsv(c: ModelComparison): string {
  const field = (v: string | number | null) =>
    v === null ? "" : typeof v === "string" ? csvField(v) : formatCsvNumber(v);
  const lines = [SIM_MODELS_CSV_HEADER];
  for (const r of c.rows)
    for (const m of c.models) lines.push(MODEL_CSV_COLUMNS.map(([, get]) => field(get(r, m))).join(","));
  return `${lines.join("\n")}\n`;
}

/**
 * The models side by side (terminal and report): per (policy, bucket), the emulation's FCT p50 / p99, then per
 * model its FCT p50 / p99 and the matched per-flow ratio emu / sim (median).
 */
export function modelComparisonRows(c: ModelComparison): Rows {
  const dur = (x: number | null | undefined) => (x === null || x === undefined ? "-" : formatDuration(x));
  const num = (x: number | null | undefined) => (x === null || x === undefined ? "-" : x.toFixed(2));
  const head = ["policy", "flow size", "emu FCT p50 / p99"];
  for (const m of c.models) head.push(`${m} p50 / p99`, `emu/${m}`);
  const rows = c.rows.map((r) => {
    const cells = [r.policy, r.bucket, `${dur(r.emuFctP50Ns)} / ${dur(r.emuFctP99Ns)}`];
    for (const m of c.models) {
      const x = r.models[m];
      cells.push(`${dur(x?.simFctP50Ns)} / ${dur(x?.simFctP99Ns)}`, num(x?.matchedFctRatioP50));
    }
    return cells;
  });
  return { head, rows };
}

/**
 * Each policy's effect against the baseline, per run: change of mean / p99 FCT in percent, and for each model
 * whether both signs agree with the emulation's ("agrees", or which differs).
 */
export function effectRows(c: ModelComparison): Rows {
  const pct = (x: number | null) => (x === null ? "-" : `${x >= 0 ? "+" : ""}${(x * 100).toFixed(1)}%`);
  const head = ["policy", "vs", "emu mean / p99"];
  for (const m of c.models) head.push(`${m} mean / p99`, `${m} signs`);
  const rows = c.effects.map((e) => {
    const cells = [e.policy, e.baseline, `${pct(e.emulation.meanChange)} / ${pct(e.emulation.p99Change)}`];
    for (const m of c.models) {
      const x = e.models[m];
      if (!x) {
        cells.push("-", "-");
        continue;
      }
      const off = [x.meanSignAgrees === false ? "mean" : "", x.p99SignAgrees === false ? "p99" : ""];
      const signs = x.meanSignAgrees === null || x.p99SignAgrees === null ? "-" : off.join(" ").trim();
      cells.push(`${pct(x.meanChange)} / ${pct(x.p99Change)}`, signs === "" ? "agrees" : `differs: ${signs}`);
    }
    return cells;
  });
  return { head, rows };
}

/** The models table and the effects table, for the terminal. */
export function modelComparisonText(c: ModelComparison): string {
  const lines = [textTable(modelComparisonRows(c))];
  if (c.effects.length > 0) lines.push(textTable(effectRows(c)));
  return `${lines.join("\n")}\n`;
}

/** Writes, atomically, `<dir>/sim-models-vs-emulation.json` (`c` as is) and `.csv` ({@link modelComparisonCsv}). */
export function writeModelComparison(dir: string, c: ModelComparison): { json: string; csv: string } {
  const json = join(dir, "sim-models-vs-emulation.json");
  const csv = join(dir, "sim-models-vs-emulation.csv");
  writeJsonAtomic(json, c);
  writeFileAtomic(csv, modelComparisonCsv(c));
  return { json, csv };
}
