/**
 * Paths over a {@link Topology}: shortest paths (Dijkstra), all-pairs tables, k shortest loopless paths (Yen),
 * equal-cost multipath sets, and path metrics.
 *
 * A {@link Path} is the sequence of directed link indices from source to destination; the empty path leads from
 * a node to itself. Costs are taken from a {@link Weight}: `"delay"` (link.delayNs, ns), `"hops"` (1 per link)
 * or a function of the link returning a non-negative number (`Infinity` makes the link unusable). The cost of a
 * path is the floating-point sum of its link weights taken in path order; with integer weights (delay, hops)
 * every comparison below is exact. With fractional custom weights two costs tie only when the sums are equal
 * as floats (ecmpPaths alone applies a relative tolerance), and Yen's ranking of spur paths can differ from a
 * ranking of whole-path sums by a rounding step.
 *
 * Tie-breaking (all functions): paths are totally ordered by (cost, number of hops, sequence of link indices
 * compared lexicographically from the source). shortestPath returns the least path in this order, kShortestPaths
 * the k least loopless paths in this order, ecmpPaths its equal-cost paths in (hops, link sequence) order. The
 * result depends only on the topology (whose link indices are themselves sorted by node ids), never on insertion
 * or heap order. Because link indices are sorted by (source id, target id), comparing link sequences is comparing
 * the node-id sequences, with parallel links in key order.
 */
import type { Link, Topology } from "./topology.ts";
import { TopologyError } from "./topology.ts";

/** Directed link indices, in order from source to destination. */
export type Path = readonly number[];

/** Link cost: `"delay"` = link.delayNs (ns), `"hops"` = 1, or a non-negative function (`Infinity` = unusable). */
export type Weight = "delay" | "hops" | ((link: Link) => number);

/** A set of indices, or a mask where a non-zero byte at an index means "in the set" (length = element count). */
export type IndexSet = ReadonlySet<number> | Uint8Array;

/** Elements a route must avoid, e.g. failed links or drained nodes. Excluding src or dst leaves no path. */
export interface Exclude {
  links?: IndexSet;
  nodes?: IndexSet;
}

export interface RouteOptions {
  /** @default "delay" */
  weight?: Weight;
  exclude?: Exclude;
}

export interface EcmpOptions extends RouteOptions {
  /** At most this many paths are returned (the first ones in order). @default 64 */
  maxPaths?: number;
}

/** Paths costing at most `(1 + ECMP_RELATIVE_TOLERANCE)` times the shortest count as equal-cost in ecmpPaths. */
export const ECMP_RELATIVE_TOLERANCE = 1e-9;

// ---------------------------------------------------------------------------------------------------------------
// Compressed adjacency, cached per (immutable) topology.

interface Adjacency {
  readonly n: number;
  /** Out-links of node u are outLink[outStart[u] .. outStart[u+1]), ascending link index. */
  readonly outStart: Int32Array;
  readonly outLink: Int32Array;
  /** In-links of node v are inLink[inStart[v] .. inStart[v+1]), ascending link index. */
  readonly inStart: Int32Array;
  readonly inLink: Int32Array;
  readonly linkSrc: Int32Array;
  readonly linkDst: Int32Array;
}

const adjacencyCache = new WeakMap<Topology, Adjacency>();

function adjacency(topo: Topology): Adjacency {
  let g = adjacencyCache.get(topo);
  if (g) return g;
  const n = topo.nodeCount;
  const m = topo.linkCount;
  const linkSrc = new Int32Array(m);
  const linkDst = new Int32Array(m);
  const outStart = new Int32Array(n + 1);
  const inStart = new Int32Array(n + 1);
  for (const l of topo.links) {
    linkSrc[l.index] = l.src;
    linkDst[l.index] = l.dst;
    outStart[l.src + 1]!++;
    inStart[l.dst + 1]!++;
  }
  for (let u = 0; u < n; u++) {
    outStart[u + 1]! += outStart[u]!;
    inStart[u + 1]! += inStart[u]!;
  }
  const outLink = new Int32Array(m);
  const inLink = new Int32Array(m);
  const outFill = outStart.slice(0, n);
  const inFill = inStart.slice(0, n);
  for (let e = 0; e < m; e++) {
    outLink[outFill[linkSrc[e]!]!++] = e;
    inLink[inFill[linkDst[e]!]!++] = e;
  }
  g = { n, outStart, outLink, inStart, inLink, linkSrc, linkDst };
  adjacencyCache.set(topo, g);
  return g;
}

// ---------------------------------------------------------------------------------------------------------------
// Options: weights and exclusions, resolved to typed arrays.

interface Prepared {
  readonly g: Adjacency;
  /** Per-link weight; Infinity for excluded or unusable links. */
  readonly w: Float64Array;
  /** Per-node mask, 1 = excluded. */
  readonly blocked: Uint8Array;
}

function weightOf(weight: Weight, where: string): (link: Link) => number {
  if (weight === "delay") return (l) => l.delayNs;
  if (weight === "hops") return () => 1;
  if (typeof weight === "function") {
    return (l) => {
      const v = weight(l);
      if (typeof v !== "number" || !(v >= 0)) {
        throw new TopologyError(`${where}: weight of link "${l.id}" must be a non-negative number, got ${v}`);
      }
      return v;
    };
  }
  throw new TopologyError(
    `${where}: weight must be "delay", "hops" or a function, got ${JSON.stringify(weight)}`,
  );
}

function toMask(set: IndexSet | undefined, size: number, what: string, where: string): Uint8Array {
  const mask = new Uint8Array(size);
  if (set === undefined) return mask;
  if (set instanceof Uint8Array) {
    if (set.length !== size) {
      throw new TopologyError(`${where}: exclude.${what} mask has length ${set.length}, expected ${size}`);
    }
    for (let i = 0; i < size; i++) mask[i] = set[i] ? 1 : 0;
    return mask;
  }
  for (const i of set) {
    if (!Number.isInteger(i) || i < 0 || i >= size) {
      throw new TopologyError(`${where}: exclude.${what} contains ${i}, not an index in [0, ${size})`);
    }
    mask[i] = 1;
  }
  return mask;
}

function prepare(topo: Topology, opts: RouteOptions, where: string): Prepared {
  const g = adjacency(topo);
  const fn = weightOf(opts.weight ?? "delay", where);
  const w = new Float64Array(topo.linkCount);
  for (const l of topo.links) w[l.index] = fn(l);
  const deadLinks = toMask(opts.exclude?.links, topo.linkCount, "links", where);
  for (let e = 0; e < w.length; e++) if (deadLinks[e]) w[e] = Number.POSITIVE_INFINITY;
  const blocked = toMask(opts.exclude?.nodes, topo.nodeCount, "nodes", where);
  return { g, w, blocked };
}

function checkNode(topo: Topology, i: number, what: string, where: string): void {
  if (!Number.isInteger(i) || i < 0 || i >= topo.nodeCount) {
    throw new TopologyError(`${where}: ${what} must be a node index in [0, ${topo.nodeCount}), got ${i}`);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Dijkstra on typed arrays.

/** A shortest-path tree: per node, cost and hops from the root and the last link (-1 for root/unreached). */
interface Tree {
  dist: Float64Array;
  hops: Int32Array;
  pred: Int32Array;
}

function newTree(n: number): Tree {
  return { dist: new Float64Array(n), hops: new Int32Array(n), pred: new Int32Array(n) };
}

/** Scratch space for the indexed binary heap: heap slots and each node's slot (-1 when not queued). */
class HeapSpace {
  readonly heap: Int32Array;
  readonly pos: Int32Array;
  constructor(n: number) {
    this.heap = new Int32Array(n);
    this.pos = new Int32Array(n);
  }
}

/**
 * Dijkstra's algorithm (E. W. Dijkstra, "A note on two problems in connexion with graphs", Numerische Mathematik
 * 1, 1959) with an indexed binary heap keyed by (cost, hops, node), O((N + L) log N). Weights must be
 * non-negative; `Infinity` links and blocked nodes are skipped.
 *
 * Forward (`reverse` false): the tree of least paths from `root` in the (cost, hops, lexicographic link sequence)
 * order; `pred[v]` is the last link into v. The order has optimal substructure (a prefix of a least path is a
 * least path, since hops strictly grow along a path), so the least path to v is the least of path(u) + e over
 * its tight in-links e = (u, v), all settled before v: their keys are strictly smaller than v's. Two such
 * candidates have equal length, and are compared by walking both back to their last common node.
 *
 * Reverse (`reverse` true): the tree of least paths *to* `root`; `pred[v]` is the first link out of v. There the
 * candidates e + path(u) differ first in e, so the smaller link index wins.
 *
 * Stops as soon as `target` (if >= 0) is settled; entries of unsettled nodes are then provisional.
 */
function dijkstra(p: Prepared, root: number, target: number, reverse: boolean, t: Tree, hs: HeapSpace): void {
  const { g, w, blocked } = p;
  const { dist, hops, pred } = t;
  const { heap, pos } = hs;
  const start = reverse ? g.inStart : g.outStart;
  const adj = reverse ? g.inLink : g.outLink;
  const far = reverse ? g.linkSrc : g.linkDst;
  const near = reverse ? g.linkDst : g.linkSrc;
  dist.fill(Number.POSITIVE_INFINITY);
  hops.fill(-1);
  pred.fill(-1);
  pos.fill(-1);
  if (blocked[root]) return;

  const less = (a: number, b: number): boolean => {
    const da = dist[a]!;
    const db = dist[b]!;
    if (da !== db) return da < db;
    const ha = hops[a]!;
    const hb = hops[b]!;
    return ha !== hb ? ha < hb : a < b;
  };
  const siftUp = (v: number, i: number): void => {
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const pv = heap[parent]!;
      if (!less(v, pv)) break;
      heap[i] = pv;
      pos[pv] = i;
      i = parent;
    }
    heap[i] = v;
    pos[v] = i;
  };
  let size = 0;
  const pop = (): number => {
    const top = heap[0]!;
    pos[top] = -1;
    size--;
    if (size > 0) {
      const v = heap[size]!;
      let i = 0;
      for (;;) {
        let c = 2 * i + 1;
        if (c >= size) break;
        if (c + 1 < size && less(heap[c + 1]!, heap[c]!)) c++;
        const cv = heap[c]!;
        if (!less(cv, v)) break;
        heap[i] = cv;
        pos[cv] = i;
        i = c;
      }
      heap[i] = v;
      pos[v] = i;
    }
    return top;
  };
  /** Forward only: is path(src(e)) + e lexicographically before path(src(f)) + f? Both of equal length. */
  const lexBefore = (e: number, f: number): boolean => {
    let a = near[e]!;
    let b = near[f]!;
    while (a !== b) {
      e = pred[a]!;
      f = pred[b]!;
      a = near[e]!;
      b = near[f]!;
    }
    return e < f;
  };

  dist[root] = 0;
  hops[root] = 0;
  siftUp(root, size++);
  while (size > 0) {
    const u = pop();
    if (u === target) return;
    const du = dist[u]!;
    const hu = hops[u]! + 1;
    const end = start[u + 1]!;
    for (let i = start[u]!; i < end; i++) {
      const e = adj[i]!;
      const we = w[e]!;
      if (we === Number.POSITIVE_INFINITY) continue;
      const v = far[e]!;
      if (blocked[v]) continue;
      const dv = du + we;
      const old = dist[v]!;
      if (dv < old || (dv === old && hu < hops[v]!)) {
        dist[v] = dv;
        hops[v] = hu;
        pred[v] = e;
        siftUp(v, pos[v]! >= 0 ? pos[v]! : size++);
      } else if (dv === old && hu === hops[v]! && (reverse ? e < pred[v]! : lexBefore(e, pred[v]!))) {
        pred[v] = e;
      }
    }
  }
}

/** The path root -> v read off a forward tree, or undefined when v was not reached. */
function treePath(g: Adjacency, pred: Int32Array, root: number, v: number): number[] | undefined {
  if (v === root) return [];
  if (pred[v]! < 0) return undefined;
  const path: number[] = [];
  while (v !== root) {
    const e = pred[v]!;
    path.push(e);
    v = g.linkSrc[e]!;
  }
  return path.reverse();
}

// ---------------------------------------------------------------------------------------------------------------
// Public API.

/**
 * The least path from node `src` to node `dst` (indices) by Dijkstra (1959): least cost by `opts.weight`
 * (default `"delay"`), then fewest hops, then lexicographically smallest link-index sequence. Returns `[]` when
 * `src === dst` and undefined when no path avoids `opts.exclude`. O((N + L) log N) per call.
 * Throws {@link TopologyError} for node indices out of range, negative/NaN weights, or malformed exclusions.
 */
export function shortestPath(
  topo: Topology,
  src: number,
  dst: number,
  opts: RouteOptions = {},
): Path | undefined {
  const where = `${topo.name}: shortestPath`;
  checkNode(topo, src, "src", where);
  checkNode(topo, dst, "dst", where);
  const p = prepare(topo, opts, where);
  if (p.blocked[src] || p.blocked[dst]) return undefined;
  const t = newTree(topo.nodeCount);
  dijkstra(p, src, dst, false, t, new HeapSpace(topo.nodeCount));
  return treePath(p.g, t.pred, src, dst);
}

/** All-pairs least paths: one shortest-path tree per source, paths rebuilt on first request and cached. */
export interface ShortestPathTable {
  readonly topology: Topology;
  /** The least path (same order as {@link shortestPath}), `[]` for src === dst, undefined when unreachable. */
  path(src: number, dst: number): Path | undefined;
  /** Cost of that path by the table's weight (ns for `"delay"`); Infinity when unreachable. */
  cost(src: number, dst: number): number;
  /** Hop count of that path; -1 when unreachable. */
  hops(src: number, dst: number): number;
  /**
   * The last link of that path (its tree's predecessor link of dst), -1 when src === dst or unreachable: walking
   * these back from dst rebuilds the path without caching it, and summing over a tree in decreasing hops gives link
   * loads in O(N) per source.
   */
  lastLink(src: number, dst: number): number;
}

class TreeTable implements ShortestPathTable {
  private readonly paths: (Path | null)[];
  constructor(
    readonly topology: Topology,
    private readonly g: Adjacency,
    private readonly dist: Float64Array,
    private readonly hopCount: Int32Array,
    private readonly pred: Int32Array,
  ) {
    this.paths = new Array(topology.nodeCount * topology.nodeCount);
  }

  /** The table index of (src, dst); the error's context string is built only for a bad index (a hot path). */
  private at(src: number, dst: number, what: string): number {
    const n = this.topology.nodeCount;
    if (!(Number.isInteger(src) && src >= 0 && src < n && Number.isInteger(dst) && dst >= 0 && dst < n)) {
      const where = `${this.topology.name}: ShortestPathTable.${what}`;
      checkNode(this.topology, src, "src", where);
      checkNode(this.topology, dst, "dst", where);
    }
    return src * n + dst;
  }

  path(src: number, dst: number): Path | undefined {
    const i = this.at(src, dst, "path");
    const cached = this.paths[i];
    if (cached !== undefined) return cached ?? undefined;
    const n = this.topology.nodeCount;
    const p = treePath(this.g, this.pred.subarray(src * n, (src + 1) * n), src, dst);
    const frozen = p === undefined ? undefined : Object.freeze(p);
    this.paths[i] = frozen ?? null;
    return frozen;
  }

  cost(src: number, dst: number): number {
    return this.dist[this.at(src, dst, "cost")]!;
  }

  hops(src: number, dst: number): number {
    return this.hopCount[this.at(src, dst, "hops")]!;
  }

  lastLink(src: number, dst: number): number {
    return this.pred[this.at(src, dst, "lastLink")]!;
  }
}

/**
 * Least paths between every pair of nodes: N runs of Dijkstra (1959), O(N (N + L) log N) time and O(N^2) memory
 * (16 bytes per pair). Paths follow {@link shortestPath}'s order and equal its results; they are rebuilt from the
 * trees on first request and cached (returned arrays are frozen and shared).
 * Throws {@link TopologyError} like {@link shortestPath}.
 */
export function allPairsShortestPaths(topo: Topology, opts: RouteOptions = {}): ShortestPathTable {
  const where = `${topo.name}: allPairsShortestPaths`;
  const p = prepare(topo, opts, where);
  const n = topo.nodeCount;
  const dist = new Float64Array(n * n);
  const hops = new Int32Array(n * n);
  const pred = new Int32Array(n * n);
  const hs = new HeapSpace(n);
  for (let s = 0; s < n; s++) {
    const t = {
      dist: dist.subarray(s * n, (s + 1) * n),
      hops: hops.subarray(s * n, (s + 1) * n),
      pred: pred.subarray(s * n, (s + 1) * n),
    };
    dijkstra(p, s, -1, false, t, hs);
  }
  return new TreeTable(topo, p.g, dist, hops, pred);
}

interface Candidate {
  path: number[];
  cost: number;
}

/** Total order on paths: cost, then hops, then link indices from the source. */
function comparePaths(a: Candidate, b: Candidate): number {
  if (a.cost !== b.cost) return a.cost < b.cost ? -1 : 1;
  if (a.path.length !== b.path.length) return a.path.length - b.path.length;
  for (let i = 0; i < a.path.length; i++) {
    const d = a.path[i]! - b.path[i]!;
    if (d !== 0) return d;
  }
  return 0;
}

function sumWeights(w: Float64Array, path: readonly number[]): number {
  let c = 0;
  for (const e of path) c += w[e]!;
  return c;
}

/**
 * The `k` least loopless paths from `src` to `dst` by Yen's algorithm (J. Y. Yen, "Finding the K shortest
 * loopless paths in a network", Management Science 17(11), 1971), in the module's (cost, hops, link sequence)
 * order, so costs are non-decreasing and the first path is {@link shortestPath}'s. Fewer are returned when fewer
 * exist; `[]` when none, `[[]]` when `src === dst`. Parallel links give distinct paths.
 *
 * Each round takes every node of the last path found as a spur node, blocks the root path's other nodes and the
 * next links of every found path sharing that root, and runs Dijkstra from the spur; the least candidate is
 * next. O(k N (N + L) log N). Throws {@link TopologyError} unless `k` is an integer >= 0, or like shortestPath.
 */
export function kShortestPaths(
  topo: Topology,
  src: number,
  dst: number,
  k: number,
  opts: RouteOptions = {},
): Path[] {
  const where = `${topo.name}: kShortestPaths`;
  checkNode(topo, src, "src", where);
  checkNode(topo, dst, "dst", where);
  if (!Number.isInteger(k) || k < 0) throw new TopologyError(`${where}: k must be an integer >= 0, got ${k}`);
  const base = prepare(topo, opts, where);
  if (k === 0 || base.blocked[src] || base.blocked[dst]) return [];
  if (src === dst) return [[]];
  const { g } = base;
  const n = topo.nodeCount;
  // Spur searches run on copies so blocking and restoring never touch the caller's view.
  const work: Prepared = { g, w: base.w.slice(), blocked: base.blocked.slice() };
  const t = newTree(n);
  const hs = new HeapSpace(n);

  dijkstra(work, src, dst, false, t, hs);
  const first = treePath(g, t.pred, src, dst);
  if (first === undefined) return [];
  const found: Candidate[] = [{ path: first, cost: sumWeights(base.w, first) }];
  const candidates: Candidate[] = [];
  const seen = new Set<string>([first.join(",")]);

  while (found.length < k) {
    const last = found[found.length - 1]!.path;
    for (let i = 0; i < last.length; i++) {
      const spur = i === 0 ? src : g.linkDst[last[i - 1]!]!;
      const cut: number[] = [];
      for (const f of found) {
        if (f.path.length > i && samePrefix(f.path, last, i)) {
          const e = f.path[i]!;
          cut.push(e);
          work.w[e] = Number.POSITIVE_INFINITY;
        }
      }
      for (let j = 0; j < i; j++) work.blocked[g.linkSrc[last[j]!]!] = 1;

      dijkstra(work, spur, dst, false, t, hs);
      const spurPath = treePath(g, t.pred, spur, dst);

      for (const e of cut) work.w[e] = base.w[e]!;
      for (let j = 0; j < i; j++) work.blocked[g.linkSrc[last[j]!]!] = 0;

      if (spurPath === undefined) continue;
      const path = last.slice(0, i).concat(spurPath);
      const key = path.join(",");
      if (seen.has(key)) continue;
      seen.add(key);
      candidates.push({ path, cost: sumWeights(base.w, path) });
    }
    if (candidates.length === 0) break;
    let best = 0;
    for (let c = 1; c < candidates.length; c++) {
      if (comparePaths(candidates[c]!, candidates[best]!) < 0) best = c;
    }
    found.push(candidates[best]!);
    candidates[best] = candidates[candidates.length - 1]!;
    candidates.pop();
  }
  return found.map((f) => f.path);
}

function samePrefix(a: readonly number[], b: readonly number[], len: number): boolean {
  for (let i = 0; i < len; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * All loopless paths from `src` to `dst` whose cost is within a relative {@link ECMP_RELATIVE_TOLERANCE} (1e-9)
 * of the least cost, ordered by hops and then link indices from the source, at most `opts.maxPaths` (default 64)
 * of them: the first ones in that order. With integer weights the first path is {@link shortestPath}'s.
 * `[]` when unreachable, `[[]]` when `src === dst`.
 *
 * Method: Dijkstra (1959) from `src` and towards `dst` gives, per link e = (u, v), the least cost of a path
 * through it, dist(src, u) + w(e) + dist(v, dst); links within the bound form the subgraph S, and a BFS over S
 * gives each node's fewest hops to `dst`. Paths are then enumerated depth-first in link-index order, one hop
 * count at a time (iterative deepening), pruning prefixes whose cost plus the remaining least cost exceeds the
 * bound or whose hops plus the remaining fewest hops exceed the current count.
 * Throws {@link TopologyError} unless `maxPaths` is an integer >= 1, or like {@link shortestPath}.
 */
export function ecmpPaths(topo: Topology, src: number, dst: number, opts: EcmpOptions = {}): Path[] {
  const where = `${topo.name}: ecmpPaths`;
  checkNode(topo, src, "src", where);
  checkNode(topo, dst, "dst", where);
  const maxPaths = opts.maxPaths ?? 64;
  if (!Number.isInteger(maxPaths) || maxPaths < 1) {
    throw new TopologyError(`${where}: maxPaths must be an integer >= 1, got ${maxPaths}`);
  }
  const p = prepare(topo, opts, where);
  const { g, w, blocked } = p;
  if (blocked[src] || blocked[dst]) return [];
  if (src === dst) return [[]];
  const n = topo.nodeCount;
  const hs = new HeapSpace(n);
  const fwd = newTree(n);
  const rev = newTree(n);
  dijkstra(p, src, -1, false, fwd, hs);
  dijkstra(p, dst, -1, true, rev, hs);
  const least = rev.dist[src]!;
  if (least === Number.POSITIVE_INFINITY) return [];
  const bound = least + least * ECMP_RELATIVE_TOLERANCE;
  const toDst = rev.dist;

  // Fewest hops to dst within S, by BFS backwards from dst.
  const minHops = new Int32Array(n).fill(-1);
  const queue = new Int32Array(n);
  let head = 0;
  let tail = 0;
  minHops[dst] = 0;
  queue[tail++] = dst;
  while (head < tail) {
    const v = queue[head++]!;
    for (let i = g.inStart[v]!; i < g.inStart[v + 1]!; i++) {
      const e = g.inLink[i]!;
      const u = g.linkSrc[e]!;
      if (minHops[u]! >= 0 || blocked[u] || !(fwd.dist[u]! + w[e]! + toDst[v]! <= bound)) continue;
      minHops[u] = minHops[v]! + 1;
      queue[tail++] = u;
    }
  }

  const result: Path[] = [];
  const onPath = new Uint8Array(n);
  const nodes: number[] = [];
  const next: number[] = [];
  const costs: number[] = [];
  const links: number[] = [];
  for (let h = minHops[src]!; h < n && result.length < maxPaths; h++) {
    let deeperExists = false;
    nodes.push(src);
    next.push(g.outStart[src]!);
    costs.push(0);
    onPath[src] = 1;
    while (nodes.length > 0 && result.length < maxPaths) {
      const depth = nodes.length - 1;
      const u = nodes[depth]!;
      const end = g.outStart[u + 1]!;
      let i = next[depth]!;
      let child = -1;
      while (i < end && child < 0 && result.length < maxPaths) {
        const e = g.outLink[i++]!;
        const v = g.linkDst[e]!;
        if (onPath[v] || minHops[v]! < 0) continue;
        const c = costs[depth]! + w[e]!;
        if (!(c + toDst[v]! <= bound)) continue;
        if (depth + 1 + minHops[v]! > h) {
          deeperExists = true;
          continue;
        }
        if (v === dst) {
          if (depth + 1 === h) result.push(links.concat(e));
          continue;
        }
        child = e;
        next[depth] = i;
        links.push(e);
        nodes.push(v);
        next.push(g.outStart[v]!);
        costs.push(c);
        onPath[v] = 1;
      }
      if (child < 0) {
        onPath[u] = 0;
        nodes.pop();
        next.pop();
        costs.pop();
        links.pop();
      }
    }
    for (const u of nodes) onPath[u] = 0;
    nodes.length = next.length = costs.length = links.length = 0;
    if (!deeperExists) break;
  }
  return result;
}

function checkPathLinks(topo: Topology, path: Path, where: string): void {
  for (let i = 0; i < path.length; i++) {
    const e = path[i]!;
    if (!Number.isInteger(e) || e < 0 || e >= topo.linkCount) {
      throw new TopologyError(`${where}: path[${i}] = ${e} is not a link index in [0, ${topo.linkCount})`);
    }
  }
}

/** Cost of `path` by `weight` (default `"delay"`, ns): the sum of its link weights in order; 0 for `[]`. */
export function pathCost(topo: Topology, path: Path, weight: Weight = "delay"): number {
  const where = `${topo.name}: pathCost`;
  checkPathLinks(topo, path, where);
  const fn = weightOf(weight, where);
  let c = 0;
  for (const e of path) c += fn(topo.links[e]!);
  return c;
}

/** One-way propagation delay of `path`, integer ns (sum of link.delayNs); 0 for `[]`. */
export function pathDelayNs(topo: Topology, path: Path): number {
  return pathCost(topo, path, "delay");
}

/** Smallest link capacity along `path`, bits/s; Infinity for `[]`. */
export function pathBottleneckBps(topo: Topology, path: Path): number {
  checkPathLinks(topo, path, `${topo.name}: pathBottleneckBps`);
  let b = Number.POSITIVE_INFINITY;
  for (const e of path) b = Math.min(b, topo.links[e]!.capacityBps);
  return b;
}

/**
 * Checks that `path` is a loopless walk of existing links from node `src` to node `dst` (the empty path only
 * when `src === dst`). Throws {@link TopologyError} naming the offending position, link and nodes.
 */
export function validatePath(topo: Topology, path: Path, src: number, dst: number): void {
  const where = `${topo.name}: validatePath`;
  checkNode(topo, src, "src", where);
  checkNode(topo, dst, "dst", where);
  checkPathLinks(topo, path, where);
  const id = (v: number) => `"${topo.nodes[v]!.id}"`;
  const link = (i: number) => `path[${i}] (link "${topo.links[path[i]!]!.id}")`;
  if (path.length === 0) {
    if (src !== dst)
      throw new TopologyError(`${where}: empty path cannot lead from ${id(src)} to ${id(dst)}`);
    return;
  }
  const first = topo.links[path[0]!]!;
  if (first.src !== src)
    throw new TopologyError(`${where}: ${link(0)} starts at ${id(first.src)}, not ${id(src)}`);
  const visitedAt = new Map<number, number>([[src, -1]]);
  let at = src;
  for (let i = 0; i < path.length; i++) {
    const l = topo.links[path[i]!]!;
    if (l.src !== at) {
      throw new TopologyError(
        `${where}: ${link(i)} starts at ${id(l.src)} but ${link(i - 1)} ends at ${id(at)}`,
      );
    }
    const before = visitedAt.get(l.dst);
    if (before !== undefined) {
      const earlier = before < 0 ? "it starts there" : `${link(before)} already entered it`;
      throw new TopologyError(`${where}: path has a loop: ${link(i)} returns to ${id(l.dst)}, ${earlier}`);
    }
    visitedAt.set(l.dst, i);
    at = l.dst;
  }
  if (at !== dst) throw new TopologyError(`${where}: path ends at ${id(at)}, not ${id(dst)}`);
}
