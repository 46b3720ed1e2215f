/**
 * The intent cost model: predicts what each candidate path between a client and a service instance will offer
 * over the next control interval, costs it against the client's {@link Intent}, and picks the cheapest path that
 * meets the intent's bounds, with hysteresis so a choice does not flap. Pure and engine-neutral (the
 * intent-routing policy, models/policies/intent-routing.ts, feeds it the Observation and its forecasts).
 *
 * Prediction of a path p (links l_1..l_h, forecast utilization u_l in [0, 1], capacity c_l bits/s):
 *   latencyNs(p)   = sum_l delay_l + sum_l q_l,   q_l = (mtu_l x 8 / c_l) x u_l / (1 - u_l)   (ns; M/M/1 waiting
 *                    time of one MTU-sized packet, u capped at 0.99; Kleinrock 1975), or, when a probe of p measured
 *                    an RTT, max(that sum, rtt / 2) (a measurement never makes the path look faster than its
 *                    propagation delay);
 *   availableBps(p)= min_l c_l x (1 - u_l)      (the bottleneck of what the forecast leaves free; bits/s, >= 0);
 *   hops(p)        = h;
 *   secure(p)      = every link's `secure` (a link whose engine does not report it counts as insecure);
 *   costPerGB(p)   = sum_l egressCostPerGB_l   (currency units per 1e9 bytes sent; unknown counts as 0).
 * A path crossing a down or unknown link is not a candidate.
 *
 * Cost (dimensionless: each term is a ratio of like units, about 1 at the intent's bound):
 *   cost(p) = w_lat  x latencyNs(p) / L
 *           + w_bw   x B / max(availableBps(p), 1)
 *           + w_hops x hops(p) / H
 *           + w_sec  x (secure(p) ? 0 : 1)
 *           + w_cost x costPerGB(p) / C
 * with L the intent's latency bound (else `ref.latencyNs`), B its bandwidth floor (else `ref.bandwidthBps`), H
 * the hop limit and C its cost ceiling (else `ref.costPerGB`). The weights are the policy's parameters.
 *
 * Choice: among candidates meeting the intent's bounds ({@link matchIntent} over the predicted path with an ideal
 * instance: the path alone decides) the lowest cost; if none meets them, the lowest cost among those that do not
 * break a hard requirement (a secure intent never gets an insecure path: `null` when no path is secure), marked
 * `meets: false`. Ties go to the earlier candidate (the shorter, as `ctl.paths` orders them).
 *
 * Hysteresis ({@link PathHysteresis}): the chosen path replaces the current one only if its cost is lower than
 * the current path's cost by the fraction `margin` for `holdIntervals` consecutive decisions; at once when the
 * current path is no longer a candidate (a link down), breaks a hard requirement, or misses the intent's bounds
 * while the new one meets them.
 */
import type { LinkStats, NodePath } from "../policies/types.ts";
import { type Intent, matchIntent, type PathEstimate } from "./intent.ts";

/** Weights of the cost terms (dimensionless, >= 0). */
export interface CostWeights {
  readonly latency: number;
  readonly bandwidth: number;
  readonly hops: number;
  /** Penalty of an insecure path (a soft preference; a secure intent makes it hard regardless). */
  readonly security: number;
  readonly cost: number;
}

/** Normalizers used where the intent gives no bound. */
export interface CostReferences {
  /** ns. */
  readonly latencyNs: number;
  /** bits/s. */
  readonly bandwidthBps: number;
  /** currency units per GB. */
  readonly costPerGB: number;
}

export const DEFAULT_WEIGHTS: CostWeights = Object.freeze({
  latency: 1,
  bandwidth: 1,
  hops: 0.1,
  security: 0.5,
  cost: 1,
});

export const DEFAULT_REFERENCES: CostReferences = Object.freeze({
  latencyNs: 10_000_000,
  bandwidthBps: 100e6,
  costPerGB: 0.1,
});

/** A link as the cost model sees it: the Observation's stats and the forecast utilization for the next interval. */
export interface LinkView {
  readonly stats: LinkStats;
  /** Forecast utilization, [0, 1] (clamped); the last measured utilization when no forecast is given. */
  readonly utilization: number;
  readonly mtuBytes: number;
}

/** Link views by `"<src>-><dst>"` from the Observation's links and a forecast aligned with them (same order). */
export function linkViews(
  links: readonly LinkStats[],
  forecast?: ArrayLike<number>,
  mtuBytes = 1500,
): Map<string, LinkView> {
  const out = new Map<string, LinkView>();
  links.forEach((l, i) => {
    const key = `${l.src}->${l.dst}`;
    if (out.has(key)) return;
    const u = forecast ? forecast[i]! : l.utilization;
    out.set(key, { stats: l, utilization: Math.min(1, Math.max(0, Number.isFinite(u) ? u : 0)), mtuBytes });
  });
  return out;
}

/** What a path is predicted to offer over the next interval (see the module doc). */
export interface PathPrediction extends PathEstimate {
  readonly path: NodePath;
  readonly hops: number;
}

const MAX_U = 0.99;

/** The prediction of `path` over `links`, or null when it crosses a down or unknown link. */
export function predictPath(
  path: NodePath,
  links: ReadonlyMap<string, LinkView>,
  probeRttNs?: number,
): PathPrediction | null {
  let delay = 0;
  let queue = 0;
  let bandwidth = Number.POSITIVE_INFINITY;
  let secure = true;
  let costPerGB = 0;
  for (let i = 1; i < path.length; i++) {
    const v = links.get(`${path[i - 1]}->${path[i]}`);
    if (!v?.stats.up) return null;
    const s = v.stats;
    const u = Math.min(v.utilization, MAX_U);
    delay += s.delayNs;
    queue += ((v.mtuBytes * 8 * 1e9) / s.capacityBps) * (u / (1 - u));
    bandwidth = Math.min(bandwidth, s.capacityBps * (1 - v.utilization));
    secure &&= s.secure === true;
    costPerGB += s.egressCostPerGB ?? 0;
  }
  let latencyNs = Math.round(delay + queue);
  if (probeRttNs !== undefined && probeRttNs !== null)
    latencyNs = Math.max(latencyNs, Math.round(probeRttNs / 2));
  return { path, hops: path.length - 1, latencyNs, bandwidthBps: bandwidth, secure, costPerGB };
}

/** The promise of an ideal instance: with it, {@link matchIntent} judges the path alone. */
function idealOffer(service: string): Intent {
  return {
    service,
    maxLatencyNs: 0,
    minBandwidthBps: Number.POSITIVE_INFINITY,
    secure: true,
    maxCostPerGB: 0,
  };
}

/** Whether a path's prediction meets every bound of `intent`. */
export function meetsIntent(intent: Intent, p: PathEstimate): boolean {
  return matchIntent(intent, idealOffer(intent.service), p).ok;
}

/** The cost of a predicted path for `intent` (see the module doc); `hopLimit` is H. */
export function pathCost(
  intent: Intent,
  p: PathPrediction,
  hopLimit: number,
  weights: CostWeights = DEFAULT_WEIGHTS,
  ref: CostReferences = DEFAULT_REFERENCES,
): number {
  const L = intent.maxLatencyNs ?? ref.latencyNs;
  const B = intent.minBandwidthBps ?? ref.bandwidthBps;
  const C = intent.maxCostPerGB ?? ref.costPerGB;
  return (
    (weights.latency * p.latencyNs) / Math.max(L, 1) +
    (weights.bandwidth * B) / Math.max(p.bandwidthBps, 1) +
    (weights.hops * p.hops) / Math.max(hopLimit, 1) +
    weights.security * (p.secure ? 0 : 1) +
    (C > 0 ? (weights.cost * p.costPerGB) / C : p.costPerGB > 0 ? weights.cost * 1e6 : 0)
  );
}

/** A costed candidate. */
export interface CostedPath {
  readonly prediction: PathPrediction;
  readonly cost: number;
  /** Whether the prediction meets every bound of the intent. */
  readonly meets: boolean;
}

export interface ChooseOptions {
  /** Candidates with more hops are left out. */
  readonly hopLimit: number;
  readonly weights?: CostWeights;
  readonly references?: CostReferences;
  /** A probe's RTT per candidate path, by `path.join(",")`. */
  readonly probeRttNs?: ReadonlyMap<string, number>;
}

/** Costs every usable candidate (in candidate order); candidates over the hop limit or down are left out. */
export function costPaths(
  intent: Intent,
  candidates: readonly NodePath[],
  links: ReadonlyMap<string, LinkView>,
  o: ChooseOptions,
): CostedPath[] {
  const out: CostedPath[] = [];
  for (const path of candidates) {
    if (path.length - 1 > o.hopLimit) continue;
    const prediction = predictPath(path, links, o.probeRttNs?.get(path.join(",")));
    if (!prediction) continue;
    out.push({
      prediction,
      cost: pathCost(intent, prediction, o.hopLimit, o.weights, o.references),
      meets: meetsIntent(intent, prediction),
    });
  }
  return out;
}

/** Whether a costed path breaks a hard requirement of the intent (an insecure path for a secure intent). */
export function breaksHard(intent: Intent, c: CostedPath): boolean {
  return intent.secure === true && !c.prediction.secure;
}

/**
 * The cheapest candidate meeting the intent, else the cheapest not breaking a hard requirement (`meets: false`),
 * else null (see the module doc).
 */
export function choosePath(
  intent: Intent,
  candidates: readonly NodePath[],
  links: ReadonlyMap<string, LinkView>,
  o: ChooseOptions,
): CostedPath | null {
  return cheapest(costPaths(intent, candidates, links, o).filter((c) => !breaksHard(intent, c)));
}

/** The cheapest meeting candidate, else the cheapest; ties to the earlier. */
export function cheapest(costed: readonly CostedPath[]): CostedPath | null {
  let best: CostedPath | null = null;
  for (const c of costed) {
    if (best === null || (c.meets && !best.meets) || (c.meets === best.meets && c.cost < best.cost)) best = c;
  }
  return best;
}

/** Hysteresis settings: relative improvement needed and consecutive decisions it must hold. */
export interface HysteresisOptions {
  /** Fraction, [0, 1): the new cost must be below current x (1 - margin). */
  readonly margin: number;
  /** Consecutive decisions (control intervals), >= 1. */
  readonly holdIntervals: number;
}

/** A path keyed choice with hysteresis, one per (client, service) or any string key (see the module doc). */
export class PathHysteresis {
  private readonly current = new Map<string, string>();
  private readonly pending = new Map<string, { path: string; count: number }>();

  constructor(private readonly opts: HysteresisOptions) {}

  /** The key's current choice (`path.join(",")`), if any. */
  currentOf(key: string): string | undefined {
    return this.current.get(key);
  }

  /**
   * Decides the key's choice this interval among `costed` (each candidate with its cost; the current choice, by
   * its id, among them if still usable); `best` is {@link cheapest}'s pick. Returns the id to use, or null when
   * there is none.
   */
  decide(
    key: string,
    costed: readonly (CostedPath & { id: string })[],
    best: (CostedPath & { id: string }) | null,
  ): string | null {
    const cur = this.current.get(key);
    const curCosted = cur === undefined ? undefined : costed.find((c) => c.id === cur);
    if (!best) return cur !== undefined && curCosted ? cur : null;
    const immediate =
      cur === undefined || !curCosted || (!curCosted.meets && best.meets) || curCosted.id === best.id;
    if (immediate) {
      this.current.set(key, best.id);
      this.pending.delete(key);
      return best.id;
    }
    if (best.cost < curCosted.cost * (1 - this.opts.margin)) {
      const p = this.pending.get(key);
      const count = p && p.path === best.id ? p.count + 1 : 1;
      if (count >= this.opts.holdIntervals) {
        this.current.set(key, best.id);
        this.pending.delete(key);
        return best.id;
      }
      this.pending.set(key, { path: best.id, count });
    } else {
      this.pending.delete(key);
    }
    return cur!;
  }

  /** Forgets a key. */
  clear(key: string): void {
    this.current.delete(key);
    this.pending.delete(key);
  }
}
