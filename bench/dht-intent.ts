/**
 * The emulated registry's lookups as intent-mesh-emulate.yaml sees them (root): its Abilene with the intent mesh's
 * anycast nodes, links at the config's rateScale and time dilation (delays / timeCompression), one bittorrent-dht
 * process per PoP started as the emulator's engine starts them (emulate/engine.ts). Then, as the instance directory
 * does (models/services/instance-directory.ts): every instance registers from its node, all at once; then
 * `--rounds` rounds in which every client discovers its service, all at once.
 *
 * Reported, wall-clock and simulated (wall x timeCompression) ms: each registration's completion, each discovery
 * (the directory's "lookup"), and each DHT lookup inside them (get, put, announce, get_peers) as the DHT process
 * timed it; DHT lookups per operation; instances found per discovery; and, for scale, the largest round trip
 * between two PoPs along the default routes (configured delays, simulated ms).
 *
 * `npm run bench -- dht-intent` (root); options: `--k n` (bucket size and lookup width; default: the engine's,
 * `intents.registry.replication`), `--rpcTimeout ms` (simulated ms; default the engine's), `--rounds n` (4),
 * `--config file`. Writes results/bench/dht-intent[-<label>].json with `--label`.
 */

import { loadavg } from "node:os";
import { join } from "node:path";
import { probe } from "../emulate/capabilities.ts";
import { planPathEstimates } from "../emulate/dht/daemons.ts";
import { engineRegistryOptions, startRegistry } from "../emulate/dht/registry.ts";
import { ProcessRunner } from "../emulate/runner.ts";
import { scaleTopology } from "../emulate/scaling.ts";
import { down, up } from "../emulate/substrate.ts";
import { loadConfig } from "../experiments/config/load.ts";
import { buildScenario } from "../experiments/scenario.ts";
import { instanceResourceId } from "../models/services/instance-directory.ts";
import { resolveMesh } from "../models/services/intent-mesh.ts";
import type { OperationStats } from "../models/services/registry.ts";
import type { BenchOptions, BenchResult } from "./run.ts";

function dist(ms: readonly number[]) {
  const v = [...ms].sort((a, b) => a - b);
  const q = (p: number) =>
    v.length ? Number(v[Math.min(v.length - 1, Math.floor(p * v.length))]!.toFixed(1)) : null;
  return {
    n: v.length,
    min: q(0),
    p50: q(0.5),
    p90: q(0.9),
    max: v.length ? Number(v[v.length - 1]!.toFixed(1)) : null,
  };
}

/** Wall and simulated distributions of wall-clock ns samples. */
function both(ns: readonly number[], c: number) {
  return { wallMs: dist(ns.map((x) => x / 1e6)), simulatedMs: dist(ns.map((x) => (x / 1e6) * c)) };
}

const positive = (opts: BenchOptions, key: string): number | undefined => {
  if (opts[key] === undefined) return undefined;
  const n = Number(opts[key]);
  if (!(n > 0))
    throw new Error(`bench dht-intent: --${key}: expected a number > 0, got ${JSON.stringify(opts[key])}`);
  return n;
};

export async function run(opts: BenchOptions): Promise<BenchResult> {
  if (process.getuid?.() !== 0) return { skipped: "emulation needs root" };
  const file =
    opts.config ?? join(import.meta.dirname ?? ".", "../experiments/configs/intent-mesh-emulate.yaml");
  const loaded = loadConfig(file);
  const { scenario } = buildScenario(loaded, 0);
  const intents = loaded.config.intents;
  const em = loaded.config.emulation;
  if (!intents || !scenario.registry || !em)
    throw new Error(`bench dht-intent: ${file}: needs intents (with registry) and emulation`);
  const mesh = resolveMesh(intents);
  const c = em.timeCompression ?? 1;
  const rounds = positive(opts, "rounds") ?? 4;
  const k = positive(opts, "k");
  const rpcTimeout = positive(opts, "rpcTimeout");
  const registryOpts = {
    ...engineRegistryOptions(scenario.registry, c),
    ...(k === undefined ? {} : { k }),
    ...(rpcTimeout === undefined ? {} : { rpcTimeoutMs: rpcTimeout / c }),
  };
  const loadBefore = loadavg()[0]!;
  const cpu0 = process.cpuUsage();
  const runner = new ProcessRunner();
  const topo = scaleTopology(scenario.topology, em.rateScale ?? 1, c);
  const net = await up(topo, { capabilities: await probe(runner), runner });
  try {
    const estimate = (from: string) => planPathEstimates(net.plan, from);
    let diameterMs = 0;
    for (const a of scenario.registry.nodes)
      for (const b of scenario.registry.nodes) {
        const there = estimate(a)({ metadata: { node: b } } as never);
        const back = estimate(b)({ metadata: { node: a } } as never);
        if (there && back) diameterMs = Math.max(diameterMs, ((there.latencyNs + back.latencyNs) / 1e6) * c);
      }
    const t0 = performance.now();
    const reg = await startRegistry(net, registryOpts);
    const startMs = performance.now() - t0;
    try {
      const lookupNs: number[] = [];
      const perOp: number[] = [];
      const keep = (s: OperationStats) => {
        lookupNs.push(...(s.lookupLatenciesNs ?? []));
        perOp.push(s.lookups);
      };
      const regNs: number[] = [];
      let regFailures = 0;
      const tReg = process.hrtime.bigint();
      const jobs = [...mesh.instances].flatMap(([service, nodes]) =>
        nodes.map((node) =>
          reg
            .client(node)
            .registerResource(
              instanceResourceId(service, node),
              { address: node, node, network: "substrate", capabilities: [service], health: "up" },
              [],
            )
            .then(
              (s) => {
                regNs.push(Number(process.hrtime.bigint() - tReg));
                keep(s);
              },
              () => regFailures++,
            ),
        ),
      );
      await Promise.all(jobs);
      const registerLookupNs = lookupNs.splice(0);
      const registerPerOp = perOp.splice(0);
      const discoverNs: number[] = [];
      const found: number[] = [];
      let discoverFailures = 0;
      for (let r = 0; r < rounds; r++)
        await Promise.all(
          mesh.clients.map((cl) =>
            reg
              .client(cl.node)
              .discoverResources({ service: cl.service })
              .then(
                (d) => {
                  discoverNs.push(d.stats.latencyNs);
                  keep(d.stats);
                  found.push(d.matches.length / (mesh.instances.get(cl.service)?.length ?? 1));
                },
                () => discoverFailures++,
              ),
          ),
        );
      const cpu = process.cpuUsage(cpu0);
      return {
        resultName: opts.label ? `dht-intent-${opts.label}` : "dht-intent",
        config: file,
        timeCompression: c,
        registryOptions: registryOpts,
        loadAverage: { before: loadBefore, after: loadavg()[0] },
        benchProcessCpuS: (cpu.user + cpu.system) / 1e6,
        largestRttSimulatedMs: Number(diameterMs.toFixed(2)),
        registryStartWallMs: Math.round(startMs),
        registration: {
          instances: jobs.length,
          failures: regFailures,
          completion: both(regNs, c),
          dhtLookupsPerOperation: dist(registerPerOp),
          dhtLookup: both(registerLookupNs, c),
        },
        discovery: {
          operations: discoverNs.length,
          failures: discoverFailures,
          latency: both(discoverNs, c),
          dhtLookupsPerOperation: dist(perOp),
          dhtLookup: both(lookupNs, c),
          shareOfInstancesFound: dist(found),
        },
      };
    } finally {
      await reg.close();
    }
  } finally {
    await down(net.runId, { runner });
  }
}
