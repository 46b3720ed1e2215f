/**
 * The seam between policies and engines (see DESIGN.md). A policy observes the network through an
 * {@link Observation} and acts through a {@link ControlPlane}; it imports neither sim/ nor emulate/, so the very
 * same module runs in the simulator and on Linux namespaces.
 *
 * Identifiers are strings people can read in configs and logs: nodes by id (`"ATLAM5"`), links by id
 * (`"ATLAM5->ATLAng"`), paths as node-id sequences (`["A", "B", "C"]`, parallel links by link id when needed).
 * Units: time in integer ns, rates in bits/s, volumes in bytes.
 */

import type { FirewallRule, NodePath, QosMatch } from "./verb-args.ts";
import type { ControlPlane } from "./verbs.ts";

export type { FirewallRule, NodePath, Pair, QosMatch, QosSpec, VirtualLinkOptions } from "./verb-args.ts";
export { pairKey } from "./verb-args.ts";
export type { ControlPlane } from "./verbs.ts";

/** Traffic of one pair over the last control interval. */
export interface PairTraffic {
  src: string;
  dst: string;
  /** Bytes delivered or in flight attributed to the interval. */
  bytes: number;
  /** Flows that started in the interval. */
  flows: number;
}

/**
 * Traffic of one application between one pair of nodes over the last control interval: the flows that arrived
 * (counted at arrival, with their whole size), like {@link PairTraffic}.
 */
export interface ApplicationTraffic {
  /**
   * The application: an application pair `"A->B"` of the applications workload (requests of A's calls to B, or B's
   * responses to A; `"client"` for external clients), or `"tm"` for the traffic matrix's flows.
   */
  application: string;
  src: string;
  dst: string;
  bytes: number;
  flows: number;
}

/**
 * How one application's flows fared over the last control interval: flows that completed in it (with their
 * completion times, arrival to last byte at the destination, ns) and flows a firewall refused at arrival.
 */
export interface ApplicationFlowStats {
  /** The application, as in {@link ApplicationTraffic}. */
  application: string;
  /** Flows that completed in the interval. */
  completed: number;
  /** Flows refused by a firewall rule in the interval (they never complete). */
  refused: number;
  /** Mean and 99th percentile (nearest rank) FCT of the completed flows, ns; null when none completed. */
  meanFctNs: number | null;
  p99FctNs: number | null;
  /**
   * Every completed flow's FCT, ns, ascending (the persona policy tests a trial's against its baseline's:
   * models/policies/persona-stats.ts); absent where the engine does not report them.
   */
  fctsNs?: readonly number[];
}

/** One directed link over the last control interval. */
export interface LinkStats {
  id: string;
  src: string;
  dst: string;
  up: boolean;
  capacityBps: number;
  /** Mean utilization over the interval, [0, 1] (can exceed 1 only when capacity dropped mid-interval). */
  utilization: number;
  /**
   * Packets dropped at the link's egress over the interval, where the engine measures them (emulation: the device's
   * and its root qdisc's drop counters); absent where it cannot (the fluid simulator has no packets or queues).
   */
  drops?: number;
  /** Measured one-way delay, ns, where the engine measures it (emulation); else the configured delay. */
  delayNs: number;
  /**
   * Fraction of packets the link loses now, [0, 1), where the engine knows it (simulator and emulator: a degraded
   * link's configured `loss`); absent on a link without known loss (read as 0).
   */
  lossRate?: number;
  /** The substrate link's `secure` attribute (trusted/encrypted; sim/substrate/topology.ts); absent: unknown. */
  secure?: boolean;
  /** The substrate link's egress cost, currency units per GB (1e9 bytes) sent; absent: unknown. */
  egressCostPerGB?: number;
}

export interface VirtualLinkInfo {
  id: string;
  src: string;
  dst: string;
  path: NodePath;
  /** Reserved rate, bits/s, or null for best effort. */
  rateBps: number | null;
  secure: boolean;
  /** Ready once its setup latency has elapsed; traffic is intercepted only by ready links. */
  ready: boolean;
  createdNs: number;
  /** Flows on the link right now (removing the link moves them to the default route). */
  activeFlows: number;
}

export interface ProbeResult {
  path: NodePath;
  /** Round-trip time, ns, or null if the probe was lost or the path is down. */
  rttNs: number | null;
  /** Available bandwidth estimate, bits/s, where the engine provides it. */
  availableBps: number | null;
  timeNs: number;
}

/** What a policy sees every control interval. Same shape from both engines. */
export interface Observation {
  /** Engine time at the end of the interval, ns. */
  timeNs: number;
  /** Control interval length, ns. */
  intervalNs: number;
  /** Node ids, sorted. */
  nodes: readonly string[];
  /** Per-pair traffic of the last interval, sorted by (src, dst); pairs with no traffic are omitted. */
  traffic: readonly PairTraffic[];
  /**
   * Per-application traffic of the last interval per pair, sorted by (application, src, dst); pairs with no traffic
   * omitted. Absent where the engine cannot tell which application a flow belongs to.
   */
  applications?: readonly ApplicationTraffic[];
  /**
   * Per-application outcomes of the last interval (completions with FCT, refusals), sorted by application; absent
   * where the engine cannot tell which application a flow belongs to.
   */
  applicationFlows?: readonly ApplicationFlowStats[];
  /** Per-link stats of the last interval, sorted by link id. */
  links: readonly LinkStats[];
  /** Current virtual links, sorted by id. */
  virtualLinks: readonly VirtualLinkInfo[];
  /** Explicit routes set by the policy (pair key -> path). */
  routes: ReadonlyMap<string, NodePath>;
  /** Virtual link endpoints in use / pool size, per node id. */
  vnaPool: ReadonlyMap<string, { used: number; capacity: number }>;
  /** Results of probes that completed during the interval. */
  probes: readonly ProbeResult[];
  /** Mirrors in place and how their flows ended over the interval, sorted by pair. */
  mirrors: readonly MirrorStats[];
  /** QoS classes in place, sorted by pair; absent where the engine does not report them. */
  qos?: readonly QosStats[];
  /** Firewall rules in force with their counters over the interval; absent where the engine does not report them. */
  firewall?: FirewallStats;
}

/** A QoS class in place: a pair's, or (with `match`) the class of the pair's flows it matches. */
export interface QosStats {
  src: string;
  dst: string;
  /** The flows of the pair it holds; absent: every flow of the pair its matched classes do not hold. */
  match?: QosMatch;
  priority: number;
  /** Guaranteed and ceiling rates, bits/s; null when the class has none. */
  rateBps: number | null;
  ceilBps: number | null;
}

/** The firewall over the last interval. */
export interface FirewallStats {
  /** Rules in force in the order they took effect, each with the new flows (and bytes) it decided. */
  rules: readonly { rule: FirewallRule; flows: number; bytes: number }[];
  /** New flows a rule refused, per pair, sorted by (src, dst). */
  refused: readonly PairTraffic[];
}

/** A pair's mirror and, over the last interval, how many of its mirrored flows ended and how many the mirror won. */
export interface MirrorStats {
  src: string;
  dst: string;
  path: NodePath;
  /** Mirrored flows of the pair that completed in the interval. */
  flows: number;
  /** Of those, how many the mirror copy delivered first. */
  mirrorWins: number;
  /** Bytes the mirror sent as copies over the interval (with tunnel overhead), where the engine counts them. */
  mirroredBytes?: number;
  /**
   * Per-path arrival counters at the destination over the interval, where the engine measures packets (emulation):
   * the primary path (the pair's own route) and the mirror path.
   */
  paths?: { primary: MirrorPathStats; mirror: MirrorPathStats };
}

/** One path of a mirrored pair at its destination over an interval (see {@link MirrorStats.paths}). */
export interface MirrorPathStats {
  /** Data segments this path delivered before the other path's copy. */
  firstSegments: number;
  /** The pair's packets that arrived by this path. */
  packets: number;
  /** 1 - arrived / sent over the interval (packets in flight at its ends blur it), or null when nothing was sent. */
  lossRate: number | null;
}

/**
 * Something a policy decided that is not a single action (a persona applied, kept or reverted): recorded in the
 * run's records (`policyEvents`) and summary.json next to the actions its decision made.
 */
export interface PolicyEvent {
  /** Engine time of the decision, ns. */
  timeNs: number;
  /** What happened, e.g. `"persona-revert"`. */
  kind: string;
  /** What it happened to, e.g. an application. */
  subject: string;
  /** The decision's numbers and reason, JSON-serializable. */
  detail?: Readonly<Record<string, unknown>>;
}

/** A policy: called every control interval; may also react to failures. */
export interface Policy {
  readonly name: string;
  /** Its decisions beyond actions so far, oldest first (optional: most policies have none). */
  policyEvents?(): readonly PolicyEvent[];
  decide(obs: Observation, ctl: ControlPlane): void | Promise<void>;
  /**
   * A link failed at `atNs` (engine time, ns); `obs` is the last interval's observation (taken before the failure).
   */
  onLinkDown?(linkId: string, obs: Observation, ctl: ControlPlane, atNs: number): void | Promise<void>;
  /** A link came back at `atNs`; as {@link onLinkDown}. */
  onLinkUp?(linkId: string, obs: Observation, ctl: ControlPlane, atNs: number): void | Promise<void>;
}

/** Base class of the control plane's typed errors. */
export class ControlError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}
/** A node's virtual-link endpoint pool is full. */
export class PoolExhaustedError extends ControlError {}
/** No usable path between the endpoints (or the given path is not one). */
export class NoPathError extends ControlError {}
/** The action needs a link that is down. */
export class LinkDownError extends ControlError {}
/** A node id the substrate does not have. */
export class UnknownNodeError extends ControlError {}
/** A reservation (virtual link or QoS rate) does not fit in the capacity left on its path. */
export class InsufficientCapacityError extends ControlError {}
/** A verb this engine does not implement (yet). */
export class UnsupportedActionError extends ControlError {}
/** An argument outside what the verb accepts (a firewall action, a negative rate, a ceiling below the guarantee). */
export class InvalidArgumentError extends ControlError {}
