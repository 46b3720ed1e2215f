/**
 * Sim vs emulation: the flow completion times of one experiment run by the simulator (`topocast run`) and by the
 * emulator (`topocast emulate`), compared per policy and flow-size bucket from the two results directories'
 * flows.csv. The emulator reports FCTs in simulated time (wall FCT x timeCompression) and replays exactly the
 * simulator's flows (same ids, endpoints, sizes, start times), possibly only a prefix of the window, so the two
 * files are directly comparable and the emulated flows of a policy are a subset of its simulated flows by id.
 * Application flows are the exception: each engine numbers them as their calls happen (the emulator's live call
 * graphs, emulate/live-applications.ts), so an emulated flow whose id names a simulated flow with other endpoints
 * or tag is matched instead by (src, dst, tag, size), the k-th such emulated flow by start time with the k-th such
 * simulated one ({@link matchFlows}).
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
import {
  DEFAULT_SIZE_BUCKET_EDGES,
  DEFAULT_SIZE_BUCKET_NAMES,
  MetricsError,
  percentileNearestRank,
} from "../../sim/metrics/flow-stats.ts";
import { ResultsError, readSummary } from "../results.ts";

import { type FlowsCsvRow, readFlowsCsv } from "./flows-csv.ts";
import type { SimEmuLinkRow } from "./link-comparison.ts";

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

/**
 * The simulated flow each emulated flow of a policy is, or undefined: by id when the two agree on endpoints and tag
 * (the replayed traffic-matrix flows); otherwise by (src, dst, tag, size), the k-th such emulated flow in start order
 * with the k-th such simulated flow not already matched by id. `byKey` counts the second kind.
 */
export function matchFlows(
  sim: ReadonlyMap<number, FlowsCsvRow>,
  emu: ReadonlyMap<number, FlowsCsvRow>,
): { match: Map<number, FlowsCsvRow | undefined>; byKey: number } {
  const same = (a: FlowsCsvRow, b: FlowsCsvRow) => a.src === b.src && a.dst === b.dst && a.tag === b.tag;
  const match = new Map<number, FlowsCsvRow | undefined>();
  const taken = new Set<number>();
  const rest: FlowsCsvRow[] = [];
  for (const r of emu.values()) {
    const s = sim.get(r.flow);
    if (s && same(s, r)) {
      match.set(r.flow, s);
      taken.add(s.flow);
    } else rest.push(r);
  }
  if (rest.length === 0) return { match, byKey: 0 };
  const key = (r: FlowsCsvRow) => `${r.src}\u0000${r.dst}\u0000${r.tag}\u0000${r.sizeBytes}`;
  const byStart = (a: FlowsCsvRow, b: FlowsCsvRow) => a.startNs - b.startNs || a.flow - b.flow;
  const queues = new Map<string, FlowsCsvRow[]>();
  for (const s of [...sim.values()].filter((x) => !taken.has(x.flow)).sort(byStart)) {
    const q = queues.get(key(s));
    if (q) q.push(s);
    else queues.set(key(s), [s]);
  }
  let byKey = 0;
  for (const r of rest.sort(byStart)) {
    const s = queues.get(key(r))?.shift();
    match.set(r.flow, s);
    if (s) byKey++;
  }
  return { match, byKey };
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
    const { match, byKey } = matchFlows(simFlows, emuFlows);
    for (const r of emuFlows.values()) {
      inBucketAndAll(r.sizeBytes, (g) => {
        g.emuFct.push(r.fctNs);
        g.emuSlowdown.push(r.slowdown);
      });
      const s = match.get(r.flow);
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
    if (byKey > 0) {
      notes.push(
        `policy "${policy}": ${byKey} emulated flow(s) matched by endpoints, tag and size in start order, not by id (application flows: each engine numbers them as their calls happen)`,
      );
    }
    if (unknown.length > 0) {
      notes.push(
        `policy "${policy}": ${unknown.length} emulated flow(s) match no simulated flow by id or by endpoints, tag and size (first: ${unknown[0]}); they count in the distribution columns only`,
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
