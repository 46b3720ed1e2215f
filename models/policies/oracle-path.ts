/**
 * Oracle path choice, the reference the sidecar mesh is measured against: with the oracle predictor
 * (`predictor: { name: oracle }`) it knows every pair's offered bytes of the coming interval, and it sees link
 * state and delays directly (no probes). Each interval it puts every pair's next-interval rate on the pair's current
 * path, then, heaviest active pair first, moves the pair to the candidate (the same set as rl-mesh: k shortest plus
 * one-hop relays) with the lowest expected latency of a typical flow,
 *
 *   cost(p) = 2 x delay(p) + meanFlowBytes x 8 / max(1 bit/s, min over links of p (capacity - load)),
 *
 * the pair's own rate taken off the path it leaves and put on the one it takes (greedy, in the spirit of
 * models/policies/common.ts LinkLoadEstimate). It is a bound in information (the true future demand, exact link
 * state), not a proven optimum: the greedy placement and the one-flow cost model are heuristics. With another
 * predictor it is a forecast-driven path choice.
 */
import * as z from "zod";
import type { Predictor } from "../predictors/predictor.ts";
import { meshParams } from "../rl/mesh-params.ts";
import { PathMesh } from "../rl/path-mesh.ts";
import { pathDelayNs } from "../rl/path-table.ts";
import { linksByEnds, PairIndex, pathLinkKeys } from "./common.ts";
import { COMMON_PARAMS, definePolicy, paramDefaults } from "./definition.ts";
import type { ControlPlane, LinkStats, NodePath, Observation, Policy } from "./types.ts";

/** The oracle path choice's parameters, declared once (the config's `params`). */
export const ORACLE_PATH_PARAMS = z.strictObject({
  meanFlowBytes: z
    .number()
    .gt(0)
    .default(1e6)
    .meta({ description: "Size of the typical flow whose latency the cost estimates, bytes." }),
  ...meshParams({ relays: 2, maxMoves: 64 }),
  kPaths: COMMON_PARAMS.kPaths,
  reroute: COMMON_PARAMS.reroute,
});

const DEFAULTS = paramDefaults(ORACLE_PATH_PARAMS);

export type OraclePathOptions = Partial<Omit<z.output<typeof ORACLE_PATH_PARAMS>, "reroute">> & {
  predictor: Predictor;
  kPaths: number;
};

export class OraclePath implements Policy {
  readonly name = "oracle-path";
  private readonly mesh: PathMesh;
  private readonly meanFlowBits: number;

  constructor(private readonly opts: OraclePathOptions) {
    const o = { ...DEFAULTS, ...opts };
    this.meanFlowBits = o.meanFlowBytes * 8;
    this.mesh = new PathMesh({
      probeBudget: 0,
      maxPairs: o.maxPairs,
      maxMoves: o.maxMoves,
      candidates: { kPaths: o.kPaths, relays: o.relays },
      insecureLinks: [],
    });
  }

  async decide(obs: Observation, ctl: ControlPlane): Promise<void> {
    const index = new PairIndex(obs.nodes);
    this.opts.predictor.observe(obs.timeNs, index.bytesSample(obs));
    const next = this.opts.predictor.forecast(1)[0]!;
    const seconds = obs.intervalNs / 1e9;
    const rateOf = (src: string, dst: string) =>
      (Math.max(0, next[index.index(src, dst)] ?? 0) * 8) / seconds;
    const links = linksByEnds(obs);
    const load = new Map<string, number>();
    const add = (p: NodePath, bps: number) => {
      for (const k of pathLinkKeys(p)) load.set(k, (load.get(k) ?? 0) + bps);
    };
    for (let i = 0; i < index.size; i++) {
      const { src, dst } = index.pair(i);
      const bps = rateOf(src, dst);
      const p = bps > 0 ? (obs.routes.get(`${src}->${dst}`) ?? ctl.defaultPath(src, dst)) : null;
      if (p) add(p, bps);
    }
    const view = this.mesh.observe({ ...obs, probes: [] });
    await this.mesh.place(view, ctl, (pair, candidates, current) => {
      const [src, dst] = pair.split("->") as [string, string];
      const bps = rateOf(src, dst);
      if (current) add(current, -bps);
      let best: NodePath | null = null;
      let bestCost = Number.POSITIVE_INFINITY;
      for (const p of candidates) {
        const c = this.cost(p, links, load, bps);
        if (c < bestCost) {
          best = p;
          bestCost = c;
        }
      }
      add(best ?? current ?? [], bps);
      return best;
    });
  }

  async onLinkDown(linkId: string, obs: Observation, ctl: ControlPlane): Promise<void> {
    await this.mesh.failover(linkId, obs, ctl, (_pair, candidates, view) => {
      let best: NodePath | null = null;
      let bestDelay = Number.POSITIVE_INFINITY;
      for (const p of candidates) {
        const d = pathDelayNs(p, view.links);
        if (view.usable(p) && d < bestDelay) {
          best = p;
          bestDelay = d;
        }
      }
      return best;
    });
  }

  /** Expected latency of a typical flow on `p` once the pair's `bps` is on it, ns (Infinity when a link is down). */
  private cost(
    p: NodePath,
    links: ReadonlyMap<string, LinkStats>,
    load: ReadonlyMap<string, number>,
    bps: number,
  ) {
    let room = Number.POSITIVE_INFINITY;
    for (const k of pathLinkKeys(p)) {
      const l = links.get(k);
      if (!l?.up) return Number.POSITIVE_INFINITY;
      room = Math.min(room, l.capacityBps - (load.get(k) ?? 0) - bps);
    }
    return 2 * pathDelayNs(p, links) + (this.meanFlowBits / Math.max(1, room)) * 1e9;
  }
}

/** Oracle path choice in a config: `name: oracle-path`, a predictor over pair volumes (give it `oracle`). */
export const oraclePathPolicy = definePolicy({
  name: "oracle-path",
  doc: "Path choice with the next interval's true demand (predictor: oracle) and exact link state: each active pair on the candidate with the lowest expected flow latency; a reference for rl-mesh and ron.",
  params: ORACLE_PATH_PARAMS,
  forecasts: "pair-volumes",
  verbs: ["setRoute"],
  create: (p, ctx) =>
    new OraclePath({
      predictor: ctx.predictor,
      meanFlowBytes: p.meanFlowBytes,
      relays: p.relays,
      maxPairs: p.maxPairs,
      maxMoves: p.maxMoves,
      kPaths: p.kPaths ?? ctx.kPaths,
    }),
});
