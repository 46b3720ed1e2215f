/**
 * From a validated config to the engine's {@link Scenario}, one concept per builder: the topology
 * (scenario-topology.ts), the demand and flow sizes (scenario-demand.ts: window, TM, node mapping, pace, load),
 * applications (scenario-applications.ts), control and transport settings (scenario-control.ts), failures
 * (scenario-failures.ts), metrics (scenario-metrics.ts) and policies from the registry (scenario-policies.ts).
 * Every problem becomes a ConfigError located at the config field responsible (scenario-locate.ts); the builders
 * run in a fixed order, so a config with several problems reports the same one first every time.
 */

import type { DemandInterval, Scenario } from "../sim/engine/types.ts";
import { parseDurationNs } from "../sim/units.ts";
import type { ConfigError, LoadedConfig } from "./config/load.ts";
import { checkSteps, checkVerbs, simulatorVerbSupport } from "./config/scenario-checks.ts";
import { intentWorkloadFacts } from "./intent-satisfaction.ts";
import type { WorkloadFacts } from "./results.ts";
import { buildApplications } from "./scenario-applications.ts";
import { buildAttacks } from "./scenario-attacks.ts";
import { controlSettings, transportSettings } from "./scenario-control.ts";
import { buildDemand, buildFlowSizes, offeredBits } from "./scenario-demand.ts";
import { buildFailures } from "./scenario-failures.ts";
import { buildIntentTopology, withIntentDemand } from "./scenario-intents.ts";
import { metricsSettings } from "./scenario-metrics.ts";
import { buildPolicies, hasControlLoop } from "./scenario-policies.ts";
import { buildTopology } from "./scenario-topology.ts";

/** A scenario plus facts about its workload for summaries. */
export interface BuiltScenario {
  scenario: Scenario;
  workload: WorkloadFacts;
}

/** The engine's scenario of one run of a loaded config; `onWarning` as for {@link buildTopology}. */
export function buildScenario(
  loaded: LoadedConfig,
  run: number,
  onWarning?: (message: string) => void,
): BuiltScenario {
  const c = loaded.config;
  const error = loaded.error;
  const base = buildTopology(c, error, onWarning);
  const demand = buildDemand(c, base, run, error);
  const control = controlSettings(c.control);
  const mesh = c.intents ? buildIntentTopology(c.intents, base, error) : undefined;
  const topology = mesh?.topology ?? base;
  const grow = (ivs: readonly DemandInterval[]) =>
    mesh ? withIntentDemand(ivs, base, topology, mesh.mesh) : ivs;
  const intervals = grow(demand.intervals);

  const sizes = buildFlowSizes(c, error);
  const bits = offeredBits(demand.intervals);
  const horizonNs = demand.intervals[demand.intervals.length - 1]!.endNs;
  const intentFacts = mesh ? intentWorkloadFacts(mesh.mesh, horizonNs) : undefined;
  const expectedFlows = bits / 8 / sizes.mean() + (intentFacts?.expectedRequests ?? 0);
  const apps = c.workload.applications
    ? buildApplications(c.workload.applications, topology, horizonNs, error)
    : undefined;
  const allFlows = expectedFlows + (apps?.facts.expectedFlows ?? 0);
  if (allFlows > c.limits.maxFlows) {
    throw error(
      ["workload", "window", "duration"],
      `the workload would generate about ${Math.round(allFlows)} flows, more than limits.maxFlows (${c.limits.maxFlows}); shorten the window, use a shorter playInterval, lower the load, or raise limits.maxFlows`,
    );
  }

  const failures = buildFailures(c.failures, topology, horizonNs, error);
  const attacks = buildAttacks(c.attacks, topology, horizonNs, error);
  const metrics = metricsSettings(c.metrics, error);
  const policies = buildPolicies(loaded);
  checkSteps(c, horizonNs, hasControlLoop(loaded), error);
  checkVerbs(policies, simulatorVerbSupport(c.transport.model), error);
  return {
    scenario: {
      name: c.name,
      seed: c.seed,
      run,
      topology,
      intervals,
      trainingIntervals: grow(demand.trainingIntervals),
      control,
      transport: transportSettings(c.transport),
      flowSizes: sizes,
      ...(c.workload.arrivals ? { arrivals: c.workload.arrivals } : {}),
      policies,
      failures,
      ...(attacks.length > 0 ? { attacks } : {}),
      metrics,
      ...(apps ? { applications: apps.spec } : {}),
      ...(c.intents?.registry
        ? {
            registry: {
              ttlNs: parseDurationNs(c.intents.registry.ttl),
              replication: c.intents.registry.replication,
              registrationWaitNs: parseDurationNs(c.intents.registry.registrationWait),
              nodes: base.nodes.map((n) => n.id),
            },
          }
        : {}),
    },
    workload: {
      source: demand.source,
      intervals: demand.intervals.length,
      horizonNs,
      loadScale: demand.loadScale,
      offeredPeakMlu: demand.offeredPeakMlu,
      meanOfferedBps: (bits * 1e9) / horizonNs,
      expectedFlows: Math.round(expectedFlows),
      ...(apps ? { applications: apps.facts } : {}),
      ...(intentFacts ? { intents: intentFacts } : {}),
    },
  };
}

export type { ConfigError };
