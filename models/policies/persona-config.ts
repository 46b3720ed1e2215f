/**
 * What a persona (models/personas/profile.ts) asks of the network, for one application as the network sees it
 * now, and the part of it not yet in place: the persona policy's diff (models/policies/persona.ts).
 *
 * The application's view. Flows carry application pairs (`"A->B"`: requests of A's calls to B and B's responses,
 * models/workload/applications.ts), so application A's traffic is that of every pair naming A; a pair `"X->Y"`
 * runs from an X node to a Y node, which tells where each application runs ({@link ApplicationView}).
 *
 * The desired config of application A, over the node pairs that carried A's traffic:
 * - Paths: by the persona's routing preference, the first of `ctl.paths` (least propagation delay) for
 *   `latency`, the least-utilized of the k shortest for `bandwidth`.
 * - Overlay: virtual links on those paths among the nodes of A's traffic (its instances and its peers'): `mesh`,
 *   every pair; `star`, the pairs touching the hub (the node with the most of A's bytes); `tree`, the pairs along
 *   the edges of a binary tree over the nodes ranked by A's bytes (the hub at the root, node k's parent is node
 *   floor((k - 1) / 2)). Links go to the overlay pairs that have one, then by the application's bytes (the
 *   refinement: its forecast demand) while both ends have a free VNA; a pair without a virtual link gets its path
 *   as a pinned route (setRoute). A pair keeps the path in place while it is still a candidate.
 * - QoS: every pair the persona's class: its priority, its guaranteed rate split evenly over the pairs (none when
 *   0), its ceiling (none when 0). The class is matched by application (setQos's `match`): on each pair, one class
 *   per server port of A's exchanges seen there (the fingerprint's ports of the peers A exchanged with on that pair,
 *   the rate split over them), so it holds A's flows only, whatever else the pair carries. Without ports to match
 *   (a fingerprint without them, or `qosPerApplication` off) the class is the pair's and holds every flow of its
 *   node pair, so a pair whose other traffic is heavy gets none ({@link DiffOptions.qosForeignShare}):
 *   personas.yaml showed why, game's pair class on n2->n0 promoted stream's 2 MB responses over trading's and
 *   ledger's flows. A bandwidth-first persona's class borrows at {@link BULK_PRIORITY}, and on a pair that also
 *   carries a latency-first application it takes the latency path ({@link DiffOptions.latencyPairs}).
 * - Firewall: default deny on A's ports at A's nodes (`deny {dst: node, port}`: what arrives there on those ports,
 *   requests to A and responses to A's calls, which carry the server's port), then an allow per allow-list entry
 *   from the peer's nodes (an application's, as seen; a node) to A's nodes, on the entry's port (or each of A's
 *   ports) and protocol. A's ports are the fingerprint's ports and the allow-list's.
 *
 * The diff leaves out what the Observation shows in place: a virtual link of the pair on the path, the pair's route,
 * its QoS class, a firewall rule equal to the one wanted (rules are compared as values; a rule set earlier and
 * overridden since is taken as in place), or one the caller knows it set and did not roll back (the emulator's
 * Observation has no firewall part).
 */
import type { Persona } from "../personas/profile.ts";
import { leastLoadedPath, linksByEnds, pathLinkKeys, samePath } from "./common.ts";
import {
  type ControlPlane,
  type FirewallRule,
  type NodePath,
  type Observation,
  pairKey,
  type QosSpec,
} from "./types.ts";
import { type QosMatch, qosMatchKey } from "./verb-args.ts";

/** Where each application runs and which node pairs carried its traffic, as observed so far. */
export class ApplicationView {
  /** Nodes per application name (the endpoints of its application pairs). */
  private readonly nodes = new Map<string, Set<string>>();
  /** Per application: bytes per node pair key `"src->dst"`, over every observation so far. */
  private readonly pairs = new Map<string, Map<string, number>>();
  /** Per application: the peer applications it exchanged traffic with, per node pair key. */
  private readonly peers = new Map<string, Map<string, Set<string>>>();
  /** Bytes per node pair key of all traffic (every application and the matrix), over every observation so far. */
  private readonly totals = new Map<string, number>();
  /** Time observed so far, ns (the sum of the observations' intervals). */
  private observedNs = 0;

  /** Takes in one interval's per-application traffic. */
  observe(obs: Observation): void {
    this.observedNs += obs.intervalNs;
    for (const t of obs.traffic) {
      const k = pairKey(t.src, t.dst);
      this.totals.set(k, (this.totals.get(k) ?? 0) + t.bytes);
    }
    for (const t of obs.applications ?? []) {
      const ends = applicationEnds(t.application);
      if (!ends) continue;
      addTo(this.nodes, ends[0], t.src);
      addTo(this.nodes, ends[1], t.dst);
      const k = pairKey(t.src, t.dst);
      for (const app of new Set(ends)) {
        const m = this.pairs.get(app) ?? new Map<string, number>();
        this.pairs.set(app, m);
        m.set(k, (m.get(k) ?? 0) + t.bytes);
      }
      for (const [app, peer] of [ends, [ends[1], ends[0]]] as const) {
        const m = this.peers.get(app) ?? new Map<string, Set<string>>();
        this.peers.set(app, m);
        addTo(m, k, peer);
      }
    }
  }

  /** The nodes an application ran on (sorted). */
  nodesOf(app: string): string[] {
    return [...(this.nodes.get(app) ?? [])].sort();
  }

  /** The application's node pairs with their bytes, by pair key, sorted by key. */
  pairsOf(app: string): [string, number][] {
    return [...(this.pairs.get(app) ?? [])].sort((a, b) => cmp(a[0], b[0]));
  }

  /** The applications `app` exchanged traffic with on the node pair `key` (sorted). */
  peersOn(app: string, key: string): string[] {
    return [...(this.peers.get(app)?.get(key) ?? [])].sort();
  }

  /** The share of the pair's bytes so far that the application's traffic made, [0, 1] (0 for a pair never seen). */
  shareOf(app: string, key: string): number {
    const total = this.totals.get(key) ?? 0;
    return total > 0 ? Math.min(1, (this.pairs.get(app)?.get(key) ?? 0) / total) : 0;
  }

  /** Mean rate of the pair's traffic other than the application's over the time observed, bits/s. */
  foreignBps(app: string, key: string): number {
    if (this.observedNs <= 0) return 0;
    const foreign = (this.totals.get(key) ?? 0) - (this.pairs.get(app)?.get(key) ?? 0);
    return (Math.max(0, foreign) * 8e9) / this.observedNs;
  }
}

/** The two application names of an application pair `"A->B"`, or null for another label (`"tm"`). */
export function applicationEnds(application: string): [string, string] | null {
  const i = application.indexOf("->");
  return i > 0 ? [application.slice(0, i), application.slice(i + 2)] : null;
}

/** One change the persona wants, as the verb call that makes it. */
export type PersonaChange =
  | { verb: "createVirtualLink"; src: string; dst: string; path: NodePath; replaces?: string }
  | { verb: "setRoute"; src: string; dst: string; path: NodePath }
  | { verb: "setQos"; src: string; dst: string; qos: QosSpec; match?: QosMatch }
  | { verb: "setFirewall"; rule: FirewallRule };

/** What else the diff takes into account (persona.ts's parameters and its refinement). */
export interface DiffOptions {
  /**
   * Whether the persona's classes are matched by application (its exchanges' server ports on each pair), holding
   * only its flows; false: a class per pair, holding every flow of the pair. Default true.
   */
  qosPerApplication?: boolean;
  /**
   * A class promotes every flow of its pair: a pair whose other traffic (other applications', the matrix's) has a
   * mean rate above this share of the bottleneck capacity of the pair's path gets no class. Default 0.05.
   */
  qosForeignShare?: number;
  /**
   * The refinement (models/policies/persona-refine.ts): the application's forecast demand per pair key, bits/s.
   * With it, a pair's guaranteed rate is its forecast demand x `headroom` (instead of the persona's rate split
   * evenly; kept while within {@link RATE_TOLERANCE} of it), and the overlay's virtual links go to its pairs in
   * order of forecast demand while both ends have a free VNA (the others get their path as a pinned route).
   */
  demand?: { bps(key: string): number; headroom: number };
  /** Pair keys whose QoS class is the policy's shaping now: left out of the QoS diff. */
  shaped?: ReadonlySet<string>;
  /**
   * Pair keys that carry a latency-first application's traffic: a bandwidth-first persona takes the latency path
   * (the first of `ctl.paths`) on them, since a route moves every flow of its pair (personas.yaml: stream's star
   * moved n2->n0, game's requests with it, onto the 4-hop way round the ring).
   */
  latencyPairs?: ReadonlySet<string>;
  /**
   * The refinement's choice of a latency path among `ctl.paths`'s k candidates (least delay first): absent, the
   * first. persona-refine.ts `coolestPath`: the least forecast-loaded of those no longer than the first by more than
   * a bound.
   */
  latencyPath?: (candidates: readonly NodePath[]) => NodePath | undefined;
}

/**
 * The priority a bandwidth-first persona's class borrows at, whatever its persona says: best effort's (htb's lowest,
 * as unclassed traffic). It keeps its guaranteed rate, but no priority over latency-critical traffic left without a
 * class (personas.yaml: stream's class at priority 2 on n2->n5 starved game's n1->n3 flows on n2->n3).
 */
export const BULK_PRIORITY = 7;

/** Default {@link DiffOptions.qosForeignShare}. */
export const QOS_FOREIGN_SHARE = 0.05;

/** A guaranteed rate in place at the wanted priority is kept while within this fraction of the one wanted. */
export const RATE_TOLERANCE = 0.5;

/** The desired config's changes not yet in place (see the module doc), in the order to apply them. */
export async function personaDiff(
  persona: Persona,
  view: ApplicationView,
  obs: Observation,
  ctl: ControlPlane,
  kPaths: number,
  /** Rules (as JSON) known to be in force besides the Observation's (an engine may not report its firewall). */
  rulesInForce: ReadonlySet<string> = new Set(),
  opts: DiffOptions = {},
): Promise<PersonaChange[]> {
  const app = persona.application.name;
  const pairs = view.pairsOf(app).map(([k]) => k.split("->") as [string, string]);
  const links = linksByEnds(obs);
  const overlay = overlayPairs(persona.desired.topology, view, app);
  // Firewall first, then QoS, then paths: the cheapest to apply first where actions take wall time (emulation).
  const rules = obs.firewall?.rules.map((r) => JSON.stringify(r.rule)) ?? [];
  const out: PersonaChange[] = firewallRules(persona, view)
    .filter((rule) => !rules.includes(JSON.stringify(rule)) && !rulesInForce.has(JSON.stringify(rule)))
    .map((rule) => ({ verb: "setFirewall", rule }));
  const paths = new Map<string, NodePath>();
  for (const [src, dst] of pairs) {
    const latency =
      persona.desired.routing === "latency" || opts.latencyPairs?.has(pairKey(src, dst)) === true;
    const pick = latency ? (opts.latencyPath ?? ((c: readonly NodePath[]) => c[0])) : undefined;
    const candidates = await ctl.paths(src, dst, pick && !opts.latencyPath ? 1 : kPaths);
    const path = pick ? pick(candidates) : leastLoadedPath(candidates, links);
    if (path) paths.set(pairKey(src, dst), keptPath(pathInPlace(obs, src, dst), path, candidates));
  }
  const foreignShare = opts.qosForeignShare ?? QOS_FOREIGN_SHARE;
  const matches = (key: string) =>
    opts.qosPerApplication === false ? [] : qosMatches(persona, view.peersOn(app, key));
  const classed = pairs.filter(([src, dst]) => {
    const key = pairKey(src, dst);
    if (matches(key).length > 0) return true; // a matched class holds the application's flows only
    if (opts.shaped?.has(key)) return false;
    const bottleneck = Math.min(
      ...pathLinkKeys(paths.get(key) ?? []).map((k) => links.get(k)?.capacityBps ?? Number.POSITIVE_INFINITY),
    );
    return view.foreignBps(app, key) <= foreignShare * bottleneck;
  });
  out.push(...qosChanges(persona, classed, pairs.length, obs, opts.demand, matches));
  const bytes = new Map(view.pairsOf(app));
  const withLink = vnaBudget(
    overlay,
    obs,
    opts.demand ? (k) => opts.demand!.bps(k) : (k) => bytes.get(k) ?? 0,
  );
  for (const [src, dst] of pairs) {
    const key = pairKey(src, dst);
    const path = paths.get(key);
    if (!path) continue;
    const vl = obs.virtualLinks.find((v) => v.src === src && v.dst === dst);
    if (withLink.has(key)) {
      if (!vl || !samePath(vl.path, path))
        out.push({ verb: "createVirtualLink", src, dst, path, ...(vl ? { replaces: vl.id } : {}) });
    } else if (!samePath(obs.routes.get(key), path)) out.push({ verb: "setRoute", src, dst, path });
  }
  return out;
}

/**
 * The path a pair keeps: the one in place (`now`, its virtual link's or pinned route's) while it is still among the
 * candidates (up, and among the k shortest: what the persona's routing preference picks from), else the chosen one.
 * Re-picking the least-loaded candidate each turn made a kept persona chase one interval's utilization: its own
 * traffic and the bulk's bursts make its path look the busier one, so each re-diff moved the pair back
 * (personas-loaded.yaml, persona and persona-wrong: stream's n2->n5 link remade every 0.5 s between n2-n1-n0-n5 and
 * n2-n3-n4-n5, also with a 0.1 utilization hysteresis and the pair's own rate moved, LinkLoadEstimate).
 */
function keptPath(now: NodePath | undefined, chosen: NodePath, candidates: readonly NodePath[]): NodePath {
  return now && candidates.some((c) => samePath(c, now)) ? now : chosen;
}

/** The pair's path in place: its virtual link's, else its pinned route. */
function pathInPlace(obs: Observation, src: string, dst: string): NodePath | undefined {
  return (
    obs.virtualLinks.find((v) => v.src === src && v.dst === dst)?.path ?? obs.routes.get(pairKey(src, dst))
  );
}

/**
 * The overlay pairs that get a virtual link: those that have one, then the others in order of `rank` (the
 * refinement's forecast demand, else the application's bytes so far; ties by key) while both ends have a free VNA
 * (obs.vnaPool; a node not in the pool has none). The others get their path as a pinned route: asking for links
 * the pool cannot hold only had them refused (personas-loaded.yaml: every re-diff of game, trading and ledger was
 * refused virtual links, at every node's four VNAs in use).
 */
function vnaBudget(
  overlay: ReadonlySet<string>,
  obs: Observation,
  rank: (key: string) => number,
): Set<string> {
  const free = new Map([...obs.vnaPool].map(([n, p]) => [n, p.capacity - p.used]));
  const has = new Set(obs.virtualLinks.map((v) => pairKey(v.src, v.dst)));
  const out = new Set([...overlay].filter((k) => has.has(k)));
  const rest = [...overlay].filter((k) => !has.has(k)).sort((a, b) => rank(b) - rank(a) || cmp(a, b));
  for (const key of rest) {
    const [src, dst] = key.split("->") as [string, string];
    if ((free.get(src) ?? 0) < 1 || (free.get(dst) ?? 0) < 1) continue;
    free.set(src, free.get(src)! - 1);
    free.set(dst, free.get(dst)! - 1);
    out.add(key);
  }
  return out;
}

/** The pair keys the overlay puts on virtual links (both directions of each overlay edge). */
function overlayPairs(
  topology: Persona["desired"]["topology"],
  view: ApplicationView,
  app: string,
): Set<string> {
  const pairs = view.pairsOf(app);
  const bytesAt = new Map<string, number>();
  for (const [k, b] of pairs) for (const n of k.split("->")) bytesAt.set(n, (bytesAt.get(n) ?? 0) + b);
  const ranked = [...bytesAt].sort((a, b) => b[1] - a[1] || cmp(a[0], b[0])).map(([n]) => n);
  const edge = (a: string, b: string): boolean => {
    if (topology === "mesh") return true;
    const [i, j] = [ranked.indexOf(a), ranked.indexOf(b)];
    if (topology === "star") return i === 0 || j === 0;
    return i === Math.floor((j - 1) / 2) || j === Math.floor((i - 1) / 2);
  };
  return new Set(pairs.map(([k]) => k).filter((k) => edge(...(k.split("->") as [string, string]))));
}

/**
 * The classes matching the application's exchanges with `peers` (one per server port of theirs in the fingerprint,
 * sorted); none when the fingerprint names no port for them.
 */
export function qosMatches(persona: Persona, peers: readonly string[]): QosMatch[] {
  const ports = new Set(
    persona.fingerprint.peers.filter((p) => peers.includes(p.app)).flatMap((p) => p.ports),
  );
  return [...ports].sort((a, b) => a - b).map((port) => ({ port }));
}

function qosChanges(
  persona: Persona,
  pairs: readonly [string, string][],
  /** The application's pairs, classed or not: the persona's guaranteed rate is split evenly over them. */
  pairCount: number,
  obs: Observation,
  demand: DiffOptions["demand"],
  /** The matched classes of a pair (none: the pair's class). */
  matchesOf: (key: string) => QosMatch[],
): PersonaChange[] {
  const { rateBps, ceilBps } = persona.desired.qos;
  const priority = persona.desired.routing === "bandwidth" ? BULK_PRIORITY : persona.desired.qos.priority;
  const out: PersonaChange[] = [];
  for (const [src, dst] of pairs) {
    const matches = matchesOf(pairKey(src, dst));
    const classes: (QosMatch | undefined)[] = matches.length > 0 ? matches : [undefined];
    for (const match of classes) {
      const qos: QosSpec = { priority };
      const pairRate = demand ? demand.bps(pairKey(src, dst)) * demand.headroom : rateBps / pairCount;
      const rate = pairRate / classes.length;
      if ((demand || rateBps > 0) && rate > 0) qos.rateBps = rate;
      if (ceilBps > 0) qos.ceilBps = ceilBps;
      const key = qosMatchKey(match);
      const now = obs.qos?.find((q) => q.src === src && q.dst === dst && qosMatchKey(q.match) === key);
      // A class at a more urgent priority is another persona's: left alone; at the same priority, kept while its
      // rate is within RATE_TOLERANCE of this one's (trading and its ledger share n1<->n4 and took turns re-setting
      // it).
      if (now && now.priority < qos.priority) continue;
      const sameRate =
        Math.abs((now?.rateBps ?? 0) - (qos.rateBps ?? 0)) <= RATE_TOLERANCE * (qos.rateBps ?? 0);
      if (now && now.priority === qos.priority && sameRate) continue;
      out.push({ verb: "setQos", src, dst, qos, ...(match ? { match } : {}) });
    }
  }
  return out;
}

/** The persona's firewall rules (see the module doc): default deny on its ports at its nodes, then the allows. */
export function firewallRules(persona: Persona, view: ApplicationView): FirewallRule[] {
  const app = persona.application.name;
  const { allow } = persona.desired.security;
  const named = allow.flatMap((a) => (a.port === undefined ? [] : [a.port]));
  const ports = [...new Set([...persona.fingerprint.ports, ...named])].sort((a, b) => a - b);
  const nodes = view.nodesOf(app);
  const out: FirewallRule[] = [];
  for (const dst of nodes) for (const port of ports) out.push({ action: "deny", dst, port });
  for (const a of allow) {
    const peers = a.peer.kind === "node" ? [a.peer.name] : view.nodesOf(a.peer.name);
    for (const src of peers)
      for (const dst of nodes) {
        if (src === dst) continue;
        for (const port of a.port === undefined ? ports : [a.port]) {
          const rule: FirewallRule = { action: "allow", src, dst, port };
          if (a.protocol !== undefined) rule.protocol = a.protocol;
          out.push(rule);
        }
      }
  }
  return out;
}

function addTo(m: Map<string, Set<string>>, key: string, v: string): void {
  const s = m.get(key) ?? new Set<string>();
  m.set(key, s);
  s.add(v);
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
