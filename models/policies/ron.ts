/**
 * RON-like path choice, the baseline of the sidecar mesh (Andersen, Balakrishnan, Kaashoek, Morris, "Resilient
 * Overlay Networks", SOSP 2001): every node probes the direct path and the one-hop relays through every other
 * node, keeps an EWMA of each path's probed latency (weight 0.1 for the new sample) and its recent loss, and
 * sends a pair over the path with the lowest latency estimate among paths whose last probe was answered. To avoid
 * flapping between near-equal paths, it switches only when the best path's estimate is lower than the current
 * path's by more than `hysteresis` (a fraction; RON's latency optimizer applies such a hysteresis). A path whose
 * probe was lost, or that crosses a down link, is left at once for the best answered one (RON's outage
 * detection, here within one control interval). Latency is all it optimizes: it does not see load or bandwidth.
 */
import * as z from "zod";
import { meshParams, probeBudgetParam } from "../rl/mesh-params.ts";
import type { MeshView } from "../rl/path-mesh.ts";
import { PathMesh } from "../rl/path-mesh.ts";
import { COMMON_PARAMS, definePolicy, paramDefaults } from "./definition.ts";
import type { ControlPlane, NodePath, Observation, Policy } from "./types.ts";

/** RON's parameters, declared once (the config's `params`). */
export const RON_PARAMS = z.strictObject({
  hysteresis: z.number().min(0).max(1).default(0.05).meta({
    description: "Switch only when the best latency is lower than the current path's by this fraction.",
  }),
  probeBudget: probeBudgetParam(400),
  ...meshParams({ relays: 16, maxMoves: 64 }),
  reroute: COMMON_PARAMS.reroute,
});

const DEFAULTS = paramDefaults(RON_PARAMS);

export type RonOptions = Partial<Omit<z.output<typeof RON_PARAMS>, "reroute">>;

export class Ron implements Policy {
  readonly name = "ron";
  readonly mesh: PathMesh;
  private readonly hysteresis: number;

  constructor(opts: RonOptions = {}) {
    const o = { ...DEFAULTS, ...opts };
    this.hysteresis = o.hysteresis;
    this.mesh = new PathMesh({
      probeBudget: o.probeBudget,
      maxPairs: o.maxPairs,
      maxMoves: o.maxMoves,
      // The direct path plus one-hop relays: RON's candidate set.
      candidates: { kPaths: 1, relays: o.relays },
      insecureLinks: [],
    });
  }

  async decide(obs: Observation, ctl: ControlPlane): Promise<void> {
    const view = this.mesh.observe(obs);
    await this.mesh.place(view, ctl, (_pair, candidates, current, failover) => {
      const best = this.lowest(candidates, view);
      if (!best || failover || !current) return best;
      const cur = this.mesh.table.get(current).ewmaRttNs;
      const alt = this.mesh.table.get(best).ewmaRttNs!;
      return cur === null || alt < cur * (1 - this.hysteresis) ? best : null;
    });
  }

  async onLinkDown(linkId: string, obs: Observation, ctl: ControlPlane): Promise<void> {
    await this.mesh.failover(linkId, obs, ctl, (_pair, candidates, view) => this.lowest(candidates, view));
  }

  /** The usable candidate with the lowest latency estimate (ties: the earlier), or null when none was answered. */
  private lowest(candidates: readonly NodePath[], view: MeshView): NodePath | null {
    let best: NodePath | null = null;
    let bestRtt = Number.POSITIVE_INFINITY;
    for (const p of candidates) {
      const rtt = this.mesh.table.get(p).ewmaRttNs;
      if (rtt !== null && view.usable(p) && rtt < bestRtt) {
        best = p;
        bestRtt = rtt;
      }
    }
    return best;
  }
}

/** RON in a config: `name: ron`, {@link RON_PARAMS}, no predictor. */
export const ronPolicy = definePolicy({
  name: "ron",
  doc: "RON-like baseline (Andersen et al., SOSP 2001): probe the direct path and one-hop relays, use the lowest EWMA latency with hysteresis; leave a path at once when its probe is lost.",
  params: RON_PARAMS,
  forecasts: null,
  verbs: ["setRoute", "probe"],
  create: (p) =>
    new Ron({
      hysteresis: p.hysteresis,
      relays: p.relays,
      probeBudget: p.probeBudget,
      maxPairs: p.maxPairs,
      maxMoves: p.maxMoves,
    }),
});
