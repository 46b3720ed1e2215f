/**
 * The engine contract: an {@link Engine} runs one policy of a {@link Scenario} and returns its {@link RunRecords},
 * typed measurements in simulated units (ns, bits/s, bytes), the same shape from every engine (the fluid simulator,
 * sim/engine/run.ts; the Linux emulator, emulate/engine.ts; next, the packet simulator). Engines do not serialize:
 * experiments/ turns records into summary.json, flows.csv, links.csv, actions.csv and timeseries.csv.
 *
 * What is engine-neutral here, and where each engine differs:
 * - flows: one {@link FlowRow} per finished flow, its ideal FCT from sim/substrate/ideal-fct.ts (one definition
 *   for every engine, so slowdowns compare across engines);
 * - links: bits per link per sampling interval ({@link LinkSamples}), from the same sampler in both engines;
 * - actions: the recording decorator's records (models/policies/recording.ts), the policy's control actions;
 * - recoveries: the control driver's time to recover per pair a failure hit (models/control/driver.ts);
 * - overhead: tagged by engine ({@link EngineOverhead}), since what an engine can measure of its own cost differs
 *   (the simulator's counters are deterministic; the emulator's are wall-clock latencies and kernel counters).
 */

import type { DecisionTiming, RecoveryRecord } from "../../models/control/driver.ts";
import type { ActionRecord } from "../../models/policies/recording.ts";
import type { Policy, PolicyEvent } from "../../models/policies/types.ts";
import type { DiscoveryTotals } from "../../models/services/instance-directory.ts";
import type { FlowEndEvent } from "../../models/workload/flow-sink.ts";
import type { ApplicationProfile } from "../../models/workload/profiler.ts";
import type { FlowRow, FlowStatsSummary } from "../metrics/flow-stats.ts";
import type { LinkSamples, LinkUtilizationSummary } from "../metrics/link-sampler.ts";
import type { LinkIntervalEvent } from "../metrics/trace.ts";
import type { IdsRecords } from "./attacks.ts";
import type { ControlOverhead } from "./controller.ts";
import type { EnginePolicy, Scenario } from "./types.ts";

/** The engines topocast has: the fluid simulator and the Linux emulator (manifest.json's `engine`). */
export type EngineName = "sim" | "emulate";

/** Runs one policy of a scenario. Every policy of a scenario sees the same flows (arrival times, sizes, pairs). */
export interface Engine {
  readonly name: EngineName;
  /**
   * Runs `policy` on the scenario's topology and workload until the flows drain (or the engine's window ends).
   * @throws the engine's error class (EmulationError, ...) when the run cannot take place; a policy's own error.
   */
  run(scenario: Scenario, policy: EnginePolicy): Promise<RunRecords>;
}

/** The finished flows of a run, as a table (column-wise in the collector: no object per flow until read). */
export interface FlowTable {
  /** Number of finished flows. */
  readonly count: number;
  /** The finished flows by ascending flow id (ties, which a workload never makes, in completion order). */
  byFlowId(): IterableIterator<FlowRow>;
}

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

/** The timeseries row of a closed sampling interval. */
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

/**
 * The emulation's cost of a run (wall-clock latencies and kernel counters, not deterministic); computed in
 * emulate/emulation-overhead.ts, declared here so the {@link EngineOverhead} union can name it.
 */
export interface EmulationOverhead {
  controlActions: number;
  actions: Record<string, number>;
  errors: Record<string, number>;
  /** Measured latency of each verb's successful calls, ms: count, median, 95th percentile, max. */
  actionLatencyMs: Record<string, { n: number; median: number; p95: number; max: number }>;
  /** Calls of verbs this engine does not implement yet, by verb (the policy saw UnsupportedInEmulationError). */
  unsupported: Record<string, number>;
  /** Ticks that started more than half a tick late, of all ticks. */
  lateTicks: number;
  ticks: number;
  /** Flows that failed at the agent (connection refused, reset), by error message. */
  flowErrors: Record<string, number>;
  /** Median lateness of flow starts behind their schedule, wall ms. */
  medianStartLateMs: number | null;
  /** Control instants skipped because the policy was still deciding the previous one. */
  skippedControlSteps: number;
  /** Packets dropped at link egress (full FIFOs) over the run, all links. */
  egressDrops: number;
  /** UDP datagrams dropped on receive in the run's namespaces (userspace wires: packets the link lost). */
  udpReceiveErrors: number;
  /** Probes sent, their echo packets both ways and those packets' IP bytes (emulated network). */
  probeTraffic: { probes: number; packets: number; bytes: number };
  /** Bytes the mirrors sent as copies, with VXLAN encapsulation (emulated network), as last read. */
  mirroredBytes: number;
  /** Link state changes as they happened (the failed or repaired links' ids). */
  linkEvents?: AppliedLinkEvent[];
  /** With linkEvents: when each reconvergence's default routes were in, on the run's clock, simulated ns. */
  reconvergedNs?: number[];
}

/**
 * A link state change as it happened: the links' ids, and the run's clock when their devices had gone down or up,
 * simulated ns. Link events come on ticks, which a busy machine starts late, so this is the failure's real instant
 * (later than the config's), the one to measure a failover from.
 */
export interface AppliedLinkEvent {
  links: string[];
  up: boolean;
  appliedNs: number;
}

/** A run's overhead, tagged by the engine that measured it. */
export type EngineOverhead =
  | ({ engine: "sim" } & ControlOverhead)
  | ({ engine: "emulate" } & EmulationOverhead);

/** What an engine returns for one policy: typed records in simulated units, no file formats. */
/** `{policyEvents}` of a policy that reports events (none: nothing), for a RunRecords literal. */
export function policyEventsOf(policy: Policy): { policyEvents?: readonly PolicyEvent[] } {
  const events = policy.policyEvents?.() ?? [];
  return events.length > 0 ? { policyEvents: events } : {};
}

export interface RunRecords {
  /** The policy's label in the experiment, registry name and validated parameters. */
  label: string;
  name: string;
  params: Readonly<Record<string, unknown>>;
  /** Flows that arrived, finished, and never finished (stalled on a link that stayed down, or cut by the window). */
  flowCounts: { started: number; completed: number; unfinished: number };
  /** End of the last closed sampling interval, ns. */
  simulatedNs: number;
  /** Every finished flow. */
  flows: FlowTable;
  /** FCT and slowdown statistics of `flows`, overall and by the scenario's size buckets. */
  flowStats: FlowStatsSummary;
  /** Bits per link per sampling interval. */
  links: LinkSamples;
  /** MLU statistics of `links`. */
  linkStats: LinkUtilizationSummary;
  /** One row per closed sampling interval. */
  timeseries: readonly TimeseriesRow[];
  /** The policy's control actions, in the order they settled. */
  actions: readonly ActionRecord[];
  /** Pairs a failure hit and their time to recover, ns. */
  recoveries: readonly RecoveryRecord[];
  /** Instance discovery through the registry, when the scenario has one (models/services/instance-directory.ts). */
  discovery?: DiscoveryTotals;
  /** The policy's decisions beyond actions (models/policies/types.ts PolicyEvent), when it reports any. */
  policyEvents?: readonly PolicyEvent[];
  overhead: EngineOverhead;
  /** Bytes and flows per application per metrics interval (profile.csv), when the scenario asks for it. */
  profile?: ApplicationProfile;
  /** What the intrusion detection did (sim/engine/attacks.ts), when the scenario has attacks. */
  ids?: IdsRecords;
  /** Work units of the run for diagnostics (simulator events; emulator ticks); not in summary.json. */
  events: number;
  /** Wall time of the policy's control decisions (the machine's, not simulated): manifest.json only. */
  decisions: DecisionTiming;
  /**
   * The applications' connections as the kernel tracked them (the emulator with `emulation.conntrack`;
   * emulate/conntrack.ts), as request and response flows: a record independent of the agents' own reports.
   */
  connections?: ConnectionFlows;
  /**
   * The emulator: when each flow's agent really started it (flow id -> simulated ns; `flows` carry the scheduled
   * starts), as conntrack's connections carry the kernel's: for windowing both sources alike (persona learning).
   */
  actualStartsNs?: ReadonlyMap<number, number>;
}

/** A connection's request or response as a flow row (the fields persona learning reads, models/personas/learn.ts). */
export type ConnectionFlow = Pick<FlowEndEvent, "src" | "dst" | "sizeBytes" | "startNs" | "endNs" | "tag">;

/** Application flows read from tracked connections, and the connections that could not be read as one. */
export interface ConnectionFlows {
  flows: ConnectionFlow[];
  /** Connections to a port of no application (the traffic matrix's, probes, the relays' and VXLAN's). */
  other: number;
  /** Application connections without a start (older than the recorder) or without counters. */
  unread: number;
  /**
   * Application connections cut before their transfer finished (TCP: not closed by FIN when counted, so the run
   * stopped mid-transfer or a side reset it): their responses are left out, as the agents leave out unfinished
   * flows; their requests count when the server had acknowledged them.
   */
  unfinished: number;
  /** Connections that more than one application pair could have made (the first, in pair order, is taken). */
  ambiguous: number;
  /**
   * Read connections whose bytes came from the TCP sequence numbers the kernel saw (retransmissions once), not from
   * its counters (every copy), and those whose request ended when the server's first payload arrived, not at the
   * handshake's reply (emulate/conntrack.ts MARK). Absent: not counted.
   */
  sequenced?: number;
  answered?: number;
  /**
   * Whether the kernel dropped connection events because a reader fell behind (a busy machine): starts then go
   * missing and their connections count as unread.
   */
  eventsLost: boolean;
}
