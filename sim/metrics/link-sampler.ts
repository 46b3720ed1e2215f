/**
 * Link utilization sampled over fixed intervals, and the maximum link utilization (MLU) series.
 *
 * Every `intervalNs` from its creation time t0 the sampler closes the interval [t_k, t_(k+1)), t_k = t0 + k x
 * intervalNs. It reads the cumulative bits per link ({@link LinkCounters.linkBitsUntilNow}, the integral of the
 * link's rate over time) and takes differences, so
 *   bits_l   = B_l(t_(k+1)) - B_l(t_k)                         (clamped at 0 against rounding)
 *   util_l   = bits_l / (capacity_l x (t_(k+1) - t_k) / 1e9)   (0 when capacity x duration = 0 and bits = 0,
 *                                                               Infinity when it is 0 and bits > 0)
 *   MLU      = max_l util_l.
 * This is the only place in sim/metrics that reads model state, and it reads only these counters.
 *
 * Event priority does not matter for the bits. B_l(t) = bits accounted at the link's last rate change + rate x
 * (t - that time); a rate change at t first accounts the old rate up to t and then restarts from t with the new rate
 * (plus 0 x new rate), so a reading at t gives the same float whether it runs before or after the reallocation at
 * t (FlowNetwork reallocates at REALLOCATE_PRIORITY = MAX_PRIORITY). Bits carried in [t_k, t_(k+1)) depend only on
 * rates during that interval, never on changes at its end; tests check this bit for bit. (Note that even at
 * MAX_PRIORITY the sampler would run *before* a reallocation at t_(k+1): its event is queued at t_k, the
 * reallocation only at t_(k+1), and ties are FIFO.)
 *
 * Priority does matter for two other things, so the default is MIN_PRIORITY (before ordinary events at the
 * boundary): (1) capacity is read at the boundary, and an early read sees the capacity in force during the end of
 * the closed interval rather than one set at the boundary for the next; (2) a controller running at t_(k+1) (at any
 * priority above MIN_PRIORITY) already sees interval k closed. Capacity changed in the middle of an interval is
 * not time-weighted: the capacity at the boundary is used for the whole interval, so utilization can exceed 1 for
 * that interval (FlowNetwork exposes no capacity-change trace to do better).
 *
 * The run's end. The sampler reschedules itself forever unless `stopWhenIdle` (default true) finds no other pending
 * event after closing an interval, in which case that interval is the last. With other periodic components, run
 * the simulator with an end time and call {@link LinkUtilizationSampler.flush}.
 *
 * Memory: the MLU series takes 24 bytes per interval; with `keepSeries` (default) the per-link bits take another
 * 8 bytes per link per interval (122 links x 1000 intervals = 1 MB). Capacities are stored only when they change.
 */
import { MIN_PRIORITY } from "../kernel/event-queue.ts";
import type { EventId, Simulator } from "../kernel/simulator.ts";
import type { Transport } from "../transport/transport.ts";
import { MetricsError, percentileNearestRank } from "./flow-stats.ts";
import type { TraceBus } from "./trace.ts";

/** What the sampler reads from a transport model: its bit counters and capacities. */
export type LinkCounters = Pick<Transport, "topology" | "linkBitsUntilNow" | "linkCapacity">;

export interface LinkSamplerOptions {
  /** Interval length, integer ns > 0. */
  intervalNs: number;
  /** Where to emit one `linkInterval` event per closed interval. */
  trace?: TraceBus;
  /** Priority of the boundary events; default MIN_PRIORITY (see the module doc). */
  priority?: number;
  /** Keep bits per link per interval for {@link LinkUtilizationSampler.linkSeries} and `samples`; default true. */
  keepSeries?: boolean;
  /** Stop after closing an interval when no other event is pending; default true. */
  stopWhenIdle?: boolean;
}

/** One point of the MLU series, interval [startNs, endNs). */
export interface MluPoint {
  startNs: number;
  endNs: number;
  mlu: number;
}

/** One interval of one link. */
export interface LinkPoint {
  startNs: number;
  endNs: number;
  /** Capacity at the interval's end, bits/s. */
  capacityBps: number;
  bits: number;
  utilization: number;
}

/** What {@link LinkUtilizationSampler.summary} returns; plain JSON-able data, nulls when no interval closed. */
export interface LinkUtilizationSummary {
  intervals: number;
  intervalNs: number;
  /** Start of the first and end of the last interval, ns. */
  startNs: number | null;
  endNs: number | null;
  peakMlu: number | null;
  /** Start of the first interval reaching the peak, ns. */
  peakMluStartNs: number | null;
  /** Duration-weighted mean MLU (the plain mean when all intervals have the same length). */
  meanMlu: number | null;
  /** Nearest-rank 95th percentile of the per-interval MLU (unweighted). */
  p95Mlu: number | null;
  /** The five links with the highest duration-weighted mean utilization (ties by link index). */
  topLinks: { link: number; id: string; meanUtilization: number }[];
}

/**
 * Every link's bits per closed sampling interval, as a run's records hold them (what links.csv lists). Plain data;
 * read it with {@link linkSample}.
 */
export interface LinkSamples {
  /** Links per interval (the topology's link count). */
  linkCount: number;
  /** Closed intervals [startNs[i], endNs[i]), in time order, ns. */
  startNs: Float64Array;
  endNs: Float64Array;
  /** Bits carried, row-major: interval i, link l at `bits[i * linkCount + l]`. */
  bits: Float64Array;
  /** Link capacities, bits/s, read at interval ends; `capacityBps[j]` holds from interval `capacityFrom[j]` on. */
  capacityFrom: readonly number[];
  capacityBps: readonly Float64Array[];
}

/**
 * Reads the samples interval by interval: calls `fn(i, capacities)` for every interval i in time order with the
 * capacities (bits/s, by link) in force at its end.
 */
export function forEachInterval(
  s: LinkSamples,
  fn: (interval: number, capacityBps: Float64Array) => void,
): void {
  let snap = 0;
  for (let i = 0; i < s.startNs.length; i++) {
    while (snap + 1 < s.capacityFrom.length && s.capacityFrom[snap + 1]! <= i) snap++;
    fn(i, s.capacityBps[snap]!);
  }
}

/** Utilization of `bits` over `durationNs` on a link of `capacityBps` (Infinity for bits on a zero capacity). */
export function utilization(bits: number, capacityBps: number, durationNs: number): number {
  const capacityBits = (capacityBps * durationNs) / 1e9;
  if (capacityBits > 0) return bits / capacityBits;
  return bits > 0 ? Number.POSITIVE_INFINITY : 0;
}

function grow64(a: Float64Array, n: number): Float64Array<ArrayBuffer> {
  const b = new Float64Array(n);
  b.set(a);
  return b;
}

/** Samples every link's bits each interval and derives utilization and MLU. Starts sampling at construction. */
export class LinkUtilizationSampler {
  readonly intervalNs: number;
  private readonly L: number;
  private readonly priority: number;
  private readonly keepSeries: boolean;
  private readonly stopWhenIdle: boolean;
  private readonly trace: TraceBus | undefined;
  private openNs: number;
  private prev: Float64Array;
  private cur: Float64Array;
  private readonly bitsNow: Float64Array;
  private readonly utilNow: Float64Array;
  private readonly capNow: Float64Array;
  private event: EventId | undefined;
  private done = false;

  private n = 0;
  private icap = 64;
  private starts = new Float64Array(64);
  private ends = new Float64Array(64);
  private mlus = new Float64Array(64);
  private bitSeries: Float64Array;
  /** Capacity snapshots: `capSnaps[j]` applies from interval `capFrom[j]` on. */
  private readonly capFrom: number[] = [];
  private readonly capSnaps: Float64Array[] = [];
  /** Per link, sum over intervals of utilization x duration (ns). */
  private readonly utilDt: Float64Array;
  private totalDt = 0;

  /** @throws MetricsError unless `intervalNs` is a positive safe integer. */
  constructor(
    private readonly sim: Simulator,
    private readonly network: LinkCounters,
    opts: LinkSamplerOptions,
  ) {
    const { intervalNs } = opts;
    if (!Number.isSafeInteger(intervalNs) || intervalNs <= 0) {
      throw new MetricsError(
        `LinkUtilizationSampler: intervalNs must be a positive integer of ns, got ${intervalNs}`,
      );
    }
    this.intervalNs = intervalNs;
    this.L = network.topology.linkCount;
    this.priority = opts.priority ?? MIN_PRIORITY;
    this.keepSeries = opts.keepSeries ?? true;
    this.stopWhenIdle = opts.stopWhenIdle ?? true;
    this.trace = opts.trace;
    this.prev = network.linkBitsUntilNow(new Float64Array(this.L));
    this.cur = new Float64Array(this.L);
    this.bitsNow = new Float64Array(this.L);
    this.utilNow = new Float64Array(this.L);
    this.capNow = new Float64Array(this.L);
    this.utilDt = new Float64Array(this.L);
    this.bitSeries = new Float64Array(this.keepSeries ? this.icap * this.L : 0);
    this.openNs = sim.now;
    this.scheduleNext();
  }

  /** Number of closed intervals. */
  get intervals(): number {
    return this.n;
  }

  /** Whether sampling has ended (stop, flush, or idle). */
  get stopped(): boolean {
    return this.done;
  }

  /** Ends sampling without recording the open partial interval. Idempotent. */
  stop(): void {
    if (this.event !== undefined) this.sim.cancel(this.event);
    this.event = undefined;
    this.done = true;
  }

  /** Closes the open interval at now, if it has positive length, then stops: call it at the end of a run. */
  flush(): void {
    if (this.done) return;
    this.close(this.sim.now);
    this.stop();
  }

  /** The MLU of every closed interval, in time order. */
  mluSeries(): MluPoint[] {
    const out: MluPoint[] = [];
    for (let i = 0; i < this.n; i++)
      out.push({ startNs: this.starts[i]!, endNs: this.ends[i]!, mlu: this.mlus[i]! });
    return out;
  }

  /**
   * One link's bits and utilization per closed interval.
   * @throws MetricsError for an unknown link index or when created with `keepSeries: false`.
   */
  linkSeries(link: number): LinkPoint[] {
    this.requireSeries("linkSeries");
    if (!Number.isInteger(link) || link < 0 || link >= this.L) {
      throw new MetricsError(`linkSeries: link index must be an integer in [0, ${this.L}), got ${link}`);
    }
    const out: LinkPoint[] = [];
    let snap = 0;
    for (let i = 0; i < this.n; i++) {
      while (snap + 1 < this.capFrom.length && this.capFrom[snap + 1]! <= i) snap++;
      const capacityBps = this.capSnaps[snap]![link]!;
      const bits = this.bitSeries[i * this.L + link]!;
      const dt = this.ends[i]! - this.starts[i]!;
      out.push({
        startNs: this.starts[i]!,
        endNs: this.ends[i]!,
        capacityBps,
        bits,
        utilization: utilization(bits, capacityBps, dt),
      });
    }
    return out;
  }

  /**
   * The samples so far, copied (intervals x links x 8 bytes for the bits).
   * @throws MetricsError when created with `keepSeries: false`.
   */
  samples(): LinkSamples {
    this.requireSeries("samples");
    return {
      linkCount: this.L,
      startNs: this.starts.slice(0, this.n),
      endNs: this.ends.slice(0, this.n),
      bits: this.bitSeries.slice(0, this.n * this.L),
      capacityFrom: [...this.capFrom],
      capacityBps: this.capSnaps.map((c) => c.slice()),
    };
  }

  /** Peak, mean and p95 MLU and the five most utilized links (see {@link LinkUtilizationSummary}). */
  summary(): LinkUtilizationSummary {
    const n = this.n;
    const topology = this.network.topology;
    const empty = n === 0;
    let peak = Number.NEGATIVE_INFINITY;
    let peakAt = 0;
    let weighted = 0;
    for (let i = 0; i < n; i++) {
      const m = this.mlus[i]!;
      if (m > peak) {
        peak = m;
        peakAt = this.starts[i]!;
      }
      weighted += m * (this.ends[i]! - this.starts[i]!);
    }
    const sorted = this.mlus.slice(0, n).sort();
    const order = Array.from({ length: this.L }, (_, l) => l);
    const mean = (l: number) => (this.totalDt > 0 ? this.utilDt[l]! / this.totalDt : 0);
    order.sort((a, b) => mean(b) - mean(a) || a - b);
    return {
      intervals: n,
      intervalNs: this.intervalNs,
      startNs: empty ? null : this.starts[0]!,
      endNs: empty ? null : this.ends[n - 1]!,
      peakMlu: empty ? null : peak,
      peakMluStartNs: empty ? null : peakAt,
      meanMlu: empty || this.totalDt === 0 ? null : weighted / this.totalDt,
      p95Mlu: empty ? null : percentileNearestRank(sorted, 95),
      topLinks: empty
        ? []
        : order.slice(0, 5).map((l) => ({ link: l, id: topology.links[l]!.id, meanUtilization: mean(l) })),
    };
  }

  // ---------------------------------------------------------------- internals

  private requireSeries(what: string): void {
    if (!this.keepSeries) throw new MetricsError(`${what}: the sampler was created with keepSeries: false`);
  }

  private scheduleNext(): void {
    const at = this.openNs + this.intervalNs;
    this.event =
      at <= Number.MAX_SAFE_INTEGER ? this.sim.scheduleAt(at, this.tick, this.priority) : undefined;
  }

  private readonly tick = (): void => {
    this.event = undefined;
    this.close(this.sim.now);
    if (this.stopWhenIdle && this.sim.pending === 0) this.done = true;
    else this.scheduleNext();
  };

  /** Records the interval [openNs, now) when it has positive length. */
  private close(now: number): void {
    const dt = now - this.openNs;
    if (dt <= 0) return;
    const L = this.L;
    const cur = this.network.linkBitsUntilNow(this.cur);
    const prev = this.prev;
    const bits = this.bitsNow;
    const util = this.utilNow;
    const caps = this.capNow;
    let mlu = 0;
    for (let l = 0; l < L; l++) {
      const b = cur[l]! - prev[l]!;
      bits[l] = Math.max(b, 0);
      caps[l] = this.network.linkCapacity(l);
      const u = utilization(bits[l]!, caps[l]!, dt);
      util[l] = u;
      if (u > mlu) mlu = u;
      this.utilDt[l] = this.utilDt[l]! + u * dt;
    }
    this.prev = cur;
    this.cur = prev;

    if (this.n === this.icap) this.growSeries();
    const i = this.n++;
    this.starts[i] = this.openNs;
    this.ends[i] = now;
    this.mlus[i] = mlu;
    this.totalDt += dt;
    if (this.keepSeries) {
      this.bitSeries.set(bits, i * L);
      const last = this.capSnaps[this.capSnaps.length - 1];
      if (!last || !sameValues(last, caps)) {
        this.capFrom.push(i);
        this.capSnaps.push(caps.slice());
      }
    }
    this.openNs = now;
    if (this.trace?.has("linkInterval")) {
      this.trace.emit("linkInterval", {
        startNs: this.starts[i]!,
        endNs: now,
        bits: bits.slice(),
        utilization: util.slice(),
        mlu,
      });
    }
  }

  private growSeries(): void {
    const cap = this.icap * 2;
    this.starts = grow64(this.starts, cap);
    this.ends = grow64(this.ends, cap);
    this.mlus = grow64(this.mlus, cap);
    if (this.keepSeries) this.bitSeries = grow64(this.bitSeries, cap * this.L);
    this.icap = cap;
  }
}

function sameValues(a: Float64Array, b: Float64Array): boolean {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
