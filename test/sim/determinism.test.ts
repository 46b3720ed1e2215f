import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { describe, it } from "node:test";
import { bundledFlowSizeCdf } from "../../models/workload/flow-size-cdf.ts";
import { PoissonFlowSource, scaleDemandsToMlu, uniformDemands } from "../../models/workload/poisson-flows.ts";
import { RandomStreams } from "../../sim/kernel/rng.ts";
import { Simulator } from "../../sim/kernel/simulator.ts";
import { TraceBus } from "../../sim/metrics/trace.ts";
import { allPairsShortestPaths } from "../../sim/substrate/routing.ts";
import { readBundledZoo } from "../../sim/substrate/zoo-graphml.ts";
import { FlowNetwork } from "../../sim/transport/flow-network.ts";

/** Runs 3000 flows on Zoo Abilene and returns a digest of every flow record, in completion order. */
function digestOfRun(seed: number, run: number, scheduler: "calendar" | "heap" = "calendar"): string {
  const topo = readBundledZoo("Abilene");
  const routes = allPairsShortestPaths(topo, { weight: "delay" });
  const route = (s: number, d: number) => routes.path(s, d)!;
  const sim = new Simulator({ scheduler });
  const trace = new TraceBus();
  const net = new FlowNetwork(sim, topo, trace);
  const hash = createHash("sha256");
  trace.on("flowEnd", (r) => hash.update(`${JSON.stringify(r)}\n`));
  new PoissonFlowSource(sim, net, {
    demands: scaleDemandsToMlu(topo, uniformDemands(topo, 1), route, 0.8),
    sizes: bundledFlowSizeCdf("websearch"),
    streams: new RandomStreams(seed, run),
    route,
    maxFlows: 3000,
  }).start();
  sim.run();
  return hash.digest("hex");
}

describe("determinism", () => {
  it("gives identical flow records for the same seed and run", () => {
    assert.equal(digestOfRun(1, 0), digestOfRun(1, 0));
  });

  it("gives different flow records for another run number or seed", () => {
    const base = digestOfRun(1, 0);
    assert.notEqual(digestOfRun(1, 1), base);
    assert.notEqual(digestOfRun(2, 0), base);
  });

  it("gives identical flow records with either scheduler", () => {
    assert.equal(digestOfRun(3, 0, "heap"), digestOfRun(3, 0, "calendar"));
  });
});
