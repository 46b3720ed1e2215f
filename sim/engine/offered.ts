/**
 * The offered traffic of a scenario binned per control interval: bytes per ordered pair (in the PairIndex order
 * of models/policies/common.ts) and the utilization it would put on each link over default paths. This is the
 * ground truth an oracle predictor reads, and the history a learned predictor trains on.
 */
import { PairIndex } from "../../models/policies/common.ts";
import type { Path } from "../substrate/routing.ts";
import type { Topology } from "../substrate/topology.ts";
import type { DemandInterval } from "./types.ts";

export interface OfferedSeries {
  /** Bytes per pair per bin, pairs (s, d), s != d, over node ids sorted, in (s, d) order. */
  pairBytes: Float64Array[];
  /** Offered utilization per link (links sorted by id) per bin. */
  linkUtilization: Float64Array[];
}

/**
 * Bins `intervals` into [fromNs + k binNs, fromNs + (k+1) binNs) for k = 0..bins-1, integrating each demand's
 * constant rate over the overlap.
 */
export function offeredSeries(
  topo: Topology,
  intervals: readonly DemandInterval[],
  route: (src: number, dst: number) => Path | undefined,
  fromNs: number,
  binNs: number,
  bins: number,
): OfferedSeries {
  const ids = topo.nodes.map((n) => n.id);
  const pairs = new PairIndex([...ids].sort());
  const N = ids.length;
  const pairOf = (s: number, d: number) => pairs.index(ids[s]!, ids[d]!);
  const linkOrder = topo.links.map((l) => l.index).sort((x, y) => cmp(topo.links[x]!.id, topo.links[y]!.id));
  const linkPos = new Int32Array(topo.linkCount);
  linkOrder.forEach((l, i) => {
    linkPos[l] = i;
  });
  const pairBytes = Array.from({ length: bins }, () => new Float64Array(pairs.size));
  const linkBits = Array.from({ length: bins }, () => new Float64Array(topo.linkCount));
  const paths = new Map<number, Path | undefined>();
  for (const iv of intervals) {
    const demands = iv.demands; // read once: an interval may build its demands on each read
    const k0 = Math.max(0, Math.floor((iv.startNs - fromNs) / binNs));
    const k1 = Math.min(bins - 1, Math.floor((iv.endNs - 1 - fromNs) / binNs));
    for (let k = k0; k <= k1; k++) {
      const b0 = fromNs + k * binNs;
      const overlap = Math.min(iv.endNs, b0 + binNs) - Math.max(iv.startNs, b0);
      if (overlap <= 0) continue;
      for (const d of demands) {
        const bits = (d.rateBps * overlap) / 1e9;
        const p = pairOf(d.src, d.dst);
        pairBytes[k]![p] = pairBytes[k]![p]! + bits / 8;
        const key = d.src * N + d.dst;
        if (!paths.has(key)) paths.set(key, route(d.src, d.dst));
        for (const l of paths.get(key) ?? []) linkBits[k]![linkPos[l]!] = linkBits[k]![linkPos[l]!]! + bits;
      }
    }
  }
  const linkUtilization = linkBits.map((row) =>
    Float64Array.from(row, (bits, i) => bits / ((topo.links[linkOrder[i]!]!.capacityBps * binNs) / 1e9)),
  );
  return { pairBytes, linkUtilization };
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
