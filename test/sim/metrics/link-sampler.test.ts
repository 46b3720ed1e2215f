import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { MAX_PRIORITY, MIN_PRIORITY } from "../../../sim/kernel/event-queue.ts";
import { Simulator } from "../../../sim/kernel/simulator.ts";
import { LinkUtilizationSampler } from "../../../sim/metrics/link-sampler.ts";
import { type LinkIntervalEvent, TraceBus } from "../../../sim/metrics/trace.ts";
import { type Topology, TopologyBuilder } from "../../../sim/substrate/topology.ts";
import { FlowNetwork } from "../../../sim/transport/flow-network.ts";

const MS = 1_000_000;
const MB = 1_000_000;

/**
 *   a <---- 1 Gbps, no delay ----> b      (link 0 = a->b, link 1 = b->a)
 */
function pair(): Topology {
  return new TopologyBuilder("a-b", "test")
    .addNode({ id: "a" })
    .addNode({ id: "b" })
    .addLink("a", "b", { capacityBps: 1e9, delayNs: 0 })
    .build();
}

interface Run {
  topo: Topology;
  sim: Simulator;
  net: FlowNetwork;
  sampler: LinkUtilizationSampler;
  events: LinkIntervalEvent[];
}

/** A sampler with 1 ms intervals on {@link pair}; `flows` are (start ns, bytes) on a->b. */
function run(flows: [startNs: number, bytes: number][], priority?: number): Run {
  const topo = pair();
  const sim = new Simulator();
  const trace = new TraceBus();
  const net = new FlowNetwork(sim, topo, trace);
  const events: LinkIntervalEvent[] = [];
  trace.on("linkInterval", (e) => events.push(e));
  const sampler = new LinkUtilizationSampler(sim, net, { intervalNs: MS, trace, priority });
  for (const [startNs, sizeBytes] of flows) {
    sim.scheduleAt(startNs, () => {
      net.startFlow({ src: 0, dst: 1, sizeBytes, path: [topo.link("a->b")] });
    });
  }
  sim.run();
  return { topo, sim, net, sampler, events };
}

describe("link utilization sampler", () => {
  it("sees a 1 MB flow on a 1 Gbps link at utilization 1 for intervals 0-7, then 0, and stops when idle", () => {
    const { sampler, events } = run([[0, MB]]);
    assert.equal(sampler.stopped, true);
    assert.deepEqual(
      sampler.linkSeries(0).map((p) => p.utilization),
      [1, 1, 1, 1, 1, 1, 1, 1, 0],
    );
    assert.deepEqual(
      sampler.linkSeries(1).map((p) => p.utilization),
      [0, 0, 0, 0, 0, 0, 0, 0, 0],
    );
    assert.deepEqual(
      sampler.mluSeries(),
      Array.from({ length: 9 }, (_, k) => ({ startNs: k * MS, endNs: (k + 1) * MS, mlu: k < 8 ? 1 : 0 })),
    );
    assert.equal(events.length, 9);
    assert.deepEqual(Array.from(events[3]!.bits), [1e6, 0]);
    assert.deepEqual(Array.from(events[3]!.utilization), [1, 0]);
  });

  it("splits the bits of a flow that crosses interval boundaries exactly", () => {
    // Starts at 0.25 ms, ends at 8.25 ms.
    const { sampler } = run([[MS / 4, MB]]);
    assert.deepEqual(
      sampler.linkSeries(0).map((p) => p.bits),
      [750_000, 1e6, 1e6, 1e6, 1e6, 1e6, 1e6, 1e6, 250_000],
    );
  });

  const totals: [name: string, flows: [number, number][]][] = [
    ["one flow", [[0, MB]]],
    [
      "three overlapping flows with awkward sizes and start times",
      [
        [0, 123_457],
        [300_001, MB],
        [1_700_013, 777_777],
      ],
    ],
    [
      "flows arriving exactly on boundaries",
      [
        [MS, 250_000],
        [2 * MS, 500_000],
        [3 * MS, 125_000],
      ],
    ],
  ];
  for (const [name, flows] of totals) {
    it(`adds up to 8 x bytes over all intervals for ${name}`, () => {
      const { sampler } = run(flows);
      const total = sampler.linkSeries(0).reduce((s, p) => s + p.bits, 0);
      const bytes = flows.reduce((s, [, b]) => s + b, 0);
      // Completion times are rounded up to the next ns: at most 1 extra bit per flow on a 1 Gbps link.
      assert.ok(Math.abs(total - 8 * bytes) <= flows.length, `${total} bits vs ${8 * bytes}`);
    });

    it(`gives the same bits bit for bit at MIN_PRIORITY and MAX_PRIORITY for ${name}`, () => {
      const early = run(flows, MIN_PRIORITY).sampler;
      const late = run(flows, MAX_PRIORITY).sampler;
      assert.deepEqual(early.linkSeries(0), late.linkSeries(0));
      assert.deepEqual(early.mluSeries(), late.mluSeries());
    });
  }

  it("reads the same cumulative bits just before and just after a reallocation at the same instant", () => {
    const topo = pair();
    const sim = new Simulator();
    const net = new FlowNetwork(sim, topo);
    const T = 1_234_567;
    const readings: [bits: number, rateOfFlow0: number][] = [];
    const read = () => readings.push([net.linkBitsUntilNow(new Float64Array(2))[0]!, net.rateOf(0)]);
    net.startFlow({ src: 0, dst: 1, sizeBytes: MB, path: [0] });
    sim.scheduleAt(T, read, MIN_PRIORITY);
    sim.scheduleAt(T, () => {
      net.startFlow({ src: 0, dst: 1, sizeBytes: MB, path: [0] }); // queues a reallocation at MAX_PRIORITY
      sim.schedule(0, read, MAX_PRIORITY); // queued after the reallocation, so runs after it
    });
    sim.run(T);
    assert.deepEqual(readings, [
      [T, 1e9],
      [T, 0.5e9],
    ]);
  });

  it("closes a partial last interval on flush and records nothing after it", () => {
    const topo = pair();
    const sim = new Simulator();
    const net = new FlowNetwork(sim, topo);
    const sampler = new LinkUtilizationSampler(sim, net, { intervalNs: MS });
    net.startFlow({ src: 0, dst: 1, sizeBytes: MB, path: [0] });
    sim.run(2.5 * MS);
    sampler.flush();
    sampler.flush();
    assert.deepEqual(sampler.mluSeries(), [
      { startNs: 0, endNs: MS, mlu: 1 },
      { startNs: MS, endNs: 2 * MS, mlu: 1 },
      { startNs: 2 * MS, endNs: 2.5 * MS, mlu: 1 },
    ]);
    sim.run();
    assert.equal(sampler.intervals, 3);
  });

  it("divides by the capacity in force at the interval's end when capacity changes mid-interval", () => {
    const topo = pair();
    const sim = new Simulator();
    const net = new FlowNetwork(sim, topo);
    const sampler = new LinkUtilizationSampler(sim, net, { intervalNs: MS });
    net.startFlow({ src: 0, dst: 1, sizeBytes: MB, path: [0] });
    sim.scheduleAt(MS / 2, () => net.setLinkCapacity(0, 0.5e9));
    sim.run(MS);
    sampler.stop();
    // 0.5 ms at 1 Gbps + 0.5 ms at 0.5 Gbps = 750 kbit, against 0.5 Gbps x 1 ms = 500 kbit.
    assert.deepEqual(sampler.linkSeries(0), [
      { startNs: 0, endNs: MS, capacityBps: 0.5e9, bits: 750_000, utilization: 1.5 },
    ]);
  });

  it("summarizes peak, mean and p95 MLU and the most utilized links", () => {
    const { sampler } = run([[0, MB]]);
    assert.deepEqual(sampler.summary(), {
      intervals: 9,
      intervalNs: MS,
      startNs: 0,
      endNs: 9 * MS,
      peakMlu: 1,
      peakMluStartNs: 0,
      meanMlu: 8 / 9,
      p95Mlu: 1,
      topLinks: [
        { link: 0, id: "a->b", meanUtilization: 8 / 9 },
        { link: 1, id: "b->a", meanUtilization: 0 },
      ],
    });
  });

  it("keeps every link of every interval as samples, capacities stored once while unchanged", () => {
    const { sampler } = run([[MS / 4, MB]]);
    const s = sampler.samples();
    assert.equal(s.linkCount, 2);
    assert.equal(s.startNs.length, 9);
    assert.deepEqual([s.startNs[0], s.endNs[0], s.bits[0], s.bits[1]], [0, MS, 750_000, 0]);
    assert.deepEqual(s.capacityFrom, [0]);
    assert.deepEqual([...s.capacityBps[0]!], [1e9, 1e9]);
  });

  it("rejects an interval that is not a positive integer of ns", () => {
    const topo = pair();
    const sim = new Simulator();
    const net = new FlowNetwork(sim, topo);
    for (const intervalNs of [0, -5, 1.5]) {
      assert.throws(
        () => new LinkUtilizationSampler(sim, net, { intervalNs }),
        new RegExp(`intervalNs must be a positive integer of ns, got ${intervalNs}`),
      );
    }
  });
});
