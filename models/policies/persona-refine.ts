/**
 * The persona policy's refinement (issue 14): forecast demand from the policy's predictor (the definition's
 * `pair-volumes` glue, as the predictive overlay has it) and, from it, the shaping of lower classes on the links a
 * latency-critical application uses when they are predicted hot.
 *
 * Demand ({@link DemandForecast}): the predictor observes every pair's bytes each interval; a pair's forecast rate
 * is its largest forecast over `lookahead` intervals (bits/s), and an application's demand on a pair is that times
 * its share of the pair's bytes so far (models/policies/persona-config.ts ApplicationView). persona-config.ts uses
 * the demand for guaranteed rates (x `headroom`) and to give the VNAs to the pairs with the most of it.
 *
 * Shaping ({@link shapingPlan}). A pair's path is its virtual link's, its pinned route, or the first of `ctl.paths`;
 * a link's forecast load is the sum of the forecast rates of the pairs whose path crosses it. The critical links are
 * those on the paths of a latency-first application's pairs; one is hot when its forecast load exceeds
 * `hotUtilization` x capacity (a shaped pair counts at least its ceiling: its forecast is censored there). The lower pairs are the pairs whose bytes are mostly (>= half) not a latency-first
 * application's. Every lower pair on a hot link gets a class at the lowest priority (7) with a ceiling: the link's
 * budget `shapeTo` x capacity less the forecast of the other pairs on it, split over its lower pairs by their
 * forecasts (at least `minCeilShare` x capacity each), the smallest over its hot links. A class's ceiling holds its
 * pair's flows back before the link does, so bulk bursts no longer fill the link and its queue (in the simulator's
 * fluid queues a flow held back by a ceiling holds no excess at the link; in the emulator htb queues it in the
 * class), and the latency-critical flows crossing the link do not wait behind them. A shaped pair is unshaped (its
 * class removed) when no critical link on its path is forecast above `coolUtilization` x capacity. A shaping is a
 * trial on the critical application (models/policies/persona.ts), kept only when that application's FCT metric fell
 * by at least `shapeGain`: its cost, the bulk held back, is certain, so its gain must be measured (personas-loaded.yaml
 * seed 13: shapings kept at "not worse", game 6.0 -> 6.0 ms, cost stream 26% and ml 60% of their rate).
 */
import * as z from "zod";
import type { Predictor } from "../predictors/predictor.ts";
import { PairIndex, pathLinkKeys } from "./common.ts";
import { type ControlPlane, type NodePath, type Observation, pairKey, type QosSpec } from "./types.ts";

/** The refinement's parameters (persona's `refine`; null: off). */
export const REFINE_PARAMS = z.strictObject({
  lookahead: z
    .int()
    .min(1)
    .default(2)
    .meta({ description: "Intervals ahead a pair's forecast takes the largest of." }),
  headroom: z.number().min(1).default(1.5).meta({
    description: "A latency-first pair's guaranteed rate: its application's forecast demand times this.",
  }),
  hotUtilization: z.number().gt(0).max(1).default(0.75).meta({
    description:
      "A critical application's link is hot when its forecast load exceeds this share of its capacity.",
  }),
  coolUtilization: z.number().gt(0).max(1).default(0.6).meta({
    description: "A shaped pair is unshaped when no critical link on its path is forecast above this share.",
  }),
  shapeTo: z.number().gt(0).max(1).default(0.9).meta({
    description:
      "The lower pairs on a hot link are capped so that the link's forecast load is this share of it.",
  }),
  minCeilShare: z.number().gt(0).max(1).default(0.05).meta({
    description: "A shaped pair's ceiling is at least this share of the hot link's capacity.",
  }),
  burstHeadroom: z.number().min(1).default(1.5).meta({
    description:
      "A shaped pair's ceiling is at least its forecast rate times this: shaping caps bulk bursts, never the bulk's mean (a ceiling below a pair's offered load queues it without bound).",
  }),
  shapeGain: z.number().min(0).max(1).default(0.1).meta({
    description:
      "A shaping trial is kept only when the critical application's FCT metric fell by at least this fraction: shaping caps the lower pairs' bulk, a cost kept only for a measured gain (0: kept unless worse).",
  }),
  maxDetourMs: z.number().min(0).default(0).meta({
    description:
      "A latency-first pair takes the least forecast-loaded of its k candidate paths whose propagation delay is within this of the shortest's, ms (0: among equally short paths).",
  }),
});

export type RefineOptions = z.output<typeof REFINE_PARAMS>;

/** The lowest htb priority: what shaped (lower) pairs borrow at. */
export const SHAPED_PRIORITY = 7;

/** Per-pair forecast rates from a predictor over pair volumes (see the module doc). */
export class DemandForecast {
  private index: PairIndex | null = null;
  private bps = new Map<string, number>();

  constructor(
    private readonly predictor: Predictor,
    private readonly lookahead: number,
  ) {}

  /** Feeds one interval's pair bytes to the predictor and forecasts the next `lookahead`. */
  observe(obs: Observation): void {
    this.index ??= new PairIndex(obs.nodes);
    const index = this.index;
    this.predictor.observe(obs.timeNs, index.bytesSample(obs));
    const steps = this.predictor.forecast(this.lookahead);
    const out = new Map<string, number>();
    for (const [i, src] of obs.nodes.entries())
      for (const [j, dst] of obs.nodes.entries()) {
        if (i === j) continue;
        const k = index.index(src, dst);
        let bytes = 0;
        for (const f of steps) bytes = Math.max(bytes, f[k] ?? 0);
        if (bytes > 0) out.set(pairKey(src, dst), (bytes * 8e9) / obs.intervalNs);
      }
    this.bps = out;
  }

  /** The pair's forecast rate, bits/s (0 when none). */
  pairBps(key: string): number {
    return this.bps.get(key) ?? 0;
  }

  /** Pairs with a forecast rate above 0, by key. */
  pairs(): ReadonlyMap<string, number> {
    return this.bps;
  }
}

/** What the shaping wants changed: classes to set (new or with a ceiling off by > 25%), and to remove. */
export interface ShapingPlan {
  set: { src: string; dst: string; qos: QosSpec }[];
  clear: { src: string; dst: string }[];
  /** The hot links (`"a->b"`), sorted. */
  hot: string[];
  /** The link keys of every pair's current path, by pair key. */
  paths: ReadonlyMap<string, readonly string[]>;
  /** Forecast utilization per link key (the links of the pairs' current paths). */
  utilization: ReadonlyMap<string, number>;
}

/**
 * The shaping the forecast asks for (see the module doc). `critical` are the pair keys of latency-first
 * applications; `lower(key)` says whether a pair's bytes are mostly not theirs; `shaped` the pairs shaped now with
 * their ceilings (bits/s).
 */
export async function shapingPlan(
  obs: Observation,
  ctl: ControlPlane,
  demand: DemandForecast,
  critical: ReadonlySet<string>,
  lower: (key: string) => boolean,
  shaped: ReadonlyMap<string, number>,
  opts: RefineOptions,
): Promise<ShapingPlan> {
  // A shaped pair's traffic is held to its ceiling, so its forecast is censored there: it counts at least that.
  const bpsOf = (key: string) => Math.max(demand.pairBps(key), shaped.get(key) ?? 0);
  const capacity = new Map(obs.links.filter((l) => l.up).map((l) => [`${l.src}->${l.dst}`, l.capacityBps]));
  const paths = new Map<string, readonly string[]>();
  const load = new Map<string, number>();
  for (const key of new Set([...demand.pairs().keys(), ...critical, ...shaped.keys()])) {
    const links = pathLinkKeys(await currentPath(obs, ctl, key));
    paths.set(key, links);
    for (const l of links) load.set(l, (load.get(l) ?? 0) + bpsOf(key));
  }
  const criticalLinks = new Set([...critical].flatMap((k) => paths.get(k) ?? []));
  const util = (l: string) => (load.get(l) ?? 0) / (capacity.get(l) ?? Number.POSITIVE_INFINITY);
  const hot = [...criticalLinks].filter((l) => util(l) > opts.hotUtilization).sort();
  const ceil = new Map<string, number>();
  for (const l of hot) {
    const c = capacity.get(l)!;
    const on = [...paths].filter(([, links]) => links.includes(l)).map(([k]) => k);
    const low = on.filter(lower);
    const others = on.filter((k) => !lower(k)).reduce((a, k) => a + bpsOf(k), 0);
    const lowBps = low.reduce((a, k) => a + bpsOf(k), 0);
    const budget = Math.max(0, opts.shapeTo * c - others);
    for (const k of low) {
      const share = lowBps > 0 ? (budget * bpsOf(k)) / lowBps : budget / low.length;
      const cap = Math.max(opts.minCeilShare * c, share, bpsOf(k) * opts.burstHeadroom);
      ceil.set(k, Math.min(ceil.get(k) ?? Number.POSITIVE_INFINITY, cap));
    }
  }
  const plan: ShapingPlan = {
    set: [],
    clear: [],
    hot,
    paths,
    utilization: new Map([...load.keys()].map((l) => [l, util(l)])),
  };
  for (const [key, bps] of [...ceil].sort((a, b) => cmp(a[0], b[0]))) {
    const now = shaped.get(key);
    if (now !== undefined && Math.abs(now - bps) <= 0.25 * now) continue;
    const [src, dst] = key.split("->") as [string, string];
    plan.set.push({ src, dst, qos: { priority: SHAPED_PRIORITY, ceilBps: Math.round(bps) } });
  }
  for (const key of [...shaped.keys()].sort(cmp)) {
    if (ceil.has(key)) continue;
    const warm = (paths.get(key) ?? []).some((l) => criticalLinks.has(l) && util(l) > opts.coolUtilization);
    if (warm) continue;
    const [src, dst] = key.split("->") as [string, string];
    plan.clear.push({ src, dst });
  }
  return plan;
}

/**
 * The latency path the refinement takes (persona-config.ts `latencyPath`): among `candidates` (least delay first),
 * those whose propagation delay is within `maxDetourNs` of the first's, the one whose busiest link has the lowest
 * forecast utilization (ties: the earlier). Delays and unknown links from `obs.links`.
 */
export function coolestPath(
  candidates: readonly NodePath[],
  obs: Observation,
  utilization: ReadonlyMap<string, number>,
  maxDetourNs: number,
): NodePath | undefined {
  const delay = new Map(obs.links.map((l) => [`${l.src}->${l.dst}`, l.delayNs]));
  const delayOf = (p: NodePath) => pathLinkKeys(p).reduce((a, l) => a + (delay.get(l) ?? 0), 0);
  const first = candidates[0];
  if (!first) return undefined;
  const bound = delayOf(first) + maxDetourNs;
  let best = first;
  let bestU = Number.POSITIVE_INFINITY;
  for (const p of candidates) {
    if (delayOf(p) > bound) continue;
    const u = Math.max(0, ...pathLinkKeys(p).map((l) => utilization.get(l) ?? 0));
    if (u < bestU) {
      best = p;
      bestU = u;
    }
  }
  return best;
}

/** The pair's path now: its ready virtual link's, its pinned route, or the first of `ctl.paths` (none: empty). */
async function currentPath(obs: Observation, ctl: ControlPlane, key: string): Promise<NodePath> {
  const [src, dst] = key.split("->") as [string, string];
  const vl = obs.virtualLinks.find((v) => v.src === src && v.dst === dst && v.ready);
  if (vl) return vl.path;
  const route = obs.routes.get(key);
  if (route) return route;
  return (await ctl.paths(src, dst, 1))[0] ?? [];
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
