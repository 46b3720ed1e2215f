/**
 * Min-MLU traffic engineering: each control interval, forecast every pair's volume for the next interval, solve
 * the min-MLU split of those rates over each pair's k shortest paths (an LP, models/te/min-mlu.ts, after Fortz &
 * Thorup's MLU objective), and pin each pair to one path: heaviest pairs first, each on the path of its LP support
 * that keeps the highest utilization along it lowest given the pairs placed before it (ties: the larger LP share).
 * With the oracle predictor (the default in experiments that name it) it is the offline-optimal TE reference of
 * issue 18: it knows each interval's demand before it arrives.
 *
 * What it is and is not a bound of: the LP's optimum (`lastBound`) is the lowest MLU any split of the forecast
 * matrix over those paths can have; the pinned routes are a rounding of it (a pair's flows take one path, as
 * setRoute installs), so the MLU the run measures can lie above the LP optimum, and by Poisson draws and flows that
 * cross intervals also below it. For the bound over all routings of a run's offered matrices see
 * experiments/mlu-bound.ts. FCT is not bounded by either (see models/te/min-mlu.ts).
 */
import * as z from "zod";
import type { Predictor } from "../predictors/predictor.ts";
import { type MluLink, minMluOverPaths } from "../te/min-mlu.ts";
import { PairIndex, pathLinkKeys, pinNow, samePath } from "./common.ts";
import { COMMON_PARAMS, DEFAULT_K_PATHS, definePolicy } from "./definition.ts";
import { type ControlPlane, type NodePath, type Observation, type Policy, pairKey } from "./types.ts";

/** Min-MLU TE's parameters, declared once. */
export const MIN_MLU_TE_PARAMS = z.strictObject({
  kPaths: COMMON_PARAMS.kPaths,
  reroute: COMMON_PARAMS.reroute,
});

export interface MinMluTeOptions {
  predictor: Predictor;
  /** Candidate paths per pair (default {@link DEFAULT_K_PATHS}). */
  kPaths?: number;
}

/** A pair's forecast rate (bits/s) and its candidate paths. */
interface Demand {
  key: string;
  src: string;
  dst: string;
  rateBps: number;
  paths: NodePath[];
}

export class MinMluTe implements Policy {
  readonly name = "min-mlu-te";
  private index: PairIndex | undefined;
  /** The LP optimum (MLU of the forecast matrix split optimally over the candidate paths) of each decision. */
  readonly lastBound: number[] = [];

  constructor(private readonly opts: MinMluTeOptions) {}

  async decide(obs: Observation, ctl: ControlPlane): Promise<void> {
    this.index ??= new PairIndex(obs.nodes);
    const index = this.index;
    this.opts.predictor.observe(obs.timeNs, index.bytesSample(obs));
    const forecast = this.opts.predictor.forecast(1)[0]!;
    const seconds = obs.intervalNs / 1e9;
    const k = this.opts.kPaths ?? DEFAULT_K_PATHS;

    // The up links, by "a->b" (the first of parallel links, as the policies' path keys name them).
    const nodeIndex = new Map(obs.nodes.map((n, i) => [n, i]));
    const links: MluLink[] = [];
    const linkOf = new Map<string, number>();
    for (const l of obs.links) {
      const key = `${l.src}->${l.dst}`;
      if (!l.up || linkOf.has(key)) continue;
      linkOf.set(key, links.length);
      links.push({ src: nodeIndex.get(l.src)!, dst: nodeIndex.get(l.dst)!, capacityBps: l.capacityBps });
    }
    const demands: Demand[] = [];
    for (let i = 0; i < index.size; i++) {
      if (!(forecast[i]! > 0)) continue;
      const { src, dst } = index.pair(i);
      const paths = ctl.paths(src, dst, k).filter((p) => pathLinkKeys(p).every((key) => linkOf.has(key)));
      if (paths.length > 0)
        demands.push({ key: pairKey(src, dst), src, dst, rateBps: (forecast[i]! * 8) / seconds, paths });
    }
    if (demands.length === 0 || links.length === 0) return;
    const asLinks = (p: NodePath) => pathLinkKeys(p).map((key) => linkOf.get(key)!);
    const lp = await minMluOverPaths(
      obs.nodes.length,
      links,
      demands.map((d) => ({ rateBps: d.rateBps, paths: d.paths.map(asLinks) })),
    );
    this.lastBound.push(lp.mlu);
    await this.pin(obs, ctl, demands, lp.splits, links, asLinks);
  }

  /** Rounds the LP's splits to one path per pair (see the module doc) and installs the routes that change. */
  private async pin(
    obs: Observation,
    ctl: ControlPlane,
    demands: readonly Demand[],
    splits: readonly Float64Array[],
    links: readonly MluLink[],
    asLinks: (p: NodePath) => number[],
  ): Promise<void> {
    const load = new Float64Array(links.length);
    const order = demands
      .map((_, i) => i)
      .sort(
        (a, b) => demands[b]!.rateBps - demands[a]!.rateBps || (demands[a]!.key < demands[b]!.key ? -1 : 1),
      );
    const pins: Promise<boolean>[] = [];
    for (const i of order) {
      const d = demands[i]!;
      const split = splits[i]!;
      let best = -1;
      let bestPeak = Number.POSITIVE_INFINITY;
      d.paths.forEach((p, j) => {
        if (!(split[j]! > 1e-9)) return;
        const peak = Math.max(...asLinks(p).map((e) => (load[e]! + d.rateBps) / links[e]!.capacityBps));
        if (peak < bestPeak - 1e-12 || (Math.abs(peak - bestPeak) <= 1e-12 && split[j]! > split[best]!)) {
          best = j;
          bestPeak = peak;
        }
      });
      if (best < 0) continue;
      const path = d.paths[best]!;
      for (const e of asLinks(path)) load[e]! += d.rateBps;
      const current = obs.routes.get(d.key) ?? ctl.defaultPath(d.src, d.dst);
      if (samePath(current, path)) continue;
      // Issued without waiting (an engine may apply one turn's route changes as one batch); refusals are skipped.
      const pinned = pinNow(ctl, { src: d.src, dst: d.dst }, path);
      if (typeof pinned !== "boolean") pins.push(pinned);
    }
    await Promise.all(pins);
  }
}

/** Min-MLU TE in a config: `name: min-mlu-te`, a pair-volume predictor (name the oracle for the offline bound). */
export const minMluTePolicy = definePolicy({
  name: "min-mlu-te",
  doc: "Min-MLU TE: split the forecast matrix over k paths by an LP (HiGHS), pin each pair to one path of its split; with the oracle, the offline-optimal reference.",
  params: MIN_MLU_TE_PARAMS,
  forecasts: "pair-volumes",
  verbs: ["setRoute"],
  create: (p, ctx) => new MinMluTe({ predictor: ctx.predictor, kPaths: p.kPaths ?? ctx.kPaths }),
});
