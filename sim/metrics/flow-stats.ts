/**
 * Per-flow statistics (ns-3 FlowMonitor style): a collector subscribes to `flowEnd` on a {@link TraceBus} and keeps
 * one row per finished flow in column-wise typed arrays; it never reads model state.
 *
 * Memory. A row is 62 bytes (flow id u32, src/dst i32, hops u16, size, start, fct, ideal fct, slowdown and tag as
 * f64); columns grow by doubling, so 1e6 flows occupy 2^20 rows = 65 MB (`memoryBytes`), with no per-flow object.
 *
 * Statistics. Percentiles are nearest-rank on the sorted sample ({@link percentileNearestRank}); means are summed
 * over the sorted sample, so every statistic depends only on the multiset of values, not on completion order.
 * Size buckets are half-open byte ranges [lo, hi); the defaults follow the pFabric/HPCC convention: small
 * (< 100 kB), medium (100 kB to 10 MB), large (>= 10 MB).
 */
import type { FlowEndEvent } from "../../models/workload/flow-sink.ts";
import type { FlowRecord, TraceBus } from "./trace.ts";

/** Misuse of a metrics collector: bad bucket edges, an interval that is not a positive integer. */
export class MetricsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "MetricsError";
  }
}

/** Default size-bucket boundaries, bytes: small < 100 kB <= medium < 10 MB <= large (pFabric/HPCC). */
export const DEFAULT_SIZE_BUCKET_EDGES: readonly number[] = Object.freeze([100_000, 10_000_000]);
/** Names of the default buckets. */
export const DEFAULT_SIZE_BUCKET_NAMES: readonly string[] = Object.freeze(["small", "medium", "large"]);

/**
 * The p-th percentile of an ascending sample by the nearest-rank method: the value at 1-based rank
 * ceil(p / 100 x n), clamped to [1, n] (so p = 0 gives the minimum and p = 100 the maximum). Always a sample value;
 * NaN for an empty sample. The rank is computed as ceil(p x n / 100), which is exact for integer p.
 * @param sorted ascending values (e.g. a `Float64Array` after `.sort()`).
 * @param p percentile in [0, 100].
 */
export function percentileNearestRank(sorted: ArrayLike<number>, p: number): number {
  if (!(p >= 0 && p <= 100)) throw new MetricsError(`percentile must be in [0, 100], got ${p}`);
  const n = sorted.length;
  if (n === 0) return Number.NaN;
  const rank = Math.min(n, Math.max(1, Math.ceil((p * n) / 100)));
  return sorted[rank - 1]!;
}

/** Mean, nearest-rank percentiles and maximum of a sample, in the sample's unit. */
export interface DistributionStats {
  mean: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
}

/** Statistics of the flows in one size bucket [loBytes, hiBytes). */
export interface SizeBucketSummary {
  name: string;
  loBytes: number;
  /** Exclusive upper bound, bytes; null for the unbounded last bucket. */
  hiBytes: number | null;
  count: number;
  bytes: number;
  /** Flow completion time, ns; null when the bucket is empty. */
  fctNs: DistributionStats | null;
  /** FCT / ideal FCT; null when the bucket is empty. */
  slowdown: DistributionStats | null;
  /** Mean over flows of size x 8 / FCT, bits/s; null when empty. */
  meanFlowThroughputBps: number | null;
}

/** What {@link FlowStatsCollector.summary} returns: plain data, JSON-able as is. */
export interface FlowStatsSummary {
  /** The tag filter applied, or null for all flows. */
  tag: number | null;
  count: number;
  /** Total bytes of the counted flows. */
  bytes: number;
  /** Earliest start and latest end of the counted flows, ns; null when none. */
  firstStartNs: number | null;
  lastEndNs: number | null;
  /** Flow completion time, ns. */
  fctNs: DistributionStats | null;
  slowdown: DistributionStats | null;
  /** Total bytes x 8 / (last end - first start), bits/s. */
  goodputBps: number | null;
  /** Mean over flows of size x 8 / FCT, bits/s. */
  meanFlowThroughputBps: number | null;
  buckets: SizeBucketSummary[];
}

export interface FlowStatsSummaryOptions {
  /** Count only flows with this tag. */
  tag?: number;
  /** Ascending bucket boundaries in bytes, each > 0: k edges make k + 1 buckets [0, e0), [e0, e1), ..., [e(k-1), inf). */
  sizeBucketEdges?: readonly number[];
  /** One name per bucket; default small/medium/large for the default edges, else `[lo,hi)` in bytes. */
  sizeBucketNames?: readonly string[];
}

/** One row of {@link FlowStatsCollector.slowdownBySizeBucket}, for slowdown-vs-size plots. */
export interface SlowdownBucket {
  loBytes: number;
  /** Exclusive; null for the unbounded last bucket. */
  hiBytes: number | null;
  count: number;
  /** null when the bucket is empty. */
  mean: number | null;
  p50: number | null;
  p99: number | null;
}

/** A stored flow, as yielded by {@link FlowStatsCollector.records}. Node indices, times in ns, size in bytes. */
export interface FlowRow extends FlowEndEvent {
  fctNs: number;
  idealFctNs: number;
  slowdown: number;
  hops: number;
}

/** Fields of a {@link FlowRecord} the collector keeps (the path only for its length). */
export type FlowRecordInput = Pick<
  FlowRecord,
  "flow" | "src" | "dst" | "sizeBytes" | "startNs" | "fctNs" | "idealFctNs" | "slowdown" | "tag"
> & { path: { readonly length: number } };

/** Sample statistics (mean, nearest-rank percentiles, max); sorts `values` in place; null when empty. */
export function distribution(values: Float64Array): DistributionStats | null {
  const n = values.length;
  if (n === 0) return null;
  values.sort();
  let sum = 0;
  for (let i = 0; i < n; i++) sum += values[i]!;
  return {
    mean: sum / n,
    p50: percentileNearestRank(values, 50),
    p95: percentileNearestRank(values, 95),
    p99: percentileNearestRank(values, 99),
    max: values[n - 1]!,
  };
}

/** Mean of `values` summed in ascending order; sorts in place; null when empty. */
function sortedMean(values: Float64Array): number | null {
  if (values.length === 0) return null;
  values.sort();
  let sum = 0;
  for (let i = 0; i < values.length; i++) sum += values[i]!;
  return sum / values.length;
}

function checkEdges(edges: readonly number[], where: string): void {
  for (let i = 0; i < edges.length; i++) {
    const e = edges[i]!;
    if (!(e > 0) || !Number.isFinite(e) || (i > 0 && !(e > edges[i - 1]!))) {
      throw new MetricsError(
        `${where}[${i}]: size bucket edges must be finite, > 0 and strictly ascending, got [${edges.join(", ")}]`,
      );
    }
  }
}

/** Index of the bucket [edges[b-1], edges[b]) holding `size`: the number of edges <= size. */
function bucketOf(edges: readonly number[], size: number): number {
  let lo = 0;
  let hi = edges.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (edges[mid]! <= size) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * Collects finished flows. Subscribe it to a bus (`new FlowStatsCollector(trace)`) or feed it with {@link add}.
 * Rows are kept in arrival (completion) order. It is the engines' {@link FlowTable} (sim/engine/records.ts).
 */
export class FlowStatsCollector {
  private n = 0;
  private cap: number;
  private flow: Uint32Array;
  private src: Int32Array;
  private dst: Int32Array;
  private hops: Uint16Array;
  private size: Float64Array;
  private start: Float64Array;
  private fct: Float64Array;
  private ideal: Float64Array;
  private slow: Float64Array;
  private tag: Float64Array;
  private readonly unsubscribe: (() => void) | undefined;

  /**
   * @param trace the bus to listen on for `flowEnd`; omit to feed records with {@link add}.
   * @param opts.initialCapacity rows allocated up front (default 1024); columns double when full.
   */
  constructor(trace?: TraceBus, opts: { initialCapacity?: number } = {}) {
    const cap = opts.initialCapacity ?? 1024;
    if (!Number.isSafeInteger(cap) || cap < 1) {
      throw new MetricsError(`FlowStatsCollector: initialCapacity must be an integer >= 1, got ${cap}`);
    }
    this.cap = cap;
    this.flow = new Uint32Array(cap);
    this.src = new Int32Array(cap);
    this.dst = new Int32Array(cap);
    this.hops = new Uint16Array(cap);
    this.size = new Float64Array(cap);
    this.start = new Float64Array(cap);
    this.fct = new Float64Array(cap);
    this.ideal = new Float64Array(cap);
    this.slow = new Float64Array(cap);
    this.tag = new Float64Array(cap);
    this.unsubscribe = trace?.on("flowEnd", (r) => this.add(r));
  }

  /** Number of flows collected. */
  get count(): number {
    return this.n;
  }

  /** Bytes held by the columns (allocated capacity, not just used rows). */
  get memoryBytes(): number {
    return this.cap * 62;
  }

  /** Stops listening to the bus (collected rows stay). */
  detach(): void {
    this.unsubscribe?.();
  }

  /**
   * Adds one finished flow.
   * @throws MetricsError for a flow id outside [0, 2^32) or a path longer than 65535 links.
   */
  add(r: FlowRecordInput): void {
    if (!(r.flow >= 0 && r.flow <= 0xffffffff) || !Number.isInteger(r.flow)) {
      throw new MetricsError(`FlowStatsCollector: flow id must be an integer in [0, 2^32), got ${r.flow}`);
    }
    if (r.path.length > 0xffff) {
      throw new MetricsError(
        `FlowStatsCollector: flow ${r.flow}: path of ${r.path.length} links exceeds 65535`,
      );
    }
    if (this.n === this.cap) this.grow();
    const i = this.n++;
    this.flow[i] = r.flow;
    this.src[i] = r.src;
    this.dst[i] = r.dst;
    this.hops[i] = r.path.length;
    this.size[i] = r.sizeBytes;
    this.start[i] = r.startNs;
    this.fct[i] = r.fctNs;
    this.ideal[i] = r.idealFctNs;
    this.slow[i] = r.slowdown;
    this.tag[i] = r.tag;
  }

  /** The stored flows in arrival order, as fresh objects (end = start + fct). */
  *records(): IterableIterator<FlowRow> {
    for (let i = 0; i < this.n; i++) yield this.row(i);
  }

  /**
   * Count, bytes, FCT and slowdown statistics, goodput and mean per-flow throughput, overall and per size bucket.
   * Goodput is total bytes x 8 x 1e9 / (last end - first start) in bits/s (null when that span is not positive).
   * @throws MetricsError for invalid bucket edges or a names list of the wrong length.
   */
  summary(opts: FlowStatsSummaryOptions = {}): FlowStatsSummary {
    const edges = opts.sizeBucketEdges ?? DEFAULT_SIZE_BUCKET_EDGES;
    checkEdges(edges, "summary: sizeBucketEdges");
    const names =
      opts.sizeBucketNames ??
      (opts.sizeBucketEdges === undefined ? DEFAULT_SIZE_BUCKET_NAMES : defaultNames(edges));
    if (names.length !== edges.length + 1) {
      throw new MetricsError(
        `summary: sizeBucketNames: expected ${edges.length + 1} names for ${edges.length} edges, got ${names.length}`,
      );
    }
    const rows = this.select(opts.tag);
    let bytes = 0;
    let first = Number.POSITIVE_INFINITY;
    let last = Number.NEGATIVE_INFINITY;
    for (let k = 0; k < rows.length; k++) {
      const i = rows[k]!;
      bytes += this.size[i]!;
      first = Math.min(first, this.start[i]!);
      last = Math.max(last, this.start[i]! + this.fct[i]!);
    }
    const span = last - first;
    const bucketRows: number[][] = names.map(() => []);
    for (let k = 0; k < rows.length; k++) bucketRows[bucketOf(edges, this.size[rows[k]!]!)]!.push(rows[k]!);
    const overall = this.stats(rows);
    return {
      tag: opts.tag ?? null,
      count: rows.length,
      bytes,
      firstStartNs: rows.length ? first : null,
      lastEndNs: rows.length ? last : null,
      fctNs: overall.fctNs,
      slowdown: overall.slowdown,
      goodputBps: rows.length && span > 0 ? (bytes * 8 * 1e9) / span : null,
      meanFlowThroughputBps: overall.meanFlowThroughputBps,
      buckets: bucketRows.map((bRows, b) => {
        let bBytes = 0;
        for (const i of bRows) bBytes += this.size[i]!;
        return {
          name: names[b]!,
          loBytes: b === 0 ? 0 : edges[b - 1]!,
          hiBytes: b < edges.length ? edges[b]! : null,
          count: bRows.length,
          bytes: bBytes,
          ...this.stats(bRows),
        };
      }),
    };
  }

  /**
   * Slowdown per size bucket, for slowdown-vs-size plots: k ascending edges (bytes, > 0) give k + 1 buckets
   * [0, e0), ..., [e(k-1), inf) with count, mean, median and p99 (nearest rank; null for an empty bucket).
   */
  slowdownBySizeBucket(edges: readonly number[], opts: { tag?: number } = {}): SlowdownBucket[] {
    checkEdges(edges, "slowdownBySizeBucket: edges");
    const rows = this.select(opts.tag);
    const counts = new Int32Array(edges.length + 1);
    for (let k = 0; k < rows.length; k++) counts[bucketOf(edges, this.size[rows[k]!]!)]!++;
    const values = Array.from(counts, (c) => new Float64Array(c));
    const fill = new Int32Array(edges.length + 1);
    for (let k = 0; k < rows.length; k++) {
      const i = rows[k]!;
      const b = bucketOf(edges, this.size[i]!);
      values[b]![fill[b]!++] = this.slow[i]!;
    }
    return values.map((v, b) => {
      const d = distribution(v);
      return {
        loBytes: b === 0 ? 0 : edges[b - 1]!,
        hiBytes: b < edges.length ? edges[b]! : null,
        count: v.length,
        mean: d?.mean ?? null,
        p50: d?.p50 ?? null,
        p99: d?.p99 ?? null,
      };
    });
  }

  /**
   * The stored flows sorted by flow id (ties in arrival order), as fresh objects: the order of flows.csv.
   * Implements {@link FlowTable.byFlowId}.
   */
  *byFlowId(): IterableIterator<FlowRow> {
    const order = new Uint32Array(this.n);
    for (let i = 0; i < this.n; i++) order[i] = i;
    const ids = this.flow;
    order.sort((a, b) => ids[a]! - ids[b]! || a - b);
    for (let k = 0; k < order.length; k++) yield this.row(order[k]!);
  }

  // ---------------------------------------------------------------- internals

  private row(i: number): FlowRow {
    return {
      flow: this.flow[i]!,
      src: this.src[i]!,
      dst: this.dst[i]!,
      sizeBytes: this.size[i]!,
      startNs: this.start[i]!,
      endNs: this.start[i]! + this.fct[i]!,
      fctNs: this.fct[i]!,
      idealFctNs: this.ideal[i]!,
      slowdown: this.slow[i]!,
      hops: this.hops[i]!,
      tag: this.tag[i]!,
    };
  }

  /** Row indices with the given tag (all rows when undefined), in arrival order. */
  private select(tag: number | undefined): Int32Array {
    if (tag === undefined) {
      const all = new Int32Array(this.n);
      for (let i = 0; i < this.n; i++) all[i] = i;
      return all;
    }
    let m = 0;
    for (let i = 0; i < this.n; i++) if (this.tag[i] === tag) m++;
    const rows = new Int32Array(m);
    m = 0;
    for (let i = 0; i < this.n; i++) if (this.tag[i] === tag) rows[m++] = i;
    return rows;
  }

  private stats(
    rows: ArrayLike<number>,
  ): Pick<SizeBucketSummary, "fctNs" | "slowdown" | "meanFlowThroughputBps"> {
    const n = rows.length;
    const fct = new Float64Array(n);
    const slow = new Float64Array(n);
    const tput = new Float64Array(n);
    for (let k = 0; k < n; k++) {
      const i = rows[k]!;
      fct[k] = this.fct[i]!;
      slow[k] = this.slow[i]!;
      tput[k] = (this.size[i]! * 8 * 1e9) / this.fct[i]!;
    }
    return {
      fctNs: distribution(fct),
      slowdown: distribution(slow),
      meanFlowThroughputBps: sortedMean(tput),
    };
  }

  private grow(): void {
    const cap = this.cap * 2;
    const f64 = (a: Float64Array) => {
      const b = new Float64Array(cap);
      b.set(a);
      return b;
    };
    const i32 = (a: Int32Array) => {
      const b = new Int32Array(cap);
      b.set(a);
      return b;
    };
    const flow = new Uint32Array(cap);
    flow.set(this.flow);
    this.flow = flow;
    const hops = new Uint16Array(cap);
    hops.set(this.hops);
    this.hops = hops;
    this.src = i32(this.src);
    this.dst = i32(this.dst);
    this.size = f64(this.size);
    this.start = f64(this.start);
    this.fct = f64(this.fct);
    this.ideal = f64(this.ideal);
    this.slow = f64(this.slow);
    this.tag = f64(this.tag);
    this.cap = cap;
  }
}

/** `[lo,hi)` names in bytes for custom edges, e.g. `[0,1000)`, `[1000,inf)`. */
function defaultNames(edges: readonly number[]): string[] {
  const names: string[] = [];
  for (let b = 0; b <= edges.length; b++) {
    names.push(`[${b === 0 ? 0 : edges[b - 1]},${b < edges.length ? edges[b] : "inf"})`);
  }
  return names;
}
