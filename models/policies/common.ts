/**
 * Helpers shared by the policies: a fixed index of ordered node pairs (the predictors' dimension), per-pair
 * samples from an Observation, path measures over the observed link utilization, and route pins issued without
 * waiting ({@link pinNow}).
 */
import { ControlError, type ControlPlane, type LinkStats, type NodePath, type Observation } from "./types.ts";
import { isPromiseLike } from "./verb-decorator.ts";

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

/**
 * Utilization per link as a decision expects it to become: starts from the last interval's measured utilization
 * (`obs.links`, by `"a->b"`) and moves pairs between paths as the decision places them: a pair's measured rate
 * (bits/s, last interval) leaves the path it is on and its expected rate arrives on the new one. So two pairs
 * placed in one decision do not both pick the path that looked idle before either moved (herding), and a pair's
 * own traffic does not make its current path look hot to it. Links that are down or unknown make a path's peak
 * Infinity.
 */
export class LinkLoadEstimate {
  private readonly links: Map<string, LinkStats>;
  private readonly util = new Map<string, number>();

  constructor(obs: Observation) {
    this.links = linksByEnds(obs);
    for (const [k, l] of this.links) this.util.set(k, l.utilization);
  }

  /**
   * Raises each link's utilization to at least what the given loads put on it (bits/s over the paths, summed per
   * link, over capacity): the forecast of every pair on the path it will take, so a link the forecast says will be
   * hot looks hot before its traffic comes, and one hot now (a backlog) stays hot.
   */
  raiseTo(loads: Iterable<{ path: NodePath; bps: number }>): void {
    const sum = new Map<string, number>();
    for (const { path, bps } of loads) {
      for (const k of pathLinkKeys(path)) {
        const l = this.links.get(k);
        if (l) sum.set(k, (sum.get(k) ?? 0) + bps / l.capacityBps);
      }
    }
    for (const [k, u] of sum) this.util.set(k, Math.max(this.util.get(k)!, u));
  }

  /** The estimated utilization of a link key (Infinity if down or unknown). */
  utilization(key: string): number {
    const l = this.links.get(key);
    return l?.up ? this.util.get(key)! : Number.POSITIVE_INFINITY;
  }

  /** Utilization change of each link when a pair moves `fromBps` off `from` (null: none) and `toBps` onto `to`. */
  private deltas(from: NodePath | null, fromBps: number, to: NodePath, toBps: number): Map<string, number> {
    const d = new Map<string, number>();
    for (const [path, bps] of [
      [from, -fromBps],
      [to, toBps],
    ] as const) {
      for (const k of path ? pathLinkKeys(path) : []) {
        const l = this.links.get(k);
        if (l) d.set(k, (d.get(k) ?? 0) + bps / l.capacityBps);
      }
    }
    return d;
  }

  /** The highest estimated utilization along `to` once a pair moves `fromBps` off `from` and `toBps` onto `to`. */
  peakWith(to: NodePath, toBps: number, from: NodePath | null, fromBps: number): number {
    const d = this.deltas(from, fromBps, to, toBps);
    let max = 0;
    for (const k of pathLinkKeys(to)) {
      const u = this.utilization(k);
      if (u === Number.POSITIVE_INFINITY) return u;
      max = Math.max(max, u + d.get(k)!);
    }
    return max;
  }

  /** Records the move of a pair: `fromBps` off `from`, `toBps` onto `to` (utilization never below 0). */
  move(from: NodePath | null, fromBps: number, to: NodePath, toBps: number): void {
    for (const [k, du] of this.deltas(from, fromBps, to, toBps)) {
      this.util.set(k, Math.max(0, this.util.get(k)! + du));
    }
  }

  /**
   * Where a pair should go among `candidates` (shortest first) when it moves `fromBps` off `from` and `toBps`
   * onto its new path: the shortest whose estimated peak is then at most `limit`, else the one with the lowest
   * such peak (ties: the shorter). Undefined when every candidate crosses a down link.
   */
  place(
    candidates: readonly NodePath[],
    from: NodePath | null,
    fromBps: number,
    toBps: number,
    limit: number,
  ): NodePath | undefined {
    let best: NodePath | undefined;
    let bestPeak = Number.POSITIVE_INFINITY;
    for (const p of candidates) {
      const peak = this.peakWith(p, toBps, from, fromBps);
      if (peak <= limit) return p;
      if (peak < bestPeak) {
        best = p;
        bestPeak = peak;
      }
    }
    return best;
  }
}

/**
 * Pins a pair's route without waiting for it: true, or false when refused with a typed ControlError, if the verb
 * answered at once (the simulator); else a Promise of that. A policy that issues a decision's pins before awaiting
 * any lets the engine put them in together (the emulator: one `ip -batch` request per namespace for the setRoute
 * calls of one turn of the event loop, emulate/routes.ts), and its calls reach the engine in the same order as
 * when awaited one by one. Failures other than a ControlError throw (at once, or from the Promise).
 */
export function pinNow(
  ctl: ControlPlane,
  pair: { src: string; dst: string },
  path: NodePath | null,
): boolean | Promise<boolean> {
  const refused = (e: unknown): false => {
    if (e instanceof ControlError) return false;
    throw e;
  };
  try {
    const r: unknown = ctl.setRoute({ src: pair.src, dst: pair.dst }, path);
    return isPromiseLike(r) ? Promise.resolve(r).then(() => true, refused) : true;
  } catch (e) {
    return refused(e);
  }
}
