/**
 * Scaling figures (issue 17): wall time and peak memory against flows and against nodes, for the fluid model, the
 * packet model and ns-3 3.37 side by side, plotted log-log into results/bench/scaling.svg (and .png, .vl.json).
 *
 * Workloads.
 * - `dumbbell` (all three engines): ns-3's peer scenario (../shared/peers/ns3/dumbbell.cc, short mode): k senders ->
 *   100 Mbit/s, 10 ms bottleneck -> k receivers, access links 1 Gbit/s, 1 ms, FIFOs of 1100 packets; flows with
 *   log-uniform sizes in [10 kB, 1 MB] between a uniform sender and a uniform receiver, Poisson arrivals at 0.6 x
 *   the bottleneck rate from 50 ms. ns-3 draws its flows with its own generator, topocast from the seeded stream
 *   `scaling/flows` (the same process in law, not flow by flow). Against flows: k = 4 (10 nodes); against nodes:
 *   1e3 flows, k = 4, 16, 64, 376 (10 .. 754 nodes). The fluid model runs with TCP start-up (as configs default),
 *   the packet model with Linux's TCP (NewReno, SACK off as it defaults).
 * - `kdl` (fluid only): bench/flow-heavy.ts's Kdl case (754 nodes, gravity TM at 90% peak MLU, web-search sizes,
 *   no TCP start-up): the heavy-load regime, at 1e4 .. `--max-flows` flows.
 *
 * Each point runs in its own process, so its peak RSS is its own: topocast as `node --import tsx bench/scaling.ts
 * <engine> <k> <flows>` (or flow-heavy's child mode), ns-3 under GNU time (`%M`). Wall time is the simulation's
 * run (topocast: around `sim.run`; ns-3: its `wall_run_s`), set-up apart. The figure plots CPU seconds (topocast:
 * the run's, process.cpuUsage; ns-3: its whole process, GNU time), which a shared machine's load does not stretch;
 * all three run single-threaded, so on a quiet machine wall time is about the same.
 *
 * `npm run bench -- scaling [--max-flows N] [--engines fluid,packet,ns-3,kdl] [--plot-only 1]`: writes
 * results/bench/scaling.json and the figure; a subset of `--engines` reruns those and keeps the others' points from
 * the JSON; `--plot-only 1` redraws the figure from the JSON. ns-3 points need Debian's libns3-dev and the peer sources
 * (bench/ns3-peers.ts); without them the figure has topocast's points only and the JSON says why. Default
 * `--max-flows` 1e6: 1e7 flows would take ~10 min per fluid point and far longer for the packet model and ns-3 on
 * this 2-core shared machine (the packet model and ns-3 stop at 1e4 flows: ns-3 needs ~90 CPU-s there already).
 */
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync, rmSync } from "node:fs";
import { loadavg } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { renderVegaLite, type TopLevelSpec } from "../experiments/plots/render.ts";
import { RandomStreams } from "../sim/kernel/rng.ts";
import { Simulator } from "../sim/kernel/simulator.ts";
import { TraceBus } from "../sim/metrics/trace.ts";
import { allPairsShortestPaths } from "../sim/substrate/routing.ts";
import { type Topology, TopologyBuilder } from "../sim/substrate/topology.ts";
import { FlowNetwork, LINUX_TCP_STARTUP } from "../sim/transport/flow-network.ts";
import { PacketNetwork } from "../sim/transport/packet-network.ts";
import type { Transport } from "../sim/transport/transport.ts";
import { buildNs3Peers } from "./ns3-peers.ts";
import type { BenchOptions, BenchResult } from "./run.ts";

type Engine = "fluid" | "packet" | "ns-3";
const OUT = resolve(import.meta.dirname ?? ".", "../results/bench");

const BOTTLENECK_BPS = 100e6;
const ACCESS_BPS = 1e9;
const LOAD = 0.6;
const MIN_BYTES = 1e4;
const MAX_BYTES = 1e6;
/** Mean of the log-uniform size on [MIN, MAX], bytes. */
const MEAN_BYTES = (MAX_BYTES - MIN_BYTES) / Math.log(MAX_BYTES / MIN_BYTES);

/** One measured point. */
export interface ScalingPoint {
  engine: Engine;
  workload: "dumbbell" | "kdl";
  nodes: number;
  flows: number;
  /** The sweeps the point belongs to (k = 4 at 1e3 flows is in both). */
  sweeps: ("flows" | "nodes")[];
  wallSeconds: number;
  cpuSeconds: number | null;
  peakRssBytes: number;
}

/** The dumbbell with k senders and k receivers (2k + 2 nodes). */
function dumbbell(k: number): Topology {
  const b = new TopologyBuilder(`dumbbell-${k}`, "bench/scaling.ts")
    .addNode({ id: "left" })
    .addNode({ id: "right" });
  b.addLink("left", "right", { capacityBps: BOTTLENECK_BPS, delayNs: 10e6 });
  for (let i = 0; i < k; i++) {
    b.addNode({ id: `s${i}` }).addNode({ id: `r${i}` });
    b.addLink(`s${i}`, "left", { capacityBps: ACCESS_BPS, delayNs: 1e6 });
    b.addLink("right", `r${i}`, { capacityBps: ACCESS_BPS, delayNs: 1e6 });
  }
  return b.build();
}

/** One topocast point in this process: `flows` dumbbell flows, arrivals drawn as they come (no list in memory). */
function topocastPoint(engine: "fluid" | "packet", k: number, flows: number): ScalingPoint {
  const topo = dumbbell(k);
  const routes = allPairsShortestPaths(topo, { weight: "delay" });
  const sim = new Simulator();
  const trace = new TraceBus();
  const net: Transport =
    engine === "fluid"
      ? new FlowNetwork(sim, topo, trace, { tcp: LINUX_TCP_STARTUP })
      : new PacketNetwork(sim, topo, trace, { buffer: { packets: 1100 } });
  const rng = new RandomStreams(1).stream("scaling/flows");
  const meanGapNs = (MEAN_BYTES * 8 * 1e9) / (LOAD * BOTTLENECK_BPS);
  const senders = Array.from({ length: k }, (_, i) => topo.node(`s${i}`));
  const receivers = Array.from({ length: k }, (_, i) => topo.node(`r${i}`));
  let started = 0;
  let done = 0;
  trace.on("flowEnd", () => done++);
  const arrive = (): void => {
    const src = senders[rng.int(k)]!;
    const dst = receivers[rng.int(k)]!;
    const sizeBytes = Math.round(Math.exp(rng.uniformRange(Math.log(MIN_BYTES), Math.log(MAX_BYTES))));
    net.startFlow({ src, dst, sizeBytes, path: routes.path(src, dst)! });
    if (++started < flows) sim.schedule(Math.max(1, Math.round(rng.exponential(meanGapNs))), arrive);
  };
  sim.scheduleAt(50e6, arrive);
  const c0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  sim.run();
  const wallSeconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const c = process.cpuUsage(c0);
  if (done !== flows) throw new Error(`scaling: ${engine} k=${k}: ${done} of ${flows} flows finished`);
  return {
    engine,
    workload: "dumbbell",
    nodes: topo.nodeCount,
    flows,
    sweeps: [],
    wallSeconds,
    cpuSeconds: (c.user + c.system) / 1e6,
    peakRssBytes: process.resourceUsage().maxRSS * 1024,
  };
}

function child(args: readonly string[]): Record<string, unknown> {
  const out = execFileSync(process.execPath, ["--import", "tsx", ...args], {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "inherit"],
    maxBuffer: 1 << 24,
  });
  return JSON.parse(out) as Record<string, unknown>;
}

function ns3Point(binary: string, k: number, flows: number): ScalingPoint {
  const args = ["--mode=short", `--k=${k}`, `--flows=${flows}`, `--load=${LOAD}`, "--seed=1", "--flowmon=0"];
  const out = execFileSync(
    "sh",
    ["-c", '/usr/bin/time -f "gnutime %U %S %M" "$0" "$@" 2>&1', binary, ...args],
    {
      encoding: "utf8",
      maxBuffer: 1 << 26,
    },
  );
  const t = /gnutime ([\d.]+) ([\d.]+) (\d+)/.exec(out);
  const wall = /wall_run_s=([\d.]+)/.exec(out);
  if (!t || !wall) throw new Error(`scaling: ns-3 k=${k} flows=${flows}: no timing in its output`);
  return {
    engine: "ns-3",
    workload: "dumbbell",
    nodes: 2 * k + 2,
    flows,
    sweeps: [],
    wallSeconds: Number(wall[1]),
    cpuSeconds: Number(t[1]) + Number(t[2]),
    peakRssBytes: Number(t[3]) * 1024,
  };
}

const FLOW_COUNTS: Record<Engine, readonly number[]> = {
  fluid: [1e2, 1e3, 1e4, 1e5, 1e6],
  packet: [1e2, 1e3, 1e4],
  "ns-3": [1e2, 1e3, 1e4],
};
const SENDERS = [4, 16, 64, 376];
const NODES_FLOWS = 1e3;
/** ns-3's dumbbell.cc gives sender i the subnet 10.1.i.0/24: beyond 255 its addresses collide. */
const NS3_MAX_SENDERS = 255;
const KDL_FLOWS = [1e4, 1e5, 1e6, 1e7];

/** Every point's command, in order (a point is skipped when its engine is unavailable). */
function measure(maxFlows: number, only: readonly string[]): { points: ScalingPoint[]; notes: string[] } {
  const self = fileURLToPath(import.meta.url);
  const heavy = resolve(import.meta.dirname ?? ".", "flow-heavy.ts");
  // ns-3 is built only when its points are asked for (a run of other engines says nothing about it).
  const built: ReturnType<typeof buildNs3Peers> = only.includes("ns-3")
    ? buildNs3Peers()
    : { missing: "not asked for" };
  const ns3 = "dir" in built ? join(built.dir, "dumbbell") : null;
  const notes =
    ns3 || !only.includes("ns-3") ? [] : [`ns-3 points absent: ${"missing" in built ? built.missing : ""}`];
  const points: ScalingPoint[] = [];
  const add = (p: ScalingPoint, sweep: "flows" | "nodes") => {
    const same = points.find(
      (q) => q.engine === p.engine && q.workload === p.workload && q.nodes === p.nodes && q.flows === p.flows,
    );
    if (same) {
      same.sweeps.push(sweep);
      return;
    }
    p.sweeps = [sweep];
    points.push(p);
    console.error(
      `scaling: ${p.engine} ${p.workload} nodes=${p.nodes} flows=${p.flows} wall=${p.wallSeconds.toFixed(2)} s rss=${(p.peakRssBytes / 2 ** 20).toFixed(0)} MiB`,
    );
  };
  try {
    const engines = (["fluid", "packet", "ns-3"] as const).filter(
      (e) => only.includes(e) && (ns3 || e !== "ns-3"),
    );
    for (const e of engines) {
      const pointAt = (k: number, n: number): ScalingPoint =>
        e === "ns-3"
          ? ns3Point(ns3!, k, n)
          : (child([self, e, String(k), String(n)]) as unknown as ScalingPoint);
      for (const n of FLOW_COUNTS[e]) if (n <= maxFlows) add(pointAt(4, n), "flows");
      for (const k of SENDERS) {
        if (e === "ns-3" && k > NS3_MAX_SENDERS) {
          notes.push(
            `ns-3 has no point at k=${k}: its dumbbell.cc numbers subnets 10.1.<k>.0/24, so k <= ${NS3_MAX_SENDERS}`,
          );
          continue;
        }
        const known = k === 4 && FLOW_COUNTS[e].includes(NODES_FLOWS) && NODES_FLOWS <= maxFlows;
        add(
          known
            ? { ...points.find((q) => q.engine === e && q.nodes === 10 && q.flows === NODES_FLOWS)! }
            : pointAt(k, NODES_FLOWS),
          "nodes",
        );
      }
    }
    for (const n of KDL_FLOWS) {
      if (n > maxFlows || !only.includes("kdl")) continue;
      const r = child([heavy, "kdl", "superposed", String(n), "1"]);
      if (typeof r.skipped === "string") {
        notes.push(`kdl points absent: ${r.skipped}`);
        break;
      }
      add(
        {
          engine: "fluid",
          workload: "kdl",
          nodes: 754,
          flows: n,
          sweeps: [],
          wallSeconds: r.wallSeconds as number,
          cpuSeconds: r.cpuSeconds as number,
          peakRssBytes: r.peakRssBytes as number,
        },
        "flows",
      );
    }
  } finally {
    if ("dir" in built) rmSync(built.dir, { recursive: true, force: true });
  }
  return { points, notes };
}

/** The figure: wall time and peak RSS against flows (left) and nodes (right), log-log, one colour per engine. */
export function scalingSpec(points: readonly ScalingPoint[]): TopLevelSpec {
  const rows = points.flatMap((p) => {
    const series = `${p.engine}${p.workload === "kdl" ? " (Kdl, heavy load)" : " (dumbbell)"}`;
    return p.sweeps.flatMap((sweep) => {
      const x = sweep === "flows" ? p.flows : p.nodes;
      return [
        { sweep, series, x, metric: "CPU time of the run (s)", value: p.cpuSeconds ?? p.wallSeconds },
        { sweep, series, x, metric: "peak RSS (MiB)", value: p.peakRssBytes / 2 ** 20 },
      ];
    });
  });
  const panel = (sweep: string, title: string) => ({
    transform: [{ filter: `datum.sweep === '${sweep}'` }],
    facet: { row: { field: "metric", type: "nominal" as const, title: null } },
    spec: {
      width: 300,
      height: 190,
      mark: { type: "line" as const, point: true },
      encoding: {
        x: { field: "x", type: "quantitative" as const, scale: { type: "log" as const }, title },
        y: { field: "value", type: "quantitative" as const, scale: { type: "log" as const }, title: null },
        color: {
          field: "series",
          type: "nominal" as const,
          title: "engine (workload)",
          legend: { labelLimit: 400 },
        },
      },
    },
    resolve: { scale: { y: "independent" as const } },
  });
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    title: "topocast scaling: fluid and packet models, ns-3 3.37 beside (log-log)",
    data: { values: rows },
    hconcat: [
      panel("flows", "flows (dumbbell k=4, 10 nodes; Kdl 754 nodes)"),
      panel("nodes", "nodes (dumbbell, 1e3 flows)"),
    ],
  } as TopLevelSpec;
}

export async function run(opts: BenchOptions): Promise<BenchResult> {
  const base = join(OUT, "scaling");
  if (opts["plot-only"]) {
    const prev = JSON.parse(readFileSync(`${base}.json`, "utf8")) as { points: ScalingPoint[] };
    await renderVegaLite(scalingSpec(prev.points), base);
    return { ...prev, resultName: "scaling" };
  }
  const maxFlows = Number(opts["max-flows"] ?? 1e6);
  if (!(maxFlows >= 1e2)) throw new Error(`--max-flows: expected a number >= 100, got ${opts["max-flows"]}`);
  const only = (opts.engines ?? "fluid,packet,ns-3,kdl").split(",");
  for (const e of only) {
    if (!["fluid", "packet", "ns-3", "kdl"].includes(e)) {
      throw new Error(`--engines: expected a list of fluid, packet, ns-3, kdl; got ${e}`);
    }
  }
  const before = loadavg();
  const measured = measure(maxFlows, only);
  // A subset of engines replaces their points in the last results and keeps the others'.
  const all = only.length < 4 && existsSync(`${base}.json`);
  const prev = all
    ? (JSON.parse(readFileSync(`${base}.json`, "utf8")) as { points: ScalingPoint[]; notes: string[] })
    : null;
  const kept = (prev?.points ?? []).filter((p) => !only.includes(p.workload === "kdl" ? "kdl" : p.engine));
  const points = [...kept, ...measured.points];
  // Notes name their engine first ("ns-3 has no point ...", "kdl points absent ..."): a rerun engine's replace its old.
  const notes = [
    ...new Set([
      ...(prev?.notes ?? []).filter((n) => !only.some((e) => n.startsWith(`${e} `))),
      ...measured.notes,
    ]),
  ];
  const figure = await renderVegaLite(scalingSpec(points), base);
  return {
    resultName: "scaling",
    loadAverage: { before, after: loadavg() },
    maxFlows,
    notes,
    figure: figure.svg.slice(figure.svg.indexOf("results/")),
    points,
  };
}

// Child mode: `node --import tsx bench/scaling.ts <fluid|packet> <k> <flows>` prints one point as JSON.
if (process.argv[1] === fileURLToPath(import.meta.url) && existsSync(process.argv[1]!)) {
  const [engine, k, flows] = process.argv.slice(2);
  if (engine !== "fluid" && engine !== "packet")
    throw new Error(`scaling: engine fluid or packet, got ${engine}`);
  process.stdout.write(`${JSON.stringify(topocastPoint(engine, Number(k), Number(flows)))}\n`);
}
