/**
 * Static routing baselines as {@link RoutingPolicy}s: shortest paths (by delay or hops) and ECMP with a seeded
 * per-flow hash. Both reconverge instantly on failures when `reroute` is set (an idealized IGP): new flows avoid
 * down links and flows stalled on a down link move to the new shortest (or hashed equal-cost) path.
 */
import type { PathWeight } from "../../models/policies/definition.ts";
import { allPairsShortestPaths, ecmpPaths, type Path, type ShortestPathTable } from "../substrate/routing.ts";
import type { Topology } from "../substrate/topology.ts";
import type { RoutingPolicy } from "./types.ts";

/**
 * A 32-bit avalanche hash of four 32-bit integers (MurmurHash3's fmix32 applied after each word is folded in);
 * a pure function, so the flow-to-path mapping depends on (seed, src, dst, flowKey) only and draws from no stream.
 */
export function flowHash(seed: number, src: number, dst: number, flowKey: number): number {
  let h = seed | 0;
  for (const w of [src, dst, flowKey]) {
    h = Math.imul(h ^ (w | 0), 0xcc9e2d51);
    h = (h << 15) | (h >>> 17);
    h = Math.imul(h, 0x1b873593) ^ 0xe6546b64;
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

function downSet(down: ReadonlySet<number>): Set<number> | undefined {
  return down.size === 0 ? undefined : new Set(down);
}

/** Every flow of a pair on the least path by `weight` (ties broken as in sim/substrate/routing.ts). */
export function shortestPathRouting(
  topo: Topology,
  opts: { weight: PathWeight; reroute: boolean },
): RoutingPolicy {
  let table: ShortestPathTable = allPairsShortestPaths(topo, { weight: opts.weight });
  return {
    route: (src, dst) => table.path(src, dst) ?? undefined,
    linksChanged(down) {
      if (!opts.reroute) return false;
      const links = downSet(down);
      table = allPairsShortestPaths(topo, { weight: opts.weight, ...(links ? { exclude: { links } } : {}) });
      return true;
    },
  };
}

/**
 * Equal-cost multipath: each flow takes path `flowHash(hashSeed, src, dst, flowKey) mod k` of the pair's k
 * equal-cost paths (in routing.ts's order, at most `maxPaths`), as a router hashing the 5-tuple would.
 */
export function ecmpRouting(
  topo: Topology,
  opts: { weight: PathWeight; maxPaths: number; hashSeed: number; reroute: boolean },
): RoutingPolicy {
  const n = topo.nodeCount;
  let cache = new Map<number, Path[]>();
  let exclude: Set<number> | undefined;
  const pathsOf = (src: number, dst: number): Path[] => {
    const key = src * n + dst;
    let ps = cache.get(key);
    if (!ps) {
      ps = ecmpPaths(topo, src, dst, {
        weight: opts.weight,
        maxPaths: opts.maxPaths,
        ...(exclude ? { exclude: { links: exclude } } : {}),
      });
      cache.set(key, ps);
    }
    return ps;
  };
  return {
    route(src, dst, flowKey) {
      const ps = pathsOf(src, dst);
      if (ps.length === 0) return undefined;
      return ps[flowHash(opts.hashSeed, src, dst, flowKey) % ps.length];
    },
    linksChanged(down) {
      if (!opts.reroute) return false;
      exclude = downSet(down);
      cache = new Map();
      return true;
    },
  };
}
