/**
 * The ideal flow completion time: the one definition every engine uses for a flow's slowdown (FCT / ideal FCT).
 *
 * Definition. A flow's ideal FCT is the best possible completion time of a flow of its size between its endpoints
 * alone on the idle, failure-free substrate: over the substrate's paths p from src to dst,
 *
 *   ideal(src, dst, size) = min_p  size x 8 / bottleneck(p) + delay(p)        (ns; size in bytes, rates bits/s)
 *
 * with bottleneck(p) the smallest nominal capacity and delay(p) the sum of propagation delays along p. This is the
 * normalization of the datacenter-transport literature: pFabric (Alizadeh et al., SIGCOMM 2013) normalizes each
 * flow's FCT "to the best possible completion time for that flow"; Homa (Montazeri et al., SIGCOMM 2018) defines
 * slowdown as the completion time divided by "the best possible time for a message of that size on an unloaded
 * network"; HPCC (Li et al., SIGCOMM 2019) divides by "the ideal FCT when the network only has this flow".
 *
 * Consequences, on purpose. The ideal depends on the flow (endpoints, size) and the substrate, never on the policy
 * or the engine: the same flow has the same ideal in the simulator and the emulator and under every policy, so
 * slowdowns compare across policies and engines (for one flow, the ratio of two slowdowns is the ratio of FCTs).
 * A detour, a failure's reroute or a stall costs slowdown; a path of higher capacity cannot make it drop below 1.
 * The ideal leaves out what TCP start-up costs (handshake, slow start) and every queue: a slowdown includes them.
 *
 * Computation. Let c_1 > c_2 > ... be the substrate's distinct link capacities and d_k(src, dst) the least delay
 * over paths using only links of capacity >= c_k. Then ideal = min_k size x 8 / c_k + d_k(src, dst): the best path
 * p* has some bottleneck c_k, and d_k <= delay(p*); each term is at least the FCT of the path attaining d_k, whose
 * bottleneck is >= c_k. So one delay-weighted all-pairs table per distinct capacity, built on first use, and
 * O(#capacities) per flow. Delays are integer ns, so the sums are exact; the term is computed as
 * `(size * 8 * 1e9) / c + d`, rounded only by floating point (the ideal is a quantity, not an event time).
 */
import { allPairsShortestPaths, type ShortestPathTable } from "./routing.ts";
import { type Topology, TopologyError } from "./topology.ts";

/** Ideal FCTs over one substrate (see the module doc); tables are built on the first call. */
export class IdealFct {
  private tables: { capacityBps: number; delays: ShortestPathTable }[] | undefined;

  constructor(readonly topology: Topology) {}

  /**
   * The ideal FCT of a flow of `sizeBytes` from node `src` to node `dst` (indices), ns; 0 when src === dst.
   * @throws TopologyError when dst cannot be reached from src on the failure-free substrate.
   */
  ns(src: number, dst: number, sizeBytes: number): number {
    if (src === dst) return 0;
    this.tables ??= this.build();
    let best = Number.POSITIVE_INFINITY;
    for (const t of this.tables) {
      const d = t.delays.cost(src, dst);
      if (d === Number.POSITIVE_INFINITY) continue;
      best = Math.min(best, (sizeBytes * 8 * 1e9) / t.capacityBps + d);
    }
    if (best === Number.POSITIVE_INFINITY) {
      const ids = this.topology.nodes;
      throw new TopologyError(
        `${this.topology.name}: no path from "${ids[src]?.id}" to "${ids[dst]?.id}", so no ideal FCT`,
      );
    }
    return best;
  }

  private build(): { capacityBps: number; delays: ShortestPathTable }[] {
    const topo = this.topology;
    const capacities = [...new Set(topo.links.map((l) => l.capacityBps))]
      .filter((c) => c > 0)
      .sort((a, b) => b - a);
    return capacities.map((c) => {
      const narrower = new Uint8Array(topo.linkCount);
      for (const l of topo.links) if (l.capacityBps < c) narrower[l.index] = 1;
      return {
        capacityBps: c,
        delays: allPairsShortestPaths(topo, { weight: "delay", exclude: { links: narrower } }),
      };
    });
  }
}
