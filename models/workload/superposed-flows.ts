/**
 * Open-loop flow arrivals as one superposed Poisson process per demand interval: the same traffic as
 * {@link PoissonFlowSource} (a Poisson process per node pair at lambda = demand / (8 x mean size)) without an
 * object, a stream or a pending event per pair.
 *
 * Why it is the same. The superposition of independent Poisson processes of rates lambda_k is a Poisson process
 * of rate Lambda = sum lambda_k, and each of its arrivals belongs to process k with probability lambda_k / Lambda,
 * independently of the times and of the other arrivals (superposition and marking theorems: J. F. C. Kingman,
 * "Poisson Processes", Oxford 1993, ch. 2 and 5). So drawing an Exp(Lambda) gap and then the pair from an alias
 * table over the lambda_k (alias-table.ts) gives flows with the same joint law: per pair the same Poisson counts,
 * the same sizes (the flow-size distribution, or the pair's fixed size). The individual flows differ from the
 * per-pair generator's: a seed draws another sample of the same process.
 *
 * Determinism. Every draw comes from one named stream (`flows/superposed` unless given another), per arrival in
 * a fixed order: the gap (one uniform), the pair (one uniform), the size (the distribution's draws; none for a
 * fixed-size pair). Pairs are indexed in the order of `demands` (zero-rate pairs left out), so the same demands in
 * the same order and the same stream state give the same flows. The stream runs on from one interval into the
 * next. Unlike per-pair streams, changing one pair's demand changes the flows of the others.
 *
 * Memory: per pair 20 bytes (alias table, src, dst, fixed size) while the source lives; one pending event. Demands
 * may come as columns ({@link PairDemandColumns}: typed arrays, no object per pair) when there are hundreds of
 * thousands of pairs per interval; the flows are the same as for the equal list of {@link PairDemand}s.
 * Units: rates bits/s, sizes bytes, times integer ns.
 */
import type { Distribution, RandomStream, RandomStreams } from "../../sim/kernel/rng.ts";
import type { Simulator } from "../../sim/kernel/simulator.ts";
import type { Path } from "../../sim/substrate/routing.ts";
import type { Topology } from "../../sim/substrate/topology.ts";
import { AliasTable } from "./alias-table.ts";
import { type FlowSchedule, recordSchedule } from "./flow-schedule.ts";
import type { FlowSink } from "./flow-sink.ts";
import {
  checkDemand,
  type DemandSegment,
  type PairDemand,
  sourceBounds,
  WorkloadError,
} from "./poisson-flows.ts";

/** The default stream of superposed arrivals. */
export const SUPERPOSED_STREAM = "flows/superposed";

/**
 * Demands as columns: pair k is (src[k], dst[k]) at rateBps[k] bits/s, sizes drawn from the distribution. Equal
 * lengths; the same flows as the list of {@link PairDemand}s in the same order.
 */
export interface PairDemandColumns {
  src: Int32Array;
  dst: Int32Array;
  rateBps: Float64Array;
}

export interface SuperposedFlowOptions {
  demands: readonly PairDemand[] | PairDemandColumns;
  sizes: Distribution;
  /** The stream every draw comes from (see the module doc). */
  stream: RandomStream;
  /** Path for a new flow between src and dst (called at arrival). */
  route: (src: number, dst: number) => Path;
  /** No arrivals at or after this time, ns (default: unbounded). */
  untilNs?: number;
  /** Stop after this many flows in total (default: unbounded). */
  maxFlows?: number;
}

/** Generates flows into a {@link FlowSink}. Call {@link start} once. */
export class SuperposedFlowSource {
  private readonly table: AliasTable | null;
  private src = new Int32Array(0);
  private dst = new Int32Array(0);
  /** Fixed size per pair, bytes, or 0: drawn from the distribution. */
  private fixed = new Float64Array(0);
  private readonly meanGapNs: number;
  private readonly untilNs: number;
  private readonly maxFlows: number;
  private readonly nodeCount: number;
  private started = 0;

  /** @throws WorkloadError for a bad demand (as PoissonFlowSource) or a size distribution without a positive mean. */
  constructor(
    private readonly sim: Simulator,
    private readonly network: FlowSink,
    private readonly opts: SuperposedFlowOptions,
  ) {
    const topo = network.topology;
    const { meanSize, untilNs, maxFlows } = sourceBounds(opts);
    this.untilNs = untilNs;
    this.maxFlows = maxFlows;
    this.nodeCount = topo.nodeCount;
    const flowRate =
      "rateBps" in opts.demands ? this.fromColumns(opts.demands, meanSize) : this.fromList(meanSize);
    this.table = flowRate.length > 0 ? new AliasTable(flowRate) : null;
    this.meanGapNs = this.table ? 1e9 / this.table.total : Number.POSITIVE_INFINITY;
  }

  /** Fills src, dst, fixed from a list of demands (zero rates left out); returns each pair's flows/s. */
  private fromList(meanSize: number): Float64Array {
    const demands = this.opts.demands as readonly PairDemand[];
    const topo = this.network.topology;
    let n = 0;
    for (const d of demands) {
      checkDemand(topo, d);
      if (d.rateBps > 0) n++;
    }
    this.src = new Int32Array(n);
    this.dst = new Int32Array(n);
    this.fixed = new Float64Array(n);
    const flowRate = new Float64Array(n);
    let k = 0;
    for (const d of demands) {
      if (d.rateBps === 0) continue;
      const fixedBytes = d.sizeBytes === undefined ? 0 : Math.round(d.sizeBytes);
      this.src[k] = d.src;
      this.dst[k] = d.dst;
      this.fixed[k] = fixedBytes;
      flowRate[k] = d.rateBps / ((fixedBytes || meanSize) * 8); // flows/s
      k++;
    }
    return flowRate;
  }

  /** As {@link fromList} for columns (checked like a list: each rate >= 0 and finite, src !== dst). */
  private fromColumns(c: PairDemandColumns, meanSize: number): Float64Array {
    const topo = this.network.topology;
    const len = c.rateBps.length;
    if (c.src.length !== len || c.dst.length !== len) {
      throw new WorkloadError(
        `demand columns: src, dst and rateBps must have equal lengths, got ${c.src.length}, ${c.dst.length}, ${len}`,
      );
    }
    let n = 0;
    for (let i = 0; i < len; i++) {
      const r = c.rateBps[i]!;
      if (r > 0 && c.src[i] !== c.dst[i] && Number.isFinite(r)) n++;
      else checkDemand(topo, { src: c.src[i]!, dst: c.dst[i]!, rateBps: r }); // throws unless a zero rate
    }
    this.src = new Int32Array(n);
    this.dst = new Int32Array(n);
    this.fixed = new Float64Array(n);
    const flowRate = new Float64Array(n);
    let k = 0;
    for (let i = 0; i < len; i++) {
      const r = c.rateBps[i]!;
      if (r === 0) continue;
      this.src[k] = c.src[i]!;
      this.dst[k] = c.dst[i]!;
      flowRate[k] = r / (meanSize * 8); // flows/s
      k++;
    }
    return flowRate;
  }

  /** Flows generated so far. */
  get flowsStarted(): number {
    return this.started;
  }

  /** Schedules the first arrival. */
  start(): void {
    this.scheduleNext();
  }

  private scheduleNext(): void {
    if (!this.table) return;
    const gap = Math.round(this.opts.stream.exponential(this.meanGapNs));
    if (this.sim.now + gap >= this.untilNs) return;
    this.sim.schedule(gap, this.arrive, 0, null);
  }

  private readonly arrive = (): void => {
    if (this.started >= this.maxFlows) return;
    this.started++;
    const rng = this.opts.stream;
    const k = this.table!.sample(rng.uniform());
    const src = this.src[k]!;
    const dst = this.dst[k]!;
    const sizeBytes = this.fixed[k]! || Math.max(1, Math.round(this.opts.sizes.sample(rng)));
    this.network.startFlow({
      src,
      dst,
      sizeBytes,
      path: this.opts.route(src, dst),
      tag: src * this.nodeCount + dst,
    });
    this.scheduleNext();
  };
}

/**
 * The flows of a series of demand segments as a {@link FlowSchedule}, like `poissonSchedule` but one
 * {@link SuperposedFlowSource} per segment, all drawing from the stream {@link SUPERPOSED_STREAM} of `streams`.
 * Each segment's flows form one chain (the source has one pending arrival at a time), so a replay runs the same
 * events the live sources would.
 * @throws WorkloadError for a bad demand or size distribution.
 */
export function superposedSchedule(
  topology: Topology,
  segments: readonly DemandSegment[],
  sizes: Distribution,
  streams: RandomStreams,
  untilNs?: number,
): FlowSchedule {
  const noPath: Path = [];
  const stream = streams.stream(SUPERPOSED_STREAM);
  return recordSchedule(
    topology,
    segments.map((seg) => ({
      startNs: seg.startNs,
      chains: "generator" as const,
      start: (sim, sink) =>
        new SuperposedFlowSource(sim, sink, {
          demands: seg.demands,
          sizes,
          stream,
          route: () => noPath,
          untilNs: seg.endNs,
        }).start(),
    })),
    untilNs,
  );
}
