/**
 * Mirroring (design 2): forecast per-link utilization; a pair (not an elephant: see `maxPairBytes`) whose default
 * path crosses a link predicted above `threshold` gets a mirror on the most disjoint other path (fewest shared links, then shortest); a mirrored flow
 * completes when its first copy does and both copies' bytes count. Feedback: after `minFlows` mirrored flows of a
 * pair, a mirror that won less than `minWinRate` of them is dropped (the default path was fine), and one that won
 * more than `switchWinRate` becomes the pair's route ("keep the better one"). Mirrors of pairs whose default path
 * is no longer predicted hot are removed.
 */
import type { Predictor } from "../predictors/predictor.ts";
import { pathLinkKeys, samePath, sharedLinks } from "./common.ts";
import { ControlError, type ControlPlane, type NodePath, type Observation, type Policy } from "./types.ts";

export interface MirroringOptions {
  /** Forecasts per-link utilization; its dimension must be the observation's link count (links in id order). */
  predictor: Predictor;
  /** Predicted utilization above which a link is hot. Default 0.8. */
  threshold?: number;
  /** Candidate paths for a mirror (k shortest). Default 4. */
  kPaths?: number;
  /** Mirrored flows to see before judging a mirror. Default 10. */
  minFlows?: number;
  /** Below this share of wins a mirror is dropped. Default 0.1. */
  minWinRate?: number;
  /** Above this share of wins the mirror's path becomes the route. Default 0.9. */
  switchWinRate?: number;
  /**
   * Pairs that sent more than this many bytes in the last interval are not mirrored: duplicating elephants
   * doubles the load that made the path hot. Default 10 MB (the large-flow boundary of pFabric and HPCC).
   */
  maxPairBytes?: number;
}

export class Mirroring implements Policy {
  readonly name = "mirroring";
  private readonly active = new Map<string, NodePath>();
  private readonly tally = new Map<string, { flows: number; wins: number }>();
  /** Pairs whose mirror was judged useless, with the intervals left before it may be mirrored again. */
  private readonly cooldown = new Map<string, number>();
  lastForecast: Float64Array | undefined;

  constructor(private readonly opts: MirroringOptions) {}

  async decide(obs: Observation, ctl: ControlPlane): Promise<void> {
    const util = Float64Array.from(obs.links, (l) => (l.up ? l.utilization : 0));
    this.opts.predictor.observe(obs.timeNs, util);
    const forecast = this.opts.predictor.forecast(1)[0]!;
    this.lastForecast = forecast;
    const threshold = this.opts.threshold ?? 0.8;
    const hot = new Set<string>();
    obs.links.forEach((l, i) => {
      if (forecast[i]! > threshold || !l.up) hot.add(`${l.src}->${l.dst}`);
    });

    // Feedback on the mirrors in place.
    for (const m of obs.mirrors) {
      const key = `${m.src}->${m.dst}`;
      const t = this.tally.get(key) ?? { flows: 0, wins: 0 };
      t.flows += m.flows;
      t.wins += m.mirrorWins;
      this.tally.set(key, t);
    }
    for (const [key, n] of [...this.cooldown]) {
      if (n <= 1) this.cooldown.delete(key);
      else this.cooldown.set(key, n - 1);
    }
    const minFlows = this.opts.minFlows ?? 10;
    for (const [key, path] of [...this.active].sort((a, b) => (a[0] < b[0] ? -1 : 1))) {
      const [src, dst] = key.split("->") as [string, string];
      const t = this.tally.get(key) ?? { flows: 0, wins: 0 };
      const def = ctl.defaultPath(src, dst);
      const stillHot = def !== null && pathLinkKeys(def).some((k) => hot.has(k));
      if (t.flows >= minFlows && t.wins / t.flows > (this.opts.switchWinRate ?? 0.9)) {
        await this.tryAct(() => ctl.setRoute({ src, dst }, path));
        await this.drop(ctl, key, 0);
      } else if (t.flows >= minFlows && t.wins / t.flows < (this.opts.minWinRate ?? 0.1)) {
        await this.drop(ctl, key, 10);
      } else if (!stillHot) {
        await this.drop(ctl, key, 0);
      }
    }

    // New mirrors for pairs with traffic whose default path crosses a hot link.
    const k = this.opts.kPaths ?? 4;
    const maxBytes = this.opts.maxPairBytes ?? 10e6;
    for (const t of obs.traffic) {
      const key = `${t.src}->${t.dst}`;
      if (this.active.has(key) || this.cooldown.has(key) || t.bytes > maxBytes) continue;
      const def = obs.routes.get(key) ?? ctl.defaultPath(t.src, t.dst);
      if (!def || !pathLinkKeys(def).some((l) => hot.has(l))) continue;
      const candidates = ctl
        .paths(t.src, t.dst, k)
        .filter((p) => !samePath(p, def) && !pathLinkKeys(p).some((l) => hot.has(l)));
      candidates.sort((a, b) => sharedLinks(a, def) - sharedLinks(b, def) || a.length - b.length);
      const path = candidates[0];
      if (!path) continue;
      const ok = await this.tryAct(() => ctl.mirror({ src: t.src, dst: t.dst }, path));
      if (ok !== undefined) {
        this.active.set(key, path);
        this.tally.set(key, { flows: 0, wins: 0 });
      }
    }
  }

  private async drop(ctl: ControlPlane, key: string, cooldown: number): Promise<void> {
    const [src, dst] = key.split("->") as [string, string];
    await this.tryAct(() => ctl.mirror({ src, dst }, null));
    this.active.delete(key);
    this.tally.delete(key);
    if (cooldown > 0) this.cooldown.set(key, cooldown);
  }

  private async tryAct<T>(f: () => T | Promise<T>): Promise<T | true | undefined> {
    try {
      return (await f()) ?? true;
    } catch (e) {
      if (e instanceof ControlError) return undefined;
      throw e;
    }
  }
}
