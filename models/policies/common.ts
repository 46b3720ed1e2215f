/**
 * Helpers shared by the policies: a fixed index of ordered node pairs (the predictors' dimension), per-pair
 * samples from an Observation, and path measures over the observed link utilization.
 */
import type { LinkStats, NodePath, Observation } from "./types.ts";

/** The ordered pairs (s, d), s != d, of a sorted node list, indexed 0..N(N-1)-1 in (s, d) order. */
export class PairIndex {
  readonly size: number;
  private readonly pos: Map<string, number>;

  constructor(readonly nodes: readonly string[]) {
    this.pos = new Map(nodes.map((n, i) => [n, i]));
    this.size = nodes.length * (nodes.length - 1);
  }

  /** Index of pair (src, dst), or -1 for an unknown node or src == dst. */
  index(src: string, dst: string): number {
    const s = this.pos.get(src);
    const d = this.pos.get(dst);
    if (s === undefined || d === undefined || s === d) return -1;
    return s * (this.nodes.length - 1) + (d < s ? d : d - 1);
  }

  /** The pair at an index. */
  pair(i: number): { src: string; dst: string } {
    const n = this.nodes.length;
    const s = Math.floor(i / (n - 1));
    const r = i % (n - 1);
    const d = r < s ? r : r + 1;
    return { src: this.nodes[s]!, dst: this.nodes[d]! };
  }

  /** Bytes per pair in the observation's interval, as a sample vector. */
  bytesSample(obs: Observation): Float64Array {
    const v = new Float64Array(this.size);
    for (const t of obs.traffic) {
      const i = this.index(t.src, t.dst);
      if (i >= 0) v[i] = v[i]! + t.bytes;
    }
    return v;
  }
}

/** Link stats by `"<src>-><dst>"` (the first of parallel links). */
export function linksByEnds(obs: Observation): Map<string, LinkStats> {
  const m = new Map<string, LinkStats>();
  for (const l of obs.links) {
    const key = `${l.src}->${l.dst}`;
    if (!m.has(key)) m.set(key, l);
  }
  return m;
}

/** The link keys `"a->b"` along a node path. */
export function pathLinkKeys(path: NodePath): string[] {
  const out: string[] = [];
  for (let i = 1; i < path.length; i++) out.push(`${path[i - 1]}->${path[i]}`);
  return out;
}

/** The highest utilization along a path (Infinity if a link is down or unknown). */
export function pathMaxUtilization(path: NodePath, links: ReadonlyMap<string, LinkStats>): number {
  let max = 0;
  for (const k of pathLinkKeys(path)) {
    const l = links.get(k);
    if (!l?.up) return Number.POSITIVE_INFINITY;
    max = Math.max(max, l.utilization);
  }
  return max;
}

/** Links shared by two paths. */
export function sharedLinks(a: NodePath, b: NodePath): number {
  const sa = new Set(pathLinkKeys(a));
  return pathLinkKeys(b).filter((k) => sa.has(k)).length;
}

/** Whether two node paths are the same. */
export function samePath(a: NodePath | null | undefined, b: NodePath | null | undefined): boolean {
  if (!a || !b || a.length !== b.length) return false;
  return a.every((n, i) => n === b[i]);
}

/** The candidate with the lowest max utilization (ties: the earlier, i.e. shorter, one). */
export function leastLoadedPath(
  candidates: readonly NodePath[],
  links: ReadonlyMap<string, LinkStats>,
): NodePath | undefined {
  let best: NodePath | undefined;
  let bestU = Number.POSITIVE_INFINITY;
  for (const p of candidates) {
    const u = pathMaxUtilization(p, links);
    if (u < bestU) {
      best = p;
      bestU = u;
    }
  }
  return best;
}
