import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { Simulator } from "../../../sim/kernel/simulator.ts";
import { TopologyBuilder } from "../../../sim/substrate/topology.ts";
import { FlowNetwork } from "../../../sim/transport/flow-network.ts";

const BIG = 1e15; // bytes: flows that never finish within the test

describe("max-min fair allocation", () => {
  /*
   *   a ==10G== b ==10G== c ==4G== d
   *   f0: a->d   f1: a->b   f2: b->c   f3: c->d
   * cd is the first bottleneck (f0, f3 get 2G each); f1 and f2 then fill ab and bc (8G each).
   */
  it("matches the textbook allocation on a three-link line", () => {
    const topo = new TopologyBuilder("line", "test")
      .addNode({ id: "a" })
      .addNode({ id: "b" })
      .addNode({ id: "c" })
      .addNode({ id: "d" })
      .addLink("a", "b", { capacityBps: 10e9 }, false)
      .addLink("b", "c", { capacityBps: 10e9 }, false)
      .addLink("c", "d", { capacityBps: 4e9 }, false)
      .build();
    const sim = new Simulator();
    const net = new FlowNetwork(sim, topo);
    const [ab, bc, cd] = ["a->b", "b->c", "c->d"].map((id) => topo.link(id)) as [number, number, number];
    const n = (id: string) => topo.node(id);
    const flows = [
      net.startFlow({ src: n("a"), dst: n("d"), sizeBytes: BIG, path: [ab, bc, cd] }),
      net.startFlow({ src: n("a"), dst: n("b"), sizeBytes: BIG, path: [ab] }),
      net.startFlow({ src: n("b"), dst: n("c"), sizeBytes: BIG, path: [bc] }),
      net.startFlow({ src: n("c"), dst: n("d"), sizeBytes: BIG, path: [cd] }),
    ];
    sim.run(1);
    assert.deepEqual(
      flows.map((f) => net.rateOf(f)),
      [2e9, 8e9, 8e9, 2e9],
    );
  });

  it("satisfies capacity and bottleneck conditions on random graphs and flow sets", () => {
    const scenario = fc.record({
      nodes: fc.integer({ min: 2, max: 9 }),
      extra: fc.array(fc.tuple(fc.nat(), fc.nat(), fc.integer({ min: 1, max: 100 })), { maxLength: 15 }),
      caps: fc.array(fc.integer({ min: 1, max: 100 }), { minLength: 9, maxLength: 9 }),
      flows: fc.array(fc.tuple(fc.nat(), fc.array(fc.nat(), { minLength: 1, maxLength: 6 })), {
        minLength: 1,
        maxLength: 40,
      }),
    });
    fc.assert(
      fc.property(scenario, ({ nodes, extra, caps, flows }) => {
        const b = new TopologyBuilder("random", "fast-check");
        for (let i = 0; i < nodes; i++) b.addNode({ id: `n${i}` });
        for (let i = 1; i < nodes; i++) b.addLink(`n${i - 1}`, `n${i}`, { capacityBps: caps[i - 1]! * 1e6 });
        for (const [u, v, c] of extra) {
          if (u % nodes !== v % nodes) b.addLink(`n${u % nodes}`, `n${v % nodes}`, { capacityBps: c * 1e6 });
        }
        const topo = b.build();
        const sim = new Simulator();
        const net = new FlowNetwork(sim, topo);
        // Random loopless walks as paths.
        for (const [start, steps] of flows) {
          const path: number[] = [];
          const seen = new Set<number>();
          let at = start % nodes;
          seen.add(at);
          for (const s of steps) {
            const out = topo.outLinks[at]!.filter((l) => !seen.has(topo.links[l]!.dst));
            if (out.length === 0) break;
            const l = out[s % out.length]!;
            path.push(l);
            at = topo.links[l]!.dst;
            seen.add(at);
          }
          if (path.length === 0) continue;
          net.startFlow({ src: start % nodes, dst: at, sizeBytes: BIG, path });
        }
        sim.run(1);
        const ids = net.activeFlowIds();
        for (let l = 0; l < topo.linkCount; l++) {
          assert.ok(net.linkLoadBps(l) <= topo.links[l]!.capacityBps * (1 + 1e-9), `link ${l} over capacity`);
        }
        for (const f of ids) {
          const r = net.rateOf(f);
          assert.ok(r > 0);
          const hasBottleneck = net.pathOf(f).some((l) => {
            const saturated = net.linkLoadBps(l) >= topo.links[l]!.capacityBps * (1 - 1e-9);
            const maximal = net.flowsOnLink(l).every((g) => net.rateOf(g) <= r * (1 + 1e-9));
            return saturated && maximal;
          });
          assert.ok(hasBottleneck, `flow ${f} at ${r} bit/s has no bottleneck link`);
        }
      }),
      { numRuns: 300, seed: 7 },
    );
  });

  it("recomputes only the component that shares links with the change", () => {
    //  a --1G--> b      c --1G--> d     (two disjoint links)
    const topo = new TopologyBuilder("two", "test")
      .addNode({ id: "a" })
      .addNode({ id: "b" })
      .addNode({ id: "c" })
      .addNode({ id: "d" })
      .addLink("a", "b", { capacityBps: 1e9 }, false)
      .addLink("c", "d", { capacityBps: 1e9 }, false)
      .build();
    const sim = new Simulator();
    const net = new FlowNetwork(sim, topo);
    const [a, b, c, d] = ["a", "b", "c", "d"].map((x) => topo.node(x)) as [number, number, number, number];
    for (let i = 0; i < 10; i++) net.startFlow({ src: c, dst: d, sizeBytes: BIG, path: [topo.link("c->d")] });
    sim.run(1);
    const before = net.stats;
    net.startFlow({ src: a, dst: b, sizeBytes: BIG, path: [topo.link("a->b")] });
    sim.run(2);
    const after = net.stats;
    assert.equal(after.reallocations - before.reallocations, 1);
    const visited =
      after.meanComponentFlows * after.reallocations - before.meanComponentFlows * before.reallocations;
    assert.equal(visited, 1, "only the new flow's component (1 flow) is recomputed, not the 10 others");
  });
});
