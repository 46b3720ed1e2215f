/**
 * The config's `workload` traffic matrix to the engine's demand: the window and training span read from the TM
 * source, TM nodes mapped onto the topology, each TM interval played at the config's pace, and every rate scaled
 * by the load factor. Also the flow-size distribution the Poisson flows draw from.
 *
 * Time. The window [start, start + duration) is in traffic-matrix time. Each TM interval overlapping it (clipped
 * to the window) is played for `clipped x playInterval / tmInterval` of simulated time (real time when
 * playInterval is not given), back to back from simulated time 0. The training span before the window is played
 * at the same pace at negative simulated times ending at 0.
 *
 * Load. `targetMlu` scales every rate by one factor so that the largest offered max-link-utilization over the
 * played intervals, with every pair on its reference shortest path, equals the target. The reference routing is
 * the same for every policy, so all policies see identical traffic.
 */
import { bundledFlowSizeCdf, readFlowSizeCdf } from "../models/workload/flow-size-cdf.ts";
import { offeredUtilization } from "../models/workload/poisson-flows.ts";
import type { TrafficMatrixSeries } from "../models/workload/tm-series.ts";
import type { DemandInterval } from "../sim/engine/types.ts";
import type { Distribution } from "../sim/kernel/rng.ts";
import { allPairsShortestPaths } from "../sim/substrate/routing.ts";
import type { Topology } from "../sim/substrate/topology.ts";
import { parseDurationNs, parseSizeBytes } from "../sim/units.ts";
import { checkTmSize, checkWindowInData } from "./config/scenario-checks.ts";
import type { ExperimentConfig } from "./config/schema.ts";
import { at, type Locate } from "./scenario-locate.ts";
import { loadTrafficMatrix } from "./tm-sources.ts";

/** The demand of one run: played and training intervals at the scaled load, and facts for summaries. */
export interface Demand {
  /** The TM source, as summaries name it. */
  source: string;
  /** The window's intervals, back to back from simulated time 0. */
  intervals: DemandInterval[];
  /** The training span's intervals, back to back at negative simulated times ending at 0. */
  trainingIntervals: DemandInterval[];
  /** The factor every TM rate was multiplied by. */
  loadScale: number;
  /** Largest offered max-link-utilization over the window on the reference routing, after scaling. */
  offeredPeakMlu: number;
}

/** One TM interval `t` played for `lenNs` of simulated time. */
interface Slice {
  t: number;
  lenNs: number;
}

/** The demand of run `run` of config `c` on `topology`. */
export function buildDemand(c: ExperimentConfig, topology: Topology, run: number, error: Locate): Demand {
  const startNs = parseDurationNs(c.workload.window.start);
  const endNs = startNs + parseDurationNs(c.workload.window.duration);
  const trainingNs = parseDurationNs(c.workload.training);
  checkTmSize(c, topology.nodeCount, startNs, endNs, error);
  const series = at(error, ["workload", "tm"], () =>
    loadTrafficMatrix(c.workload.tm, {
      topology,
      startNs: Math.max(0, startNs - trainingNs),
      endNs,
      seed: c.seed,
      run,
    }),
  );
  const last = series.startNs.length - 1;
  checkWindowInData(c, endNs, last < 0 ? 0 : series.startNs[last]! + series.intervalNs, series.source, error);
  const nodeOf = mapNodes(series, topology, c, error);
  const played = c.workload.playInterval === undefined ? undefined : parseDurationNs(c.workload.playInterval);
  const window = slices(series, startNs, endNs, played);
  const training = slices(series, startNs - trainingNs, startNs, played);
  if (window.length === 0) {
    throw error(
      ["workload", "window"],
      `the window [${c.workload.window.start}, +${c.workload.window.duration}) holds no traffic-matrix interval of ${series.source}`,
    );
  }
  const demandsOf = (t: number, scale: number) => pairDemands(series, nodeOf, t, scale);
  const peak = peakOfferedMlu(c, topology, window, demandsOf, error);
  let scale = c.workload.load.scale ?? 1;
  if (c.workload.load.targetMlu !== undefined) {
    if (!(peak > 0))
      throw error(["workload", "load", "targetMlu"], "the traffic matrix offers no load to scale");
    scale = c.workload.load.targetMlu / peak;
  }
  // Each interval's demands are built from the series' matrix when read, never stored: a network of N nodes has
  // N (N - 1) pairs per interval (Kdl: 568k), so stored demand objects would grow with pairs x intervals.
  const interval = (startNs: number, endNs: number, t: number): DemandInterval => ({
    startNs,
    endNs,
    get demands() {
      return demandsOf(t, scale);
    },
  });
  const intervals: DemandInterval[] = [];
  let simNs = 0;
  for (const s of window) {
    intervals.push(interval(simNs, simNs + s.lenNs, s.t));
    simNs += s.lenNs;
  }
  const trainingIntervals: DemandInterval[] = [];
  let back = 0;
  for (let k = training.length - 1; k >= 0; k--) {
    const s = training[k]!;
    trainingIntervals.unshift(interval(back - s.lenNs, back, s.t));
    back -= s.lenNs;
  }
  return {
    source: series.source,
    intervals,
    trainingIntervals,
    loadScale: scale,
    offeredPeakMlu: peak * scale,
  };
}

/** The TM intervals overlapping [fromNs, toNs), clipped to it, in order, with their played lengths (> 0). */
function slices(
  series: TrafficMatrixSeries,
  fromNs: number,
  toNs: number,
  played: number | undefined,
): Slice[] {
  const out: Slice[] = [];
  for (let t = 0; t < series.rates.length; t++) {
    const s = Math.max(series.startNs[t]!, fromNs);
    const e = Math.min(series.startNs[t]! + series.intervalNs, toNs);
    if (e <= s) continue;
    const lenNs = Math.round(played === undefined ? e - s : ((e - s) * played) / series.intervalNs);
    if (lenNs > 0) out.push({ t, lenNs });
  }
  return out;
}

/** The pair demands of TM interval `t` in topology node indices, rates x `scale`, sorted by (src, dst). */
function pairDemands(
  series: TrafficMatrixSeries,
  nodeOf: Int32Array,
  t: number,
  scale: number,
): DemandInterval["demands"] {
  const n = series.nodes.length;
  const row = series.rates[t]!;
  const out: { src: number; dst: number; rateBps: number }[] = [];
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      const r = row[i * n + j]!;
      if (i !== j && r > 0) out.push({ src: nodeOf[i]!, dst: nodeOf[j]!, rateBps: r * scale });
    }
  }
  return out.sort((a, b) => a.src - b.src || a.dst - b.dst);
}

/** The largest offered max-link-utilization over `window` at scale 1, every pair on its reference path. */
function peakOfferedMlu(
  c: ExperimentConfig,
  topology: Topology,
  window: readonly Slice[],
  demandsOf: (t: number, scale: number) => DemandInterval["demands"],
  error: Locate,
): number {
  const ref = allPairsShortestPaths(topology, { weight: c.workload.load.reference });
  const refRoute = (s: number, d: number) => {
    const p = ref.path(s, d);
    if (!p) {
      throw error(
        ["topology"],
        `${topology.name}: no path from ${topology.nodes[s]!.id} to ${topology.nodes[d]!.id}, which exchange traffic`,
      );
    }
    return p;
  };
  let peak = 0;
  for (const s of window) {
    for (const u of offeredUtilization(topology, demandsOf(s.t, 1), refRoute)) peak = Math.max(peak, u);
  }
  return peak;
}

/** Topology node index of each TM node (by series index), via nodeMap; -1 never (errors instead). */
function mapNodes(
  series: TrafficMatrixSeries,
  topo: Topology,
  c: ExperimentConfig,
  error: Locate,
): Int32Array {
  const map = c.workload.nodeMap;
  const tmNodes = new Set(series.nodes);
  for (const [from, to] of Object.entries(map).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    if (!tmNodes.has(from)) {
      throw error(
        ["workload", "nodeMap", from],
        `"${from}" is not a node of the traffic matrix (${series.source}); its nodes: ${series.nodes.join(", ")}`,
      );
    }
    if (!topo.hasNode(to)) {
      throw error(
        ["workload", "nodeMap", from],
        `unknown topology node ${JSON.stringify(to)}; ${topo.name} has ${topo.nodes.map((x) => x.id).join(", ")}`,
      );
    }
  }
  const out = new Int32Array(series.nodes.length);
  const used = new Map<number, string>();
  series.nodes.forEach((id, i) => {
    const target = map[id] ?? id;
    if (!topo.hasNode(target)) {
      throw error(
        ["workload", "nodeMap"],
        `traffic-matrix node "${id}" is not in topology ${topo.name}; map it with nodeMap (${topo.name} has ${topo.nodes.map((x) => x.id).join(", ")})`,
      );
    }
    const idx = topo.node(target);
    const prev = used.get(idx);
    if (prev !== undefined) {
      throw error(
        ["workload", "nodeMap"],
        `traffic-matrix nodes "${prev}" and "${id}" both map to "${target}"`,
      );
    }
    used.set(idx, id);
    out[i] = idx;
  });
  return out;
}

/** The flow-size distribution of `workload.flowSizes`: a CDF file or a bundled one. */
export function buildFlowSizes(c: ExperimentConfig, error: Locate): Distribution {
  const f = c.workload.flowSizes;
  if (f.cdf !== undefined) {
    const path = f.cdf;
    return at(error, ["workload", "flowSizes", "cdf"], () =>
      readFlowSizeCdf(path, { sizeUnitBytes: parseSizeBytes(f.unit) }),
    );
  }
  const name = f.bundled!;
  return at(error, ["workload", "flowSizes", "bundled"], () => bundledFlowSizeCdf(name));
}

/** Bits the demand offers over its intervals (rates x durations). */
export function offeredBits(intervals: readonly DemandInterval[]): number {
  let bits = 0;
  for (const iv of intervals) {
    for (const d of iv.demands) bits += (d.rateBps * (iv.endNs - iv.startNs)) / 1e9;
  }
  return bits;
}
