/**
 * The emulation engine: one policy of a {@link Scenario} on Linux namespaces, measured like the simulator measures
 * it: the same {@link RunRecords} (sim/engine/records.ts; flow records with the same ideal FCT, link samples,
 * action records from the recording decorator, recoveries), with the overhead tagged `emulate`.
 *
 * What runs, per policy:
 * 1. The substrate ({@link withSubstrate}): the scenario's topology scaled (emulate/scaling.ts), built fresh, torn
 *    down after.
 * 2. The flows: the scenario's flow schedule, the one the simulator replays (sim/engine/schedule.ts), cut at the
 *    emulated window, replayed by one traffic agent per node (emulate/traffic-agents.ts) as real TCP connections;
 *    their reports go to the flow ledger (emulate/flow-ledger.ts).
 * 3. The policy, unchanged, under the same control driver as in the simulator (models/control/driver.ts): a
 *    control-loop policy gets the same {@link ControllerContext} and acts through the {@link EmulationControlPlane}
 *    (rates scaled); a static baseline runs as a StaticRoutes policy whose routing is pinned per pair
 *    (emulate/static-routes.ts). The driver's clock is the wall clock in ticks (emulate/emulation-clock.ts), its
 *    data plane the namespaces (emulate/emulation-data-plane.ts): failures, convergence delay, failure hooks and time
 *    to recover as in the simulator.
 * 4. Before traffic, the link checks (emulate/checks.ts); the measured delays feed the observations' delayNs.
 * 5. The scenario's applications, when it has any: their call graphs run live on the agents
 *    (emulate/live-applications.ts), each exchange a connection to its application's port at the callee's instance.
 * 6. With `emulation.conntrack`, the kernel's connection tracker records those connections in every namespace
 *    (emulate/conntrack.ts): RunRecords.connections, a second record beside the agents' reports.
 */

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ControlDriver, decisionTiming } from "../models/control/driver.ts";
import { type ActionRecord, recording } from "../models/policies/recording.ts";
import { StaticRoutes } from "../models/policies/static-routes.ts";
import type { Policy } from "../models/policies/types.ts";
import { RegistryAccess } from "../models/services/instance-directory.ts";
import { applicationPairs } from "../models/workload/applications.ts";
import type { FlowArrival } from "../models/workload/flow-schedule.ts";
import { controllerContext } from "../sim/engine/controller.ts";
import {
  type Engine,
  policyEventsOf,
  type RunRecords,
  type TimeseriesRow,
  timeseriesRow,
} from "../sim/engine/records.ts";
import type { EnginePolicy, Scenario } from "../sim/engine/types.ts";
import { Simulator } from "../sim/kernel/simulator.ts";
import { FlowStatsCollector } from "../sim/metrics/flow-stats.ts";
import { LinkUtilizationSampler } from "../sim/metrics/link-sampler.ts";
import { TraceBus } from "../sim/metrics/trace.ts";
import { IdealFct } from "../sim/substrate/ideal-fct.ts";
import type { Topology } from "../sim/substrate/topology.ts";
import { applicationPorts, declaredPorts, listenPorts } from "./application-ports.ts";
import type { Capabilities } from "./capabilities.ts";
import { checkLinks, checkRates, type LinkCheck, type RateCheck } from "./checks.ts";
import { ConntrackRecorder, connectionFlows, trackedPorts } from "./conntrack.ts";
import { EmulationControlPlane } from "./control-plane.ts";
import { LinkCounters, udpReceiveErrors } from "./counters.ts";
import { type EmuRegistryService, engineRegistryOptions, startRegistry } from "./dht/registry.ts";
import { EmulationClock } from "./emulation-clock.ts";
import { EmulationDataPlane } from "./emulation-data-plane.ts";
import { actionOverhead, medianStartLateMs } from "./emulation-overhead.ts";
import { EmulationError } from "./errors.ts";
import { FlowLedger } from "./flow-ledger.ts";
import { LiveApplications } from "./live-applications.ts";
import type { Plan } from "./plan.ts";
import { type EmulationRunSettings, emulatedWindowNs } from "./run-settings.ts";
import { readState, runDir, writeState } from "./run-state.ts";
import { ProcessRunner, type Runner } from "./runner.ts";
import { type ScaledControlPlane, scaledControlPlane } from "./scaled-control-plane.ts";
import { scaleTopology } from "./scaling.ts";
import { EmuAttacks } from "./sidecar/attack-run.ts";
import { pinStaticRoutes } from "./static-routes.ts";
import { type UpResult, withSubstrate } from "./substrate.ts";
import { EmulationInterrupted, TrafficAgents } from "./traffic-agents.ts";

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

/** What one policy's emulation is made of, once its substrate is up. */
interface Run {
  scenario: Scenario;
  policy: EnginePolicy;
  flows: readonly FlowArrival[];
  settings: EmulationRunSettings;
  opts: EmulatePolicyOptions;
  runner: Runner;
  plan: Plan;
  emuCtl: EmulationControlPlane;
  ledger: FlowLedger;
  ctl: ScaledControlPlane;
  /** The run's registry (bittorrent-dht processes), when the scenario asks for one. */
  registry?: RegistryAccess;
  /** The run's action records (actions.csv): the policy's, and the intrusion prevention's deny rules. */
  actions: ActionRecord[];
}

/**
 * The emulator as an {@link Engine}: each run emulates one policy on its own fresh substrate, replaying `flows`
 * (the scenario's, cut at the emulated window). Options are those of {@link emulatePolicy}; `perPolicy` adds
 * options for one policy (callbacks that need to know which).
 */
export function emulationEngine(
  flows: readonly FlowArrival[],
  settings: EmulationRunSettings,
  opts: EmulatePolicyOptions,
  perPolicy: (policy: EnginePolicy) => Partial<EmulatePolicyOptions> = () => ({}),
): Engine {
  return {
    name: "emulate",
    run: (scenario, policy) =>
      emulatePolicy(scenario, policy, flows, settings, { ...opts, ...perPolicy(policy) }),
  };
}

/**
 * Emulates one policy of the scenario on its own fresh substrate and returns its records, as the simulator's
 * `runPolicy` does. The substrate is torn down before this resolves, whatever happens (and on SIGINT/SIGTERM).
 * @throws EmulationError when the substrate cannot be built or an agent fails to start.
 */
export async function emulatePolicy(
  scenario: Scenario,
  policy: EnginePolicy,
  flows: readonly FlowArrival[],
  settings: EmulationRunSettings,
  opts: EmulatePolicyOptions,
): Promise<RunRecords> {
  const c = settings.timeCompression;
  const runner = opts.runner ?? new ProcessRunner({ verbose: opts.verbose ?? false });
  const dir = opts.dir ?? runDir();
  const substrate = {
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
  };
  return withSubstrate(scaleTopology(scenario.topology, settings.rateScale, c), substrate, async (up) => {
    opts.onUp?.(up);
    const state = readState(up.runId, dir);
    if (!state) throw new EmulationError(`run ${up.runId}: state file vanished`);
    let epoch: bigint | undefined;
    // Each application's flows go to its own port (its declared one, if any), so firewall rules by application
    // match them.
    const apps = scenario.applications;
    state.applicationPorts = applicationPorts(
      [...flows.map((f) => f.application), ...(apps ? applicationPairs(apps) : [])],
      settings.port,
      apps ? declaredPorts(apps) : {},
    );
    const listen = listenPorts(scenario.topology, state.applicationPorts, apps);
    writeState(state, dir);
    const emuCtl = new EmulationControlPlane(state, {
      runner,
      dir,
      vnaPoolSize: scenario.control.vnaPoolSize,
      nowNs: () => Number(process.hrtime.bigint() - (epoch ?? process.hrtime.bigint())) * c,
    });
    const ledger = new FlowLedger(scenario.topology, flows, emuCtl, c);
    const ctl = scaledControlPlane(
      emuCtl,
      { rateScale: settings.rateScale, timeCompression: settings.timeCompression },
      (vl) => ledger.activeOnVirtualLink(vl),
    );
    const run: Run = {
      scenario,
      policy,
      flows,
      settings,
      opts,
      runner,
      plan: up.plan,
      emuCtl,
      ledger,
      ctl,
      actions: [],
    };
    const work = mkdtempSync(join(tmpdir(), `topocast-${up.runId}-`));
    let agents: TrafficAgents | undefined;
    let live: LiveApplications | undefined;
    let conntrack: ConntrackRecorder | undefined;
    let dht: EmuRegistryService | undefined;
    let attacks: EmuAttacks | undefined;
    /** The run's clock: simulated ns since the epoch (0 before). */
    const simNow = () => (epoch === undefined ? 0 : Number(process.hrtime.bigint() - epoch) * c);
    try {
      // The registry's DHT processes, one per substrate node, before the clock starts; latencies on the run's clock.
      if (scenario.registry && policy.controller) {
        dht = await startRegistry(up, engineRegistryOptions(scenario.registry, c));
        run.registry = new RegistryAccess(
          dht,
          simNow,
          scenario.registry.ttlNs,
          scenario.registry.registrationWaitNs,
        );
      }
      const { policy: p, routing } = await preparePolicy(run);
      const measuredDelayNs = await preflight(run);
      agents = new TrafficAgents(
        up.plan,
        flows,
        settings,
        work,
        emulatedWindowNs(scenario, settings) + settings.drainNs,
        ledger.onReport,
        state.applicationPorts,
        { listen, live: apps !== undefined, topology: scenario.topology },
      );
      if (apps)
        live = new LiveApplications(scenario.topology, apps, up.plan, agents, ledger, settings, {
          seed: scenario.seed,
          run: scenario.run,
          untilNs: emulatedWindowNs(scenario, settings),
          firstId: flows.reduce((m, f) => Math.max(m, f.id + 1), 0),
          ports: state.applicationPorts,
        });
      await agents.whenListening(opts.signal);
      if (settings.conntrack)
        conntrack = await ConntrackRecorder.start(
          up.plan,
          runner,
          opts.capabilities.tools.conntrack ?? null,
          work,
          apps ? trackedPorts(apps, state.applicationPorts) : null,
        );
      // The config's attacks (their sidecars, tripwires and detector) before the clock starts.
      if (scenario.attacks?.length) attacks = await startAttacks(run, up, dir, simNow);
      // Every agent listens: start the clock half a second from now, on all of them at once.
      epoch = agents.startClock();
      ledger.epoch = epoch;
      live?.start(epoch);
      attacks?.play(epoch);
      const records = await drive(run, p, policy.controller ? null : routing, measuredDelayNs, epoch, agents);
      if (attacks) {
        await attacks.stop();
        records.ids = attacks.records(benignRefused(ledger));
      }
      if (conntrack && apps) {
        const entries = await conntrack.stop();
        const ideal = new IdealFct(scenario.topology);
        records.connections = connectionFlows(entries, {
          eventsLost: conntrack.eventsLost,
          plan: up.plan,
          applications: apps,
          ports: state.applicationPorts,
          epoch,
          timeCompression: c,
          untilNs: emulatedWindowNs(scenario, settings) + settings.drainNs,
          transferNs: (server, client, bytes) => ideal.ns(server, client, bytes),
        });
      }
      return records;
    } finally {
      await attacks?.stop(0);
      await conntrack?.close();
      live?.stop();
      agents?.stop();
      await dht?.close();
      rmSync(work, { recursive: true, force: true });
    }
  });
}

/**
 * The config's attacks (their sidecars, tripwires and detector), before the clock starts. The detector's deny rules
 * go through the recording decorator, stamped with `nowNs` (the run's clock, rounded to integer ns), into the run's actions (actions.csv),
 * as the simulator's do.
 */
function startAttacks(
  run: Run,
  up: { runId: string; plan: Plan },
  dir: string,
  nowNs: () => number,
): Promise<EmuAttacks> {
  const { scenario, settings } = run;
  return EmuAttacks.start({
    up,
    attacks: scenario.attacks ?? [],
    seed: scenario.seed,
    run: scenario.run,
    windowNs: emulatedWindowNs(scenario, settings),
    timeCompression: settings.timeCompression,
    firewall: recording(run.ctl, {
      sink: (r) => run.actions.push(r),
      clockNs: () => Math.round(nowNs()),
      wallClockNs: () => Number(process.hrtime.bigint()),
    }),
    dir,
  });
}

/**
 * The agents' flows (all benign) refused: denied by a rule at their start, or refused on the wire (ECONNREFUSED: a
 * deny rule matched a connection the rules in force did not predict), and their bytes (the flows' sizes).
 */
function benignRefused(ledger: FlowLedger): { flows: number; bytes: number } {
  return { flows: ledger.denied + (ledger.flowErrors.ECONNREFUSED ?? 0), bytes: ledger.refusedBytes };
}

/** The policy to drive: a control-loop policy from its factory, or a static baseline with its routes pinned. */
async function preparePolicy(
  run: Run,
): Promise<{ policy: Policy & { dispose?: () => void }; routing: ReturnType<EnginePolicy["create"]> }> {
  const { scenario, policy } = run;
  const routing = policy.create({ topology: scenario.topology, seed: scenario.seed, run: scenario.run });
  // The verbs' command channels start now, not at the first action (a start blocks the controller's event loop).
  run.emuCtl.openChannels([...(policy.verbs ?? []), ...(scenario.failures.length > 0 ? ["failure"] : [])]);
  if (policy.controller)
    return { policy: await policy.controller(controllerContext(scenario, routing, run.registry)), routing };
  await pinStaticRoutes(scenario.topology, routing, run.emuCtl, run.ctl);
  return { policy: new StaticRoutes(policy.name), routing };
}

/**
 * The link checks before traffic (delays by ping; rates by iperf3 when asked) and the measured one-way delays they
 * give, per link id, in simulated ns (min RTT / 2 x timeCompression).
 * @throws EmulationInterrupted when the run is aborted meanwhile.
 */
async function preflight(run: Run): Promise<Map<string, number>> {
  const { opts, runner, plan } = run;
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
      if (id !== null)
        measuredDelayNs.set(id, Math.round((lc.minRttMs / 2) * 1e6 * run.settings.timeCompression));
  }
  return measuredDelayNs;
}

/** The link sampler over the counters (its own clock, moved by the ticks) and the timeseries it closes. */
function linkSampling(
  topo: Topology,
  counters: LinkCounters,
  ledger: FlowLedger,
  tickNs: number,
  trace: TraceBus,
) {
  const clock = new Simulator();
  const sampler = new LinkUtilizationSampler(
    clock,
    {
      topology: topo,
      linkBitsUntilNow: (out: Float64Array) => counters.bitsUntil(clock.now, out),
      // Nominal capacity whether up or not, as the simulator's FlowNetwork reports it (a down link carries 0).
      linkCapacity: (l: number) => topo.links[l]!.capacityBps,
    },
    { intervalNs: tickNs, trace, stopWhenIdle: false },
  );
  const timeseries: TimeseriesRow[] = [];
  let completedBefore = 0;
  trace.on("linkInterval", (e) => {
    timeseries.push(timeseriesRow(e, ledger.finished - completedBefore, ledger.activeFlows()));
    completedBefore = ledger.finished;
  });
  return { clock, sampler, timeseries };
}

/** Drives the policy from the epoch until the flows drained (or the run ends early) and gathers the results. */
async function drive(
  run: Run,
  policy: Policy & { dispose?: () => void },
  staticRouting: ReturnType<EnginePolicy["create"]> | null,
  measuredDelayNs: ReadonlyMap<string, number>,
  epoch: bigint,
  agents: TrafficAgents,
): Promise<RunRecords> {
  const { scenario, settings, opts, ledger } = run;
  const topo = scenario.topology;
  const c = settings.timeCompression;
  const windowNs = emulatedWindowNs(scenario, settings);
  const trace = new TraceBus();
  const collector = new FlowStatsCollector(trace);
  const counters = await LinkCounters.start(run.emuCtl, run.plan, topo, (8 * c) / settings.rateScale);
  const sampling = linkSampling(topo, counters, ledger, scenario.metrics.intervalNs, trace);
  const dataPlane = new EmulationDataPlane({
    topology: topo,
    emuCtl: run.emuCtl,
    ctl: run.ctl,
    counters,
    ledger,
    measuredDelayNs,
    staticRouting,
    scale: { rateScale: settings.rateScale, timeCompression: c },
    runNs: () => Number(process.hrtime.bigint() - epoch) * c,
  });
  await dataPlane.checkDegradations(scenario.failures); // a degradation this run cannot emulate fails now
  const clock = new EmulationClock({
    epoch,
    timeCompression: c,
    tickNs: scenario.metrics.intervalNs,
    windowNs,
    endNs: windowNs + settings.drainNs,
    counters,
    sampling: sampling.clock,
    done: () => ledger.done,
    checkAlive: () => agents.checkAlive(),
    ...(opts.signal ? { signal: opts.signal } : {}),
    ...(opts.onProgress ? { onProgress: opts.onProgress } : {}),
  });
  // The policy acts through the recording decorator, in simulated units (outside the scaling), stamped with the
  // driver's clock; wall latency from the system clock. Setup latencies are not configured here: they are real.
  const actions = run.actions;
  const recorded = recording(run.ctl, {
    sink: (r) => actions.push(r),
    clockNs: () => clock.nowNs,
    wallClockNs: () => Number(process.hrtime.bigint()),
  });
  const driver = new ControlDriver(clock, dataPlane, recorded, policy, {
    intervalNs: scenario.control.intervalNs,
    endNs: windowNs,
    failures: scenario.failures,
    convergenceDelayNs: scenario.control.convergenceDelayNs,
  });
  // After an interrupt, a failed action is part of the interruption, not the policy's fault (the driver then
  // does not rethrow).
  await driver.run();
  await run.emuCtl.sync(); // the verbs' last counters (probes in flight, mirrors), then no more reading
  run.emuCtl.close();
  await ledger.settle();
  sampling.sampler.flush();
  policy.dispose?.();
  ledger.emitRecords(trace);
  const linkStats = sampling.sampler.summary();
  // After an interrupt, flows whose start had not come are not counted (neither started nor unfinished).
  const started = opts.signal?.aborted ? ledger.started : ledger.flowCount;
  return {
    label: run.policy.label,
    name: run.policy.name,
    params: run.policy.params,
    flowCounts: { started, completed: ledger.finished, unfinished: started - ledger.finished },
    simulatedNs: linkStats.endNs ?? 0,
    flows: collector,
    flowStats: collector.summary({
      sizeBucketEdges: scenario.metrics.sizeBucketEdges,
      sizeBucketNames: scenario.metrics.sizeBucketNames,
    }),
    links: sampling.sampler.samples(),
    linkStats,
    timeseries: sampling.timeseries,
    actions,
    recoveries: driver.recoveries,
    ...policyEventsOf(policy),
    ...(run.registry ? { discovery: run.registry.totals } : {}),
    overhead: {
      engine: "emulate",
      ...actionOverhead(actions),
      lateTicks: clock.lateTicks,
      ticks: clock.ticks,
      flowErrors: ledger.flowErrors,
      medianStartLateMs: medianStartLateMs(ledger.startLateMs),
      skippedControlSteps: driver.skippedSteps,
      egressDrops: counters.totalDrops(),
      udpReceiveErrors: await udpReceiveErrors(run.runner, run.plan),
      probeTraffic: { ...run.emuCtl.probes.overhead },
      mirroredBytes: run.emuCtl.mirrors.mirroredBytes(),
      ...(dataPlane.linkEvents.length > 0
        ? { linkEvents: dataPlane.linkEvents, reconvergedNs: dataPlane.reconvergedNs }
        : {}),
    },
    ...(scenario.metrics.profile ? { profile: ledger.profile(scenario.metrics.intervalNs) } : {}),
    events: clock.ticks,
    decisions: decisionTiming(driver.decisionWallMs),
    actualStartsNs: ledger.actualStarts(),
  };
}
