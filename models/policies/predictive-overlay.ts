/**
 * Predictive overlay (design 1): profile who talks to whom, forecast each pair's volume for the next interval,
 * and build virtual links for the pairs with the most predicted traffic *before* it arrives, within each node's
 * pool of virtual-link endpoints (VNAs). Traffic of a pair with a ready virtual link is intercepted onto it; any
 * other takes the default route.
 *
 * Each interval: observe per-pair bytes, forecast the next `lookahead` intervals, rank pairs by their largest
 * forecast (a link must be asked for a setup latency ahead of its traffic), and greedily keep or
 * grant virtual links to the top pairs whose two endpoints still have a free VNA (so with a pool of 1 the larger
 * pair wins). A new link gets the shortest of the k shortest paths that is not hot in the last interval
 * (else the least utilized) and, with `headroom` set, a reservation of forecast rate x headroom. Links of pairs that fell out
 * of the ranking, or whose forecast dropped below `minBytes`, are torn down once they carry no flow and have been
 * out for `idleIntervals` intervals (tearing down a busy link would move its connections).
 */
import type { Predictor } from "../predictors/predictor.ts";
import { leastLoadedPath, linksByEnds, PairIndex, pathLinkKeys, pathMaxUtilization } from "./common.ts";
import { ControlError, type ControlPlane, type Observation, type Policy } from "./types.ts";

export interface PredictiveOverlayOptions {
  /** Forecasts per-pair bytes per interval; its dimension must be N(N-1) for the observation's nodes. */
  predictor: Predictor;
  /** Most virtual links at once (in addition to the per-node pools). Default unbounded. */
  maxLinks?: number;
  /** Pairs forecast below this many bytes in the next interval get no link. Default 1. */
  minBytes?: number;
  /** Reserve forecast rate x headroom on the link's path; null (default) for best-effort links. */
  headroom?: number | null;
  /**
   * A new link takes the shortest of the k candidate paths whose peak utilization (last interval) is at most this,
   * else the least utilized one: detours cost propagation delay, so they are taken only to avoid a hot path.
   * Default 0.7.
   */
  maxPathUtilization?: number;
  /** Candidate paths per link (k shortest). Default 4. */
  kPaths?: number;
  /** Intervals a pair may stay out of the ranking before its link is removed. Default 1. */
  idleIntervals?: number;
  /**
   * Intervals ahead a pair is scored on (its largest forecast over them). A link must be asked for at least its
   * setup latency before the traffic comes, so this should cover setup latency / interval + 1. Default 2.
   */
  lookahead?: number;
}

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
    const steps = predictor.forecast(Math.max(1, this.opts.lookahead ?? 2));
    const forecast = new Float64Array(index.size);
    for (const f of steps) for (let i = 0; i < f.length; i++) forecast[i] = Math.max(forecast[i]!, f[i]!);
    this.lastForecast = forecast;
    const minBytes = this.opts.minBytes ?? 1;
    const ranked = [...forecast.keys()]
      .filter((i) => forecast[i]! >= minBytes)
      .sort((a, b) => forecast[b]! - forecast[a]! || a - b);

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
    const idle = this.opts.idleIntervals ?? 1;
    // Links over a failed substrate link go at once, busy or not: their flows move to the default route.
    await this.dropBroken(obs, ctl);
    const busy = new Set(obs.virtualLinks.filter((v) => v.activeFlows > 0).map((v) => v.id));
    for (const [key, link] of [...this.owned].sort((a, b) => (a[0] < b[0] ? -1 : 1))) {
      if (wanted.has(key) || busy.has(link.id)) {
        link.out = 0;
        continue;
      }
      if (++link.out < idle) continue;
      await this.tryAct(() => ctl.removeVirtualLink(link.id));
      this.owned.delete(key);
    }

    const links = linksByEnds(obs);
    for (const key of [...wanted].sort()) {
      if (this.owned.has(key)) continue;
      const [src, dst] = key.split("->") as [string, string];
      const candidates = ctl.paths(src, dst, this.opts.kPaths ?? 4);
      const limit = this.opts.maxPathUtilization ?? 0.7;
      const path =
        candidates.find((p) => pathMaxUtilization(p, links) <= limit) ?? leastLoadedPath(candidates, links);
      if (!path) continue;
      const h = this.opts.headroom ?? null;
      const bytes = forecast[index.index(src, dst)]!;
      const rateBps = h === null ? undefined : ((bytes * 8) / (obs.intervalNs / 1e9)) * h;
      const id = await this.tryAct(() =>
        ctl.createVirtualLink(src, dst, { path, ...(rateBps && rateBps > 0 ? { rateBps } : {}) }),
      );
      if (id !== undefined) this.owned.set(key, { id, out: 0 });
    }
  }

  /** On a failure, removes the links whose path crosses a down link (their flows take the default route). */
  async onLinkDown(_link: string, obs: Observation, ctl: ControlPlane): Promise<void> {
    await this.dropBroken(obs, ctl, _link);
  }

  private async dropBroken(obs: Observation, ctl: ControlPlane, alsoDown?: string): Promise<void> {
    const down = new Set(obs.links.filter((l) => !l.up).map((l) => `${l.src}->${l.dst}`));
    if (alsoDown) down.add(alsoDown);
    if (down.size === 0) return;
    const paths = new Map(obs.virtualLinks.map((v) => [v.id, v.path]));
    for (const [key, link] of [...this.owned].sort((a, b) => (a[0] < b[0] ? -1 : 1))) {
      const path = paths.get(link.id);
      if (!path || !pathLinkKeys(path).some((k) => down.has(k))) continue;
      await this.tryAct(() => ctl.removeVirtualLink(link.id));
      this.owned.delete(key);
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
