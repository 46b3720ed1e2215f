/**
 * Fidelity of the packet model against ns-3 (issue 12, item 3): the dumbbell of bench/ns3-dumbbell.ts in ns-3 3.37,
 * in topocast's packet model and in its fluid model (with TCP start-up, as configs have
 * it by default), side by side in one process, so speed ratios are fair on a
 * shared machine. `npm run bench -- fidelity-ns3 [--mode=bulk|--mode=short]` (default both) writes
 * results/bench/fidelity-ns3.json (one mode alone: fidelity-ns3-bulk.json or fidelity-ns3-short.json).
 *
 * Scenario: k = 4 senders -> 100 Mbit/s, 10 ms bottleneck -> 4 receivers, access links 1 Gbit/s, 1 ms; every
 * device's FIFO 1100 packets (ns-3's FifoQueueDisc of 1000 and its device queue of 100).
 * - bulk: flow i from s_i to r_i starts at 10 i ms and sends until 10 s; goodput per flow = bytes its receiver holds
 *   in order / 10 s (ns-3: its PacketSink's bytes / duration); Jain's index over the four.
 * - short: 300 flows, log-uniform sizes in [10 kB, 1 MB], random sender and receiver, Poisson arrivals at 0.6 x the
 *   bottleneck rate from 50 ms. The flows are ns-3's own, flow by flow: a small C++ program runs the generation
 *   loop of dumbbell.cc (std::mt19937_64 with the seed) and topocast replays its list. FCT from start to the last
 *   byte at the receiver; nearest-rank percentiles as ns-3's program computes them.
 * Both TCPs, NewReno and CUBIC: ns-3 is asked for no SACK and classic recovery (`--ns3::TcpSocketBase::Sack=false
 * --ns3::TcpL4Protocol::RecoveryType=ns3::TcpClassicRecovery`; for CUBIC also `--ns3::TcpCubic::HyStart=false`),
 * which is what the packet model implements; the packet model runs with ns-3's settings (NS3_PACKET_TCP: per-ACK
 * window growth for NewReno, 1 s minimum RTO, 200 ms delayed ACK, 2-byte PPP headers; NS3_PACKET_CUBIC). ns-3's
 * defaults (SACK, PRR, HyStart) run as a reference row in bulk mode. Both modes also run the packet model with SACK
 * and PRR (NS3_PACKET_TCP_SACK, NS3_PACKET_CUBIC_SACK) against ns-3 with its default recovery (SACK, PRR; for CUBIC
 * with HyStart off): bulk `sackGoodputError`, `sackJainDifference`, short `sack`; and for CUBIC the packet model with
 * ns-3's HyStart (NS3_PACKET_CUBIC_DEFAULTS) against ns-3's defaults: bulk `hystartGoodputError`,
 * `hystartJainDifference`, short `hystart`. Short mode runs again with FIFOs of 200 packets (ns-3 `--qlen=100`), where
 * flows lose packets, with and without SACK: `smallFifos`, `smallFifosSack`.
 *
 * Speed: packet transmissions (packet-hops, ns-3's PhyTxEnd count) per wall second of the run, and per CPU
 * second (ns-3's user time from /usr/bin/time; ours from process.cpuUsage). The fluid model against ns-3 on the
 * short workload: ns-3's simulation run (`wall_run_s`, mean over its no-SACK and SACK runs) over the fluid model's,
 * warm (median of 5 runs after its first) and cold (its first run, JIT warm-up included); per CPU second ns-3's
 * whole process against the fluid model's warm run.
 */
import { execFileSync } from "node:child_process";
import { existsSync, rmSync, writeFileSync } from "node:fs";
import { loadavg } from "node:os";
import { join } from "node:path";
import { Simulator } from "../sim/kernel/simulator.ts";
import { TraceBus } from "../sim/metrics/trace.ts";
import { allPairsShortestPaths } from "../sim/substrate/routing.ts";
import type { Topology } from "../sim/substrate/topology.ts";
import { FlowNetwork, LINUX_TCP_STARTUP } from "../sim/transport/flow-network.ts";
import {
  NS3_PACKET_CUBIC,
  NS3_PACKET_CUBIC_DEFAULTS,
  NS3_PACKET_CUBIC_SACK,
  NS3_PACKET_TCP,
  NS3_PACKET_TCP_SACK,
  PacketNetwork,
  type PacketTcpOptions,
} from "../sim/transport/packet-network.ts";
import type { Transport } from "../sim/transport/transport.ts";
import { buildNs3, dumbbell, pct } from "./ns3-dumbbell.ts";
import type { BenchOptions, BenchResult } from "./run.ts";

const K = 4;
const DURATION_S = 10;
const FLOWS = 300;
const LOAD = 0.6;
const SEEDS = [1, 2, 3];
const SMALL_BYTES = 100_000;
/** Timed runs of the fluid model per seed after its first (see fluidShortTimed). */
const FLUID_REPEATS = 5;
const BUFFER = { packets: 1100 };
/**
 * The short workload with small FIFOs, where loss recovery matters: ns-3's FifoQueueDisc of 100 packets
 * (`--qlen=100`) and its device queue of 100, the packet model's FIFOs of 200 packets.
 */
const SMALL_QLEN = 100;
const SMALL_BUFFER = { packets: SMALL_QLEN + 100 };
/** ns-3 without SACK and with classic (RFC 6582) recovery: the loss recovery the packet model implements. */
const NS3_NO_SACK = [
  "--ns3::TcpSocketBase::Sack=false",
  "--ns3::TcpL4Protocol::RecoveryType=ns3::TcpClassicRecovery",
];

/** The two TCPs: ns-3's arguments (matched to the packet model, and its defaults) and the packet model's options. */
const VARIANTS: readonly {
  name: string;
  ns3: string[];
  ns3Defaults: string[];
  /** ns-3 with its default loss recovery (SACK, PRR) and otherwise what the packet model runs (HyStart off). */
  ns3Sack: string[];
  tcp: Readonly<PacketTcpOptions>;
  tcpSack: Readonly<PacketTcpOptions>;
  /** The packet model as ns-3's defaults run (SACK, PRR; CUBIC with HyStart). */
  tcpDefaults: Readonly<PacketTcpOptions>;
}[] = [
  {
    name: "NewReno",
    ns3: NS3_NO_SACK,
    ns3Defaults: [],
    ns3Sack: [],
    tcp: NS3_PACKET_TCP,
    tcpSack: NS3_PACKET_TCP_SACK,
    tcpDefaults: NS3_PACKET_TCP_SACK,
  },
  {
    name: "CUBIC",
    ns3: ["--tcp=ns3::TcpCubic", "--ns3::TcpCubic::HyStart=false", ...NS3_NO_SACK],
    ns3Defaults: ["--tcp=ns3::TcpCubic"],
    ns3Sack: ["--tcp=ns3::TcpCubic", "--ns3::TcpCubic::HyStart=false"],
    tcp: NS3_PACKET_CUBIC,
    tcpSack: NS3_PACKET_CUBIC_SACK,
    tcpDefaults: NS3_PACKET_CUBIC_DEFAULTS,
  },
];
type Variant = (typeof VARIANTS)[number];

/** The generation loop of ../shared/peers/ns3/dumbbell.cc (`--mode=short`), printing its flows. */
const FLOW_LIST_CC = `#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <random>
int main(int argc, char** argv) {
  unsigned k = 4, n = std::atoi(argv[2]); unsigned seed = std::atoi(argv[1]);
  double minSize = 10e3, maxSize = 1e6, load = std::atof(argv[3]), bnBps = 100e6;
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> U(0, 1);
  std::uniform_int_distribution<unsigned> pick(0, k - 1);
  double meanSize = (maxSize - minSize) / std::log(maxSize / minSize);
  std::exponential_distribution<double> gap(load * bnBps / (8.0 * meanSize));
  double t = 0.05;
  for (unsigned j = 0; j < n; ++j) {
    unsigned src = pick(rng); unsigned dst = pick(rng);
    unsigned long long size = (unsigned long long)std::exp(std::log(minSize) + U(rng) * std::log(maxSize / minSize));
    std::printf("%u %u %llu %.17g\\n", src, dst, size, t);
    t += gap(rng);
  }
}
`;

interface Flow {
  src: number;
  dst: number;
  sizeBytes: number;
  startS: number;
}

export interface EngineRun {
  /** Packet transmissions (packet-hops) of the run; null for the fluid model. */
  transmissions: number | null;
  wallSeconds: number;
  cpuSeconds: number | null;
}

export interface BulkResult extends EngineRun {
  goodputMbps: number[];
  aggregateMbps: number;
  jain: number;
  /** Bits the bottleneck carried per second (link-layer headers included), Mbit/s; null for the fluid model. */
  bottleneckMbps: number | null;
}

export interface ShortResult extends EngineRun {
  n: number;
  fct: { p50: number; p99: number; mean: number };
  small: { p50: number; p99: number };
}

function jain(xs: readonly number[]): number {
  const s = xs.reduce((a, x) => a + x, 0);
  return (s * s) / (xs.length * xs.reduce((a, x) => a + x * x, 0));
}

function timed<T>(f: () => T): { value: T; wallSeconds: number; cpuSeconds: number } {
  const c0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  const value = f();
  const wallSeconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const c = process.cpuUsage(c0);
  return { value, wallSeconds, cpuSeconds: (c.user + c.system) / 1e6 };
}

function makeNet(
  tcp: Readonly<PacketTcpOptions> | null,
  sim: Simulator,
  topo: Topology,
  trace: TraceBus,
  buffer: { packets: number } = BUFFER,
): Transport {
  // The fluid row is the fluid model as configs get it by default: max-min rates with TCP start-up, no queues.
  return tcp
    ? new PacketNetwork(sim, topo, trace, { tcp, buffer })
    : new FlowNetwork(sim, topo, trace, { tcp: LINUX_TCP_STARTUP });
}

/** The dumbbell, its shortest paths, a simulator, a trace bus and the transport (`tcp` as in {@link makeNet}). */
function setup(tcp: Readonly<PacketTcpOptions> | null, buffer = BUFFER) {
  const topo = dumbbell();
  const sim = new Simulator();
  const trace = new TraceBus();
  return {
    topo,
    routes: allPairsShortestPaths(topo, { weight: "delay" }),
    sim,
    trace,
    net: makeNet(tcp, sim, topo, trace, buffer),
  };
}

/**
 * Bulk mode in topocast: four long flows until 10 s; goodput from the bytes each receiver holds in order. `tcp`:
 * the packet model with these options, or null for the fluid model.
 */
export function topocastBulk(tcp: Readonly<PacketTcpOptions> | null): BulkResult {
  const { topo, routes, sim, net } = setup(tcp);
  const ids: number[] = [];
  for (let i = 0; i < K; i++) {
    const src = topo.node(`s${i}`);
    const dst = topo.node(`r${i}`);
    sim.scheduleAt(i * 10e6, () => {
      ids.push(net.startFlow({ src, dst, sizeBytes: 1e12, path: routes.path(src, dst)! }));
    });
  }
  const run = timed(() => sim.run(DURATION_S * 1e9));
  const bytes = ids.map((id) =>
    net instanceof PacketNetwork ? net.receivedBytes(id) : 1e12 - (net as FlowNetwork).remainingOf(id),
  );
  const goodputMbps = bytes.map((b) => (b * 8) / DURATION_S / 1e6);
  const bits = net.linkBitsUntilNow(new Float64Array(topo.linkCount));
  const bottleneck = topo.linksBetween(topo.node("left"), topo.node("right"))[0]!;
  return {
    goodputMbps,
    aggregateMbps: goodputMbps.reduce((a, x) => a + x, 0),
    jain: jain(goodputMbps),
    bottleneckMbps: net instanceof PacketNetwork ? bits[bottleneck]! / DURATION_S / 1e6 : null,
    transmissions: net instanceof PacketNetwork ? net.transmissions : null,
    wallSeconds: run.wallSeconds,
    cpuSeconds: run.cpuSeconds,
  };
}

function shortStats(fctMs: readonly number[], smallMs: readonly number[]) {
  const s = [...fctMs].sort((a, b) => a - b);
  const sm = [...smallMs].sort((a, b) => a - b);
  return {
    n: s.length,
    fct: { p50: pct(s, 50), p99: pct(s, 99), mean: s.reduce((a, x) => a + x, 0) / s.length },
    small: { p50: pct(sm, 50), p99: pct(sm, 99) },
  };
}

/** Short mode in topocast on ns-3's flow list (`tcp` as in {@link topocastBulk}). */
export function topocastShort(
  tcp: Readonly<PacketTcpOptions> | null,
  flows: readonly Flow[],
  buffer = BUFFER,
): ShortResult {
  const { topo, routes, sim, trace, net } = setup(tcp, buffer);
  const fct: number[] = [];
  const small: number[] = [];
  trace.on("flowEnd", (r) => {
    fct.push(r.fctNs / 1e6);
    if (r.sizeBytes < SMALL_BYTES) small.push(r.fctNs / 1e6);
  });
  for (const f of flows) {
    const src = topo.node(`s${f.src}`);
    const dst = topo.node(`r${f.dst}`);
    sim.scheduleAt(Math.round(f.startS * 1e9), () => {
      net.startFlow({ src, dst, sizeBytes: f.sizeBytes, path: routes.path(src, dst)! });
    });
  }
  const run = timed(() => sim.run());
  return {
    ...shortStats(fct, small),
    transmissions: net instanceof PacketNetwork ? net.transmissions : null,
    wallSeconds: run.wallSeconds,
    cpuSeconds: run.cpuSeconds,
  };
}

/** Runs ns-3's dumbbell under /usr/bin/time: its output (stderr joined) and its user + system seconds. */
function ns3Run(binary: string, args: readonly string[]): { out: string; cpuSeconds: number | null } {
  const out = execFileSync("sh", ["-c", '/usr/bin/time -f "cpu %U %S" "$0" "$@" 2>&1', binary, ...args], {
    encoding: "utf8",
  });
  const m = /cpu ([\d.]+) ([\d.]+)/.exec(out);
  return { out, cpuSeconds: m ? Number(m[1]) + Number(m[2]) : null };
}

function ns3Speed(out: string): { transmissions: number; wallSeconds: number } {
  const tx = /pkt_tx_all_devices=(\d+)/.exec(out);
  const wall = /wall_run_s=([\d.]+)/.exec(out);
  return { transmissions: Number(tx?.[1] ?? Number.NaN), wallSeconds: Number(wall?.[1] ?? Number.NaN) };
}

export function ns3Bulk(binary: string, extra: readonly string[]): BulkResult {
  const r = ns3Run(binary, ["--mode=bulk", `--k=${K}`, `--duration=${DURATION_S}`, "--flowmon=0", ...extra]);
  const m = /per-flow app goodput Mbit\/s \(sink bytes \/ duration\):([\d. ]+)/.exec(r.out);
  const goodputMbps = (m?.[1] ?? "").trim().split(/\s+/).map(Number);
  const bn = /pkt_tx_bottleneck=(\d+)/.exec(r.out);
  return {
    goodputMbps,
    aggregateMbps: goodputMbps.reduce((a, x) => a + x, 0),
    jain: jain(goodputMbps),
    // full-size packets of 1500 bytes plus PPP's 2 (ns-3 counts packets, not bytes)
    bottleneckMbps: bn ? (Number(bn[1]) * 1502 * 8) / DURATION_S / 1e6 : null,
    ...ns3Speed(r.out),
    cpuSeconds: r.cpuSeconds,
  };
}

/** ns-3's short mode: the FCT statistics it prints. */
export function ns3Short(binary: string, seed: number, extra: readonly string[]): ShortResult {
  const args = [
    "--mode=short",
    `--k=${K}`,
    `--flows=${FLOWS}`,
    `--load=${LOAD}`,
    `--seed=${seed}`,
    "--flowmon=0",
  ];
  const r = ns3Run(binary, [...args, ...extra]);
  const line = (name: string) => {
    const esc = name.replace(/[<>=]/g, (c) => `\\${c}`);
    const x = new RegExp(
      `FCT ${esc}\\s+n=\\s*(\\d+) mean=\\s*([\\d.]+) p50=\\s*([\\d.]+) p95=\\s*[\\d.]+ p99=\\s*([\\d.]+)`,
    ).exec(r.out);
    return { n: Number(x?.[1]), mean: Number(x?.[2]), p50: Number(x?.[3]), p99: Number(x?.[4]) };
  };
  const all = line("all");
  const small = line("<100KB");
  return {
    n: all.n,
    fct: { p50: all.p50, p99: all.p99, mean: all.mean },
    small: { p50: small.p50, p99: small.p99 },
    ...ns3Speed(r.out),
    cpuSeconds: r.cpuSeconds,
  };
}

function ns3Flows(dir: string, seed: number): Flow[] {
  const bin = join(dir, "flow-list");
  if (!existsSync(bin)) {
    writeFileSync(`${bin}.cc`, FLOW_LIST_CC);
    execFileSync("g++", ["-O2", "-std=c++17", "-o", bin, `${bin}.cc`]);
  }
  return execFileSync(bin, [String(seed), String(FLOWS), String(LOAD)], { encoding: "utf8" })
    .trim()
    .split("\n")
    .map((l) => {
      const [src, dst, size, start] = l.split(" ");
      return { src: Number(src), dst: Number(dst), sizeBytes: Number(size), startS: Number(start) };
    });
}

function ratio(a: number, b: number): number {
  return Math.round((a / b) * 1000) / 1000;
}

function speed(pk: EngineRun, ref: EngineRun) {
  return {
    speedRatioWall: ratio(pk.transmissions! / pk.wallSeconds, ref.transmissions! / ref.wallSeconds),
    speedRatioCpu:
      ref.cpuSeconds && pk.cpuSeconds
        ? ratio(pk.transmissions! / pk.cpuSeconds, ref.transmissions! / ref.cpuSeconds)
        : null,
  };
}

function bulkMode(binary: string | null, v: Variant): BenchResult {
  const rows: Record<string, BulkResult> = {};
  const refName = `ns-3 ${v.name} (no SACK, classic recovery)`;
  const pkName = `packet ${v.name} (ns-3 settings)`;
  if (binary) rows[refName] = ns3Bulk(binary, v.ns3);
  rows[pkName] = topocastBulk(v.tcp);
  rows["fluid (TCP start-up)"] = topocastBulk(null);
  if (binary)
    rows[`ns-3 ${v.name} (defaults: SACK, PRR${v.name === "CUBIC" ? ", HyStart" : ""})`] = ns3Bulk(
      binary,
      v.ns3Defaults,
    );
  const sackRefName = `ns-3 ${v.name} (SACK, PRR${v.name === "CUBIC" ? ", HyStart off" : ""})`;
  const sackName = `packet ${v.name} SACK + PRR (ns-3 settings)`;
  if (binary && v.name === "CUBIC") rows[sackRefName] = ns3Bulk(binary, v.ns3Sack);
  const sackRef = rows[v.name === "CUBIC" ? sackRefName : `ns-3 ${v.name} (defaults: SACK, PRR)`];
  rows[sackName] = topocastBulk(v.tcpSack);
  const defaultsRefName = `ns-3 ${v.name} (defaults: SACK, PRR${v.name === "CUBIC" ? ", HyStart" : ""})`;
  const defaultsName = `packet ${v.name} SACK + PRR + HyStart (ns-3 settings)`;
  if (v.name === "CUBIC") rows[defaultsName] = topocastBulk(v.tcpDefaults);
  const defaultsRef = rows[defaultsRefName];
  const pkDefaults = rows[defaultsName];
  const ref = rows[refName];
  const pk = rows[pkName]!;
  const pkSack = rows[sackName]!;
  return {
    rows,
    ...(ref && sackRef
      ? {
          compare: {
            goodputError: ratio(pk.aggregateMbps - ref.aggregateMbps, ref.aggregateMbps),
            jainDifference: Math.round((pk.jain - ref.jain) * 1e4) / 1e4,
            ...speed(pk, ref),
            sackGoodputError: ratio(pkSack.aggregateMbps - sackRef.aggregateMbps, sackRef.aggregateMbps),
            sackJainDifference: Math.round((pkSack.jain - sackRef.jain) * 1e4) / 1e4,
            ...(defaultsRef && pkDefaults
              ? {
                  hystartGoodputError: ratio(
                    pkDefaults.aggregateMbps - defaultsRef.aggregateMbps,
                    defaultsRef.aggregateMbps,
                  ),
                  hystartJainDifference: Math.round((pkDefaults.jain - defaultsRef.jain) * 1e4) / 1e4,
                }
              : {}),
          },
        }
      : {}),
  };
}

interface ShortRow {
  fctP50: number;
  fctP99: number;
  smallP50: number;
  smallP99: number;
  transmissions: number | null;
  wallSeconds: number;
  cpuSeconds: number | null;
  perSeed: ShortResult[];
}

function meanShort(rs: ShortResult[]): ShortRow {
  const mean = (f: (r: ShortResult) => number) => rs.reduce((a, r) => a + f(r), 0) / rs.length;
  return {
    fctP50: mean((r) => r.fct.p50),
    fctP99: mean((r) => r.fct.p99),
    smallP50: mean((r) => r.small.p50),
    smallP99: mean((r) => r.small.p99),
    transmissions: rs[0]!.transmissions === null ? null : mean((r) => r.transmissions!),
    wallSeconds: mean((r) => r.wallSeconds),
    cpuSeconds: rs.some((r) => r.cpuSeconds === null) ? null : mean((r) => r.cpuSeconds!),
    perSeed: rs,
  };
}

/** The fluid model on `flows` once cold (its first run in this process), then {@link FLUID_REPEATS} times. */
function fluidShortTimed(flows: readonly Flow[]): { result: ShortResult; cold: number; warm: EngineRun } {
  const result = topocastShort(null, flows);
  const reps = Array.from({ length: FLUID_REPEATS }, () => topocastShort(null, flows));
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
  return {
    result,
    cold: result.wallSeconds,
    warm: {
      transmissions: null,
      wallSeconds: median(reps.map((r) => r.wallSeconds)),
      cpuSeconds: median(reps.map((r) => r.cpuSeconds ?? Number.NaN)),
    },
  };
}

/** FCT errors of packet row `pk` against ns-3 row `ref`. */
function fctErrors(pk: ShortRow, ref: ShortRow) {
  return {
    fctP50Error: ratio(pk.fctP50 - ref.fctP50, ref.fctP50),
    fctP99Error: ratio(pk.fctP99 - ref.fctP99, ref.fctP99),
    smallP50Error: ratio(pk.smallP50 - ref.smallP50, ref.smallP50),
    smallP99Error: ratio(pk.smallP99 - ref.smallP99, ref.smallP99),
  };
}

/**
 * Short mode: per seed, ns-3 and the packet model without SACK (classic recovery), with SACK and PRR (ns-3's
 * recovery; CUBIC with HyStart off), for CUBIC also with ns-3's defaults (HyStart on), and the fluid model. The
 * fluid model's speed against ns-3: ns-3's simulation run (its `wall_run_s`; CPU: the whole process) over the fluid
 * model's run, cold (its first run in the process, JIT warm-up included) and warm (median of 5 runs).
 */
function shortMode(binary: string | null, dir: string | null, v: Variant): BenchResult {
  if (!binary || !dir) return { rows: {} };
  const cubic = v.name === "CUBIC";
  const names = {
    ref: `ns-3 ${v.name} (no SACK, classic recovery)`,
    pk: `packet ${v.name} (ns-3 settings)`,
    sackRef: `ns-3 ${v.name} (SACK, PRR${cubic ? ", HyStart off" : ""})`,
    sack: `packet ${v.name} SACK + PRR (ns-3 settings)`,
    defaultsRef: `ns-3 ${v.name} (defaults: SACK, PRR, HyStart)`,
    defaults: `packet ${v.name} SACK + PRR + HyStart (ns-3 settings)`,
    fluid: "fluid (TCP start-up)",
    smallRef: `ns-3 ${v.name} (no SACK, classic recovery), FIFOs of ${SMALL_BUFFER.packets} packets`,
    small: `packet ${v.name} (ns-3 settings), FIFOs of ${SMALL_BUFFER.packets} packets`,
    smallSackRef: `ns-3 ${v.name} (SACK, PRR${cubic ? ", HyStart off" : ""}), FIFOs of ${SMALL_BUFFER.packets} packets`,
    smallSack: `packet ${v.name} SACK + PRR (ns-3 settings), FIFOs of ${SMALL_BUFFER.packets} packets`,
  };
  const runs: Record<string, ShortResult[]> = {};
  const push = (name: string, r: ShortResult) => {
    runs[name] = [...(runs[name] ?? []), r];
  };
  const cold: number[] = [];
  const warm: EngineRun[] = [];
  for (const seed of SEEDS) {
    const flows = ns3Flows(dir, seed);
    push(names.ref, ns3Short(binary, seed, v.ns3));
    push(names.pk, topocastShort(v.tcp, flows));
    push(names.sackRef, ns3Short(binary, seed, v.ns3Sack));
    push(names.sack, topocastShort(v.tcpSack, flows));
    if (cubic) {
      push(names.defaultsRef, ns3Short(binary, seed, v.ns3Defaults));
      push(names.defaults, topocastShort(v.tcpDefaults, flows));
    }
    push(names.smallRef, ns3Short(binary, seed, [...v.ns3, `--qlen=${SMALL_QLEN}`]));
    push(names.small, topocastShort(v.tcp, flows, SMALL_BUFFER));
    push(names.smallSackRef, ns3Short(binary, seed, [...v.ns3Sack, `--qlen=${SMALL_QLEN}`]));
    push(names.smallSack, topocastShort(v.tcpSack, flows, SMALL_BUFFER));
    const fl = fluidShortTimed(flows);
    push(names.fluid, fl.result);
    cold.push(fl.cold);
    warm.push(fl.warm);
  }
  const rows = Object.fromEntries(Object.entries(runs).map(([name, rs]) => [name, meanShort(rs)]));
  const ref = rows[names.ref]!;
  const sackRef = rows[names.sackRef]!;
  const mean = (xs: number[]) => xs.reduce((a, x) => a + x, 0) / xs.length;
  const refs = [...runs[names.ref]!, ...runs[names.sackRef]!];
  const ns3Wall = mean(refs.map((r) => r.wallSeconds));
  const ns3Cpu = mean(refs.map((r) => r.cpuSeconds ?? Number.NaN));
  return {
    seeds: SEEDS,
    rows,
    compare: {
      ...fctErrors(rows[names.pk]!, ref),
      ...speed(rows[names.pk]!, ref),
      sack: fctErrors(rows[names.sack]!, sackRef),
      ...(cubic ? { hystart: fctErrors(rows[names.defaults]!, rows[names.defaultsRef]!) } : {}),
      smallFifos: fctErrors(rows[names.small]!, rows[names.smallRef]!),
      smallFifosSack: fctErrors(rows[names.smallSack]!, rows[names.smallSackRef]!),
      fluidSpeedupWall: ratio(ns3Wall, mean(warm.map((w) => w.wallSeconds))),
      fluidSpeedupWallCold: ratio(ns3Wall, mean(cold)),
      fluidSpeedupCpu: ratio(ns3Cpu, mean(warm.map((w) => w.cpuSeconds!))),
    },
  };
}

export async function run(opts: BenchOptions): Promise<BenchResult> {
  const mode = opts.mode ?? "both";
  if (!["both", "bulk", "short"].includes(mode)) {
    throw new Error(`fidelity-ns3: --mode "${mode}" is not one of both, bulk, short`);
  }
  const built = buildNs3();
  const binary = "dumbbell" in built ? built.dumbbell : null;
  const dir = "dir" in built ? built.dir : null;
  const loadBefore = loadavg();
  try {
    return {
      // One mode alone writes its own file, so running bulk and short apart never overwrites the other's numbers.
      ...(mode === "both" ? {} : { resultName: `fidelity-ns3-${mode}` }),
      workload:
        "dumbbell k=4, 100 Mbit/s 10 ms bottleneck, 1 Gbit/s 1 ms access, FIFOs of 1100 packets; bulk: 4 flows for 10 s; short: ns-3's own 300 flows (log-uniform 10 kB-1 MB, Poisson at 0.6 load), seeds 1-3",
      ns3: binary ? "ns-3 3.37 (Debian libns3-dev)" : (built as { missing: string }).missing,
      loadAverage: { before: loadBefore, after: loadavg() },
      ...(mode === "both" || mode === "bulk"
        ? { bulk: Object.fromEntries(VARIANTS.map((v) => [v.name, bulkMode(binary, v)])) }
        : {}),
      ...(mode === "both" || mode === "short"
        ? { short: Object.fromEntries(VARIANTS.map((v) => [v.name, shortMode(binary, dir, v)])) }
        : {}),
    };
  } finally {
    if (dir) rmSync(dir, { recursive: true, force: true });
  }
}
