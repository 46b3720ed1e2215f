/**
 * From a validated config to the engine's {@link Scenario}: reads the topology, traffic matrix and flow sizes,
 * maps TM nodes onto the topology, scales the load, turns the window into simulated demand intervals, resolves
 * failures and metrics, and instantiates policies from the registry. Every problem becomes a ConfigError located
 * at the config field responsible.
 *
 * Time. The window [start, start + duration) is in traffic-matrix time. Each TM interval overlapping it (clipped
 * to the window) is played for `clipped x playInterval / tmInterval` of simulated time (real time when
 * playInterval is not given), back to back from simulated time 0.
 *
 * Load. `targetMlu` scales every rate by one factor so that the largest offered max-link-utilization over the
 * played intervals, with every pair on its reference shortest path, equals the target. The reference routing is
 * the same for every policy, so all policies see identical traffic.
 */

import { recordOf } from "../models/policies/verb-table.ts";
import { SETUP_LATENCY_KEYS } from "../models/policies/verbs.ts";
import { PREDICTOR_NAMES } from "../models/predictors/registry.ts";
import { bundledFlowSizeCdf, readFlowSizeCdf } from "../models/workload/flow-size-cdf.ts";
import { offeredUtilization } from "../models/workload/poisson-flows.ts";
import type { TrafficMatrixSeries } from "../models/workload/tm-series.ts";
import type {
  DemandInterval,
  EnginePolicy,
  LinkEvent,
  Scenario,
  TransportSettings,
} from "../sim/engine/types.ts";
import type { Distribution } from "../sim/kernel/rng.ts";
import { DEFAULT_SIZE_BUCKET_EDGES, DEFAULT_SIZE_BUCKET_NAMES } from "../sim/metrics/flow-stats.ts";
import * as gen from "../sim/substrate/generators.ts";
import { allPairsShortestPaths } from "../sim/substrate/routing.ts";
import type { LinkDefaults, Topology } from "../sim/substrate/topology.ts";
import { parseDurationNs, parseRateBps, parseSizeBytes } from "../sim/units.ts";
import type { ConfigError, LoadedConfig } from "./config/load.ts";
import {
  checkFailures,
  checkGeneratorSize,
  checkSteps,
  checkTmSize,
  checkWindowInData,
} from "./config/scenario-checks.ts";
import type { ExperimentConfig, PolicyConfig } from "./config/schema.ts";
import { isUserError } from "./errors.ts";
import { POLICY_REGISTRY } from "./policy-registry.ts";
import type { WorkloadFacts } from "./results.ts";
import { buildApplications } from "./scenario-applications.ts";
import { loadTrafficMatrix, TmSourceUnavailable } from "./tm-sources.ts";
import { readTopologyFile } from "./topology-files.ts";

/** A scenario plus facts about its workload for summaries. */
export interface BuiltScenario {
  scenario: Scenario;
  workload: WorkloadFacts;
}

type Locate = LoadedConfig["error"];

/** Runs `f`; a user error it throws (TopologyError, WorkloadError, ...) becomes a ConfigError at `path`. */
function at<T>(error: Locate, path: PropertyKey[], f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (e instanceof TmSourceUnavailable || isUserError(e)) throw error(path, (e as Error).message);
    throw e;
  }
}

/**
 * The config's topology. `onWarning` receives what an importer read differently from the file (a dropped
 * self-loop).
 */
export function buildTopology(
  c: ExperimentConfig,
  error: Locate,
  onWarning?: (message: string) => void,
): Topology {
  const t = c.topology;
  const defaults: Partial<LinkDefaults> = {
    capacityBps: parseRateBps(t.links.capacity),
    delayNs: parseDurationNs(t.links.delay),
    delayFromCoordinates: t.links.delayFromCoordinates,
  };
  if (t.zoo !== undefined) {
    const name = t.zoo;
    if (/[/\\.]/.test(name)) {
      throw error(
        ["topology", "zoo"],
        `expected a bundled network name, got ${JSON.stringify(name)}; use file: for paths`,
      );
    }
    return at(error, ["topology", "zoo"], () => readTopologyFile(name, defaults, onWarning));
  }
  if (t.file !== undefined) {
    const file = t.file;
    return at(error, ["topology", "file"], () => readTopologyFile(file, defaults, onWarning));
  }
  const g = t.generator!;
  checkGeneratorSize(g, error);
  return at(error, ["topology", "generator"], () => {
    switch (g.kind) {
      case "line":
        return gen.line(g.n, defaults);
      case "ring":
        return gen.ring(g.n, defaults);
      case "star":
        return gen.star(g.leaves, defaults);
      case "grid":
        return gen.grid(g.rows, g.cols, defaults);
      case "fatTree":
        return gen.fatTree(g.k, { hosts: g.hosts }, defaults);
      case "leafSpine":
        return gen.leafSpine(g.spines, g.leaves, g.hostsPerLeaf, defaults);
    }
  });
}

function flowSizes(c: ExperimentConfig, error: Locate): Distribution {
  const f = c.workload.flowSizes;
  if (f.cdf !== undefined) {
    const path = f.cdf;
    return at(error, ["workload", "flowSizes", "cdf"], () =>
      readFlowSizeCdf(path, { sizeUnitBytes: parseSizeBytes(f.unit) }),
    );
  }
  const name = f.bundled!;
  return at(error, ["workload", "flowSizes", "bundled"], () => bundledFlowSizeCdf(name));
}

/** Topology node index of each TM node (by series index), via nodeMap; -1 never (errors instead). */
function mapNodes(
  series: TrafficMatrixSeries,
  topo: Topology,
  c: ExperimentConfig,
  error: Locate,
): Int32Array {
  const map = c.workload.nodeMap;
  const tmNodes = new Set(series.nodes);
  for (const [from, to] of Object.entries(map).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    if (!tmNodes.has(from)) {
      throw error(
        ["workload", "nodeMap", from],
        `"${from}" is not a node of the traffic matrix (${series.source}); its nodes: ${series.nodes.join(", ")}`,
      );
    }
    if (!topo.hasNode(to)) {
      throw error(
        ["workload", "nodeMap", from],
        `unknown topology node ${JSON.stringify(to)}; ${topo.name} has ${topo.nodes.map((x) => x.id).join(", ")}`,
      );
    }
  }
  const out = new Int32Array(series.nodes.length);
  const used = new Map<number, string>();
  series.nodes.forEach((id, i) => {
    const target = map[id] ?? id;
    if (!topo.hasNode(target)) {
      throw error(
        ["workload", "nodeMap"],
        `traffic-matrix node "${id}" is not in topology ${topo.name}; map it with nodeMap (${topo.name} has ${topo.nodes.map((x) => x.id).join(", ")})`,
      );
    }
    const idx = topo.node(target);
    const prev = used.get(idx);
    if (prev !== undefined) {
      throw error(
        ["workload", "nodeMap"],
        `traffic-matrix nodes "${prev}" and "${id}" both map to "${target}"`,
      );
    }
    used.set(idx, id);
    out[i] = idx;
  });
  return out;
}

/** The engine's scenario of one run of a loaded config; `onWarning` as for {@link buildTopology}. */
export function buildScenario(
  loaded: LoadedConfig,
  run: number,
  onWarning?: (message: string) => void,
): BuiltScenario {
  const c = loaded.config;
  const error = loaded.error;
  const topology = buildTopology(c, error, onWarning);

  // Window and TM.
  const startNs = parseDurationNs(c.workload.window.start);
  const endNs = startNs + parseDurationNs(c.workload.window.duration);
  const trainingNs = parseDurationNs(c.workload.training);
  checkTmSize(c, topology.nodeCount, startNs, endNs, error);
  const series = at(error, ["workload", "tm"], () =>
    loadTrafficMatrix(c.workload.tm, {
      topology,
      startNs: Math.max(0, startNs - trainingNs),
      endNs,
      seed: c.seed,
      run,
    }),
  );
  const last = series.startNs.length - 1;
  checkWindowInData(c, endNs, last < 0 ? 0 : series.startNs[last]! + series.intervalNs, series.source, error);
  const nodeOf = mapNodes(series, topology, c, error);
  const played = c.workload.playInterval === undefined ? undefined : parseDurationNs(c.workload.playInterval);
  const n = series.nodes.length;
  const intervals: { startNs: number; endNs: number; t: number }[] = [];
  let simNs = 0;
  for (let t = 0; t < series.rates.length; t++) {
    const s = Math.max(series.startNs[t]!, startNs);
    const e = Math.min(series.startNs[t]! + series.intervalNs, endNs);
    if (e <= s) continue;
    const len = Math.round(played === undefined ? e - s : ((e - s) * played) / series.intervalNs);
    if (len <= 0) continue;
    intervals.push({ startNs: simNs, endNs: simNs + len, t });
    simNs += len;
  }
  // The training span before the window, played at the same pace, at negative simulated times ending at 0.
  const training: { startNs: number; endNs: number; t: number }[] = [];
  let back = 0;
  for (let t = series.rates.length - 1; t >= 0; t--) {
    const s = Math.max(series.startNs[t]!, startNs - trainingNs);
    const e = Math.min(series.startNs[t]! + series.intervalNs, startNs);
    if (e <= s) continue;
    const len = Math.round(played === undefined ? e - s : ((e - s) * played) / series.intervalNs);
    if (len <= 0) continue;
    training.unshift({ startNs: back - len, endNs: back, t });
    back -= len;
  }
  if (intervals.length === 0) {
    throw error(
      ["workload", "window"],
      `the window [${c.workload.window.start}, +${c.workload.window.duration}) holds no traffic-matrix interval of ${series.source}`,
    );
  }
  const demandsOf = (t: number, scale: number) => {
    const row = series.rates[t]!;
    const out: { src: number; dst: number; rateBps: number }[] = [];
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < n; j++) {
        const r = row[i * n + j]!;
        if (i !== j && r > 0) out.push({ src: nodeOf[i]!, dst: nodeOf[j]!, rateBps: r * scale });
      }
    }
    return out.sort((a, b) => a.src - b.src || a.dst - b.dst);
  };

  // Load scaling on the reference routing.
  const ref = allPairsShortestPaths(topology, { weight: c.workload.load.reference });
  const refRoute = (s: number, d: number) => {
    const p = ref.path(s, d);
    if (!p) {
      throw error(
        ["topology"],
        `${topology.name}: no path from ${topology.nodes[s]!.id} to ${topology.nodes[d]!.id}, which exchange traffic`,
      );
    }
    return p;
  };
  let peak = 0;
  for (const iv of intervals) {
    for (const u of offeredUtilization(topology, demandsOf(iv.t, 1), refRoute)) peak = Math.max(peak, u);
  }
  let scale = c.workload.load.scale ?? 1;
  if (c.workload.load.targetMlu !== undefined) {
    if (!(peak > 0))
      throw error(["workload", "load", "targetMlu"], "the traffic matrix offers no load to scale");
    scale = c.workload.load.targetMlu / peak;
  }
  const demandIntervals: DemandInterval[] = intervals.map((iv) => ({
    startNs: iv.startNs,
    endNs: iv.endNs,
    demands: demandsOf(iv.t, scale),
  }));
  const trainingIntervals: DemandInterval[] = training.map((iv) => ({
    startNs: iv.startNs,
    endNs: iv.endNs,
    demands: demandsOf(iv.t, scale),
  }));
  const control = {
    intervalNs: parseDurationNs(c.control.interval),
    setupLatencyNs: recordOf(SETUP_LATENCY_KEYS, (k) => parseDurationNs(c.control.setupLatency[k])),
    vnaPoolSize: c.control.vnaPool,
    kPaths: c.control.kPaths,
    convergenceDelayNs: parseDurationNs(c.control.convergenceDelay),
  };

  const sizes = flowSizes(c, error);
  let offeredBits = 0;
  for (const iv of demandIntervals) {
    for (const d of iv.demands) offeredBits += (d.rateBps * (iv.endNs - iv.startNs)) / 1e9;
  }
  const expectedFlows = offeredBits / 8 / sizes.mean();
  const horizonNs = demandIntervals[demandIntervals.length - 1]!.endNs;
  const apps = c.workload.applications
    ? buildApplications(c.workload.applications, topology, horizonNs, error)
    : undefined;
  const allFlows = expectedFlows + (apps?.facts.expectedFlows ?? 0);
  if (allFlows > c.limits.maxFlows) {
    throw error(
      ["workload", "window", "duration"],
      `the workload would generate about ${Math.round(allFlows)} flows, more than limits.maxFlows (${c.limits.maxFlows}); shorten the window, use a shorter playInterval, lower the load, or raise limits.maxFlows`,
    );
  }

  // Failures.
  const failures: LinkEvent[] = c.failures.map((f, i) => {
    if (!topoHasLink(topology, f.link)) {
      const some = topology.links.slice(0, 3).map((l) => `"${l.id}"`);
      throw error(
        ["failures", i, "link"],
        `unknown link ${JSON.stringify(f.link)} in ${topology.name}; links are named like ${some.join(", ")} (see topocast topo show)`,
      );
    }
    const l = topology.link(f.link);
    const rev = topology.links[l]!.reverse;
    const links = f.bothDirections && rev >= 0 ? [l, rev].sort((a, b) => a - b) : [l];
    return { atNs: parseDurationNs(f.at), links, up: f.state === "up" };
  });
  checkFailures(failures, horizonNs, (l) => topology.links[l]!.id, error);
  failures.sort((a, b) => a.atNs - b.atNs);

  // Metrics.
  const edges = c.metrics.sizeBuckets.map(parseSizeBytes);
  for (let i = 1; i < edges.length; i++) {
    if (!(edges[i]! > edges[i - 1]!)) {
      throw error(
        ["metrics", "sizeBuckets", i],
        `bucket edges must ascend strictly, got ${c.metrics.sizeBuckets.join(", ")}`,
      );
    }
  }
  const isDefault =
    edges.length === 2 &&
    edges[0] === DEFAULT_SIZE_BUCKET_EDGES[0] &&
    edges[1] === DEFAULT_SIZE_BUCKET_EDGES[1];
  const names =
    c.metrics.bucketNames ??
    (isDefault ? [...DEFAULT_SIZE_BUCKET_NAMES] : defaultBucketNames(c.metrics.sizeBuckets));
  if (names.length !== edges.length + 1) {
    throw error(
      ["metrics", "bucketNames"],
      `expected ${edges.length + 1} names for ${edges.length} edges, got ${names.length}`,
    );
  }

  // Policies.
  const policies: EnginePolicy[] = (c.policies as PolicyConfig[]).map((p, i) => {
    const def = POLICY_REGISTRY.get(p.name)!;
    if (p.predictor !== undefined && !def.usesPredictor) {
      throw error(["policies", i, "predictor"], `policy "${p.name}" uses no predictor; remove this field`);
    }
    if (p.predictor !== undefined && !(PREDICTOR_NAMES as readonly string[]).includes(p.predictor.name)) {
      throw error(
        ["policies", i, "predictor", "name"],
        `unknown predictor "${p.predictor.name}"; known: ${PREDICTOR_NAMES.join(", ")}`,
      );
    }
    const params = p.params;
    return {
      label: p.label ?? p.name,
      name: p.name,
      params,
      predictorBackend: p.predictor?.name === "lstm" ? "tfjs (tfjs-node, else wasm, else cpu)" : null,
      predictor: def.usesPredictor ? (p.predictor?.name ?? "ewma") : null,
      create: (ctx) => def.create(params, ctx),
      ...(def.controller ? { controller: (ctx) => def.controller!(params, p.predictor, ctx) } : {}),
    };
  });

  checkSteps(
    c,
    horizonNs,
    (c.policies as PolicyConfig[]).some((p) => POLICY_REGISTRY.get(p.name)?.controller !== undefined),
    error,
  );
  return {
    scenario: {
      name: c.name,
      seed: c.seed,
      run,
      topology,
      intervals: demandIntervals,
      trainingIntervals,
      control,
      transport: transportSettings(c.transport),
      flowSizes: sizes,
      policies,
      failures,
      metrics: {
        intervalNs: parseDurationNs(c.metrics.interval),
        sizeBucketEdges: edges,
        sizeBucketNames: names,
      },
      ...(apps ? { applications: apps.spec } : {}),
    },
    workload: {
      source: series.source,
      intervals: demandIntervals.length,
      horizonNs,
      loadScale: scale,
      offeredPeakMlu: peak * scale,
      meanOfferedBps: (offeredBits * 1e9) / horizonNs,
      expectedFlows: Math.round(expectedFlows),
      ...(apps ? { applications: apps.facts } : {}),
    },
  };
}

function topoHasLink(topo: Topology, id: string): boolean {
  try {
    topo.link(id);
    return true;
  } catch {
    return false;
  }
}

function defaultBucketNames(edges: readonly string[]): string[] {
  const out: string[] = [];
  for (let b = 0; b <= edges.length; b++)
    out.push(
      b === 0 ? `<${edges[0]}` : b === edges.length ? `>=${edges[b - 1]}` : `${edges[b - 1]}-${edges[b]}`,
    );
  return out;
}

export type { ConfigError };

/** The config's `transport` section in engine units. */
function transportSettings(t: ExperimentConfig["transport"]): TransportSettings {
  return {
    model: t.model,
    tcp:
      t.tcp === false
        ? null
        : {
            handshake: t.tcp.handshake,
            initialWindowSegments: t.tcp.initialWindow,
            mssBytes: parseSizeBytes(t.tcp.mss),
          },
  };
}
