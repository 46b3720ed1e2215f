import assert from "node:assert/strict";
import { join } from "node:path";
import { describe, it } from "node:test";
import { WorkloadError } from "../../../models/workload/errors.ts";
import {
  editDistance,
  type MapSeriesOptions,
  mapSeriesToTopology,
  resolveNodes,
} from "../../../models/workload/node-mapping.ts";
import { readSndlibTmSeries } from "../../../models/workload/sndlib-tm-series.ts";
import { pairRate } from "../../../models/workload/tm-series.ts";
import { buildSeries, totalRate } from "../../../models/workload/tm-series-build.ts";
import { readSndlibNetwork } from "../../../sim/substrate/sndlib-xml.ts";
import { TopologyBuilder } from "../../../sim/substrate/topology.ts";
import { readBundledZoo } from "../../../sim/substrate/zoo-graphml.ts";
import { sharedDataDir, skipUnlessShared } from "../../helpers/shared-data.ts";

/**
 *   n1 (Atlanta) --- n2 (Boston) --- n3 (Chicago) --- n4 (Dallas)
 */
const topo = new TopologyBuilder("line4", "test")
  .addNode({ id: "n1", label: "Atlanta" })
  .addNode({ id: "n2", label: "Boston" })
  .addNode({ id: "n3", label: "Chicago" })
  .addNode({ id: "n4", label: "Dallas" })
  .addLink("n1", "n2")
  .addLink("n2", "n3")
  .addLink("n3", "n4")
  .build();

/** A two-interval series over `nodes` with rate 100 x (i + 1) + (j + 1) for pair (i, j), times t + 1. */
function series(nodes: string[]) {
  const n = nodes.length;
  const m = (t: number) =>
    Float64Array.from({ length: n * n }, (_, k) => {
      const i = Math.floor(k / n);
      const j = k % n;
      return i === j ? 0 : (100 * (i + 1) + j + 1) * (t + 1);
    });
  return buildSeries({
    source: "test series",
    nodes,
    intervalNs: 60e9,
    rates: [m(0), m(1)],
    labels: ["a", "b"],
  });
}

describe("node mapping", () => {
  it("map by id onto all topology nodes, in topology order, with zero rows for nodes without traffic", () => {
    const s = mapSeriesToTopology(series(["n2", "n4"]), topo);
    assert.deepEqual(s.nodes, ["n1", "n2", "n3", "n4"]);
    assert.deepEqual([...s.nodeIndex], [1, 3]);
    assert.equal(pairRate(s, 0, 1, 3), 102);
    assert.equal(pairRate(s, 1, 3, 1), 2 * 201);
    assert.equal(totalRate(s, 0), 102 + 201);
    assert.deepEqual(s.labels, ["a", "b"]);
    assert.equal(s.intervalNs, 60e9);
  });

  it("map by label, so a series over city names lands on the right node ids", () => {
    const s = mapSeriesToTopology(series(["Atlanta", "Dallas"]), topo, { match: { by: "label" } });
    assert.equal(pairRate(s, 0, 0, 3), 102);
    assert.equal(pairRate(s, 0, 3, 0), 201);
  });

  it("map through an explicit table, and add traffic of merged nodes only when asked, reporting what became local", () => {
    const map = { ATL1: "n1", ATL2: "n1", BOS: "n2" };
    const input = series(["ATL1", "ATL2", "BOS"]);
    assert.throws(
      () => mapSeriesToTopology(input, topo, { match: { by: "map", map } }),
      /series nodes "ATL1" and "ATL2" both map to topology node "n1"; set mergeNodes/,
    );
    const s = mapSeriesToTopology(input, topo, { match: { by: "map", map }, mergeNodes: true });
    assert.equal(pairRate(s, 0, 0, 1), 103 + 203); // ATL1->BOS + ATL2->BOS
    assert.equal(pairRate(s, 0, 1, 0), 301 + 302);
    assert.deepEqual([...s.droppedBps], [102 + 201, 2 * (102 + 201)]);
  });

  const errors: [string, string[], MapSeriesOptions, RegExp][] = [
    [
      "an unknown id, listing the closest ids",
      ["n2", "n5"],
      {},
      /series node "n5" is not a node id of topology "line4"; closest: "n1", "n2", "n3"/,
    ],
    [
      "an unknown label, listing the closest labels",
      ["Atlant", "Bostn"],
      { match: { by: "label" } },
      /series node "Atlant" is not a node label of topology "line4"; closest: "Atlanta"/,
    ],
    [
      "a series node missing from the map",
      ["ATL", "BOS"],
      { match: { by: "map", map: { ATL: "n1", BOSS: "n2" }, source: "config.yaml: nodeMap" } },
      /series node "BOS" is not a key of config\.yaml: nodeMap; closest: "BOSS"/,
    ],
    [
      "a map value that is not a topology node",
      ["ATL"],
      { match: { by: "map", map: { ATL: "n9" } } },
      /node map: "ATL" maps to "n9", which is not a node id of topology "line4"; closest: "n1"/,
    ],
  ];
  for (const [name, nodes, opts, message] of errors) {
    it(`refuse ${name}`, () => {
      assert.throws(
        () => mapSeriesToTopology(series(nodes), topo, opts),
        (e: Error) => e instanceof WorkloadError && message.test(e.message),
      );
    });
  }

  it("refuse a label shared by two topology nodes", () => {
    const twin = new TopologyBuilder("twin", "test")
      .addNode({ id: "a", label: "Paris" })
      .addNode({ id: "b", label: "Paris" })
      .addLink("a", "b")
      .build();
    assert.throws(
      () => resolveNodes(["Paris"], twin, { by: "label" }),
      /label matches 2 nodes .* \("a", "b"\); use an explicit map/,
    );
  });

  it("compute edit distances", () => {
    const cases: [string, string, number][] = [
      ["", "", 0],
      ["abc", "abc", 0],
      ["kitten", "sitting", 3],
      ["ATLAng", "ATLAM5", 2],
      ["", "ab", 2],
      ["wbe", "web", 1],
    ];
    for (const [a, b, d] of cases) assert.equal(editDistance(a, b), d, `${a} / ${b}`);
  });

  it("map the SNDlib Abilene series onto SNDlib abilene.xml by id", { skip: skipUnlessShared }, () => {
    const dir = sharedDataDir()!;
    const tms = readSndlibTmSeries(join(dir, "traffic-matrices/sndlib-abilene-5min"), {
      until: "20040301-0100",
    });
    const net = readSndlibNetwork(join(dir, "topologies/sndlib/abilene.xml"));
    const s = mapSeriesToTopology(tms, net);
    assert.deepEqual(s.nodes, tms.nodes);
    assert.deepEqual(s.rates, tms.rates);
  });

  it("map the SNDlib Abilene series onto Zoo Abilene by an explicit map, merging the two Atlanta routers", {
    skip: skipUnlessShared,
  }, () => {
    const tms = readSndlibTmSeries(join(sharedDataDir()!, "traffic-matrices/sndlib-abilene-5min"), {
      until: "20040301-0100",
    });
    const zoo = readBundledZoo("Abilene");
    const map = {
      ATLAM5: "9",
      ATLAng: "9",
      CHINng: "1",
      DNVRng: "6",
      HSTNng: "8",
      IPLSng: "10",
      KSCYng: "7",
      LOSAng: "5",
      NYCMng: "0",
      SNVAng: "4",
      STTLng: "3",
      WASHng: "2",
    };
    const s = mapSeriesToTopology(tms, zoo, { match: { by: "map", map }, mergeNodes: true });
    assert.equal(s.nodes.length, 11);
    for (let t = 0; t < s.rates.length; t++) {
      const atlantaLocal = pairRate(tms, t, 0, 1) + pairRate(tms, t, 1, 0);
      assert.ok(Math.abs(totalRate(s, t) + s.droppedBps[t]! - totalRate(tms, t)) < 1e-3);
      assert.equal(s.droppedBps[t], atlantaLocal);
    }
  });
});
