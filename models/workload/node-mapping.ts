/**
 * Mapping a traffic-matrix series' node ids onto a topology's nodes.
 *
 * Three ways to match (`NodeMatch`): `id` (the series id is a topology node id), `label` (the series id is a
 * topology node's label, e.g. a Topology Zoo city name; labels must then be unique among the matched nodes), or
 * `map` (an explicit `{seriesId: topologyId}` table, as a config would give it). An unknown node is an error that
 * names it and lists the closest topology ids or labels (edit distance, case-insensitive).
 *
 * {@link mapSeriesToTopology} returns a new series over all topology node ids, in topology order (so pair (i, j)
 * of the result is topology nodes i and j). Topology nodes the series does not name carry no traffic. Two series
 * nodes may map to one topology node only with `mergeNodes` (e.g. SNDlib's ATLAM5 and ATLAng both to Zoo
 * Atlanta); their rates then add, and traffic between them becomes self-traffic, which is dropped and reported
 * in `droppedBps`.
 */
import type { Topology } from "../../sim/substrate/topology.ts";
import { quote, WorkloadError } from "./errors.ts";
import type { TrafficMatrixSeries } from "./tm-series.ts";
import { buildSeries } from "./tm-series-build.ts";

/** How series node ids find topology nodes. */
export type NodeMatch =
  | { by: "id" }
  | { by: "label" }
  | {
      by: "map";
      map: Readonly<Record<string, string>> /** where the map came from, for errors */;
      source?: string;
    };

export interface MapSeriesOptions {
  /** @default { by: "id" } */
  match?: NodeMatch;
  /** Allow several series nodes on one topology node (rates add). @default false */
  mergeNodes?: boolean;
}

/** A series over topology node ids, and what the mapping did. */
export interface MappedSeries extends TrafficMatrixSeries {
  /** Topology node index of each node of the original series. */
  readonly nodeIndex: Int32Array;
  /** Traffic per interval between series nodes merged onto one topology node (dropped), bits/s. */
  readonly droppedBps: Float64Array;
}

/**
 * Topology node index of each id in `ids`.
 * @throws WorkloadError naming the id, the match mode and the closest candidates, for an unknown id, an
 *   ambiguous label, or (without `mergeNodes`) two ids on one node.
 */
export function resolveNodes(
  ids: readonly string[],
  topo: Topology,
  match: NodeMatch = { by: "id" },
  mergeNodes = false,
): Int32Array {
  const out = new Int32Array(ids.length);
  let lookup: (id: string) => number | undefined;
  let candidates: string[];
  let what: string;
  if (match.by === "id") {
    lookup = (id) => (topo.hasNode(id) ? topo.node(id) : undefined);
    candidates = topo.nodes.map((n) => n.id);
    what = `node id of topology ${quote(topo.name)}`;
  } else if (match.by === "label") {
    const byLabel = new Map<string, number[]>();
    for (const n of topo.nodes) byLabel.set(n.label, [...(byLabel.get(n.label) ?? []), n.index]);
    lookup = (id) => {
      const hits = byLabel.get(id);
      if (hits && hits.length > 1) {
        throw new WorkloadError(
          `series node ${quote(id)}: label matches ${hits.length} nodes of topology ${quote(topo.name)} ` +
            `(${hits.map((h) => quote(topo.nodes[h]!.id)).join(", ")}); use an explicit map`,
        );
      }
      return hits?.[0];
    };
    candidates = [...byLabel.keys()];
    what = `node label of topology ${quote(topo.name)}`;
  } else {
    const where = match.source ?? "node map";
    for (const [from, to] of Object.entries(match.map)) {
      if (!topo.hasNode(to)) {
        throw new WorkloadError(
          `${where}: ${quote(from)} maps to ${quote(to)}, which is not a node id of topology ${quote(topo.name)}` +
            suggest(
              to,
              topo.nodes.map((n) => n.id),
            ),
        );
      }
    }
    lookup = (id) => {
      const to = Object.hasOwn(match.map, id) ? match.map[id] : undefined;
      return to === undefined ? undefined : topo.node(to);
    };
    candidates = Object.keys(match.map);
    what = `key of ${where}`;
  }
  const owner = new Map<number, string>();
  ids.forEach((id, i) => {
    const t = lookup(id);
    if (t === undefined) {
      throw new WorkloadError(`series node ${quote(id)} is not a ${what}${suggest(id, candidates)}`);
    }
    const prev = owner.get(t);
    if (prev !== undefined && !mergeNodes) {
      throw new WorkloadError(
        `series nodes ${quote(prev)} and ${quote(id)} both map to topology node ${quote(topo.nodes[t]!.id)}; ` +
          "set mergeNodes to add their traffic",
      );
    }
    owner.set(t, id);
    out[i] = t;
  });
  return out;
}

/**
 * The series re-indexed onto the topology's nodes (see the module comment).
 * @throws WorkloadError as {@link resolveNodes}.
 */
export function mapSeriesToTopology(
  series: TrafficMatrixSeries,
  topo: Topology,
  opts: MapSeriesOptions = {},
): MappedSeries {
  const index = resolveNodes(series.nodes, topo, opts.match, opts.mergeNodes);
  const n = series.nodes.length;
  const N = topo.nodeCount;
  const dropped = new Float64Array(series.rates.length);
  const rates = series.rates.map((m, t) => {
    const out = new Float64Array(N * N);
    for (let i = 0; i < n; i++) {
      const a = index[i]!;
      for (let j = 0; j < n; j++) {
        const v = m[i * n + j]!;
        if (v === 0) continue;
        const b = index[j]!;
        if (a === b) dropped[t] = dropped[t]! + v;
        else out[a * N + b] = out[a * N + b]! + v;
      }
    }
    return out;
  });
  const how = opts.match?.by ?? "id";
  const mapped = buildSeries({
    source: `${series.source} on ${topo.name} (by ${how})`,
    nodes: topo.nodes.map((x) => x.id),
    intervalNs: series.intervalNs,
    rates,
    labels: series.labels,
  });
  return { ...mapped, nodeIndex: index, droppedBps: dropped };
}

/** `"; closest: "a", "b"` for the candidates nearest to `id`, or a short list of what exists (for messages). */
export function suggest(id: string, candidates: readonly string[]): string {
  if (candidates.length === 0) return " (there are none)";
  const scored = candidates
    .map((c) => ({ c, d: editDistance(id.toLowerCase(), c.toLowerCase()) }))
    .sort((x, y) => x.d - y.d || (x.c < y.c ? -1 : x.c > y.c ? 1 : 0));
  const limit = Math.max(2, Math.ceil(id.length / 2));
  const close = scored
    .filter((s) => s.d <= limit || s.c.toLowerCase().includes(id.toLowerCase()))
    .slice(0, 3);
  if (close.length > 0) return `; closest: ${close.map((s) => quote(s.c)).join(", ")}`;
  const some = [...candidates].sort().slice(0, 8);
  return `; known: ${some.map(quote).join(", ")}${candidates.length > 8 ? `, ... (${candidates.length} in all)` : ""}`;
}

/**
 * Optimal string alignment distance: Levenshtein (insertions, deletions, substitutions) plus transpositions of two
 * adjacent characters, each cost 1 (so a typo like "wbe" for "web" is 1 away).
 */
export function editDistance(a: string, b: string): number {
  const rows: number[][] = [Array.from({ length: b.length + 1 }, (_, j) => j)];
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    const prev = rows[i - 1]!;
    for (let j = 1; j <= b.length; j++) {
      let d = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1])
        d = Math.min(d, rows[i - 2]![j - 2]! + 1);
      cur[j] = d;
    }
    rows.push(cur);
  }
  return rows[a.length]![b.length]!;
}
