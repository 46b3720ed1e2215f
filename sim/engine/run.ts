/**
 * Runs one policy of a {@link Scenario} in the simulator and returns what its collectors measured.
 *
 * Same traffic for every policy. The workload draws only from its own streams (`flows/<src>-><dst>` of
 * `RandomStreams(seed, run)`, fresh per policy run), and routing never draws from them; ECMP hashes a flow's
 * per-pair arrival index. So every policy of a (seed, run) sees the same flows: same arrival times, sizes and
 * endpoints, in the same order.
 *
 * Offered traffic: each {@link DemandInterval} starts a Poisson flow source at its start that stops arrivals at
 * its end (Poisson processes are memoryless, so restarting at a boundary is exact); the flows are recorded once per
 * scenario as its flow schedule (sim/engine/schedule.ts) and replayed (models/workload/flow-schedule.ts), the same
 * schedule the emulator's agents replay. The run then drains: it
 * ends when no event is pending, so every flow that can finish does. Flows pinned to a link that stays down
 * never finish and are counted as `unfinished`.
 *
 * Every policy, static baselines included, runs under the control driver (models/control/driver.ts) on the
 * simulator's clock and data plane (sim/control/sim-clock.ts, sim-data-plane.ts): control steps, failures with
 * the convergence delay, failure hooks and time to recover, the same way for all.
 */

import { decisionTiming } from "../../models/control/driver.ts";
import { AppWorkload, applicationTagBase } from "../../models/workload/applications.ts";
import { ScheduleReplay } from "../../models/workload/flow-schedule.ts";
import { applicationClassifier, TrafficProfiler } from "../../models/workload/profiler.ts";
import { RandomStreams } from "../kernel/rng.ts";
import { Simulator } from "../kernel/simulator.ts";
import { FlowStatsCollector } from "../metrics/flow-stats.ts";
import { LinkUtilizationSampler } from "../metrics/link-sampler.ts";
import { TraceBus } from "../metrics/trace.ts";
import type { Path } from "../substrate/routing.ts";
import { createTransport } from "../transport/models.ts";
import { overheadOf, startController } from "./controller.ts";
import {
  type Engine,
  policyEventsOf,
  type RunRecords,
  type TimeseriesRow,
  timeseriesRow,
} from "./records.ts";
import { scenarioSchedule } from "./schedule.ts";
import type { EnginePolicy, Scenario } from "./types.ts";

export interface RunPolicyOptions {
  /** Called now and then with the simulated time and the end of offered traffic, ns. */
  onProgress?: (nowNs: number, horizonNs: number) => void;
}

/** The fluid simulator as an {@link Engine}; `onProgress` hears which policy runs. */
export function simEngine(
  opts: { onProgress?: (policy: EnginePolicy, nowNs: number, horizonNs: number) => void } = {},
): Engine {
  return {
    name: "sim",
    run: (scenario, policy) =>
      runPolicy(scenario, policy, {
        ...(opts.onProgress ? { onProgress: (now, end) => opts.onProgress!(policy, now, end) } : {}),
      }),
  };
}

const NO_PATH: Path = [];

/** Uniform draws of the stream `transport/link-loss` of the scenario's (seed, run). */
function lossStream(scenario: Scenario): () => number {
  const s = new RandomStreams(scenario.seed, scenario.run).stream("transport/link-loss");
  return () => s.uniform();
}

/** Simulates `policy` on the scenario's topology and workload. */
export async function runPolicy(
  scenario: Scenario,
  policy: EnginePolicy,
  opts: RunPolicyOptions = {},
): Promise<RunRecords> {
  const topo = scenario.topology;
  const sim = new Simulator();
  const trace = new TraceBus();
  const net = createTransport(scenario.transport.model, sim, topo, trace, {
    tcp: scenario.transport.tcp,
    queue: scenario.transport.queue ?? null,
    // Degraded links' packet loss (packet model): its own stream, drawn only for packets entering a lossy link.
    lossRandom: lossStream(scenario),
    ...(scenario.transport.congestionControl
      ? { congestionControl: scenario.transport.congestionControl }
      : {}),
    ...(scenario.transport.sack !== undefined ? { sack: scenario.transport.sack } : {}),
    ...(scenario.transport.timerScale !== undefined ? { timerScale: scenario.transport.timerScale } : {}),
  });
  const flowStats = new FlowStatsCollector(trace);
  const sampler = new LinkUtilizationSampler(sim, net, { intervalNs: scenario.metrics.intervalNs, trace });
  const routing = policy.create({ topology: topo, seed: scenario.seed, run: scenario.run });
  const horizonNs = scenario.intervals.reduce((m, iv) => Math.max(m, iv.endNs), 0);
  const progress = opts.onProgress && ((nowNs: number) => opts.onProgress!(nowNs, horizonNs));
  const controlled = await startController(scenario, policy, sim, net, trace, routing, progress);

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

  // Workload: the scenario's flow schedule (one Poisson source per demand interval, computed once), replayed into
  // the control plane's data plane, which picks each flow's path (the sink ignores the replay's).
  new ScheduleReplay(sim, controlled.sink, scenarioSchedule(scenario), { route: () => NO_PATH }).start();

  // Applications: RPC flows from time 0 to the end of the offered traffic, tagged after the node pairs.
  let appPairs: readonly string[] = [];
  if (scenario.applications) {
    const apps = new AppWorkload(sim, controlled.sink, trace, scenario.applications, {
      streams: new RandomStreams(scenario.seed, scenario.run),
      route: () => NO_PATH,
      tagBase: applicationTagBase(topo.nodeCount),
      untilNs: horizonNs,
    });
    apps.start();
    appPairs = apps.appPairs;
  }
  // The profile per application: no events of its own, so the run's event order is that of a run without it.
  const profiler = scenario.metrics.profile
    ? new TrafficProfiler(sim, trace, {
        intervalNs: scenario.metrics.intervalNs,
        ...applicationClassifier(topo.nodeCount, appPairs),
        startNs: 0,
        boundaryEvents: false,
      })
    : null;

  opts.onProgress?.(0, horizonNs);
  await controlled.driver.run();
  controlled.ctl.finish();
  sampler.flush();
  profiler?.flush();
  controlled.policy.dispose?.();

  const linkStats = sampler.summary();
  return {
    label: policy.label,
    name: policy.name,
    params: policy.params,
    flowCounts: { started: net.startedFlows, completed: flowStats.count, unfinished: net.activeFlows },
    simulatedNs: linkStats.endNs ?? 0,
    flows: flowStats,
    flowStats: flowStats.summary({
      sizeBucketEdges: scenario.metrics.sizeBucketEdges,
      sizeBucketNames: scenario.metrics.sizeBucketNames,
    }),
    links: sampler.samples(),
    linkStats,
    timeseries,
    actions: controlled.actions,
    recoveries: controlled.driver.recoveries,
    ...policyEventsOf(controlled.policy),
    ...(controlled.registry ? { discovery: controlled.registry.totals } : {}),
    overhead: { engine: "sim", ...overheadOf(controlled) },
    ...(profiler ? { profile: { applications: profiler.pairs, intervals: profiler.intervals } } : {}),
    ...(controlled.attacks ? { ids: controlled.attacks.records() } : {}),
    events: sim.executed,
    decisions: decisionTiming(controlled.driver.decisionWallMs),
  };
}
