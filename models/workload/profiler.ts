/**
 * The application profiler: bytes and flows per pair (an application pair or a node pair) per control interval,
 * measured from trace events, as the series the predictors consume (`Predictor.observe(timeNs, sample)` with one
 * Float64Array per interval over a fixed pair index).
 *
 * Measurement (ns-3 FlowMonitor style: it subscribes to a {@link FlowEventSource}, such as the simulator's trace bus, and never reads model state). Each flow
 * is counted once, with its whole `sizeBytes`, in the interval containing the simulated time of the event:
 * - `on: "flowStart"` (default): at arrival, i.e. the offered demand (what applications asked the network to
 *   carry), independent of how fast the network carries it. This is what a predictor of demand should see.
 * - `on: "flowEnd"`: at completion (the transfer's last byte leaving the network model), i.e. delivered volume.
 * A `classify` function gives each flow's pair index (or -1 to ignore it): {@link nodePairClassifier} by
 * (src, dst), {@link tagClassifier} by the flow's tag (application pair tags, see applications.ts).
 * Both trace events carry the flow's tag.
 *
 * Intervals are [startNs + k x intervalNs, startNs + (k + 1) x intervalNs). Boundary events at MIN_PRIORITY close
 * each interval before ordinary events at the boundary, so a controller running at the boundary sees it closed;
 * a flow at exactly a boundary counts in the interval that starts there. Flows before `startNs` are ignored.
 * Like the link sampler, the profiler reschedules itself forever unless `stopWhenIdle` (default true) finds no
 * other pending event after closing an interval; with other periodic components, run to an end time and call
 * {@link TrafficProfiler.flush}.
 *
 * Per application: {@link applicationClassifier} groups the traffic matrix's flows as "tm" and each application
 * pair's flows by name (tags); the simulator runs it when the config asks (`metrics.profile`, profile.csv), without
 * boundary events so it leaves the run's event order as it was.
 *
 * Memory: 16 bytes per pair per kept interval (1,600 pairs x 2,016 intervals = 52 MB); `keep` bounds it.
 */
import { MIN_PRIORITY } from "../../sim/kernel/event-queue.ts";
import type { Simulator } from "../../sim/kernel/simulator.ts";
import type { Topology } from "../../sim/substrate/topology.ts";
import { applicationTagBase } from "./applications.ts";
import { quote, WorkloadError } from "./errors.ts";
import { TM_APPLICATION } from "./flow-schedule.ts";
import type { FlowEventSource } from "./flow-sink.ts";
import type { TrafficMatrixSeries } from "./tm-series.ts";
import { buildSeries } from "./tm-series-build.ts";

/** What the profiler knows of a flow. */
export interface FlowObservation {
  flow: number;
  src: number;
  dst: number;
  sizeBytes: number;
  /** The flow's tag (application pair tags, see applications.ts; TM flows: src x N + dst). */
  tag: number;
}

/** Pair index of a flow in [0, pairs), or -1 to ignore it. */
export type FlowClassifier = (flow: FlowObservation) => number;

/** One closed (or, for {@link TrafficProfiler.current}, open) interval. */
export interface ProfileInterval {
  /** Interval number, 0 from `startNs`. */
  index: number;
  startNs: number;
  endNs: number;
  /** Bytes per pair. */
  bytes: Float64Array;
  /** Flows per pair. */
  flows: Float64Array;
}

export interface ProfilerOptions {
  /** Control interval, integer ns > 0. */
  intervalNs: number;
  /** Pair names in index order (e.g. `"frontend->cart"` or `"A->B"`): the fixed index of every sample. */
  pairs: readonly string[];
  classify: FlowClassifier;
  /** Which trace event counts a flow. @default "flowStart" */
  on?: "flowStart" | "flowEnd";
  /** Start of interval 0, integer ns. @default the simulated time at construction */
  startNs?: number;
  /** Keep at most this many closed intervals (the oldest go first). @default unbounded */
  keep?: number;
  /** Stop after closing an interval when no other event is pending. @default true */
  stopWhenIdle?: boolean;
  /**
   * Close intervals at their ends with boundary events (what a controller reading the profile at the boundary
   * needs). Without them the profiler schedules nothing, so it changes no other component's event order: an
   * interval closes when a later flow comes or at {@link TrafficProfiler.flush}. @default true
   */
  boundaryEvents?: boolean;
  /** Node ids when `pairs` is the N x N node-pair grid, which enables {@link TrafficProfiler.toRateSeries}. */
  gridNodes?: readonly string[];
}

export class TrafficProfiler {
  readonly pairs: readonly string[];
  readonly intervalNs: number;
  readonly startNs: number;
  private readonly closed: ProfileInterval[] = [];
  private cur: ProfileInterval;
  private readonly listeners: ((iv: ProfileInterval) => void)[] = [];
  private readonly unsubscribe: () => void;
  private boundary: number | undefined;
  private stopped = false;
  private dropped = 0;

  /** @throws WorkloadError for a bad interval, start, keep, or grid. */
  constructor(
    private readonly sim: Simulator,
    events: FlowEventSource,
    private readonly opts: ProfilerOptions,
  ) {
    const { intervalNs } = opts;
    if (!Number.isSafeInteger(intervalNs) || intervalNs <= 0) {
      throw new WorkloadError(`profiler: intervalNs must be an integer > 0 of ns, got ${quote(intervalNs)}`);
    }
    const start = opts.startNs ?? sim.now;
    if (!Number.isSafeInteger(start) || start < sim.now) {
      throw new WorkloadError(
        `profiler: startNs must be an integer >= now (${sim.now}) of ns, got ${quote(start)}`,
      );
    }
    if (opts.keep !== undefined && !(Number.isInteger(opts.keep) && opts.keep >= 1)) {
      throw new WorkloadError(`profiler: keep must be an integer >= 1, got ${quote(opts.keep)}`);
    }
    if (opts.gridNodes !== undefined && opts.gridNodes.length ** 2 !== opts.pairs.length) {
      throw new WorkloadError(
        `profiler: ${opts.gridNodes.length} grid nodes need ${opts.gridNodes.length ** 2} pairs, got ${opts.pairs.length}`,
      );
    }
    this.pairs = [...opts.pairs];
    this.intervalNs = intervalNs;
    this.startNs = start;
    this.cur = this.fresh(0);
    if ((opts.on ?? "flowStart") === "flowStart") {
      this.unsubscribe = events.on("flowStart", (ev) => this.count(ev));
    } else {
      this.unsubscribe = events.on("flowEnd", (ev) => this.count(ev));
    }
    if (opts.boundaryEvents ?? true)
      this.boundary = sim.scheduleAt(start + intervalNs, this.onBoundary, MIN_PRIORITY);
  }

  /** Calls `fn` with each interval as it closes (after it is stored); returns an unsubscribe function. */
  onInterval(fn: (iv: ProfileInterval) => void): () => void {
    this.listeners.push(fn);
    return () => {
      const i = this.listeners.indexOf(fn);
      if (i >= 0) this.listeners.splice(i, 1);
    };
  }

  /** Closed intervals, oldest first (at most `keep`). */
  get intervals(): readonly ProfileInterval[] {
    return this.closed;
  }

  /** Closed intervals dropped because of `keep`. */
  get droppedIntervals(): number {
    return this.dropped;
  }

  /** The open interval, partially filled (its arrays are live; copy them to keep a snapshot). */
  get current(): ProfileInterval {
    return this.cur;
  }

  /**
   * Closes every interval that ends at or before `untilNs` (default: now; a partial interval at the end of a run
   * is closed with `closePartial`, keeping its nominal end), then stops listening and cancels the boundary event.
   */
  flush(untilNs = this.sim.now, closePartial = true): void {
    if (this.stopped) return;
    this.advanceTo(untilNs);
    if (closePartial && untilNs > this.cur.startNs) this.closeCurrent();
    this.stop();
  }

  /** Stops listening and cancels the pending boundary event (nothing more is counted). */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.unsubscribe();
    if (this.boundary !== undefined) this.sim.cancel(this.boundary);
    this.boundary = undefined;
  }

  /**
   * The closed intervals as a traffic-matrix series of bits/s (bytes x 8 / interval) over `gridNodes`; the series
   * starts at the first kept interval.
   * @throws WorkloadError without `gridNodes` or with no closed interval.
   */
  toRateSeries(source = "profiler"): TrafficMatrixSeries {
    const nodes = this.opts.gridNodes;
    if (nodes === undefined)
      throw new WorkloadError(`${source}: toRateSeries needs a node-pair profiler (gridNodes)`);
    if (this.closed.length === 0) throw new WorkloadError(`${source}: no closed interval yet`);
    const f = (8 * 1e9) / this.intervalNs;
    const n = nodes.length;
    return buildSeries({
      source,
      nodes,
      intervalNs: this.intervalNs,
      rates: this.closed.map((iv) => {
        const r = Float64Array.from(iv.bytes, (b) => b * f);
        for (let i = 0; i < n; i++) r[i * n + i] = 0;
        return r;
      }),
    });
  }

  private fresh(index: number): ProfileInterval {
    const startNs = this.startNs + index * this.intervalNs;
    const p = this.pairs.length;
    return {
      index,
      startNs,
      endNs: startNs + this.intervalNs,
      bytes: new Float64Array(p),
      flows: new Float64Array(p),
    };
  }

  private count(f: FlowObservation): void {
    const now = this.sim.now;
    if (now < this.startNs) return;
    this.advanceTo(now);
    const k = this.opts.classify(f);
    if (k < 0) return;
    if (!(k < this.pairs.length) || !Number.isInteger(k)) {
      throw new WorkloadError(
        `profiler: flow ${f.flow} (${f.src}->${f.dst}, tag ${f.tag}) classified as pair ${k}, not in [0, ${this.pairs.length})`,
      );
    }
    this.cur.bytes[k] = this.cur.bytes[k]! + f.sizeBytes;
    this.cur.flows[k] = this.cur.flows[k]! + 1;
  }

  /** Closes intervals that end at or before `t`. */
  private advanceTo(t: number): void {
    while (this.cur.endNs <= t) this.closeCurrent();
  }

  private closeCurrent(): void {
    const iv = this.cur;
    this.closed.push(iv);
    if (this.opts.keep !== undefined && this.closed.length > this.opts.keep) {
      this.closed.shift();
      this.dropped++;
    }
    this.cur = this.fresh(iv.index + 1);
    for (const fn of this.listeners) fn(iv);
  }

  private readonly onBoundary = (): void => {
    this.boundary = undefined;
    this.advanceTo(this.sim.now);
    if ((this.opts.stopWhenIdle ?? true) && this.sim.pending === 0) {
      this.stop();
      return;
    }
    this.boundary = this.sim.scheduleAt(this.cur.endNs, this.onBoundary, MIN_PRIORITY);
  };
}

/** Pairs and classifier for a node-pair profile over a topology: pair `i x N + j` = nodes i -> j (the TM layout). */
export function nodePairClassifier(topo: Topology): {
  pairs: string[];
  classify: FlowClassifier;
  gridNodes: string[];
} {
  const n = topo.nodeCount;
  const ids = topo.nodes.map((x) => x.id);
  const pairs = ids.flatMap((a) => ids.map((b) => `${a}->${b}`));
  return { pairs, gridNodes: ids, classify: (f) => f.src * n + f.dst };
}

/** Classifier by tag: pair index = tag - `tagBase` for tags in [tagBase, tagBase + count), -1 for other tags. */
export function tagClassifier(count: number, tagBase = 0): FlowClassifier {
  return (f) => {
    const k = f.tag - tagBase;
    return k >= 0 && k < count && Number.isInteger(k) ? k : -1;
  };
}

/** A profile per application: names in index order and the closed intervals (see {@link applicationClassifier}). */
export interface ApplicationProfile {
  applications: readonly string[];
  intervals: readonly ProfileInterval[];
}

/**
 * Pairs and classifier for a profile per application, by tag: index 0 is the traffic matrix (`tmName`, tags below
 * N x N: node pairs), index 1 + k the application pair `appPairs[k]` (tags from `tagBase`, see applications.ts).
 */
export function applicationClassifier(
  nodeCount: number,
  appPairs: readonly string[],
  tagBase = applicationTagBase(nodeCount),
  tmName = TM_APPLICATION,
): { pairs: string[]; classify: FlowClassifier } {
  const apps = tagClassifier(appPairs.length, tagBase);
  const grid = nodeCount * nodeCount;
  return {
    pairs: [tmName, ...appPairs],
    classify: (f) => {
      if (f.tag >= 0 && f.tag < grid) return 0;
      const k = apps(f);
      return k < 0 ? -1 : 1 + k;
    },
  };
}
