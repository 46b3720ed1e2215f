import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { Simulator } from "../../../sim/kernel/simulator.ts";
import { TopologyBuilder } from "../../../sim/substrate/topology.ts";
import { FlowNetwork, TransportError } from "../../../sim/transport/flow-network.ts";

const BIG = 1e15; // bytes: flows that never finish within the test
const G = 1e9;

/*
 *   a ==10G== m ==1G== z        every flow crosses the 1 Gbit/s bottleneck m -> z
 *   b ==10G== m
 */
function bottleneck() {
  const topo = new TopologyBuilder("bottleneck", "test")
    .addNode({ id: "a" })
    .addNode({ id: "b" })
    .addNode({ id: "m" })
    .addNode({ id: "z" })
    .addLink("a", "m", { capacityBps: 10 * G }, false)
    .addLink("b", "m", { capacityBps: 10 * G }, false)
    .addLink("m", "z", { capacityBps: 1 * G }, false)
    .build();
  const sim = new Simulator();
  const net = new FlowNetwork(sim, topo);
  const mz = topo.link("m->z");
  const fromA = [topo.link("a->m"), mz];
  const fromB = [topo.link("b->m"), mz];
  const start = (src: "a" | "b", qosClass?: number) =>
    net.startFlow({
      src: topo.node(src),
      dst: topo.node("z"),
      sizeBytes: BIG,
      path: src === "a" ? fromA : fromB,
      ...(qosClass === undefined ? {} : { qosClass }),
    });
  const rates = (flows: number[]) => {
    sim.run(sim.now + 1);
    return flows.map((f) => net.rateOf(f));
  };
  return { topo, sim, net, mz, fromA, fromB, start, rates };
}

const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);

/** A line n0 -> n1 -> ... -> n5 of the given capacities (Mbit/s); flows over [from, to) hops. */
function line(capsMbps: number[]) {
  const b = new TopologyBuilder("line", "fast-check");
  for (let i = 0; i <= capsMbps.length; i++) b.addNode({ id: `n${i}` });
  capsMbps.forEach((c, i) => {
    b.addLink(`n${i}`, `n${i + 1}`, { capacityBps: c * 1e6 }, false);
  });
  return b.build();
}

describe("QoS classes in the fluid model (guaranteed, then borrowed by strict priority)", () => {
  const cases: {
    name: string;
    /** Classes: [level, guaranteed, ceiling]. */
    classes: [number, number, number][];
    /** Flows: [source, class index or -1]. */
    flows: ["a" | "b", number][];
    expected: number[];
  }[] = [
    {
      name: "without classes the bottleneck is shared max-min fairly",
      classes: [],
      flows: [
        ["a", -1],
        ["a", -1],
        ["b", -1],
        ["b", -1],
      ],
      expected: [0.25 * G, 0.25 * G, 0.25 * G, 0.25 * G],
    },
    {
      name: "a high class with a guarantee keeps it against many best-effort flows",
      classes: [[0, 0.6 * G, Number.POSITIVE_INFINITY]],
      flows: [["a", 0], ...Array.from({ length: 9 }, (): ["b", number] => ["b", -1])],
      // The high class borrows first: it takes everything the guarantee left.
      expected: [1 * G, ...Array.from({ length: 9 }, () => 0)],
    },
    {
      name: "two priority classes: the high one keeps its guarantee and borrows first, the low one keeps its own",
      classes: [
        [0, 0.4 * G, Number.POSITIVE_INFINITY],
        [3, 0.2 * G, Number.POSITIVE_INFINITY],
      ],
      flows: [
        ["a", 0],
        ["a", 0],
        ["b", 1],
        ["b", -1],
      ],
      expected: [0.4 * G, 0.4 * G, 0.2 * G, 0],
    },
    {
      name: "a ceiling stops borrowing; what is left goes down the levels",
      classes: [
        [0, 0.2 * G, 0.5 * G],
        [1, 0, Number.POSITIVE_INFINITY],
      ],
      flows: [
        ["a", 0],
        ["b", 1],
        ["b", -1],
      ],
      expected: [0.5 * G, 0.5 * G, 0],
    },
    {
      name: "a guarantee without flows is lent to the others (work conserving)",
      classes: [[0, 0.9 * G, 0.9 * G]],
      flows: [
        ["b", -1],
        ["b", -1],
      ],
      expected: [0.5 * G, 0.5 * G],
    },
    {
      name: "within a level the flows share max-min, best effort at level 7 with a level-7 class",
      classes: [[7, 0, Number.POSITIVE_INFINITY]],
      flows: [
        ["a", 0],
        ["b", -1],
      ],
      expected: [0.5 * G, 0.5 * G],
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const t = bottleneck();
      const ids = c.classes.map(([level, g, ceil]) =>
        t.net.addQosClass({ level, guaranteedBps: g, ceilBps: ceil, links: [t.mz] }),
      );
      const flows = c.flows.map(([src, k]) => t.start(src, k < 0 ? undefined : ids[k]));
      const got = t.rates(flows);
      for (const [i, r] of got.entries()) assert.ok(Math.abs(r - c.expected[i]!) < 1, `flow ${i}: ${r}`);
      assert.ok(sum(got) <= 1 * G * (1 + 1e-9), "the bottleneck is not oversubscribed");
    });
  }

  it("keeps >= 95% of the high class's guaranteed rate as best-effort load comes and goes", () => {
    const t = bottleneck();
    const hi = t.net.addQosClass({ level: 0, guaranteedBps: 0.5 * G, ceilBps: 0.5 * G, links: [t.mz] });
    const lo = t.net.addQosClass({ level: 5, guaranteedBps: 0.1 * G, ceilBps: 1 * G, links: [t.mz] });
    const high = [t.start("a", hi), t.start("a", hi)];
    const others: number[] = [];
    for (let k = 0; k < 20; k++) {
      others.push(t.start("b", k % 2 === 0 ? lo : undefined));
      const r = t.rates([...high, ...others]);
      assert.ok(
        r[0]! + r[1]! >= 0.95 * 0.5 * G,
        `after ${k + 1} other flows the high class has ${r[0]! + r[1]!}`,
      );
      assert.ok(sum(r) <= 1 * G * (1 + 1e-9));
    }
  });

  it("refuses a guarantee that does not fit, and a bad level or ceiling", () => {
    const t = bottleneck();
    t.net.addQosClass({ level: 0, guaranteedBps: 0.7 * G, ceilBps: G, links: [t.mz] });
    assert.throws(
      () => t.net.addQosClass({ level: 1, guaranteedBps: 0.4 * G, ceilBps: G, links: [t.mz] }),
      (e: unknown) => e instanceof TransportError && /less than/.test(e.message),
    );
    assert.throws(() => t.net.reserve([t.mz], 0.4 * G), TransportError);
    assert.equal(t.net.unreservedBps(t.mz), 0.3 * G);
    for (const bad of [
      { level: 8, guaranteedBps: 0, ceilBps: G },
      { level: 0.5, guaranteedBps: 0, ceilBps: G },
      { level: 0, guaranteedBps: G, ceilBps: 0.5 * G },
      { level: 0, guaranteedBps: -1, ceilBps: G },
    ]) {
      assert.throws(() => t.net.addQosClass({ ...bad, links: [] }), TransportError, JSON.stringify(bad));
    }
  });

  it("moves flows in and out of classes, and removing a class returns its flows to best effort", () => {
    const t = bottleneck();
    const hi = t.net.addQosClass({
      level: 0,
      guaranteedBps: 0,
      ceilBps: Number.POSITIVE_INFINITY,
      links: [],
    });
    const f = [t.start("a"), t.start("b")];
    assert.deepEqual(t.rates(f), [0.5 * G, 0.5 * G]);
    t.net.setFlowQos(f[0]!, hi);
    assert.equal(t.net.qosClassOf(f[0]!), hi);
    assert.deepEqual(t.rates(f), [1 * G, 0]);
    t.net.removeQosClass(hi);
    assert.equal(t.net.qosClassOf(f[0]!), -1);
    assert.deepEqual(t.rates(f), [0.5 * G, 0.5 * G]);
    assert.throws(() => t.net.setFlowQos(f[0]!, hi), TransportError);
    assert.throws(() => t.net.removeQosClass(hi), TransportError);
  });

  it("releases a removed class's guarantee for reservations", () => {
    const t = bottleneck();
    const c = t.net.addQosClass({ level: 0, guaranteedBps: 0.8 * G, ceilBps: G, links: [t.mz] });
    assert.equal(t.net.unreservedBps(t.mz), 0.2 * G);
    t.net.removeQosClass(c);
    assert.equal(t.net.unreservedBps(t.mz), 1 * G);
  });

  it("finishes a class's flows at their class rates (completion times follow the allocation)", () => {
    const t = bottleneck();
    const hi = t.net.addQosClass({ level: 0, guaranteedBps: 0.75 * G, ceilBps: 0.75 * G, links: [t.mz] });
    // 75 MB at 0.75 Gbit/s: 0.8 s; the best-effort flow has 0.25 Gbit/s meanwhile, then the whole link.
    const a = t.net.startFlow({ src: 0, dst: 3, sizeBytes: 75e6, path: t.fromA, qosClass: hi });
    const b = t.net.startFlow({ src: 1, dst: 3, sizeBytes: 75e6, path: t.fromB });
    t.sim.run(800_000_000 - 1);
    assert.ok(t.net.isActive(a));
    t.sim.run(800_000_000);
    assert.ok(!t.net.isActive(a));
    assert.equal(t.net.rateOf(b), 1 * G);
  });

  it("never oversubscribes a link, keeps every ceiling, and gives every admitted guarantee in full", () => {
    const scenario = fc.record({
      caps: fc.array(fc.integer({ min: 10, max: 1000 }), { minLength: 5, maxLength: 5 }),
      classes: fc.array(
        fc.record({ level: fc.integer({ min: 0, max: 7 }), g: fc.nat(400), extra: fc.option(fc.nat(400)) }),
        { maxLength: 4 },
      ),
      flows: fc.array(fc.tuple(fc.nat(4), fc.integer({ min: 1, max: 5 }), fc.integer({ min: -1, max: 3 })), {
        minLength: 1,
        maxLength: 25,
      }),
    });
    fc.assert(
      fc.property(scenario, ({ caps, classes, flows }) => {
        const topo = line(caps);
        const sim = new Simulator();
        const net = new FlowNetwork(sim, topo);
        const paths = flows.map(([from, hops]) => {
          const to = Math.min(5, from + hops);
          return Array.from({ length: to - from }, (_, i) => topo.link(`n${from + i}->n${from + i + 1}`));
        });
        // Each class is admitted on the links its flows cross; one that does not fit stays out.
        const ids = classes.map((c, k) => {
          const links = [...new Set(paths.filter((_, i) => flows[i]![2] === k).flat())];
          const ceil = c.extra === null ? Number.POSITIVE_INFINITY : (c.g + c.extra) * 1e6;
          try {
            return net.addQosClass({
              level: c.level,
              guaranteedBps: c.g * 1e6,
              ceilBps: Math.max(ceil, 1),
              links,
            });
          } catch {
            return -1;
          }
        });
        const started = flows.map(([from, , k], i) =>
          net.startFlow({
            src: from,
            dst: from + paths[i]!.length,
            sizeBytes: BIG,
            path: paths[i]!,
            ...(k >= 0 && ids[k]! >= 0 ? { qosClass: ids[k]! } : {}),
          }),
        );
        sim.run(1);
        for (let l = 0; l < topo.linkCount; l++) {
          assert.ok(net.linkLoadBps(l) <= topo.links[l]!.capacityBps * (1 + 1e-9), `link ${l} over capacity`);
        }
        ids.forEach((id, k) => {
          if (id < 0) return;
          const total = sum(started.filter((f) => net.qosClassOf(f) === id).map((f) => net.rateOf(f)));
          const c = classes[k]!;
          const any = started.some((f) => net.qosClassOf(f) === id);
          if (c.extra !== null)
            assert.ok(total <= (c.g + c.extra) * 1e6 * (1 + 1e-9) + 1, `class ${k} over its ceiling`);
          if (any) assert.ok(total >= c.g * 1e6 * (1 - 1e-9), `class ${k} got ${total} of its ${c.g} Mbit/s`);
        });
      }),
      { numRuns: 300, seed: 13 },
    );
  });
});
