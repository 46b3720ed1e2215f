/**
 * Runs one policy of a {@link Scenario} in the simulator and returns what its collectors measured.
 *
 * Same traffic for every policy. The workload draws only from its own streams (`flows/<src>-><dst>` of
 * `RandomStreams(seed, run)`, fresh per policy run), and routing never draws from them; ECMP hashes a flow's
 * per-pair arrival index. So every policy of a (seed, run) sees the same flows: same arrival times, sizes and
 * endpoints, in the same order.
 *
 * Offered traffic: each {@link DemandInterval} starts a Poisson flow source at its start that stops arrivals at
 * its end (Poisson processes are memoryless, so restarting at a boundary is exact). The run then drains: it
 * ends when no event is pending, so every flow that can finish does. Flows pinned to a link that stays down
 * never finish and are counted as `unfinished`.
 */
import { AppWorkload } from "../../models/workload/applications.ts";
import { PoissonFlowSource } from "../../models/workload/poisson-flows.ts";
import { RandomStreams } from "../kernel/rng.ts";
import { Simulator } from "../kernel/simulator.ts";
import { FLOWS_CSV_HEADER, FlowStatsCollector, type FlowStatsSummary } from "../metrics/flow-stats.ts";
import {
  LINKS_CSV_HEADER,
  LinkUtilizationSampler,
  type LinkUtilizationSummary,
} from "../metrics/link-sampler.ts";
import { type LinkIntervalEvent, TraceBus } from "../metrics/trace.ts";
import { allPairsShortestPaths, type Path } from "../substrate/routing.ts";
import { FlowNetwork } from "../transport/flow-network.ts";
import { type ControlOverhead, overheadOf, startController } from "./controller.ts";
import type { EnginePolicy, Scenario } from "./types.ts";

/** One row of timeseries.csv (per sampling interval). */
export interface TimeseriesRow {
  startNs: number;
  endNs: number;
  mlu: number;
  /** Mean utilization over all directed links. */
  meanUtilization: number;
  /** Flows that finished during the interval. */
  flowsCompleted: number;
  /** Flows still transferring at the interval's end. */
  activeFlows: number;
}

/** The timeseries.csv row of a closed sampling interval. */
export function timeseriesRow(
  e: LinkIntervalEvent,
  flowsCompleted: number,
  activeFlows: number,
): TimeseriesRow {
  let sum = 0;
  for (const u of e.utilization) sum += u;
  return {
    startNs: e.startNs,
    endNs: e.endNs,
    mlu: e.mlu,
    meanUtilization: e.utilization.length ? sum / e.utilization.length : 0,
    flowsCompleted,
    activeFlows,
  };
}

/** Per-policy results: plain JSON-able data (summary) plus CSV bodies. */
export interface PolicyRunResult {
  label: string;
  name: string;
  params: Readonly<Record<string, unknown>>;
  summary: PolicySummary;
  /** flows.csv rows (header FLOWS_CSV_HEADER), without the policy column. */
  flowsCsv: string;
  /** links.csv rows (header LINKS_CSV_HEADER), without the policy column. */
  linksCsv: string;
  timeseries: TimeseriesRow[];
  /** Simulator events executed (diagnostics; not in summary.json). */
  events: number;
}

export interface PolicySummary {
  policy: string;
  name: string;
  params: Readonly<Record<string, unknown>>;
  /** Flows that arrived, finished, and never finished (stalled on a link that stayed down). */
  flowCounts: { started: number; completed: number; unfinished: number };
  /** Simulated time at which the last interval closed, ns. */
  simulatedNs: number;
  flows: FlowStatsSummary;
  links: LinkUtilizationSummary;
  /** Control actions and their cost; static policies take none (placeholder until sim/control lands). */
  overhead: { controlActions: number } | ControlOverhead;
}

export interface RunPolicyOptions {
  /** Called now and then with the simulated time and the end of offered traffic, ns. */
  onProgress?: (nowNs: number, horizonNs: number) => void;
}

/** Simulates `policy` on the scenario's topology and workload. */
const NO_PATH: Path = [];

export async function runPolicy(
  scenario: Scenario,
  policy: EnginePolicy,
  opts: RunPolicyOptions = {},
): Promise<PolicyRunResult> {
  const topo = scenario.topology;
  const sim = new Simulator();
  const trace = new TraceBus();
  // The only transport model so far is the fluid one (scenario.transport.model === "fluid").
  const net = new FlowNetwork(sim, topo, trace, { tcp: scenario.transport.tcp });
  const flowStats = new FlowStatsCollector(trace);
  const sampler = new LinkUtilizationSampler(sim, net, { intervalNs: scenario.metrics.intervalNs, trace });
  const routing = policy.create({ topology: topo, seed: scenario.seed, run: scenario.run });
  const controlled = policy.controller
    ? await startController(scenario, policy, sim, net, trace, routing)
    : null;

  // Timeseries: one row per closed sampling interval.
  const timeseries: TimeseriesRow[] = [];
  let completedInInterval = 0;
  trace.on("flowEnd", () => {
    completedInInterval++;
  });
  trace.on("linkInterval", (e) => {
    timeseries.push(timeseriesRow(e, completedInInterval, net.activeFlows));
    completedInInterval = 0;
  });

  // Routing: the policy's path, or the failure-free least-hop path when it has none (the flow then stalls).
  const n = topo.nodeCount;
  const pairArrivals = new Int32Array(n * n);
  let flowKeys = new Int32Array(1024);
  let fallback: ReturnType<typeof allPairsShortestPaths> | undefined;
  const route = (src: number, dst: number): Path => {
    const key = pairArrivals[src * n + dst]!++;
    const id = net.startedFlows;
    if (id >= flowKeys.length) {
      const grown = new Int32Array(flowKeys.length * 2);
      grown.set(flowKeys);
      flowKeys = grown;
    }
    flowKeys[id] = key;
    const p = routing.route(src, dst, key);
    if (p !== undefined) return p;
    fallback ??= allPairsShortestPaths(topo, { weight: "hops" });
    return fallback.path(src, dst) ?? [];
  };

  // Workload: one Poisson source per demand interval, all drawing from the same per-pair streams.
  const streams = new RandomStreams(scenario.seed, scenario.run);
  for (const iv of scenario.intervals) {
    sim.scheduleAt(iv.startNs, () => {
      new PoissonFlowSource(sim, controlled?.sink ?? net, {
        demands: iv.demands,
        sizes: scenario.flowSizes,
        streams,
        // Under a controller the data plane picks the path (the sink ignores this one): skip the lookup.
        route: controlled ? () => NO_PATH : route,
        untilNs: iv.endNs,
      }).start();
    });
  }

  // Applications: RPC flows from time 0 to the end of the offered traffic, tagged after the node pairs.
  const horizonNs = scenario.intervals.reduce((m, iv) => Math.max(m, iv.endNs), 0);
  if (scenario.applications) {
    new AppWorkload(sim, controlled?.sink ?? net, trace, scenario.applications, {
      streams,
      route: controlled ? () => NO_PATH : route,
      tagBase: n * n,
      untilNs: horizonNs,
    }).start();
  }

  // Failures.
  const down = new Set<number>();
  for (const ev of controlled ? [] : scenario.failures) {
    sim.scheduleAt(ev.atNs, () => {
      for (const l of ev.links) {
        net.setLinkUp(l, ev.up);
        if (ev.up) down.delete(l);
        else down.add(l);
      }
      // Default routes reconverge after control.convergenceDelay, as for control-loop policies.
      const delay = scenario.control.convergenceDelayNs;
      const reconverge = () => {
        if (routing.linksChanged?.(down)) reroute();
      };
      if (delay > 0) sim.schedule(delay, reconverge);
      else reconverge();
    });
  }
  const reroute = (): void => {
    const moved = new Set<number>();
    for (const l of [...down].sort((a, b) => a - b)) for (const f of net.flowsOnLink(l)) moved.add(f);
    for (const f of [...moved].sort((a, b) => a - b)) {
      const path = net.pathOf(f);
      const src = topo.links[path[0]!]!.src;
      const dst = topo.links[path[path.length - 1]!]!.dst;
      const p = routing.route(src, dst, flowKeys[f]!);
      if (p !== undefined) net.setPath(f, p);
    }
  };

  const chunk = Math.max(1, Math.ceil(horizonNs / 100));
  opts.onProgress?.(0, horizonNs);
  if (controlled) {
    await controlled.loop.run();
    opts.onProgress?.(sim.now, horizonNs);
  } else {
    while (sim.pending > 0) {
      sim.run(Math.floor(sim.now / chunk) * chunk + chunk);
      opts.onProgress?.(sim.now, horizonNs);
    }
  }
  sampler.flush();
  controlled?.policy.dispose?.();

  const links = sampler.summary();
  const flows = flowStats.summary({
    sizeBucketEdges: scenario.metrics.sizeBucketEdges,
    sizeBucketNames: scenario.metrics.sizeBucketNames,
  });
  const summary: PolicySummary = {
    policy: policy.label,
    name: policy.name,
    params: policy.params,
    flowCounts: { started: net.startedFlows, completed: flowStats.count, unfinished: net.activeFlows },
    simulatedNs: links.endNs ?? 0,
    flows,
    links,
    overhead: controlled ? overheadOf(controlled) : { controlActions: 0 },
  };
  return {
    label: policy.label,
    name: policy.name,
    params: policy.params,
    summary,
    flowsCsv: flowStats.toCsv(topo),
    linksCsv: sampler.toCsv(topo),
    timeseries,
    events: sim.executed,
  };
}

export { FLOWS_CSV_HEADER, LINKS_CSV_HEADER };
