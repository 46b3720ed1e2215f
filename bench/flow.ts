/**
 * Flow-level benchmark: 1,000,000 flows with DCTCP web-search sizes, Poisson arrivals per node pair (uniform
 * traffic matrix scaled so the busiest link's offered utilization is 50%), shortest paths by delay, on the bundled
 * Topology Zoo Geant2012. Targets: under 60 s wall time and under 2 GiB peak memory.
 */
import { bundledFlowSizeCdf } from "../models/workload/flow-size-cdf.ts";
import { PoissonFlowSource, scaleDemandsToMlu, uniformDemands } from "../models/workload/poisson-flows.ts";
import { RandomStreams } from "../sim/kernel/rng.ts";
import { Simulator } from "../sim/kernel/simulator.ts";
import { TraceBus } from "../sim/metrics/trace.ts";
import { allPairsShortestPaths } from "../sim/substrate/routing.ts";
import { readBundledZoo } from "../sim/substrate/zoo-graphml.ts";
import { FlowNetwork, type TcpStartup } from "../sim/transport/flow-network.ts";
import type { LinkBuffer } from "../sim/transport/fluid-queues.ts";
import type { BenchResult } from "./run.ts";

export function benchFlow(
  opts: {
    flows?: number;
    load?: number;
    seed?: number;
    topology?: string;
    tcp?: TcpStartup | null;
    queue?: LinkBuffer | null;
  } = {},
) {
  const flows = opts.flows ?? 1_000_000;
  const load = opts.load ?? 0.5;
  const t0 = process.hrtime.bigint();
  const topo = readBundledZoo(opts.topology ?? "Geant2012");
  const routes = allPairsShortestPaths(topo, { weight: "delay" });
  const route = (s: number, d: number) => routes.path(s, d)!;
  const sizes = bundledFlowSizeCdf("websearch");
  const demands = scaleDemandsToMlu(topo, uniformDemands(topo, 1e6), route, load);
  const sim = new Simulator();
  const trace = new TraceBus();
  const net = new FlowNetwork(sim, topo, trace, { tcp: opts.tcp ?? null, queue: opts.queue ?? null });
  let done = 0;
  let slowdownSum = 0;
  trace.on("flowEnd", (r) => {
    done++;
    slowdownSum += r.slowdown;
  });
  const source = new PoissonFlowSource(sim, net, {
    demands,
    sizes,
    streams: new RandomStreams(opts.seed ?? 1),
    route,
    maxFlows: flows,
  });
  source.start();
  sim.run();
  const wallSeconds = Number(process.hrtime.bigint() - t0) / 1e9;
  return {
    topology: `${topo.name} (${topo.nodeCount} nodes, ${topo.linkCount} directed links)`,
    flows: done,
    load,
    simulatedSeconds: sim.now / 1e9,
    wallSeconds,
    flowsPerSecond: done / wallSeconds,
    eventsExecuted: sim.executed,
    meanSlowdown: slowdownSum / done,
    reallocations: net.stats.reallocations,
    meanComponentFlows: net.stats.meanComponentFlows,
    peakRssBytes: process.resourceUsage().maxRSS * 1024,
  };
}

export function run(): BenchResult {
  return {
    workload:
      "1e6 flows, DCTCP web-search sizes, Poisson per pair, uniform TM at 50% peak offered utilization, Geant2012",
    target: { wallSeconds: 60, peakRssBytes: 2 * 1024 ** 3 },
    ...benchFlow(),
  };
}
