/**
 * Predictive overlay (design 1): profile who talks to whom, forecast each pair's volume for the next interval,
 * and build virtual links *before* the traffic arrives for the pairs whose default path the forecast says will be
 * hot, within each node's pool of virtual-link endpoints (VNAs). Traffic of a pair with a ready virtual link is
 * intercepted onto it; any other takes the default route. A new link moves only new flows (a connection keeps its
 * path).
 *
 * Each interval: observe per-pair bytes, forecast the next `lookahead` intervals and score each pair on its
 * largest forecast (a link must be asked for a setup latency ahead of its traffic). Which pairs get the VNAs is
 * `linksFor`:
 * - `hot-paths` (default): links are estimated as every pair's forecast rate on the path it will take, or the
 *   measured utilization where higher ({@link LinkLoadEstimate.raiseTo}); heaviest pair first, a pair gets a link
 *   when its default path's estimated peak exceeds `maxPathUtilization` and a candidate path is cooler, if both
 *   endpoints have a free VNA; a pair with a link goes back to its default route once that is where it would be
 *   placed, and otherwise moves as below. Why (issue 18): with `top-pairs` the VNAs went to the largest pairs
 *   whatever their paths; on SNDlib Abilene at 114h with a failure 18-22 of the ~21 links ran on their pair's own
 *   default path, the pools were full, and the pairs crossing the link that saturated after the failure could
 *   not get one (oracle overlay mean slowdown 15.4 against reactive TE's 13.6; 10.9 with `hot-paths`).
 * - `top-pairs`: greedily keep or grant links to the top-ranked pairs whose two endpoints still have a free VNA
 *   (so with a pool of 1 the larger pair wins).
 * Links of pairs that fell out of the ranking, or whose forecast dropped below `minBytes`, are torn down once they
 * carry no flow and have been out for `idleIntervals` intervals (tearing down a busy link would move its
 * connections). With `headroom` set, a new link reserves forecast rate x headroom on its path.
 *
 * Paths (`adaptPaths`, default on; `hot-paths` always adapts). Utilization is estimated as the decision goes
 * (with `top-pairs` from the last interval's measurement, each placed pair's measured rate taken off its current
 * path and its forecast rate put on its new one; with `hot-paths` from the estimate above, the forecast rate both
 * ways; {@link LinkLoadEstimate}).
 * A new link takes the shortest of the k shortest paths whose estimated peak with the pair on it is at most
 * `maxPathUtilization`, else the one with the lowest such peak. Every interval, heaviest pair first, a ready link
 * is moved (removed and created again: its flows fall back to the default route, new ones take the new link)
 * when a shorter candidate now fits under `maxPathUtilization` (the detour is no longer needed, e.g. after a
 * failed link came back) or when its path is hotter than the best candidate by more than `repathMargin`.
 *
 * Why (issue 18): without this a link kept the path it was created on for as long as its pair stayed in the
 * ranking. Links that a failure forced onto detours stayed on them after the repair, long after the default
 * routes had reconverged, and the oracle (whose ranking is the steadiest) kept them there longest: on SNDlib
 * Abilene at 110h the detours ran through the busiest link (ATLAng->IPLSng) and flows started after the repair
 * saw mean slowdown 20.5 with the overlay against 11.6 with shortest path. Placement also ignored the load of the
 * pairs placed in the same decision, so links created together (at start, after a failure) herded onto one path.
 * `adaptPaths: false` restores that behaviour (a link's path chosen once, as the shortest not hot in the last
 * interval, else the least utilized).
 */
import * as z from "zod";
import type { Predictor } from "../predictors/predictor.ts";
import {
  LinkLoadEstimate,
  leastLoadedPath,
  linksByEnds,
  PairIndex,
  pathLinkKeys,
  pathMaxUtilization,
  samePath,
} from "./common.ts";
import { COMMON_PARAMS, DEFAULT_K_PATHS, definePolicy, paramDefaults } from "./definition.ts";
import {
  ControlError,
  type ControlPlane,
  type NodePath,
  type Observation,
  type Policy,
  pairKey,
} from "./types.ts";

/**
 * The predictive overlay's parameters, declared once: the config's `params` and the defaults of
 * {@link PredictiveOverlayOptions}.
 */
export const PREDICTIVE_OVERLAY_PARAMS = z.strictObject({
  maxLinks: z
    .int()
    .min(1)
    .optional()
    .meta({ description: "Most virtual links at once (default: pools only)." }),
  minBytes: z
    .number()
    .min(0)
    .default(1)
    .meta({ description: "Pairs forecast below this many bytes per interval get no link." }),
  headroom: z.number().gt(0).nullable().default(null).meta({
    description: "Reserve forecast rate x headroom on the link's path; null for best-effort links.",
  }),
  // A pair is scored on its largest forecast over this many intervals. A link must be asked for at least its
  // setup latency before the traffic comes, so this should cover setup latency / interval + 1.
  lookahead: z.int().min(1).default(2).meta({ description: "Intervals ahead a pair is scored on." }),
  idleIntervals: z
    .int()
    .min(1)
    .default(1)
    .meta({ description: "Intervals out of the ranking before a link is removed." }),
  adaptPaths: z.boolean().default(true).meta({
    description:
      "With linksFor top-pairs: place links by estimated load (the pairs' forecast rates) and move a link off a detour no longer needed or a hot path; false: a link keeps the path it was created on (before issue 18). hot-paths always does the former.",
  }),
  // A hysteresis against two pairs swapping paths every interval: a link moves when its path's estimated peak
  // utilization exceeds the best candidate's (with the pair moved there) by more than this.
  repathMargin: z.number().min(0).default(0.1).meta({
    description:
      "A link moves to a longer path only if that lowers its path's peak utilization by more than this.",
  }),
  maxPathUtilization: z.number().gt(0).default(0.7).meta({
    description:
      "A path is hot above this estimated peak utilization: links take the shortest candidate at most this hot (else the coolest); with linksFor hot-paths a pair gets a link only when its default path is hotter.",
  }),
  linksFor: z.enum(["hot-paths", "top-pairs"]).default("hot-paths").meta({
    description:
      "Which pairs get the VNAs: hot-paths, a pair whose default path is forecast above maxPathUtilization (every pair's forecast on the path it will take, or the measured utilization if higher) when a candidate path is cooler; top-pairs, the pairs with the largest forecasts whatever their paths (before issue 18's fix).",
  }),
  kPaths: COMMON_PARAMS.kPaths,
  reroute: COMMON_PARAMS.reroute,
});

const DEFAULTS = paramDefaults(PREDICTIVE_OVERLAY_PARAMS);

/**
 * {@link PREDICTIVE_OVERLAY_PARAMS} but the data plane's `reroute`, each optional (default: the schema's; kPaths 4;
 * maxLinks unbounded), and `predictor`: forecasts per-pair bytes per interval; its dimension must be N(N-1) for the
 * observation's nodes. Detours cost propagation delay, so they are taken only to avoid a path hotter than
 * `maxPathUtilization`.
 */
export type PredictiveOverlayOptions = Partial<
  Omit<z.output<typeof PREDICTIVE_OVERLAY_PARAMS>, "reroute">
> & {
  predictor: Predictor;
};

export class PredictiveOverlay implements Policy {
  readonly name = "predictive-overlay";
  private index: PairIndex | undefined;
  private readonly owned = new Map<string, { id: string; out: number }>();
  /** Forecast of the last decision, bytes per pair (for evaluation and tests). */
  lastForecast: Float64Array | undefined;

  constructor(private readonly opts: PredictiveOverlayOptions) {}

  async decide(obs: Observation, ctl: ControlPlane): Promise<void> {
    this.index ??= new PairIndex(obs.nodes);
    const index = this.index;
    const { predictor } = this.opts;
    predictor.observe(obs.timeNs, index.bytesSample(obs));
    const steps = predictor.forecast(Math.max(1, this.opts.lookahead ?? DEFAULTS.lookahead));
    const forecast = new Float64Array(index.size);
    for (const f of steps) for (let i = 0; i < f.length; i++) forecast[i] = Math.max(forecast[i]!, f[i]!);
    this.lastForecast = forecast;
    const minBytes = this.opts.minBytes ?? DEFAULTS.minBytes;
    const ranked = [...forecast.keys()]
      .filter((i) => forecast[i]! >= minBytes)
      .sort((a, b) => forecast[b]! - forecast[a]! || a - b);
    if ((this.opts.linksFor ?? DEFAULTS.linksFor) === "hot-paths") {
      await this.decideByNeed(obs, ctl, forecast, ranked);
      return;
    }

    // Greedy selection within the pools (existing links of this policy count as already placed).
    const free = new Map<string, number>();
    for (const [node, p] of obs.vnaPool) free.set(node, p.capacity);
    const maxLinks = this.opts.maxLinks ?? Number.POSITIVE_INFINITY;
    const wanted = new Set<string>();
    for (const i of ranked) {
      if (wanted.size >= maxLinks) break;
      const { src, dst } = index.pair(i);
      if ((free.get(src) ?? 0) < 1 || (free.get(dst) ?? 0) < 1) continue;
      free.set(src, free.get(src)! - 1);
      free.set(dst, free.get(dst)! - 1);
      wanted.add(`${src}->${dst}`);
    }

    // Tear down first, so the pools have room for the new links.
    // Links over a failed substrate link go at once, busy or not: their flows move to the default route.
    await this.dropBroken(obs, ctl);
    await this.dropIdle(obs, ctl, wanted);

    const seconds = obs.intervalNs / 1e9;
    const rates = (key: string) => {
      const [src, dst] = key.split("->") as [string, string];
      return (forecast[index.index(src, dst)]! * 8) / seconds;
    };
    if (this.opts.adaptPaths ?? DEFAULTS.adaptPaths) {
      const measured = new Map(obs.traffic.map((t) => [pairKey(t.src, t.dst), (t.bytes * 8) / seconds]));
      const rate = (key: string) => ({ now: measured.get(key) ?? 0, next: rates(key) });
      // Heaviest pairs first: they get the best paths, lighter ones fit around them.
      const order = (keys: Iterable<string>) =>
        [...keys].sort((a, b) => rates(b) - rates(a) || (a < b ? -1 : a > b ? 1 : 0));
      const load = new LinkLoadEstimate(obs);
      await this.repath(obs, ctl, order(this.owned.keys()), rate, load);
      for (const key of order(wanted)) {
        if (this.owned.has(key)) continue;
        const [src, dst] = key.split("->") as [string, string];
        const from = obs.routes.get(key) ?? ctl.defaultPath(src, dst);
        const r = rate(key);
        const path = load.place(this.candidates(ctl, src, dst), from, r.now, r.next, this.limit);
        if (path && (await this.create(ctl, key, path, r.next))) load.move(from, r.now, path, r.next);
      }
      return;
    }
    const links = linksByEnds(obs);
    for (const key of [...wanted].sort()) {
      if (this.owned.has(key)) continue;
      const [src, dst] = key.split("->") as [string, string];
      const candidates = this.candidates(ctl, src, dst);
      const path =
        candidates.find((p) => pathMaxUtilization(p, links) <= this.limit) ??
        leastLoadedPath(candidates, links);
      if (path) await this.create(ctl, key, path, rates(key));
    }
  }

  /**
   * `linksFor: "hot-paths"`: VNAs go to the pairs that need a detour. The load estimate is every pair's forecast
   * rate on the path it will take (its link, else its default route), or the measured utilization where higher;
   * heaviest pair first, a pair without a link gets one when its default path's estimated peak exceeds
   * `maxPathUtilization` and a candidate is cooler (the shortest that fits, else the coolest); a pair with a ready
   * link goes back to its default route when that is where it would be placed now, or moves as `repath` says.
   * Links of pairs forecast below `minBytes` go once idle for `idleIntervals`.
   */
  private async decideByNeed(
    obs: Observation,
    ctl: ControlPlane,
    forecast: Float64Array,
    ranked: readonly number[],
  ): Promise<void> {
    const index = this.index!;
    const free = new Map([...obs.vnaPool].map(([n, p]) => [n, p.capacity - p.used]));
    const release = (key: string) => {
      for (const n of key.split("->")) free.set(n, (free.get(n) ?? 0) + 1);
    };
    await this.dropBroken(obs, ctl, undefined, release);
    const bps = (i: number) => (forecast[i]! * 8 * 1e9) / obs.intervalNs;
    const vls = new Map(obs.virtualLinks.map((v) => [v.id, v]));
    const linkOf = (key: string) => {
      const id = this.owned.get(key)?.id;
      return id === undefined ? undefined : vls.get(id);
    };
    const defaultOf = (src: string, dst: string) =>
      obs.routes.get(pairKey(src, dst)) ?? ctl.defaultPath(src, dst);
    const load = new LinkLoadEstimate(obs);
    load.raiseTo(
      [...forecast.keys()].flatMap((i) => {
        const { src, dst } = index.pair(i);
        const path = linkOf(pairKey(src, dst))?.path ?? defaultOf(src, dst);
        return path && forecast[i]! > 0 ? [{ path, bps: bps(i) }] : [];
      }),
    );
    const maxLinks = this.opts.maxLinks ?? Number.POSITIVE_INFINITY;
    const seen = new Set<string>();
    for (const i of ranked) {
      const { src, dst } = index.pair(i);
      const key = pairKey(src, dst);
      const def = defaultOf(src, dst);
      if (!def) continue;
      const rate = bps(i);
      if (this.owned.has(key)) {
        seen.add(key);
        const v = linkOf(key);
        if (!v?.ready) continue; // chosen within the last interval: nothing measured on it yet
        const best = load.place(this.candidates(ctl, src, dst), v.path, rate, rate, this.limit);
        if (best && samePath(best, def)) {
          await this.tryAct(() => ctl.removeVirtualLink(v.id));
          this.owned.delete(key);
          release(key);
          load.move(v.path, rate, def, rate);
        } else {
          await this.repath(obs, ctl, [key], () => ({ now: rate, next: rate }), load);
        }
        continue;
      }
      if (this.owned.size >= maxLinks || load.peakWith(def, rate, def, rate) <= this.limit) continue;
      if ((free.get(src) ?? 0) < 1 || (free.get(dst) ?? 0) < 1) continue;
      const best = load.place(this.candidates(ctl, src, dst), def, rate, rate, this.limit);
      if (!best || samePath(best, def) || !(await this.create(ctl, key, best, rate))) continue;
      seen.add(key);
      for (const n of [src, dst]) free.set(n, free.get(n)! - 1);
      load.move(def, rate, best, rate);
    }
    await this.dropIdle(obs, ctl, seen);
  }

  /** Removes links of pairs not in `keep` that carried no flow for `idleIntervals` decisions. */
  private async dropIdle(obs: Observation, ctl: ControlPlane, keep: ReadonlySet<string>): Promise<void> {
    const idle = this.opts.idleIntervals ?? DEFAULTS.idleIntervals;
    const busy = new Set(obs.virtualLinks.filter((v) => v.activeFlows > 0).map((v) => v.id));
    for (const [key, link] of [...this.owned].sort((a, b) => (a[0] < b[0] ? -1 : 1))) {
      if (keep.has(key) || busy.has(link.id)) {
        link.out = 0;
        continue;
      }
      if (++link.out < idle) continue;
      await this.tryAct(() => ctl.removeVirtualLink(link.id));
      this.owned.delete(key);
    }
  }

  private get limit(): number {
    return this.opts.maxPathUtilization ?? DEFAULTS.maxPathUtilization;
  }

  private candidates(ctl: ControlPlane, src: string, dst: string): NodePath[] {
    return ctl.paths(src, dst, this.opts.kPaths ?? DEFAULT_K_PATHS);
  }

  /** Creates the pair's link on `path` (with a reservation when `headroom` is set); false if refused. */
  private async create(ctl: ControlPlane, key: string, path: NodePath, rateBps: number): Promise<boolean> {
    const [src, dst] = key.split("->") as [string, string];
    const h = this.opts.headroom ?? DEFAULTS.headroom;
    const reserve = h === null ? undefined : rateBps * h;
    const id = await this.tryAct(() =>
      ctl.createVirtualLink(src, dst, { path, ...(reserve && reserve > 0 ? { rateBps: reserve } : {}) }),
    );
    if (id === undefined) return false;
    this.owned.set(key, { id, out: 0 });
    return true;
  }

  /**
   * Moves ready links, in the order given, whose path is a detour no longer needed or hotter than the best
   * candidate by more than `repathMargin` (see the module doc); updates `load` with every move.
   */
  private async repath(
    obs: Observation,
    ctl: ControlPlane,
    keys: readonly string[],
    rate: (key: string) => { now: number; next: number },
    load: LinkLoadEstimate,
  ): Promise<void> {
    const margin = this.opts.repathMargin ?? DEFAULTS.repathMargin;
    const byId = new Map(obs.virtualLinks.map((v) => [v.id, v]));
    for (const key of keys) {
      const v = byId.get(this.owned.get(key)!.id);
      if (!v?.ready) continue; // chosen within the last interval: nothing measured on it yet
      const candidates = this.candidates(ctl, v.src, v.dst);
      const r = rate(key);
      const best = load.place(candidates, v.path, r.now, r.next, this.limit);
      if (!best || samePath(best, v.path)) continue;
      const bestPeak = load.peakWith(best, r.next, v.path, r.now);
      const stayPeak = load.peakWith(v.path, r.next, v.path, r.now);
      const at = (p: NodePath) => candidates.findIndex((c) => samePath(c, p));
      const current = at(v.path);
      const shorter = current < 0 || at(best) < current;
      if (!(shorter && bestPeak <= this.limit) && !(bestPeak < stayPeak - margin)) continue;
      await this.tryAct(() => ctl.removeVirtualLink(v.id));
      this.owned.delete(key);
      if (await this.create(ctl, key, best, r.next)) load.move(v.path, r.now, best, r.next);
    }
  }

  /** On a failure, removes the links whose path crosses a down link (their flows take the default route). */
  async onLinkDown(_link: string, obs: Observation, ctl: ControlPlane): Promise<void> {
    await this.dropBroken(obs, ctl, _link);
  }

  private async dropBroken(
    obs: Observation,
    ctl: ControlPlane,
    alsoDown?: string,
    removed?: (key: string) => void,
  ): Promise<void> {
    const down = new Set(obs.links.filter((l) => !l.up).map((l) => `${l.src}->${l.dst}`));
    if (alsoDown) down.add(alsoDown);
    if (down.size === 0) return;
    const paths = new Map(obs.virtualLinks.map((v) => [v.id, v.path]));
    for (const [key, link] of [...this.owned].sort((a, b) => (a[0] < b[0] ? -1 : 1))) {
      const path = paths.get(link.id);
      if (!path || !pathLinkKeys(path).some((k) => down.has(k))) continue;
      await this.tryAct(() => ctl.removeVirtualLink(link.id));
      this.owned.delete(key);
      removed?.(key);
    }
  }

  /** Runs a control action; a typed ControlError (pool full, no capacity, link down) skips it. */
  private async tryAct<T>(f: () => T | Promise<T>): Promise<T | undefined> {
    try {
      return await f();
    } catch (e) {
      if (e instanceof ControlError) return undefined;
      throw e;
    }
  }
}

/** The predictive overlay in a config: `name: predictive-overlay`, a predictor over pair volumes. */
export const predictiveOverlayPolicy = definePolicy({
  name: "predictive-overlay",
  doc: "Forecast per-pair volume; build virtual links (VNAs from a per-node pool) for the top pairs before their traffic arrives.",
  params: PREDICTIVE_OVERLAY_PARAMS,
  forecasts: "pair-volumes",
  verbs: ["createVirtualLink", "removeVirtualLink"],
  verbOptions: (p) =>
    p.headroom !== null ? [{ option: "createVirtualLink.rateBps", param: "headroom" }] : [],
  create: (p, ctx) =>
    new PredictiveOverlay({
      predictor: ctx.predictor,
      minBytes: p.minBytes,
      headroom: p.headroom,
      lookahead: p.lookahead,
      idleIntervals: p.idleIntervals,
      adaptPaths: p.adaptPaths,
      repathMargin: p.repathMargin,
      linksFor: p.linksFor,
      maxPathUtilization: p.maxPathUtilization,
      kPaths: p.kPaths ?? ctx.kPaths,
      ...(p.maxLinks !== undefined ? { maxLinks: p.maxLinks } : {}),
    }),
});
