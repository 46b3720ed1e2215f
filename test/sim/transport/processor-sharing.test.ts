/**
 * Queueing-theory check of the flow model: a single link shared max-min fairly is an M/G/1 processor-sharing
 * queue, whose mean slowdown is 1/(1 - rho) for any size distribution (Kleinrock, "Queueing Systems" vol. 2, 1976,
 * section 4.4; the conditional response time E[T | x] = x / (1 - rho) is insensitive to the distribution).
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { bundledFlowSizeCdf } from "../../../models/workload/flow-size-cdf.ts";
import { type Distribution, Exponential, RandomStreams } from "../../../sim/kernel/rng.ts";
import { Simulator } from "../../../sim/kernel/simulator.ts";
import { TraceBus } from "../../../sim/metrics/trace.ts";
import { TopologyBuilder } from "../../../sim/substrate/topology.ts";
import { FlowNetwork } from "../../../sim/transport/flow-network.ts";

const CAPACITY_BPS = 1e9;

function meanSlowdown(rho: number, sizes: Distribution, flows: number, seed: number): number {
  const topo = new TopologyBuilder("one-link", "test")
    .addNode({ id: "s" })
    .addNode({ id: "d" })
    .addLink("s", "d", { capacityBps: CAPACITY_BPS, delayNs: 0 }, false)
    .build();
  const sim = new Simulator();
  const trace = new TraceBus();
  const net = new FlowNetwork(sim, topo, trace);
  const streams = new RandomStreams(seed);
  const gaps = streams.stream("arrivals");
  const sizeRng = streams.stream("sizes");
  const meanGapNs = (sizes.mean() * 8 * 1e9) / (rho * CAPACITY_BPS);
  let sum = 0;
  let done = 0;
  trace.on("flowEnd", (r) => {
    sum += r.slowdown;
    done++;
  });
  let started = 0;
  const arrive = (): void => {
    const sizeBytes = Math.max(1, Math.round(sizes.sample(sizeRng)));
    net.startFlow({ src: topo.node("s"), dst: topo.node("d"), sizeBytes, path: [0] });
    if (++started < flows) sim.schedule(Math.round(gaps.exponential(meanGapNs)), arrive);
  };
  sim.schedule(0, arrive);
  sim.run();
  assert.equal(done, flows);
  return sum / done;
}

describe("one link under Poisson arrivals behaves as M/G/1-PS", () => {
  const distributions: [string, Distribution, number][] = [
    ["exponential sizes (mean 100 kB)", new Exponential(100_000), 200_000],
    ["DCTCP web-search sizes (heavy-tailed empirical CDF)", bundledFlowSizeCdf("websearch"), 300_000],
  ];
  for (const [name, dist, flows] of distributions) {
    for (const rho of [0.3, 0.5, 0.8]) {
      it(`has mean slowdown within 5% of 1/(1-rho) at rho=${rho} with ${name}`, (t) => {
        const expected = 1 / (1 - rho);
        const got = meanSlowdown(rho, dist, flows, 2024);
        const err = Math.abs(got - expected) / expected;
        t.diagnostic(
          `mean slowdown ${got.toFixed(4)} vs ${expected.toFixed(4)} (${(100 * err).toFixed(2)}% off)`,
        );
        assert.ok(
          err < 0.05,
          `mean slowdown ${got.toFixed(4)}, PS theory ${expected.toFixed(4)} (error ${(100 * err).toFixed(2)}%)`,
        );
      });
    }
  }
});
