/**
 * Reactive traffic engineering (a baseline without prediction): after a link exceeds `threshold` utilization in
 * the last interval, move the heaviest pairs whose path crosses it (by last-interval bytes, up to `maxMoves` per
 * hot link) to the least-utilized of their k shortest paths, if that path's peak utilization is lower; each move
 * shifts the pair's estimated load (last-interval bytes as a rate) between the paths, so a link relieved by one
 * move is not relieved again. It acts
 * only on what already happened, one interval late: the counterpart that shows what prediction buys.
 */
import * as z from "zod";
import {
  leastLoadedPath,
  linksByEnds,
  pathLinkKeys,
  pathMaxUtilization,
  pinNow,
  samePath,
} from "./common.ts";
import { COMMON_PARAMS, DEFAULT_K_PATHS, definePolicy, paramDefaults } from "./definition.ts";
import type { ControlPlane, Observation, Policy } from "./types.ts";

/** Reactive's parameters, declared once: the config's `params` and the defaults of {@link ReactiveOptions}. */
export const REACTIVE_PARAMS = z.strictObject({
  threshold: z
    .number()
    .gt(0)
    .default(0.8)
    .meta({ description: "Utilization above which a link is congested." }),
  maxMoves: z.int().min(1).default(2).meta({ description: "Pairs moved per congested link per interval." }),
  kPaths: COMMON_PARAMS.kPaths,
  reroute: COMMON_PARAMS.reroute,
});

const DEFAULTS = paramDefaults(REACTIVE_PARAMS);

/** {@link REACTIVE_PARAMS} but the data plane's `reroute`, each optional (default: the schema's; kPaths 4). */
export type ReactiveOptions = Partial<Omit<z.output<typeof REACTIVE_PARAMS>, "reroute">>;

export class Reactive implements Policy {
  readonly name = "reactive";

  constructor(private readonly opts: ReactiveOptions = {}) {}

  async decide(obs: Observation, ctl: ControlPlane): Promise<void> {
    const threshold = this.opts.threshold ?? DEFAULTS.threshold;
    const links = linksByEnds(obs);
    // Utilization as this decision expects it to become: moving a pair shifts its estimated load.
    const util = new Map([...links].map(([k, l]) => [k, l.utilization]));
    const estimated = new Map([...links].map(([k, l]) => [k, { ...l, utilization: l.utilization }]));
    const seconds = obs.intervalNs / 1e9;
    const traffic = [...obs.traffic].sort(
      (a, b) => b.bytes - a.bytes || (a.src < b.src ? -1 : a.src > b.src ? 1 : a.dst < b.dst ? -1 : 1),
    );
    const moved = new Set<string>();
    const pins: Promise<boolean>[] = [];
    const hot = obs.links.filter((l) => l.up && l.utilization > threshold).map((l) => `${l.src}->${l.dst}`);
    for (const link of hot) {
      let moves = 0;
      for (const t of traffic) {
        if ((util.get(link) ?? 0) <= threshold || moves >= (this.opts.maxMoves ?? DEFAULTS.maxMoves)) break;
        const key = `${t.src}->${t.dst}`;
        if (moved.has(key)) continue;
        const current = obs.routes.get(key) ?? ctl.defaultPath(t.src, t.dst);
        if (!current || !pathLinkKeys(current).includes(link)) continue;
        const best = leastLoadedPath(ctl.paths(t.src, t.dst, this.opts.kPaths ?? DEFAULT_K_PATHS), estimated);
        if (!best || samePath(best, current)) continue;
        if (pathMaxUtilization(best, estimated) >= pathMaxUtilization(current, estimated)) continue;
        // Issued without waiting (an engine may apply one turn's route changes as one batch): a refusal known at
        // once (the simulator's) skips the pair; one that comes later leaves this turn's estimate as if it moved.
        const pinned = pinNow(ctl, { src: t.src, dst: t.dst }, best);
        if (pinned === false) continue;
        if (pinned !== true) pins.push(pinned);
        moved.add(key);
        moves++;
        const rate = (t.bytes * 8) / seconds;
        for (const [path, sign] of [
          [current, -1],
          [best, 1],
        ] as const) {
          for (const k of pathLinkKeys(path)) {
            const l = estimated.get(k);
            if (!l) continue;
            l.utilization = Math.max(0, l.utilization + (sign * rate) / l.capacityBps);
            util.set(k, l.utilization);
          }
        }
      }
    }
    await Promise.all(pins);
  }
}

/** Reactive in a config: `name: reactive`, {@link REACTIVE_PARAMS}, no predictor, shortest paths by delay beneath. */
export const reactivePolicy = definePolicy({
  name: "reactive",
  doc: "Reactive TE: after a link exceeds a utilization threshold, move the heaviest pairs on it to the least-loaded of k paths.",
  params: REACTIVE_PARAMS,
  forecasts: null,
  verbs: ["setRoute"],
  create: (p, ctx) =>
    new Reactive({ threshold: p.threshold, maxMoves: p.maxMoves, kPaths: p.kPaths ?? ctx.kPaths }),
});
