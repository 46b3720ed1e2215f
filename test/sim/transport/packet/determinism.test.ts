/**
 * The packet model is deterministic: the same flows (drawn from the same seed) give byte-identical records and
 * counters, run after run; another seed gives other results.
 *
 *     s0..s3 ---- l ====== r ---- d0..d3     (a dumbbell: 1 Gbit/s access, 100 Mbit/s bottleneck)
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { RandomStreams } from "../../../../sim/kernel/rng.ts";
import { Simulator } from "../../../../sim/kernel/simulator.ts";
import { type FlowRecord, TraceBus } from "../../../../sim/metrics/trace.ts";
import { allPairsShortestPaths } from "../../../../sim/substrate/routing.ts";
import { TopologyBuilder } from "../../../../sim/substrate/topology.ts";
import { PacketNetwork } from "../../../../sim/transport/packet-network.ts";

function dumbbell() {
  const b = new TopologyBuilder("dumbbell", "determinism.test.ts").addNode({ id: "l" }).addNode({ id: "r" });
  b.addLink("l", "r", { capacityBps: 100e6, delayNs: 10e6 });
  for (let i = 0; i < 4; i++) {
    b.addNode({ id: `s${i}` }).addNode({ id: `d${i}` });
    b.addLink(`s${i}`, "l", { capacityBps: 1e9, delayNs: 1e6 });
    b.addLink("r", `d${i}`, { capacityBps: 1e9, delayNs: 1e6 });
  }
  return b.build();
}

function run(seed: number): { records: FlowRecord[]; counters: object; drops: number[] } {
  const topo = dumbbell();
  const routes = allPairsShortestPaths(topo, { weight: "delay" });
  const sim = new Simulator();
  const trace = new TraceBus();
  const net = new PacketNetwork(sim, topo, trace, { buffer: { packets: 40 } });
  const records: FlowRecord[] = [];
  trace.on("flowEnd", (r) => records.push(r));
  const rng = new RandomStreams(seed).stream("test/flows");
  let t = 0;
  for (let i = 0; i < 60; i++) {
    const src = topo.node(`s${rng.int(4)}`);
    const dst = topo.node(`d${rng.int(4)}`);
    const sizeBytes = 1000 + rng.int(400_000);
    sim.scheduleAt(t, () => net.startFlow({ src, dst, sizeBytes, path: routes.path(src, dst)! }));
    t += Math.round(rng.exponential(1 / 200) * 1e9);
  }
  sim.run();
  return {
    records,
    counters: { ...net.counters, transmissions: net.transmissions },
    drops: Array.from(net.linkDropsUntilNow(new Float64Array(topo.linkCount))),
  };
}

describe("determinism", () => {
  test("the same seed gives identical records, counters and drops", () => {
    const a = run(11);
    const b = run(11);
    assert.equal(a.records.length, 60);
    assert.ok(
      a.drops.some((d) => d > 0),
      "the case drops packets",
    );
    assert.equal(JSON.stringify(a), JSON.stringify(b));
  });

  test("another seed gives other results", () => {
    assert.notEqual(JSON.stringify(run(11).records), JSON.stringify(run(12).records));
  });
});
