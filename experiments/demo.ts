/**
 * The end-to-end demo that `npm start` runs until the experiment runner lands: a bundled Topology Zoo network,
 * a uniform traffic matrix scaled so shortest-path routing loads the busiest link to `load`, Poisson flow arrivals
 * per node pair with DCTCP web-search sizes, shortest paths by propagation delay, flow-level max-min transport.
 */
import { bundledFlowSizeCdf } from "../models/workload/flow-size-cdf.ts";
import { PoissonFlowSource, scaleDemandsToMlu, uniformDemands } from "../models/workload/poisson-flows.ts";
import { RandomStreams } from "../sim/kernel/rng.ts";
import { Simulator } from "../sim/kernel/simulator.ts";
import { FlowStatsCollector, type FlowStatsSummary } from "../sim/metrics/flow-stats.ts";
import { LinkUtilizationSampler, type LinkUtilizationSummary } from "../sim/metrics/link-sampler.ts";
import { TraceBus } from "../sim/metrics/trace.ts";
import { allPairsShortestPaths } from "../sim/substrate/routing.ts";
import type { Topology, TopologySummary } from "../sim/substrate/topology.ts";
import { readBundledZoo } from "../sim/substrate/zoo-graphml.ts";
import { createTransport } from "../sim/transport/models.ts";

export interface DemoOptions {
  /** A bundled Topology Zoo network (default "Abilene"). */
  topology?: string;
  /** Or an already loaded topology (takes precedence). */
  topo?: Topology;
  /** Peak offered link utilization under shortest paths, (0, 1.5]; default 0.6. */
  load?: number;
  /** Flows to simulate; default 20000. */
  flows?: number;
  seed?: number;
  run?: number;
  /** Link utilization sampling interval, ns; default 100 ms. */
  intervalNs?: number;
}

export interface DemoResult {
  topology: TopologySummary;
  load: number;
  seed: number;
  run: number;
  offeredBps: number;
  simulatedNs: number;
  wallSeconds: number;
  events: number;
  flows: FlowStatsSummary;
  links: LinkUtilizationSummary;
}

export function runDemo(opts: DemoOptions = {}): DemoResult {
  const t0 = process.hrtime.bigint();
  const topo = opts.topo ?? readBundledZoo(opts.topology ?? "Abilene");
  const load = opts.load ?? 0.6;
  const seed = opts.seed ?? 1;
  const run = opts.run ?? 0;
  const routes = allPairsShortestPaths(topo, { weight: "delay" });
  const route = (s: number, d: number) => {
    const p = routes.path(s, d);
    if (!p) throw new Error(`${topo.name}: no path from ${topo.nodes[s]!.id} to ${topo.nodes[d]!.id}`);
    return p;
  };
  const demands = scaleDemandsToMlu(topo, uniformDemands(topo, 1), route, load);
  const sim = new Simulator();
  const trace = new TraceBus();
  const net = createTransport("fluid", sim, topo, trace);
  const flowStats = new FlowStatsCollector(trace);
  const sampler = new LinkUtilizationSampler(sim, net, { intervalNs: opts.intervalNs ?? 100_000_000 });
  new PoissonFlowSource(sim, net, {
    demands,
    sizes: bundledFlowSizeCdf("websearch"),
    streams: new RandomStreams(seed, run),
    route,
    maxFlows: opts.flows ?? 20_000,
  }).start();
  sim.run();
  sampler.flush();
  return {
    topology: topo.summary(),
    load,
    seed,
    run,
    offeredBps: demands.reduce((a, d) => a + d.rateBps, 0),
    simulatedNs: sim.now,
    wallSeconds: Number(process.hrtime.bigint() - t0) / 1e9,
    events: sim.executed,
    flows: flowStats.summary(),
    links: sampler.summary(),
  };
}
