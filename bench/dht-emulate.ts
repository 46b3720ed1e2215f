/**
 * The registry in both engines on the bundled Topology Zoo Abilene (11 PoPs) and Geant2012 (40 PoPs), link delays
 * from the coordinates:
 * the emulator (root: namespaces, one bittorrent-dht process each, emulate/dht) and the simulator (Kademlia model,
 * sim/services, one DHT node per PoP joined by messages). One resource per node registers from its own node, then
 * every node discovers the service; then 20% of the nodes' DHT processes (rounded up: 3 of 11) are killed and every
 * node still running discovers again. Reported: register and discover round trips (median and max, ms; wall clock
 * in the emulator, simulated in the simulator), resources found, and resources lost although a replica lived.
 *
 * `npm run bench -- dht-emulate` (root).
 */

import { probe } from "../emulate/capabilities.ts";
import { startRegistry } from "../emulate/dht/registry.ts";
import { ProcessRunner } from "../emulate/runner.ts";
import { down, up } from "../emulate/substrate.ts";
import type { Intent } from "../models/services/intent.ts";
import type { RegistryService, ResourceMetadata } from "../models/services/registry.ts";
import { RandomStreams } from "../sim/kernel/rng.ts";
import { Simulator } from "../sim/kernel/simulator.ts";
import { deployRegistry } from "../sim/services/registry.ts";
import { settle } from "../sim/services/settle.ts";
import type { Topology } from "../sim/substrate/topology.ts";
import { readBundledZoo } from "../sim/substrate/zoo-graphml.ts";
import type { BenchResult } from "./run.ts";

const OFFER: Intent = { service: "video", maxLatencyNs: 2_000_000, minBandwidthBps: 1e9 };

function summary(ns: readonly number[]) {
  const ms = ns.map((x) => x / 1e6).sort((a, b) => a - b);
  return { medianMs: ms[Math.floor(ms.length / 2)], maxMs: ms[ms.length - 1], n: ms.length };
}

/** Registers one resource per node, discovers from every node; `drive` settles a promise in the engine's time. */
async function exercise(
  reg: RegistryService,
  nodes: readonly string[],
  drive: <T>(p: Promise<T>) => Promise<T>,
  addressOf: (node: string) => string,
  network: string,
) {
  const register: number[] = [];
  for (const n of nodes) {
    const md: ResourceMetadata = {
      address: addressOf(n),
      node: n,
      network,
      capabilities: ["video"],
      health: "up",
    };
    register.push((await drive(reg.client(n).registerResource(`video-${n}`, md, [OFFER]))).latencyNs);
  }
  const discover: number[] = [];
  const found: number[] = [];
  for (const n of nodes) {
    const d = await drive(reg.client(n).discoverResources({ service: "video" }));
    discover.push(d.stats.latencyNs);
    found.push(d.matches.length);
  }
  return { register: summary(register), discover: summary(discover), foundMin: Math.min(...found) };
}

async function emulated(topo: Topology) {
  const runner = new ProcessRunner();
  const run = await up(topo, { capabilities: await probe(runner), runner });
  try {
    const reg = await startRegistry(run, { timeoutMs: 60_000 });
    try {
      const nodes = run.nodes.map((n) => n.id);
      const addr = (id: string) => run.nodes.find((n) => n.id === id)!.addresses[0]!;
      const before = await exercise(reg, nodes, (p) => p, addr, topo.name);
      const victims = nodes.slice(0, Math.ceil(0.2 * nodes.length));
      for (const v of victims) await reg.kill(v);
      const live = nodes.filter((n) => !victims.includes(n));
      const ids = nodes.map((n) => `video-${n}`);
      const replicated: string[] = [];
      for (const id of ids) {
        const held = await Promise.all(live.map((n) => reg.client(n).holds(id)));
        if (held.some(Boolean)) replicated.push(id);
      }
      let lost = 0;
      const discoverAfter: number[] = [];
      for (const n of live) {
        const d = await reg.client(n).discoverResources({ service: "video" });
        discoverAfter.push(d.stats.latencyNs);
        const seen = new Set(d.matches.map((m) => m.resource.id));
        lost += replicated.filter((id) => !seen.has(id)).length;
      }
      return {
        ...before,
        killed: victims,
        replicatedAfterKill: replicated.length,
        lostWithLiveReplica: lost,
        discoverAfterKill: summary(discoverAfter),
      };
    } finally {
      await reg.close();
    }
  } finally {
    await down(run.runId, { runner });
  }
}

async function simulated(topo: Topology, k: number) {
  const sim = new Simulator();
  const reg = deployRegistry(sim, new RandomStreams(1), topo, { k });
  return exercise(
    reg,
    reg.nodes,
    (p) => settle(sim, p),
    (n) => n,
    topo.name,
  );
}

async function network(name: string) {
  const topo = readBundledZoo(name);
  // k = 20 (the paper's and bittorrent-dht's) exceeds Abilene's 11 nodes: every node then stores every key and a
  // simulated discovery is answered from the asking node's own store; k = 4 makes lookups cross the network.
  const sim = { k20: await simulated(topo, 20), k4: await simulated(topo, 4) };
  const workload = `${name} (${topo.nodeCount} PoPs): one resource per PoP registers, every PoP discovers; then 20% of the DHT processes (rounded up) are killed`;
  if (process.getuid?.() !== 0) return { workload, skipped: "emulation needs root", simulated: sim };
  return { workload, simulated: sim, emulated: await emulated(topo) };
}

export async function run(): Promise<BenchResult> {
  const names = (process.env.BENCH_DHT_TOPOLOGIES ?? "Abilene,Geant2012").split(",").map((s) => s.trim());
  const networks: Record<string, Awaited<ReturnType<typeof network>>> = {};
  for (const name of names) networks[name] = await network(name);
  return { networks };
}
