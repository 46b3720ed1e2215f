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
 *   floor((k - 1) / 2)). A pair without a virtual link gets its path as a pinned route (setRoute).
 * - QoS: every pair the persona's class: its priority, its guaranteed rate split evenly over the pairs (none when
 *   0), its ceiling (none when 0).
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
import { leastLoadedPath, linksByEnds, samePath } from "./common.ts";
import type { ControlPlane, FirewallRule, NodePath, Observation, QosSpec } from "./types.ts";

/** Where each application runs and which node pairs carried its traffic, as observed so far. */
export class ApplicationView {
  /** Nodes per application name (the endpoints of its application pairs). */
  private readonly nodes = new Map<string, Set<string>>();
  /** Per application: bytes per node pair key `"src->dst"`, over every observation so far. */
  private readonly pairs = new Map<string, Map<string, number>>();

  /** Takes in one interval's per-application traffic. */
  observe(obs: Observation): void {
    for (const t of obs.applications ?? []) {
      const ends = applicationEnds(t.application);
      if (!ends) continue;
      addTo(this.nodes, ends[0], t.src);
      addTo(this.nodes, ends[1], t.dst);
      for (const app of new Set(ends)) {
        const m = this.pairs.get(app) ?? new Map<string, number>();
        this.pairs.set(app, m);
        const k = `${t.src}->${t.dst}`;
        m.set(k, (m.get(k) ?? 0) + t.bytes);
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
  | { verb: "setQos"; src: string; dst: string; qos: QosSpec }
  | { verb: "setFirewall"; rule: FirewallRule };

/** The desired config's changes not yet in place (see the module doc), in the order to apply them. */
export async function personaDiff(
  persona: Persona,
  view: ApplicationView,
  obs: Observation,
  ctl: ControlPlane,
  kPaths: number,
  /** Rules (as JSON) known to be in force besides the Observation's (an engine may not report its firewall). */
  rulesInForce: ReadonlySet<string> = new Set(),
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
  out.push(...qosChanges(persona, pairs, obs));
  for (const [src, dst] of pairs) {
    const candidates = await ctl.paths(src, dst, persona.desired.routing === "latency" ? 1 : kPaths);
    const path = persona.desired.routing === "latency" ? candidates[0] : leastLoadedPath(candidates, links);
    if (!path) continue;
    if (overlay.has(`${src}->${dst}`)) {
      const vl = obs.virtualLinks.find((v) => v.src === src && v.dst === dst);
      if (!vl || !samePath(vl.path, path))
        out.push({ verb: "createVirtualLink", src, dst, path, ...(vl ? { replaces: vl.id } : {}) });
    } else if (!samePath(obs.routes.get(`${src}->${dst}`), path))
      out.push({ verb: "setRoute", src, dst, path });
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

function qosChanges(persona: Persona, pairs: readonly [string, string][], obs: Observation): PersonaChange[] {
  const { priority, rateBps, ceilBps } = persona.desired.qos;
  const qos: QosSpec = { priority };
  if (rateBps > 0 && pairs.length > 0) qos.rateBps = rateBps / pairs.length;
  if (ceilBps > 0) qos.ceilBps = ceilBps;
  return pairs
    .filter(([src, dst]) => {
      const now = obs.qos?.find((q) => q.src === src && q.dst === dst);
      return !(
        now &&
        now.priority === qos.priority &&
        now.rateBps === (qos.rateBps ?? null) &&
        now.ceilBps === (qos.ceilBps ?? null)
      );
    })
    .map(([src, dst]) => ({ verb: "setQos", src, dst, qos }));
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
