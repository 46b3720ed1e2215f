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
import { allPairsShortestPaths } from "../sim/substrate/routing.ts";
import type { Topology } from "../sim/substrate/topology.ts";

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

/** The intent satisfaction of one policy's run records (see the module doc). */
export function intentSatisfaction(
  scenario: Scenario,
  facts: IntentWorkloadFacts,
  r: RunRecords,
): IntentSatisfaction {
  const topo = scenario.topology;
  const table = allPairsShortestPaths(topo, { weight: "delay" });
  const schedule = scenarioSchedule(scenario);
  const clients = facts.clients.map((c) => {
    const src = topo.node(c.node);
    const dst = topo.node(c.anycast);
    const intent = parseIntent(c.intent);
    const requests = schedule.flows.filter(
      (f) => f.src === src && f.dst === dst && f.startNs < r.simulatedNs,
    ).length;
    return { c, src, dst, intent, requests, pinned: pinnedAt(r.actions, c.node, c.anycast) };
  });
  const byPair = new Map(clients.map((x) => [x.src * topo.nodeCount + x.dst, { x, rows: [] as number[][] }]));
  for (const f of r.flows.byFlowId()) {
    const slot = byPair.get(f.src * topo.nodeCount + f.dst);
    if (slot) slot.rows.push([f.sizeBytes, f.fctNs, f.idealFctNs, f.startNs]);
  }
  const out: ClientSatisfaction[] = [];
  for (const { x, rows } of byPair.values()) {
    const dStar = table.cost(x.src, x.dst);
    const defaultPath = topo.pathNodes(table.path(x.src, x.dst) ?? []);
    const lat: number[] = [];
    const thr: number[] = [];
    const missed = { latency: 0, bandwidth: 0, security: 0, cost: 0, unfinished: 0 };
    let met = 0;
    for (const [size, fct, ideal, start] of rows as [number, number, number, number][]) {
      const k = startupTrips(scenario, size);
      const latency = (fct - Math.max(0, ideal - dStar)) / k;
      const throughput = (size * 8e9) / Math.max(1, fct - (k - 1) * dStar);
      lat.push(latency);
      thr.push(throughput);
      const props = pathProps(topo, x.pinned(start) ?? defaultPath);
      const miss = misses(x.intent, latency, throughput, props);
      for (const m of miss) missed[m]++;
      if (miss.length === 0) met++;
    }
    missed.unfinished = Math.max(0, x.requests - rows.length);
    out.push({
      node: x.c.node,
      intent: x.c.intent,
      requests: x.requests,
      met,
      missed,
      medianLatencyNs: median(lat),
      medianThroughputBps: median(thr),
    });
  }
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
