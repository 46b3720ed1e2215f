/**
 * The config's `metrics` section in engine units: the link sampling interval, the flow-size buckets (edges in
 * bytes, strictly ascending, one more name than edges; default names for the default edges, else names built from
 * the edges as written) and whether to profile traffic per application (`profile`, absent when off).
 */
import type { Scenario } from "../sim/engine/types.ts";
import { DEFAULT_SIZE_BUCKET_EDGES, DEFAULT_SIZE_BUCKET_NAMES } from "../sim/metrics/flow-stats.ts";
import { parseDurationNs, parseSizeBytes } from "../sim/units.ts";
import type { ExperimentConfig } from "./config/schema.ts";
import type { Locate } from "./scenario-locate.ts";

/** The metrics settings of `m`; badly ordered edges or a wrong count of names is a ConfigError. */
export function metricsSettings(m: ExperimentConfig["metrics"], error: Locate): Scenario["metrics"] {
  const edges = m.sizeBuckets.map(parseSizeBytes);
  for (let i = 1; i < edges.length; i++) {
    if (!(edges[i]! > edges[i - 1]!)) {
      throw error(
        ["metrics", "sizeBuckets", i],
        `bucket edges must ascend strictly, got ${m.sizeBuckets.join(", ")}`,
      );
    }
  }
  const isDefault =
    edges.length === 2 &&
    edges[0] === DEFAULT_SIZE_BUCKET_EDGES[0] &&
    edges[1] === DEFAULT_SIZE_BUCKET_EDGES[1];
  const names =
    m.bucketNames ?? (isDefault ? [...DEFAULT_SIZE_BUCKET_NAMES] : defaultBucketNames(m.sizeBuckets));
  if (names.length !== edges.length + 1) {
    throw error(
      ["metrics", "bucketNames"],
      `expected ${edges.length + 1} names for ${edges.length} edges, got ${names.length}`,
    );
  }
  return {
    intervalNs: parseDurationNs(m.interval),
    sizeBucketEdges: edges,
    sizeBucketNames: names,
    ...(m.profile ? { profile: true } : {}),
  };
}

/** "<a", "a-b", ..., ">=z" for edges a..z as written in the config. */
function defaultBucketNames(edges: readonly string[]): string[] {
  const out: string[] = [];
  for (let b = 0; b <= edges.length; b++)
    out.push(
      b === 0 ? `<${edges[0]}` : b === edges.length ? `>=${edges[b - 1]}` : `${edges[b - 1]}-${edges[b]}`,
    );
  return out;
}
