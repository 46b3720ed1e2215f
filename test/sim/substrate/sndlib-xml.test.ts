import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import {
  parseSndlibDemands,
  parseSndlibNetwork,
  readSndlibNetwork,
} from "../../../sim/substrate/sndlib-xml.ts";
import { DEFAULT_LINK, type Topology, TopologyError } from "../../../sim/substrate/topology.ts";
import { sharedDataDir, skipUnlessShared } from "../../helpers/shared-data.ts";

// SNDlib data is under the ZIB Academic License and is never copied into this repository: tests that need the
// real instances read them from the shared data folder and skip when it is absent. Inline fixtures are made up.

/** Path of an SNDlib instance in the shared data folder (only call from tests that skip without it). */
const sndlib = (name: string) => join(sharedDataDir()!, "topologies/sndlib", `${name}.xml`);

function capacityHistogram(topo: Topology): [number, number][] {
  const counts = new Map<number, number>();
  for (const l of topo.links) counts.set(l.capacityBps, (counts.get(l.capacityBps) ?? 0) + 1);
  return [...counts].sort((a, b) => a[0] - b[0]);
}

/** A small SNDlib-style network: `nodes` and `links` are the inner XML of `<nodes>` and `<links>`. */
function network(opts: {
  coordinatesType?: string;
  nodes: string;
  links?: string;
  demands?: string;
  unit?: string;
}) {
  return `<?xml version="1.0" encoding="ISO-8859-1"?>
<network xmlns="http://sndlib.zib.de/network" version="1.0">
 <meta>${opts.unit === undefined ? "" : `<unit>${opts.unit}</unit>`}</meta>
 <networkStructure>
  <nodes coordinatesType="${opts.coordinatesType ?? "geographical"}">${opts.nodes}</nodes>
  <links>${opts.links ?? ""}</links>
 </networkStructure>
 ${opts.demands ?? ""}
</network>`;
}

const node = (id: string, x: number | string, y: number | string) =>
  `<node id="${id}"><coordinates><x>${x}</x><y>${y}</y></coordinates></node>`;
const link = (id: string, s: string, t: string, capacity?: number | string) =>
  `<link id="${id}"><source>${s}</source><target>${t}</target>${
    capacity === undefined
      ? ""
      : `<preInstalledModule><capacity>${capacity}</capacity><cost>0.0</cost></preInstalledModule>`
  }<additionalModules><addModule><capacity>40000.0</capacity><cost>1.0</cost></addModule></additionalModules></link>`;

// ------------------------------------------------------------------------------------------------------------------

const UNITS: [unit: string | undefined, capacityBps: number, demandMbps: number][] = [
  [undefined, 10e6, 2.5],
  ["MBITPERSEC", 10e6, 2.5],
  ["BITPERSEC", 10, 2.5e-6],
  ["BITSPERSEC", 10, 2.5e-6],
  ["KBITPERSEC", 10e3, 2.5e-3],
  ["GBITPERSEC", 10e9, 2.5e3],
  ["tbitpersec", 10e12, 2.5e6],
];
for (const [unit, capacityBps, demandMbps] of UNITS) {
  test(`capacity 10 and demand 2.5 in ${unit ?? "a file without a unit"} read as ${capacityBps} bits/s and ${demandMbps} Mbit/s`, () => {
    const xml = network({
      nodes: node("A", 0, 0) + node("B", 1, 1),
      links: link("L1", "A", "B", 10),
      demands: `<demands><demand id="D"><source>A</source><target>B</target><demandValue>2.5</demandValue></demand></demands>`,
      ...(unit === undefined ? {} : { unit }),
    });
    assert.equal(parseSndlibNetwork(xml, "u.xml").links[0]!.capacityBps, capacityBps);
    assert.equal(parseSndlibDemands(xml, "u.xml")[0]!.mbps, demandMbps);
  });
}

test("a self-loop is dropped with a warning naming the file and link; the other links stay", () => {
  const warnings: string[] = [];
  const topo = parseSndlibNetwork(
    network({ nodes: node("A", 0, 0) + node("B", 1, 1), links: link("L1", "A", "A") + link("L2", "A", "B") }),
    "loop.xml",
    { onWarning: (w) => warnings.push(w) },
  );
  assert.deepEqual(warnings, ['loop.xml: link "L1" (source "A", target "A"): self-loop at node "A" dropped']);
  assert.deepEqual(
    topo.links.map((l) => l.id),
    ["A->B", "B->A"],
  );
});

test("SNDlib abilene has 12 nodes and 15 links: 14 at 9920 Mbit/s and 1 at 2480 Mbit/s", {
  skip: skipUnlessShared,
}, () => {
  const topo = readSndlibNetwork(sndlib("abilene"));
  assert.equal(topo.name, "abilene");
  assert.equal(topo.nodeCount, 12);
  assert.equal(topo.linkCount, 30);
  assert.ok(topo.links.every((l) => l.reverse !== -1));
  assert.deepEqual(capacityHistogram(topo), [
    [2480e6, 2],
    [9920e6, 28],
  ]);
  assert.equal(topo.summary().withCoordinates, 12);
  const atlanta = topo.nodes[topo.node("ATLAM5")]!;
  assert.deepEqual([atlanta.lat, atlanta.lon], [33.75, -84.3833]);
  assert.ok(topo.links.every((l) => l.delayNs !== DEFAULT_LINK.delayNs && l.delayNs > 0));
});

test("SNDlib atlanta has pixel coordinates, so no node gets a lat/lon and links take the default delay", {
  skip: skipUnlessShared,
}, () => {
  const topo = readSndlibNetwork(sndlib("atlanta"), { defaults: { delayNs: 2_000_000, capacityBps: 1e6 } });
  assert.equal(topo.nodeCount, 15);
  assert.equal(topo.linkCount, 44);
  assert.ok(topo.nodes.every((n) => n.lat === undefined && n.lon === undefined));
  assert.ok(topo.links.every((l) => l.delayNs === 2_000_000));
  // 19 of 22 links have a pre-installed module (1000 to 15000); the other 3 take the default.
  assert.equal(topo.links.filter((l) => l.capacityBps === 1e6).length, 6);
});

test("SNDlib geant has only expansion modules, so every link takes the default capacity", {
  skip: skipUnlessShared,
}, () => {
  const plain = readSndlibNetwork(sndlib("geant"));
  assert.equal(plain.nodeCount, 22);
  assert.equal(plain.linkCount, 72);
  assert.deepEqual(capacityHistogram(plain), [[DEFAULT_LINK.capacityBps, 72]]);
  const custom = readSndlibNetwork(sndlib("geant"), {
    defaults: { capacityBps: 2.5e9 },
    name: "geant-sndlib",
  });
  assert.equal(custom.name, "geant-sndlib");
  assert.deepEqual(capacityHistogram(custom), [[2.5e9, 72]]);
});

test("SNDlib janos-us lists each link in both directions, which directedLinks reads as one directed link each", {
  skip: skipUnlessShared,
}, () => {
  const undirected = readSndlibNetwork(sndlib("janos-us"));
  assert.equal(undirected.linkCount, 2 * 84);
  assert.equal(undirected.links.filter((l) => l.id.includes("#")).length, 84);
  const directed = readSndlibNetwork(sndlib("janos-us"), { directedLinks: true });
  assert.equal(directed.linkCount, 84);
  assert.ok(directed.links.every((l) => l.reverse === -1 && !l.id.includes("#")));
});

test("every SNDlib instance in the shared data reads without error", { skip: skipUnlessShared }, () => {
  const dir = join(sharedDataDir()!, "topologies/sndlib");
  const files = readdirSync(dir).filter((f) => f.endsWith(".xml"));
  assert.equal(files.length, 22);
  for (const f of files) {
    const text = readFileSync(join(dir, f), "latin1");
    const topo = readSndlibNetwork(join(dir, f));
    assert.equal(topo.linkCount, 2 * (text.match(/<link /g) ?? []).length, f);
    assert.ok(parseSndlibDemands(text, f).length > 0, f);
  }
});

test("parseSndlibDemands reads abilene's 132 directed demands in Mbit/s", { skip: skipUnlessShared }, () => {
  const demands = parseSndlibDemands(readFileSync(sndlib("abilene"), "latin1"), "abilene.xml");
  assert.equal(demands.length, 132);
  assert.deepEqual(demands[0], { src: "IPLSng", dst: "STTLng", mbps: 3580 }); // the first <demand> in the file
  assert.ok(demands.every((d) => d.src !== d.dst && d.mbps >= 0));
});

test("parseSndlibDemands also reads one matrix of the GEANT traffic-matrix series", {
  skip: skipUnlessShared,
}, () => {
  const dir = join(sharedDataDir()!, "traffic-matrices/sndlib-geant-15min");
  const file = readdirSync(dir).filter((f) => f.endsWith(".xml"))[0]!;
  const demands = parseSndlibDemands(readFileSync(join(dir, file), "latin1"), file);
  assert.ok(demands.length >= 409 && demands.length <= 462, `${demands.length} demands`);
});

// ------------------------------------------------------------------------------------------------------------------

test("an inline network maps x to longitude, y to latitude and capacity Mbit/s to bits/s", () => {
  //   A (lon 0, lat 0) --- 622 Mbit/s --- B (lon 1, lat 0) --- default --- C (lon 1, lat 1)
  const topo = parseSndlibNetwork(
    network({
      nodes: node("A", 0, 0) + node("B", "1.0", " 0.0 ") + node("C", 1, 1),
      links: link("L1", "A", "B", "622.0") + link("L2", "B", "C"),
    }),
    "/data/tiny.xml",
    { defaults: { capacityBps: 1e9 } },
  );
  assert.equal(topo.name, "tiny");
  assert.deepEqual(
    topo.nodes.map((n) => [n.id, n.lat, n.lon]),
    [
      ["A", 0, 0],
      ["B", 0, 1],
      ["C", 1, 1],
    ],
  );
  assert.deepEqual(
    topo.links.map((l) => [l.id, l.capacityBps]),
    [
      ["A->B", 622e6],
      ["B->A", 622e6],
      ["B->C", 1e9],
      ["C->B", 1e9],
    ],
  );
  // One degree along the equator or a meridian: 111.195 km, 555.975 µs.
  assert.ok(topo.links.every((l) => Math.abs(l.delayNs - 555_975) <= 1));
});

const DEMAND_CASES: [
  name: string,
  demands: string,
  expected: { src: string; dst: string; mbps: number }[],
][] = [
  ["an absent <demands> section gives no demands", "", []],
  ["an empty <demands> section gives no demands", "<demands></demands>", []],
  ["a self-closing <demands/> gives no demands", "<demands/>", []],
  [
    "demand values are trimmed numbers in file order",
    `<demands>
      <demand id="B_A"><source>B</source><target>A</target><demandValue> 0.522208 </demandValue></demand>
      <demand id="A_B"><source>A</source><target>B</target><demandValue>12.0</demandValue></demand>
    </demands>`,
    [
      { src: "B", dst: "A", mbps: 0.522208 },
      { src: "A", dst: "B", mbps: 12 },
    ],
  ],
];

for (const [name, demands, expected] of DEMAND_CASES) {
  test(`parseSndlibDemands: ${name}`, () => {
    const xml = network({ nodes: node("A", 0, 0) + node("B", 1, 0), demands });
    assert.deepEqual(parseSndlibDemands(xml, "tm.xml"), expected);
  });
}

const BROKEN_NETWORKS: [name: string, xml: string, message: RegExp][] = [
  ["malformed XML", "<network><networkStructure></network>", /^bad\.xml: malformed XML at line 1/],
  ["a document that is not an SNDlib network", `<graphml/>`, /^bad\.xml: not an SNDlib network/],
  [
    "a network without <networkStructure>",
    `<network><meta/></network>`,
    /^bad\.xml: no <networkStructure> element$/,
  ],
  [
    "a unit that is not a bit rate",
    network({ nodes: node("A", 0, 0), unit: "PACKETSPERSEC" }),
    /^bad\.xml: meta unit: expected a bit rate \(BITPERSEC, BITSPERSEC, KBITPERSEC, MBITPERSEC, GBITPERSEC, TBITPERSEC\), got "PACKETSPERSEC"$/,
  ],
  ["a node without an id", network({ nodes: "<node/>" }), /^bad\.xml: node 0: missing id attribute$/],
  [
    "a duplicate node id",
    network({ nodes: node("A", 0, 0) + node("A", 1, 1) }),
    /^bad\.xml: node "A": duplicate node id$/,
  ],
  [
    "a geographical node with an impossible latitude",
    network({ nodes: node("A", 10, 123) }),
    /^bad\.xml: node "A": coordinates y must be a latitude in \[-90, 90\], got "123"$/,
  ],
  [
    "a link to an unknown node",
    network({ nodes: node("A", 0, 0), links: link("L3", "A", "XX") }),
    /^bad\.xml: link "L3" \(source "A", target "XX"\): unknown target node "XX"$/,
  ],
  [
    "a link without a target",
    network({ nodes: node("A", 0, 0), links: `<link id="L1"><source>A</source></link>` }),
    /^bad\.xml: link "L1" \(source "A", target undefined\): missing source or target$/,
  ],
  [
    "a zero pre-installed capacity",
    network({ nodes: node("A", 0, 0) + node("B", 1, 1), links: link("L1", "A", "B", "0.0") }),
    /^bad\.xml: link "L1" .*: preInstalledModule capacity must be a positive number of Mbit\/s, got "0\.0"$/,
  ],
];

for (const [name, xml, message] of BROKEN_NETWORKS) {
  test(`${name} gives a TopologyError naming the file and the element`, () => {
    assert.throws(
      () => parseSndlibNetwork(xml, "bad.xml"),
      (e: unknown) => e instanceof TopologyError && message.test(e.message),
    );
  });
}

test("pixel coordinates are not validated as degrees", () => {
  const topo = parseSndlibNetwork(
    network({ coordinatesType: "pixel", nodes: node("A", 283, 1200) }),
    "px.xml",
  );
  assert.equal(topo.nodes[0]!.lat, undefined);
});

const BROKEN_DEMANDS: [name: string, demands: string, message: RegExp][] = [
  [
    "a demand to an unknown node",
    `<demands><demand id="A_Z"><source>A</source><target>Z</target><demandValue>1</demandValue></demand></demands>`,
    /^tm\.xml: demand "A_Z": unknown node "Z"$/,
  ],
  [
    "a negative demand value",
    `<demands><demand id="A_B"><source>A</source><target>B</target><demandValue>-1</demandValue></demand></demands>`,
    /^tm\.xml: demand "A_B": demandValue must be a non-negative number of Mbit\/s, got "-1"$/,
  ],
  [
    "a demand without a value",
    `<demands><demand><source>A</source><target>B</target></demand></demands>`,
    /^tm\.xml: demand 0: demandValue must be/,
  ],
];

for (const [name, demands, message] of BROKEN_DEMANDS) {
  test(`parseSndlibDemands: ${name} gives a TopologyError naming the file and the demand`, () => {
    const xml = network({ nodes: node("A", 0, 0) + node("B", 1, 0), demands });
    assert.throws(
      () => parseSndlibDemands(xml, "tm.xml"),
      (e: unknown) => e instanceof TopologyError && message.test(e.message),
    );
  });
}

test("a missing file gives a TopologyError naming the path", () => {
  assert.throws(
    () => readSndlibNetwork("/nonexistent/abilene.xml"),
    (e: unknown) =>
      e instanceof TopologyError && /^\/nonexistent\/abilene\.xml: cannot read file/.test(e.message),
  );
});
