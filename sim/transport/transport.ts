/**
 * The simulator's transport seam: what the control plane, the control driver's data plane and the metrics need
 * from a data plane that carries flows, whatever model computes their progress.
 *
 * A {@link Transport} carries flows of `sizeBytes` from `src` to `dst` along paths of directed link indices and
 * reports them through the trace bus (`flowStart`, `flowEnd` with a FlowRecord; FCT, ideal FCT and slowdown as
 * sim/metrics/trace.ts defines them). Optional **capabilities** are separate interfaces a model may implement;
 * callers test for them with the `has*` guards below and refuse, with a clear error, a verb that needs one the
 * configured model lacks, instead of silently degrading:
 *
 * | capability | what it adds | fluid (FlowNetwork) | packet (PacketNetwork) |
 * |---|---|---|---|
 * | {@link ReservationCapable} | rate reservations along a path, as pseudo links flows can be routed over | yes | no |
 * | {@link MirrorCapable} | a second copy of a flow on another path; the first copy to deliver wins | yes | no |
 * | {@link PriorityCapable} | QoS classes: guaranteed rate, ceiling, strict-priority borrowing | yes | no |
 * | {@link ProbeCapable} | what a probe packet along a path would see now (delay, queueing, loss) | yes (queueing with fluid queues) | yes (FIFO backlogs) |
 * | {@link DropCounting} | packets dropped per link egress | no (fluid rates never exceed capacity) | yes |
 * | {@link QualityCapable} | degraded links: capacity, delay and loss changed during a run | yes (loss as a Mathis cap per flow) | yes (loss as a drop probability) |
 *
 * Implementations: `fluid` (sim/transport/flow-network.ts: max-min fair rates, Bertsekas & Gallager section
 * 6.5.2) and `packet` (sim/transport/packet-network.ts: TCP NewReno over drop-tail FIFOs, packet by packet). The
 * model is chosen by the config's `transport.model` through `createTransport` (sim/transport/models.ts).
 *
 * Units: rates in bits/s, sizes in bytes, time in integer ns (the simulator's clock).
 */

import type { LinkQuality } from "../../models/control/driver.ts";
import type { TunnelCost } from "../../models/sidecar-costs.ts";
import type { FlowSink, FlowSpec as SinkFlowSpec } from "../../models/workload/flow-sink.ts";
import type { Topology } from "../substrate/topology.ts";

/** A flow to start: the workloads' spec (models/workload/flow-sink.ts) plus a mirror copy. */
export interface FlowSpec extends SinkFlowSpec {
  /** Link indices from src to dst: substrate links and/or pseudo links of reservations. */
  path: ArrayLike<number>;
  /** A second path carrying a mirror copy of the flow (see MirrorCapable). */
  mirrorPath?: ArrayLike<number>;
  /** QoS class of the flow's primary copy (see PriorityCapable); default none (best effort). */
  qosClass?: number;
  /**
   * What a tunnel the flow passes through costs it (a secure virtual link's mutual-TLS tunnel:
   * models/sidecar-costs.ts `tlsTunnelCost`): set-up before TCP's start-up, one-way delay on every round trip and
   * the last byte, bytes on the wire per payload byte. The fluid model takes it; the packet model ignores it.
   */
  tunnel?: TunnelCost;
}

/** Errors from misuse of a transport (unknown flow, invalid path, reservation that does not fit). */
export class TransportError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "TransportError";
  }
}

/**
 * The core every transport model provides; it is the workloads' flow sink. Link indices are the topology's directed
 * links.
 */
export interface Transport extends FlowSink {
  readonly topology: Topology;
  /** Flows transferring now (a flow stalled on a down link counts). */
  readonly activeFlows: number;
  /** Flows started so far; flow ids are 0, 1, 2, ... in order of arrival. */
  readonly startedFlows: number;
  /** Starts a flow now and returns its id. @throws TransportError for a bad size or path. */
  startFlow(spec: FlowSpec): number;
  /** Moves an active flow onto another path between the same endpoints. @throws TransportError */
  setPath(flow: number, path: ArrayLike<number>): void;
  /** Link indices an active flow follows. */
  pathOf(flow: number): readonly number[];
  /** Ids of active flows with a copy crossing `link`, ascending. */
  flowsOnLink(link: number): number[];
  /** Takes a link down (its flows stall) or brings it back. */
  setLinkUp(link: number, up: boolean): void;
  isLinkUp(link: number): boolean;
  /** Nominal capacity, bits/s (a down link keeps it). */
  linkCapacity(link: number): number;
  /** Aggregate rate on a link now, bits/s. */
  linkLoadBps(link: number): number;
  /** Bits carried per topology link from time 0 until now, written into `out` (length = link count). */
  linkBitsUntilNow(out: Float64Array): Float64Array;
}

/** Rate reservations: a reserved path becomes a pseudo link with exactly the reserved capacity. */
export interface ReservationCapable {
  /** @returns the pseudo link index. @throws TransportError when a link has less than `rateBps` unreserved. */
  reserve(path: ArrayLike<number>, rateBps: number): number;
  release(pseudo: number): void;
  /** Capacity of a substrate link not yet reserved, bits/s (0 when down). */
  unreservedBps(link: number): number;
  /** Substrate links under a pseudo link (the link itself for a substrate link). */
  substratePath(link: number): readonly number[];
}

/** Mirrored flows: a copy on a second path; the flow completes when the first copy delivers its last byte. */
export interface MirrorCapable {
  /** Adds, moves or (null) removes an active flow's mirror copy. */
  setMirror(flow: number, path: ArrayLike<number> | null): void;
  mirrorPathOf(flow: number): readonly number[] | null;
}

/** The strict-priority level of flows without a QoS class (htb's default class in the emulator has prio 7). */
export const BEST_EFFORT_LEVEL = 7;

/**
 * A QoS class (guaranteed-then-borrow, as Linux htb shares a link: Devera, "HTB Linux queuing discipline manual",
 * 2002). Its flows first get up to `guaranteedBps` together; capacity left over is then lent level by level,
 * strict priority (0 first, best effort at {@link BEST_EFFORT_LEVEL}), never taking a class above `ceilBps`.
 */
export interface QosClassSpec {
  /** Strict-priority level for borrowing: an integer 0 (first) .. 7 (best effort's level). */
  level: number;
  /** Rate the class's flows get together before any borrowing, bits/s (0: a pure priority class). */
  guaranteedBps: number;
  /** Most the class's flows get together, bits/s (Infinity: no ceiling). */
  ceilBps: number;
  /**
   * Substrate links on which the guarantee is committed: admission takes it from their capacity left after
   * reservations and other guarantees (so it never oversubscribes a link it was admitted on).
   */
  links: ArrayLike<number>;
}

/** QoS classes: flows in a class share its guarantee, then borrow by priority level (see {@link QosClassSpec}). */
export interface PriorityCapable {
  /** @returns the class id. @throws TransportError when the guarantee does not fit on one of its links. */
  addQosClass(spec: QosClassSpec): number;
  /** Removes a class; its flows become best effort. @throws TransportError for an unknown class. */
  removeQosClass(id: number): void;
  /** Puts an active flow's primary copy in a class (-1: best effort). @throws TransportError */
  setFlowQos(flow: number, qosClass: number): void;
  /** An active flow's class, or -1. */
  qosClassOf(flow: number): number;
}

/** What a probe packet sent along a path now would see, one way. */
export interface PathProbe {
  /** Whether every link of the path is up (a probe over a down link is lost). */
  up: boolean;
  /** Propagation delay of the path, ns. */
  propagationNs: number;
  /** Queueing delay the model holds on the path's links now, ns (0 in a model without queues). */
  queueingNs: number;
  /** Capacity left on the bottleneck now (capacity not committed or carried), bits/s; 0 when down. */
  availableBps: number;
}

/** Probes: the state a probe packet would meet along a path, read now. */
export interface ProbeCapable {
  /** @throws TransportError for a path that is not contiguous links. */
  probePath(path: ArrayLike<number>): PathProbe;
}

/** Per-link drop counters, for models that carry packets. */
export interface DropCounting {
  /** Packets dropped at the egress of each topology link from time 0 until now, written into `out`. */
  linkDropsUntilNow(out: Float64Array): Float64Array;
}

/**
 * Degraded links (the config's `state: degraded`): a substrate link's capacity, one-way delay and loss change from
 * now on. What loss means is the model's (its module doc): the fluid model caps each crossing flow at its Mathis rate,
 * the packet model drops each packet entering the link with that probability from a named seeded stream.
 */
export interface QualityCapable {
  /** @throws TransportError for a bad capacity, delay or loss. */
  setLinkQuality(link: number, quality: LinkQuality): void;
  /** The link's one-way propagation delay now, ns. */
  linkDelayNs(link: number): number;
}

export function hasLinkQuality<T extends Transport>(t: T): t is T & QualityCapable {
  return typeof (t as Partial<QualityCapable>).setLinkQuality === "function";
}

export function hasReservations<T extends Transport>(t: T): t is T & ReservationCapable {
  return typeof (t as Partial<ReservationCapable>).reserve === "function";
}

export function hasMirrors<T extends Transport>(t: T): t is T & MirrorCapable {
  return typeof (t as Partial<MirrorCapable>).setMirror === "function";
}

export function countsDrops<T extends Transport>(t: T): t is T & DropCounting {
  return typeof (t as Partial<DropCounting>).linkDropsUntilNow === "function";
}

export function hasPriorities<T extends Transport>(t: T): t is T & PriorityCapable {
  return typeof (t as Partial<PriorityCapable>).addQosClass === "function";
}

export function canProbe<T extends Transport>(t: T): t is T & ProbeCapable {
  return typeof (t as Partial<ProbeCapable>).probePath === "function";
}
