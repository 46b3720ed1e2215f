/**
 * The emulator's single-host limit (issue 17), root: how large a substrate one machine can build, and how much
 * TCP it can carry over it, before the controller's ticks run late or connections fail.
 *
 * Ladder of substrates, each built by `up` and torn down by `down`, smallest first, stopping a family at its first
 * failure (or when `up` takes longer than `--max-up` seconds):
 * - k-ary fat trees (Al-Fares et al., SIGCOMM 2008): k = 4, 8, 16 (36, 208, 1,344 nodes; 48, 384, 3,072 links);
 * - Topology Zoo Kdl (754 nodes, 899 links; needs ../shared data, else left out), every link 1 Gbit/s;
 * each with links of no delay (veth + htb) and of 1 ms (userspace wires: VXLAN and one relay process per namespace,
 * on kernels without netem). Per substrate: up/down seconds, namespaces, relays and their resident memory, the
 * host's MemAvailable before and after `up`.
 *
 * Traffic steps on every substrate that came up: C concurrent TCP connections (iperf3, `-P` streams per client)
 * spread over the host pairs i -> i + H/2 (H hosts: a fat tree's hosts, every Kdl node; min(C, H/2) pairs, C/pairs
 * streams each), C = 16, 64, 256, 1024, 4096, each
 * stream capped at `--stream-rate` (default 10 Mbit/s), for `--seconds` (default 5). Meanwhile this process runs the
 * controller's kind of tick (a 100 ms timer, as emulate/emulation-clock.ts) and records how late each fires; a tick
 * is late when more than half a tick behind (EmulationOverhead.lateTicks' definition). Per step: connections asked
 * and carried, failed clients with their errors, aggregate goodput (what the wires relayed), retransmissions, relay
 * CPU seconds, tick lateness p50/p99/max and the late fraction. A step is past the limit when a connection fails,
 * more than 1% of ticks are late, or goodput is under 80% of what was asked; the last step within is the limit
 * (`connectionsWithinLimit`). The ladder itself stops only at a failed connection or short goodput
 * (`connectionsCarried`): on a shared host late ticks may come from others' load, which each step records.
 *
 * `npm run bench -- emulate-limits [--family fattree|kdl|all] [--k 4,8,16] [--max-k 16] [--delay-ms 0,1]
 * [--seconds 5] [--client-timeout 300] [--merge 1] [--smoke 1]` (root, iperf3). `--k` and `--delay-ms` pick fat trees and link kinds;
 * `--merge 1` keeps the snapshot's other substrates (each entry says when and at what load it was measured), so the
 * large ones can run apart. The snapshot, results/bench/emulate-limits.json, is rewritten after every substrate
 * (`complete: false` until the last), so a run cut short keeps what it measured; each substrate records its down
 * time and what it left behind (`leftAfterDown`, none expected). Each step records its wall time and its slowest
 * client's; an iperf3 client still running `--client-timeout` seconds (default 300) after it started is killed
 * and counts as a failed connection (iperf3 3.12 with 128 paced streams can take a minute to end on a loaded host). `--smoke`: fat tree k=4 only, 16 and 64
 * connections, 2 s: checks the script, measures nothing (results/bench/emulate-limits-smoke.json, not a snapshot
 * to commit). SIGTERM ends the ladder after the running step, tears down and writes what was measured. Run it
 * for numbers only on a quiet machine (it loads both cores and thousands of processes).
 */
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { loadavg } from "node:os";
import { resolve } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { type Capabilities, probe } from "../emulate/capabilities.ts";
import { readState } from "../emulate/run-state.ts";
import { ProcessRunner } from "../emulate/runner.ts";
import { down, listNamespaces, rootLinks, spawnIn, type UpResult, up } from "../emulate/substrate.ts";
import { writeJsonAtomic } from "../sim/io/atomic-write.ts";
import { fatTree } from "../sim/substrate/generators.ts";
import type { Topology } from "../sim/substrate/topology.ts";
import { readZooGraphml } from "../sim/substrate/zoo-graphml.ts";
import { kdlPath, uniformLinks } from "./flow-heavy.ts";
import type { BenchOptions, BenchResult } from "./run.ts";

const TICK_MS = 100;
/** Set by SIGTERM during the traffic ladder: the ladder ends after its step, tears down and writes the snapshot. */
const stop = { requested: false };
const round = (x: number, digits = 3) => Number(x.toFixed(digits));

interface Substrate {
  name: string;
  topo: Topology;
  /** Nodes that send and receive (a fat tree's hosts; every node of a WAN). */
  hosts: string[];
}

/** A comma-separated list of numbers from option `name`, each one of `allowed`. */
function listOption(
  opts: BenchOptions,
  name: string,
  fallback: readonly number[],
  allowed: readonly number[],
) {
  const raw = opts[name];
  if (raw === undefined) return fallback;
  const xs = raw.split(",").map(Number);
  for (const x of xs) {
    if (!allowed.includes(x))
      throw new Error(`--${name}: expected a list of ${allowed.join(", ")}; got ${raw}`);
  }
  return xs;
}

function substrates(opts: BenchOptions): Substrate[] {
  const family = opts.family ?? "all";
  if (!["all", "fattree", "kdl"].includes(family)) {
    throw new Error(`--family: expected fattree, kdl or all; got ${family}`);
  }
  const smoke = "smoke" in opts;
  const maxK = smoke ? 4 : Number(opts["max-k"] ?? 16);
  const ks = listOption(opts, "k", [4, 8, 16], [4, 8, 16]).filter((k) => k <= maxK);
  const delaysMs = listOption(opts, "delay-ms", smoke ? [1] : [0, 1], [0, 1]);
  const out: Substrate[] = [];
  for (const delayMs of delaysMs) {
    const links = { capacityBps: 1e9, delayNs: delayMs * 1e6 };
    if (family === "all" || family === "fattree") {
      for (const k of ks) {
        const topo = fatTree(k, {}, links);
        out.push({ name: `fatTree(k=${k}) ${delayMs} ms`, topo, hosts: hostsOf(topo) });
      }
    }
    if (!smoke && (family === "all" || family === "kdl") && existsSync(kdlPath())) {
      const topo = uniformLinks(readZooGraphml(kdlPath()), 1e9, links.delayNs);
      out.push({ name: `Kdl ${delayMs} ms`, topo, hosts: topo.nodes.map((n) => n.id) });
    }
  }
  return out;
}

function hostsOf(topo: Topology): string[] {
  return topo.nodes.map((n) => n.id).filter((id) => /-h\d+$/.test(id));
}

/** MemAvailable of the host, bytes. */
function memAvailable(): number {
  const m = /MemAvailable:\s+(\d+) kB/.exec(readFileSync("/proc/meminfo", "utf8"));
  return m ? Number(m[1]) * 1024 : Number.NaN;
}

/** Resident set (bytes) and CPU seconds (utime + stime, USER_HZ 100) of `pids`, summed; gone pids count 0. */
function procStats(pids: readonly number[]): { rssBytes: number; cpuSeconds: number } {
  let rssBytes = 0;
  let ticks = 0;
  for (const pid of pids) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      const f = stat.slice(stat.lastIndexOf(")") + 2).split(" "); // fields from the 3rd (state) on
      ticks += Number(f[11]) + Number(f[12]);
      rssBytes += Number(f[21]) * 4096;
    } catch {
      // exited
    }
  }
  return { rssBytes, cpuSeconds: ticks / 100 };
}

/** Lateness (ms) of each tick of a `TICK_MS` timer until `stop` resolves. */
async function tickLateness(stop: Promise<unknown>): Promise<number[]> {
  const late: number[] = [];
  let running = true;
  void stop.finally(() => {
    running = false;
  });
  let due = performance.now() + TICK_MS;
  while (running) {
    await sleep(Math.max(0, due - performance.now()));
    late.push(Math.max(0, performance.now() - due));
    due += TICK_MS;
    if (performance.now() > due) due = performance.now() + TICK_MS; // a late tick does not pile up the next ones
  }
  return late;
}

interface StepResult {
  connections: number;
  /** Wall time of the step (servers' start to the last client's end) and of its slowest client, s. */
  stepSeconds: number;
  slowestClientSeconds: number;
  carried: number;
  failedClients: number;
  errors: string[];
  goodputMbps: number;
  askedMbps: number;
  retransmits: number;
  relayCpuSeconds: number;
  tickLateMs: { p50: number; p99: number; max: number };
  lateTickFraction: number;
  /** The host's 1-minute load average as the step ended (other work on a shared host makes ticks late too). */
  loadAverage1m: number;
  withinLimit: boolean;
  /** No failed connection and goodput >= 80% of asked (the limit without the tick rule). */
  carriedAll: boolean;
}

/** One iperf3 client per pair with `streams` parallel streams, all at once, for `seconds`. */
async function trafficStep(
  run: UpResult,
  s: Substrate,
  connections: number,
  opts: { seconds: number; streamRateBps: number; timeoutSeconds: number; relayPids: number[] },
): Promise<StepResult> {
  const address = (id: string) => run.nodes.find((n) => n.id === id)!.addresses[0]!;
  const half = Math.floor(s.hosts.length / 2);
  // Spread over as many pairs as there are (the host's load, not one path's), at most 128 streams per client.
  const pairs = Math.min(half, connections);
  const streams = Math.ceil(connections / pairs);
  const servers = Array.from({ length: pairs }, (_, i) =>
    spawnIn(run.plan, s.hosts[i + half]!, ["iperf3", "-s", "-1", "-B", address(s.hosts[i + half]!)]),
  );
  const cpu0 = procStats(opts.relayPids).cpuSeconds;
  const t0 = performance.now();
  try {
    await sleep(500);
    const clients = Array.from({ length: pairs }, (_, i) =>
      iperfClient(run, s.hosts[i]!, address(s.hosts[i + half]!), streams, opts),
    );
    const all = Promise.all(clients);
    const [results, late] = await Promise.all([all, tickLateness(all)]);
    const ok = results.filter((r) => r.ok);
    const goodputBps = ok.reduce((a, r) => a + r.goodputBps, 0);
    const askedBps = pairs * streams * opts.streamRateBps;
    const sorted = [...late].sort((a, b) => a - b);
    const q = (p: number) =>
      round(sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? 0, 1);
    const lateTickFraction = late.filter((x) => x > TICK_MS / 2).length / Math.max(1, late.length);
    const failed = results.length - ok.length;
    return {
      connections: pairs * streams,
      stepSeconds: round((performance.now() - t0) / 1e3, 1),
      slowestClientSeconds: Math.max(...results.map((r) => r.elapsedSeconds)),
      carried: ok.reduce((a, r) => a + r.streams, 0),
      failedClients: failed,
      errors: [...new Set(results.flatMap((r) => (r.ok ? [] : [r.error])))].slice(0, 5),
      goodputMbps: round(goodputBps / 1e6, 1),
      askedMbps: round(askedBps / 1e6, 1),
      retransmits: ok.reduce((a, r) => a + r.retransmits, 0),
      relayCpuSeconds: round(procStats(opts.relayPids).cpuSeconds - cpu0, 2),
      tickLateMs: { p50: q(0.5), p99: q(0.99), max: q(1) },
      lateTickFraction: round(lateTickFraction, 4),
      loadAverage1m: round(loadavg()[0]!, 2),
      withinLimit: failed === 0 && lateTickFraction <= 0.01 && goodputBps >= 0.8 * askedBps,
      carriedAll: failed === 0 && goodputBps >= 0.8 * askedBps,
    };
  } finally {
    for (const p of servers) p.kill();
  }
}

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

type ClientResult = { elapsedSeconds: number } & (
  | { ok: true; streams: number; goodputBps: number; retransmits: number }
  | { ok: false; error: string }
);

function iperfClient(
  run: UpResult,
  src: string,
  dst: string,
  streams: number,
  opts: { seconds: number; streamRateBps: number; timeoutSeconds: number },
): Promise<ClientResult> {
  const argv = ["iperf3", "-c", dst, "-P", String(streams), "-t", String(opts.seconds)];
  argv.push("-b", String(opts.streamRateBps), "-J", "--connect-timeout", "3000");
  const t0 = performance.now();
  return new Promise((resolveClient) => {
    const done = (r: DistributiveOmit<ClientResult, "elapsedSeconds">) =>
      resolveClient({ ...r, elapsedSeconds: round((performance.now() - t0) / 1e3, 1) } as ClientResult);
    const p = spawnIn(run.plan, src, argv);
    let out = "";
    let timedOut = false;
    // A client that has not ended by the timeout is a failed connection, not a hung bench.
    const timer = setTimeout(() => {
      timedOut = true;
      p.kill("SIGKILL");
    }, opts.timeoutSeconds * 1e3);
    p.stdout?.setEncoding("utf8").on("data", (d: string) => {
      out += d;
    });
    p.on("close", (code) => {
      clearTimeout(timer);
      if (timedOut)
        return done({ ok: false, error: `no result ${opts.timeoutSeconds} s after start (killed)` });
      try {
        const j = JSON.parse(out);
        if (code !== 0 || j.error) return done({ ok: false, error: String(j.error ?? `exit ${code}`) });
        done({
          ok: true,
          streams: j.end.streams.length,
          goodputBps: j.end.sum_received.bits_per_second,
          retransmits: j.end.sum_sent.retransmits ?? 0,
        });
      } catch {
        done({ ok: false, error: `exit ${code}: ${out.slice(0, 200)}` });
      }
    });
  });
}

/** Builds `s`, runs the traffic ladder until a step is past the limit, tears down. */
async function measure(s: Substrate, capabilities: Capabilities, opts: BenchOptions) {
  const smoke = "smoke" in opts;
  const seconds = Number(opts.seconds ?? (smoke ? 2 : 5));
  const streamRateBps = Number(opts["stream-rate"] ?? 10e6);
  const timeoutSeconds = Number(opts["client-timeout"] ?? 300);
  const memBefore = memAvailable();
  const measuredAt = new Date().toISOString();
  const loadAverageAtUp = loadavg().map((x) => round(x, 2));
  const run = await up(s.topo, { capabilities, runner: new ProcessRunner() });
  let measured: SubstrateResult & { upSeconds?: number } = { substrate: s.name };
  let downSeconds = Number.NaN;
  let leftAfterDown: string[] = [];
  try {
    const relayPids = (readState(run.runId)?.relays ?? []).map((r) => r.pid);
    const built = {
      substrate: s.name,
      measuredAt,
      loadAverageAtUp,
      runId: run.runId,
      nodes: s.topo.nodeCount,
      links: s.topo.linkCount / 2,
      hosts: s.hosts.length,
      linkKind: run.plan.links[0]?.kind,
      upSeconds: round(run.timings.totalMs / 1e3, 2),
      upStagesMs: run.timings,
      relays: relayPids.length,
      relayRssMB: round(procStats(relayPids).rssBytes / 2 ** 20, 1),
      memAvailableDropMB: round((memBefore - memAvailable()) / 2 ** 20, 1),
    };
    console.error(JSON.stringify(built));
    const steps: StepResult[] = [];
    for (const c of smoke ? [16, 64] : [16, 64, 256, 1024, 4096]) {
      if (c > (s.hosts.length / 2) * 128) break; // iperf3 caps -P at 128 streams per client
      const step = await trafficStep(run, s, c, { seconds, streamRateBps, timeoutSeconds, relayPids });
      console.error(JSON.stringify({ substrate: s.name, ...step }));
      steps.push(step);
      // Late ticks alone do not end the ladder: on a shared host they may come from others' load (each step
      // records the load average), so the ladder goes on while connections are carried.
      if (!step.carriedAll || stop.requested) break;
    }
    const limit = steps.filter((x) => x.withinLimit).at(-1)?.connections ?? 0;
    const carried = steps.filter((x) => x.carriedAll).at(-1)?.connections ?? 0;
    measured = {
      ...built,
      steps,
      connectionsWithinLimit: limit,
      connectionsCarried: carried,
      ...(stop.requested ? { stoppedBySignal: true } : {}),
    };
  } finally {
    const t0 = performance.now();
    await down(run.runId);
    downSeconds = round((performance.now() - t0) / 1e3, 1);
    // What the run left: its namespaces and root-side links (down() already insists on none; this records it).
    const runner = new ProcessRunner();
    leftAfterDown = [...(await listNamespaces(runner, run.runId)), ...(await rootLinks(runner, run.runId))];
    console.error(`${s.name}: down in ${downSeconds} s, left ${leftAfterDown.length} objects`);
  }
  return { ...measured, downSeconds, leftAfterDown };
}

interface SubstrateResult {
  substrate: string;
  [key: string]: unknown;
}

/**
 * The previous snapshot's substrates that this run does not measure again (`--merge 1`), each marked with when
 * and at what load it was measured when the old entry does not say so itself.
 */
function keptResults(path: string, now: readonly Substrate[]): SubstrateResult[] {
  if (!existsSync(path)) return [];
  const prev = JSON.parse(readFileSync(path, "utf8")) as {
    date?: string;
    hostLoad?: string;
    results?: SubstrateResult[];
  };
  return (prev.results ?? [])
    .filter((r) => !now.some((s) => s.name === r.substrate))
    .map((r) => ({ measuredAt: prev.date, ...(prev.hostLoad ? { hostLoad: prev.hostLoad } : {}), ...r }));
}

export async function run(opts: BenchOptions): Promise<BenchResult> {
  if (process.getuid?.() !== 0) return { skipped: "needs root (network namespaces)" };
  if (spawnSync("iperf3", ["--version"]).status !== 0) return { skipped: "needs iperf3" };
  const capabilities = await probe(new ProcessRunner());
  const maxUpSeconds = Number(opts["max-up"] ?? 600);
  const smoke = "smoke" in opts;
  const resultName = smoke ? "emulate-limits-smoke" : "emulate-limits";
  const path = resolve(import.meta.dirname ?? ".", "../results/bench", `${resultName}.json`);
  const list = substrates(opts);
  const kept = opts.merge === "1" ? keptResults(path, list) : [];
  const results: SubstrateResult[] = [];
  const failedFamilies = new Set<string>();
  const record = (complete: boolean): BenchResult => ({
    resultName,
    complete,
    workload:
      "fat trees k=4,8,16 and Topology Zoo Kdl at 1 Gbit/s, links of 0 and 1 ms (wires); per substrate up/down and memory, then 16..4096 concurrent TCP connections (iperf3 -P, 10 Mbit/s each) with a 100 ms tick timer beside",
    limitRule:
      "past the limit: a failed connection, > 1% of ticks late by more than half a tick, or goodput < 80% of asked",
    capabilities: capabilities.features,
    smoke,
    results: [...kept, ...results],
  });
  // SIGTERM while traffic runs: finish the step, tear down, write, end (up() handles a signal while it builds).
  process.on("SIGTERM", () => {
    stop.requested = true;
  });
  for (const s of list) {
    if (stop.requested) break;
    const family = s.name.replace(/\(.*\)/, "");
    if (failedFamilies.has(family)) continue;
    try {
      const r = await measure(s, capabilities, opts);
      results.push(r);
      if ((r.upSeconds ?? 0) > maxUpSeconds) failedFamilies.add(family);
    } catch (e) {
      results.push({
        substrate: s.name,
        measuredAt: new Date().toISOString(),
        nodes: s.topo.nodeCount,
        failed: String((e as Error).message).slice(0, 500),
      });
      failedFamilies.add(family);
    }
    // The snapshot so far, so that a run cut short (a large substrate takes many minutes) still leaves its numbers.
    writeJsonAtomic(path, { name: "emulate-limits", date: new Date().toISOString(), ...record(false) });
  }
  return record(true);
}
