import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { TransportError } from "../../../sim/transport/flow-network.ts";
import { diamond, MB } from "./diamond.ts";

describe("flow network", () => {
  it("finishes a lone 1 MB flow in 8 ms of transfer plus 2 ms of propagation", () => {
    const { sim, net, records, viaA, s, t } = diamond();
    net.startFlow({ src: s, dst: t, sizeBytes: MB, path: viaA });
    sim.run();
    assert.equal(records.length, 1);
    assert.equal(records[0]!.fctNs, 10_000_000);
    assert.equal(records[0]!.idealFctNs, 10_000_000);
    assert.equal(records[0]!.slowdown, 1);
  });

  it("shares a link equally, then gives the survivor the whole link", () => {
    const { sim, net, records, viaA, s, t } = diamond();
    net.startFlow({ src: s, dst: t, sizeBytes: MB, path: viaA });
    net.startFlow({ src: s, dst: t, sizeBytes: 2 * MB, path: viaA });
    sim.run();
    // Both at 500 Mbit/s until the 1 MB flow ends at 16 ms; the other has 1 MB left at 1 Gbit/s: 24 ms.
    assert.deepEqual(
      records.map((r) => r.fctNs),
      [18_000_000, 26_000_000],
    );
  });

  it("stalls flows on a failed link and resumes them when it comes back", () => {
    const { sim, net, records, viaA, s, t, topo } = diamond();
    const f = net.startFlow({ src: s, dst: t, sizeBytes: MB, path: viaA });
    sim.schedule(4_000_000, () => net.setLinkUp(topo.link("a->t"), false));
    sim.schedule(4_000_001, () => assert.equal(net.rateOf(f), 0));
    sim.schedule(10_000_000, () => net.setLinkUp(topo.link("a->t"), true));
    sim.run();
    // 4 ms sent half, stalled 6 ms, 4 ms for the other half, 2 ms propagation.
    assert.equal(records[0]!.fctNs, 16_000_000);
  });

  it("moves a stalled flow to another path with setPath", () => {
    const { sim, net, records, viaA, viaB, s, t, topo } = diamond();
    const f = net.startFlow({ src: s, dst: t, sizeBytes: MB, path: viaA });
    sim.schedule(4_000_000, () => net.setLinkUp(topo.link("a->t"), false));
    sim.schedule(5_000_000, () => net.setPath(f, viaB));
    sim.run();
    assert.equal(records[0]!.fctNs, 11_000_000);
    assert.deepEqual(records[0]!.path, viaB);
  });

  it("follows a capacity change at once", () => {
    const { sim, net, records, viaA, s, t, topo } = diamond();
    net.startFlow({ src: s, dst: t, sizeBytes: MB, path: viaA });
    sim.schedule(4_000_000, () => net.setLinkCapacity(topo.link("s->a"), 0.5e9));
    sim.run();
    // Half sent in 4 ms, the other half at 500 Mbit/s takes 8 ms.
    assert.equal(records[0]!.fctNs, 14_000_000);
  });

  it("counts the bits each link carried", () => {
    const { sim, net, viaA, s, t, topo } = diamond();
    net.startFlow({ src: s, dst: t, sizeBytes: MB, path: viaA });
    sim.run();
    const bits = net.linkBitsUntilNow(new Float64Array(topo.linkCount));
    assert.ok(Math.abs(bits[topo.link("s->a")]! - 8 * MB) < 1e-3);
    assert.equal(bits[topo.link("s->b")], 0);
  });

  const bad: [string, (d: ReturnType<typeof diamond>) => unknown, RegExp][] = [
    ["a zero size", (d) => d.net.startFlow({ src: d.s, dst: d.t, sizeBytes: 0, path: d.viaA }), /positive/],
    [
      "the same source and destination",
      (d) => d.net.startFlow({ src: d.s, dst: d.s, sizeBytes: 1, path: d.viaA }),
      /same node/,
    ],
    [
      "a path that does not start at the source",
      (d) => d.net.startFlow({ src: d.s, dst: d.t, sizeBytes: 1, path: [d.viaA[1]!] }),
      /does not start/,
    ],
    [
      "a path that stops short",
      (d) => d.net.startFlow({ src: d.s, dst: d.t, sizeBytes: 1, path: [d.viaA[0]!] }),
      /not at the destination/,
    ],
    ["an unknown flow", (d) => d.net.rateOf(42), /unknown or finished flow 42/],
  ];
  for (const [what, act, msg] of bad) {
    it(`rejects ${what} with a TransportError`, () => {
      assert.throws(
        () => act(diamond()),
        (e: unknown) => e instanceof TransportError && msg.test(e.message),
      );
    });
  }
});
