/**
 * Mirroring (design 2): forecast per-link utilization; a pair (not an elephant: see `maxPairBytes`) whose default
 * path crosses a link predicted above `threshold` gets a mirror on the most disjoint other path (fewest shared links, then shortest); a mirrored flow
 * completes when its first copy does and both copies' bytes count. Feedback: after `minFlows` mirrored flows of a
 * pair, a mirror that won less than `minWinRate` of them is dropped (the default path was fine), and one that won
 * more than `switchWinRate` becomes the pair's route ("keep the better one"). Mirrors of pairs whose default path
 * is no longer predicted hot are removed.
 */
import * as z from "zod";
import type { Predictor } from "../predictors/predictor.ts";
import { pathLinkKeys, samePath, sharedLinks } from "./common.ts";
import { COMMON_PARAMS, DEFAULT_K_PATHS, definePolicy, paramDefaults } from "./definition.ts";
import { ControlError, type ControlPlane, type NodePath, type Observation, type Policy } from "./types.ts";

/** Mirroring's parameters, declared once: the config's `params` and the defaults of {@link MirroringOptions}. */
export const MIRRORING_PARAMS = z.strictObject({
  threshold: z
    .number()
    .gt(0)
    .default(0.8)
    .meta({ description: "Predicted utilization above which a link is hot." }),
  minFlows: z
    .int()
    .min(1)
    .default(10)
    .meta({ description: "Mirrored flows seen before a mirror is judged." }),
  minWinRate: z
    .number()
    .min(0)
    .max(1)
    .default(0.1)
    .meta({ description: "Below this share of wins a mirror is dropped." }),
  switchWinRate: z
    .number()
    .min(0)
    .max(1)
    .default(0.9)
    .meta({ description: "Above this share of wins the mirror's path becomes the route." }),
  // Duplicating elephants doubles the load that made the path hot; 10 MB is the large-flow boundary of pFabric
  // and HPCC.
  maxPairBytes: z
    .number()
    .gt(0)
    .default(10e6)
    .meta({ description: "Pairs sending more bytes per interval are not mirrored." }),
  kPaths: COMMON_PARAMS.kPaths,
  reroute: COMMON_PARAMS.reroute,
});

const DEFAULTS = paramDefaults(MIRRORING_PARAMS);

/**
 * {@link MIRRORING_PARAMS} but the data plane's `reroute`, each optional (default: the schema's; kPaths 4), and
 * the predictor: it forecasts per-link utilization; its dimension must be the observation's link count (links in
 * id order).
 */
export type MirroringOptions = Partial<Omit<z.output<typeof MIRRORING_PARAMS>, "reroute">> & {
  predictor: Predictor;
};

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
    const threshold = this.opts.threshold ?? DEFAULTS.threshold;
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
    // Every action of the decision is issued in order, then all are awaited together: one mirror's set-up (tens of
    // milliseconds of wall time in the emulator) does not hold the next, and the order of the calls is what it was.
    const minFlows = this.opts.minFlows ?? DEFAULTS.minFlows;
    const pending: Promise<unknown>[] = [];
    for (const [key, path] of [...this.active].sort((a, b) => (a[0] < b[0] ? -1 : 1))) {
      const [src, dst] = key.split("->") as [string, string];
      const t = this.tally.get(key) ?? { flows: 0, wins: 0 };
      const def = ctl.defaultPath(src, dst);
      const stillHot = def !== null && pathLinkKeys(def).some((k) => hot.has(k));
      if (t.flows >= minFlows && t.wins / t.flows > (this.opts.switchWinRate ?? DEFAULTS.switchWinRate)) {
        pending.push(
          this.tryAct(() => ctl.setRoute({ src, dst }, path)),
          this.drop(ctl, key, 0),
        );
      } else if (t.flows >= minFlows && t.wins / t.flows < (this.opts.minWinRate ?? DEFAULTS.minWinRate)) {
        pending.push(this.drop(ctl, key, 10));
      } else if (!stillHot) {
        pending.push(this.drop(ctl, key, 0));
      }
    }
    for (const [key, path] of this.newMirrors(obs, ctl, hot))
      pending.push(
        this.tryAct(() => ctl.mirror(pairOf(key), path)).then((ok) => {
          if (ok === undefined) return;
          this.active.set(key, path);
          this.tally.set(key, { flows: 0, wins: 0 });
        }),
      );
    await Promise.all(pending);
  }

  /** New mirrors, by pair key, for pairs with traffic whose default path crosses a hot link, in traffic order. */
  private newMirrors(obs: Observation, ctl: ControlPlane, hot: Set<string>): [string, NodePath][] {
    const k = this.opts.kPaths ?? DEFAULT_K_PATHS;
    const maxBytes = this.opts.maxPairBytes ?? DEFAULTS.maxPairBytes;
    const out: [string, NodePath][] = [];
    for (const t of obs.traffic) {
      const key = `${t.src}->${t.dst}`;
      if (this.active.has(key) || this.cooldown.has(key) || t.bytes > maxBytes) continue;
      if (out.some(([k2]) => k2 === key)) continue;
      const def = obs.routes.get(key) ?? ctl.defaultPath(t.src, t.dst);
      if (!def || !pathLinkKeys(def).some((l) => hot.has(l))) continue;
      const candidates = ctl
        .paths(t.src, t.dst, k)
        .filter((p) => !samePath(p, def) && !pathLinkKeys(p).some((l) => hot.has(l)));
      candidates.sort((a, b) => sharedLinks(a, def) - sharedLinks(b, def) || a.length - b.length);
      const path = candidates[0];
      if (path) out.push([key, path]);
    }
    return out;
  }

  /** Removes the pair's mirror (the call is issued now; the bookkeeping too, whatever the outcome, as before). */
  private async drop(ctl: ControlPlane, key: string, cooldown: number): Promise<void> {
    this.active.delete(key);
    this.tally.delete(key);
    if (cooldown > 0) this.cooldown.set(key, cooldown);
    await this.tryAct(() => ctl.mirror(pairOf(key), null));
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

/** The pair of a key `src->dst`. */
function pairOf(key: string): { src: string; dst: string } {
  const [src, dst] = key.split("->") as [string, string];
  return { src, dst };
}

/** Mirroring in a config: `name: mirroring`, {@link MIRRORING_PARAMS}, a predictor over link utilization. */
export const mirroringPolicy = definePolicy({
  name: "mirroring",
  doc: "Forecast per-link utilization; mirror pairs whose default path crosses a link predicted hot onto the most disjoint path; keep the better path.",
  params: MIRRORING_PARAMS,
  forecasts: "link-utilization",
  verbs: ["setRoute", "mirror"],
  create: (p, ctx) =>
    new Mirroring({
      predictor: ctx.predictor,
      threshold: p.threshold,
      minFlows: p.minFlows,
      minWinRate: p.minWinRate,
      switchWinRate: p.switchWinRate,
      maxPairBytes: p.maxPairBytes,
      kPaths: p.kPaths ?? ctx.kPaths,
    }),
});
