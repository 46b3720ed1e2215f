/**
 * Degraded links in the simulator's transports (`setLinkQuality`, the config's `state: degraded`): capacity and
 * delay change at the instant; loss is a Mathis cap per flow in the fluid model and a drop probability from a
 * seeded stream in the packet model. Fluid cases run on the diamond (1 Gbit/s, 1 ms per link):
 *
 *        a
 *      /   \
 *    s       t
 *      \   /
 *        b
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { RandomStreams } from "../../../sim/kernel/rng.ts";
import { mathisRateBps, TransportError } from "../../../sim/transport/flow-network.ts";
import { hasLinkQuality } from "../../../sim/transport/transport.ts";
import { diamond, MB } from "./diamond.ts";
import { forward, line, runFlows } from "./packet/fixture.ts";

describe("degraded links, fluid model", () => {
  it("halves a lone flow's rate when its link drops to 500 Mbit/s", () => {
    const { sim, net, records, viaA, s, t, topo } = diamond();
    net.startFlow({ src: s, dst: t, sizeBytes: MB, path: viaA });
    const at = topo.link("a->t");
    sim.schedule(4_000_000, () =>
      net.setLinkQuality(at, { capacityBps: 500e6, delayNs: 1_000_000, loss: 0 }),
    );
    sim.run();
    // 4 ms at 1 Gbit/s sends half; the other 0.5 MB at 500 Mbit/s takes 8 ms; then 2 ms of propagation.
    assert.equal(records[0]!.fctNs, 14_000_000);
  });

  it("adds a raised delay to the last byte's propagation", () => {
    const { sim, net, records, viaA, s, t, topo } = diamond();
    net.startFlow({ src: s, dst: t, sizeBytes: MB, path: viaA });
    const at = topo.link("a->t");
    sim.schedule(1_000_000, () => net.setLinkQuality(at, { capacityBps: 1e9, delayNs: 20_000_000, loss: 0 }));
    sim.run();
    assert.equal(net.linkDelayNs(at), 20_000_000);
    assert.equal(records[0]!.fctNs, 8_000_000 + 1_000_000 + 20_000_000);
  });

  it("caps a flow over a lossy link at its Mathis rate and gives the rest to a flow sharing the link", () => {
    const { sim, net, viaA, s, t, topo } = diamond();
    const first = topo.link("s->a");
    net.setLinkQuality(topo.link("a->t"), { capacityBps: 1e9, delayNs: 1_000_000, loss: 0.01 });
    const lossy = net.startFlow({ src: s, dst: t, sizeBytes: 100 * MB, path: viaA });
    const clean = net.startFlow({ src: s, dst: topo.node("a"), sizeBytes: 100 * MB, path: [first] });
    sim.run(1_000_000);
    // RTT 4 ms, MSS 1448 B, p = 1%: 1448 x 8 / 4 ms x sqrt(1.5 / 0.01) = 35.5 Mbit/s.
    const cap = mathisRateBps(1448, 4_000_000, 0.01);
    assert.ok(Math.abs(cap - 35.47e6) < 0.01e6, `cap ${cap}`);
    assert.ok(Math.abs(net.rateOf(lossy) - cap) < 1, `lossy ${net.rateOf(lossy)}`);
    assert.ok(Math.abs(net.rateOf(clean) - (1e9 - cap)) < 1, `clean ${net.rateOf(clean)}`);
  });

  it("caps a tunnelled flow at the Mathis rate of its RTT with the tunnel's delay", () => {
    const { sim, net, viaA, s, t, topo } = diamond();
    net.setLinkQuality(topo.link("a->t"), { capacityBps: 1e9, delayNs: 1_000_000, loss: 0.01 });
    const tunnel = { setupNs: 0, delayNs: 3_000_000, wireFactor: 1 };
    const f = net.startFlow({ src: s, dst: t, sizeBytes: 100 * MB, path: viaA, tunnel });
    sim.run(1_000_000);
    // RTT 2 x (2 ms of links + 3 ms of tunnel) = 10 ms.
    assert.ok(Math.abs(net.rateOf(f) - mathisRateBps(1448, 10_000_000, 0.01)) < 1, `rate ${net.rateOf(f)}`);
  });

  it("lifts the cap when the link is restored", () => {
    const { sim, net, viaA, s, t, topo } = diamond();
    const at = topo.link("a->t");
    net.setLinkQuality(at, { capacityBps: 1e9, delayNs: 1_000_000, loss: 0.05 });
    const f = net.startFlow({ src: s, dst: t, sizeBytes: 1000 * MB, path: viaA });
    sim.run(1_000_000);
    assert.ok(net.rateOf(f) < 20e6);
    net.setLinkQuality(at, { capacityBps: 1e9, delayNs: 1_000_000, loss: 0 });
    sim.run(2_000_000);
    assert.equal(net.rateOf(f), 1e9);
  });

  const bad = [
    {
      what: "a loss of 1",
      q: { capacityBps: 1e9, delayNs: 0, loss: 1 },
      msg: /loss must be in \[0, 1\), got 1/,
    },
    { what: "a negative delay", q: { capacityBps: 1e9, delayNs: -1, loss: 0 }, msg: /delay must be >= 0 ns/ },
    { what: "a NaN capacity", q: { capacityBps: Number.NaN, delayNs: 0, loss: 0 }, msg: /capacity/ },
  ];
  for (const c of bad) {
    it(`refuses ${c.what} with a TransportError naming the value`, () => {
      const { net, topo } = diamond();
      assert.throws(
        () => net.setLinkQuality(topo.link("a->t"), c.q),
        (e: unknown) => {
          assert.ok(e instanceof TransportError);
          assert.match((e as Error).message, c.msg);
          return true;
        },
      );
    });
  }
});

describe("degraded links, packet model", () => {
  const topo = () => line([{ capacityBps: 100e6, delayNs: 5e6 }]);
  const lossRandom = (seed: number) => {
    const s = new RandomStreams(seed).stream("transport/link-loss");
    return () => s.uniform();
  };

  it("drops about the loss fraction of the packets entering a lossy link, the same ones for a seed", () => {
    const drops = [1, 1, 2].map((seed) => {
      const t = topo();
      const run = runFlows(t, [], { lossRandom: lossRandom(seed) });
      const link = forward(t)[0]!;
      run.net.setLinkQuality(link, { capacityBps: 100e6, delayNs: 5e6, loss: 0.02 });
      const path = forward(t);
      run.sim.scheduleAt(run.sim.now, () => run.net.startFlow({ src: 0, dst: 1, sizeBytes: 2e6, path }));
      run.sim.run();
      assert.equal(run.records.length, 1, "the flow completes despite the losses");
      return run.net.linkDropsUntilNow(new Float64Array(t.linkCount))[link]!;
    });
    // 2 MB is ~1,380 segments plus retransmissions: 2% of them is ~28; the FIFO is large enough not to drop.
    assert.ok(drops[0]! >= 10 && drops[0]! <= 60, `drops ${drops[0]}`);
    assert.equal(drops[0], drops[1], "same seed, same drops");
    assert.notEqual(drops[0], drops[2], "another seed, other drops");
  });

  it("slows a flow when the link's capacity drops and its delay rises", () => {
    const fct = (degrade: boolean) => {
      const t = topo();
      const run = runFlows(t, []);
      if (degrade) run.net.setLinkQuality(forward(t)[0]!, { capacityBps: 10e6, delayNs: 20e6, loss: 0 });
      const path = forward(t);
      run.net.startFlow({ src: 0, dst: 1, sizeBytes: 1e6, path });
      run.sim.run();
      return run.records[0]!.fctNs;
    };
    const nominal = fct(false);
    const degraded = fct(true);
    // 1 MB at 10 Mbit/s is at least 800 ms of serialization.
    assert.ok(degraded > 800e6 && degraded > 2 * nominal, `nominal ${nominal}, degraded ${degraded}`);
  });

  it("refuses loss without a random stream", () => {
    const t = topo();
    const run = runFlows(t, []);
    assert.ok(hasLinkQuality(run.net));
    assert.throws(
      () => run.net.setLinkQuality(0, { capacityBps: 1e6, delayNs: 0, loss: 0.1 }),
      /loss > 0 needs a random stream/,
    );
  });
});
