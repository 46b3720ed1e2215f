import assert from "node:assert/strict";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { DEFAULT_LINK, type Topology, TopologyError } from "../../../sim/substrate/topology.ts";
import {
  BUNDLED_TOPOLOGIES_DIR,
  parseLinkLabelBps,
  parseZooGraphml,
  readBundledZoo,
  readZooGraphml,
} from "../../../sim/substrate/zoo-graphml.ts";
import { sharedDataDir, skipUnlessShared } from "../../helpers/shared-data.ts";

const OC192 = 192 * 51.84e6;

function assertClose(actual: number | undefined, expected: number | undefined, message?: string): void {
  if (expected === undefined || actual === undefined) {
    assert.equal(actual, expected, message);
    return;
  }
  assert.ok(
    Math.abs(actual - expected) <= 1e-9 * Math.abs(expected),
    `${message ?? ""} ${actual} != ${expected}`,
  );
}

/** Directed links whose id carries a parallel key (`A->B#1`). */
function parallelLinks(topo: Topology): number {
  return topo.links.filter((l) => l.id.includes("#")).length;
}

/** Directed link between two node ids (the first, when there are parallel ones). */
function linkBetween(topo: Topology, a: string, b: string) {
  const i = topo.linksBetween(topo.node(a), topo.node(b))[0];
  assert.ok(i !== undefined, `no link ${a} -> ${b}`);
  return topo.links[i]!;
}

/**
 * A small Zoo-style document. Key ids are deliberately not d0, d1, ... and not in attribute order, as in real
 * Zoo files, where they differ from file to file.
 */
function zoo(body: string): string {
  return `<?xml version="1.0" encoding="utf-8"?>
<graphml xmlns="http://graphml.graphdrawing.org/xmlns">
  <key attr.name="LinkLabel" attr.type="string" for="edge" id="e9" />
  <key attr.name="LinkSpeedRaw" attr.type="double" for="edge" id="e2" />
  <key attr.name="LinkSpeed" attr.type="string" for="edge" id="e5" />
  <key attr.name="LinkSpeedUnits" attr.type="string" for="edge" id="e6" />
  <key attr.name="key" attr.type="int" for="edge" id="e1" />
  <key attr.name="label" attr.type="string" for="node" id="n4" />
  <key attr.name="Longitude" attr.type="double" for="node" id="n3" />
  <key attr.name="Latitude" attr.type="double" for="node" id="n8" />
  <key attr.name="Network" attr.type="string" for="graph" id="g0" />
  <graph edgedefault="undirected">
${body}
  </graph>
</graphml>`;
}

const node = (id: string, label: string, lat?: number, lon?: number) =>
  `<node id="${id}"><data key="n4">${label}</data>${
    lat === undefined ? "" : `<data key="n8">${lat}</data><data key="n3">${lon}</data>`
  }</node>`;

// ------------------------------------------------------------------------------------------------------------------

const LABELS: [label: string, bps: number | undefined][] = [
  // SONET/SDH: OC-n = n x 51.84 Mbit/s, STM-n = n x 155.52 Mbit/s.
  ["OC-3", 155.52e6],
  ["OC-3c", 155.52e6],
  ["OC-12", 622.08e6],
  ["OC-48", 2488.32e6],
  ["POS OC-48", 2488.32e6],
  ["OC-192c", OC192],
  ["OC-192 (Future)", OC192],
  ["OC-768", 768 * 51.84e6],
  ["STM-1", 155.52e6],
  ["IPLC STM-1", 155.52e6],
  ["STM-4", 622.08e6],
  ["STM-16", 2488.32e6],
  ["STM-64", OC192],
  ["STM-64x2", 2 * OC192],
  ["OC192/STM64", OC192],
  ["OC12/STM4", 622.08e6],
  // Numbers with units, as the Zoo writes them.
  ["10 Gbps", 10e9],
  ["2.5Gbps", 2.5e9],
  ["100 Mbps", 100e6],
  ["10Gb/s", 10e9],
  ["1 Gbit/s", 1e9],
  ["20mb/s", 20e6],
  ["1 GB/s", 1e9],
  ["ZAMREN FIBRE (100 MB)", 100e6],
  ["64 Kbps", 64e3],
  ["155M", 155e6],
  ["1G", 1e9],
  ["2.5G", 2.5e9],
  ["PWAVE  10Gbit/s", 10e9],
  ["JGN2  10Gbit/s", 10e9],
  ["Peering, 13 Gbps", 13e9],
  ["Fibre ottica spenta (Dark Fibre), 20 Gbps", 20e9],
  ["SMfiber/1Gbps", 1e9],
  // Ethernet.
  ["1G Ethernet", 1e9],
  ["10GE", 10e9],
  ["10 GE", 10e9],
  ["1GE Backup Link", 1e9],
  ["GigE", 1e9],
  ["GE", 1e9],
  // PDH / T-carrier.
  ["T1", 1.544e6],
  ["ANS CO+RE T1", 1.544e6],
  ["E1", 2.048e6],
  ["E3", 34.368e6],
  ["T3", 44.736e6],
  ["internetMCI T3", 44.736e6],
  ["DS3", 44.736e6],
  // The same capacity written twice: the written-out number wins.
  ["45 Mbps DS-3", 45e6],
  ["155 Mbps OC-3", 155e6],
  ["2 x E3 (68Mbps)", 68e6],
  // Counts and sums.
  ["2x10Gb/s", 20e9],
  ["4*10Gb/s", 40e9],
  ["3 x 622Mbps", 1866e6],
  ["8*GbE", 8e9],
  ["10GEx4", 40e9],
  ["STM-4x2", 1244.16e6],
  ["4x1 Gbps + 2x STM-1", 4e9 + 311.04e6],
  // Not one capacity.
  ["fiber", undefined],
  ["Green Link", undefined],
  ["Leased Wavelength/Managed Service", undefined],
  ["Ethernet", undefined],
  ["DWDM", undefined],
  ["SeaMeWe-3", undefined],
  ["TAT-14", undefined],
  ["72 Lambda ROADM Network", undefined],
  ["1Q 2003", undefined],
  ["Completion 2007-2008", undefined],
  ["WANPHY", undefined],
  ["< 2.5 Gbps", undefined],
  ["<= 10 Mbps", undefined],
  [">10Gbps", undefined],
  ["less than 100 Mbps", undefined],
  ["100 Mbps and more", undefined],
  ["OC3 and below/STM1", undefined],
  ["1-20Gbps", undefined],
  ["1-2.5 Gb/s", undefined],
  ["45/155 Mbps", undefined],
  ["300M-1Gb/s", undefined],
  ["GigE/FE/ATM", undefined],
  ["Managed Fiber (10Gbps, 100Mbps)", undefined],
  ["CANARIE N*10Gbit/s", undefined],
  ["24 Mb/s + Satellite", undefined],
  ["OC-5", undefined],
  ["", undefined],
];

for (const [label, bps] of LABELS) {
  test(`the link label ${JSON.stringify(label)} reads as ${bps === undefined ? "no capacity" : `${bps} bit/s`}`, () => {
    assertClose(parseLinkLabelBps(label), bps);
  });
}

// ------------------------------------------------------------------------------------------------------------------

test("bundled Abilene has 11 nodes and 14 undirected edges of OC-192c", () => {
  const topo = readBundledZoo("Abilene");
  assert.equal(topo.name, "Abilene");
  assert.equal(topo.nodeCount, 11);
  assert.equal(topo.linkCount, 28);
  assert.equal(parallelLinks(topo), 0);
  for (const l of topo.links) {
    assert.notEqual(l.reverse, -1, `${l.id} has a reverse`);
    assert.equal(topo.links[l.reverse]!.reverse, l.index);
    assertClose(l.capacityBps, OC192, l.id);
  }
  assert.equal(topo.nodes[topo.node("0")]!.label, "New York");
  assert.equal(topo.summary().withCoordinates, 11);
});

test("bundled Abilene takes link delays from great-circle distance at 2e8 m/s", () => {
  const topo = readBundledZoo("Abilene");
  // New York (40.71427, -74.00597) to Chicago (41.85003, -87.65005): by the spherical law of cosines with
  // R = 6371.0088 km, d = R acos(sin φ1 sin φ2 + cos φ1 cos φ2 cos Δλ) = 1145.839 km, so 5.729194 ms in fibre.
  for (const [a, b] of [
    ["0", "1"],
    ["1", "0"],
  ] as const) {
    const l = linkBetween(topo, a, b);
    assert.ok(Math.abs(l.delayNs - 5_729_194) <= 2, `${l.id}: ${l.delayNs} ns`);
  }
  assert.ok(topo.links.every((l) => l.delayNs > 1_000_000 && l.delayNs < 20_000_000));
});

test("readBundledZoo accepts the file name with its .graphml suffix and applies options", () => {
  const topo = readBundledZoo("Abilene.graphml", { name: "abilene-zoo", defaults: { mtuBytes: 9000 } });
  assert.equal(topo.name, "abilene-zoo");
  assert.ok(topo.links.every((l) => l.mtuBytes === 9000));
  assert.match(BUNDLED_TOPOLOGIES_DIR, /data[/\\]topologies[/\\]topology-zoo$/);
});

test("bundled Geant2012 uses LinkSpeedRaw where present and the default capacity elsewhere", () => {
  const defaultBps = 42e6;
  const defaultDelayNs = 7_777_777;
  const topo = readBundledZoo("Geant2012", {
    defaults: { capacityBps: defaultBps, delayNs: defaultDelayNs },
  });
  assert.equal(topo.name, "GEANT"); // the Network attribute, not the file name
  assert.equal(topo.nodeCount, 40);
  assert.equal(topo.linkCount, 122);
  // 39 edges carry LinkSpeedRaw (155 Mbit/s to 10 Gbit/s); 21 carry nothing and 1 only "Lit Fibre".
  const byCapacity = new Map<number, number>();
  for (const l of topo.links) byCapacity.set(l.capacityBps, (byCapacity.get(l.capacityBps) ?? 0) + 1);
  assert.deepEqual(
    [...byCapacity].sort((a, b) => a[0] - b[0]),
    [
      [defaultBps, 44],
      [155e6, 4],
      [1e9, 12],
      [2.5e9, 10],
      [10e9, 52],
    ],
  );
  // Three nodes have no coordinates: their links take the default delay, the others a great-circle delay.
  const placeless = topo.nodes.filter((n) => n.lat === undefined).map((n) => n.index);
  assert.equal(placeless.length, 3);
  for (const l of topo.links) {
    const touches = placeless.includes(l.src) || placeless.includes(l.dst);
    assert.equal(l.delayNs === defaultDelayNs, touches, l.id);
  }
});

test("bundled Cogentco keeps its two parallel edges as parallel links", () => {
  const topo = readBundledZoo("Cogentco");
  assert.equal(topo.nodeCount, 197);
  assert.equal(topo.linkCount, 2 * 245);
  assert.equal(parallelLinks(topo), 4);
  for (const l of topo.links.filter((x) => x.id.includes("#"))) {
    const [first] = l.id.split("#");
    assert.ok(topo.link(first!) !== l.index, `${l.id} sits beside ${first}`);
  }
  assert.equal(topo.nodes.filter((n) => n.lat === undefined).length, 11);
  assert.ok(topo.links.every((l) => l.capacityBps === DEFAULT_LINK.capacityBps));
});

test("Kdl, the largest Zoo network, reads from the shared data with 754 nodes", {
  skip: skipUnlessShared,
}, () => {
  const topo = readZooGraphml(join(sharedDataDir()!, "topologies/topology-zoo/Kdl.graphml"));
  assert.equal(topo.name, "Kentucky Datalink");
  assert.equal(topo.nodeCount, 754);
  assert.equal(topo.linkCount, 2 * 899);
  assert.equal(parallelLinks(topo), 2 * 4);
  assert.equal(topo.nodes.filter((n) => n.lat === undefined).length, 28);
});

test("every Topology Zoo file in the shared data reads without error", { skip: skipUnlessShared }, () => {
  const dir = join(sharedDataDir()!, "topologies/topology-zoo");
  const files = readdirSync(dir).filter((f) => f.endsWith(".graphml"));
  assert.equal(files.length, 205);
  for (const f of files) {
    const topo = readZooGraphml(join(dir, f));
    assert.ok(topo.nodeCount > 0, f);
    assert.equal(topo.linkCount % 2, 0, `${f}: every edge is bidirectional`);
  }
});

test("Internet2 from the shared data has no coordinates, so every link takes the default delay", {
  skip: skipUnlessShared,
}, () => {
  const topo = readZooGraphml(join(sharedDataDir()!, "topologies/topology-zoo/Internet2.graphml"), {
    defaults: { delayNs: 3_000_000 },
  });
  assert.equal(topo.nodeCount, 20);
  assert.equal(topo.summary().withCoordinates, 0);
  assert.ok(topo.links.every((l) => l.delayNs === 3_000_000));
});

// ------------------------------------------------------------------------------------------------------------------

test("an inline multigraph keeps parallel edges and resolves keys by name, not by id", () => {
  //   A ===== B ----- C      two A-B edges (key 0 and 1), one B-C edge; no coordinates anywhere
  const topo = parseZooGraphml(
    zoo(`
    <data key="g0">Tiny</data>
    ${node("A", "Alpha")}${node("B", "Beta")}${node("C", "Gamma")}
    <edge source="A" target="B"><data key="e1">0</data><data key="e9">10GE</data></edge>
    <edge source="A" target="B"><data key="e1">1</data><data key="e9">1GE Backup Link</data></edge>
    <edge source="B" target="C"><data key="e1">0</data></edge>`),
    "tiny.graphml",
    { defaults: { capacityBps: 5e9, delayNs: 250_000 } },
  );
  assert.equal(topo.name, "Tiny");
  assert.equal(topo.source, "tiny.graphml");
  assert.deepEqual(
    topo.links.map((l) => [l.id, l.capacityBps, l.delayNs]),
    [
      ["A->B", 10e9, 250_000],
      ["A->B#1", 1e9, 250_000],
      ["B->A", 10e9, 250_000],
      ["B->A#1", 1e9, 250_000],
      ["B->C", 5e9, 250_000],
      ["C->B", 5e9, 250_000],
    ],
  );
  assert.deepEqual(
    topo.nodes.map((n) => [n.id, n.label, n.lat, n.lon]),
    [
      ["A", "Alpha", undefined, undefined],
      ["B", "Beta", undefined, undefined],
      ["C", "Gamma", undefined, undefined],
    ],
  );
});

const CAPACITY_SOURCES: [name: string, edgeData: string, bps: number][] = [
  [
    "LinkSpeedRaw wins over LinkSpeed and LinkLabel",
    `<data key="e2">2500000000.0</data><data key="e5">1</data><data key="e6">G</data><data key="e9">OC-3</data>`,
    2.5e9,
  ],
  ["LinkSpeed with LinkSpeedUnits comes next", `<data key="e5">622</data><data key="e6">M</data>`, 622e6],
  ["LinkLabel comes after the numeric attributes", `<data key="e9">STM-16</data>`, 2488.32e6],
  ["an unreadable LinkLabel falls back to the default", `<data key="e9">Blue Link</data>`, 7e9],
  ["an edge without capacity attributes takes the default", "", 7e9],
];

for (const [name, edgeData, bps] of CAPACITY_SOURCES) {
  test(`capacity source: ${name}`, () => {
    const topo = parseZooGraphml(
      zoo(`${node("a", "A")}${node("b", "B")}<edge source="a" target="b">${edgeData}</edge>`),
      "cap.graphml",
      { defaults: { capacityBps: 7e9 } },
    );
    assertClose(topo.links[0]!.capacityBps, bps);
    assertClose(topo.links[1]!.capacityBps, bps);
  });
}

test("the name falls back to the file name when the graph has no Network attribute", () => {
  const topo = parseZooGraphml(zoo(node("a", "A")), "/tmp/zoo/MyNet.graphml");
  assert.equal(topo.name, "MyNet");
});

test("nodes with coordinates get a great-circle delay and nodes without get the default", () => {
  //   P (0,0) ---- Q (0,1)      R (no coordinates) ---- P
  const topo = parseZooGraphml(
    zoo(`${node("P", "P", 0, 0)}${node("Q", "Q", 0, 1)}${node("R", "R")}
    <edge source="P" target="Q" /><edge source="R" target="P" />`),
    "coords.graphml",
    { defaults: { delayNs: 123 } },
  );
  // One degree of the equator: 2π R / 360 = 111.195 km, so 555.975 µs.
  assert.ok(Math.abs(linkBetween(topo, "P", "Q").delayNs - 555_975) <= 1);
  assert.equal(linkBetween(topo, "R", "P").delayNs, 123);
  assert.equal(topo.nodes[topo.node("R")]!.lat, undefined);
});

test("a self-loop is dropped with a warning naming the file and edge; the other edges stay", () => {
  const warnings: string[] = [];
  const topo = parseZooGraphml(
    zoo(`${node("a", "A")}${node("b", "B")}<edge source="a" target="a"/><edge source="a" target="b"/>`),
    "loop.graphml",
    { onWarning: (w) => warnings.push(w) },
  );
  assert.deepEqual(warnings, [
    'loop.graphml: edge 0 (source "a", target "a"): self-loop at node "a" dropped',
  ]);
  assert.equal(topo.linkCount, 2);
  assert.deepEqual(
    topo.links.map((l) => l.id),
    ["a->b", "b->a"],
  );
});

const BROKEN: [name: string, xml: string, message: RegExp][] = [
  [
    "malformed XML",
    `<graphml><graph><node id="a"></graph></graphml>`,
    /^bad\.graphml: malformed XML at line 1/,
  ],
  ["text that is not XML", "hello", /^bad\.graphml: malformed XML/],
  [
    "a document without <graphml>",
    `<?xml version="1.0"?><network/>`,
    /^bad\.graphml: not a GraphML document/,
  ],
  [
    "a document without <graph>",
    `<graphml></graphml>`,
    /^bad\.graphml: expected exactly one <graph> element, found 0/,
  ],
  ["a node without an id", zoo(`${node("a", "A")}<node />`), /^bad\.graphml: node 1: missing id attribute$/],
  [
    "a duplicate node id",
    zoo(`${node("a", "A")}${node("a", "A2")}`),
    /^bad\.graphml: node 1 \(id "a"\): duplicate/,
  ],
  [
    "a node with Latitude but no Longitude",
    zoo(`<node id="a"><data key="n8">45</data></node>`),
    /^bad\.graphml: node 0 \(id "a"\): has Latitude but not the other$/,
  ],
  [
    "a node with an impossible latitude",
    zoo(node("a", "A", 95, 0)),
    /^bad\.graphml: node 0 \(id "a"\): Latitude must be a number of degrees in \[-90, 90\], got "95"$/,
  ],
  [
    "an edge to an unknown node",
    zoo(`${node("12", "X")}${node("13", "Y")}<edge source="12" target="13"/><edge source="12" target="99"/>`),
    /^bad\.graphml: edge 1 \(source "12", target "99"\): unknown target node "99"$/,
  ],
  [
    "an edge from an unknown node",
    zoo(`${node("12", "X")}<edge source="7" target="12"/>`),
    /^bad\.graphml: edge 0 \(source "7", target "12"\): unknown source node "7"$/,
  ],
  [
    "an edge without a target",
    zoo(`${node("a", "A")}<edge source="a"/>`),
    /^bad\.graphml: edge 0 \(source "a", target undefined\): missing source or target$/,
  ],
  [
    "a data element with an undeclared key",
    zoo(`<node id="a"><data key="d99">x</data></node>`),
    /^bad\.graphml: node 0 \(id "a"\): <data key="d99"> has no <key for="node"> declaration$/,
  ],
  [
    "a non-positive LinkSpeedRaw",
    zoo(`${node("a", "A")}${node("b", "B")}<edge source="a" target="b"><data key="e2">0.0</data></edge>`),
    /^bad\.graphml: edge 0 \(source "a", target "b"\): LinkSpeedRaw must be a positive number of bits\/s, got "0\.0"$/,
  ],
  [
    "an unknown LinkSpeedUnits",
    zoo(
      `${node("a", "A")}${node("b", "B")}<edge source="a" target="b"><data key="e5">1</data><data key="e6">X</data></edge>`,
    ),
    /^bad\.graphml: edge 0 .*: LinkSpeed\/LinkSpeedUnits must be/,
  ],
];

for (const [name, xml, message] of BROKEN) {
  test(`${name} gives a TopologyError naming the file and the element`, () => {
    assert.throws(
      () => parseZooGraphml(xml, "bad.graphml"),
      (e: unknown) => e instanceof TopologyError && message.test(e.message),
    );
  });
}

test("a missing file gives a TopologyError naming the path", () => {
  assert.throws(
    () => readZooGraphml("/nonexistent/Nowhere.graphml"),
    (e: unknown) =>
      e instanceof TopologyError &&
      /^\/nonexistent\/Nowhere\.graphml: cannot read file \(ENOENT\)$/.test(e.message),
  );
});

test("an unknown bundled network gives a TopologyError listing the bundled ones", () => {
  assert.throws(
    () => readBundledZoo("../Abilene"),
    (e: unknown) => e instanceof TopologyError && /available: Abilene, Cogentco, Geant2012$/.test(e.message),
  );
});
