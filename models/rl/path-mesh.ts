/**
 * The decision loop the path policies share (rl-mesh, ron, oracle-path), separate from how each one chooses:
 * every interval, take in probe results, pick the heaviest active pairs, let the policy choose a path per pair
 * among its candidates (models/rl/path-table.ts), pin changed choices with setRoute (at most `maxMoves` per
 * interval, failovers aside; all issued before any is awaited, so the emulator puts them in as one batch), then
 * send the interval's probes within the budget. A pair needs a failover when its
 * current path crosses a down link or its last probe was lost; `failover` does the same at once on a link-down
 * event. A moved pair's rate (last interval's bytes as bits/s) is taken off the available bandwidth its new path's
 * links show to the pairs decided after it, and given back on the path it left.
 */

import { linksByEnds, pathLinkKeys, pinNow, samePath } from "../policies/common.ts";
import {
  ControlError,
  type ControlPlane,
  type LinkStats,
  type NodePath,
  type Observation,
  pairKey,
} from "../policies/types.ts";
import { isPromiseLike } from "../policies/verb-decorator.ts";
import type { Predictor } from "../predictors/predictor.ts";
import type { PathView } from "./features.ts";
import {
  bottleneckBps,
  type CandidateOptions,
  candidatePaths,
  PathTable,
  pathUp,
  probePlan,
} from "./path-table.ts";

export interface PathMeshOptions {
  probeBudget: number;
  maxPairs: number;
  maxMoves: number;
  candidates: CandidateOptions;
  /** Directed links ("a->b") that are not secure. */
  insecureLinks: readonly string[];
  /**
   * Also manage, after the `maxPairs` heaviest, every other active pair whose current path is impaired
   * ({@link MeshView.impaired}: a link down or losing packets, or the path's last probe lost); default false.
   */
  impairedPairs?: boolean;
}

/** A pair's choice: the path to pin (null: leave it as it is); `bps` is the pair's rate of the last interval. */
export type Chooser = (
  pair: string,
  candidates: readonly NodePath[],
  current: NodePath | null,
  failover: boolean,
  bps: number,
) => NodePath | null;

/** One interval's view of the paths: link state, forecasts, probe records and this decision's moved load. */
export class MeshView {
  readonly links: Map<string, LinkStats>;
  private readonly extraBps = new Map<string, number>();

  constructor(
    readonly obs: Observation,
    private readonly table: PathTable,
    private readonly forecastUtil: ReadonlyMap<string, number>,
  ) {
    this.links = linksByEnds(obs);
  }

  /** Whether a path is up and its last probe, if any, was answered. */
  usable(p: NodePath): boolean {
    return pathUp(p, this.links) && !this.table.get(p).lastLost;
  }

  /**
   * Whether a path is impaired: not {@link usable}, or a link of it loses packets (`lossRate` > 0, a degraded
   * link).
   */
  impaired(p: NodePath): boolean {
    if (!this.usable(p)) return true;
    return pathLinkKeys(p).some((k) => (this.links.get(k)?.lossRate ?? 0) > 0);
  }

  /**
   * The features' view of a path (see models/rl/features.ts). With `pair`, the free bandwidth is what the path
   * would have with the pair's `bps` on it: the rate is given back on the links of the pair's `current` path and
   * taken off every link of `p` (so the current path is not penalised by the pair's own traffic).
   */
  pathView(
    p: NodePath,
    insecure: readonly string[],
    pair?: { current: NodePath | null; bps: number },
  ): PathView {
    const r = this.table.get(p);
    const keys = pathLinkKeys(p);
    const own = new Set(pair?.current ? pathLinkKeys(pair.current) : []);
    let extra = 0;
    let util = 0;
    let room = Number.POSITIVE_INFINITY;
    let delivered = 1;
    let delayNs = 0;
    for (const k of keys) {
      const moved = this.extraBps.get(k) ?? 0;
      extra = Math.max(extra, moved);
      const u = this.forecastUtil.get(k) ?? 0;
      util = Math.max(util, u);
      const l = this.links.get(k);
      if (!l) continue;
      const back = own.has(k) ? (pair?.bps ?? 0) : 0;
      room = Math.min(room, l.capacityBps * (1 - Math.min(1, u)) - moved + back - (pair?.bps ?? 0));
      delivered *= 1 - (l.lossRate ?? 0);
      delayNs += l.delayNs;
    }
    return {
      roomBps: Number.isFinite(room) ? Math.max(0, room) : undefined,
      pathLoss: 1 - delivered,
      propagationRttNs: 2 * delayNs,
      rttNs: r.rttNs,
      prevRttNs: r.prevRttNs,
      loss: r.loss,
      availableBps: r.availableBps === null ? null : Math.max(0, r.availableBps - extra),
      bottleneckBps: bottleneckBps(p, this.links),
      forecastUtilization: util,
      hops: keys.length,
      secureShare: 1 - insecureShare(p, insecure),
    };
  }

  /** Records a pair's move of `bps` from `from` to `to` for the pairs decided after it. */
  move(from: NodePath | null, to: NodePath, bps: number): void {
    for (const k of from ? pathLinkKeys(from) : []) this.extraBps.set(k, (this.extraBps.get(k) ?? 0) - bps);
    for (const k of pathLinkKeys(to)) this.extraBps.set(k, (this.extraBps.get(k) ?? 0) + bps);
  }
}

/** Share of a path's links listed as insecure, [0, 1]. */
export function insecureShare(p: NodePath, insecure: readonly string[]): number {
  const keys = pathLinkKeys(p);
  if (keys.length === 0 || insecure.length === 0) return 0;
  const set = new Set(insecure);
  return keys.filter((k) => set.has(k)).length / keys.length;
}

export class PathMesh {
  readonly table = new PathTable();
  private readonly cache = new Map<string, NodePath[]>();
  private downSignature = "";
  /** The probes of an earlier interval still going out. */
  private probing: Promise<void> | null = null;
  /** Probes that failed in the background (lost), and the last failure's message. */
  readonly probeFailures = { count: 0, last: "" };

  constructor(private readonly opts: PathMeshOptions) {}

  /** Takes in the interval's probes and forecasts (the predictor observes measured utilization, as mirroring's). */
  observe(obs: Observation, predictor?: Predictor): MeshView {
    this.table.ingest(obs.probes);
    const down = obs.links.filter((l) => !l.up).map((l) => l.id);
    if (down.join() !== this.downSignature) {
      this.downSignature = down.join();
      this.cache.clear();
    }
    const util = Float64Array.from(obs.links, (l) => (l.up ? l.utilization : 0));
    let forecast: ArrayLike<number> = util;
    if (predictor) {
      predictor.observe(obs.timeNs, util);
      forecast = predictor.forecast(1)[0]!;
    }
    const byKey = new Map<string, number>();
    obs.links.forEach((l, i) => {
      const k = `${l.src}->${l.dst}`;
      if (!byKey.has(k)) byKey.set(k, forecast[i]!);
    });
    return new MeshView(obs, this.table, byKey);
  }

  /** Capacity of a path's narrowest link in the observation, bits/s. */
  bottleneck(p: NodePath, obs: Observation): number {
    return bottleneckBps(p, linksByEnds(obs));
  }

  insecureShare(p: NodePath, insecure: readonly string[]): number {
    return insecureShare(p, insecure);
  }

  /** Candidates of a pair (cached until the set of down links changes). */
  candidates(ctl: ControlPlane, obs: Observation, src: string, dst: string): NodePath[] {
    const key = `${src}->${dst}`;
    let c = this.cache.get(key);
    if (!c) {
      c = candidatePaths(ctl, obs, src, dst, this.opts.candidates);
      this.cache.set(key, c);
    }
    return c;
  }

  /** One interval: choose and pin paths for the heaviest pairs, then probe (see the module doc). */
  async place(view: MeshView, ctl: ControlPlane, choose: Chooser): Promise<void> {
    const obs = view.obs;
    const seconds = obs.intervalNs / 1e9;
    const active = this.activePairs(view, ctl);
    const probing: { current: NodePath | null; candidates: NodePath[] }[] = [];
    const pins: Promise<void>[] = [];
    let moves = 0;
    for (const t of active) {
      const key = pairKey(t.src, t.dst);
      const candidates = this.candidates(ctl, obs, t.src, t.dst);
      if (candidates.length === 0) continue;
      const current = obs.routes.get(key) ?? ctl.defaultPath(t.src, t.dst);
      const failover = current === null || !view.usable(current);
      const bps = (t.bytes * 8) / seconds;
      const path = choose(key, candidates, current, failover, bps);
      const entry = { current, candidates };
      probing.push(entry);
      if (!path || samePath(path, current) || !(failover || moves < this.opts.maxMoves)) continue;
      const pinned = pinNow(ctl, t, path);
      if (pinned === false) continue;
      // Counted as moved at once (an engine that answers later is assumed to succeed; a refusal puts it back).
      if (!failover) moves++;
      view.move(current, path, bps);
      entry.current = path;
      if (pinned !== true)
        pins.push(
          pinned.then((ok) => {
            if (!ok) entry.current = current;
          }),
        );
    }
    await Promise.all(pins);
    this.probe(ctl, probing);
  }

  /**
   * The pairs one interval manages: the `maxPairs` heaviest of the last interval (bytes, then src, dst), then, with
   * `impairedPairs`, every other active pair whose current path is {@link MeshView.impaired}.
   */
  private activePairs(view: MeshView, ctl: ControlPlane): Observation["traffic"] {
    const sorted = [...view.obs.traffic].sort(
      (a, b) =>
        b.bytes - a.bytes ||
        (a.src < b.src ? -1 : a.src > b.src ? 1 : a.dst < b.dst ? -1 : a.dst > b.dst ? 1 : 0),
    );
    const heaviest = sorted.slice(0, this.opts.maxPairs);
    if (!this.opts.impairedPairs) return heaviest;
    const rest = sorted.slice(this.opts.maxPairs).filter((t) => {
      if (t.bytes <= 0) return false;
      const current = view.obs.routes.get(pairKey(t.src, t.dst)) ?? ctl.defaultPath(t.src, t.dst);
      return current !== null && view.impaired(current);
    });
    return [...heaviest, ...rest];
  }

  /**
   * Sends the interval's probes without waiting for them: a probe's result only comes in a later observation, and
   * an engine whose probe verb takes a while (the emulator installs the path's routes, then pings) would otherwise
   * hold the decision past the next control instant. While the previous interval's probes are still going out, this
   * interval sends none (their budget is still being spent). A probe that fails once sent in the background (the
   * emulator: its path's link went down while its routes went in) is lost, as a probe over a down link is, and
   * counted in {@link probeFailures}. In an engine whose probe answers at once (the simulator) every probe is sent
   * here, and a failure other than a ControlError is thrown.
   */
  private probe(ctl: ControlPlane, probing: Parameters<typeof probePlan>[0]): void {
    if (this.probing) return;
    const pending = sendProbes(ctl, probePlan(probing, this.table, this.opts.probeBudget), (_p, error) => {
      this.probeFailures.count++;
      this.probeFailures.last = error instanceof Error ? error.message : String(error);
    });
    if (!pending) return;
    this.probing = pending.finally(() => {
      this.probing = null;
    });
  }

  /**
   * A link went down: every pair pinned across it, and every pair of the last interval whose default path
   * crosses it (default routes may take `control.convergenceDelay` to move), moves at once to `choose`'s pick
   * among its candidates that avoid the link.
   */
  async failover(
    linkId: string,
    obs: Observation,
    ctl: ControlPlane,
    choose: (pair: string, candidates: readonly NodePath[], view: MeshView) => NodePath | null,
  ): Promise<void> {
    const view = this.observe({ ...obs, probes: [] });
    const link = obs.links.find((l) => l.id === linkId);
    const dead = link ? `${link.src}->${link.dst}` : linkId;
    view.links.set(dead, { ...(view.links.get(dead) ?? (link as LinkStats)), up: false });
    this.cache.clear();
    const affected = new Map<string, NodePath>();
    for (const [key, route] of obs.routes) affected.set(key, route);
    for (const t of obs.traffic) {
      const key = pairKey(t.src, t.dst);
      const p = affected.has(key) ? null : ctl.defaultPath(t.src, t.dst);
      if (p) affected.set(key, p);
    }
    const pins: Promise<boolean>[] = [];
    for (const key of [...affected.keys()].sort()) {
      const route = affected.get(key)!;
      if (!pathLinkKeys(route).includes(dead)) continue;
      const [src, dst] = [route[0]!, route[route.length - 1]!];
      const candidates = this.candidates(ctl, obs, src, dst).filter((p) => !pathLinkKeys(p).includes(dead));
      const path = choose(key, candidates, view);
      const pinned = path ? pinNow(ctl, { src, dst }, path) : false;
      if (typeof pinned !== "boolean") pins.push(pinned);
    }
    await Promise.all(pins);
  }
}

/** Probes in flight at once: the emulator runs commands per probe, so a budget is not sent all at once. */
const PROBES_IN_FLIGHT = 8;

/**
 * Sends the probes of `plan` in order. While the verb answers at once (the simulator) every probe is sent before
 * this returns, and it returns null; from the first probe that answers with a promise (the emulator sets up the
 * path's routes first) the rest go out with at most {@link PROBES_IN_FLIGHT} in flight, and the returned promise
 * settles when all have. A typed ControlError skips the probe; any other failure throws (at once) or, once the
 * probes go out in the background, is given to `lost` (without it, rejects).
 */
export function sendProbes(
  ctl: ControlPlane,
  plan: readonly NodePath[],
  lost?: (path: NodePath, error: unknown) => void,
): Promise<void> | null {
  let i = 0;
  let first: Promise<void> | null = null;
  const tracked = (p: NodePath, r: Promise<void> | null) =>
    r && lost ? r.catch((e: unknown) => lost(p, e)) : r;
  while (i < plan.length && first === null) {
    const p = plan[i++]!;
    first = tracked(p, probeOne(ctl, p));
  }
  if (first === null) return null;
  const rest = plan.slice(i);
  const background = (p: NodePath): Promise<void> | null => {
    try {
      return tracked(p, probeOne(ctl, p));
    } catch (e) {
      if (!lost) throw e;
      lost(p, e);
      return null;
    }
  };
  const worker = async () => {
    for (let p = rest.shift(); p !== undefined; p = rest.shift()) await background(p);
  };
  const workers = Array.from({ length: PROBES_IN_FLIGHT - 1 }, worker);
  return Promise.all([first, ...workers]).then(() => {});
}

/** One probe: null when the verb answered at once (or refused with a ControlError), else its settling. */
function probeOne(ctl: ControlPlane, p: NodePath): Promise<void> | null {
  const skip = (e: unknown) => {
    if (!(e instanceof ControlError)) throw e;
  };
  try {
    const r: unknown = ctl.probe(p);
    return isPromiseLike(r) ? Promise.resolve(r).then(() => {}, skip) : null;
  } catch (e) {
    skip(e);
    return null;
  }
}
