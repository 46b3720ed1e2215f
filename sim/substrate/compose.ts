/**
 * Several substrates in one network: each part (a Zoo network, a file, a generator) keeps its nodes and links,
 * its node ids prefixed with the part's name (`<substrate>:<id>`, {@link SUBSTRATE_SEPARATOR}); gateways are links
 * between nodes of different parts. The result is one {@link Topology}, so both engines, routing and every policy
 * see an ordinary network; which substrate a node belongs to is read off its id ({@link substrateOf}). Personas
 * fail over across substrates and the intent registry's resources name their network this way (issues 14, 15).
 *
 * Errors: TopologyError naming the part or gateway (duplicate or malformed substrate names, a gateway end that is
 * not `<substrate>:<node>` of a known part, a gateway inside one substrate).
 */
import { type LinkProps, type Topology, TopologyBuilder, TopologyError } from "./topology.ts";

/** Between a substrate's name and a node's own id in a composed node id. */
export const SUBSTRATE_SEPARATOR = ":";

/** Substrate names: letters, digits, `_` and `-`, starting with a letter. */
const SUBSTRATE_NAME = /^[A-Za-z][A-Za-z0-9_-]*$/;

export interface SubstratePart {
  /** The substrate's name, the prefix of its node ids. */
  readonly name: string;
  readonly topology: Topology;
}

export interface Gateway {
  /** Composed node ids (`<substrate>:<node>`) of the two ends, in different substrates. */
  readonly between: readonly [string, string];
  /** Link properties; left out: the composed network's defaults. */
  readonly props?: Partial<LinkProps>;
  /** Both directions (default) or `between[0]` -> `between[1]` only. */
  readonly bidirectional?: boolean;
}

/** The composed id of node `id` of substrate `substrate`. */
export function composedId(substrate: string, id: string): string {
  return `${substrate}${SUBSTRATE_SEPARATOR}${id}`;
}

/** The substrate of a composed node id, or undefined for a node of a single-substrate network. */
export function substrateOf(nodeId: string): string | undefined {
  const i = nodeId.indexOf(SUBSTRATE_SEPARATOR);
  return i > 0 && SUBSTRATE_NAME.test(nodeId.slice(0, i)) ? nodeId.slice(0, i) : undefined;
}

/**
 * One network of `parts` joined by `gateways`. Node labels become `<substrate>:<label>`; coordinates, link
 * properties and one-way links are kept.
 * @throws TopologyError (see the module doc)
 */
export function composeSubstrates(
  name: string,
  parts: readonly SubstratePart[],
  gateways: readonly Gateway[],
): Topology {
  const b = new TopologyBuilder(name, `substrates ${parts.map((p) => p.name).join(", ")}`);
  const names = new Set<string>();
  for (const p of parts) {
    if (!SUBSTRATE_NAME.test(p.name))
      throw new TopologyError(
        `substrate name ${JSON.stringify(p.name)}: expected a letter then letters, digits, _ or -`,
      );
    if (names.has(p.name)) throw new TopologyError(`substrate name "${p.name}" is used twice`);
    names.add(p.name);
    const t = p.topology;
    for (const n of t.nodes)
      b.addNode({ id: composedId(p.name, n.id), label: composedId(p.name, n.label), lat: n.lat, lon: n.lon });
    for (const l of t.links) {
      if (l.reverse >= 0 && l.reverse < l.index) continue; // added with its pair
      const props: LinkProps = {
        capacityBps: l.capacityBps,
        delayNs: l.delayNs,
        lossRate: l.lossRate,
        egressCostPerGB: l.egressCostPerGB,
        secure: l.secure,
        mtuBytes: l.mtuBytes,
      };
      const [s, d] = [t.nodes[l.src]!.id, t.nodes[l.dst]!.id].map((id) => composedId(p.name, id)) as [
        string,
        string,
      ];
      b.addLink(s, d, props, l.reverse >= 0);
    }
  }
  gateways.forEach((g, i) => {
    const where = `gateway ${i} (${g.between.join(" - ")})`;
    const ends = g.between.map((id) => {
      const s = substrateOf(id);
      if (s === undefined || !names.has(s) || !b.hasNode(id))
        throw new TopologyError(
          `${where}: ${JSON.stringify(id)} is not <substrate>${SUBSTRATE_SEPARATOR}<node> of a substrate listed (${[...names].join(", ")})`,
        );
      return s;
    });
    if (ends[0] === ends[1]) throw new TopologyError(`${where}: both ends are in substrate "${ends[0]}"`);
    b.addLink(g.between[0], g.between[1], g.props ?? {}, g.bidirectional ?? true);
  });
  return b.build();
}
