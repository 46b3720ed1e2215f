import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { fatTree, grid, leafSpine, line, ring, star, waxman } from "../../../sim/substrate/generators.ts";
import { type Topology, TopologyError } from "../../../sim/substrate/topology.ts";

/** A tiny deterministic uniform [0, 1) source (Numerical Recipes LCG, 32 bits), for tests only. */
function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

/** Undirected edge count, checking every link has a reverse twin with the same properties. */
function undirectedLinks(topo: Topology): number {
  for (const l of topo.links) {
    assert.ok(l.reverse >= 0, `${l.id} has no reverse`);
    const r = topo.links[l.reverse]!;
    assert.equal(r.src, l.dst);
    assert.equal(r.dst, l.src);
    assert.equal(r.delayNs, l.delayNs);
  }
  return topo.linkCount / 2;
}

function isConnected(topo: Topology): boolean {
  const seen = new Set([0]);
  const queue = [0];
  while (queue.length > 0) {
    const u = queue.shift()!;
    for (const e of topo.outLinks[u]!) {
      const v = topo.links[e]!.dst;
      if (!seen.has(v)) {
        seen.add(v);
        queue.push(v);
      }
    }
  }
  return seen.size === topo.nodeCount;
}

function degree(topo: Topology, id: string): number {
  return topo.outLinks[topo.node(id)]!.length;
}

describe("topology generators", () => {
  const rng = lcg(42);
  const cases: { name: string; make: () => Topology; nodes: number; links: number; source: string }[] = [
    { name: "line(2)", make: () => line(2), nodes: 2, links: 1, source: "generator line(n=2)" },
    { name: "line(16)", make: () => line(16), nodes: 16, links: 15, source: "generator line(n=16)" },
    { name: "ring(3)", make: () => ring(3), nodes: 3, links: 3, source: "generator ring(n=3)" },
    { name: "ring(8)", make: () => ring(8), nodes: 8, links: 8, source: "generator ring(n=8)" },
    { name: "star(5)", make: () => star(5), nodes: 6, links: 5, source: "generator star(leaves=5)" },
    {
      name: "grid(3, 4)",
      make: () => grid(3, 4),
      nodes: 12,
      links: 17,
      source: "generator grid(rows=3, cols=4)",
    },
    {
      name: "grid(1, 5)",
      make: () => grid(1, 5),
      nodes: 5,
      links: 4,
      source: "generator grid(rows=1, cols=5)",
    },
    { name: "fatTree(2)", make: () => fatTree(2), nodes: 5 + 2, links: 6, source: "generator fatTree(k=2)" },
    {
      name: "fatTree(4)",
      make: () => fatTree(4),
      nodes: 20 + 16,
      links: 48,
      source: "generator fatTree(k=4)",
    },
    {
      name: "fatTree(4) without hosts",
      make: () => fatTree(4, { hosts: false }),
      nodes: 20,
      links: 32,
      source: "generator fatTree(k=4, hosts=false)",
    },
    {
      name: "fatTree(8)",
      make: () => fatTree(8),
      nodes: 80 + 128,
      links: 384,
      source: "generator fatTree(k=8)",
    },
    {
      name: "leafSpine(2, 4)",
      make: () => leafSpine(2, 4),
      nodes: 6,
      links: 8,
      source: "generator leafSpine(spines=2, leaves=4, hostsPerLeaf=0)",
    },
    {
      name: "leafSpine(4, 8, 16)",
      make: () => leafSpine(4, 8, 16),
      nodes: 4 + 8 + 128,
      links: 32 + 128,
      source: "generator leafSpine(spines=4, leaves=8, hostsPerLeaf=16)",
    },
    {
      name: "waxman(2) with alpha tiny",
      make: () => waxman(2, { alpha: 1e-12, beta: 0.1, rng }),
      nodes: 2,
      links: 1,
      source: "generator waxman(n=2, alpha=1e-12, beta=0.1)",
    },
  ];
  for (const c of cases) {
    it(`${c.name} has ${c.nodes} nodes and ${c.links} bidirectional links`, () => {
      const topo = c.make();
      assert.equal(topo.nodeCount, c.nodes);
      assert.equal(undirectedLinks(topo), c.links);
      assert.equal(topo.source, c.source);
      assert.ok(isConnected(topo));
    });
  }

  it("pads indices so that sorted ids are in natural order", () => {
    assert.deepEqual(
      line(8).nodes.map((n) => n.id),
      ["n0", "n1", "n2", "n3", "n4", "n5", "n6", "n7"],
    );
    const long = line(16).nodes.map((n) => n.id);
    assert.deepEqual(
      long,
      Array.from({ length: 16 }, (_, i) => `n${String(i).padStart(2, "0")}`),
    );
    assert.ok(line(16).linksBetween(line(16).node("n09"), line(16).node("n10")).length === 1);
    assert.deepEqual(
      grid(2, 3).nodes.map((n) => n.id),
      ["r0c0", "r0c1", "r0c2", "r1c0", "r1c1", "r1c2"],
    );
    const big = grid(11, 3).nodes.map((n) => n.id);
    assert.equal(big[0], "r00c0");
    assert.equal(big.at(-1), "r10c2");
    assert.deepEqual(
      star(3).nodes.map((n) => n.id),
      ["hub", "n0", "n1", "n2"],
    );
  });

  it("wires grid neighbours along rows and columns only", () => {
    const g = grid(3, 3);
    assert.equal(degree(g, "r0c0"), 2);
    assert.equal(degree(g, "r0c1"), 3);
    assert.equal(degree(g, "r1c1"), 4);
    assert.equal(g.linksBetween(g.node("r1c1"), g.node("r1c2")).length, 1);
    assert.equal(g.linksBetween(g.node("r1c1"), g.node("r2c2")).length, 0);
  });

  it("closes the ring between the last and the first node", () => {
    const r = ring(12);
    assert.equal(r.linksBetween(r.node("n11"), r.node("n00")).length, 1);
    for (const n of r.nodes) assert.equal(degree(r, n.id), 2);
  });

  it("builds the Al-Fares fat tree with k ports per switch and core c on aggregation floor(c / (k/2))", () => {
    const t = fatTree(4);
    const ids = t.nodes.map((n) => n.id);
    assert.deepEqual(
      ids.filter((id) => id.startsWith("core")),
      ["core0", "core1", "core2", "core3"],
    );
    assert.deepEqual(
      ids.filter((id) => id.startsWith("p0-")),
      [
        "p0-agg0",
        "p0-agg1",
        "p0-edge0",
        "p0-edge0-h0",
        "p0-edge0-h1",
        "p0-edge1",
        "p0-edge1-h0",
        "p0-edge1-h1",
      ],
    );
    for (const id of ids) assert.equal(degree(t, id), id.includes("-h") ? 1 : 4, id);
    for (let p = 0; p < 4; p++) {
      assert.equal(t.linksBetween(t.node("core0"), t.node(`p${p}-agg0`)).length, 1);
      assert.equal(t.linksBetween(t.node("core3"), t.node(`p${p}-agg1`)).length, 1);
      assert.equal(t.linksBetween(t.node("core3"), t.node(`p${p}-agg0`)).length, 0);
    }
    assert.equal(
      fatTree(8)
        .nodes.filter((n) => n.id.startsWith("core"))
        .at(-1)?.id,
      "core15",
    );
  });

  it("applies the link defaults to every generated link", () => {
    const t = ring(5, { capacityBps: 1e9, delayNs: 250 });
    for (const l of t.links) {
      assert.equal(l.capacityBps, 1e9);
      assert.equal(l.delayNs, 250);
    }
  });

  it("gives waxman the same graph for the same random sequence", () => {
    const a = waxman(60, { alpha: 0.4, beta: 0.15, rng: lcg(7) });
    const b = waxman(60, { alpha: 0.4, beta: 0.15, rng: lcg(7) });
    const c = waxman(60, { alpha: 0.4, beta: 0.15, rng: lcg(8) });
    const ids = (t: Topology) => t.links.map((l) => l.id);
    assert.deepEqual(ids(a), ids(b));
    assert.notDeepEqual(ids(a), ids(c));
    assert.equal(a.nodes[0]!.id, "n00");
  });

  it("connects every waxman graph, even when alpha makes links rare", () => {
    for (const seed of [1, 2, 3, 4, 5]) {
      const sparse = waxman(40, { alpha: 0.01, beta: 0.05, rng: lcg(seed) });
      assert.ok(isConnected(sparse), `seed ${seed}`);
      assert.ok(undirectedLinks(sparse) >= 39);
    }
  });

  it("scales waxman delays with distance when unitDelayNs is given", () => {
    const t = waxman(30, { alpha: 0.5, beta: 0.2, rng: lcg(3), unitDelayNs: 1_000_000 });
    const diagonal = Math.ceil(Math.SQRT2 * 1_000_000);
    for (const l of t.links) assert.ok(l.delayNs >= 0 && l.delayNs <= diagonal, l.id);
    assert.ok(new Set(t.links.map((l) => l.delayNs)).size > 1);
  });

  const bad: { call: string; make: () => unknown; message: RegExp }[] = [
    {
      call: "line(1)",
      make: () => line(1),
      message: /generator line\(n=1\): n must be an integer >= 2, got 1/,
    },
    { call: "line(2.5)", make: () => line(2.5), message: /line\(n=2\.5\): n must be an integer/ },
    { call: "ring(2)", make: () => ring(2), message: /ring\(n=2\): n must be an integer >= 3/ },
    { call: "star(0)", make: () => star(0), message: /star\(leaves=0\): leaves must be/ },
    { call: "grid(0, 3)", make: () => grid(0, 3), message: /grid\(rows=0, cols=3\): rows must be/ },
    {
      call: "grid(1, 1)",
      make: () => grid(1, 1),
      message: /grid\(rows=1, cols=1\): rows \* cols must be >= 2/,
    },
    {
      call: "fatTree(5)",
      make: () => fatTree(5),
      message: /fatTree\(k=5\): k must be an even integer >= 2, got 5/,
    },
    { call: "fatTree(0)", make: () => fatTree(0), message: /fatTree\(k=0\): k must be an even integer/ },
    { call: "leafSpine(0, 2)", make: () => leafSpine(0, 2), message: /leafSpine\(.*\): spines must be/ },
    { call: "leafSpine(2, 2, -1)", make: () => leafSpine(2, 2, -1), message: /hostsPerLeaf must be/ },
    {
      call: "waxman(1)",
      make: () => waxman(1, { alpha: 0.5, beta: 0.5, rng: lcg(1) }),
      message: /waxman\(n=1.*\): n must be/,
    },
    {
      call: "waxman with alpha 0",
      make: () => waxman(5, { alpha: 0, beta: 0.5, rng: lcg(1) }),
      message: /waxman\(.*\): alpha must be in \(0, 1\]/,
    },
    {
      call: "waxman with beta -1",
      make: () => waxman(5, { alpha: 0.5, beta: -1, rng: lcg(1) }),
      message: /waxman\(.*\): beta must be > 0/,
    },
    {
      call: "waxman with an rng returning 1",
      make: () => waxman(5, { alpha: 0.5, beta: 0.5, rng: () => 1 }),
      message: /waxman\(.*\): rng must return a number in \[0, 1\), got 1/,
    },
  ];
  for (const b of bad) {
    it(`rejects ${b.call} with a TopologyError naming the generator and parameter`, () => {
      assert.throws(b.make, (e: unknown) => e instanceof TopologyError && b.message.test(e.message));
    });
  }
});
