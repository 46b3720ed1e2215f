/**
 * Trace sources and sinks (ns-3's FlowMonitor discipline: models emit typed events, collectors subscribe and never
 * reach into model state). An emitter checks {@link TraceBus.has} before building an event object, so a trace with
 * no listener costs nothing on the hot path. The flow events' shapes belong to the workloads' flow sink
 * (models/workload/flow-sink.ts): a TraceBus is the {@link FlowEventSource} workloads subscribe to.
 */
import type { FlowEndEvent, FlowEventSource, FlowStartEvent } from "../../models/workload/flow-sink.ts";

/** The per-flow record, emitted when a flow's last byte arrives (the workloads' {@link FlowEndEvent} and more). */
export interface FlowRecord extends FlowEndEvent {
  /** Flow completion time, endNs - startNs. */
  fctNs: number;
  /**
   * The flow's best completion time alone on the idle, failure-free substrate, ns: the one definition of every
   * engine (sim/substrate/ideal-fct.ts), whatever path the flow took.
   */
  idealFctNs: number;
  /** fct / ideal fct (>= 1 up to rounding). */
  slowdown: number;
  /** Link indices of the path the flow finished on. */
  path: readonly number[];
  /** Bytes sent on the wire by all copies: `sizeBytes` unless the flow was mirrored. */
  wireBytes: number;
  /** Whether the flow had a mirror copy when it completed. */
  mirrored: boolean;
  /** Whether the mirror copy, not the primary, delivered first (`path` is then the mirror's path). */
  mirrorWon: boolean;
}

/** Link state changed (failure or repair). */
export interface LinkStateEvent {
  timeNs: number;
  link: number;
  up: boolean;
}

/** Utilization of every link over one sampling interval [startNs, endNs). */
export interface LinkIntervalEvent {
  startNs: number;
  endNs: number;
  /** Bits carried per link during the interval, by link index. */
  bits: Float64Array;
  /** bits / (capacity x interval), by link index. */
  utilization: Float64Array;
  /** Max link utilization over the interval. */
  mlu: number;
}

export interface TraceEvents {
  flowStart: FlowStartEvent;
  flowEnd: FlowRecord;
  linkState: LinkStateEvent;
  linkInterval: LinkIntervalEvent;
}

export type TraceListener<K extends keyof TraceEvents> = (event: TraceEvents[K]) => void;

export class TraceBus implements FlowEventSource {
  private readonly listeners: { [K in keyof TraceEvents]: TraceListener<K>[] } = {
    flowStart: [],
    flowEnd: [],
    linkState: [],
    linkInterval: [],
  };

  /** Subscribes; returns a function that unsubscribes. */
  on<K extends keyof TraceEvents>(kind: K, fn: TraceListener<K>): () => void {
    const list = this.listeners[kind] as TraceListener<K>[];
    list.push(fn);
    return () => {
      const i = list.indexOf(fn);
      if (i >= 0) list.splice(i, 1);
    };
  }

  /** Whether anyone listens to `kind` (emitters skip building events otherwise). */
  has(kind: keyof TraceEvents): boolean {
    return this.listeners[kind].length > 0;
  }

  emit<K extends keyof TraceEvents>(kind: K, event: TraceEvents[K]): void {
    for (const fn of this.listeners[kind] as TraceListener<K>[]) fn(event);
  }
}
