/**
 * The userspace wire (root, a kernel with VXLAN): the C relay (wire-relay.c) against the JavaScript relay. For
 * each relay program:
 * - one wire at full speed: a 2-node line, 1 ms each way, no rate limit; goodput of one TCP flow (iperf3 -t 3),
 *   its retransmissions, and the CPU time the two relays used during the flow (per Gbit carried); three flows;
 * - delay accuracy: RTT of 40 pings 50 ms apart over a 2-node line of 20 ms each way (40 ms configured), idle;
 * - the load that motivated the C relay: a 4-node ring of 100 Mbit/s (htb), 1 ms wires, every node sending
 *   50 Mbit/s of TCP to its clockwise neighbour (iperf3 -b 50M -t 3): goodput, retransmissions, relay CPU.
 * Relay CPU is utime + stime from /proc/<pid>/stat (10 ms ticks), summed over the run's relays.
 */
import { readFileSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import { type Capabilities, probe } from "../emulate/capabilities.ts";
import type { RelayMode } from "../emulate/relay-build.ts";
import { readState } from "../emulate/run-state.ts";
import { ProcessRunner } from "../emulate/runner.ts";
import { down, exec, spawnIn, type UpResult, up } from "../emulate/substrate.ts";
import { line, ring } from "../sim/substrate/generators.ts";
import type { Topology } from "../sim/substrate/topology.ts";
import type { BenchResult } from "./run.ts";

/** USER_HZ: the unit of utime and stime in /proc/<pid>/stat on Linux. */
const CLK_TCK = 100;

/** CPU seconds (user + system) used so far by the processes `pids`. */
function cpuSeconds(pids: readonly number[]): number {
  let ticks = 0;
  for (const pid of pids) {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" "); // fields from the 3rd (state) on
    ticks += Number(fields[11]) + Number(fields[12]);
  }
  return ticks / CLK_TCK;
}

const round = (x: number, digits = 3) => Number(x.toFixed(digits));

interface Flow {
  src: string;
  dst: string;
  /** iperf3 client options besides -c, -p, -t, -J. */
  args?: string[];
}

/** Runs the flows at once (iperf3, `seconds` each); returns goodput (bits/s) and retransmissions per flow. */
async function iperf(run: UpResult, flows: readonly Flow[], seconds: number) {
  const address = (id: string) => run.nodes.find((n) => n.id === id)!.addresses[0]!;
  const servers = flows.map((f, i) =>
    spawnIn(run.plan, f.dst, ["iperf3", "-s", "-1", "-B", address(f.dst), "-p", String(5201 + i)]),
  );
  try {
    await sleep(400);
    return await Promise.all(
      flows.map(async (f, i) => {
        const argv = ["iperf3", "-c", address(f.dst), "-p", String(5201 + i), "-t", String(seconds), "-J"];
        const r = await exec(run.runId, f.src, [...argv, ...(f.args ?? [])]);
        if (r.code !== 0)
          throw new Error(`iperf3 ${f.src} -> ${f.dst}: ${r.stdout.slice(0, 500)} ${r.stderr}`);
        const end = JSON.parse(r.stdout).end;
        return {
          goodputBps: end.sum_received.bits_per_second as number,
          retransmits: end.sum_sent.retransmits,
        };
      }),
    );
  } finally {
    for (const s of servers) s.kill();
  }
}

interface Case {
  relay: RelayMode;
  capabilities: Capabilities;
}

/** Builds `topo` with wires and the `relay` program, runs `fn` with the relays' pids, tears down. */
async function withRun<T>(
  topo: Topology,
  rate: "htb" | "none",
  c: Case,
  fn: (run: UpResult, relayPids: number[]) => Promise<T>,
): Promise<T> {
  const { relay, capabilities } = c;
  const run = await up(topo, { capabilities, settings: { delay: "wire", rate }, relay });
  try {
    if (run.mechanisms.relay?.kind !== relay)
      throw new Error(`asked for the ${relay} relay, got ${run.mechanisms.relay?.kind}`);
    return await fn(
      run,
      readState(run.runId)!.relays.map((r) => r.pid),
    );
  } finally {
    await down(run.runId);
  }
}

/** Full speed is noisy on two shared cores: three flows in a row, each reported, and the median by goodput. */
async function fullSpeed(c: Case) {
  return withRun(line(2, { capacityBps: 10e9, delayNs: 1_000_000 }), "none", c, async (run, pids) => {
    const runs = [];
    for (let i = 0; i < 3; i++) {
      const cpu0 = cpuSeconds(pids);
      const [flow] = await iperf(run, [{ src: "n0", dst: "n1" }], 3);
      const cpu = cpuSeconds(pids) - cpu0;
      runs.push({
        goodputMbps: round(flow!.goodputBps / 1e6, 1),
        retransmits: flow!.retransmits,
        relayCpuSeconds: round(cpu, 2),
        relayCpuSecondsPerGbit: round(cpu / ((flow!.goodputBps * 3) / 1e9), 3),
      });
    }
    const median = [...runs].sort((a, b) => a.goodputMbps - b.goodputMbps)[1]!;
    return { ...median, runs };
  });
}

async function delayAccuracy(c: Case) {
  return withRun(line(2, { capacityBps: 100e6, delayNs: 20_000_000 }), "htb", c, async (run) => {
    await sleep(1000); // the kernel frees the previous case's namespaces in the background meanwhile
    const r = await exec(run.runId, "n0", [
      "ping",
      "-c",
      "41",
      "-i",
      "0.05",
      "-W",
      "1",
      run.nodes[1]!.addresses[0]!,
    ]);
    const rtts = [...r.stdout.matchAll(/time=([\d.]+) ms/g)].map((m) => Number(m[1])).slice(1);
    const s = [...rtts].sort((a, b) => a - b);
    const q = (p: number) => s[Math.min(s.length - 1, Math.floor(p * s.length))]!;
    return {
      configuredRttMs: 40,
      pings: rtts.length,
      minMs: round(s[0]!),
      medianMs: round(q(0.5)),
      p90Ms: round(q(0.9)),
      maxMs: round(s.at(-1)!),
    };
  });
}

async function ringAtHalfLoad(c: Case) {
  const topo = ring(4, { capacityBps: 100e6, delayNs: 1_000_000 });
  return withRun(topo, "htb", c, async (run, pids) => {
    const ids = run.nodes.map((n) => n.id);
    const flows = ids.map((src, i) => ({ src, dst: ids[(i + 1) % ids.length]!, args: ["-b", "50M"] }));
    const cpu0 = cpuSeconds(pids);
    const t0 = performance.now();
    const r = await iperf(run, flows, 3);
    const wall = (performance.now() - t0) / 1e3;
    const cpu = cpuSeconds(pids) - cpu0;
    return {
      offeredMbps: 4 * 50,
      goodputMbps: round(r.reduce((a, f) => a + f.goodputBps, 0) / 1e6, 1),
      retransmits: r.reduce((a, f) => a + f.retransmits, 0),
      relayCpuSeconds: round(cpu, 2),
      relayCpuShareOfWallPerRelay: round(cpu / wall / pids.length, 3),
    };
  });
}

export async function run(): Promise<BenchResult> {
  if (process.getuid?.() !== 0) return { skipped: "needs root (network namespaces)" };
  const caps = await probe(new ProcessRunner());
  if (!caps.features.vxlan || !caps.tools.iperf3) return { skipped: "needs VXLAN and iperf3" };
  const relays: Record<string, unknown> = {};
  for (const relay of ["c", "js"] as const) {
    const c = { relay, capabilities: caps };
    relays[relay] = {
      fullSpeed: await fullSpeed(c),
      delayAccuracy: await delayAccuracy(c),
      ringAtHalfLoad: await ringAtHalfLoad(c),
    };
    console.error(JSON.stringify({ relay, ...(relays[relay] as object) }));
  }
  return {
    workload:
      "userspace wire, C vs JavaScript relay: one TCP flow over a 1 ms wire without rate limit (iperf3 -t 3); " +
      "ping RTT over 20 ms wires; a 4-node ring of 100 Mbit/s 1 ms wires with 4 x 50 Mbit/s TCP",
    machine: { kernel: caps.kernel, netem: caps.features.netem },
    relays,
  };
}
