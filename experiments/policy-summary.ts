/**
 * One policy's entry in summary.json, from its run records (sim/engine/records.ts): flow counts, FCT and slowdown
 * statistics, MLU statistics, and the engine's overhead with time to recover.
 */

import { type RecoveryRecord, recoverySummary } from "../models/control/driver.ts";
import type { PolicyEvent } from "../models/policies/types.ts";
import type { DiscoveryTotals } from "../models/services/instance-directory.ts";
import type { IdsRecords } from "../sim/engine/attacks.ts";
import type { ControlOverhead } from "../sim/engine/controller.ts";
import type { EmulationOverhead, RunRecords } from "../sim/engine/records.ts";
import type { FlowStatsSummary } from "../sim/metrics/flow-stats.ts";
import type { LinkUtilizationSummary } from "../sim/metrics/link-sampler.ts";
import type { ApplicationFct } from "./application-fct.ts";
import type { EgressCost } from "./egress-cost.ts";
import type { IntentSatisfaction } from "./intent-satisfaction.ts";

/** Time to recover from failures, in summary.json's `overhead` of every engine. */
export interface RecoveryFacts {
  recoveries: RecoveryRecord[];
  /** Mean time to recover over the pairs that recovered, ns; null when none. */
  meanRecoveryNs: number | null;
  unrecoveredPairs: number;
}

/** One policy in summary.json. */
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
  /**
   * The engine's overhead (its `engine` tag dropped; manifest.json says which engine ran) and time to recover:
   * static baselines take no actions but recover.
   */
  overhead: (ControlOverhead | EmulationOverhead) & RecoveryFacts;
  /** Bytes over links with an egress cost and their cost (experiments/egress-cost.ts), when the topology has any. */
  egress?: EgressCost;
  /** FCT per application pair and application (experiments/application-fct.ts), when the config has applications. */
  applications?: ApplicationFct;
  /** Intent satisfaction of the config's intent mesh (experiments/intent-satisfaction.ts), when it has one. */
  intents?: IntentSatisfaction;
  /** The policy's decisions beyond actions (a persona applied, kept, reverted), when it reports any. */
  policyEvents?: PolicyEvent[];
  /** Instance discovery through the registry (config `intents.registry`): lookups, their latency and failures. */
  discovery?: DiscoveryTotals;
  /** Intrusion detection under the config's attacks (sim/engine/attacks.ts), when it has any. */
  ids?: IdsRecords;
}

/** A policy's summary.json entry from its run records. */
export function policySummary(r: RunRecords): PolicySummary {
  const { engine: _engine, ...overhead } = r.overhead;
  return {
    policy: r.label,
    name: r.name,
    params: r.params,
    flowCounts: r.flowCounts,
    simulatedNs: r.simulatedNs,
    flows: r.flowStats,
    links: r.linkStats,
    overhead: { ...overhead, recoveries: [...r.recoveries], ...recoverySummary(r.recoveries) },
    ...(r.policyEvents ? { policyEvents: [...r.policyEvents] } : {}),
    ...(r.discovery ? { discovery: r.discovery } : {}),
    ...(r.ids ? { ids: r.ids } : {}),
  };
}
