/**
 * Running a policy in the simulator engine: the control plane in front of the flow network (flows enter through its
 * data plane), the control driver (models/control/driver.ts) on the simulator's clock and data plane, which
 * observes and calls the policy every control interval and applies the scenario's failures, and the overhead they
 * report. A static baseline (no `controller`) runs as a {@link StaticRoutes} policy on its own routing.
 */
import { ControlDriver } from "../../models/control/driver.ts";
import { type ActionRecord, recording } from "../../models/policies/recording.ts";
import { StaticRoutes } from "../../models/policies/static-routes.ts";
import type { Policy } from "../../models/policies/types.ts";
import type { FlowMatchFields } from "../../models/policies/verb-args.ts";
import { RegistryAccess } from "../../models/services/instance-directory.ts";
import { ApplicationTrafficCounter } from "../../models/workload/application-traffic.ts";
import type { FlowSink } from "../../models/workload/flow-sink.ts";
import { type ControlStats, SimControlPlane } from "../control/control-plane.ts";
import type { FirewallTotals } from "../control/firewall.ts";
import { SimClock } from "../control/sim-clock.ts";
import { SimDataPlane } from "../control/sim-data-plane.ts";
import { RandomStreams } from "../kernel/rng.ts";
import type { Simulator } from "../kernel/simulator.ts";
import type { TraceBus } from "../metrics/trace.ts";
import { deployRegistry } from "../services/registry.ts";
import { allPairsShortestPaths } from "../substrate/routing.ts";
import type { FlowSpec, Transport } from "../transport/transport.ts";
import { SimAttacks } from "./attacks.ts";
import { offeredSeries } from "./offered.ts";
import type { ControllerContext, EnginePolicy, RoutingPolicy, Scenario } from "./types.ts";

export interface Controlled {
  ctl: SimControlPlane;
  driver: ControlDriver;
  /** The policy's actions as the recording decorator saw them, in the order they settled. */
  actions: readonly ActionRecord[];
  policy: Policy & { dispose?: () => void };
  sink: FlowSink;
  /** Bytes sent by mirror copies beyond the flows' sizes so far. */
  mirroredBytes(): number;
  /** The run's registry, when the scenario asks for one. */
  registry?: RegistryAccess;
  /** The scenario's attack workload and its intrusion detection, when it has attacks. */
  attacks?: SimAttacks;
}

/**
 * The simulator's control overhead of one run (deterministic: no wall times); the run's recoveries are beside it
 * in the records (sim/engine/records.ts).
 */
export interface ControlOverhead {
  controlActions: number;
  actions: ControlStats["actions"];
  errors: Record<string, number>;
  setupLatencyNs: number;
  /** Fraction of flows and of bytes that found a ready virtual link. */
  hitRateFlows: number;
  hitRateBytes: number;
  vnaSeconds: number;
  vnaSecondsWasted: number;
  /** Bytes sent by mirror copies that did not deliver first (extra load). */
  mirroredBytes: number;
  /** Bytes the policy's probes put on the wire; absent when it sent none (results without probes are unchanged). */
  probeBytes?: number;
  /** Flows and bytes the firewall refused; absent when the policy set no rule. */
  firewall?: FirewallTotals;
}

/**
 * What a controller factory gets for a scenario: the substrate, the control settings, and the offered traffic per
 * control interval on `routing`'s default paths (the oracle's future, the predictors' training span). Shared by
 * both engines, so a policy is built from the same context in simulation and in emulation.
 */
export function controllerContext(
  scenario: Scenario,
  routing: RoutingPolicy,
  registry?: RegistryAccess,
): ControllerContext {
  const topo = scenario.topology;
  const control = scenario.control;
  const horizonNs = scenario.intervals.reduce((m, iv) => Math.max(m, iv.endNs), 0);
  const bins = Math.max(1, Math.ceil(horizonNs / control.intervalNs));
  const route = (s: number, d: number) => routing.route(s, d, 0);
  const future = offeredSeries(topo, scenario.intervals, route, 0, control.intervalNs, bins);
  const trainStart = scenario.trainingIntervals.reduce((m, iv) => Math.min(m, iv.startNs), 0);
  const trainBins = Math.floor(-trainStart / control.intervalNs);
  const past = offeredSeries(
    topo,
    scenario.trainingIntervals,
    route,
    -trainBins * control.intervalNs,
    control.intervalNs,
    trainBins,
  );
  return {
    topology: topo,
    seed: scenario.seed,
    run: scenario.run,
    nodes: topo.nodes.map((n) => n.id).sort(),
    control,
    pairBytes: future.pairBytes,
    linkUtilization: future.linkUtilization,
    trainingPairBytes: past.pairBytes,
    trainingLinkUtilization: past.linkUtilization,
    ...(registry ? { registry } : {}),
  };
}

/**
 * The run's registry when the scenario asks for one (`Scenario.registry`): the Kademlia model on the scenario's
 * nodes (warm routing tables, no republish timer: the run drains its kernel), its random streams under
 * `registry/`, and the access the policies discover through.
 */
function simRegistry(scenario: Scenario, sim: Simulator): RegistryAccess | undefined {
  const r = scenario.registry;
  if (r === undefined) return undefined;
  const service = deployRegistry(sim, new RandomStreams(scenario.seed, scenario.run), scenario.topology, {
    warm: true,
    republish: false,
    nodes: r.nodes,
    k: r.replication,
    name: "registry/kademlia",
  });
  return new RegistryAccess(service, () => sim.now, r.ttlNs, r.registrationWaitNs);
}

/**
 * The policy of one simulator run, ready to drive: a control-loop policy from its factory, a static baseline as a
 * {@link StaticRoutes} policy whose routing is the default data plane. New flows with no usable route stall on
 * their failure-free least-hop path. `onAdvance` is called with the simulated time as the driver moves it on.
 */
export async function startController(
  scenario: Scenario,
  policy: EnginePolicy,
  sim: Simulator,
  net: Transport,
  trace: TraceBus,
  routing: RoutingPolicy,
  onAdvance?: (nowNs: number) => void,
): Promise<Controlled> {
  const topo = scenario.topology;
  const control = scenario.control;
  const horizonNs = scenario.intervals.reduce((m, iv) => Math.max(m, iv.endNs), 0);
  const bins = Math.max(1, Math.ceil(horizonNs / control.intervalNs));
  let fallback: ReturnType<typeof allPairsShortestPaths> | undefined;
  const ctl = new SimControlPlane(sim, net, routing, trace, {
    setupLatencyNs: control.setupLatencyNs,
    vnaPoolSize: control.vnaPoolSize,
    kPaths: control.kPaths,
    stallPath: (s, d) => {
      fallback ??= allPairsShortestPaths(topo, { weight: "hops" });
      return fallback.path(s, d) ?? undefined;
    },
  });
  const registry = policy.controller ? simRegistry(scenario, sim) : undefined;
  const p = policy.controller
    ? await policy.controller(controllerContext(scenario, routing, registry))
    : new StaticRoutes(policy.name);
  const applications = new ApplicationTrafficCounter(topo.nodes.map((x) => x.id));
  const dataPlane = new SimDataPlane(net, ctl, {
    linksChanged: (down) => routing.linksChanged?.(down) ?? false,
    reconvergence: policy.controller ? "all" : "stalled",
    applications,
  });
  // The policy acts through the recording decorator: every action a record for actions.csv.
  const actions: ActionRecord[] = [];
  const recorded = recording(ctl, {
    sink: (r) => actions.push(r),
    clockNs: () => sim.now,
    setupLatencyNs: control.setupLatencyNs,
  });
  const busy = registry && (() => registry.pending > 0);
  const driver = new ControlDriver(new SimClock(sim, onAdvance, busy), dataPlane, recorded, p, {
    intervalNs: control.intervalNs,
    endNs: bins * control.intervalNs,
    failures: scenario.failures,
    convergenceDelayNs: control.convergenceDelayNs,
  });
  const n = topo.nodeCount;
  const keys = new Int32Array(n * n);
  /** The application of each flow in flight, for its outcome at its end. */
  const flowApplication = new Map<number, string>();
  const sink: FlowSink = {
    topology: topo,
    startFlow: (spec: FlowSpec) => {
      if (spec.application !== undefined)
        applications.count(spec.application, spec.src, spec.dst, spec.sizeBytes);
      const id = ctl.startFlow(
        spec.src,
        spec.dst,
        spec.sizeBytes,
        spec.tag ?? 0,
        keys[spec.src * n + spec.dst]!++,
        firewallFields(spec),
      );
      if (spec.application !== undefined) {
        if (id < 0) applications.refused(spec.application);
        else flowApplication.set(id, spec.application);
      }
      return id;
    },
  };
  trace.on("flowEnd", (r) => {
    const app = flowApplication.get(r.flow);
    if (app === undefined) return;
    flowApplication.delete(r.flow);
    applications.ended(app, r.endNs - r.startNs);
  });
  let mirroredBytes = 0;
  trace.on("flowEnd", (r) => {
    if (r.wireBytes > r.sizeBytes) mirroredBytes += r.wireBytes - r.sizeBytes;
  });
  const nodes = topo.nodes.map((x) => x.id);
  const attacks = scenario.attacks?.length
    ? new SimAttacks(
        sim,
        scenario.attacks,
        { seed: scenario.seed, run: scenario.run, nodes },
        recorded,
        ctl,
        p,
        control.setupLatencyNs.firewall,
      )
    : undefined;
  return {
    ctl,
    driver,
    policy: p,
    sink,
    mirroredBytes: () => mirroredBytes,
    actions,
    ...(registry ? { registry } : {}),
    ...(attacks ? { attacks } : {}),
  };
}

export function overheadOf(c: Controlled): ControlOverhead {
  const s = c.ctl.stats;
  return {
    controlActions: Object.values(s.actions).reduce((a, b) => a + b, 0),
    actions: { ...s.actions },
    errors: Object.fromEntries(Object.entries(s.errors).sort((a, b) => (a[0] < b[0] ? -1 : 1))),
    setupLatencyNs: s.setupLatencyNs,
    hitRateFlows: s.flows ? s.hitFlows / s.flows : 0,
    hitRateBytes: s.bytes ? s.hitBytes / s.bytes : 0,
    vnaSeconds: s.vnaSeconds,
    vnaSecondsWasted: s.vnaSecondsWasted,
    mirroredBytes: c.mirroredBytes(),
    ...(s.probeBytes > 0 ? { probeBytes: s.probeBytes } : {}),
    ...(c.ctl.firewallActive ? { firewall: { ...s.firewall } } : {}),
  };
}

/** What the firewall matches a flow on besides its pair: the application, port and protocol its spec carries. */
function firewallFields(spec: FlowSpec): FlowMatchFields {
  const f: FlowMatchFields = {};
  if (spec.application !== undefined) f.application = spec.application;
  if (spec.port !== undefined) f.port = spec.port;
  if (spec.protocol !== undefined) f.protocol = spec.protocol;
  return f;
}
