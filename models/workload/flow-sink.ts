/**
 * The flow sink: where a workload hands its flows to an engine, and how it learns that they started and ended.
 * Workloads (open-loop sources, applications, the profiler) see only these shapes, never an engine's classes, so
 * any engine that takes flows and reports their ends can run them: the simulator's flow network or a control
 * plane's data plane in front of it (sim/transport, sim/engine), and its trace bus (sim/metrics/trace.ts, whose
 * `flowStart` and `flowEnd` events carry these shapes and more).
 *
 * Units: sizes in bytes, times in integer ns of simulated time; nodes and links are topology indices.
 */
import type { Topology } from "../../sim/substrate/topology.ts";

/** A flow a workload asks to start now. */
export interface FlowSpec {
  /** Source and destination node indices. */
  src: number;
  dst: number;
  /** Bytes to transfer, > 0. */
  sizeBytes: number;
  /** Link indices from src to dst (a data plane that routes flows itself may ignore it). */
  path: ArrayLike<number>;
  /** Carried unchanged into the flow's events (a node pair, an application pair); default 0. */
  tag?: number;
  /**
   * The application the flow belongs to (an application pair `"A->B"` of applications.ts, or `"tm"` for a traffic
   * matrix's flows): engines that measure per-application traffic count the flow under it; absent: not counted.
   */
  application?: string;
  /** The server port of the exchange the flow belongs to (an application's `port`); absent: none. */
  port?: number;
  /** The exchange's transport protocol; absent: tcp. */
  protocol?: FlowProtocol;
  /**
   * The flow's part in a request/response exchange (applications.ts): `"request"` for a request that awaits its
   * response, `{ responseTo }` for the response to request flow `responseTo` (an id this sink returned). An engine
   * that carries flows as connections sends the response back over its request's connection (the emulator's
   * agents); others ignore it. Absent: a one-way flow.
   */
  exchange?: FlowExchange;
}

/** A flow's part in a request/response exchange (see {@link FlowSpec.exchange}). */
export type FlowExchange = "request" | { responseTo: number };

/** Transport protocols a flow may name. */
export type FlowProtocol = "tcp" | "udp";

/** Where flows go. */
export interface FlowSink {
  /** The substrate whose node and link indices the specs use. */
  readonly topology: Topology;
  /**
   * Starts a flow now and returns its id (unique per sink, in order of arrival), or -1 when the data plane
   * refuses it (a firewall rule): a refused flow has no events.
   */
  startFlow(spec: FlowSpec): number;
}

/** A flow entered the network. */
export interface FlowStartEvent {
  timeNs: number;
  flow: number;
  src: number;
  dst: number;
  sizeBytes: number;
  /** The spec's tag. */
  tag: number;
}

/** A flow's last byte arrived at its destination (an engine's flow record carries this and more). */
export interface FlowEndEvent {
  flow: number;
  src: number;
  dst: number;
  sizeBytes: number;
  /** Arrival time, ns. */
  startNs: number;
  /** Time the last byte arrives at the destination, ns (may be fractional; engines round events up). */
  endNs: number;
  /** The spec's tag. */
  tag: number;
}

export interface FlowEvents {
  flowStart: FlowStartEvent;
  flowEnd: FlowEndEvent;
}

/** Subscription to a sink's flow events; `on` returns a function that unsubscribes. */
export interface FlowEventSource {
  on<K extends keyof FlowEvents>(kind: K, fn: (event: FlowEvents[K]) => void): () => void;
}
