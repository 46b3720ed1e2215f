/**
 * The substrate: nodes and directed links, immutable once built.
 *
 * Nodes and links carry dense integer indices (0..N-1, 0..L-1) so the hot paths (routing, max-min solver) work on
 * typed arrays; string ids are for people and configs. Nodes are sorted by id and links by (source id, target id,
 * parallel key), so every iteration order is independent of the order a file or generator listed them in.
 * An ngraph.graph view (multigraph, node data = {@link Node}, link data = {@link Link}) is built on demand.
 */
import createGraph, { type Graph } from "ngraph.graph";

/** Speed of light in fibre, m/s: the usual 2/3 c used to turn distance into propagation delay. */
export const FIBRE_SPEED_M_PER_S = 2e8;
/** Mean Earth radius (IUGG), metres. */
export const EARTH_RADIUS_M = 6_371_008.8;

/** Substrate errors name the source (file, generator) and the element at fault. */
export class TopologyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "TopologyError";
  }
}

export interface NodeInput {
  /** Unique id, e.g. `"ATLAM5"` or a Zoo node id. */
  id: string;
  /** Human name (a PoP city); defaults to the id. */
  label?: string;
  /** Decimal degrees, WGS84. */
  lat?: number;
  /** Decimal degrees, WGS84. */
  lon?: number;
}

export interface Node {
  readonly index: number;
  readonly id: string;
  readonly label: string;
  readonly lat: number | undefined;
  readonly lon: number | undefined;
}

/** Link properties, in topocast units. */
export interface LinkProps {
  /** Capacity in bits/s (> 0). */
  capacityBps: number;
  /** One-way propagation delay in integer nanoseconds (>= 0). */
  delayNs: number;
  /** Packet loss probability in [0, 1). */
  lossRate: number;
  /** Egress (transit) cost in currency units per GB (1e9 bytes) sent over the link. */
  egressCostPerGB: number;
  /** Whether the link is trusted/encrypted (for intent routing's security term). */
  secure: boolean;
  /** Maximum transmission unit in bytes. */
  mtuBytes: number;
}

export interface Link extends LinkProps {
  readonly index: number;
  /** `"<src>-><dst>"`, with `"#<key>"` appended for the second and later parallel links. */
  readonly id: string;
  /** Source node index. */
  readonly src: number;
  /** Target node index. */
  readonly dst: number;
  /** Index of the opposite-direction link created with this one, or -1 for a one-way link. */
  readonly reverse: number;
}

/** Defaults applied where an input leaves a property out. */
export interface LinkDefaults extends LinkProps {
  /**
   * When true (the default) and both end nodes have coordinates, an unspecified delay is the great-circle
   * distance divided by {@link FIBRE_SPEED_M_PER_S}; otherwise `delayNs` is used.
   */
  delayFromCoordinates: boolean;
}

export const DEFAULT_LINK: Readonly<LinkDefaults> = Object.freeze({
  capacityBps: 10e9,
  delayNs: 1_000_000,
  lossRate: 0,
  egressCostPerGB: 0,
  secure: false,
  mtuBytes: 1500,
  delayFromCoordinates: true,
});

/** Great-circle (haversine) distance between two WGS84 points, metres. */
export function greatCircleMetres(lat1: number, lon1: number, lat2: number, lon2: number): number {
  const rad = Math.PI / 180;
  const dLat = (lat2 - lat1) * rad;
  const dLon = (lon2 - lon1) * rad;
  const a = Math.sin(dLat / 2) ** 2 + Math.cos(lat1 * rad) * Math.cos(lat2 * rad) * Math.sin(dLon / 2) ** 2;
  return 2 * EARTH_RADIUS_M * Math.asin(Math.min(1, Math.sqrt(a)));
}

/** Propagation delay over the great circle between two nodes, integer ns, or undefined without coordinates. */
export function coordinateDelayNs(a: NodeInput, b: NodeInput): number | undefined {
  if (a.lat === undefined || a.lon === undefined || b.lat === undefined || b.lon === undefined)
    return undefined;
  return Math.round((greatCircleMetres(a.lat, a.lon, b.lat, b.lon) / FIBRE_SPEED_M_PER_S) * 1e9);
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

interface PendingLink {
  src: string;
  dst: string;
  props: Partial<LinkProps>;
  bidirectional: boolean;
  order: number;
}

/**
 * Collects nodes and links in any order and builds an immutable {@link Topology}.
 * `source` names where the data came from (a file path, `"generator ring(8)"`) and appears in every error.
 */
export class TopologyBuilder {
  private readonly nodes = new Map<string, NodeInput>();
  private readonly links: PendingLink[] = [];
  private readonly defaults: LinkDefaults;

  constructor(
    readonly name: string,
    readonly source: string,
    defaults: Partial<LinkDefaults> = {},
  ) {
    this.defaults = { ...DEFAULT_LINK, ...defaults };
  }

  hasNode(id: string): boolean {
    return this.nodes.has(id);
  }

  addNode(node: NodeInput): this {
    if (typeof node.id !== "string" || node.id === "") {
      throw new TopologyError(
        `${this.source}: node id must be a non-empty string, got ${JSON.stringify(node.id)}`,
      );
    }
    if (this.nodes.has(node.id)) throw new TopologyError(`${this.source}: duplicate node id "${node.id}"`);
    for (const k of ["lat", "lon"] as const) {
      const v = node[k];
      if (v !== undefined && !Number.isFinite(v)) {
        throw new TopologyError(`${this.source}: node "${node.id}": ${k} must be a finite number, got ${v}`);
      }
    }
    this.nodes.set(node.id, { ...node });
    return this;
  }

  /**
   * Adds a link from `src` to `dst`. With `bidirectional` (the default) two directed links with the same
   * properties are created, each other's `reverse`. Properties left out take the builder's defaults.
   */
  addLink(src: string, dst: string, props: Partial<LinkProps> = {}, bidirectional = true): this {
    this.links.push({ src, dst, props, bidirectional, order: this.links.length });
    return this;
  }

  build(): Topology {
    const src = this.source;
    const nodeIds = [...this.nodes.keys()].sort(cmp);
    const index = new Map<string, number>();
    const nodes: Node[] = nodeIds.map((id, i) => {
      index.set(id, i);
      const n = this.nodes.get(id)!;
      return Object.freeze({ index: i, id, label: n.label ?? id, lat: n.lat, lon: n.lon });
    });

    interface Directed {
      s: number;
      d: number;
      props: LinkProps;
      pair: number;
      order: number;
    }
    const directed: Directed[] = [];
    for (const pl of this.links) {
      const s = index.get(pl.src);
      const d = index.get(pl.dst);
      const where = `${src}: link ${pl.src} -> ${pl.dst}`;
      if (s === undefined) throw new TopologyError(`${where}: unknown node "${pl.src}"`);
      if (d === undefined) throw new TopologyError(`${where}: unknown node "${pl.dst}"`);
      if (s === d) throw new TopologyError(`${where}: self-loop`);
      const props = this.resolveProps(pl, where);
      directed.push({ s, d, props, pair: pl.order, order: 2 * pl.order });
      if (pl.bidirectional) directed.push({ s: d, d: s, props, pair: pl.order, order: 2 * pl.order + 1 });
    }
    directed.sort((a, b) => a.s - b.s || a.d - b.d || a.order - b.order);

    const keyCount = new Map<string, number>();
    const byPairDir = new Map<string, number>();
    const links: Link[] = directed.map((dl, i) => {
      const base = `${nodeIds[dl.s]}->${nodeIds[dl.d]}`;
      const k = keyCount.get(base) ?? 0;
      keyCount.set(base, k + 1);
      byPairDir.set(`${dl.pair}:${dl.order % 2}`, i);
      return {
        index: i,
        id: k === 0 ? base : `${base}#${k}`,
        src: dl.s,
        dst: dl.d,
        reverse: -1,
        ...dl.props,
      };
    });
    for (const l of links) {
      const dl = directed[l.index]!;
      const other = byPairDir.get(`${dl.pair}:${1 - (dl.order % 2)}`);
      if (other !== undefined) (l as { reverse: number }).reverse = other;
    }
    return new Topology(
      this.name,
      src,
      nodes,
      links.map((l) => Object.freeze(l)),
    );
  }

  private resolveProps(pl: PendingLink, where: string): LinkProps {
    const d = this.defaults;
    let delayNs = pl.props.delayNs;
    if (delayNs === undefined && d.delayFromCoordinates) {
      delayNs = coordinateDelayNs(this.nodes.get(pl.src)!, this.nodes.get(pl.dst)!);
    }
    const p: LinkProps = {
      capacityBps: pl.props.capacityBps ?? d.capacityBps,
      delayNs: delayNs ?? d.delayNs,
      lossRate: pl.props.lossRate ?? d.lossRate,
      egressCostPerGB: pl.props.egressCostPerGB ?? d.egressCostPerGB,
      secure: pl.props.secure ?? d.secure,
      mtuBytes: pl.props.mtuBytes ?? d.mtuBytes,
    };
    if (!(p.capacityBps > 0) || !Number.isFinite(p.capacityBps)) {
      throw new TopologyError(`${where}: capacity must be a positive rate in bits/s, got ${p.capacityBps}`);
    }
    if (!Number.isSafeInteger(p.delayNs) || p.delayNs < 0) {
      throw new TopologyError(`${where}: delay must be a non-negative integer of ns, got ${p.delayNs}`);
    }
    if (!(p.lossRate >= 0 && p.lossRate < 1)) {
      throw new TopologyError(`${where}: loss rate must be in [0, 1), got ${p.lossRate}`);
    }
    if (!(p.egressCostPerGB >= 0)) {
      throw new TopologyError(`${where}: egress cost must be >= 0 per GB, got ${p.egressCostPerGB}`);
    }
    if (!Number.isInteger(p.mtuBytes) || p.mtuBytes < 68) {
      throw new TopologyError(`${where}: MTU must be an integer >= 68 bytes, got ${p.mtuBytes}`);
    }
    return p;
  }
}

/** An immutable substrate. Build with {@link TopologyBuilder}, an importer, or a generator. */
export class Topology {
  private readonly nodeIndex = new Map<string, number>();
  private readonly linkIndex = new Map<string, number>();
  /** Outgoing link indices per node, in link order (sorted by target id, then parallel key). */
  readonly outLinks: readonly (readonly number[])[];
  /** Incoming link indices per node. */
  readonly inLinks: readonly (readonly number[])[];
  private graphView: Graph<Node, Link> | undefined;

  constructor(
    readonly name: string,
    readonly source: string,
    readonly nodes: readonly Node[],
    readonly links: readonly Link[],
  ) {
    const out: number[][] = nodes.map(() => []);
    const inn: number[][] = nodes.map(() => []);
    for (const n of nodes) this.nodeIndex.set(n.id, n.index);
    for (const l of links) {
      this.linkIndex.set(l.id, l.index);
      out[l.src]!.push(l.index);
      inn[l.dst]!.push(l.index);
    }
    this.outLinks = out;
    this.inLinks = inn;
  }

  get nodeCount(): number {
    return this.nodes.length;
  }

  get linkCount(): number {
    return this.links.length;
  }

  /** Node index for an id; throws {@link TopologyError} naming the topology when unknown. */
  node(id: string): number {
    const i = this.nodeIndex.get(id);
    if (i === undefined) throw new TopologyError(`${this.name}: unknown node "${id}"`);
    return i;
  }

  hasNode(id: string): boolean {
    return this.nodeIndex.has(id);
  }

  /** Link index for an id such as `"A->B"` (or `"A->B#1"` for a parallel link); throws when unknown. */
  link(id: string): number {
    const i = this.linkIndex.get(id);
    if (i === undefined) throw new TopologyError(`${this.name}: unknown link "${id}"`);
    return i;
  }

  /** Indices of the directed links from node `src` to node `dst` (parallel links included), possibly empty. */
  linksBetween(src: number, dst: number): number[] {
    return this.outLinks[src]!.filter((l) => this.links[l]!.dst === dst);
  }

  /** Capacities of all links, bits/s, indexed by link index. */
  capacities(): Float64Array {
    return Float64Array.from(this.links, (l) => l.capacityBps);
  }

  /** Node ids along a path given as link indices, e.g. `["A", "B", "C"]`. */
  pathNodes(path: ArrayLike<number>): string[] {
    if (path.length === 0) return [];
    const ids = [this.nodes[this.links[path[0]!]!.src]!.id];
    for (let i = 0; i < path.length; i++) ids.push(this.nodes[this.links[path[i]!]!.dst]!.id);
    return ids;
  }

  /** The ngraph.graph view (multigraph; node data = Node, link data = Link), built once on first use. */
  get graph(): Graph<Node, Link> {
    if (!this.graphView) {
      const g = createGraph<Node, Link>({ multigraph: true });
      for (const n of this.nodes) g.addNode(n.id, n);
      for (const l of this.links) g.addLink(this.nodes[l.src]!.id, this.nodes[l.dst]!.id, l);
      this.graphView = g;
    }
    return this.graphView;
  }

  /** Counts and ranges, for `topo show` and logs. */
  summary(): TopologySummary {
    const caps = this.links.map((l) => l.capacityBps);
    const delays = this.links.map((l) => l.delayNs);
    return {
      name: this.name,
      nodes: this.nodeCount,
      links: this.linkCount,
      withCoordinates: this.nodes.filter((n) => n.lat !== undefined && n.lon !== undefined).length,
      capacityBps: { min: Math.min(...caps), max: Math.max(...caps) },
      delayNs: { min: Math.min(...delays), max: Math.max(...delays) },
    };
  }
}

export interface TopologySummary {
  name: string;
  nodes: number;
  /** Directed links. */
  links: number;
  withCoordinates: number;
  capacityBps: { min: number; max: number };
  delayNs: { min: number; max: number };
}
