/**
 * The emulation engine: one policy of a {@link Scenario} on Linux namespaces, measured like the simulator measures
 * it (same {@link PolicyRunResult}: flow statistics, link utilization series, control overhead).
 *
 * What runs, per policy:
 * 1. The substrate ({@link withSubstrate}): the scenario's topology scaled (below), built fresh, torn down after.
 * 2. The flows: exactly the simulator's flows ({@link scheduledFlows}: the same Poisson sources drawing from the same
 *    named streams, so flow ids, endpoints, sizes and arrival times equal `topocast run`'s), cut at the emulated
 *    window, replayed by one traffic agent per node (emulate/agent.ts) as real TCP connections.
 * 3. The policy, unchanged: a control-loop policy gets the same {@link ControllerContext} as in the simulator and
 *    acts through the {@link EmulationControlPlane}; a static one (shortest-path, ...) is installed once as per-pair
 *    routes where its path differs from the substrate's least-delay routes.
 * 4. The observation, every control interval: per-pair bytes and flows from the agents' `start` reports, per-link
 *    utilization and drops from `ip -s -j link` counters in every namespace; the same {@link Observation} shape.
 *
 * Scaling (dimensional analysis; c = timeCompression, r = rateScale): link rates x r; link delays / c; wall time =
 * simulated time / c (control and sampling intervals, flow start times, failures); flow sizes x r / c (at least one
 * byte). A flow's transmission time size/rate and its propagation delay then both shrink by exactly c, so its ideal
 * FCT in simulated time and every link's utilization are those of the simulation. Results are reported in simulated
 * units: FCT = measured wall FCT x c, sizes and link bits as the simulation's (measured bytes x c / r), capacities
 * unscaled. What does not scale: packets (MTU, TCP's initial window, headers) and the kernel's own latencies;
 * those are what the sim-vs-emulation comparison shows.
 *
 * Time resolution: the engine ticks every sampling interval (metrics.interval / c of wall time); counters, control
 * steps and failures happen on ticks, control steps on the first tick at or after each control instant. A tick
 * that starts late (the machine is busy) is counted in {@link EmulationOverhead.lateTicks}.
 */

import type { ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type {
  ControlPlane,
  LinkStats,
  NodePath,
  Observation,
  Pair,
  Policy,
  QosSpec,
  VirtualLinkInfo,
  VirtualLinkOptions,
} from "../models/policies/types.ts";
import { pairKey } from "../models/policies/types.ts";
import { PoissonFlowSource } from "../models/workload/poisson-flows.ts";
import { controllerContext } from "../sim/engine/controller.ts";
import {
  type PolicyRunResult,
  type PolicySummary,
  type TimeseriesRow,
  timeseriesRow,
} from "../sim/engine/run.ts";
import type { EnginePolicy, Scenario } from "../sim/engine/types.ts";
import { RandomStreams } from "../sim/kernel/rng.ts";
import { Simulator } from "../sim/kernel/simulator.ts";
import { FlowStatsCollector, percentileNearestRank } from "../sim/metrics/flow-stats.ts";
import { LinkUtilizationSampler } from "../sim/metrics/link-sampler.ts";
import { TraceBus } from "../sim/metrics/trace.ts";
import { allPairsShortestPaths, type Path } from "../sim/substrate/routing.ts";
import type { Link, Topology } from "../sim/substrate/topology.ts";
import { Topology as TopologyClass } from "../sim/substrate/topology.ts";
import { type AgentFlow, type AgentReport, startAgent } from "./agent.ts";
import type { Capabilities } from "./capabilities.ts";
import { ipArgv, linkStats, tcArgv } from "./commands.ts";
import { EmulationControlPlane } from "./control-plane.ts";
import { EmulationError } from "./errors.ts";
import type { EmulationSettings, Plan } from "./plan.ts";
import { readState, runDir } from "./run-state.ts";
import { ProcessRunner, parallel, type Runner } from "./runner.ts";
import { type UpResult, withSubstrate } from "./substrate.ts";

/** Thrown when the run is aborted (SIGINT) before traffic started: there is nothing to report for the policy. */
export class EmulationInterrupted extends EmulationError {
  constructor() {
    super("interrupted before traffic started");
  }
}

/** The `emulation` config section, resolved (durations in simulated ns). */
export interface EmulationRunSettings {
  timeCompression: number;
  rateScale: number;
  /** Emulate only [0, durationNs) of the traffic window; null: all of it. */
  durationNs: number | null;
  /** Wait at most this long after the window for flows to finish, simulated ns. */
  drainNs: number;
  delay: NonNullable<EmulationSettings["delay"]>;
  rate: NonNullable<EmulationSettings["rate"]>;
  addressBlock: string;
  /** TCP port of the traffic agents. */
  port: number;
  /** Buffer of each link end as queueing delay at its rate, simulated ns; null: 1000 packets. */
  queueNs: number | null;
  allowDegrade: boolean;
  maxFlows: number;
  /** Measure every link's achieved rate with iperf3 before the first policy. */
  checkRates: boolean;
}

/** One flow of the workload, as the simulator generates it (simulated units, node indices). */
export interface ScheduledFlow {
  /** The simulator's flow id (arrival order over the run). */
  id: number;
  src: number;
  dst: number;
  sizeBytes: number;
  startNs: number;
  tag: number;
}

/** Emulation-specific cost of a run, in summary.json's `overhead` (wall-clock latencies, not deterministic). */
export interface EmulationOverhead {
  controlActions: number;
  actions: Record<string, number>;
  errors: Record<string, number>;
  /** Calls of verbs this engine does not implement yet, by verb (the policy saw UnsupportedInEmulationError). */
  unsupported: Record<string, number>;
  /** Measured latency of each verb's successful calls, ms: count, median, 95th percentile, max. */
  actionLatencyMs: Record<string, { n: number; median: number; p95: number; max: number }>;
  /** Ticks that started more than half a tick late, of all ticks. */
  lateTicks: number;
  ticks: number;
  /** Flows that failed at the agent (connection refused, reset), by error message. */
  flowErrors: Record<string, number>;
  /** Median lateness of flow starts behind their schedule, wall ms. */
  medianStartLateMs: number | null;
  /** Packets dropped at link egress (full FIFOs) over the run, all links. */
  egressDrops?: number;
  /** Control instants skipped because the policy was still deciding the previous one. */
  skippedControlSteps?: number;
  /** UDP datagrams dropped on receive in the run's namespaces (userspace wires: packets the link lost). */
  udpReceiveErrors?: number;
}

export interface EmulatePolicyOptions {
  capabilities: Capabilities;
  runner?: Runner;
  verbose?: boolean;
  /** Run-state directory (tests). */
  dir?: string;
  /** Progress: simulated time reached and the end of the emulated window, ns. */
  onProgress?: (nowNs: number, endNs: number) => void;
  /** Called once the substrate is up (run id, timings). */
  onUp?: (up: UpResult) => void;
  /**
   * Ends the run early when aborted (SIGINT): the tick loop stops, the flows finished so far are the results, and
   * the substrate is torn down as usual. Without it, a signal tears down and exits (see withSubstrate).
   */
  signal?: AbortSignal;
  /** Called with the measured link delays, before traffic starts. */
  onLinkCheck?: (links: LinkCheck[]) => void;
  /** Measure every link's achieved rate with iperf3 before traffic (a few seconds per link). */
  checkRates?: boolean;
  onRateCheck?: (links: RateCheck[]) => void;
}

/** The end of the emulated window, simulated ns. */
export function emulatedWindowNs(scenario: Scenario, s: EmulationRunSettings): number {
  const horizon = scenario.intervals.reduce((m, iv) => Math.max(m, iv.endNs), 0);
  return s.durationNs === null ? horizon : Math.min(horizon, s.durationNs);
}

/**
 * The scenario's flows that arrive before `untilNs`, exactly as `runPolicy` generates them (same sources, same
 * named streams `flows/<src>-><dst>`, same arrival order and ids).
 */
export function scheduledFlows(scenario: Scenario, untilNs: number): ScheduledFlow[] {
  const sim = new Simulator();
  const out: ScheduledFlow[] = [];
  const sink = {
    topology: scenario.topology,
    startFlow: (spec: { src: number; dst: number; sizeBytes: number; tag?: number }): number => {
      out.push({
        id: out.length,
        src: spec.src,
        dst: spec.dst,
        sizeBytes: spec.sizeBytes,
        startNs: sim.now,
        tag: spec.tag ?? 0,
      });
      return out.length - 1;
    },
  };
  const streams = new RandomStreams(scenario.seed, scenario.run);
  const noPath: Path = [];
  for (const iv of scenario.intervals) {
    sim.scheduleAt(iv.startNs, () => {
      new PoissonFlowSource(sim, sink, {
        demands: iv.demands,
        sizes: scenario.flowSizes,
        streams,
        route: () => noPath,
        untilNs: iv.endNs,
      }).start();
    });
  }
  sim.run(untilNs);
  return out.filter((f) => f.startNs < untilNs);
}

/** The topology as emulated: capacities x rateScale, delays / timeCompression (same nodes, links, ids, order). */
export function scaleTopology(topo: Topology, rateScale: number, timeCompression: number): Topology {
  if (rateScale === 1 && timeCompression === 1) return topo;
  const links: Link[] = topo.links.map((l) =>
    Object.freeze({
      ...l,
      capacityBps: l.capacityBps * rateScale,
      delayNs: Math.round(l.delayNs / timeCompression),
    }),
  );
  return new TopologyClass(
    topo.name,
    `${topo.source} (rates x ${rateScale}, delays / ${timeCompression})`,
    topo.nodes,
    links,
  );
}

/** The emulated size of a flow of `sizeBytes` (simulated): x rateScale / timeCompression, at least 1 byte. */
export function emulatedBytes(sizeBytes: number, s: EmulationRunSettings): number {
  return Math.max(1, Math.round((sizeBytes * s.rateScale) / s.timeCompression));
}

/**
 * Static policies can only be emulated per pair (Linux routes by destination, here by pair): the pairs whose
 * flows a policy spreads over more than one path (ECMP's per-flow hashing), as "src->dst" keys.
 */
export function perFlowPairs(scenario: Scenario, policy: EnginePolicy, probes = 8): string[] {
  const topo = scenario.topology;
  const routing = policy.create({ topology: topo, seed: scenario.seed, run: scenario.run });
  const out: string[] = [];
  for (const u of topo.nodes)
    for (const v of topo.nodes) {
      if (u.index === v.index) continue;
      const first = routing.route(u.index, v.index, 0)?.join(",");
      for (let k = 1; k < probes; k++) {
        if (routing.route(u.index, v.index, k)?.join(",") !== first) {
          out.push(pairKey(u.id, v.id));
          break;
        }
      }
    }
  return out;
}

/** Rates in a policy's calls are in simulated bits/s: scale them into the emulated network's. */
class ScaledControlPlane implements ControlPlane {
  constructor(
    private readonly ctl: EmulationControlPlane,
    private readonly rateScale: number,
    /** Active flows that started on a virtual link, by its id. */
    private readonly activeFlows: (vl: string) => number,
  ) {}
  createVirtualLink(src: string, dst: string, opts: VirtualLinkOptions = {}): Promise<string> {
    const o = { ...opts };
    if (o.rateBps !== undefined) o.rateBps *= this.rateScale;
    return this.ctl.createVirtualLink(src, dst, o);
  }
  removeVirtualLink(id: string): Promise<void> {
    return this.ctl.removeVirtualLink(id);
  }
  setRoute(pair: Pair, path: NodePath | null): Promise<void> {
    return this.ctl.setRoute(pair, path);
  }
  mirror(pair: Pair, path: NodePath | null): Promise<void> {
    return this.ctl.mirror(pair, path);
  }
  setQos(pair: Pair, qos: QosSpec | null): Promise<void> {
    return this.ctl.setQos(
      pair,
      qos && qos.rateBps !== undefined ? { ...qos, rateBps: qos.rateBps * this.rateScale } : qos,
    );
  }
  setFirewall(rule: Parameters<ControlPlane["setFirewall"]>[0]): Promise<void> {
    return this.ctl.setFirewall(rule);
  }
  probe(path: NodePath): Promise<void> {
    return this.ctl.probe(path);
  }
  paths(src: string, dst: string, k: number): NodePath[] {
    return this.ctl.paths(src, dst, k);
  }
  defaultPath(src: string, dst: string): NodePath | null {
    return this.ctl.defaultPath(src, dst);
  }
  /** Virtual links in simulated units, with the pair's active flows. */
  virtualLinks(): VirtualLinkInfo[] {
    return this.ctl.virtualLinks().map((v) => ({
      ...v,
      rateBps: v.rateBps === null ? null : v.rateBps / this.rateScale,
      activeFlows: this.activeFlows(v.id),
    }));
  }
}

interface DevRef {
  /** Directed link index (simulated topology). */
  link: number;
  netns: string;
  dev: string;
}

/** The egress device of every directed link: the link plan's end at the link's source. */
function egressDevices(plan: Plan, topo: Topology): DevRef[] {
  const out: DevRef[] = [];
  for (const lp of plan.links) {
    for (const [i, id] of lp.ids.entries()) {
      if (id === null) continue;
      const end = i === 0 ? lp.a : lp.b;
      out.push({ link: topo.link(id), netns: plan.nodes[end.node]!.netns, dev: end.dev });
    }
  }
  return out.sort((a, b) => a.link - b.link);
}

interface IpLinkStats {
  ifname: string;
  stats64?: { tx?: { bytes?: number; dropped?: number } };
}

interface TcQdiscStats {
  dev?: string;
  root?: boolean;
  drops?: number;
}

/**
 * Reads tx bytes and dropped packets of every egress device: `ip -s -j link` (bytes, device drops) and
 * `tc -s -j qdisc` (the root qdisc's drops: a full FIFO) per namespace, namespaces in parallel.
 */
async function readCounters(
  runner: Runner,
  devs: readonly DevRef[],
  bytes: Float64Array,
  drops: Float64Array,
): Promise<void> {
  const byNs = new Map<string, DevRef[]>();
  for (const d of devs) {
    const list = byNs.get(d.netns) ?? [];
    list.push(d);
    byNs.set(d.netns, list);
  }
  await parallel([...byNs.keys()], async (ns) => {
    const [r, q] = await Promise.all([
      runner.run(ipArgv(linkStats(), ns)),
      runner.run(tcArgv(["-s", "-j", "qdisc", "show"], ns), { check: false }),
    ]);
    const rows = JSON.parse(r.stdout) as IpLinkStats[];
    const by = new Map(rows.map((x) => [x.ifname, x]));
    const qdiscDrops = new Map<string, number>();
    if (q.code === 0 && q.stdout.trim() !== "") {
      for (const x of JSON.parse(q.stdout) as TcQdiscStats[])
        if (x.root && x.dev !== undefined) qdiscDrops.set(x.dev, x.drops ?? 0);
    }
    for (const d of byNs.get(ns)!) {
      const s = by.get(d.dev)?.stats64?.tx;
      bytes[d.link] = s?.bytes ?? bytes[d.link]!;
      drops[d.link] = (s?.dropped ?? 0) + (qdiscDrops.get(d.dev) ?? 0);
    }
  });
}

function sleepUntil(t: bigint): Promise<void> {
  const ms = Number(t - process.hrtime.bigint()) / 1e6;
  return ms > 0 ? new Promise((r) => setTimeout(r, ms)) : Promise.resolve();
}

function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}

/**
 * Emulates one policy of the scenario on its own fresh substrate and returns what the simulator's `runPolicy`
 * returns for it. The substrate is torn down before this resolves, whatever happens (and on SIGINT/SIGTERM).
 * @throws EmulationError when the substrate cannot be built or an agent fails to start.
 */
export async function emulatePolicy(
  scenario: Scenario,
  policy: EnginePolicy,
  flows: readonly ScheduledFlow[],
  settings: EmulationRunSettings,
  opts: EmulatePolicyOptions,
): Promise<PolicyRunResult> {
  const topo = scenario.topology;
  const c = settings.timeCompression;
  const r = settings.rateScale;
  const runner = opts.runner ?? new ProcessRunner({ verbose: opts.verbose ?? false });
  const dir = opts.dir ?? runDir();
  const emulated = scaleTopology(topo, r, c);
  const windowNs = emulatedWindowNs(scenario, settings);
  const tickNs = scenario.metrics.intervalNs;
  const controlNs = scenario.control.intervalNs;
  const wallNs = (simNs: number) => BigInt(Math.round(simNs / c));

  return withSubstrate(
    emulated,
    {
      runner,
      dir,
      capabilities: opts.capabilities,
      ...(opts.signal ? { exitOnSignal: false, handleSignals: false } : {}),
      settings: {
        addressBlock: settings.addressBlock,
        delay: settings.delay,
        rate: settings.rate,
        seed: scenario.seed,
        queueNs: settings.queueNs === null ? null : Math.round(settings.queueNs / c),
      },
    },
    async (up) => {
      opts.onUp?.(up);
      const plan = up.plan;
      const state = readState(up.runId, dir);
      if (!state) throw new EmulationError(`run ${up.runId}: state file vanished`);
      const emuCtl = new EmulationControlPlane(state, {
        runner,
        dir,
        vnaPoolSize: scenario.control.vnaPoolSize,
        nowNs: () => Number(process.hrtime.bigint() - (epoch ?? process.hrtime.bigint())) * c,
      });
      const n = topo.nodeCount;
      const ids = topo.nodes.map((x) => x.id);
      const active = new Int32Array(n * n);
      /** Active flows per virtual link (those that started while it intercepted their pair), and each flow's link. */
      const activeOnVl = new Map<string, number>();
      const flowVl = new Map<number, string>();
      const ctl = new ScaledControlPlane(emuCtl, r, (vl) => activeOnVl.get(vl) ?? 0);

      // The policy: a control loop, or static per-pair routes installed before traffic starts.
      const routing = policy.create({ topology: topo, seed: scenario.seed, run: scenario.run });
      let controller: (Policy & { dispose?: () => void }) | null = null;
      /** A static policy's paths as per-pair routes where they differ from the default routes (or pinned ones). */
      const pinStaticRoutes = async () => {
        const pinned = emuCtl.routes();
        for (const u of topo.nodes)
          for (const v of topo.nodes) {
            if (u.index === v.index) continue;
            const p = routing.route(u.index, v.index, 0);
            const key = pairKey(u.id, v.id);
            const want = p && p.length > 0 ? topo.pathNodes(p).join(",") : null;
            const def = emuCtl.defaultPath(u.id, v.id)?.join(",") ?? null;
            const now = pinned.get(key)?.join(",") ?? null;
            const target = want === def ? null : want;
            if (target === now) continue;
            await ctl.setRoute({ src: u.id, dst: v.id }, target === null ? null : target.split(","));
          }
      };
      if (policy.controller) controller = await policy.controller(controllerContext(scenario, routing));
      else await pinStaticRoutes();

      // The achieved link delays (one-way = min RTT / 2, in simulated ns) feed the observations' delayNs.
      const aborted = () => {
        if (opts.signal?.aborted) throw new EmulationInterrupted();
      };
      aborted();
      const linkChecks = await checkLinks(runner, plan, opts.capabilities.tools.ping ?? null);
      aborted();
      opts.onLinkCheck?.(linkChecks);
      const iperf3 = opts.capabilities.tools.iperf3 ?? null;
      if (opts.checkRates && iperf3 !== null)
        opts.onRateCheck?.(await checkRates(runner, plan, iperf3, 2, opts.signal));
      aborted();
      const measuredDelayNs = new Map<string, number>();
      for (const [i, lc] of linkChecks.entries()) {
        if (lc.minRttMs === null) continue;
        for (const id of plan.links[i]!.ids)
          if (id !== null) measuredDelayNs.set(id, Math.round((lc.minRttMs / 2) * 1e6 * c));
      }

      // Agents: one per node, each serving and replaying the flows its node sends.
      let epoch: bigint | undefined;
      let deciding: Promise<void> | null = null;
      /** An error a policy's decide threw (not a ControlError it handled): ends the run, then propagates. */
      let policyError: unknown;
      const work = mkdtempSync(join(tmpdir(), `topocast-${up.runId}-`));
      let agents: ChildProcess[] = [];
      /** Agents that exited or failed (an agent serves until it is stopped, so any exit is a failure). */
      const exited: string[] = [];
      try {
        const trace = new TraceBus();
        const collector = new FlowStatsCollector(trace);
        const bySource: AgentFlow[][] = ids.map(() => []);
        for (const f of flows) {
          bySource[f.src]!.push({
            id: f.id,
            dst: plan.nodes[f.dst]!.address,
            port: settings.port,
            bytes: emulatedBytes(f.sizeBytes, settings),
            startNs: f.startNs,
          });
        }
        const flowById = new Map(flows.map((f) => [f.id, f]));
        const pathAtStart = new Map<number, Path>();
        const pairBytes = new Float64Array(n * n);
        const pairFlows = new Int32Array(n * n);
        const flowErrors: Record<string, number> = {};
        const startLateMs: number[] = [];
        let startedFlows = 0;
        let finished = 0;
        let failed = 0;
        const linkPath = (nodes: NodePath): Path => {
          const out: number[] = [];
          for (let i = 1; i < nodes.length; i++) {
            const l = topo.linksBetween(topo.node(nodes[i - 1]!), topo.node(nodes[i]!))[0];
            if (l !== undefined) out.push(l);
          }
          return out;
        };
        const idealFctNs = (sizeBytes: number, path: Path): number => {
          let bottleneck = Number.POSITIVE_INFINITY;
          let delay = 0;
          for (const l of path) {
            bottleneck = Math.min(bottleneck, topo.links[l]!.capacityBps);
            delay += topo.links[l]!.delayNs;
          }
          return path.length ? Math.round((sizeBytes * 8 * 1e9) / bottleneck + delay) : 0;
        };
        let fallbackTable: ReturnType<typeof allPairsShortestPaths> | undefined;
        const fallback = () => {
          fallbackTable ??= allPairsShortestPaths(topo, { weight: "hops" });
          return fallbackTable;
        };
        /** Per flow: wall ns (from the epoch) its last byte reached the server, and the client's own FCT. */
        const recvAt = new Map<number, number>();
        const clientFct = new Map<number, number>();
        const onReport = (rep: AgentReport) => {
          const f = flowById.get(rep.event === "listening" || rep.event === "done" ? -1 : rep.id);
          if (!f) return;
          if (rep.event === "start") {
            startedFlows++;
            const k = f.src * n + f.dst;
            pairBytes[k]! += f.sizeBytes;
            pairFlows[k]!++;
            active[k]!++;
            const now = emuCtl.pathNow(ids[f.src]!, ids[f.dst]!);
            if (now.virtualLink !== null) {
              flowVl.set(f.id, now.virtualLink);
              activeOnVl.set(now.virtualLink, (activeOnVl.get(now.virtualLink) ?? 0) + 1);
            }
            pathAtStart.set(f.id, linkPath(now.path ?? []));
            startLateMs.push(rep.lateNs / 1e6);
          } else if (rep.event === "recv") {
            if (epoch !== undefined) recvAt.set(f.id, Number(BigInt(rep.atNs) - epoch));
          } else if (rep.event === "flow" || rep.event === "flow-error") {
            active[f.src * n + f.dst]!--;
            const vl = flowVl.get(f.id);
            if (vl !== undefined) {
              flowVl.delete(f.id);
              activeOnVl.set(vl, (activeOnVl.get(vl) ?? 1) - 1);
            }
            if (rep.event === "flow-error") {
              failed++;
              flowErrors[rep.error] = (flowErrors[rep.error] ?? 0) + 1;
              return;
            }
            finished++;
            clientFct.set(f.id, rep.fctNs);
          }
        };
        /** Flow records, in simulated units: FCT from the scheduled start to the last byte at the server, x c. */
        const emitFlowRecords = () => {
          for (const f of flows) {
            const client = clientFct.get(f.id);
            if (client === undefined) continue;
            const recv = recvAt.get(f.id);
            const wallFct = recv !== undefined ? recv - f.startNs / c : client;
            const fctNs = Math.max(1, Math.round(wallFct * c));
            const path = pathAtStart.get(f.id) ?? []; // every finished flow reported its start
            // A flow that started with no route (a failure) is judged against its failure-free least-hop path.
            const ideal = idealFctNs(
              f.sizeBytes,
              path.length > 0 ? path : (fallback().path(f.src, f.dst) ?? []),
            );
            trace.emit("flowEnd", {
              flow: f.id,
              src: f.src,
              dst: f.dst,
              sizeBytes: f.sizeBytes,
              startNs: f.startNs,
              endNs: f.startNs + fctNs,
              fctNs,
              idealFctNs: ideal,
              slowdown: ideal > 0 ? fctNs / ideal : 1,
              path,
              tag: f.tag,
              wireBytes: f.sizeBytes,
              mirrored: false,
              mirrorWon: false,
            });
          }
        };
        const listening = new Set<number>();
        agents = plan.nodes.map((nd, i) => {
          const file = join(work, `flows-${i}.json`);
          writeFileSync(file, JSON.stringify(bySource[i]));
          return startAgent(
            plan,
            nd.id,
            {
              listen: { host: nd.address, port: settings.port },
              flowsFile: file,
              timeCompression: c,
              waitForEpoch: true,
              retryForMs: Math.round((windowNs + settings.drainNs) / c / 1e6),
            },
            (rep) => {
              if (rep.event === "listening") listening.add(i);
              else onReport(rep);
            },
          );
        });
        agents.forEach((a, i) => {
          a.on("exit", (code, sig) => {
            if (code !== 0 || sig) exited.push(`${plan.nodes[i]!.id}: exit ${code ?? sig}`);
          });
          a.on("error", (e) => exited.push(`${plan.nodes[i]!.id}: ${e.message}`));
          a.stdin?.on("error", () => {}); // EPIPE from an agent that died: reported through "exit"
        });

        await new Promise<void>((resolve, reject) => {
          const deadline = Date.now() + 60_000;
          const check = setInterval(() => {
            if (opts.signal?.aborted) {
              clearInterval(check);
              reject(new EmulationInterrupted());
            } else if (exited.length > 0) {
              clearInterval(check);
              reject(new EmulationError(`traffic agent failed to start (${exited.join("; ")})`));
            } else if (listening.size === agents.length) {
              clearInterval(check);
              resolve();
            } else if (Date.now() > deadline) {
              clearInterval(check);
              reject(
                new EmulationError(
                  `traffic agents not listening after 60 s (${listening.size} of ${agents.length})`,
                ),
              );
            }
          }, 20);
        });
        // Every agent listens: start the clock half a second from now, on all of them at once.
        epoch = process.hrtime.bigint() + 500_000_000n;
        for (const a of agents) a.stdin?.end(`${JSON.stringify({ epochNs: epoch.toString() })}\n`);

        // The tick loop: counters -> sampler; control steps; failures; until the window ends and flows drain.
        const L = topo.linkCount;
        const devs = egressDevices(plan, topo);
        const txBytes = new Float64Array(L);
        const txDrops = new Float64Array(L);
        await readCounters(runner, devs, txBytes, txDrops);
        const base = Float64Array.from(txBytes);
        const baseDrops = Float64Array.from(txDrops);
        const clock = new Simulator();
        const bitsScale = (8 * c) / r;
        const isUp = new Uint8Array(L).fill(1);
        // Counter readings at their actual (simulated-time) instants; the sampler's boundaries fall between two
        // readings and are interpolated linearly, so a late reading is not charged to the interval it ends.
        const reads: { t: number; bytes: Float64Array }[] = [{ t: 0, bytes: Float64Array.from(txBytes) }];
        const simTimeNow = () => Number(process.hrtime.bigint() - epoch!) * c;
        const bytesAt = (t: number, l: number): number => {
          let i = reads.length - 1;
          while (i > 0 && reads[i]!.t > t) i--;
          const a = reads[i]!;
          const b = reads[i + 1];
          if (!b || b.t <= a.t) return a.bytes[l]!;
          return a.bytes[l]! + ((b.bytes[l]! - a.bytes[l]!) * (t - a.t)) / (b.t - a.t);
        };
        const counters = {
          topology: topo,
          linkBitsUntilNow: (out: Float64Array) => {
            const t = clock.now;
            for (let l = 0; l < L; l++) out[l] = (bytesAt(t, l) - base[l]!) * bitsScale;
            return out;
          },
          // Nominal capacity whether up or not, as the simulator's FlowNetwork reports it (a down link carries 0).
          linkCapacity: (l: number) => topo.links[l]!.capacityBps,
        };
        const sampler = new LinkUtilizationSampler(clock, counters, {
          intervalNs: tickNs,
          trace,
          stopWhenIdle: false,
        });
        const timeseries: TimeseriesRow[] = [];
        let completedBefore = 0;
        trace.on("linkInterval", (e) => {
          timeseries.push(timeseriesRow(e, finished - completedBefore, countActive()));
          completedBefore = finished;
        });
        const countActive = () => active.reduce((a, b) => a + b, 0);

        // Observation state.
        const prevBytes = Float64Array.from(base);
        const prevDrops = new Float64Array(L);
        let prevReadNs = 0;
        let lastStepNs = 0;
        const nodesSorted = [...ids].sort();
        /** The observation at control instant `nowNs`: link counters over the real time since the last one. */
        /**
         * The observation at `nowNs`. A control step consumes the interval (counters restart from now); a failure
         * hook only peeks, as the simulator's loop hands hooks its last observation.
         */
        const observe = (nowNs: number, consume = true): Observation => {
          const last = reads[reads.length - 1]!;
          const dtRead = Math.max(1, last.t - prevReadNs);
          const dt = Math.max(1, nowNs - lastStepNs);
          const links: LinkStats[] = topo.links.map((l) => {
            const cap = topo.links[l.index]!.capacityBps;
            const drops = txDrops[l.index]! - baseDrops[l.index]!;
            const st: LinkStats = {
              id: l.id,
              src: ids[l.src]!,
              dst: ids[l.dst]!,
              up: isUp[l.index] === 1,
              capacityBps: cap,
              utilization:
                ((last.bytes[l.index]! - prevBytes[l.index]!) * bitsScale) / ((cap * dtRead) / 1e9),
              drops: drops - prevDrops[l.index]!,
              delayNs: measuredDelayNs.get(l.id) ?? l.delayNs,
            };
            if (consume) prevDrops[l.index] = drops;
            return st;
          });
          links.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
          if (consume) {
            prevBytes.set(last.bytes);
            prevReadNs = last.t;
            lastStepNs = nowNs;
          }
          const traffic = [];
          for (const s of nodesSorted)
            for (const d of nodesSorted) {
              const k = topo.node(s) * n + topo.node(d);
              if (pairFlows[k]! > 0 || pairBytes[k]! > 0)
                traffic.push({ src: s, dst: d, bytes: pairBytes[k]!, flows: pairFlows[k]! });
            }
          if (consume) {
            pairBytes.fill(0);
            pairFlows.fill(0);
          }
          return {
            timeNs: nowNs,
            intervalNs: dt,
            nodes: nodesSorted,
            traffic,
            links,
            virtualLinks: ctl.virtualLinks(),
            routes: emuCtl.routes(),
            vnaPool: emuCtl.vnaPool(),
            probes: [],
            mirrors: [],
          };
        };

        // Failures: the link's devices go down at both ends; default routes reconverge after the delay.
        const failures = [...scenario.failures].sort((a, b) => a.atNs - b.atNs);
        const pendingConvergence: { atNs: number }[] = [];
        const setLinks = async (links: readonly number[], upNow: boolean) => {
          const cables = new Set<string>();
          for (const l of links) {
            isUp[l] = upNow ? 1 : 0;
            const link = topo.links[l]!;
            cables.add(link.reverse >= 0 ? topo.links[Math.min(l, link.reverse)]!.id : link.id);
          }
          for (const id of [...cables].sort()) await emuCtl.setLinkState(id, upNow);
        };
        /** Default routes reconverge; a static policy's own routes follow its routing's reaction to the change. */
        const reconverge = async () => {
          await emuCtl.reconverge();
          if (controller) return;
          const down = new Set<number>();
          for (let l = 0; l < L; l++) if (!isUp[l]) down.add(l);
          if (routing.linksChanged?.(down)) await pinStaticRoutes();
        };

        let ticks = 0;
        let lateTicks = 0;
        let counterFailures = 0;
        let skippedSteps = 0;
        let nextControl = controlNs;
        const endNs = windowNs + settings.drainNs;
        for (let k = 1; ; k++) {
          const simNow = k * tickNs;
          const due = epoch + wallNs(simNow);
          await sleepUntil(due);
          ticks++;
          if (Number(process.hrtime.bigint() - due) > Number(wallNs(tickNs)) / 2) lateTicks++;
          const t0 = simTimeNow();
          try {
            await readCounters(runner, devs, txBytes, txDrops);
            counterFailures = 0;
          } catch (e) {
            // A reading can fail under load or while the run is being interrupted: skip it (the next one covers
            // the interval), unless it keeps failing.
            if (opts.signal?.aborted) break;
            if (++counterFailures > 3) throw e;
            continue;
          }
          const tRead = Math.round((t0 + simTimeNow()) / 2);
          reads.push({ t: tRead, bytes: Float64Array.from(txBytes) });
          clock.run(Math.max(clock.now, Math.min(tRead, simNow + tickNs - 1)));
          while (reads.length > 2 && reads[1]!.t <= clock.now - tickNs) reads.shift();
          opts.onProgress?.(Math.min(simNow, windowNs), windowNs);
          while (failures.length > 0 && failures[0]!.atNs <= simNow) {
            const ev = failures.shift()!;
            // The network changes only between decisions, as in the simulator (time stands still in decide).
            await deciding;
            await setLinks(ev.links, ev.up);
            pendingConvergence.push({ atNs: ev.atNs + scenario.control.convergenceDelayNs });
            if (controller) {
              const obs = observe(simNow, false);
              for (const l of ev.links) {
                const id = topo.links[l]!.id;
                if (ev.up) await controller.onLinkUp?.(id, obs, ctl);
                else await controller.onLinkDown?.(id, obs, ctl);
              }
            }
          }
          if (pendingConvergence.length > 0 && pendingConvergence[0]!.atNs <= simNow) {
            while (pendingConvergence.length > 0 && pendingConvergence[0]!.atNs <= simNow)
              pendingConvergence.shift();
            await deciding;
            await reconverge();
          }
          if (controller && simNow >= nextControl && simNow <= windowNs) {
            // The policy decides while the ticks go on; a step that comes while it still thinks is skipped.
            if (deciding === null) {
              const p = controller;
              const obs = observe(nextControl);
              deciding = Promise.resolve()
                .then(() => p.decide(obs, ctl))
                .catch((e: unknown) => {
                  policyError ??= e;
                })
                .finally(() => {
                  deciding = null;
                });
            } else skippedSteps++;
            while (nextControl <= simNow) nextControl += controlNs;
          }
          if (exited.length > 0)
            throw new EmulationError(`traffic agent failed mid-run (${exited.join("; ")})`);
          if (opts.signal?.aborted || policyError !== undefined) break;
          const done = finished + failed >= flows.length;
          if (simNow >= endNs || (simNow >= windowNs && done)) break;
        }
        await deciding;
        // After an interrupt, a failed action is part of the interruption, not the policy's fault.
        if (policyError !== undefined && !opts.signal?.aborted) throw policyError;
        // The servers' "recv" lines of the last flows may still be in the pipes: wait briefly for them.
        for (let waited = 0; recvAt.size < finished && waited < 1000; waited += 20)
          await new Promise((res) => setTimeout(res, 20));
        sampler.flush();
        controller?.dispose?.();
        emitFlowRecords();
        const udpDrops = await udpReceiveErrors(runner, plan);

        const links = sampler.summary();
        const flowSummary = collector.summary({
          sizeBucketEdges: scenario.metrics.sizeBucketEdges,
          sizeBucketNames: scenario.metrics.sizeBucketNames,
        });
        const overhead: EmulationOverhead = {
          ...overheadOf(emuCtl, ticks, lateTicks, flowErrors, startLateMs),
          skippedControlSteps: skippedSteps,
          egressDrops: txDrops.reduce((a, x, l) => a + x - baseDrops[l]!, 0),
          udpReceiveErrors: udpDrops,
        };
        const summary: PolicySummary = {
          policy: policy.label,
          name: policy.name,
          params: policy.params,
          // After an interrupt, flows whose start had not come are not counted (neither started nor unfinished).
          flowCounts: {
            started: opts.signal?.aborted ? startedFlows : flows.length,
            completed: finished,
            unfinished: (opts.signal?.aborted ? startedFlows : flows.length) - finished,
          },
          simulatedNs: links.endNs ?? 0,
          flows: flowSummary,
          links,
          overhead,
        };
        return {
          label: policy.label,
          name: policy.name,
          params: policy.params,
          summary,
          flowsCsv: collector.toCsv(topo),
          linksCsv: sampler.toCsv(topo),
          timeseries,
          events: ticks,
        };
      } finally {
        for (const a of agents) a.kill("SIGTERM");
        rmSync(work, { recursive: true, force: true });
      }
    },
  );
}

/** A link's configured and measured round-trip time over its own devices, in wall ms of the emulated network. */
export interface LinkCheck {
  /** The cable's directed link ids. */
  link: string;
  configuredRttMs: number;
  /** Smallest and mean RTT of the pings, ms; null when all were lost. */
  minRttMs: number | null;
  meanRttMs: number | null;
  sent: number;
  received: number;
}

/**
 * The achieved delay of every link: `count` pings (200 ms apart) from each cable's `a` end to its `b` end's address,
 * all cables at once. Without `ping` on PATH, returns [] (the manifest then says delays were not measured).
 */
export async function checkLinks(
  runner: Runner,
  plan: Plan,
  ping: string | null,
  count = 5,
): Promise<LinkCheck[]> {
  if (ping === null) return [];
  return parallel(
    plan.links,
    async (lp) => {
      const r = await runner.run(
        [
          "ip",
          "netns",
          "exec",
          plan.nodes[lp.a.node]!.netns,
          ping,
          "-n",
          "-c",
          String(count),
          "-i",
          "0.2",
          "-W",
          "2",
          lp.b.address,
        ],
        { check: false },
      );
      const times = [...r.stdout.matchAll(/time=([\d.]+) ms/g)].map((m) => Number(m[1]));
      const configured = (lp.a.inDelayNs + lp.b.inDelayNs) / 1e6;
      return {
        link: lp.ids.filter((x) => x !== null).join(" / "),
        configuredRttMs: round3(configured),
        minRttMs: times.length ? round3(Math.min(...times)) : null,
        meanRttMs: times.length ? round3(times.reduce((a, b) => a + b, 0) / times.length) : null,
        sent: count,
        received: times.length,
      };
    },
    plan.links.length,
  );
}

/** A directed link's configured and achieved rate (iperf3 TCP goodput over the link alone), emulated bits/s. */
export interface RateCheck {
  link: string;
  rateBps: number | null;
  /** iperf3's received goodput (TCP payload), bits/s; null when the test failed. */
  goodputBps: number | null;
}

/**
 * The achieved rate of every directed link, one at a time (so they do not compete for the CPU): an iperf3 server
 * on the far end's link address, a client at the near end for `seconds` after one omitted second of slow start.
 * Goodput counts TCP payload, about 96% of the frames' rate at a 1500-byte MTU.
 */
export async function checkRates(
  runner: Runner,
  plan: Plan,
  iperf3: string,
  seconds = 2,
  signal?: AbortSignal,
): Promise<RateCheck[]> {
  const out: RateCheck[] = [];
  for (const lp of plan.links) {
    for (const [i, id] of lp.ids.entries()) {
      if (id === null || signal?.aborted) continue;
      const [near, far] = i === 0 ? [lp.a, lp.b] : [lp.b, lp.a];
      const nsOf = (node: number) => plan.nodes[node]!.netns;
      const server = runner.run(
        ["ip", "netns", "exec", nsOf(far.node), iperf3, "-s", "-1", "-B", far.address],
        {
          check: false,
          timeoutMs: (seconds + 15) * 1000,
        },
      );
      const serverDone = server.catch(() => ({ code: 1, stdout: "", stderr: "" }));
      await new Promise((r) => setTimeout(r, 300));
      const client = await runner.run(
        [
          "ip",
          "netns",
          "exec",
          nsOf(near.node),
          iperf3,
          "-c",
          far.address,
          "-t",
          String(seconds),
          "-O",
          "1",
          "-J",
        ],
        { check: false, timeoutMs: (seconds + 15) * 1000 },
      );
      await serverDone;
      let goodputBps: number | null = null;
      try {
        const bps = (JSON.parse(client.stdout) as { end?: { sum_received?: { bits_per_second?: number } } })
          .end?.sum_received?.bits_per_second;
        goodputBps = typeof bps === "number" ? Math.round(bps) : null;
      } catch {
        goodputBps = null;
      }
      out.push({ link: id, rateBps: near.rateBps, goodputBps });
    }
  }
  return out;
}

/**
 * UDP datagrams dropped on receive (full socket buffers: `RcvbufErrors` of /proc/net/snmp) over all namespaces:
 * with userspace wires, each is a packet the emulated link lost that the configured link would not have.
 */
async function udpReceiveErrors(runner: Runner, plan: Plan): Promise<number> {
  let total = 0;
  await parallel(plan.nodes, async (nd) => {
    const r = await runner.run(["ip", "netns", "exec", nd.netns, "cat", "/proc/net/snmp"], { check: false });
    const lines = r.stdout.split("\n").filter((l) => l.startsWith("Udp:"));
    if (lines.length < 2) return;
    const keys = lines[0]!.split(/\s+/);
    const vals = lines[1]!.split(/\s+/);
    total += Number(vals[keys.indexOf("RcvbufErrors")] ?? 0) || 0;
  });
  return total;
}

function overheadOf(
  ctl: EmulationControlPlane,
  ticks: number,
  lateTicks: number,
  flowErrors: Record<string, number>,
  startLateMs: number[],
): EmulationOverhead {
  const actions: Record<string, number> = {};
  const errors: Record<string, number> = {};
  const lat: Record<string, number[]> = {};
  const unsupported: Record<string, number> = {};
  for (const a of ctl.actions) {
    actions[a.verb] = (actions[a.verb] ?? 0) + 1;
    if (a.ok) {
      // Latency of what took effect: a refused action (pool full, no path) returns at once and says nothing of it.
      const xs = lat[a.verb] ?? [];
      xs.push(a.ms);
      lat[a.verb] = xs;
    }
    if (!a.ok && a.errorName === "UnsupportedInEmulationError")
      unsupported[a.verb] = (unsupported[a.verb] ?? 0) + 1;
    if (!a.ok) {
      const name = a.errorName ?? "Error";
      errors[name] = (errors[name] ?? 0) + 1;
    }
  }
  const sorted = startLateMs.sort((a, b) => a - b);
  return {
    controlActions: ctl.actions.length,
    actions,
    errors,
    actionLatencyMs: Object.fromEntries(
      Object.entries(lat)
        .sort((a, b) => (a[0] < b[0] ? -1 : 1))
        .map(([verb, xs]) => {
          const s = xs.sort((a, b) => a - b);
          return [
            verb,
            {
              n: s.length,
              median: round3(percentileNearestRank(s, 50)),
              p95: round3(percentileNearestRank(s, 95)),
              max: round3(s.at(-1)!),
            },
          ];
        }),
    ),
    unsupported,
    lateTicks,
    ticks,
    flowErrors,
    medianStartLateMs: sorted.length ? round3(percentileNearestRank(sorted, 50)) : null,
  };
}
