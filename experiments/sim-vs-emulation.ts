/**
 * Sim vs emulation: the flow completion times of one experiment run by the simulator (`topocast run`) and by the
 * emulator (`topocast emulate`), compared per policy and flow-size bucket from the two results directories'
 * flows.csv. The emulator reports FCTs in simulated time (wall FCT x timeCompression) and replays exactly the
 * simulator's flows (same ids, endpoints, sizes, start times), possibly only a prefix of the window, so the two
 * files are directly comparable and the emulated flows of a policy are a subset of its simulated flows by id.
 *
 * Two views per (policy, bucket):
 * - Distributions, each side over all its flows in the bucket: counts, median and p99 FCT, median slowdown, the
 *   ratio of median FCTs emu / sim, and the two-sample Kolmogorov-Smirnov distance
 *   D = sup_x |F_sim(x) - F_emu(x)| between the empirical FCT CDFs ({@link ksDistance}; 0 = same distribution,
 *   1 = disjoint ranges). For reading D: the KS test rejects "same distribution" at the 5% level when
 *   D > 1.358 x sqrt((n + m) / (n m)) for sample sizes n, m (asymptotic).
 * - Matched flows, the same flow in both runs: the median of the per-flow ratios fct_emu / fct_sim. Unlike the
 *   distribution columns it is unaffected by an emulated window that is only a prefix of the simulated one.
 *
 * Conventions: percentiles and medians are nearest-rank ({@link percentileNearestRank}; the median of an even
 * sample is its lower middle value), as in summary.json. Size buckets are half-open byte ranges [lo, hi), as in
 * sim/metrics/flow-stats.ts; a matched flow is bucketed by its simulated size. Times are ns of simulated time,
 * sizes bytes.
 */
import { join } from "node:path";
import type { TopLevelSpec } from "vega-lite";
import { writeFileAtomic, writeJsonAtomic } from "../sim/io/atomic-write.ts";
import {
  csvField,
  DEFAULT_SIZE_BUCKET_EDGES,
  DEFAULT_SIZE_BUCKET_NAMES,
  FLOWS_CSV_HEADER,
  type FlowRow,
  formatCsvNumber,
  MetricsError,
  percentileNearestRank,
} from "../sim/metrics/flow-stats.ts";
import { formatDuration, formatSize } from "../sim/units.ts";
import { type CdfPoint, cdfPoints } from "./plots/specs.ts";
import { ResultsError, readCsv, readSummary } from "./results.ts";
import { type Rows, textTable } from "./summary-table.ts";

/**
 * One line of a results directory's flows.csv: a {@link FlowRow} (times in ns of simulated time, size in bytes) of
 * one policy, with its end nodes by id rather than index; fctNs > 0.
 */
export interface FlowsCsvRow extends Omit<FlowRow, "src" | "dst"> {
  policy: string;
  src: string;
  dst: string;
}

/** Size buckets: k ascending edges in bytes (each > 0) make k + 1 buckets [0, e0), ..., [e(k-1), inf), named. */
export interface SizeBuckets {
  edges: readonly number[];
  /** edges.length + 1 names. */
  names: readonly string[];
}

/** The name of the row of a policy that covers all its flows. */
export const ALL_FLOWS = "all";

/** One (policy, size bucket) row of a {@link SimEmuComparison}. Statistics are null when their sample is empty. */
export interface SimEmuRow {
  policy: string;
  /** Bucket name, or {@link ALL_FLOWS}. */
  bucket: string;
  /** The bucket's byte range [loBytes, hiBytes); hiBytes null when unbounded. */
  loBytes: number;
  hiBytes: number | null;
  simFlows: number;
  emuFlows: number;
  /** Median FCT, ns. */
  simFctP50Ns: number | null;
  emuFctP50Ns: number | null;
  /** emuFctP50Ns / simFctP50Ns. */
  fctP50Ratio: number | null;
  /** 99th-percentile FCT, ns. */
  simFctP99Ns: number | null;
  emuFctP99Ns: number | null;
  /** Median slowdown (FCT / ideal FCT). */
  simSlowdownP50: number | null;
  emuSlowdownP50: number | null;
  /** Two-sample Kolmogorov-Smirnov distance between the sim and emu FCT samples, in [0, 1]. */
  ksD: number | null;
  /** Flows of the bucket present in both runs (same policy and flow id). */
  matchedFlows: number;
  /** Median over matched flows of fct_emu / fct_sim. */
  matchedFctRatioP50: number | null;
}

/**
 * Link utilization of one policy in both runs over the same window of simulated time (from links.csv): the MLU
 * series' mean and 95th percentile (nearest rank), and how far apart the links' mean utilizations are. The
 * emulation counts frames (headers and the reverse direction's ACKs included), the simulation payload only, so a
 * few percent more in the emulation is expected.
 */
export interface SimEmuLinkRow {
  policy: string;
  /** Sampling intervals compared (ending at or before the window's end), per run. */
  simIntervals: number;
  emuIntervals: number;
  simMeanMlu: number | null;
  emuMeanMlu: number | null;
  simP95Mlu: number | null;
  emuP95Mlu: number | null;
  /** Mean over links of |mean utilization in emu - in sim|. */
  meanAbsUtilizationDiff: number | null;
  /** The link where that difference is largest, and the difference (emu - sim). */
  worstLink: string | null;
  worstLinkDiff: number | null;
}

/** What {@link compareFlows} returns: plain data, JSON-able as is. */
export interface SimEmuComparison {
  buckets: SizeBuckets;
  /** Per policy in both runs (in the emulation's order): one row per bucket, ascending, then the {@link ALL_FLOWS} row. */
  rows: SimEmuRow[];
  /** Policies with flows in only one of the runs, in that run's order. */
  onlyInSim: string[];
  onlyInEmulation: string[];
  /** Caveats: flows simulated but not emulated, emulated flows unknown to the simulation, size mismatches. */
  notes: string[];
  /** Link utilization side by side, per policy in both runs ({@link compareLinks}); absent when not compared. */
  links?: SimEmuLinkRow[];
}

const FLOWS_CSV_COLUMNS = ["policy", ...FLOWS_CSV_HEADER.split(",")];

type FieldKind = "text" | "id" | "count" | "nonNegative" | "positive" | "slowdown" | "number";

const FIELD_KINDS: Readonly<Record<string, FieldKind>> = {
  policy: "text",
  flow: "id",
  src: "text",
  dst: "text",
  size_bytes: "nonNegative",
  start_ns: "nonNegative",
  end_ns: "nonNegative",
  fct_ns: "positive",
  ideal_fct_ns: "nonNegative",
  slowdown: "slowdown",
  hops: "count",
  tag: "number",
};

const EXPECTED: Readonly<Record<FieldKind, string>> = {
  text: "a non-empty string",
  id: "an integer flow id in [0, 2^32)",
  count: "an integer >= 0",
  nonNegative: "a finite number >= 0",
  positive: "a finite number > 0",
  slowdown: "a number >= 0",
  number: "a finite number",
};

function validField(kind: FieldKind, s: string): boolean {
  if (kind === "text") return s !== "";
  const x = s.trim() === "" ? Number.NaN : Number(s);
  switch (kind) {
    case "id":
      return Number.isInteger(x) && x >= 0 && x <= 0xffffffff;
    case "count":
      return Number.isSafeInteger(x) && x >= 0;
    case "nonNegative":
      return Number.isFinite(x) && x >= 0;
    case "positive":
      return Number.isFinite(x) && x > 0;
    case "slowdown":
      return x >= 0;
    case "number":
      return Number.isFinite(x);
  }
}

/**
 * Reads a results directory's flows.csv (header `policy,` + {@link FLOWS_CSV_HEADER}) into rows, in file order.
 * Line numbers in errors count the header as line 1 (they skip blank lines, as {@link readCsv} does).
 * @throws ResultsError naming the file, line, column and value: a missing file or column, a field that is not
 *   what its column holds (e.g. an FCT that is not a number > 0), or a flow id repeated within a policy.
 */
export function readFlowsCsv(path: string): FlowsCsvRow[] {
  const records = readCsv(path);
  if (records.length === 0) return [];
  const header = Object.keys(records[0]!);
  const missing = FLOWS_CSV_COLUMNS.filter((c) => !header.includes(c));
  if (missing.length > 0) {
    throw new ResultsError(
      `${path}:1: missing column(s) ${missing.join(", ")}; expected the header policy,${FLOWS_CSV_HEADER}`,
    );
  }
  const seen = new Map<string, number>();
  return records.map((r, i) => {
    const line = i + 2;
    for (const col of FLOWS_CSV_COLUMNS) {
      const kind = FIELD_KINDS[col]!;
      if (!validField(kind, r[col]!)) {
        throw new ResultsError(
          `${path}:${line}: ${col}: expected ${EXPECTED[kind]}, got ${JSON.stringify(r[col])}`,
        );
      }
    }
    const key = `${r.policy}\n${r.flow}`;
    const first = seen.get(key);
    if (first !== undefined) {
      throw new ResultsError(
        `${path}:${line}: flow: flow ${r.flow} of policy "${r.policy}" already appears on line ${first}`,
      );
    }
    seen.set(key, line);
    return {
      policy: r.policy!,
      flow: Number(r.flow),
      src: r.src!,
      dst: r.dst!,
      sizeBytes: Number(r.size_bytes),
      startNs: Number(r.start_ns),
      endNs: Number(r.end_ns),
      fctNs: Number(r.fct_ns),
      idealFctNs: Number(r.ideal_fct_ns),
      slowdown: Number(r.slowdown),
      hops: Number(r.hops),
      tag: Number(r.tag),
    };
  });
}

/**
 * The two-sample Kolmogorov-Smirnov distance D = sup_x |F_a(x) - F_b(x)| between the empirical CDFs of two
 * samples, in [0, 1]: 0 for samples with the same empirical distribution, 1 when every value of one is below every
 * value of the other. Both samples must be sorted ascending; NaN when either is empty. O(n + m).
 *
 * The supremum is attained at a sample value, so it suffices to evaluate both CDFs just after each distinct value:
 * a merge that steps past all copies of the smallest pending value on both sides before comparing (comparing
 * inside a run of ties would overstate D).
 */
export function ksDistance(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const n = a.length;
  const m = b.length;
  if (n === 0 || m === 0) return Number.NaN;
  let i = 0;
  let j = 0;
  let d = 0;
  // Once one side is exhausted its CDF is 1 and the other's only grows towards 1, so |F_a - F_b| only shrinks.
  while (i < n && j < m) {
    const x = Math.min(a[i]!, b[j]!);
    while (i < n && a[i] === x) i++;
    while (j < m && b[j] === x) j++;
    d = Math.max(d, Math.abs(i / n - j / m));
  }
  return d;
}

/** Index of the bucket [edges[b-1], edges[b]) holding `size`: the number of edges <= size (as flow-stats.ts). */
function bucketIndex(edges: readonly number[], size: number): number {
  let b = 0;
  while (b < edges.length && edges[b]! <= size) b++;
  return b;
}

function checkBuckets(buckets: SizeBuckets): void {
  const e = buckets.edges;
  for (let i = 0; i < e.length; i++) {
    if (!(e[i]! > 0) || !Number.isFinite(e[i]!) || (i > 0 && !(e[i]! > e[i - 1]!))) {
      throw new MetricsError(
        `buckets.edges[${i}]: size bucket edges must be finite, > 0 and strictly ascending, got [${e.join(", ")}]`,
      );
    }
  }
  if (buckets.names.length !== e.length + 1) {
    throw new MetricsError(
      `buckets.names: expected ${e.length + 1} names for ${e.length} edges, got ${buckets.names.length}`,
    );
  }
}

/** The flows of each policy keyed by flow id, policies in order of first appearance. */
function byPolicy(rows: readonly FlowsCsvRow[], run: string): Map<string, Map<number, FlowsCsvRow>> {
  const out = new Map<string, Map<number, FlowsCsvRow>>();
  for (const r of rows) {
    let flows = out.get(r.policy);
    if (!flows) {
      flows = new Map();
      out.set(r.policy, flows);
    }
    if (flows.has(r.flow))
      throw new ResultsError(`${run}: flow ${r.flow} of policy "${r.policy}" appears more than once`);
    flows.set(r.flow, r);
  }
  return out;
}

/** The samples of one (policy, bucket). */
interface Group {
  simFct: number[];
  simSlowdown: number[];
  emuFct: number[];
  emuSlowdown: number[];
  ratios: number[];
}

function sorted(values: readonly number[]): Float64Array {
  return Float64Array.from(values).sort();
}

function percentile(s: Float64Array, p: number): number | null {
  return s.length === 0 ? null : percentileNearestRank(s, p);
}

function groupRow(policy: string, bucket: string, lo: number, hi: number | null, g: Group): SimEmuRow {
  const simFct = sorted(g.simFct);
  const emuFct = sorted(g.emuFct);
  const simP50 = percentile(simFct, 50);
  const emuP50 = percentile(emuFct, 50);
  const d = ksDistance(simFct, emuFct);
  return {
    policy,
    bucket,
    loBytes: lo,
    hiBytes: hi,
    simFlows: simFct.length,
    emuFlows: emuFct.length,
    simFctP50Ns: simP50,
    emuFctP50Ns: emuP50,
    fctP50Ratio: simP50 !== null && emuP50 !== null ? emuP50 / simP50 : null,
    simFctP99Ns: percentile(simFct, 99),
    emuFctP99Ns: percentile(emuFct, 99),
    simSlowdownP50: percentile(sorted(g.simSlowdown), 50),
    emuSlowdownP50: percentile(sorted(g.emuSlowdown), 50),
    ksD: Number.isNaN(d) ? null : d,
    matchedFlows: g.ratios.length,
    matchedFctRatioP50: percentile(sorted(g.ratios), 50),
  };
}

/**
 * Compares the simulated and emulated flows of every policy present in both (see the module doc for the
 * statistics). Rows: policies in the order they first appear in `emu`, per policy one row per bucket (ascending)
 * then the {@link ALL_FLOWS} row. Deterministic: statistics depend only on the multisets of values.
 * @param sim rows of the simulator's flows.csv; FCTs in ns (> 0), sizes in bytes.
 * @param emu rows of the emulator's flows.csv, same units (FCTs already in simulated time).
 * @throws MetricsError for invalid bucket edges or names; ResultsError for a flow id repeated within a policy.
 */
export function compareFlows(
  sim: readonly FlowsCsvRow[],
  emu: readonly FlowsCsvRow[],
  buckets: SizeBuckets,
): SimEmuComparison {
  checkBuckets(buckets);
  const { edges, names } = buckets;
  const simBy = byPolicy(sim, "simulation");
  const emuBy = byPolicy(emu, "emulation");
  const rows: SimEmuRow[] = [];
  const notes: string[] = [];
  for (const [policy, emuFlows] of emuBy) {
    const simFlows = simBy.get(policy);
    if (!simFlows) continue;
    // groups[names.length] holds all flows of the policy.
    const groups: Group[] = Array.from({ length: names.length + 1 }, () => ({
      simFct: [],
      simSlowdown: [],
      emuFct: [],
      emuSlowdown: [],
      ratios: [],
    }));
    const inBucketAndAll = (size: number, add: (g: Group) => void) => {
      add(groups[bucketIndex(edges, size)]!);
      add(groups[names.length]!);
    };
    for (const r of simFlows.values()) {
      inBucketAndAll(r.sizeBytes, (g) => {
        g.simFct.push(r.fctNs);
        g.simSlowdown.push(r.slowdown);
      });
    }
    const unknown: number[] = [];
    const resized: number[] = [];
    for (const r of emuFlows.values()) {
      inBucketAndAll(r.sizeBytes, (g) => {
        g.emuFct.push(r.fctNs);
        g.emuSlowdown.push(r.slowdown);
      });
      const s = simFlows.get(r.flow);
      if (!s) {
        unknown.push(r.flow);
        continue;
      }
      if (s.sizeBytes !== r.sizeBytes) resized.push(r.flow);
      inBucketAndAll(s.sizeBytes, (g) => g.ratios.push(r.fctNs / s.fctNs));
    }
    for (let b = 0; b < names.length; b++) {
      const hi = b < edges.length ? edges[b]! : null;
      rows.push(groupRow(policy, names[b]!, b === 0 ? 0 : edges[b - 1]!, hi, groups[b]!));
    }
    rows.push(groupRow(policy, ALL_FLOWS, 0, null, groups[names.length]!));

    const matched = emuFlows.size - unknown.length;
    if (matched < simFlows.size) {
      notes.push(
        `policy "${policy}": ${matched} of ${simFlows.size} simulated flows finished in the emulation (shorter emulated window or unfinished flows); the distribution columns compare different flow sets, the matched columns the same flows`,
      );
    }
    if (unknown.length > 0) {
      notes.push(
        `policy "${policy}": ${unknown.length} emulated flow(s) have no simulated flow with the same id (first: ${unknown[0]}); they count in the distribution columns only`,
      );
    }
    if (resized.length > 0) {
      notes.push(
        `policy "${policy}": ${resized.length} matched flow(s) differ in size_bytes between the runs (first: flow ${resized[0]}); matched ratios bucket them by the simulated size`,
      );
    }
  }
  return {
    buckets: { edges: [...edges], names: [...names] },
    rows,
    onlyInSim: [...simBy.keys()].filter((p) => !emuBy.has(p)),
    onlyInEmulation: [...emuBy.keys()].filter((p) => !simBy.has(p)),
    notes,
  };
}

/**
 * The size buckets of a results directory, from its summary.json (the resolved `metrics.sizeBuckets` and
 * `metrics.bucketNames` of its config): null when the summary has no policy.
 * @throws ResultsError for a missing or malformed summary.json.
 */
export function readSizeBuckets(dir: string): SizeBuckets | null {
  const first = readSummary(dir).policies[0];
  if (!first) return null;
  const b = first.flows.buckets;
  return { edges: b.slice(1).map((x) => x.loBytes), names: b.map((x) => x.name) };
}

function sameBuckets(a: SizeBuckets, b: SizeBuckets): boolean {
  return a.edges.join() === b.edges.join() && a.names.join("\n") === b.names.join("\n");
}

function describeBuckets(b: SizeBuckets): string {
  return b.names.map((n, i) => `${n} [${i === 0 ? 0 : b.edges[i - 1]}, ${b.edges[i] ?? "inf"})`).join(", ");
}

/**
 * {@link compareFlows} of the flows.csv of a simulation and an emulation results directory. The buckets are
 * `buckets` when given, else those of the runs' summary.json (which must agree), else the defaults
 * (small < 100 kB <= medium < 10 MB <= large).
 * @throws ResultsError for a missing or malformed file, or runs with different size buckets.
 */
export function compareRunDirs(simDir: string, emuDir: string, buckets?: SizeBuckets): SimEmuComparison {
  let b = buckets;
  if (!b) {
    const s = readSizeBuckets(simDir);
    const e = readSizeBuckets(emuDir);
    if (s && e && !sameBuckets(s, e)) {
      throw new ResultsError(
        `the runs use different size buckets: ${simDir}: ${describeBuckets(s)}; ${emuDir}: ${describeBuckets(e)}`,
      );
    }
    b = s ?? e ?? { edges: DEFAULT_SIZE_BUCKET_EDGES, names: DEFAULT_SIZE_BUCKET_NAMES };
  }
  return compareFlows(readFlowsCsv(join(simDir, "flows.csv")), readFlowsCsv(join(emuDir, "flows.csv")), b);
}

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
  const { renderVegaLite } = await import("./plots/render.ts");
  const plot = await renderVegaLite(
    simVsEmulationCdfSpec(data),
    join(dir, "plots", "sim-vs-emulation-fct-cdf"),
  );
  return { json, csv, plot };
}

/** Per-interval link utilization rows of a links.csv, by policy. */
interface LinkSeries {
  /** interval end ns -> link id -> utilization */
  intervals: Map<number, Map<string, number>>;
}

function linkSeries(rows: readonly Record<string, string>[], untilNs: number): Map<string, LinkSeries> {
  const out = new Map<string, LinkSeries>();
  for (const r of rows) {
    const policy = r.policy ?? "";
    let s = out.get(policy);
    if (!s) {
      s = { intervals: new Map() };
      out.set(policy, s);
    }
    const end = Number(r.interval_end_ns);
    const u = Number(r.utilization);
    if (!(end <= untilNs) || !Number.isFinite(u)) continue;
    let m = s.intervals.get(end);
    if (!m) {
      m = new Map();
      s.intervals.set(end, m);
    }
    m.set(r.link ?? "", u);
  }
  return out;
}

function mluStats(s: LinkSeries | undefined): { n: number; mean: number | null; p95: number | null } {
  if (!s || s.intervals.size === 0) return { n: 0, mean: null, p95: null };
  const mlu = Float64Array.from([...s.intervals.values()].map((m) => Math.max(0, ...m.values())));
  const mean = mlu.reduce((a, b) => a + b, 0) / mlu.length;
  mlu.sort();
  return { n: mlu.length, mean, p95: percentileNearestRank(mlu, 95) };
}

function meanByLink(s: LinkSeries | undefined): Map<string, number> {
  const sum = new Map<string, number>();
  const count = new Map<string, number>();
  for (const m of s?.intervals.values() ?? []) {
    for (const [link, u] of m) {
      sum.set(link, (sum.get(link) ?? 0) + u);
      count.set(link, (count.get(link) ?? 0) + 1);
    }
  }
  return new Map([...sum].map(([l, x]) => [l, x / count.get(l)!]));
}

/**
 * Compares link utilization of the policies in both runs over simulated time [0, untilNs] (intervals that end by
 * then), from links.csv rows (`policy,interval_start_ns,interval_end_ns,link,src,dst,capacity_bps,bits,utilization`).
 * Policies in the emulation's order.
 */
export function compareLinks(
  simRows: readonly Record<string, string>[],
  emuRows: readonly Record<string, string>[],
  untilNs: number,
): SimEmuLinkRow[] {
  const sim = linkSeries(simRows, untilNs);
  const emu = linkSeries(emuRows, untilNs);
  const out: SimEmuLinkRow[] = [];
  for (const policy of emu.keys()) {
    if (!sim.has(policy)) continue;
    const a = mluStats(sim.get(policy));
    const b = mluStats(emu.get(policy));
    const ua = meanByLink(sim.get(policy));
    const ub = meanByLink(emu.get(policy));
    let total = 0;
    let n = 0;
    let worst: string | null = null;
    let worstDiff: number | null = null;
    for (const [link, u] of [...ua].sort((x, y) => (x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : 0))) {
      const v = ub.get(link);
      if (v === undefined) continue;
      const d = v - u;
      total += Math.abs(d);
      n++;
      if (worstDiff === null || Math.abs(d) > Math.abs(worstDiff)) {
        worst = link;
        worstDiff = d;
      }
    }
    out.push({
      policy,
      simIntervals: a.n,
      emuIntervals: b.n,
      simMeanMlu: a.mean,
      emuMeanMlu: b.mean,
      simP95Mlu: a.p95,
      emuP95Mlu: b.p95,
      meanAbsUtilizationDiff: n > 0 ? total / n : null,
      worstLink: worst,
      worstLinkDiff: worstDiff,
    });
  }
  return out;
}

/** The link comparison as table rows. */
export function linkComparisonRows(links: readonly SimEmuLinkRow[]): Rows {
  const num = (x: number | null) => (x === null ? "-" : x.toFixed(3));
  return {
    head: [
      "policy",
      "intervals sim / emu",
      "mean MLU sim / emu",
      "p95 MLU sim / emu",
      "mean |util diff|",
      "worst link (emu - sim)",
    ],
    rows: links.map((l) => [
      l.policy,
      `${l.simIntervals} / ${l.emuIntervals}`,
      `${num(l.simMeanMlu)} / ${num(l.emuMeanMlu)}`,
      `${num(l.simP95Mlu)} / ${num(l.emuP95Mlu)}`,
      num(l.meanAbsUtilizationDiff),
      l.worstLink === null
        ? "-"
        : `${l.worstLink} (${l.worstLinkDiff! >= 0 ? "+" : ""}${num(l.worstLinkDiff)})`,
    ]),
  };
}
