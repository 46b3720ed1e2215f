/**
 * Static baselines in emulation. Linux routes by destination (here by pair, with policy rules), so a static
 * baseline's routing is installed per pair: its path becomes a pinned route where it differs from the substrate's
 * least-delay routes, once before traffic and again whenever default routes reconverge and the baseline's routing
 * says flows move. Per-flow spreading (ECMP's hashing) cannot be emulated this way: {@link perFlowPairs} names the
 * pairs it concerns.
 */
import { pairKey } from "../models/policies/types.ts";
import type { EnginePolicy, RoutingPolicy, Scenario } from "../sim/engine/types.ts";
import type { Topology } from "../sim/substrate/topology.ts";
import type { EmulationControlPlane } from "./control-plane.ts";
import type { ScaledControlPlane } from "./scaled-control-plane.ts";

/**
 * Static policies can only be emulated per pair (Linux routes by destination, here by pair): the pairs whose
 * flows a policy spreads over more than one path (ECMP's per-flow hashing), as "src->dst" keys.
 */
export function perFlowPairs(scenario: Scenario, policy: EnginePolicy, probes = 8): string[] {
  const topo = scenario.topology;
  const routing = policy.create({ topology: topo, seed: scenario.seed, run: scenario.run });
  const out: string[] = [];
  for (const u of topo.nodes)
    for (const v of topo.nodes) {
      if (u.index === v.index) continue;
      const first = routing.route(u.index, v.index, 0)?.join(",");
      for (let k = 1; k < probes; k++) {
        if (routing.route(u.index, v.index, k)?.join(",") !== first) {
          out.push(pairKey(u.id, v.id));
          break;
        }
      }
    }
  return out;
}

/**
 * Pins `routing`'s path of every pair (its first flow's) as the pair's route where it differs from the default
 * routes, and unpins pairs where it no longer does; pairs already as wanted are left alone.
 */
export async function pinStaticRoutes(
  topo: Topology,
  routing: RoutingPolicy,
  emuCtl: EmulationControlPlane,
  ctl: ScaledControlPlane,
): Promise<void> {
  const pinned = emuCtl.routes();
  for (const u of topo.nodes)
    for (const v of topo.nodes) {
      if (u.index === v.index) continue;
      const p = routing.route(u.index, v.index, 0);
      const key = pairKey(u.id, v.id);
      const want = p && p.length > 0 ? topo.pathNodes(p).join(",") : null;
      const def = emuCtl.defaultPath(u.id, v.id)?.join(",") ?? null;
      const now = pinned.get(key)?.join(",") ?? null;
      const target = want === def ? null : want;
      if (target === now) continue;
      await ctl.setRoute({ src: u.id, dst: v.id }, target === null ? null : target.split(","));
    }
}
