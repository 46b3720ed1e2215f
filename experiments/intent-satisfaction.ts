/**
 * Intent satisfaction: the share of an intent mesh's requests (flows client -> anycast node, models/services/
 * intent-mesh.ts) whose measured latency and throughput, and the path they took, met the client's intent. Computed
 * from a policy's run records (summary.json `intents` of each policy).
 *
 * Measured quantities of one request of S bytes with completion time T (FCT, ns) and ideal FCT T* (sim/substrate/
 * ideal-fct.ts; on its best path, serialization plus the least one-way delay d* from the client to any instance):
 * - start-up trips K: the one-way trips TCP start-up puts in the FCT of the engine's transport model
 *   (sim/transport/flow-network.ts): w = ceil(log2(S / (IW x MSS) + 1)) windows of slow start, a round trip
 *   each but the last, which arrives one way, plus one round trip of handshake: K = 2w + 1 (2w - 1 without the
 *   handshake; 1 without TCP start-up);
 * - latency = (T - (T* - d*)) / K: the FCT without its ideal serialization, per one-way trip; on an idle path of
 *   one-way delay d it is d, and queueing, sharing, detours and stalls raise it;
 * - throughput = S x 8 / (T - (K - 1) x d*): the bits over the FCT without the start-up round trips the best path
 *   would cost (bits/s);
 * - security and egress cost: of the path in force when the request started: the policy's last route pinned for
 *   the pair (its setRoute actions, effective after their setup latency), else the failure-free least-delay route.
 * A request meets its intent iff every bound the intent gives holds; a request that never finished misses it.
 */
import type { ActionRecord } from "../models/policies/recording.ts";
import { formatIntent, type Intent, parseIntent } from "../models/services/intent.ts";
import type { IntentMesh } from "../models/services/intent-mesh.ts";
import type { RunRecords } from "../sim/engine/records.ts";
import { scenarioSchedule } from "../sim/engine/schedule.ts";
import type { Scenario } from "../sim/engine/types.ts";
import type { FlowRow } from "../sim/metrics/flow-stats.ts";
import { allPairsShortestPaths } from "../sim/substrate/routing.ts";
import type { Topology } from "../sim/substrate/topology.ts";
import { csvField, formatCsvNumber } from "./csv.ts";

/** A client of the mesh as summary.json's workload lists it. */
export interface IntentClientFacts {
  node: string;
  service: string;
  /** Destination of its requests. */
  anycast: string;
  /** The intent, text form. */
  intent: string;
  requestsPerSecond: number;
  requestBytes: number;
}

/** The config's intent mesh in summary.json's `workload`. */
export interface IntentWorkloadFacts {
  clients: IntentClientFacts[];
  /** Expected requests over the horizon, all clients. */
  expectedRequests: number;
}

/** The workload facts of a mesh over a horizon (ns). */
export function intentWorkloadFacts(mesh: IntentMesh, horizonNs: number): IntentWorkloadFacts {
  return {
    clients: mesh.clients.map((c) => ({
      node: c.node,
      service: c.service,
      anycast: c.anycast,
      intent: formatIntent(c.intent),
      requestsPerSecond: c.requestsPerSecond,
      requestBytes: c.requestBytes,
    })),
    expectedRequests: Math.round(
      mesh.clients.reduce((s, c) => s + (c.requestsPerSecond * horizonNs) / 1e9, 0),
    ),
  };
}

/** One client's requests under one policy. */
export interface ClientSatisfaction {
  node: string;
  intent: string;
  /** Requests that started before the run ended. */
  requests: number;
  met: number;
  /** Requests missing each bound (a request may miss several); unfinished ones count under `unfinished` only. */
  missed: { latency: number; bandwidth: number; security: number; cost: number; unfinished: number };
  /** Medians over finished requests: latency, ns; throughput, bits/s. */
  medianLatencyNs: number | null;
  medianThroughputBps: number | null;
}

/** A policy's intent satisfaction (summary.json `policies[i].intents`). */
export interface IntentSatisfaction {
  requests: number;
  met: number;
  violations: number;
  /** met / requests (null without requests). */
  satisfaction: number | null;
  clients: ClientSatisfaction[];
}

/** One-way trips of TCP start-up in a flow of `sizeBytes` (see the module doc). */
export function startupTrips(scenario: Scenario, sizeBytes: number): number {
  const tcp = scenario.transport.tcp;
  if (!tcp) return 1;
  const w = Math.max(1, Math.ceil(Math.log2(sizeBytes / (tcp.initialWindowSegments * tcp.mssBytes) + 1)));
  return tcp.handshake ? 2 * w + 1 : 2 * w - 1;
}

/** Path (node ids) of a pair at time t from setRoute actions, or undefined. */
function pinnedAt(
  actions: readonly ActionRecord[],
  src: string,
  dst: string,
): (t: number) => readonly string[] | undefined {
  const changes: { at: number; path: readonly string[] | null }[] = [];
  for (const a of actions) {
    if (a.verb !== "setRoute" || a.outcome !== "ok") continue;
    const { pair, path } = a.args as { pair: { src: string; dst: string }; path: readonly string[] | null };
    if (pair.src === src && pair.dst === dst)
      changes.push({ at: a.timeNs + (a.setupLatency?.ns ?? 0), path });
  }
  changes.sort((x, y) => x.at - y.at);
  return (t) => {
    let cur: readonly string[] | null = null;
    for (const c of changes) {
      if (c.at > t) break;
      cur = c.path;
    }
    return cur ?? undefined;
  };
}

function pathProps(topo: Topology, ids: readonly string[]): { secure: boolean; costPerGB: number } {
  let secure = true;
  let costPerGB = 0;
  for (let i = 1; i < ids.length; i++) {
    const l = topo.links[topo.linksBetween(topo.node(ids[i - 1]!), topo.node(ids[i]!))[0]!]!;
    secure &&= l.secure;
    costPerGB += l.egressCostPerGB;
  }
  return { secure, costPerGB };
}

function median(v: number[]): number | null {
  if (v.length === 0) return null;
  v.sort((a, b) => a - b);
  return v[Math.floor((v.length - 1) / 2)]!;
}

/** One request of an intent client, measured (a row of requests.csv). */
export interface IntentRequest {
  /** Client node and the anycast node it requests from. */
  node: string;
  anycast: string;
  intent: string;
  flowId: number;
  startNs: number;
  sizeBytes: number;
  /** Null when the request never finished (then `misses` is ["unfinished"]). */
  fctNs: number | null;
  /** Per one-way trip, ns, and throughput, bits/s (see the module doc); null when unfinished. */
  latencyNs: number | null;
  throughputBps: number | null;
  /** Path in force at the start (node ids, client to anycast node): the policy's pin, else the default route. */
  path: readonly string[];
  /** Whether `path` is the policy's pin (false: the failure-free least-delay route). */
  pinned: boolean;
  secure: boolean;
  costPerGB: number;
  misses: ("latency" | "bandwidth" | "security" | "cost" | "unfinished")[];
}

/** Every request of the mesh's clients in one policy's run records, by client then flow id (see the module doc). */
export function intentRequests(
  scenario: Scenario,
  facts: IntentWorkloadFacts,
  r: RunRecords,
): IntentRequest[][] {
  const topo = scenario.topology;
  const table = allPairsShortestPaths(topo, { weight: "delay" });
  const schedule = scenarioSchedule(scenario);
  const clients = facts.clients.map((c) => {
    const src = topo.node(c.node);
    const dst = topo.node(c.anycast);
    const started = schedule.flows.filter((f) => f.src === src && f.dst === dst && f.startNs < r.simulatedNs);
    return {
      c,
      src,
      dst,
      intent: parseIntent(c.intent),
      started,
      pinned: pinnedAt(r.actions, c.node, c.anycast),
    };
  });
  const finished = new Map<number, FlowRow>();
  const pairs = new Set(clients.map((x) => x.src * topo.nodeCount + x.dst));
  for (const f of r.flows.byFlowId()) if (pairs.has(f.src * topo.nodeCount + f.dst)) finished.set(f.flow, f);
  return clients.map((x) => {
    const dStar = table.cost(x.src, x.dst);
    const defaultPath = topo.pathNodes(table.path(x.src, x.dst) ?? []);
    const rows: IntentRequest[] = [];
    const add = (flowId: number, startNs: number, sizeBytes: number, f: FlowRow | undefined): void => {
      const pin = x.pinned(startNs);
      const path = pin ?? defaultPath;
      const props = pathProps(topo, path);
      const base = { node: x.c.node, anycast: x.c.anycast, intent: x.c.intent, flowId, startNs, sizeBytes };
      const at = { path, pinned: pin !== undefined, ...props };
      if (!f) {
        rows.push({
          ...base,
          fctNs: null,
          latencyNs: null,
          throughputBps: null,
          ...at,
          misses: ["unfinished"],
        });
        return;
      }
      const k = startupTrips(scenario, sizeBytes);
      const latencyNs = (f.fctNs - Math.max(0, f.idealFctNs - dStar)) / k;
      const throughputBps = (sizeBytes * 8e9) / Math.max(1, f.fctNs - (k - 1) * dStar);
      const miss = misses(x.intent, latencyNs, throughputBps, props);
      rows.push({ ...base, fctNs: f.fctNs, latencyNs, throughputBps, ...at, misses: miss });
    };
    for (const s of x.started) {
      add(s.id, s.startNs, s.sizeBytes, finished.get(s.id));
    }
    return rows.sort((a, b) => a.flowId - b.flowId);
  });
}

/** The intent satisfaction of one policy's run records (see the module doc). */
export function intentSatisfaction(
  scenario: Scenario,
  facts: IntentWorkloadFacts,
  r: RunRecords,
): IntentSatisfaction {
  const out: ClientSatisfaction[] = intentRequests(scenario, facts, r).map((rows, i) => {
    const c = facts.clients[i]!;
    const missed = { latency: 0, bandwidth: 0, security: 0, cost: 0, unfinished: 0 };
    for (const q of rows) for (const m of q.misses) missed[m]++;
    const done = rows.filter((q) => q.fctNs !== null);
    return {
      node: c.node,
      intent: c.intent,
      requests: rows.length,
      met: rows.filter((q) => q.misses.length === 0).length,
      missed,
      medianLatencyNs: median(done.map((q) => q.latencyNs!)),
      medianThroughputBps: median(done.map((q) => q.throughputBps!)),
    };
  });
  const requests = out.reduce((s, c) => s + c.requests, 0);
  const met = out.reduce((s, c) => s + c.met, 0);
  return {
    requests,
    met,
    violations: requests - met,
    satisfaction: requests > 0 ? met / requests : null,
    clients: out,
  };
}

function misses(
  i: Intent,
  latencyNs: number,
  throughputBps: number,
  p: { secure: boolean; costPerGB: number },
): ("latency" | "bandwidth" | "security" | "cost")[] {
  const out: ("latency" | "bandwidth" | "security" | "cost")[] = [];
  if (i.maxLatencyNs !== undefined && !(latencyNs <= i.maxLatencyNs)) out.push("latency");
  if (i.minBandwidthBps !== undefined && !(throughputBps >= i.minBandwidthBps)) out.push("bandwidth");
  if (i.secure === true && !p.secure) out.push("security");
  if (i.maxCostPerGB !== undefined && !(p.costPerGB <= i.maxCostPerGB)) out.push("cost");
  return out;
}

/** Header of requests.csv. */
export const REQUESTS_CSV_HEADER =
  "policy,client,anycast,intent,flow,start_ns,size_bytes,fct_ns,latency_ns,throughput_bps,instance,path,pinned,secure,cost_per_gb,misses";

/**
 * requests.csv of a run with an intent mesh: one row per request (flow client -> anycast node that started before the
 * run ended), by policy, client and flow id: its measured latency (ns per one-way trip) and throughput (bits/s), the
 * path in force at its start (nodes joined by `-`; `instance` the node before the anycast node) and the bounds it
 * missed (`;`-joined, empty when it met its intent). Empty fct/latency/throughput: the request never finished.
 */
export function requestsCsv(
  scenario: Scenario,
  facts: IntentWorkloadFacts,
  results: readonly RunRecords[],
): string {
  const lines = [REQUESTS_CSV_HEADER];
  const num = (x: number | null): string => (x === null ? "" : formatCsvNumber(x));
  for (const r of results) {
    for (const q of intentRequests(scenario, facts, r).flat()) {
      lines.push(
        [
          csvField(r.label),
          csvField(q.node),
          csvField(q.anycast),
          csvField(q.intent),
          q.flowId,
          q.startNs,
          q.sizeBytes,
          num(q.fctNs),
          num(q.latencyNs),
          num(q.throughputBps),
          csvField(q.path.at(-2) ?? ""),
          csvField(q.path.join("-")),
          q.pinned,
          q.secure,
          formatCsvNumber(q.costPerGB),
          q.misses.join(";"),
        ].join(","),
      );
    }
  }
  return `${lines.join("\n")}\n`;
}
