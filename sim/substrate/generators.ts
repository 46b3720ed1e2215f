/**
 * Synthetic topologies: pure functions of their parameters (and, for {@link waxman}, of a caller-provided RNG).
 *
 * Every link is bidirectional (two directed links, each other's `reverse`) and takes its properties from the
 * `defaults` argument, which is always the last parameter (`Partial<LinkDefaults>`, merged over `DEFAULT_LINK`).
 * The builder's `source` is `generator <name>(<param>=<value>, ...)`, e.g. `generator ring(n=8)`, and the topology's
 * name is the part after `generator `; both appear in every error.
 *
 * Node ids are a prefix and decimal indices, each index zero-padded to the width of the largest index in its
 * position, so that sorting ids as strings (as {@link TopologyBuilder} does) gives the natural order:
 * `line(8)` has `n0`..`n7`, `line(16)` has `n00`..`n15`, `grid(11, 3)` has `r00c0`..`r10c2`, `fatTree(8)` has
 * `core00`..`core15` and `p0-agg0`..`p7-edge3-h3`.
 *
 * Bad parameters throw {@link TopologyError} naming the generator and the parameter, e.g.
 * `generator fatTree(k=5): k must be an even integer >= 2, got 5`.
 */
import { type LinkDefaults, type Topology, TopologyBuilder, TopologyError } from "./topology.ts";

/** `i` zero-padded to the width of `count - 1`, the largest index in its position. */
function pad(i: number, count: number): string {
  return String(i).padStart(String(Math.max(0, count - 1)).length, "0");
}

/** Throws unless `value` is an integer >= `min`. */
function requireInt(source: string, param: string, value: number, min: number): void {
  if (!Number.isInteger(value) || value < min) {
    throw new TopologyError(`${source}: ${param} must be an integer >= ${min}, got ${value}`);
  }
}

function builder(call: string, defaults: Partial<LinkDefaults>): TopologyBuilder {
  return new TopologyBuilder(call, `generator ${call}`, defaults);
}

/**
 * A path graph `n0 - n1 - ... - n(n-1)`: `n` nodes, `n - 1` bidirectional links.
 * Throws {@link TopologyError} unless `n` is an integer >= 2.
 */
export function line(n: number, defaults: Partial<LinkDefaults> = {}): Topology {
  const b = builder(`line(n=${n})`, defaults);
  requireInt(b.source, "n", n, 2);
  for (let i = 0; i < n; i++) b.addNode({ id: `n${pad(i, n)}` });
  for (let i = 0; i + 1 < n; i++) b.addLink(`n${pad(i, n)}`, `n${pad(i + 1, n)}`);
  return b.build();
}

/**
 * A cycle `n0 - n1 - ... - n(n-1) - n0`: `n` nodes, `n` bidirectional links.
 * Throws {@link TopologyError} unless `n` is an integer >= 3 (a 2-ring would be a pair of parallel links).
 */
export function ring(n: number, defaults: Partial<LinkDefaults> = {}): Topology {
  const b = builder(`ring(n=${n})`, defaults);
  requireInt(b.source, "n", n, 3);
  for (let i = 0; i < n; i++) b.addNode({ id: `n${pad(i, n)}` });
  for (let i = 0; i < n; i++) b.addLink(`n${pad(i, n)}`, `n${pad((i + 1) % n, n)}`);
  return b.build();
}

/**
 * A hub `hub` linked to `leaves` nodes `n0`..: `leaves + 1` nodes, `leaves` bidirectional links.
 * Throws {@link TopologyError} unless `leaves` is an integer >= 1.
 */
export function star(leaves: number, defaults: Partial<LinkDefaults> = {}): Topology {
  const b = builder(`star(leaves=${leaves})`, defaults);
  requireInt(b.source, "leaves", leaves, 1);
  b.addNode({ id: "hub" });
  for (let i = 0; i < leaves; i++) {
    const id = `n${pad(i, leaves)}`;
    b.addNode({ id });
    b.addLink("hub", id);
  }
  return b.build();
}

/**
 * A `rows` x `cols` mesh (4-neighbour lattice, no wrap-around), nodes `r<i>c<j>`: `rows * cols` nodes,
 * `rows * (cols - 1) + cols * (rows - 1)` bidirectional links.
 * Throws {@link TopologyError} unless both are integers >= 1 and `rows * cols >= 2`.
 */
export function grid(rows: number, cols: number, defaults: Partial<LinkDefaults> = {}): Topology {
  const b = builder(`grid(rows=${rows}, cols=${cols})`, defaults);
  requireInt(b.source, "rows", rows, 1);
  requireInt(b.source, "cols", cols, 1);
  if (rows * cols < 2) throw new TopologyError(`${b.source}: rows * cols must be >= 2, got ${rows * cols}`);
  const id = (i: number, j: number) => `r${pad(i, rows)}c${pad(j, cols)}`;
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) b.addNode({ id: id(i, j) });
  for (let i = 0; i < rows; i++) {
    for (let j = 0; j < cols; j++) {
      if (j + 1 < cols) b.addLink(id(i, j), id(i, j + 1));
      if (i + 1 < rows) b.addLink(id(i, j), id(i + 1, j));
    }
  }
  return b.build();
}

export interface FatTreeOptions {
  /** Whether to add the k^3/4 hosts (`p<pod>-edge<e>-h<h>`); without them only the switches remain. @default true */
  hosts?: boolean;
}

/**
 * The k-ary fat tree of Al-Fares, Loukissas and Vahdat, "A scalable, commodity data center network architecture",
 * SIGCOMM 2008. `k` pods, each with k/2 aggregation switches `p<p>-agg<a>` and k/2 edge switches `p<p>-edge<e>`
 * (a complete bipartite graph inside the pod); (k/2)^2 core switches `core<c>`, where core `c` links to
 * aggregation switch `floor(c / (k/2))` of every pod; k/2 hosts `p<p>-edge<e>-h<h>` per edge switch.
 *
 * Counts: 5k^2/4 switches, k^3/4 hosts, k^3/4 (core-agg) + k^3/4 (agg-edge) + k^3/4 (edge-host) bidirectional
 * links; fatTree(4) has 20 switches, 16 hosts and 48 links. Every switch has k ports.
 * Throws {@link TopologyError} unless `k` is an even integer >= 2.
 */
export function fatTree(
  k: number,
  options: FatTreeOptions = {},
  defaults: Partial<LinkDefaults> = {},
): Topology {
  const withHosts = options.hosts ?? true;
  const b = builder(`fatTree(k=${k}${withHosts ? "" : ", hosts=false"})`, defaults);
  if (!Number.isInteger(k) || k < 2 || k % 2 !== 0) {
    throw new TopologyError(`${b.source}: k must be an even integer >= 2, got ${k}`);
  }
  const half = k / 2;
  const cores = half * half;
  const core = (c: number) => `core${pad(c, cores)}`;
  const pod = (p: number) => `p${pad(p, k)}`;
  const agg = (p: number, a: number) => `${pod(p)}-agg${pad(a, half)}`;
  const edge = (p: number, e: number) => `${pod(p)}-edge${pad(e, half)}`;
  for (let c = 0; c < cores; c++) b.addNode({ id: core(c) });
  for (let p = 0; p < k; p++) {
    for (let a = 0; a < half; a++) {
      b.addNode({ id: agg(p, a) });
      for (let j = 0; j < half; j++) b.addLink(core(a * half + j), agg(p, a));
    }
    for (let e = 0; e < half; e++) {
      b.addNode({ id: edge(p, e) });
      for (let a = 0; a < half; a++) b.addLink(agg(p, a), edge(p, e));
      if (!withHosts) continue;
      for (let h = 0; h < half; h++) {
        const host = `${edge(p, e)}-h${pad(h, half)}`;
        b.addNode({ id: host });
        b.addLink(edge(p, e), host);
      }
    }
  }
  return b.build();
}

/**
 * A two-tier Clos: every leaf `leaf<l>` links to every spine `spine<s>`, and each leaf has `hostsPerLeaf` hosts
 * `leaf<l>-h<h>`. Counts: `spines + leaves * (1 + hostsPerLeaf)` nodes,
 * `spines * leaves + leaves * hostsPerLeaf` bidirectional links.
 * Throws {@link TopologyError} unless `spines`, `leaves` are integers >= 1 and `hostsPerLeaf` an integer >= 0.
 */
export function leafSpine(
  spines: number,
  leaves: number,
  hostsPerLeaf = 0,
  defaults: Partial<LinkDefaults> = {},
): Topology {
  const b = builder(`leafSpine(spines=${spines}, leaves=${leaves}, hostsPerLeaf=${hostsPerLeaf})`, defaults);
  requireInt(b.source, "spines", spines, 1);
  requireInt(b.source, "leaves", leaves, 1);
  requireInt(b.source, "hostsPerLeaf", hostsPerLeaf, 0);
  const spine = (s: number) => `spine${pad(s, spines)}`;
  for (let s = 0; s < spines; s++) b.addNode({ id: spine(s) });
  for (let l = 0; l < leaves; l++) {
    const leaf = `leaf${pad(l, leaves)}`;
    b.addNode({ id: leaf });
    for (let s = 0; s < spines; s++) b.addLink(spine(s), leaf);
    for (let h = 0; h < hostsPerLeaf; h++) {
      const host = `${leaf}-h${pad(h, hostsPerLeaf)}`;
      b.addNode({ id: host });
      b.addLink(leaf, host);
    }
  }
  return b.build();
}

export interface WaxmanOptions {
  /** Maximum link probability, in (0, 1]. Higher means denser. */
  alpha: number;
  /** Distance scale relative to the largest distance `L`, > 0. Higher means more long links. */
  beta: number;
  /** Uniform [0, 1) source, e.g. a named stream of the simulation's RNG. Called 2n + n(n-1)/2 times. */
  rng: () => number;
  /**
   * When given, each link's delay is `round(distance * unitDelayNs)` ns, i.e. crossing one side of the unit
   * square takes `unitDelayNs`; otherwise links take `defaults.delayNs`.
   */
  unitDelayNs?: number;
}

/**
 * A Waxman random graph (B. M. Waxman, "Routing of multipoint connections", IEEE JSAC 6(9), 1988), nodes
 * `n0`..`n(n-1)`: node i is placed at (x_i, y_i) uniform in the unit square (draws x_0, y_0, x_1, y_1, ...), then
 * for each pair u < v in row-major order one draw r links them when r < alpha * exp(-d(u, v) / (beta * L)), with
 * `L` the largest distance between any two nodes. Note that some texts swap the names alpha and beta.
 *
 * Connectivity is then ensured without further draws: components are taken in order of their smallest node
 * index, and each component after the first is linked to the union of the earlier ones by its closest pair of
 * nodes (ties to the smaller node index in the component, then outside it). The result is a function of the
 * sequence the RNG returns. Throws {@link TopologyError} for `n` < 2 or non-integer, alpha outside (0, 1],
 * beta <= 0, a negative `unitDelayNs`, or an RNG value outside [0, 1).
 */
export function waxman(n: number, options: WaxmanOptions, defaults: Partial<LinkDefaults> = {}): Topology {
  const { alpha, beta, rng, unitDelayNs } = options;
  const b = builder(`waxman(n=${n}, alpha=${alpha}, beta=${beta})`, defaults);
  const src = b.source;
  requireInt(src, "n", n, 2);
  if (!(alpha > 0 && alpha <= 1)) throw new TopologyError(`${src}: alpha must be in (0, 1], got ${alpha}`);
  if (!(beta > 0 && Number.isFinite(beta))) throw new TopologyError(`${src}: beta must be > 0, got ${beta}`);
  if (typeof rng !== "function") throw new TopologyError(`${src}: rng must be a function returning [0, 1)`);
  if (unitDelayNs !== undefined && !(unitDelayNs >= 0 && Number.isFinite(unitDelayNs))) {
    throw new TopologyError(`${src}: unitDelayNs must be a non-negative number of ns, got ${unitDelayNs}`);
  }
  const draw = (): number => {
    const r = rng();
    if (!(r >= 0 && r < 1)) throw new TopologyError(`${src}: rng must return a number in [0, 1), got ${r}`);
    return r;
  };

  const x = new Float64Array(n);
  const y = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    x[i] = draw();
    y[i] = draw();
  }
  const dist = (u: number, v: number) => Math.hypot(x[u]! - x[v]!, y[u]! - y[v]!);
  let maxDist = 0;
  for (let u = 0; u < n; u++) for (let v = u + 1; v < n; v++) maxDist = Math.max(maxDist, dist(u, v));

  const id = (i: number) => `n${pad(i, n)}`;
  for (let i = 0; i < n; i++) b.addNode({ id: id(i) });
  const parent = Int32Array.from({ length: n }, (_, i) => i);
  const find = (i: number): number => {
    while (parent[i] !== i) {
      parent[i] = parent[parent[i]!]!;
      i = parent[i]!;
    }
    return i;
  };
  const link = (u: number, v: number) => {
    b.addLink(
      id(u),
      id(v),
      unitDelayNs === undefined ? {} : { delayNs: Math.round(dist(u, v) * unitDelayNs) },
    );
    const ru = find(u);
    const rv = find(v);
    if (ru !== rv) parent[Math.max(ru, rv)] = Math.min(ru, rv);
  };
  for (let u = 0; u < n; u++) {
    for (let v = u + 1; v < n; v++) {
      const p = maxDist > 0 ? alpha * Math.exp(-dist(u, v) / (beta * maxDist)) : alpha;
      if (draw() < p) link(u, v);
    }
  }
  connectComponents(n, find, dist, link);
  return b.build();
}

/**
 * Links the components of a graph on nodes 0..n-1 (union-find roots are the smallest member) to the component of
 * node 0, in order of smallest member, each by its closest pair to the nodes already connected. O(n^2).
 */
function connectComponents(
  n: number,
  find: (i: number) => number,
  dist: (u: number, v: number) => number,
  link: (u: number, v: number) => void,
): void {
  const inMain = new Uint8Array(n);
  const best = new Float64Array(n).fill(Number.POSITIVE_INFINITY);
  const bestTo = new Int32Array(n).fill(-1);
  const join = (s: number) => {
    inMain[s] = 1;
    for (let v = 0; v < n; v++) {
      if (inMain[v]) continue;
      const d = dist(v, s);
      if (d < best[v]! || (d === best[v]! && s < bestTo[v]!)) {
        best[v] = d;
        bestTo[v] = s;
      }
    }
  };
  const mainRoot = find(0);
  for (let v = 0; v < n; v++) if (find(v) === mainRoot) join(v);
  for (let r = 0; r < n; r++) {
    if (inMain[r] || find(r) !== r) continue;
    // r is the smallest member of the next component not yet connected.
    let u = -1;
    for (let v = r; v < n; v++) if (find(v) === r && (u < 0 || best[v]! < best[u]!)) u = v;
    const members: number[] = [];
    for (let v = r; v < n; v++) if (find(v) === r) members.push(v);
    link(u, bestTo[u]!);
    for (const v of members) join(v);
  }
}
