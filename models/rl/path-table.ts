/**
 * The sidecar's routing table, engine-neutral: per pair the candidate paths (direct shortest, k-shortest
 * alternatives, one-hop relays via another node as RON builds them), per path what probes said (RTT, the RTT
 * before, available bandwidth, recent loss), and which probes to send next within a budget. Shared by the learned
 * policy (models/policies/rl-mesh.ts), the RON baseline (models/policies/ron.ts) and the oracle path choice.
 *
 * A one-hop relay via r is the shortest path src -> r followed by the shortest path r -> dst (loopless only), the
 * route a sidecar relay at r would give; in the simulator it is pinned as a route (setRoute), which carries the
 * relay's path but not a sidecar's processing cost.
 *
 * Loss is an EWMA of lost = 1 / answered = 0 with weight `lossAlpha` for the newest probe; RON's latency estimate is
 * an EWMA too (weight 0.1 for the new sample, Andersen et al., SOSP 2001), kept here as `ewmaRttNs`.
 */
import { linksByEnds, pathLinkKeys } from "../policies/common.ts";
import type { ControlPlane, LinkStats, NodePath, Observation, ProbeResult } from "../policies/types.ts";

/** What probes said of one path. */
export interface PathRecord {
  path: NodePath;
  rttNs: number | null;
  prevRttNs: number | null;
  /** EWMA of answered RTTs, ns (RON's latency estimate), or null before the first answer. */
  ewmaRttNs: number | null;
  availableBps: number | null;
  loss: number;
  /** Probes answered or lost so far. */
  probes: number;
  /** Time of the last result, ns, or -1. */
  lastNs: number;
  /** Whether the last probe was lost. */
  lastLost: boolean;
}

/** Candidate settings. */
export interface CandidateOptions {
  /** k shortest paths by delay (the first is the direct shortest path). */
  kPaths: number;
  /** One-hop relays added per pair (the lowest-delay ones), 0 for none. */
  relays: number;
}

export const pathKey = (p: NodePath): string => p.join(">");

/** Propagation delay of a path from the observation's links (Infinity when a link is unknown). */
export function pathDelayNs(path: NodePath, links: ReadonlyMap<string, LinkStats>): number {
  let d = 0;
  for (const k of pathLinkKeys(path)) {
    const l = links.get(k);
    if (!l) return Number.POSITIVE_INFINITY;
    d += l.delayNs;
  }
  return d;
}

/** Whether every link of the path is up (and known). */
export function pathUp(path: NodePath, links: ReadonlyMap<string, LinkStats>): boolean {
  return pathLinkKeys(path).every((k) => links.get(k)?.up === true);
}

/** Capacity of the path's narrowest link, bits/s (1 when the path has no known link). */
export function bottleneckBps(path: NodePath, links: ReadonlyMap<string, LinkStats>): number {
  let c = Number.POSITIVE_INFINITY;
  for (const k of pathLinkKeys(path)) c = Math.min(c, links.get(k)?.capacityBps ?? c);
  return Number.isFinite(c) && c > 0 ? c : 1;
}

/** The candidate paths of a pair: k shortest, then one-hop relays by delay, without duplicates or loops. */
export function candidatePaths(
  ctl: ControlPlane,
  obs: Observation,
  src: string,
  dst: string,
  opts: CandidateOptions,
): NodePath[] {
  const out = ctl.paths(src, dst, opts.kPaths);
  if (opts.relays <= 0) return out;
  const seen = new Set(out.map(pathKey));
  const links = linksByEnds(obs);
  const relays: { path: NodePath; delay: number }[] = [];
  for (const r of obs.nodes) {
    if (r === src || r === dst) continue;
    const a = ctl.paths(src, r, 1)[0];
    const b = ctl.paths(r, dst, 1)[0];
    if (!a || !b) continue;
    const path = [...a, ...b.slice(1)];
    if (new Set(path).size !== path.length || seen.has(pathKey(path))) continue;
    seen.add(pathKey(path));
    relays.push({ path, delay: pathDelayNs(path, links) });
  }
  relays.sort((x, y) => x.delay - y.delay || (pathKey(x.path) < pathKey(y.path) ? -1 : 1));
  return [...out, ...relays.slice(0, opts.relays).map((r) => r.path)];
}

/** Probe records per path, fed from the observations' probe results. */
export class PathTable {
  private readonly records = new Map<string, PathRecord>();

  constructor(
    private readonly lossAlpha = 0.3,
    private readonly rttAlpha = 0.1,
  ) {}

  /** The record of a path (a fresh one, never probed, when unknown). */
  get(path: NodePath): PathRecord {
    const k = pathKey(path);
    let r = this.records.get(k);
    if (!r) {
      r = {
        path: [...path],
        rttNs: null,
        prevRttNs: null,
        ewmaRttNs: null,
        availableBps: null,
        loss: 0,
        probes: 0,
        lastNs: -1,
        lastLost: false,
      };
      this.records.set(k, r);
    }
    return r;
  }

  /** Takes in probe results (in time order). @returns the results, for callers that learn from them. */
  ingest(probes: readonly ProbeResult[]): readonly ProbeResult[] {
    for (const p of probes) {
      const r = this.get(p.path);
      r.probes++;
      r.lastNs = p.timeNs;
      r.lastLost = p.rttNs === null;
      r.loss = (1 - this.lossAlpha) * r.loss + this.lossAlpha * (p.rttNs === null ? 1 : 0);
      if (p.rttNs === null) continue;
      r.prevRttNs = r.rttNs;
      r.rttNs = p.rttNs;
      r.ewmaRttNs =
        r.ewmaRttNs === null ? p.rttNs : (1 - this.rttAlpha) * r.ewmaRttNs + this.rttAlpha * p.rttNs;
      r.availableBps = p.availableBps;
    }
    return probes;
  }
}

/**
 * Probes for one interval within `budget`: first every pair's current path (so a failure shows at the next
 * interval), then the pairs' other candidates, least recently probed first, round robin over pairs. Pairs are
 * taken in the given order (heaviest first).
 */
export function probePlan(
  pairs: readonly { current: NodePath | null; candidates: readonly NodePath[] }[],
  table: PathTable,
  budget: number,
): NodePath[] {
  const plan: NodePath[] = [];
  const planned = new Set<string>();
  const add = (p: NodePath) => {
    if (plan.length >= budget || planned.has(pathKey(p))) return;
    planned.add(pathKey(p));
    plan.push(p);
  };
  for (const pr of pairs) if (pr.current) add(pr.current);
  const queues = pairs.map((pr) =>
    [...pr.candidates].sort((a, b) => table.get(a).lastNs - table.get(b).lastNs),
  );
  for (let round = 0; plan.length < budget; round++) {
    let any = false;
    for (const q of queues) {
      if (round < q.length) {
        any = true;
        add(q[round]!);
      }
    }
    if (!any) break;
  }
  return plan;
}
