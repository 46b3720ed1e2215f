import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { IdealFct } from "../../../sim/substrate/ideal-fct.ts";
import { TopologyBuilder, TopologyError } from "../../../sim/substrate/topology.ts";

const MS = 1_000_000;

/**
 * Two ways from s to t: a short thin one and a long fat one; z is cut off.
 *
 *        a                  s -> a -> t: 100 Mbit/s, 1 ms per link (2 ms, 100 Mbit/s bottleneck)
 *      /   \                s -> b -> t: 10 Gbit/s, 10 ms per link (20 ms, 10 Gbit/s)
 *     s     t     z
 *      \   /
 *        b
 */
function twoWays() {
  return new TopologyBuilder("two-ways", "test")
    .addNode({ id: "s" })
    .addNode({ id: "a" })
    .addNode({ id: "b" })
    .addNode({ id: "t" })
    .addNode({ id: "z" })
    .addLink("s", "a", { capacityBps: 100e6, delayNs: 1 * MS })
    .addLink("a", "t", { capacityBps: 100e6, delayNs: 1 * MS })
    .addLink("s", "b", { capacityBps: 10e9, delayNs: 10 * MS })
    .addLink("b", "t", { capacityBps: 10e9, delayNs: 10 * MS })
    .build();
}

describe("the ideal FCT (best completion time alone on the idle substrate)", () => {
  const topo = twoWays();
  const ideal = new IdealFct(topo);
  const s = topo.node("s");
  const t = topo.node("t");
  const cases: { name: string; sizeBytes: number; ns: number }[] = [
    // 10 kB: thin path 0.8 ms + 2 ms = 2.8 ms; fat path 0.008 ms + 20 ms.
    { name: "a small flow's is the short thin path's", sizeBytes: 10_000, ns: 0.8 * MS + 2 * MS },
    // 10 MB: thin path 800 ms + 2 ms; fat path 8 ms + 20 ms = 28 ms.
    { name: "a large flow's is the long fat path's", sizeBytes: 10_000_000, ns: 8 * MS + 20 * MS },
    // The paths tie where size x 8 x (1/100e6 - 1/10e9) = 18 ms: 227,272.7 bytes; just past it the fat one wins.
    {
      name: "a flow of the crossover size's is the smaller of the two",
      sizeBytes: 250_000,
      ns: 0.2 * MS + 20 * MS,
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      assert.ok(
        Math.abs(ideal.ns(s, t, c.sizeBytes) - c.ns) < 1e-6,
        `${ideal.ns(s, t, c.sizeBytes)} vs ${c.ns}`,
      );
    });
  }

  it("is the same whichever way the flow goes: it depends on the endpoints and the size only", () => {
    assert.equal(new IdealFct(twoWays()).ns(s, t, 12345), ideal.ns(s, t, 12345));
    assert.equal(ideal.ns(t, s, 12345), ideal.ns(s, t, 12345));
  });

  it("is 0 for a flow within one node", () => {
    assert.equal(ideal.ns(s, s, 1e6), 0);
  });

  it("refuses a pair the substrate does not connect, naming it", () => {
    assert.throws(
      () => ideal.ns(s, topo.node("z"), 1000),
      (e: unknown) => e instanceof TopologyError && /no path from "s" to "z"/.test(e.message),
    );
  });
});
