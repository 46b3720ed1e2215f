import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Simulator } from "../../../sim/kernel/simulator.ts";
import { FlowStatsCollector, percentileNearestRank } from "../../../sim/metrics/flow-stats.ts";
import { TraceBus } from "../../../sim/metrics/trace.ts";
import { type Topology, TopologyBuilder } from "../../../sim/substrate/topology.ts";
import { FlowNetwork } from "../../../sim/transport/flow-network.ts";
import { flowRecord as record } from "../../helpers/flow-record.ts";

/**
 *   a ---- 1 Gbps, delayNs ---> b      (one directed link, index 0)
 */
function twoNodes(delayNs: number): Topology {
  return new TopologyBuilder("a-b", "test")
    .addNode({ id: "a" })
    .addNode({ id: "b" })
    .addLink("a", "b", { capacityBps: 1e9, delayNs }, false)
    .build();
}

describe("nearest-rank percentiles", () => {
  const sample = Float64Array.from([15, 20, 35, 40, 50]);
  const cases: [p: number, expected: number][] = [
    [0, 15],
    [5, 15], // rank ceil(0.25) = 1
    [20, 15], // rank ceil(1) = 1
    [21, 20], // rank ceil(1.05) = 2
    [25, 20], // rank ceil(1.25) = 2
    [30, 20], // rank ceil(1.5) = 2
    [40, 20], // rank ceil(2) = 2
    [50, 35], // rank ceil(2.5) = 3
    [95, 50], // rank ceil(4.75) = 5
    [100, 50],
  ];
  for (const [p, expected] of cases) {
    it(`gives ${expected} as the ${p}th percentile of 15, 20, 35, 40, 50`, () => {
      assert.equal(percentileNearestRank(sample, p), expected);
    });
  }

  it("takes rank exactly p x n / 100 when that is an integer (7th of 100 is the 7th value)", () => {
    const hundred = Float64Array.from({ length: 100 }, (_, i) => i + 1);
    assert.equal(percentileNearestRank(hundred, 7), 7);
    assert.equal(percentileNearestRank(hundred, 99), 99);
  });

  it("returns NaN for an empty sample and rejects p outside [0, 100]", () => {
    assert.ok(Number.isNaN(percentileNearestRank([], 50)));
    assert.throws(() => percentileNearestRank([1], 101), /percentile must be in \[0, 100\], got 101/);
  });
});

describe("flow statistics summary", () => {
  it("computes count, bytes, FCT and slowdown statistics, goodput and mean throughput", () => {
    const c = new FlowStatsCollector();
    // Sizes 1 kB..10 kB, FCT 1..10 us, ideal 1 us each: slowdowns 1..10.
    for (let k = 1; k <= 10; k++) {
      c.add(record({ flow: k, sizeBytes: 1000 * k, startNs: 100 * k, fctNs: 1000 * k, idealFctNs: 1000 }));
    }
    const s = c.summary();
    assert.equal(s.count, 10);
    assert.equal(s.bytes, 55_000);
    assert.deepEqual(s.fctNs, { mean: 5500, p50: 5000, p95: 10_000, p99: 10_000, max: 10_000 });
    assert.deepEqual(s.slowdown, { mean: 5.5, p50: 5, p95: 10, p99: 10, max: 10 });
    assert.equal(s.firstStartNs, 100);
    assert.equal(s.lastEndNs, 11_000);
    // 55 kB x 8 over (11000 - 100) ns.
    assert.equal(s.goodputBps, (55_000 * 8 * 1e9) / 10_900);
    // Every flow moves 1000 bytes per us = 8 Gbps.
    assert.equal(s.meanFlowThroughputBps, 8e9);
    assert.deepEqual(JSON.parse(JSON.stringify(s)), s);
  });

  const bucketCases: [name: string, sizes: number[], counts: number[]][] = [
    ["a 99999-byte flow is small and a 100000-byte flow medium", [99_999, 100_000], [1, 1, 0]],
    ["a 9999999-byte flow is medium and a 10 MB flow large", [9_999_999, 10_000_000], [0, 1, 1]],
    ["three 1 kB flows and a 1 GB flow", [1000, 1000, 1000, 1e9], [3, 0, 1]],
  ];
  for (const [name, sizes, counts] of bucketCases) {
    it(`sorts flows into default size buckets: ${name}`, () => {
      const c = new FlowStatsCollector();
      sizes.forEach((sizeBytes, flow) => {
        c.add(record({ flow, sizeBytes, fctNs: 1000 }));
      });
      const s = c.summary();
      assert.deepEqual(
        s.buckets.map((b) => [b.name, b.loBytes, b.hiBytes, b.count]),
        [
          ["small", 0, 100_000, counts[0]],
          ["medium", 100_000, 10_000_000, counts[1]],
          ["large", 10_000_000, null, counts[2]],
        ],
      );
      for (const b of s.buckets) assert.equal(b.fctNs === null, b.count === 0);
    });
  }

  it("accepts custom bucket edges and names buckets by byte range", () => {
    const c = new FlowStatsCollector();
    for (const [flow, sizeBytes] of [10, 500, 5000].entries()) c.add(record({ flow, sizeBytes, fctNs: 10 }));
    const s = c.summary({ sizeBucketEdges: [100, 1000] });
    assert.deepEqual(
      s.buckets.map((b) => [b.name, b.count, b.bytes]),
      [
        ["[0,100)", 1, 10],
        ["[100,1000)", 1, 500],
        ["[1000,inf)", 1, 5000],
      ],
    );
    assert.throws(() => c.summary({ sizeBucketEdges: [1000, 100] }), /strictly ascending, got \[1000, 100\]/);
  });

  it("counts only flows with the given tag when filtering", () => {
    const c = new FlowStatsCollector();
    c.add(record({ flow: 0, sizeBytes: 100, fctNs: 10, tag: 1 }));
    c.add(record({ flow: 1, sizeBytes: 300, fctNs: 30, tag: 2 }));
    c.add(record({ flow: 2, sizeBytes: 500, fctNs: 50, tag: 1 }));
    const s = c.summary({ tag: 1 });
    assert.equal(s.tag, 1);
    assert.equal(s.count, 2);
    assert.equal(s.bytes, 600);
    assert.equal(c.summary({ tag: 3 }).fctNs, null);
  });

  it("does not depend on the order flows finish in", () => {
    const sizes = [1234, 98_765, 5, 77_777_777, 4321, 250_000];
    const a = new FlowStatsCollector();
    const b = new FlowStatsCollector();
    sizes.forEach((sizeBytes, flow) => {
      a.add(record({ flow, sizeBytes, fctNs: 3 * sizeBytes + 7, idealFctNs: sizeBytes + 0.1 }));
    });
    [...sizes.entries()].reverse().forEach(([flow, sizeBytes]) => {
      b.add(record({ flow, sizeBytes, fctNs: 3 * sizeBytes + 7, idealFctNs: sizeBytes + 0.1 }));
    });
    assert.deepEqual(a.summary(), b.summary());
    assert.deepEqual([...a.byFlowId()], [...b.byFlowId()]);
  });

  it("reports slowdown per size bucket for plots", () => {
    const c = new FlowStatsCollector();
    const flows: [number, number][] = [
      [50, 1],
      [60, 3],
      [500, 2],
    ];
    flows.forEach(([sizeBytes, slowdown], flow) => {
      c.add(record({ flow, sizeBytes, fctNs: 100 * slowdown, idealFctNs: 100 }));
    });
    assert.deepEqual(c.slowdownBySizeBucket([100, 1000]), [
      { loBytes: 0, hiBytes: 100, count: 2, mean: 2, p50: 1, p99: 3 },
      { loBytes: 100, hiBytes: 1000, count: 1, mean: 2, p50: 2, p99: 2 },
      { loBytes: 1000, hiBytes: null, count: 0, mean: null, p50: null, p99: null },
    ]);
  });

  it("keeps a million flows in well under 100 MB", () => {
    const c = new FlowStatsCollector();
    const r = record({ sizeBytes: 1000, fctNs: 8000 });
    for (let flow = 0; flow < 1e6; flow++) {
      r.flow = flow;
      c.add(r);
    }
    assert.equal(c.count, 1e6);
    assert.ok(c.memoryBytes < 70e6, `memoryBytes ${c.memoryBytes}`);
  });
});

describe("flow statistics from a FlowNetwork run on a 1 Gbps link", () => {
  const MB = 1_000_000;
  const cases: {
    name: string;
    delayNs: number;
    flows: number;
    fctNs: number;
    slowdown: number;
  }[] = [
    { name: "one 1 MB flow alone, 0.5 ms delay", delayNs: 500_000, flows: 1, fctNs: 8_500_000, slowdown: 1 },
    { name: "one 1 MB flow alone, no delay", delayNs: 0, flows: 1, fctNs: 8_000_000, slowdown: 1 },
    {
      name: "two 1 MB flows starting together, no delay",
      delayNs: 0,
      flows: 2,
      fctNs: 16_000_000,
      slowdown: 2,
    },
    {
      name: "two 1 MB flows starting together, 1 ms delay",
      delayNs: 1_000_000,
      flows: 2,
      fctNs: 17_000_000,
      slowdown: 17 / 9,
    },
  ];
  for (const { name, delayNs, flows, fctNs, slowdown } of cases) {
    it(`gives FCT ${fctNs / 1e6} ms and slowdown ${+slowdown.toFixed(4)} for ${name}`, () => {
      const topo = twoNodes(delayNs);
      const sim = new Simulator();
      const trace = new TraceBus();
      const net = new FlowNetwork(sim, topo, trace);
      const stats = new FlowStatsCollector(trace);
      for (let f = 0; f < flows; f++) {
        net.startFlow({ src: topo.node("a"), dst: topo.node("b"), sizeBytes: MB, path: [0], tag: 5 });
      }
      sim.run();
      assert.equal(stats.count, flows);
      for (const r of stats.records()) {
        assert.equal(r.fctNs, fctNs);
        assert.equal(r.idealFctNs, 8_000_000 + delayNs);
        assert.equal(r.slowdown, slowdown);
        assert.equal(r.hops, 1);
        assert.equal(r.tag, 5);
      }
      const s = stats.summary();
      assert.equal(s.bytes, flows * MB);
      assert.equal(s.buckets[1]!.count, flows);
      assert.equal(s.slowdown?.max, slowdown);
      stats.detach();
    });
  }
});
