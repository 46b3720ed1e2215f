/**
 * The min-MLU bound of a scenario's offered traffic, interval by interval: for each demand interval, the lowest
 * maximum link utilization any routing could give its offered matrix (the Poisson sources' mean rates, bits/s)
 * over the links that are up at some time in the interval ({@link minMluBound}, an LP solved with HiGHS).
 *
 * It bounds MLU computed from the offered matrix; a run's measured MLU counts the bits carried in each sampling
 * interval, which differ from the offered means by the Poisson draws and by flows that cross interval boundaries,
 * so a measured per-interval MLU may fall below it. It does not bound FCT or slowdown (see models/te/min-mlu.ts).
 */

import { type MluLink, minMluBound } from "../models/te/min-mlu.ts";
import type { DemandInterval, LinkEvent } from "../sim/engine/types.ts";
import type { Topology } from "../sim/substrate/topology.ts";

/** One interval of {@link mluBoundSeries}. */
export interface MluBoundPoint {
  startNs: number;
  endNs: number;
  /** Sum of the interval's offered rates, bits/s. */
  offeredBps: number;
  /** Min-MLU of the offered matrix over the links up at some time in [startNs, endNs). */
  mluBound: number;
  /** Offered rate of pairs no up link path joins (left out of the bound), bits/s. */
  unroutableBps: number;
}

/**
 * Which links are up at some time in [startNs, endNs), given all links up at time 0 and `failures` (in any
 * order; applied in time order, ties in the order given).
 */
export function linksUpDuring(
  linkCount: number,
  failures: readonly LinkEvent[],
  startNs: number,
  endNs: number,
): Uint8Array {
  const state = new Uint8Array(linkCount).fill(1);
  const events = failures.map((f, i) => ({ f, i })).sort((a, b) => a.f.atNs - b.f.atNs || a.i - b.i);
  const upSome = new Uint8Array(linkCount);
  let k = 0;
  for (; k < events.length && events[k]!.f.atNs <= startNs; k++) {
    for (const l of events[k]!.f.links) state[l] = events[k]!.f.up ? 1 : 0;
  }
  upSome.set(state);
  for (; k < events.length && events[k]!.f.atNs < endNs; k++) {
    for (const l of events[k]!.f.links) if (events[k]!.f.up) upSome[l] = 1;
  }
  return upSome;
}

/** The min-MLU bound of every demand interval of a scenario, in interval order. */
export async function mluBoundSeries(
  topology: Topology,
  intervals: readonly DemandInterval[],
  failures: readonly LinkEvent[],
): Promise<MluBoundPoint[]> {
  const n = topology.nodeCount;
  const out: MluBoundPoint[] = [];
  for (const iv of intervals) {
    const up = linksUpDuring(topology.linkCount, failures, iv.startNs, iv.endNs);
    const links: MluLink[] = [];
    for (const l of topology.links) {
      if (up[l.index]) links.push({ src: l.src, dst: l.dst, capacityBps: l.capacityBps });
    }
    const m = new Float64Array(n * n);
    let offeredBps = 0;
    for (const d of iv.demands) {
      m[d.src * n + d.dst]! += d.rateBps;
      offeredBps += d.rateBps;
    }
    const r = await minMluBound(n, links, m);
    const unroutableBps = r.unroutable.reduce((a, [, , d]) => a + d, 0);
    out.push({ startNs: iv.startNs, endNs: iv.endNs, offeredBps, mluBound: r.mlu, unroutableBps });
  }
  return out;
}

/** summary.json's `mluBound`: the per-interval bound and each policy's mean MLU beside its mean. */
export interface MluBoundSummary {
  /** Mean and max of the per-interval bounds (the intervals weigh by their length). */
  mean: number;
  max: number;
  intervals: MluBoundPoint[];
  /**
   * Per policy: its duration-weighted mean measured MLU and that divided by the bound's mean (1 = as good as the
   * best routing of the offered means; below 1 is possible, see the module's docstring); null without samples.
   */
  policies: { policy: string; meanMlu: number | null; overBound: number | null }[];
}

/** The bound of a scenario's intervals beside the policies' measured mean MLU. */
export async function mluBoundSummary(
  topology: Topology,
  intervals: readonly DemandInterval[],
  failures: readonly LinkEvent[],
  policies: readonly { policy: string; meanMlu: number | null }[],
): Promise<MluBoundSummary> {
  const points = await mluBoundSeries(topology, intervals, failures);
  let weighted = 0;
  let span = 0;
  for (const p of points) {
    weighted += p.mluBound * (p.endNs - p.startNs);
    span += p.endNs - p.startNs;
  }
  const mean = span > 0 ? weighted / span : 0;
  return {
    mean,
    max: points.reduce((m, p) => Math.max(m, p.mluBound), 0),
    intervals: points,
    policies: policies.map((p) => ({
      policy: p.policy,
      meanMlu: p.meanMlu,
      overBound: p.meanMlu === null || mean === 0 ? null : p.meanMlu / mean,
    })),
  };
}
