/**
 * Learning personas: from the finished flows of a learning run (RunRecords.flows, sim/engine/records.ts; both
 * engines return the same rows, so learning is engine-neutral) over a window, each application's fingerprint
 * (profile.ts defines its fields) and the desired config derived from it.
 *
 * Which flows are whose: application flows are tagged `tagBase + index` of their application pair
 * (models/workload/applications.ts, {@link applicationPairs}; the simulator's tagBase is N x N for N nodes).
 * A flow of pair `"X->Y"` belongs to both X and Y (each is the other's peer; `"client"` is the external clients'
 * pseudo-app). Its exchange's server is Y when X calls Y (a call X -> Y, or X = client) and X otherwise (a
 * response); the flow's port and protocol are the server's (`apps[].port`, `apps[].protocol`, default tcp).
 * Flows count when they start in the window [startNs, endNs); other tags (the traffic matrix) are ignored.
 *
 * Fingerprint:
 * - bandwidth: a flow's bytes are spread evenly over [start, end) of its transfer and summed per bin of `binNs`
 *   (bins over the window, idle bins count); rates are bits per bin / bin length.
 * - burstiness: peak-to-mean of the per-bin rate, and the index of dispersion (variance / mean) of exchange
 *   arrivals (request flows; a response follows its request, so counting both would double a Poisson count's
 *   dispersion) per bin.
 * - latency sensitivity: per exchange edge (a call A -> B, or clients -> entry), n request flows, of which a share
 *   s_req is small, and response flows with a share s_resp small; the edge has n exchanges, of which
 *   n x s_req x s_resp are small (exact when an edge's sizes are constants, as configs give them; an estimate under
 *   independence for size distributions, since flow records do not pair a request with its response).
 * - time of day: bytes by the hour of (originNs + flow start) modulo a day.
 *
 * Desired config (the rules):
 * - latency-sensitive (latency share >= `latencyShare`, default 0.5): priority 0, guaranteed rate = p95 rate,
 *   ceiling = the link rate, latency-first routing, mesh among its instances (one virtual hop between any two),
 *   alert on SLO violations;
 * - bulk and steady (dispersion <= `burstyDispersion`, default 2, and peak-to-mean <= 4): priority 2, guaranteed
 *   rate = p95 demand, ceiling = the link rate, bandwidth-first routing, star among its instances (one hub
 *   carries the reservation), alert on bandwidth over the ceiling;
 * - bulk and bursty (otherwise): priority 4 (bursts borrow after the steady classes), guaranteed rate = p95,
 *   bandwidth-first routing, tree among its instances (reservations shared along a spanning tree);
 * - idle in the window: priority 7, rate 0, star, bandwidth-first.
 * Security, every class: allow each observed peer application on each (port, protocol) of its exchanges, and
 * each observed client node (peer kind "node") on the entry's port; default deny; alert on denied flows and new
 * peers.
 */
import { createHash } from "node:crypto";
import type { Topology } from "../../sim/substrate/topology.ts";
import {
  type AppSpec,
  type AppWorkloadSpec,
  applicationTagBase,
  CLIENT_APP,
  exchangeServers,
} from "../workload/applications.ts";
import type { FlowEndEvent, FlowProtocol } from "../workload/flow-sink.ts";
import {
  type Alert,
  type AllowRule,
  type DesiredConfig,
  type Fingerprint,
  PERSONA_SCHEMA_VERSION,
  type PeerStats,
  type Persona,
  PersonaSchema,
  type Provenance,
} from "./profile.ts";

/** The fields of a finished flow learning reads (a FlowRow of either engine has them; times in ns). */
export type LearnFlow = Pick<FlowEndEvent, "src" | "dst" | "sizeBytes" | "startNs" | "endNs" | "tag">;

export interface LearnInput {
  /** The run's finished flows (any order). */
  flows: Iterable<LearnFlow>;
  /** The applications of the learning run. */
  applications: AppWorkloadSpec;
  /** The substrate (node ids of client peers; the link rate for ceilings). */
  topology: Topology;
  /** Tag of application pair 0. @default topology.nodeCount^2 (as the simulator runs applications) */
  tagBase?: number;
}

export interface LearnOptions {
  /** The learning window, ns: flows that start in [startNs, endNs). */
  window: { startNs: number; endNs: number };
  /** Where the run came from (engine, run, learnedAt); the window is added. */
  provenance: Omit<Provenance, "windowStartNs" | "windowEndNs">;
  /** Bin width, ns. @default 1 s, or window / 100 for windows under 100 s */
  binNs?: number;
  /** Largest request and response of a small exchange, bytes. @default 10_000 */
  smallBytes?: number;
  /** Latency share from which an application is latency-sensitive. @default 0.5 */
  latencyShare?: number;
  /** Dispersion index above which bulk traffic is bursty. @default 2 */
  burstyDispersion?: number;
  /** Time of day of simulated time 0, ns after midnight. @default 0 */
  originNs?: number;
}

/** A learning problem the caller must fix (bad window or options). */
export class LearnError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "LearnError";
  }
}

const DAY_NS = 86_400e9;
const HOUR_NS = 3_600e9;
const BURSTY_PEAK_TO_MEAN = 4;

/** One application pair as learning sees it. */
interface PairInfo {
  /** The pair's two apps: sender and receiver of its flows. */
  from: string;
  to: string;
  /** The exchange's server app, its port and protocol. */
  server: string;
  port?: number;
  protocol: FlowProtocol;
  /** Whether its flows are requests (else responses); the request pair of the edge, "X->Y". */
  request: boolean;
  edge: string;
}

/** Per-application accumulators. */
class AppAccumulator {
  readonly bins: Float64Array;
  readonly arrivals: Float64Array;
  readonly hours = new Float64Array(24);
  /** Per peer app: bytes, flows, server ports and the exchanges' "port/protocol" keys (port empty when none). */
  readonly peers = new Map<string, { bytes: number; flows: number; ports: Set<number>; keys: Set<string> }>();
  readonly protocols = new Set<FlowProtocol>();
  readonly ports = new Set<number>();
  readonly clientNodes = new Map<string, Set<string>>();
  constructor(binCount: number) {
    this.bins = new Float64Array(binCount);
    this.arrivals = new Float64Array(binCount);
  }
}

/** Per exchange edge: request and response flows seen and how many were small. */
interface EdgeCount {
  requests: number;
  smallRequests: number;
  responses: number;
  smallResponses: number;
}

/**
 * Learns the persona of every application of the run (see the module doc).
 * @returns one document per application, sorted by name, each `version: 1` (the repository renumbers).
 * @throws LearnError for an empty or negative window or a bad option.
 */
export function learnPersonas(input: LearnInput, options: LearnOptions): Persona[] {
  const o = resolveOptions(options);
  const spec = input.applications;
  const pairs = pairInfos(spec);
  const tagBase = input.tagBase ?? applicationTagBase(input.topology.nodeCount);
  const binCount = Math.ceil((o.endNs - o.startNs) / o.binNs);
  const accs = new Map(spec.apps.map((a) => [a.name, new AppAccumulator(binCount)]));
  const edges = new Map<string, EdgeCount>();
  const nodeIds = input.topology.nodes.map((n) => n.id);
  for (const f of input.flows) {
    const pair = pairs[f.tag - tagBase];
    if (pair === undefined || f.startNs < o.startNs || f.startNs >= o.endNs) continue;
    countEdge(edges, pair, f.sizeBytes <= o.smallBytes);
    for (const [self, peer] of [
      [pair.from, pair.to],
      [pair.to, pair.from],
    ] as const) {
      const acc = accs.get(self);
      if (acc === undefined) continue;
      addFlow(acc, f, pair.request, o);
      addPeer(acc, peer, pair, f.sizeBytes);
      if (peer === CLIENT_APP) {
        const node = nodeIds[pair.from === CLIENT_APP ? f.src : f.dst]!;
        acc.clientNodes.set(node, (acc.clientNodes.get(node) ?? new Set()).add(exchangeKey(pair)));
      }
    }
  }
  const linkRate = input.topology.links.reduce((m, l) => Math.max(m, l.capacityBps), 0);
  return spec.apps.map((app) => {
    const acc = accs.get(app.name)!;
    const fingerprint = fingerprintOf(app, acc, latencyOf(app.name, pairs, edges, o.smallBytes), o);
    const doc: Persona = {
      schemaVersion: PERSONA_SCHEMA_VERSION,
      version: 1,
      application: { name: app.name, versionHash: app.version ?? specHash(app, spec) },
      fingerprint,
      desired: desiredConfig(fingerprint, acc, linkRate, o),
      provenance: { ...options.provenance, windowStartNs: o.startNs, windowEndNs: o.endNs },
    };
    return PersonaSchema.parse(doc);
  });
}

type Resolved = Required<Omit<LearnOptions, "window" | "provenance">> & { startNs: number; endNs: number };

function resolveOptions(options: LearnOptions): Resolved {
  const { startNs, endNs } = options.window;
  if (!Number.isSafeInteger(startNs) || startNs < 0 || !Number.isSafeInteger(endNs) || endNs <= startNs) {
    throw new LearnError(`window: expected integer ns with 0 <= startNs < endNs, got [${startNs}, ${endNs})`);
  }
  const span = endNs - startNs;
  const binNs = options.binNs ?? (span < 100e9 ? Math.max(1, Math.floor(span / 100)) : 1e9);
  if (!Number.isSafeInteger(binNs) || binNs <= 0) {
    throw new LearnError(`binNs: expected an integer > 0 of ns, got ${binNs}`);
  }
  const smallBytes = options.smallBytes ?? 10_000;
  if (!Number.isInteger(smallBytes) || smallBytes < 1) {
    throw new LearnError(`smallBytes: expected an integer >= 1 of bytes, got ${smallBytes}`);
  }
  const latencyShare = options.latencyShare ?? 0.5;
  if (!(latencyShare >= 0 && latencyShare <= 1)) {
    throw new LearnError(`latencyShare: expected a share in [0, 1], got ${latencyShare}`);
  }
  return {
    startNs,
    endNs,
    binNs,
    smallBytes,
    latencyShare,
    burstyDispersion: options.burstyDispersion ?? 2,
    originNs: options.originNs ?? 0,
  };
}

/** Every application pair of the spec by index (tag - tagBase), with its server, port, protocol and edge. */
function pairInfos(spec: AppWorkloadSpec): PairInfo[] {
  const apps = new Map(spec.apps.map((a) => [a.name, a]));
  return [...exchangeServers(spec)].map(([name, { server, request }]) => {
    const [from, to] = name.split("->") as [string, string];
    const app = apps.get(server);
    return {
      from,
      to,
      server,
      ...(app?.port === undefined ? {} : { port: app.port }),
      protocol: app?.protocol ?? "tcp",
      request,
      edge: request ? name : `${to}->${from}`,
    };
  });
}

function countEdge(edges: Map<string, EdgeCount>, pair: PairInfo, small: boolean): void {
  let e = edges.get(pair.edge);
  if (!e) {
    e = { requests: 0, smallRequests: 0, responses: 0, smallResponses: 0 };
    edges.set(pair.edge, e);
  }
  if (pair.request) {
    e.requests++;
    if (small) e.smallRequests++;
  } else {
    e.responses++;
    if (small) e.smallResponses++;
  }
}

/** A flow's bytes spread over the bins its transfer spans, its hour of day, and a request's arrival bin. */
function addFlow(acc: AppAccumulator, f: LearnFlow, request: boolean, o: Resolved): void {
  const bin = Math.floor((f.startNs - o.startNs) / o.binNs);
  if (request) acc.arrivals[bin]!++;
  const hour = Math.floor(((((o.originNs + f.startNs) % DAY_NS) + DAY_NS) % DAY_NS) / HOUR_NS);
  acc.hours[hour]! += f.sizeBytes;
  const end = Math.max(f.endNs, f.startNs);
  if (end === f.startNs) {
    acc.bins[bin]! += f.sizeBytes;
    return;
  }
  const perNs = f.sizeBytes / (end - f.startNs);
  const last = Math.min(acc.bins.length - 1, Math.floor((end - o.startNs) / o.binNs));
  for (let b = bin; b <= last; b++) {
    const lo = Math.max(f.startNs, o.startNs + b * o.binNs);
    const hi = Math.min(end, o.startNs + (b + 1) * o.binNs);
    if (hi > lo) acc.bins[b]! += perNs * (hi - lo);
  }
}

function addPeer(acc: AppAccumulator, peer: string, pair: PairInfo, bytes: number): void {
  let p = acc.peers.get(peer);
  if (!p) {
    p = { bytes: 0, flows: 0, ports: new Set(), keys: new Set() };
    acc.peers.set(peer, p);
  }
  p.flows++;
  p.bytes += bytes;
  p.keys.add(exchangeKey(pair));
  if (pair.port !== undefined) {
    p.ports.add(pair.port);
    acc.ports.add(pair.port);
  }
  acc.protocols.add(pair.protocol);
}

/** Small exchanges and all exchanges of the edges an app takes part in. */
function latencyOf(
  app: string,
  pairs: readonly PairInfo[],
  edges: ReadonlyMap<string, EdgeCount>,
  smallBytes: number,
): Fingerprint["latencySensitivity"] {
  let exchanges = 0;
  let small = 0;
  const seen = new Set<string>();
  for (const p of pairs) {
    if ((p.from !== app && p.to !== app) || seen.has(p.edge)) continue;
    seen.add(p.edge);
    const e = edges.get(p.edge);
    if (!e || e.requests === 0) continue;
    const sReq = e.smallRequests / e.requests;
    const sResp = e.responses > 0 ? e.smallResponses / e.responses : 1;
    exchanges += e.requests;
    small += e.requests * sReq * sResp;
  }
  return { smallBytes, share: exchanges > 0 ? small / exchanges : 0, exchanges };
}

function fingerprintOf(
  app: AppSpec,
  acc: AppAccumulator,
  latency: Fingerprint["latencySensitivity"],
  o: Resolved,
): Fingerprint {
  const dependencies = new Set(app.dependencies ?? []);
  const peers: PeerStats[] = [...acc.peers.keys()].sort().map((name) => {
    const p = acc.peers.get(name)!;
    return {
      app: name,
      critical: dependencies.has(name),
      ports: [...p.ports].sort((a, b) => a - b),
      bytes: p.bytes,
      flows: p.flows,
    };
  });
  const rates = Float64Array.from(acc.bins, (b) => (b * 8 * 1e9) / o.binNs).sort();
  const mean = rates.reduce((s, r) => s + r, 0) / rates.length;
  const peak = rates[rates.length - 1] ?? 0;
  const total = acc.hours.reduce((s, h) => s + h, 0);
  return {
    protocols: [...acc.protocols].sort(),
    ports: [...acc.ports].sort((a, b) => a - b),
    peers,
    bandwidth: { meanBps: mean, p95Bps: percentile(rates, 95), peakBps: peak },
    burstiness: {
      binNs: o.binNs,
      peakToMean: mean > 0 ? peak / mean : 0,
      dispersion: dispersion(acc.arrivals),
    },
    latencySensitivity: latency,
    timeOfDay: Array.from(acc.hours, (h) => (total > 0 ? h / total : 0)),
  };
}

/** Nearest-rank percentile of sorted values (0 when empty). */
function percentile(sorted: Float64Array, q: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.max(0, Math.ceil((q / 100) * sorted.length) - 1)]!;
}

/** Index of dispersion, variance / mean (population variance), of counts per bin; 0 without arrivals. */
function dispersion(counts: Float64Array): number {
  const n = counts.length;
  const mean = counts.reduce((s, c) => s + c, 0) / n;
  if (!(mean > 0)) return 0;
  let ss = 0;
  for (const c of counts) ss += (c - mean) * (c - mean);
  return ss / n / mean;
}

type TrafficClass = "latency" | "steady" | "bursty" | "idle";

/** The class of an application's traffic (see the module doc's rules). */
export function trafficClass(
  f: Fingerprint,
  o: Pick<Resolved, "latencyShare" | "burstyDispersion">,
): TrafficClass {
  if (f.bandwidth.meanBps === 0) return "idle";
  if (f.latencySensitivity.exchanges > 0 && f.latencySensitivity.share >= o.latencyShare) return "latency";
  const bursty =
    f.burstiness.dispersion > o.burstyDispersion || f.burstiness.peakToMean > BURSTY_PEAK_TO_MEAN;
  return bursty ? "bursty" : "steady";
}

const CLASS_CONFIG: Record<
  TrafficClass,
  Pick<DesiredConfig, "topology" | "routing"> & { priority: number; alerts: Alert[] }
> = {
  latency: { topology: "mesh", routing: "latency", priority: 0, alerts: ["slo-violation"] },
  steady: { topology: "star", routing: "bandwidth", priority: 2, alerts: ["bandwidth-over-ceiling"] },
  bursty: { topology: "tree", routing: "bandwidth", priority: 4, alerts: ["bandwidth-over-ceiling"] },
  idle: { topology: "star", routing: "bandwidth", priority: 7, alerts: [] },
};

function desiredConfig(f: Fingerprint, acc: AppAccumulator, linkRateBps: number, o: Resolved): DesiredConfig {
  const c = CLASS_CONFIG[trafficClass(f, o)];
  const rateBps = c.priority === 7 ? 0 : f.bandwidth.p95Bps;
  return {
    topology: c.topology,
    qos: { priority: c.priority, rateBps, ceilBps: Math.max(rateBps, linkRateBps) },
    security: {
      allow: allowList(acc),
      defaultDeny: true,
      alertOn: ["denied-flow", "new-peer", ...c.alerts],
    },
    routing: c.routing,
  };
}

/** One rule per observed (peer app, port, protocol), and per client node instead of the "client" pseudo-app. */
function allowList(acc: AppAccumulator): AllowRule[] {
  const rules: AllowRule[] = [];
  const add = (kind: "app" | "node", name: string, keys: ReadonlySet<string>) => {
    for (const k of [...keys].sort()) {
      const [port, protocol] = k.split("/") as [string, FlowProtocol];
      rules.push({ peer: { kind, name }, ...(port === "" ? {} : { port: Number(port) }), protocol });
    }
  };
  for (const name of [...acc.peers.keys()].sort()) {
    if (name !== CLIENT_APP) add("app", name, acc.peers.get(name)!.keys);
  }
  for (const node of [...acc.clientNodes.keys()].sort()) add("node", node, acc.clientNodes.get(node)!);
  return rules;
}

/** "port/protocol" of a pair's exchanges (port empty when the server has none). */
function exchangeKey(pair: PairInfo): string {
  return `${pair.port ?? ""}/${pair.protocol}`;
}

/**
 * A version hash of an application without a `version`: "spec-" and the first 12 hex digits of SHA-256 over its
 * spec (instances, port, protocol, dependencies, service time) and its outgoing calls, as canonical JSON.
 */
export function specHash(app: AppSpec, spec: AppWorkloadSpec): string {
  const calls = spec.calls
    .filter((c) => c.from === app.name)
    .map((c) => ({ ...c, requestBytes: sizeKey(c.requestBytes), responseBytes: sizeKey(c.responseBytes) }));
  const text = JSON.stringify({
    name: app.name,
    instances: app.instances,
    port: app.port ?? null,
    protocol: app.protocol ?? "tcp",
    dependencies: [...(app.dependencies ?? [])].sort(),
    serviceNs: app.serviceNs ?? 0,
    calls,
  });
  return `spec-${createHash("sha256").update(text).digest("hex").slice(0, 12)}`;
}

function sizeKey(size: AppWorkloadSpec["calls"][number]["requestBytes"]): number | string {
  return typeof size === "number" ? size : `mean ${size.mean()}`;
}
