/**
 * A traffic-matrix series seen per link: the offered utilization of every directed link in every interval when each
 * pair's demand follows its least-delay path (demand bits/s summed per link / capacity; {@link offeredUtilization}).
 * This is the series that link-forecasting policies (mirroring, intent routing: `forecasts: "link-utilization"`)
 * predict, so `topocast predict --series links` evaluates forecasters on what those policies actually forecast.
 *
 * Shapes: T rows (the series' intervals, oldest first) of L values (the topology's directed links in index order,
 * named by link id); utilization is unitless (1 = the link's capacity), not capped (offered demand may exceed 1).
 * Node mapping: every node of the series must be a node of the topology with the same id (SNDlib matrices and their
 * network file share ids); the topology may have more nodes.
 */

import { allPairsShortestPaths } from "../../sim/substrate/routing.ts";
import type { Topology } from "../../sim/substrate/topology.ts";
import type { SeriesMatrix } from "../predictors/evaluate.ts";
import { WorkloadError } from "./errors.ts";
import { offeredUtilization, type PairDemand } from "./poisson-flows.ts";
import type { TrafficMatrixSeries } from "./tm-series.ts";

/**
 * The offered utilization per directed link per interval of `series` on `topo` (least-delay paths).
 * @throws WorkloadError naming the series' nodes the topology lacks, or a pair with demand and no path
 */
export function linkUtilizationMatrix(series: TrafficMatrixSeries, topo: Topology): SeriesMatrix {
  const missing = series.nodes.filter((id) => !topo.hasNode(id));
  if (missing.length > 0) {
    throw new WorkloadError(
      `${series.source}: node(s) ${missing.slice(0, 5).join(", ")}${missing.length > 5 ? ", ..." : ""} not in topology ${topo.name}; the series' node ids must be the topology's`,
    );
  }
  const index = series.nodes.map((id) => topo.node(id));
  const table = allPairsShortestPaths(topo, { weight: "delay" });
  const N = series.nodes.length;
  const rows = series.rates.map((rates, t) => {
    const demands: PairDemand[] = [];
    for (let i = 0; i < N; i++) {
      for (let j = 0; j < N; j++) {
        const rateBps = rates[i * N + j]!;
        if (i === j || rateBps === 0) continue;
        const src = index[i]!;
        const dst = index[j]!;
        if (!table.path(src, dst)) {
          throw new WorkloadError(
            `${series.source}: interval ${t}: ${series.nodes[i]} -> ${series.nodes[j]} has demand but no path in ${topo.name}`,
          );
        }
        demands.push({ src, dst, rateBps });
      }
    }
    return offeredUtilization(topo, demands, (s, d) => table.path(s, d)!);
  });
  return {
    rows,
    pairs: topo.links.map((l) => l.id),
    endNs: Float64Array.from(series.startNs, (s) => s + series.intervalNs),
    labels: series.labels,
  };
}
