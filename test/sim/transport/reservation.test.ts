import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { TransportError } from "../../../sim/transport/flow-network.ts";
import { diamond, MB } from "./diamond.ts";

describe("reservations (pseudo links)", () => {
  it("gives flows over a reservation its rate and the rest of the link to other flows", () => {
    const { sim, net, viaA, s, t } = diamond();
    const vl = net.reserve(viaA, 600e6);
    const reserved = net.startFlow({ src: s, dst: t, sizeBytes: 100 * MB, path: [vl] });
    const other = net.startFlow({ src: s, dst: t, sizeBytes: 100 * MB, path: viaA });
    sim.run(1);
    assert.equal(net.rateOf(reserved), 600e6);
    assert.equal(net.rateOf(other), 400e6);
    assert.equal(net.linkLoadBps(viaA[0]!), 1e9);
  });

  it("reports the substrate path, its delay, and slowdown against the substrate's capacity", () => {
    const { sim, net, records, viaA, s, t } = diamond();
    const vl = net.reserve(viaA, 500e6);
    net.startFlow({ src: s, dst: t, sizeBytes: MB, path: [vl] });
    sim.run();
    assert.deepEqual(records[0]!.path, viaA);
    assert.equal(records[0]!.fctNs, 18_000_000); // 16 ms at 500 Mbit/s + 2 ms propagation
    assert.equal(records[0]!.idealFctNs, 10_000_000); // at the substrate's 1 Gbit/s
  });

  it("counts traffic over a reservation on the links under it, also after release", () => {
    const { sim, net, viaA, viaB, topo, s, t } = diamond();
    const vl = net.reserve(viaA, 500e6);
    const f = net.startFlow({ src: s, dst: t, sizeBytes: 2 * MB, path: [vl] });
    sim.schedule(16_000_000, () => {
      net.setPath(f, viaB);
      net.release(vl);
    });
    sim.run();
    const bits = net.linkBitsUntilNow(new Float64Array(topo.linkCount));
    assert.ok(Math.abs(bits[viaA[0]!]! - 8 * MB) < 1, `${bits[viaA[0]!]}`);
    assert.ok(Math.abs(bits[viaB[0]!]! - 8 * MB) < 1, `${bits[viaB[0]!]}`);
    assert.equal(net.unreservedBps(viaA[0]!), 1e9);
  });

  it("stalls flows over a reservation while a link under it is down", () => {
    const { sim, net, viaA, s, t } = diamond();
    const vl = net.reserve(viaA, 500e6);
    const f = net.startFlow({ src: s, dst: t, sizeBytes: 10 * MB, path: [vl] });
    sim.schedule(1_000_000, () => net.setLinkUp(viaA[1]!, false));
    sim.run(2_000_000);
    assert.equal(net.rateOf(f), 0);
    assert.equal(net.isLinkUp(vl), false);
    net.setLinkUp(viaA[1]!, true);
    sim.run(3_000_000);
    assert.equal(net.rateOf(f), 500e6);
  });

  const bad: [string, (d: ReturnType<typeof diamond>) => unknown, RegExp][] = [
    [
      "more than the unreserved capacity",
      (d) => {
        d.net.reserve(d.viaA, 700e6);
        d.net.reserve(d.viaA, 400e6);
      },
      /unreserved, less than/,
    ],
    ["a non-contiguous path", (d) => d.net.reserve([d.viaA[0]!, d.viaB[1]!], 1e6), /not contiguous/],
    ["a zero rate", (d) => d.net.reserve(d.viaA, 0), /positive/],
    [
      "release of a reservation that carries flows",
      (d) => {
        const vl = d.net.reserve(d.viaA, 1e6);
        d.net.startFlow({ src: d.s, dst: d.t, sizeBytes: MB, path: [vl] });
        d.net.release(vl);
      },
      /still carries 1 flows/,
    ],
    ["release of a substrate link", (d) => d.net.release(0), /not a live reservation/],
  ];
  for (const [what, act, msg] of bad) {
    it(`rejects ${what}`, () => {
      assert.throws(
        () => act(diamond()),
        (e: unknown) => e instanceof TransportError && msg.test(e.message),
      );
    });
  }
});
