/**
 * Open-loop flow arrivals: per node pair, a Poisson process of flows whose sizes follow a distribution, at the
 * flow rate that reproduces the pair's demand in bits/s (lambda = demand / (8 x mean size)).
 *
 * Each pair draws its gaps and sizes from its own named stream (`flows/<src>-><dst>`), so changing one pair's
 * demand, or adding a pair, never changes the flows of another. This is the standard open-loop workload of
 * flow-level datacenter and WAN studies (e.g. pFabric, SIGCOMM'13; HPCC, SIGCOMM'19).
 */
import type { Distribution, RandomStream, RandomStreams } from "../../sim/kernel/rng.ts";
import type { Simulator } from "../../sim/kernel/simulator.ts";
import type { Path } from "../../sim/substrate/routing.ts";
import type { Topology } from "../../sim/substrate/topology.ts";
import { WorkloadError } from "./errors.ts";
import { type FlowSchedule, recordSchedule } from "./flow-schedule.ts";
import type { FlowSink } from "./flow-sink.ts";

/** Offered load between two nodes (node indices), bits/s. */
export interface PairDemand {
  src: number;
  dst: number;
  rateBps: number;
  /**
   * Every flow of this pair has this size, bytes (requests of one client, e.g. an intent mesh's); absent: sizes
   * are drawn from the flow-size distribution. A fixed size draws nothing from the pair's stream.
   */
  sizeBytes?: number;
}

/** Re-exported from errors.ts, where it now lives, so existing imports keep working. */
export { WorkloadError };

export interface PoissonFlowOptions {
  demands: readonly PairDemand[];
  sizes: Distribution;
  streams: RandomStreams;
  /** Path for a new flow between src and dst (called at arrival, so it can follow current routing). */
  route: (src: number, dst: number) => Path;
  /** No arrivals at or after this time, ns (default: unbounded). */
  untilNs?: number;
  /** Stop after this many flows in total (default: unbounded). */
  maxFlows?: number;
}

interface PairState {
  demand: PairDemand;
  rng: RandomStream;
  meanGapNs: number;
  tag: number;
  /** The demand's fixed flow size, or 0: drawn from the distribution. */
  fixedBytes: number;
}

/** Generates flows into a {@link FlowSink}. Call {@link start} once. */
export class PoissonFlowSource {
  private readonly pairs: PairState[];
  private started = 0;
  private readonly untilNs: number;
  private readonly maxFlows: number;

  constructor(
    private readonly sim: Simulator,
    private readonly network: FlowSink,
    private readonly opts: PoissonFlowOptions,
  ) {
    const topo = network.topology;
    const { meanSize, untilNs, maxFlows } = sourceBounds(opts);
    this.untilNs = untilNs;
    this.maxFlows = maxFlows;
    this.pairs = [];
    for (const d of opts.demands) {
      checkDemand(topo, d);
      if (d.rateBps === 0) continue;
      const fixedBytes = d.sizeBytes === undefined ? 0 : Math.round(d.sizeBytes);
      this.pairs.push({
        demand: d,
        rng: opts.streams.stream(`flows/${pairName(topo, d)}`),
        meanGapNs: ((fixedBytes || meanSize) * 8 * 1e9) / d.rateBps,
        tag: d.src * topo.nodeCount + d.dst,
        fixedBytes,
      });
    }
  }

  /** Flows generated so far. */
  get flowsStarted(): number {
    return this.started;
  }

  /** Schedules each pair's first arrival. */
  start(): void {
    for (const p of this.pairs) this.scheduleNext(p);
  }

  private scheduleNext(p: PairState): void {
    const gap = Math.round(p.rng.exponential(p.meanGapNs));
    if (this.sim.now + gap >= this.untilNs) return;
    this.sim.schedule(gap, this.arrive, 0, p);
  }

  private readonly arrive = (p: PairState): void => {
    if (this.started >= this.maxFlows) return;
    this.started++;
    const sizeBytes = p.fixedBytes || Math.max(1, Math.round(this.opts.sizes.sample(p.rng)));
    const { src, dst } = p.demand;
    this.network.startFlow({ src, dst, sizeBytes, path: this.opts.route(src, dst), tag: p.tag });
    this.scheduleNext(p);
  };
}

/** Offered traffic over [startNs, endNs): per pair, Poisson flows at a constant rate (a demand interval). */
export interface DemandSegment {
  startNs: number;
  endNs: number;
  demands: readonly PairDemand[];
}

/**
 * The flows of a series of demand segments as a {@link FlowSchedule}: per segment a {@link PoissonFlowSource}
 * started at its start with arrivals cut at its end, all drawing from `streams` (a pair's stream runs on from one
 * segment into the next; Poisson processes are memoryless, so restarting at a boundary is exact). Flows arriving at
 * or after `untilNs` are left out. Draws exactly what live sources started at the segments' starts would.
 * @throws WorkloadError for a bad demand or size distribution.
 */
export function poissonSchedule(
  topology: Topology,
  segments: readonly DemandSegment[],
  sizes: Distribution,
  streams: RandomStreams,
  untilNs?: number,
): FlowSchedule {
  const noPath: Path = [];
  return recordSchedule(
    topology,
    segments.map((seg) => ({
      startNs: seg.startNs,
      start: (sim, sink) =>
        new PoissonFlowSource(sim, sink, {
          demands: seg.demands,
          sizes,
          streams,
          route: () => noPath,
          untilNs: seg.endNs,
        }).start(),
    })),
    untilNs,
  );
}

/**
 * A Poisson source's mean flow size (bytes) and its bounds (`untilNs`, `maxFlows`; Infinity when absent).
 * @throws WorkloadError when the size distribution's mean is not > 0.
 */
export function sourceBounds(opts: { sizes: Distribution; untilNs?: number; maxFlows?: number }): {
  meanSize: number;
  untilNs: number;
  maxFlows: number;
} {
  const meanSize = opts.sizes.mean();
  if (!(meanSize > 0)) throw new WorkloadError(`flow-size distribution has mean ${meanSize}; must be > 0`);
  return {
    meanSize,
    untilNs: opts.untilNs ?? Number.POSITIVE_INFINITY,
    maxFlows: opts.maxFlows ?? Number.POSITIVE_INFINITY,
  };
}

/**
 * Checks one demand of a Poisson workload.
 * @throws WorkloadError naming the pair for a negative or non-finite rate, src = dst, or a fixed size below 1 byte.
 */
export function checkDemand(topo: Topology, d: PairDemand): void {
  if (!(d.rateBps >= 0) || !Number.isFinite(d.rateBps)) {
    throw new WorkloadError(`demand ${pairName(topo, d)}: rate must be >= 0 bits/s, got ${d.rateBps}`);
  }
  if (d.src === d.dst) throw new WorkloadError(`demand ${pairName(topo, d)}: source equals destination`);
  if (d.sizeBytes !== undefined && !(d.sizeBytes >= 1 && Number.isFinite(d.sizeBytes))) {
    throw new WorkloadError(`demand ${pairName(topo, d)}: flow size must be >= 1 byte, got ${d.sizeBytes}`);
  }
}

/** `"<src id>-><dst id>"`, the pair's name in stream names and messages. */
export function pairName(topo: Topology, d: { src: number; dst: number }): string {
  return `${topo.nodes[d.src]?.id ?? d.src}->${topo.nodes[d.dst]?.id ?? d.dst}`;
}

/** Equal demand between every ordered pair of distinct nodes, `rateBps` each. */
export function uniformDemands(topo: Topology, rateBps: number): PairDemand[] {
  const out: PairDemand[] = [];
  for (let s = 0; s < topo.nodeCount; s++) {
    for (let d = 0; d < topo.nodeCount; d++) if (s !== d) out.push({ src: s, dst: d, rateBps });
  }
  return out;
}

/**
 * Offered utilization per link when each demand follows `route` (demand bits/s summed per link / capacity).
 * Returns a Float64Array by link index.
 */
export function offeredUtilization(
  topo: Topology,
  demands: readonly PairDemand[],
  route: (src: number, dst: number) => Path,
): Float64Array {
  const load = new Float64Array(topo.linkCount);
  for (const d of demands) {
    if (d.rateBps === 0) continue;
    for (const l of route(d.src, d.dst)) load[l] = load[l]! + d.rateBps;
  }
  for (let l = 0; l < topo.linkCount; l++) load[l] = load[l]! / topo.links[l]!.capacityBps;
  return load;
}

/**
 * Scales demands so the most loaded link's offered utilization under `route` equals `targetMlu` (the traffic-
 * engineering convention for making a traffic matrix load a network to a chosen level).
 * @throws WorkloadError when the demands load no link.
 */
export function scaleDemandsToMlu(
  topo: Topology,
  demands: readonly PairDemand[],
  route: (src: number, dst: number) => Path,
  targetMlu: number,
): PairDemand[] {
  const util = offeredUtilization(topo, demands, route);
  let mlu = 0;
  for (const u of util) mlu = Math.max(mlu, u);
  if (!(mlu > 0)) throw new WorkloadError("cannot scale demands: they load no link");
  const f = targetMlu / mlu;
  return demands.map((d) => ({ ...d, rateBps: d.rateBps * f }));
}
