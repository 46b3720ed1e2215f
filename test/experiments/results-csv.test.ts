import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { formatCsvNumber } from "../../experiments/csv.ts";
import { FLOWS_CSV_HEADER, flowsCsv } from "../../experiments/flows-csv.ts";
import { LINKS_CSV_HEADER, linksCsv } from "../../experiments/links-csv.ts";
import { FlowStatsCollector } from "../../sim/metrics/flow-stats.ts";
import type { LinkSamples } from "../../sim/metrics/link-sampler.ts";
import { type Topology, TopologyBuilder } from "../../sim/substrate/topology.ts";
import { flowRecord as record } from "../helpers/flow-record.ts";

/**
 *   a <---- 1 Gbps ----> b      (link 0 = a->b, link 1 = b->a)
 */
function pair(): Topology {
  return new TopologyBuilder("a-b", "test")
    .addNode({ id: "a" })
    .addNode({ id: "b" })
    .addLink("a", "b", { capacityBps: 1e9, delayNs: 0 })
    .build();
}

describe("flows.csv", () => {
  it("has the documented header and one exact line per flow, sorted by flow id, per policy", () => {
    const c = new FlowStatsCollector();
    c.add(
      record({ flow: 3, src: 1, dst: 0, sizeBytes: 1500, startNs: 2000, fctNs: 10_000, idealFctNs: 3000 }),
    );
    c.add(record({ flow: 1, sizeBytes: 1e6, startNs: 0, fctNs: 8_500_000, path: [0, 0], tag: 7 }));
    const lines = flowsCsv(pair(), [{ label: "sp, fast", flows: c }]).split("\n");
    assert.deepEqual(lines, [
      `policy,${FLOWS_CSV_HEADER}`,
      '"sp, fast",1,a,b,1000000,0,8500000,8500000,8500000,1,2,7',
      '"sp, fast",3,b,a,1500,2000,12000,10000,3000,3.33333333,1,0',
      "",
    ]);
    assert.equal(
      FLOWS_CSV_HEADER,
      "flow,src,dst,size_bytes,start_ns,end_ns,fct_ns,ideal_fct_ns,slowdown,hops,tag",
    );
  });

  it("names the flow when a node index is not in the topology", () => {
    const c = new FlowStatsCollector();
    c.add(record({ flow: 9, dst: 5, sizeBytes: 1, fctNs: 1 }));
    assert.throws(
      () => flowsCsv(pair(), [{ label: "p", flows: c }]),
      /flow 9: dst node index 5 is not in topology "a-b"/,
    );
  });
});

describe("links.csv", () => {
  const samples: LinkSamples = {
    linkCount: 2,
    startNs: Float64Array.of(0, 1e6),
    endNs: Float64Array.of(1e6, 2e6),
    bits: Float64Array.of(750_000, 0, 1e6, 0),
    capacityFrom: [0, 1],
    capacityBps: [Float64Array.of(1e9, 1e9), Float64Array.of(0, 1e9)],
  };

  it("writes every link of every interval with the capacity in force, per policy", () => {
    assert.equal(
      linksCsv(pair(), [{ label: "sp", links: samples }]),
      [
        `policy,${LINKS_CSV_HEADER}`,
        "sp,0,1000000,a->b,a,b,1000000000,750000,0.75",
        "sp,0,1000000,b->a,b,a,1000000000,0,0",
        "sp,1000000,2000000,a->b,a,b,0,1000000,Infinity",
        "sp,1000000,2000000,b->a,b,a,1000000000,0,0",
        "",
      ].join("\n"),
    );
    assert.equal(
      LINKS_CSV_HEADER,
      "interval_start_ns,interval_end_ns,link,src,dst,capacity_bps,bits,utilization",
    );
  });

  it("refuses samples of another topology", () => {
    assert.throws(
      () => linksCsv(pair(), [{ label: "sp", links: { ...samples, linkCount: 3 } }]),
      /topology "a-b" has 2 links, the samples have 3/,
    );
  });
});

describe("CSV number formatting", () => {
  const cases: [number, string][] = [
    [8_500_000, "8500000"],
    [1, "1"],
    [10 / 3, "3.33333333"],
    [8000000.000000001, "8000000"],
    [0.1 + 0.2, "0.3"],
  ];
  for (const [x, text] of cases) {
    it(`prints ${x} as ${text}`, () => assert.equal(formatCsvNumber(x), text));
  }
});
