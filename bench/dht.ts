/**
 * The simulated Kademlia DHT (sim/services/kademlia.ts; Maymounkov & Mazières 2002) on the bundled Topology Zoo
 * Geant2012, DHT nodes placed uniformly on its PoPs, every message delayed by the least-delay path between them.
 * k = 20, alpha = 3, RPC timeout 1 s, republish every hour.
 *
 * 1. Hops against size: for N = 64, 128, ..., 16,384 (routing tables from the warm start), 1,000 node lookups for
 *    random ids and 1,000 value lookups of 100 stored keys, each from a random node; median and mean hops (the
 *    referral depth, sim/services/kademlia-lookup.ts). Kademlia's bound is O(log N) hops.
 * 2. Churn: N = 16,384, 200 keys stored, then one simulated hour with 20% of the nodes replaced (Poisson
 *    departures, each matched by a fresh node joining through a random live one), republish on, 3,600 value
 *    lookups (one per simulated second) from random live nodes. Targets: >= 99% of lookups find the value; the
 *    whole scenario (build, warm start, stores, the hour) under 60 s of wall time.
 *
 * `npm run bench -- dht`, or `node --import tsx bench/dht.ts churn` for the churn scenario alone (for farm-bench).
 */
import { RandomStreams } from "../sim/kernel/rng.ts";
import { Simulator } from "../sim/kernel/simulator.ts";
import { KademliaNetwork, type LookupResult, substrateDelay } from "../sim/services/kademlia.ts";
import { startChurn } from "../sim/services/kademlia-churn.ts";
import type { Topology } from "../sim/substrate/topology.ts";
import { readBundledZoo } from "../sim/substrate/zoo-graphml.ts";
import type { BenchResult } from "./run.ts";

const SECOND = 1e9;
const HOUR = 3600e9;

function quantile(xs: readonly number[], q: number): number {
  const s = xs.slice().sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? Number.NaN;
}

function mean(xs: readonly number[]): number {
  return xs.reduce((a, b) => a + b, 0) / xs.length;
}

function build(topo: Topology, n: number, seed: number) {
  const sim = new Simulator();
  const streams = new RandomStreams(seed);
  const net = new KademliaNetwork(sim, streams, substrateDelay(topo));
  const place = streams.stream("bench/place");
  for (let i = 0; i < n; i++) net.addNode(place.int(topo.nodeCount));
  net.warmStart(streams);
  return { sim, streams, net };
}

function storeKeys(net: KademliaNetwork, rng: { int(n: number): number }, keys: number): void {
  for (let i = 0; i < keys; i++)
    net.put(net.liveAt(rng.int(net.liveCount)), `key/${i}`, [{ publisher: `p${i}`, version: 1, payload: i }]);
}

/** Hops of node and value lookups on a churn-free network of `n` nodes. */
export function hopsAt(topo: Topology, n: number, seed = 1) {
  const { sim, streams, net } = build(topo, n, seed);
  const rng = streams.stream("bench/lookups");
  storeKeys(net, rng, 100);
  sim.run();
  const nodeHops: number[] = [];
  const valueHops: number[] = [];
  const latency: number[] = [];
  let found = 0;
  for (let i = 0; i < 1000; i++) {
    net.findNode(net.liveAt(rng.int(net.liveCount)), Math.floor(rng.uniform() * 2 ** 32), (r) => {
      nodeHops.push(r.hops);
    });
    net.findValue(net.liveAt(rng.int(net.liveCount)), `key/${i % 100}`, (r: LookupResult) => {
      if (r.items === undefined) return;
      found++;
      valueHops.push(r.hops);
      latency.push(r.latencyNs);
    });
  }
  const before = net.counters.messages;
  sim.run();
  return {
    nodes: n,
    nodeLookupHops: { median: quantile(nodeHops, 0.5), mean: mean(nodeHops), p90: quantile(nodeHops, 0.9) },
    valueLookupHops: {
      median: quantile(valueHops, 0.5),
      mean: mean(valueHops),
      p90: quantile(valueHops, 0.9),
    },
    valueFound: found / 1000,
    valueLatencyMedianMs: quantile(latency, 0.5) / 1e6,
    messagesPerLookup: (net.counters.messages - before) / 2000,
  };
}

/** The churn scenario; returns success and wall time. */
export function churnAt(topo: Topology, n = 16_384, seed = 1) {
  const t0 = process.hrtime.bigint();
  const { sim, streams, net } = build(topo, n, seed);
  const rng = streams.stream("bench/lookups");
  storeKeys(net, rng, 200);
  sim.run(60 * SECOND);
  net.startRepublish();
  const churn = startChurn(net, streams, {
    fractionPerHour: 0.2,
    hosts: topo.nodeCount,
    untilNs: sim.now + HOUR,
  });
  let ok = 0;
  let total = 0;
  const hops: number[] = [];
  const start = sim.now;
  for (let i = 0; i < 3600; i++) {
    sim.scheduleAt(start + (i + 1) * SECOND, () => {
      net.findValue(net.liveAt(rng.int(net.liveCount)), `key/${i % 200}`, (r) => {
        total++;
        if (r.items !== undefined) {
          ok++;
          hops.push(r.hops);
        }
      });
    });
  }
  sim.run(start + HOUR + 60 * SECOND);
  const wallSeconds = Number(process.hrtime.bigint() - t0) / 1e9;
  return {
    nodes: n,
    churnPerHour: 0.2,
    leaves: churn.leaves,
    joins: churn.joins,
    lookups: total,
    success: ok / total,
    valueLookupHopsMedian: quantile(hops, 0.5),
    counters: { ...net.counters },
    events: sim.executed,
    wallSeconds,
  };
}

/** Least-squares line y = a + b log2(N) and its r^2: hops growing as log N show as a straight line. */
function logFit(ns: readonly number[], ys: readonly number[]) {
  const xs = ns.map((n) => Math.log2(n));
  const mx = mean(xs);
  const my = mean(ys);
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  xs.forEach((x, i) => {
    sxy += (x - mx) * (ys[i]! - my);
    sxx += (x - mx) ** 2;
    syy += (ys[i]! - my) ** 2;
  });
  const slope = sxy / sxx;
  return { perDoublingOfN: slope, interceptAtN1: my - slope * mx, r2: (sxy * sxy) / (sxx * syy) };
}

export function run(): BenchResult {
  const topo = readBundledZoo("Geant2012");
  const sizes = [64, 128, 256, 512, 1024, 2048, 4096, 8192, 16_384];
  const hops = sizes.map((n) => hopsAt(topo, n));
  const churn = churnAt(topo);
  return {
    workload:
      "Kademlia k=20 alpha=3 on Geant2012 (nodes on PoPs uniformly): hops for 64..16,384 nodes; 16,384 nodes with 20%/h churn for 1 h",
    target: { churnSuccess: 0.99, wallSeconds16k: 60 },
    reference: "Maymounkov & Mazières, Kademlia, IPTPS 2002: lookups take O(log N) hops",
    hops,
    meanNodeLookupHopsFit: logFit(
      sizes,
      hops.map((h) => h.nodeLookupHops.mean),
    ),
    meanValueLookupHopsFit: logFit(
      sizes,
      hops.map((h) => h.valueLookupHops.mean),
    ),
    churn,
  };
}

if (process.argv[1]?.endsWith("dht.ts") && process.argv[2] === "churn") {
  console.log(JSON.stringify(churnAt(readBundledZoo("Geant2012")), null, 2));
}
