/**
 * Fidelity against ns-3 (issue 12): the same dumbbell in ns-3 3.37 (packet level, real TCP) and in topocast's fluid
 * model with and without TCP start-up, side by side.
 *
 * Scenario (ns-3's peer program `dumbbell --mode=short`, ../shared/peers/ns3): k = 4 senders -> router -> 100
 * Mbit/s, 10 ms bottleneck -> router -> 4 receivers, access links 1 Gbit/s, 1 ms; 300 flows with log-uniform sizes
 * in [10 kB, 1 MB], uniform random sender and receiver, Poisson arrivals at `load` x the bottleneck rate from
 * t = 50 ms. ns-3 draws its flows with std::mt19937_64 and topocast with its own seeded streams: the flows are the
 * same in distribution, not one by one, so the comparison is of FCT statistics averaged over seeds 1..5.
 * Statistics as ns-3's program computes them: nearest-rank percentiles (index floor(p (n-1) / 100 + 0.5)), FCT in
 * ms from the flow's start to its last byte at the receiver, slowdown = FCT / (1.5 base RTT + size / C).
 *
 * ns-3 side: needs Debian's libns3-dev and libgsl-dev (pkg-config ns3-core) and the peer sources
 * ($TOPOCAST_NS3_PEERS, else ../shared/peers/ns3 beside the repository); it is built into a temporary directory.
 * Without them the ns-3 columns are absent and the result says why.
 */
import { execFileSync } from "node:child_process";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { RandomStreams } from "../sim/kernel/rng.ts";
import { Simulator } from "../sim/kernel/simulator.ts";
import { TraceBus } from "../sim/metrics/trace.ts";
import { allPairsShortestPaths } from "../sim/substrate/routing.ts";
import { TopologyBuilder } from "../sim/substrate/topology.ts";
import { FlowNetwork, LINUX_TCP_STARTUP, type TcpStartup } from "../sim/transport/flow-network.ts";
import type { LinkBuffer } from "../sim/transport/fluid-queues.ts";
import { buildNs3Peers } from "./ns3-peers.ts";
import type { BenchResult } from "./run.ts";

const K = 4;
const BOTTLENECK_BPS = 100e6;
const BOTTLENECK_DELAY_NS = 10e6;
const ACCESS_BPS = 1e9;
const ACCESS_DELAY_NS = 1e6;
const FLOWS = 300;
const MIN_SIZE = 10e3;
const MAX_SIZE = 1e6;
const SMALL_BYTES = 100_000;
const LOADS = [0.3, 0.6, 0.8];
const SEEDS = [1, 2, 3, 4, 5];
/**
 * ns-3's bottleneck buffer: its FifoQueueDisc of 1000 packets and, behind it, the point-to-point device's
 * DropTailQueue of 100 packets (the queue disc stops while the device queue is full, so both fill).
 */
const NS3_BUFFER: LinkBuffer = { packets: 1100 };
/**
 * ns-3's NewReno start-up: its slow start adds one segment per ACK (TcpNewReno::SlowStart), and with an ACK every two
 * segments (DelAckCount 2) the window grows 1.5x per round trip. ns-3's Cubic counts acked segments as Linux does
 * (2x per round trip): the "Linux slow start" row is its counterpart.
 */
const NS3_TCP: TcpStartup = { ...LINUX_TCP_STARTUP, slowStartGrowth: 1.5 };
/** Base RTT: two access links and the bottleneck, both ways, seconds. */
const BASE_RTT_S = (2 * (2 * ACCESS_DELAY_NS + BOTTLENECK_DELAY_NS)) / 1e9;

/** FCT statistics of one run, ms (slowdowns unitless); null where a bucket is empty. */
export interface DumbbellStats {
  all: FctStats | null;
  small: FctStats | null;
  large: FctStats | null;
  slowdown: { p50: number; p95: number; p99: number } | null;
}

interface FctStats {
  n: number;
  mean: number;
  p50: number;
  p95: number;
  p99: number;
}

/** Nearest rank as ns-3's program computes it. */
export function pct(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * (sorted.length - 1) + 0.5))]!;
}

function fctStats(values: readonly number[]): FctStats | null {
  if (values.length === 0) return null;
  const s = [...values].sort((a, b) => a - b);
  const mean = s.reduce((a, x) => a + x, 0) / s.length;
  return { n: s.length, mean, p50: pct(s, 50), p95: pct(s, 95), p99: pct(s, 99) };
}

/** The dumbbell: s0..s3 - left - right - r0..r3. */
export function dumbbell() {
  const b = new TopologyBuilder("dumbbell", "bench/ns3-dumbbell.ts")
    .addNode({ id: "left" })
    .addNode({ id: "right" });
  b.addLink("left", "right", { capacityBps: BOTTLENECK_BPS, delayNs: BOTTLENECK_DELAY_NS });
  for (let i = 0; i < K; i++) {
    b.addNode({ id: `s${i}` }).addNode({ id: `r${i}` });
    b.addLink(`s${i}`, "left", { capacityBps: ACCESS_BPS, delayNs: ACCESS_DELAY_NS });
    b.addLink("right", `r${i}`, { capacityBps: ACCESS_BPS, delayNs: ACCESS_DELAY_NS });
  }
  return b.build();
}

/** One topocast run of the scenario: FCTs (ms) of all flows with their sizes. */
export function topocastDumbbell(
  load: number,
  seed: number,
  tcp: TcpStartup | null,
  queue: LinkBuffer | null = null,
): DumbbellStats {
  const topo = dumbbell();
  const routes = allPairsShortestPaths(topo, { weight: "delay" });
  const sim = new Simulator();
  const trace = new TraceBus();
  const net = new FlowNetwork(sim, topo, trace, { tcp, queue });
  const streams = new RandomStreams(seed);
  const pick = streams.stream("dumbbell/endpoints");
  const size = streams.stream("dumbbell/sizes");
  const gap = streams.stream("dumbbell/arrivals");
  const meanSize = (MAX_SIZE - MIN_SIZE) / Math.log(MAX_SIZE / MIN_SIZE);
  const lambda = (load * BOTTLENECK_BPS) / (8 * meanSize);
  let t = 0.05;
  const fct: number[] = [];
  const small: number[] = [];
  const large: number[] = [];
  const slow: number[] = [];
  trace.on("flowEnd", (r) => {
    const ms = r.fctNs / 1e6;
    fct.push(ms);
    (r.sizeBytes < SMALL_BYTES ? small : large).push(ms);
    slow.push(r.fctNs / 1e9 / (1.5 * BASE_RTT_S + (r.sizeBytes * 8) / BOTTLENECK_BPS));
  });
  for (let j = 0; j < FLOWS; j++) {
    const src = topo.node(`s${pick.int(K)}`);
    const dst = topo.node(`r${pick.int(K)}`);
    const sizeBytes = Math.floor(
      Math.exp(Math.log(MIN_SIZE) + size.uniform() * Math.log(MAX_SIZE / MIN_SIZE)),
    );
    sim.scheduleAt(Math.round(t * 1e9), () => {
      net.startFlow({ src, dst, sizeBytes, path: routes.path(src, dst)! });
    });
    t += gap.exponential(1 / lambda);
  }
  sim.run();
  const s = [...slow].sort((a, b) => a - b);
  return {
    all: fctStats(fct),
    small: fctStats(small),
    large: fctStats(large),
    slowdown: s.length > 0 ? { p50: pct(s, 50), p95: pct(s, 95), p99: pct(s, 99) } : null,
  };
}

/** Parses the `short` mode output of ns-3's dumbbell program. */
export function parseNs3Short(out: string): DumbbellStats {
  const fct = (name: string): FctStats | null => {
    const esc = name.replace(/[<>=]/g, (c) => `\\${c}`);
    const m = new RegExp(
      `FCT ${esc}\\s+n=\\s*(\\d+) mean=\\s*([\\d.naN-]+) p50=\\s*([\\d.naN-]+) p95=\\s*([\\d.naN-]+) p99=\\s*([\\d.naN-]+)`,
    ).exec(out);
    if (!m || Number(m[1]) === 0) return null;
    return { n: Number(m[1]), mean: Number(m[2]), p50: Number(m[3]), p95: Number(m[4]), p99: Number(m[5]) };
  };
  const sd = /slowdown\S* p50=([\d.]+) p95=([\d.]+) p99=([\d.]+)/.exec(out);
  return {
    all: fct("all"),
    small: fct("<100KB"),
    large: fct(">=100KB"),
    slowdown: sd ? { p50: Number(sd[1]), p95: Number(sd[2]), p99: Number(sd[3]) } : null,
  };
}

/** Builds ns-3's peer programs into a temporary directory; the dumbbell's path, or why not. */
export function buildNs3(): { dumbbell: string; dir: string } | { missing: string } {
  const built = buildNs3Peers();
  return "dir" in built ? { dumbbell: join(built.dir, "dumbbell"), dir: built.dir } : built;
}

/** Means over runs of each statistic (runs with an empty bucket are left out of that bucket's mean). */
function meanStats(runs: readonly DumbbellStats[]): DumbbellStats {
  const avg = (pick: (s: DumbbellStats) => FctStats | null): FctStats | null => {
    const xs = runs.map(pick).filter((x): x is FctStats => x !== null);
    if (xs.length === 0) return null;
    const m = (f: (x: FctStats) => number) => xs.reduce((a, x) => a + f(x), 0) / xs.length;
    return {
      n: m((x) => x.n),
      mean: m((x) => x.mean),
      p50: m((x) => x.p50),
      p95: m((x) => x.p95),
      p99: m((x) => x.p99),
    };
  };
  const sds = runs.map((r) => r.slowdown).filter((x) => x !== null);
  const ms = (f: (x: { p50: number; p95: number; p99: number }) => number) =>
    sds.reduce((a, x) => a + f(x), 0) / sds.length;
  return {
    all: avg((s) => s.all),
    small: avg((s) => s.small),
    large: avg((s) => s.large),
    slowdown: sds.length > 0 ? { p50: ms((x) => x.p50), p95: ms((x) => x.p95), p99: ms((x) => x.p99) } : null,
  };
}

export async function run(): Promise<BenchResult> {
  const ns3 = buildNs3();
  const engines: Record<string, (load: number, seed: number) => DumbbellStats> = {
    "fluid+tcp+queue (NewReno slow start)": (l, s) => topocastDumbbell(l, s, NS3_TCP, NS3_BUFFER),
    "fluid+tcp+queue (Linux slow start)": (l, s) => topocastDumbbell(l, s, LINUX_TCP_STARTUP, NS3_BUFFER),
    "fluid+tcp-startup": (l, s) => topocastDumbbell(l, s, LINUX_TCP_STARTUP),
    "fluid (plain max-min)": (l, s) => topocastDumbbell(l, s, null),
  };
  if ("dumbbell" in ns3) {
    for (const tcp of ["ns3::TcpNewReno", "ns3::TcpCubic"]) {
      engines[`ns-3 ${tcp.slice(8)}`] = (load, seed) =>
        parseNs3Short(
          execFileSync(
            ns3.dumbbell,
            [
              "--mode=short",
              `--k=${K}`,
              `--flows=${FLOWS}`,
              `--load=${load}`,
              `--seed=${seed}`,
              `--tcp=${tcp}`,
              "--flowmon=0",
            ],
            { encoding: "utf8" },
          ),
        );
    }
  }
  const rows: { load: number; engine: string; stats: DumbbellStats; wallSeconds: number }[] = [];
  for (const load of LOADS) {
    for (const [engine, runOne] of Object.entries(engines)) {
      const t0 = process.hrtime.bigint();
      const stats = meanStats(SEEDS.map((seed) => runOne(load, seed)));
      rows.push({ load, engine, stats, wallSeconds: Number(process.hrtime.bigint() - t0) / 1e9 });
    }
  }
  if ("dir" in ns3) rmSync(ns3.dir, { recursive: true, force: true });
  const f = (x: number | undefined) => (x === undefined ? "-" : x.toFixed(1));
  console.log(`load  ${"engine".padEnd(36)}  small p50/p99 ms   large p50/p99 ms   slowdown p50/p99`);
  for (const r of rows) {
    console.log(
      `${r.load.toFixed(1)}   ${r.engine.padEnd(36)}  ${f(r.stats.small?.p50).padStart(7)} ${f(r.stats.small?.p99).padStart(7)}` +
        `   ${f(r.stats.large?.p50).padStart(7)} ${f(r.stats.large?.p99).padStart(7)}` +
        `   ${f(r.stats.slowdown?.p50).padStart(6)} ${f(r.stats.slowdown?.p99).padStart(6)}`,
    );
  }
  return {
    workload:
      "dumbbell k=4, 100 Mbit/s 10 ms bottleneck, 1 Gbit/s 1 ms access; 300 flows log-uniform 10 kB-1 MB, Poisson " +
      "at load x bottleneck; FCT statistics averaged over seeds 1-5 (ns-3: FIFO 1000 packets, delayed ACK 2)",
    ns3: "dumbbell" in ns3 ? "ns-3 3.37 (Debian libns3-dev)" : ns3.missing,
    seeds: SEEDS,
    rows,
  };
}
