import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { composeSubstrates, type Gateway, substrateOf } from "../../../sim/substrate/compose.ts";
import { line, ring } from "../../../sim/substrate/generators.ts";
import { TopologyBuilder, TopologyError } from "../../../sim/substrate/topology.ts";

const MS = 1_000_000;
const wan = ring(3, { capacityBps: 10e9, delayNs: 5 * MS });
const dc = line(2, { capacityBps: 40e9, delayNs: 0 });
const oneWay = new TopologyBuilder("t", "test")
  .addNode({ id: "a" })
  .addNode({ id: "b" })
  .addLink("a", "b", {}, false)
  .build();

describe("composing substrates", () => {
  const net = composeSubstrates(
    "wan+dc",
    [
      { name: "wan", topology: wan },
      { name: "dc", topology: dc },
      { name: "edge", topology: oneWay },
    ],
    [
      { between: ["wan:n0", "dc:n0"], props: { capacityBps: 1e9, delayNs: 2 * MS, secure: true } },
      { between: ["dc:n1", "edge:a"], bidirectional: false },
    ],
  );

  it("keeps every node, prefixed with its substrate's name, and every link with its properties", () => {
    assert.deepEqual(
      net.nodes.map((n) => n.id),
      ["dc:n0", "dc:n1", "edge:a", "edge:b", "wan:n0", "wan:n1", "wan:n2"],
    );
    const link = (id: string) => net.links[net.link(id)]!;
    assert.equal(net.links.length, 6 + 2 + 1 + 2 + 1);
    assert.equal(link("wan:n0->wan:n1").delayNs, 5 * MS);
    assert.equal(link("dc:n1->dc:n0").capacityBps, 40e9);
    assert.equal(link("edge:a->edge:b").reverse, -1, "a one-way link stays one-way");
  });

  it("adds the gateways with their own properties, one-way where asked", () => {
    const g = net.links[net.link("dc:n0->wan:n0")]!;
    assert.deepEqual([g.capacityBps, g.delayNs, g.secure], [1e9, 2 * MS, true]);
    assert.equal(net.links[net.link("dc:n1->edge:a")]!.reverse, -1);
    assert.equal(
      net.links.some((l) => l.id === "edge:a->dc:n1"),
      false,
    );
  });

  const substrates = [
    ["wan:n0", "wan"],
    ["dc-2:x:y", "dc-2"],
    ["n0", undefined],
    [":n0", undefined],
    ["1x:n0", undefined],
  ] as const;
  for (const [id, want] of substrates) {
    it(`reads the substrate of ${JSON.stringify(id)} as ${want ?? "none"}`, () => {
      assert.equal(substrateOf(id), want);
    });
  }

  const bad: { what: string; names: string[]; gateways: Gateway[]; message: RegExp }[] = [
    {
      what: "a malformed name",
      names: ["w an", "dc"],
      gateways: [],
      message: /substrate name "w an": expected a letter/,
    },
    { what: "a name used twice", names: ["wan", "wan"], gateways: [], message: /"wan" is used twice/ },
    {
      what: "a gateway to an unknown node",
      names: ["wan", "dc"],
      gateways: [{ between: ["wan:n0", "dc:n7"] }],
      message:
        /gateway 0 \(wan:n0 - dc:n7\): "dc:n7" is not <substrate>:<node> of a substrate listed \(wan, dc\)/,
    },
    {
      what: "a gateway inside one substrate",
      names: ["wan", "dc"],
      gateways: [{ between: ["wan:n0", "wan:n1"] }],
      message: /gateway 0 \(wan:n0 - wan:n1\): both ends are in substrate "wan"/,
    },
  ];
  for (const b of bad) {
    it(`refuses ${b.what}, naming it`, () => {
      assert.throws(
        () =>
          composeSubstrates(
            "x",
            b.names.map((name, i) => ({ name, topology: i === 0 ? wan : dc })),
            b.gateways,
          ),
        (e: unknown) => e instanceof TopologyError && b.message.test((e as Error).message),
      );
    });
  }
});
