/**
 * Minimum maximum link utilization (min-MLU) traffic engineering as a linear program, solved with HiGHS
 * (the `highs` package: the HiGHS solver of Huangfu & Hall, "Parallelizing the dual revised simplex method",
 * Math. Prog. Comp. 2018, compiled to WebAssembly).
 *
 * Two formulations of the multi-commodity flow problem "route a traffic matrix so that the busiest link is as
 * little loaded as possible" (Ahuja, Magnanti & Orlin, "Network Flows", 1993, ch. 17; the MLU objective as in
 * Fortz & Thorup, "Internet traffic engineering by optimizing OSPF weights", INFOCOM 2000, and the "optimal MCF"
 * reference line of TE papers):
 *
 * - {@link minMluBound}: arc-flow form over every link that is up, commodities aggregated by source (exact for a
 *   min-MLU objective: flows of one source to several destinations may share links freely). Its optimum is a
 *   lower bound on the MLU of ANY routing of the same matrix over those links, fractional or not, pinned routes,
 *   virtual links over any path or ECMP: no policy can carry that matrix with a lower MLU.
 * - {@link minMluOverPaths}: path form over given candidate paths per demand (for example the k shortest), giving
 *   the split of each demand over its paths. Its optimum is at least the bound's (fewer routings allowed).
 *
 * What the bound does not bound: anything but MLU of the offered matrix. FCT and slowdown under max-min sharing
 * depend on arrivals within the interval and on the sharing, not only on time-averaged loads, so a policy can
 * have a lower FCT than the min-MLU routing; and the MLU a run measures per sampling interval counts the bits
 * carried in that interval, which differ from the offered matrix by what queues or finishes across interval
 * boundaries.
 *
 * Units: rates in bits/s, capacities in bits/s, utilization as a fraction (1 = full; above 1 means the matrix
 * does not fit even when routed optimally).
 */
import highsModule, { type Highs } from "highs";

/** A directed link of the problem: end node indices and capacity in bits/s (> 0). */
export interface MluLink {
  src: number;
  dst: number;
  capacityBps: number;
}

/** Result of {@link minMluBound}. */
export interface MinMluBound {
  /** The minimum MLU over all routings of the routable demand (0 when nothing is to be routed). */
  mlu: number;
  /** Load per link of one optimal routing, bits/s (same order as the links given). */
  linkLoadBps: Float64Array;
  /** Demands left out because no path of the given links joins their end nodes, as `[src, dst, rateBps]`. */
  unroutable: [number, number, number][];
}

/** A demand with its candidate paths (each a list of link indices into the links given), for {@link minMluOverPaths}. */
export interface PathDemand {
  rateBps: number;
  paths: readonly (readonly number[])[];
}

/** Result of {@link minMluOverPaths}. */
export interface MinMluSplit {
  mlu: number;
  /** Per demand, the fraction of its rate on each of its paths (sums to 1; empty for a demand without paths). */
  splits: Float64Array[];
  linkLoadBps: Float64Array;
}

/** A min-MLU problem the solver could not solve, with HiGHS's model status. */
export class MinMluError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "MinMluError";
  }
}

// The package is CommonJS with an ES-module build; under NodeNext its `export default` types arrive as the
// namespace's `default` member, while Node's ES-module loader hands over the loader function itself.
type HighsLoader = () => Promise<Highs>;
const loadHighs: HighsLoader =
  (highsModule as unknown as { default?: HighsLoader }).default ?? (highsModule as unknown as HighsLoader);
let highsPromise: Promise<Highs> | undefined;

/** The HiGHS module, loaded once per process. */
function highs(): Promise<Highs> {
  highsPromise ??= loadHighs();
  return highsPromise;
}

/** Column-building helper for a CSC matrix. */
class ColumnBuilder {
  readonly starts: number[] = [0];
  readonly indices: number[] = [];
  readonly values: number[] = [];
  readonly cost: number[] = [];
  /** Appends a column x >= 0 with the given cost and (row, coefficient) entries (rows strictly ascending). */
  add(cost: number, rows: readonly number[], coefs: readonly number[]): number {
    for (let k = 0; k < rows.length; k++) {
      this.indices.push(rows[k]!);
      this.values.push(coefs[k]!);
    }
    this.starts.push(this.indices.length);
    this.cost.push(cost);
    return this.cost.length - 1;
  }
}

/** Runs an LP `min cost x s.t. rowLower <= Ax <= rowUpper, x >= 0` and returns the column values. */
async function solveLp(
  b: ColumnBuilder,
  rowLower: number[],
  rowUpper: number[],
  what: string,
): Promise<Float64Array> {
  const h = await highs();
  const numCols = b.cost.length;
  const numRows = rowLower.length;
  return h.withModel(
    {
      numCols,
      numRows,
      colCost: b.cost,
      colLower: new Float64Array(numCols),
      colUpper: new Array(numCols).fill(h.infinity),
      rowLower,
      rowUpper,
      matrix: { format: "csc", numRows, numCols, starts: b.starts, indices: b.indices, values: b.values },
    },
    (model) => {
      model.options.set({ output_flag: false });
      model.run();
      const status = model.getModelStatus();
      if (status !== h.constants.modelStatus.optimal) {
        throw new MinMluError(`${what}: HiGHS ended with model status ${String(status)}, not optimal`);
      }
      return Float64Array.from(model.getSolution().colValue);
    },
  );
}

/** Nodes reachable from `s` over `links` (breadth-first). */
function reachable(nodeCount: number, links: readonly MluLink[], s: number): Uint8Array {
  const out: number[][] = Array.from({ length: nodeCount }, () => []);
  for (const l of links) out[l.src]!.push(l.dst);
  const seen = new Uint8Array(nodeCount);
  const queue = [s];
  seen[s] = 1;
  for (let q = 0; q < queue.length; q++) {
    for (const v of out[queue[q]!]!) {
      if (!seen[v]) {
        seen[v] = 1;
        queue.push(v);
      }
    }
  }
  return seen;
}

function checkLinks(nodeCount: number, links: readonly MluLink[]): number {
  let scale = 0;
  links.forEach((l, e) => {
    if (!(l.capacityBps > 0) || !Number.isFinite(l.capacityBps)) {
      throw new MinMluError(`link ${e}: capacityBps must be a finite number > 0, got ${l.capacityBps}`);
    }
    for (const v of [l.src, l.dst]) {
      if (!Number.isInteger(v) || v < 0 || v >= nodeCount) {
        throw new MinMluError(`link ${e}: node index ${v} is not in [0, ${nodeCount})`);
      }
    }
    if (l.src === l.dst)
      throw new MinMluError(`link ${e}: a self-loop (${l.src} -> ${l.dst}) carries no demand`);
    scale = Math.max(scale, l.capacityBps);
  });
  return scale;
}

/**
 * The minimum MLU of routing the matrix `demandBps` (row-major n x n, bits/s; the diagonal is ignored) over
 * `links`, by the arc-flow LP aggregated by source:
 *
 *     min U  s.t.  sum_out f[s][e] - sum_in f[s][e] = b_s(v)  for every source s and node v,
 *                  sum_s f[s][e] <= C_e U                      for every link e,  f >= 0,
 *
 * with b_s(s) = sum_t D[s][t] and b_s(t) = -D[s][t]. Rates are scaled by the largest capacity inside the solver.
 * Demands between nodes that no path joins are left out and listed in `unroutable`.
 * @throws MinMluError for a link with a capacity that is not > 0, a node index out of range, a negative or
 *   non-finite demand, a matrix of the wrong size, or a solver failure.
 */
export async function minMluBound(
  nodeCount: number,
  links: readonly MluLink[],
  demandBps: ArrayLike<number>,
): Promise<MinMluBound> {
  const n = nodeCount;
  if (demandBps.length !== n * n) {
    throw new MinMluError(`demand matrix has ${demandBps.length} entries, expected ${n} x ${n} = ${n * n}`);
  }
  const scale = checkLinks(n, links);
  const unroutable: [number, number, number][] = [];
  const supply: Float64Array[] = [];
  const sources: number[] = [];
  for (let s = 0; s < n; s++) {
    let reach: Uint8Array | undefined;
    let row: Float64Array | undefined;
    for (let t = 0; t < n; t++) {
      const d = demandBps[s * n + t]!;
      if (!(d >= 0) || !Number.isFinite(d))
        throw new MinMluError(`demand ${s}->${t}: ${d} is not a rate >= 0`);
      if (s === t || d === 0) continue;
      reach ??= reachable(n, links, s);
      if (!reach[t]) {
        unroutable.push([s, t, d]);
        continue;
      }
      row ??= new Float64Array(n);
      row[t]! -= d / scale;
      row[s]! += d / scale;
    }
    if (row) {
      sources.push(s);
      supply.push(row);
    }
  }
  const linkLoadBps = new Float64Array(links.length);
  if (sources.length === 0) return { mlu: 0, linkLoadBps, unroutable };

  // Rows: conservation (source k, node v) at k * n + v, then capacity of link e at S * n + e.
  const S = sources.length;
  const capRow = (e: number) => S * n + e;
  const b = new ColumnBuilder();
  for (let k = 0; k < S; k++) {
    links.forEach((l, e) => {
      const [r0, c0, r1, c1] = l.src < l.dst ? [l.src, 1, l.dst, -1] : [l.dst, -1, l.src, 1];
      b.add(0, [k * n + r0, k * n + r1, capRow(e)], [c0, c1, 1]);
    });
  }
  const u = b.add(
    1,
    links.map((_, e) => capRow(e)),
    links.map((l) => -l.capacityBps / scale),
  );
  const rowLower: number[] = [];
  const rowUpper: number[] = [];
  for (const row of supply) {
    for (let v = 0; v < n; v++) {
      rowLower.push(row[v]!);
      rowUpper.push(row[v]!);
    }
  }
  const h = await highs();
  for (let e = 0; e < links.length; e++) {
    rowLower.push(-h.infinity);
    rowUpper.push(0);
  }
  const x = await solveLp(b, rowLower, rowUpper, "min-MLU bound");
  for (let k = 0; k < S; k++) {
    for (let e = 0; e < links.length; e++) linkLoadBps[e]! += x[k * links.length + e]! * scale;
  }
  return { mlu: Math.max(0, x[u]!), linkLoadBps, unroutable };
}

/**
 * The min-MLU split of each demand over its candidate paths (path-flow LP):
 *
 *     min U  s.t.  sum_p x[d][p] = 1 for every demand d with paths,
 *                  sum_{d, p through e} rate_d x[d][p] <= C_e U for every link e,  x >= 0.
 *
 * Demands without paths or with rate 0 get an empty or all-on-the-first-path split and load nothing.
 * @throws MinMluError for bad links, a negative or non-finite rate, a path naming a link that does not exist or
 *   using a link twice, or a solver failure.
 */
export async function minMluOverPaths(
  nodeCount: number,
  links: readonly MluLink[],
  demands: readonly PathDemand[],
): Promise<MinMluSplit> {
  const scale = checkLinks(nodeCount, links);
  const b = new ColumnBuilder();
  const first: number[] = [];
  let rows = 0;
  const demandRow: number[] = [];
  demands.forEach((d, i) => {
    if (!(d.rateBps >= 0) || !Number.isFinite(d.rateBps)) {
      throw new MinMluError(`demand ${i}: rateBps ${d.rateBps} is not a rate >= 0`);
    }
    demandRow.push(d.rateBps > 0 && d.paths.length > 0 ? rows++ : -1);
  });
  const capRow = (e: number) => rows + e;
  demands.forEach((d, i) => {
    first.push(b.cost.length);
    if (demandRow[i]! < 0) return;
    d.paths.forEach((p, j) => {
      const seen = new Set<number>();
      for (const e of p) {
        if (!Number.isInteger(e) || e < 0 || e >= links.length) {
          throw new MinMluError(`demand ${i}, path ${j}: link index ${e} is not in [0, ${links.length})`);
        }
        if (seen.has(e)) throw new MinMluError(`demand ${i}, path ${j}: link ${e} appears twice`);
        seen.add(e);
      }
      const es = [...seen].sort((a, c) => a - c);
      b.add(0, [demandRow[i]!, ...es.map(capRow)], [1, ...es.map(() => d.rateBps / scale)]);
    });
  });
  const u = b.add(
    1,
    links.map((_, e) => capRow(e)),
    links.map((l) => -l.capacityBps / scale),
  );
  const h = await highs();
  const rowLower = [...new Array(rows).fill(1), ...new Array(links.length).fill(-h.infinity)];
  const rowUpper = [...new Array(rows).fill(1), ...new Array(links.length).fill(0)];
  const x = await solveLp(b, rowLower, rowUpper, "min-MLU split over paths");
  const linkLoadBps = new Float64Array(links.length);
  const splits = demands.map((d, i) => {
    const split = new Float64Array(d.paths.length);
    if (demandRow[i]! < 0) {
      if (split.length > 0) split[0] = 1;
      return split;
    }
    let sum = 0;
    for (let j = 0; j < split.length; j++) {
      split[j] = Math.max(0, x[first[i]! + j]!);
      sum += split[j]!;
    }
    for (let j = 0; j < split.length; j++) {
      split[j]! /= sum;
      for (const e of d.paths[j]!) linkLoadBps[e]! += d.rateBps * split[j]!;
    }
    return split;
  });
  return { mlu: Math.max(0, x[u]!), splits, linkLoadBps };
}
