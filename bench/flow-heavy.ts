/**
 * Heavy-load flow benchmark (issue 17): the fluid model where max-min recomputations touch many flows.
 *
 * - `kdl`: Topology Zoo Kdl (754 nodes, 1,798 directed links; every link 10 Gbit/s and 1 ms), a gravity traffic
 *   matrix series (models/workload/gravity-tm.ts, 1-min matrices, each played for 10 s of simulated time, cycled
 *   until the flows are reached) scaled so shortest paths by delay load the busiest link to 90% at the series'
 *   peak, DCTCP web-search flow sizes. Needs the shared data folder (`$TOPOCAST_SHARED_DATA`, else
 *   `<repo>/../shared/data`); without it the case is skipped and says why.
 * - `fattree`: the k=16 fat tree (1,024 hosts, 320 switches, 10 Gbit/s, 1 ms links), the same rate between every
 *   ordered pair of hosts, scaled so shortest paths by hops load the busiest link to 70%, VL2 data-mining sizes.
 *
 * Flows arrive live into a FlowNetwork (no TCP start-up, no queues), drawn per pair
 * (models/workload/poisson-flows.ts) or superposed (models/workload/superposed-flows.ts, the default here), and the
 * run drains. Reported: flows/s over the simulation's wall time (setup apart), max-min recomputations with their
 * mean, 99th-percentile and largest component size (flow copies), peak RSS of the case's own process.
 *
 * `npm run bench -- flow-heavy [--case kdl|fattree] [--flows N] [--arrivals per-pair|superposed] [--seed S]`:
 * without `--case` each case runs in its own child process (so peak RSS is the case's). Results go to
 * results/bench/flow-heavy.json for the full run (1e6 flows, superposed), else flow-heavy-<arrivals>-<flows>.json.
 * Targets: Kdl 1e6 flows < 60 s and < 2 GiB; fat tree 1e6 flows < 120 s.
 */
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { FlowSink } from "../models/workload/flow-sink.ts";
import { bundledFlowSizeCdf } from "../models/workload/flow-size-cdf.ts";
import { gravitySeries } from "../models/workload/gravity-tm.ts";
import { type PairDemand, PoissonFlowSource } from "../models/workload/poisson-flows.ts";
import {
  type PairDemandColumns,
  SUPERPOSED_STREAM,
  SuperposedFlowSource,
} from "../models/workload/superposed-flows.ts";
import type { ArrivalProcess } from "../sim/engine/types.ts";
import { type Distribution, RandomStreams } from "../sim/kernel/rng.ts";
import { Simulator } from "../sim/kernel/simulator.ts";
import { TraceBus } from "../sim/metrics/trace.ts";
import { fatTree } from "../sim/substrate/generators.ts";
import { allPairsShortestPaths, type Path, type ShortestPathTable } from "../sim/substrate/routing.ts";
import { Topology } from "../sim/substrate/topology.ts";
import { readZooGraphml } from "../sim/substrate/zoo-graphml.ts";
import { FlowNetwork } from "../sim/transport/flow-network.ts";
import type { BenchOptions, BenchResult } from "./run.ts";

const CASES = ["kdl", "fattree"] as const;
export type CaseName = (typeof CASES)[number];

/** What a case runs: demand segments (cycled) over a topology with fixed routes. */
interface HeavyWorkload {
  description: string;
  topology: Topology;
  route: (src: number, dst: number) => Path;
  sizes: Distribution;
  /** Number of distinct segments; segment i plays `demandsOf(i % segments)`. */
  segments: number;
  segmentNs: number;
  demandsOf(i: number): PairDemandColumns;
  offeredPeakMlu: number;
  /** Expected flow arrivals per second of simulated time, first segment. */
  flowsPerSimSecond: number;
}

const SEGMENT_NS = 10e9;

export function kdlPath(): string {
  const env = process.env.TOPOCAST_SHARED_DATA;
  const base = env ? resolve(env) : resolve(import.meta.dirname ?? ".", "../../shared/data");
  return resolve(base, "topologies/topology-zoo/Kdl.graphml");
}

/** Every link `capacityBps` and `delayNs` (the uniform 10 Gbit/s, 1 ms). */
export function uniformLinks(t: Topology, capacityBps: number, delayNs: number): Topology {
  return new Topology(
    t.name,
    t.source,
    t.nodes,
    t.links.map((l) => ({ ...l, capacityBps, delayNs })),
  );
}

/**
 * Per source, the topology's nodes in decreasing hops from it (row-major, N x N): the order in which demands
 * are summed up the source's shortest-path tree by {@link peakMlu}.
 */
function treeOrder(topo: Topology, routes: ShortestPathTable): Int32Array {
  const n = topo.nodeCount;
  const order = new Int32Array(n * n);
  const count = new Int32Array(n + 1);
  for (let s = 0; s < n; s++) {
    count.fill(0);
    for (let v = 0; v < n; v++) count[Math.max(0, routes.hops(s, v))]!++;
    let at = 0;
    for (let h = n; h >= 0; h--) {
      const c = count[h]!;
      count[h] = at; // first position of hop h, the farthest first
      at += c;
    }
    for (let v = 0; v < n; v++) order[s * n + count[Math.max(0, routes.hops(s, v))]!++] = v;
  }
  return order;
}

/**
 * Highest offered utilization over the matrices (row-major over `idx`), each pair on its least path in `routes`:
 * per source, each node's demand plus what its subtree carries goes onto its tree's last link, nodes in
 * decreasing hops (O(N) per source and matrix, no path built).
 */
function peakMlu(
  topo: Topology,
  routes: ShortestPathTable,
  order: Int32Array,
  mats: readonly Float64Array[],
  idx: readonly number[],
) {
  const n = idx.length;
  const N = topo.nodeCount;
  const linkSrc = topo.links.map((l) => l.src);
  const acc = new Float64Array(N);
  let peak = 0;
  for (const m of mats) {
    const load = new Float64Array(topo.linkCount);
    for (let i = 0; i < n; i++) {
      const s = idx[i]!;
      acc.fill(0);
      for (let j = 0; j < n; j++) if (j !== i) acc[idx[j]!] = acc[idx[j]!]! + m[i * n + j]!;
      for (let k = 0; k < N; k++) {
        const v = order[s * N + k]!;
        const e = routes.lastLink(s, v);
        if (e < 0 || acc[v] === 0) continue;
        load[e] = load[e]! + acc[v]!;
        acc[linkSrc[e]!] = acc[linkSrc[e]!]! + acc[v]!;
      }
    }
    for (let l = 0; l < topo.linkCount; l++) peak = Math.max(peak, load[l]! / topo.links[l]!.capacityBps);
  }
  return peak;
}

/**
 * The least path src -> dst of `routes`, rebuilt on each call from a flat copy of its trees' last links (no path
 * cache: one array per flow; 4 bytes per ordered pair for the copy).
 */
function router(topo: Topology, routes: ShortestPathTable): (src: number, dst: number) => Path {
  const n = topo.nodeCount;
  const last = new Int32Array(n * n);
  for (let s = 0; s < n; s++) for (let d = 0; d < n; d++) last[s * n + d] = routes.lastLink(s, d);
  const linkSrc = Int32Array.from(topo.links, (l) => l.src);
  return (src, dst) => {
    const row = src * n;
    let hops = 0;
    for (let v = dst; v !== src; hops++) {
      const e = last[row + v]!;
      if (e < 0) throw new Error(`${topo.name}: no path from ${src} to ${dst}`);
      v = linkSrc[e]!;
    }
    const path = new Array<number>(hops);
    for (let v = dst; v !== src; ) {
      const e = last[row + v]!;
      path[--hops] = e;
      v = linkSrc[e]!;
    }
    return path;
  };
}

/** The non-zero off-diagonal entries of a row-major matrix over `idx`, times `scale`, as demand columns. */
function columnsOf(m: Float64Array, idx: readonly number[], scale: number): PairDemandColumns {
  const n = idx.length;
  let k = 0;
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) if (i !== j && m[i * n + j]! > 0) k++;
  const out = { src: new Int32Array(k), dst: new Int32Array(k), rateBps: new Float64Array(k) };
  k = 0;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      const r = m[i * n + j]! * scale;
      if (i === j || !(r > 0)) continue;
      out.src[k] = idx[i]!;
      out.dst[k] = idx[j]!;
      out.rateBps[k++] = r;
    }
  }
  return out;
}

function kdlWorkload(flows: number, seed: number): HeavyWorkload {
  const topo = uniformLinks(readZooGraphml(kdlPath()), 10e9, 1_000_000);
  const routes = allPairsShortestPaths(topo, { weight: "delay" });
  const route = router(topo, routes);
  const order = treeOrder(topo, routes);
  const sizes = bundledFlowSizeCdf("websearch");
  const streams = new RandomStreams(seed);
  const ids = topo.nodes.map((n) => n.id);
  const series = (intervals: number) =>
    gravitySeries({ nodes: ids, intervals, totalBps: 1e12, streams, intervalNs: 60e9 });
  // Enough distinct matrices for the flows at interval 0's rate (+25%); cycling covers the rest.
  const probe = series(1);
  const idx0 = probe.nodes.map((id) => topo.node(id));
  const rate0 = (0.9 / peakMlu(topo, routes, order, probe.rates, idx0)) * sumOf(probe.rates[0]!);
  const perSecond0 = rate0 / (8 * sizes.mean());
  const segments = Math.max(1, Math.min(20, Math.ceil((1.25 * flows) / perSecond0 / (SEGMENT_NS / 1e9))));
  const s = series(segments);
  const idx = s.nodes.map((id) => topo.node(id));
  const scale = 0.9 / peakMlu(topo, routes, order, s.rates, idx);
  return {
    description: `Kdl (${topo.nodeCount} nodes, ${topo.linkCount} directed links, 10 Gbit/s, 1 ms), gravity TM (${segments} 1-min matrices, ${SEGMENT_NS / 1e9} s each, cycled) at 90% peak offered MLU on shortest paths, web-search sizes`,
    topology: topo,
    route,
    sizes,
    segments,
    segmentNs: SEGMENT_NS,
    demandsOf: (t) => columnsOf(s.rates[t]!, idx, scale),
    offeredPeakMlu: 0.9,
    flowsPerSimSecond: (scale * sumOf(s.rates[0]!)) / (8 * sizes.mean()),
  };
}

function sumOf(a: Float64Array): number {
  let s = 0;
  for (const x of a) s += x;
  return s;
}

function fatTreeWorkload(): HeavyWorkload {
  const topo = fatTree(16, {}, { capacityBps: 10e9, delayNs: 1_000_000 });
  const routes = allPairsShortestPaths(topo, { weight: "hops" });
  const route = router(topo, routes);
  const sizes = bundledFlowSizeCdf("datamining");
  const hosts = topo.nodes.filter((n) => /-h\d+$/.test(n.id)).map((n) => n.index);
  const unit = new Float64Array(hosts.length * hosts.length).fill(1e6); // bits/s per ordered pair
  const scale = 0.7 / peakMlu(topo, routes, treeOrder(topo, routes), [unit], hosts);
  const demands = columnsOf(unit, hosts, scale);
  const total = demands.rateBps.reduce((a, r) => a + r, 0);
  return {
    description: `k=16 fat tree (${hosts.length} hosts, ${topo.nodeCount} nodes, ${topo.linkCount} directed links, 10 Gbit/s, 1 ms), uniform host-to-host TM at 70% peak offered MLU on shortest paths by hops, data-mining sizes`,
    topology: topo,
    route,
    sizes,
    segments: 1,
    segmentNs: 1000e9,
    demandsOf: () => demands,
    offeredPeakMlu: 0.7,
    flowsPerSimSecond: total / (8 * sizes.mean()),
  };
}

/** Columns as a list of demands (the per-pair generator takes one object per pair). */
function listOf(c: PairDemandColumns): PairDemand[] {
  return Array.from(c.rateBps, (rateBps, k) => ({ src: c.src[k]!, dst: c.dst[k]!, rateBps }));
}

/**
 * Runs `w` live until `flows` flows have started, then drains. With `digest`, also the SHA-256 over every flow-end
 * record (JSON, one a line, in completion order): the check that a faster flow network gives the same results.
 */
function simulate(w: HeavyWorkload, arrivals: ArrivalProcess, flows: number, seed: number, digest: boolean) {
  const sim = new Simulator();
  const trace = new TraceBus();
  const net = new FlowNetwork(sim, w.topology, trace, { tcp: null, queue: null });
  let done = 0;
  let slowdownSum = 0;
  const hash = digest ? createHash("sha256") : null;
  trace.on("flowEnd", (r) => {
    done++;
    slowdownSum += r.slowdown;
    hash?.update(`${JSON.stringify(r)}\n`);
  });
  let started = 0;
  let peakActive = 0;
  const sink: FlowSink = {
    topology: w.topology,
    startFlow: (spec) => {
      started++;
      const id = net.startFlow(spec);
      if (net.activeFlows > peakActive) peakActive = net.activeFlows;
      return id;
    },
  };
  const streams = new RandomStreams(seed, 1); // run 1: independent of the gravity matrices' streams (run 0)
  const stream = streams.stream(SUPERPOSED_STREAM);
  const startSegment = (i: number): void => {
    if (started >= flows) return;
    const common = {
      demands: w.demandsOf(i % w.segments),
      sizes: w.sizes,
      route: w.route,
      untilNs: sim.now + w.segmentNs,
      maxFlows: flows - started,
    };
    if (arrivals === "superposed") new SuperposedFlowSource(sim, sink, { ...common, stream }).start();
    else new PoissonFlowSource(sim, sink, { ...common, demands: listOf(common.demands), streams }).start();
    sim.schedule(w.segmentNs, startSegment, 0, i + 1);
  };
  const t0 = process.hrtime.bigint();
  const cpu0 = process.cpuUsage();
  sim.schedule(0, startSegment, 0, 0);
  sim.run();
  const wallSeconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const cpu = process.cpuUsage(cpu0);
  const stats = net.stats;
  return {
    flows: done,
    unfinished: net.activeFlows,
    simulatedSeconds: sim.now / 1e9,
    wallSeconds,
    /** User + system CPU of the simulation: on a shared machine, wall time stretches and this does not. */
    cpuSeconds: (cpu.user + cpu.system) / 1e6,
    flowsPerSecond: done / wallSeconds,
    eventsExecuted: sim.executed,
    meanSlowdown: slowdownSum / done,
    peakActiveFlows: peakActive,
    reallocations: stats.reallocations,
    meanComponentFlows: stats.meanComponentFlows,
    p99ComponentFlows: stats.p99ComponentFlows,
    maxComponentFlows: stats.maxComponentFlows,
    ...(hash ? { flowEndSha256: hash.digest("hex") } : {}),
  };
}

/** One case in this process. */
export function runCase(
  name: CaseName,
  arrivals: ArrivalProcess,
  flows: number,
  seed: number,
  digest = false,
): BenchResult {
  if (name === "kdl" && !existsSync(kdlPath())) {
    return {
      case: name,
      skipped: `needs Topology Zoo Kdl at ${kdlPath()} (the shared data folder; set TOPOCAST_SHARED_DATA)`,
    };
  }
  const t0 = process.hrtime.bigint();
  const c0 = process.cpuUsage();
  const w = name === "kdl" ? kdlWorkload(flows, seed) : fatTreeWorkload();
  const setupSeconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const setupCpu = process.cpuUsage(c0);
  const result = simulate(w, arrivals, flows, seed, digest);
  return {
    case: name,
    workload: w.description,
    arrivals,
    offeredPeakMlu: w.offeredPeakMlu,
    expectedFlowsPerSimSecond: w.flowsPerSimSecond,
    setupSeconds,
    setupCpuSeconds: (setupCpu.user + setupCpu.system) / 1e6,
    ...result,
    peakRssBytes: process.resourceUsage().maxRSS * 1024,
  };
}

function options(opts: BenchOptions) {
  const flows = Number(opts.flows ?? 1_000_000);
  if (!Number.isSafeInteger(flows) || flows < 1)
    throw new Error(`--flows: expected an integer >= 1, got ${opts.flows}`);
  const arrivals = (opts.arrivals ?? "superposed") as ArrivalProcess;
  if (arrivals !== "per-pair" && arrivals !== "superposed") {
    throw new Error(`--arrivals: expected per-pair or superposed, got ${opts.arrivals}`);
  }
  const cases = (opts.case ?? CASES.join(",")).split(",") as CaseName[];
  for (const c of cases) {
    if (!CASES.includes(c)) throw new Error(`--case: expected ${CASES.join(" or ")}, got ${c}`);
  }
  return { flows, arrivals, cases, seed: Number(opts.seed ?? 1) };
}

export function run(opts: BenchOptions): BenchResult {
  const o = options(opts);
  const self = fileURLToPath(import.meta.url);
  const results = o.cases.map((c) => {
    const args = ["--import", "tsx", self, c, o.arrivals, String(o.flows), String(o.seed)];
    const out = execFileSync(process.execPath, args, {
      encoding: "utf8",
      stdio: ["ignore", "pipe", "inherit"],
    });
    return JSON.parse(out) as BenchResult;
  });
  const full = o.flows === 1_000_000 && o.arrivals === "superposed" && o.cases.length === CASES.length;
  return {
    resultName: full ? "flow-heavy" : `flow-heavy-${o.arrivals}-${o.flows}`,
    targets: { kdl: { wallSeconds: 60, peakRssBytes: 2 * 1024 ** 3 }, fattree: { wallSeconds: 120 } },
    loadAverage: loadAverage(),
    cases: results,
  };
}

function loadAverage(): number[] {
  return execFileSync("cat", ["/proc/loadavg"], { encoding: "utf8" }).split(" ").slice(0, 3).map(Number);
}

// Child mode: `node --import tsx bench/flow-heavy.ts <case> <arrivals> <flows> <seed>` prints one case as JSON.
if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [name, arrivals, flows, seed] = process.argv.slice(2);
  const r = runCase(name as CaseName, arrivals as ArrivalProcess, Number(flows), Number(seed));
  process.stdout.write(`${JSON.stringify(r)}\n`);
}
