import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { fatTree, grid } from "../../../sim/substrate/generators.ts";
import {
  allPairsShortestPaths,
  ecmpPaths,
  kShortestPaths,
  type Path,
  pathBottleneckBps,
  pathCost,
  pathDelayNs,
  shortestPath,
  validatePath,
  type Weight,
} from "../../../sim/substrate/routing.ts";
import { type Link, type Topology, TopologyBuilder, TopologyError } from "../../../sim/substrate/topology.ts";

const MS = 1_000_000;

/**
 * A topology from chains such as `A --1-- B --10-- C` (bidirectional links, delay in ms) or `C --3-> D` (one-way).
 * Nodes are created on first mention; each line may list any number of hops.
 */
function fromChains(name: string, text: string): Topology {
  const b = new TopologyBuilder(name, `fixture ${name}`);
  for (const line of text.split("\n")) {
    const tokens = line
      .trim()
      .split(/\s+/)
      .filter((t) => t !== "");
    for (let i = 0; i < tokens.length; i += 2) if (!b.hasNode(tokens[i]!)) b.addNode({ id: tokens[i]! });
    for (let i = 1; i < tokens.length; i += 2) {
      const m = /^-+(\d+)-+(>?)$/.exec(tokens[i]!);
      if (!m) throw new Error(`fixture ${name}: bad link token ${tokens[i]}`);
      b.addLink(tokens[i - 1]!, tokens[i + 1]!, { delayNs: Number(m[1]) * MS }, m[2] !== ">");
    }
  }
  return b.build();
}

/** Node ids along a path, joined: `"A-B-C"`. */
function via(topo: Topology, path: Path | undefined): string | undefined {
  return path && topo.pathNodes(path).join("-");
}

const n = (topo: Topology, id: string) => topo.node(id);

/*
 *   A ──1── B ──1── C
 *   │               │
 *   10              1
 *   │               │
 *   D ──────10───── E        (delays in ms)
 */
const SQUARE = fromChains(
  "square",
  `
  A --1-- B --1-- C --1-- E
  A --10-- D --10-- E
  `,
);

/*
 * The example of Wikipedia's "Yen's algorithm" article (one-way links, costs in ms):
 *
 *          3            4            1
 *     C ─────────> D ─────────> F ─────────> H
 *     │            ^          ^ │            ^
 *    2│           1│       2 /  │2           │2
 *     v            │        /   v            │
 *     E ───────────┘       /    G ───────────┘
 *     │ \_________________/     ^
 *     └────────────3────────────┘
 */
const YEN = fromChains(
  "yen",
  `
  C --3-> D --4-> F --1-> H
  C --2-> E --1-> D
  E --2-> F --2-> G --2-> H
  E --3-> G
  `,
);

describe("shortest paths (Dijkstra)", () => {
  const cases: { weight: Weight; route: string; cost: number }[] = [
    { weight: "delay", route: "A-B-C-E", cost: 3 * MS },
    { weight: "hops", route: "A-D-E", cost: 2 },
    { weight: (l) => MS / l.delayNs, route: "A-D-E", cost: 0.2 },
  ];
  for (const c of cases) {
    it(`routes A to E via ${c.route} by ${typeof c.weight === "string" ? c.weight : "a custom weight"}`, () => {
      const path = shortestPath(SQUARE, n(SQUARE, "A"), n(SQUARE, "E"), { weight: c.weight });
      assert.equal(via(SQUARE, path), c.route);
      assert.equal(pathCost(SQUARE, path!, c.weight), c.cost);
    });
  }

  it("returns the empty path from a node to itself and undefined when nothing connects", () => {
    assert.deepEqual(shortestPath(SQUARE, 0, 0), []);
    assert.equal(shortestPath(YEN, n(YEN, "H"), n(YEN, "C")), undefined);
  });

  it("reroutes around an excluded link or node", () => {
    const [a, c, e] = [n(SQUARE, "A"), n(SQUARE, "C"), n(SQUARE, "E")];
    const ab = SQUARE.link("A->B");
    assert.equal(via(SQUARE, shortestPath(SQUARE, a, e, { exclude: { links: new Set([ab]) } })), "A-D-E");
    const mask = new Uint8Array(SQUARE.linkCount);
    mask[SQUARE.link("C->E")] = 1;
    assert.equal(via(SQUARE, shortestPath(SQUARE, a, e, { exclude: { links: mask } })), "A-D-E");
    assert.equal(via(SQUARE, shortestPath(SQUARE, a, e, { exclude: { nodes: new Set([c]) } })), "A-D-E");
    assert.equal(shortestPath(SQUARE, a, e, { exclude: { nodes: new Set([e]) } }), undefined);
    // Only the A->B direction failed: B still reaches A directly.
    assert.equal(
      via(SQUARE, shortestPath(SQUARE, n(SQUARE, "B"), a, { exclude: { links: new Set([ab]) } })),
      "B-A",
    );
  });

  const ties: { rule: string; chains: string; from: string; to: string; route: string }[] = [
    {
      rule: "prefers fewer hops among equal-cost paths",
      chains: "A --1-- B --1-- C\nA --2-- C",
      from: "A",
      to: "C",
      route: "A-C",
    },
    {
      rule: "prefers the smaller first link index when cost and hops tie",
      chains: "S --1-- Y --1-- T\nS --1-- X --1-- T",
      from: "S",
      to: "T",
      route: "S-X-T",
    },
    {
      rule: "compares link sequences from the source, not from the destination",
      chains: "S --1-- A --1-- D --1-- T\nS --1-- B --1-- C --1-- T",
      from: "S",
      to: "T",
      route: "S-A-D-T",
    },
  ];
  for (const t of ties) {
    it(`${t.rule}, whatever the order the links were added in`, () => {
      const lines = t.chains.split("\n");
      const forward = fromChains("tie", lines.join("\n"));
      const backward = fromChains("tie", lines.reverse().join("\n"));
      for (const topo of [forward, backward]) {
        assert.equal(via(topo, shortestPath(topo, n(topo, t.from), n(topo, t.to))), t.route);
      }
    });
  }

  it("picks parallel links by their key order", () => {
    const topo = new TopologyBuilder("parallel", "fixture parallel")
      .addNode({ id: "A" })
      .addNode({ id: "B" })
      .addLink("A", "B", { delayNs: 5 })
      .addLink("A", "B", { delayNs: 5 })
      .build();
    assert.deepEqual(shortestPath(topo, 0, 1), [topo.link("A->B")]);
    assert.deepEqual(
      kShortestPaths(topo, 0, 1, 5).map((p) => p.map((l) => topo.links[l]!.id)),
      [["A->B"], ["A->B#1"]],
    );
  });

  it("rejects node indices out of range and negative weights with a TopologyError", () => {
    assert.throws(() => shortestPath(SQUARE, 0, 99), TopologyError);
    assert.throws(() => shortestPath(SQUARE, 0, 1, { weight: () => -1 }), /weight of link "A->B" must be/);
    assert.throws(
      () => shortestPath(SQUARE, 0, 1, { exclude: { links: new Uint8Array(2) } }),
      /mask has length/,
    );
  });
});

describe("all-pairs shortest paths", () => {
  it("agrees with single-source Dijkstra on every pair and caches the paths", () => {
    const topo = fatTree(4);
    const table = allPairsShortestPaths(topo, { weight: "hops" });
    for (let s = 0; s < topo.nodeCount; s++) {
      for (let d = 0; d < topo.nodeCount; d++) {
        const path = table.path(s, d);
        assert.deepEqual(path, shortestPath(topo, s, d, { weight: "hops" }));
        assert.equal(table.hops(s, d), path!.length);
        assert.equal(table.cost(s, d), path!.length);
      }
    }
    assert.equal(table.path(0, 5), table.path(0, 5));
    assert.ok(Object.isFrozen(table.path(0, 5)));
  });

  it("gives each least path's last link, -1 from a node to itself", () => {
    const topo = fatTree(4);
    const table = allPairsShortestPaths(topo, { weight: "hops" });
    for (let s = 0; s < topo.nodeCount; s++) {
      for (let d = 0; d < topo.nodeCount; d++) {
        const path = table.path(s, d)!;
        assert.equal(table.lastLink(s, d), s === d ? -1 : path[path.length - 1]);
      }
    }
  });

  it("reports unreachable pairs as undefined, Infinity and -1", () => {
    const table = allPairsShortestPaths(YEN);
    const [h, c] = [n(YEN, "H"), n(YEN, "C")];
    assert.equal(table.path(h, c), undefined);
    assert.equal(table.cost(h, c), Number.POSITIVE_INFINITY);
    assert.equal(table.hops(h, c), -1);
    assert.equal(table.lastLink(h, c), -1);
    assert.equal(table.cost(c, h), 5 * MS);
  });
});

describe("k shortest loopless paths (Yen)", () => {
  it("finds C-E-F-H, C-E-G-H and C-D-F-H in the Wikipedia example", () => {
    const paths = kShortestPaths(YEN, n(YEN, "C"), n(YEN, "H"), 3);
    assert.deepEqual(
      paths.map((p) => via(YEN, p)),
      ["C-E-F-H", "C-E-G-H", "C-D-F-H"],
    );
    assert.deepEqual(
      paths.map((p) => pathDelayNs(YEN, p) / MS),
      [5, 7, 8],
    );
  });

  it("lists every loopless path when k exceeds their number, ties at cost 8 by hops then links", () => {
    const paths = kShortestPaths(YEN, n(YEN, "C"), n(YEN, "H"), 100);
    assert.deepEqual(
      paths.map((p) => `${via(YEN, p)} ${pathDelayNs(YEN, p) / MS}`),
      ["C-E-F-H 5", "C-E-G-H 7", "C-D-F-H 8", "C-E-D-F-H 8", "C-E-F-G-H 8", "C-D-F-G-H 11", "C-E-D-F-G-H 11"],
    );
  });

  it("returns nothing for k = 0 or an unreachable destination, and rejects a fractional k", () => {
    assert.deepEqual(kShortestPaths(YEN, 0, 1, 0), []);
    assert.deepEqual(kShortestPaths(YEN, n(YEN, "H"), n(YEN, "C"), 3), []);
    assert.throws(() => kShortestPaths(YEN, 0, 1, 1.5), /k must be an integer >= 0, got 1.5/);
  });
});

describe("equal-cost multipath", () => {
  const ft = fatTree(4);
  const cases: { what: string; from: string; to: string; count: number; hops: number }[] = [
    { what: "hosts in different pods", from: "p0-edge0-h0", to: "p1-edge0-h0", count: 4, hops: 6 },
    {
      what: "hosts under different edges of one pod",
      from: "p0-edge0-h0",
      to: "p0-edge1-h1",
      count: 2,
      hops: 4,
    },
    { what: "hosts under one edge switch", from: "p0-edge0-h0", to: "p0-edge0-h1", count: 1, hops: 2 },
  ];
  for (const c of cases) {
    it(`finds ${c.count} paths of ${c.hops} hops between ${c.what} of fatTree(4)`, () => {
      for (const weight of ["hops", "delay"] as const) {
        const paths = ecmpPaths(ft, n(ft, c.from), n(ft, c.to), { weight });
        assert.equal(paths.length, c.count);
        for (const p of paths) {
          validatePath(ft, p, n(ft, c.from), n(ft, c.to));
          assert.equal(p.length, c.hops);
        }
        assert.deepEqual(paths[0], shortestPath(ft, n(ft, c.from), n(ft, c.to), { weight }));
      }
    });
  }

  it("finds the 6 monotone paths across a 3x3 grid in link order", () => {
    const g = grid(3, 3);
    const paths = ecmpPaths(g, n(g, "r0c0"), n(g, "r2c2"), { weight: "hops" });
    assert.deepEqual(
      paths.map((p) => via(g, p)),
      [
        "r0c0-r0c1-r0c2-r1c2-r2c2",
        "r0c0-r0c1-r1c1-r1c2-r2c2",
        "r0c0-r0c1-r1c1-r2c1-r2c2",
        "r0c0-r1c0-r1c1-r1c2-r2c2",
        "r0c0-r1c0-r1c1-r2c1-r2c2",
        "r0c0-r1c0-r2c0-r2c1-r2c2",
      ],
    );
  });

  it("caps the 70 corner-to-corner paths of a 5x5 grid at maxPaths", () => {
    const g = grid(5, 5);
    const [a, b] = [n(g, "r0c0"), n(g, "r4c4")];
    assert.equal(ecmpPaths(g, a, b).length, 64);
    assert.equal(ecmpPaths(g, a, b, { maxPaths: 100 }).length, 70);
    assert.deepEqual(ecmpPaths(g, a, b, { maxPaths: 3 }), ecmpPaths(g, a, b).slice(0, 3));
  });

  it("keeps equal-cost paths of different lengths, fewer hops first", () => {
    const topo = fromChains("mixed", "A --2-- C\nA --1-- B --1-- C");
    assert.deepEqual(
      ecmpPaths(topo, n(topo, "A"), n(topo, "C")).map((p) => via(topo, p)),
      ["A-C", "A-B-C"],
    );
  });

  it("treats costs within a relative 1e-9 as equal", () => {
    const topo = fromChains("near", "A --1-- B --1-- C\nA --1-- D --1-- C");
    const slightlyMore = (l: Link) => (l.id === "D->C" ? l.delayNs * (1 + 1e-12) : l.delayNs);
    assert.equal(ecmpPaths(topo, 0, n(topo, "C"), { weight: slightlyMore }).length, 2);
    const clearlyMore = (l: Link) => (l.id === "D->C" ? l.delayNs * (1 + 1e-6) : l.delayNs);
    assert.equal(ecmpPaths(topo, 0, n(topo, "C"), { weight: clearlyMore }).length, 1);
  });
});

describe("path metrics and validation", () => {
  const topo = new TopologyBuilder("metrics", "fixture metrics")
    .addNode({ id: "A" })
    .addNode({ id: "B" })
    .addNode({ id: "C" })
    .addLink("A", "B", { delayNs: 3 * MS, capacityBps: 10e9 })
    .addLink("B", "C", { delayNs: 4 * MS, capacityBps: 1e9 })
    .build();
  const abc = [topo.link("A->B"), topo.link("B->C")];

  it("sums delays and finds the bottleneck capacity", () => {
    assert.equal(pathDelayNs(topo, abc), 7 * MS);
    assert.equal(pathCost(topo, abc, "hops"), 2);
    assert.equal(pathBottleneckBps(topo, abc), 1e9);
    assert.equal(pathBottleneckBps(topo, []), Number.POSITIVE_INFINITY);
    assert.equal(pathDelayNs(topo, []), 0);
  });

  const invalid: { what: string; path: number[]; src: string; dst: string; message: RegExp }[] = [
    {
      what: "a gap",
      path: [topo.link("A->B"), topo.link("A->B")],
      src: "A",
      dst: "B",
      message: /path\[1\].*starts at "A" but path\[0\].*ends at "B"/,
    },
    {
      what: "a wrong start",
      path: abc,
      src: "B",
      dst: "C",
      message: /path\[0\] \(link "A->B"\) starts at "A", not "B"/,
    },
    { what: "a wrong end", path: abc, src: "A", dst: "B", message: /path ends at "C", not "B"/ },
    {
      what: "a loop",
      path: [topo.link("A->B"), topo.link("B->A")],
      src: "A",
      dst: "A",
      message: /loop.*returns to "A"/,
    },
    {
      what: "no links between distinct nodes",
      path: [],
      src: "A",
      dst: "C",
      message: /empty path cannot lead from "A" to "C"/,
    },
    {
      what: "an unknown link",
      path: [0, 42],
      src: "A",
      dst: "C",
      message: /path\[1\] = 42 is not a link index/,
    },
  ];
  for (const c of invalid) {
    it(`rejects a path with ${c.what}`, () => {
      assert.throws(
        () => validatePath(topo, c.path, n(topo, c.src), n(topo, c.dst)),
        (e: unknown) => e instanceof TopologyError && c.message.test(e.message),
      );
    });
  }

  it("accepts a contiguous loopless path and the empty path at its own node", () => {
    validatePath(topo, abc, 0, 2);
    validatePath(topo, [], 1, 1);
  });
});

// ---------------------------------------------------------------------------------------------------------------
// Properties on random connected graphs, against brute force and Floyd–Warshall.

interface GraphSpec {
  n: number;
  tree: [number, number][];
  extra: { a: number; b: number; w: number; oneWay: boolean }[];
}

const graphSpec: fc.Arbitrary<GraphSpec> = fc.record({
  n: fc.integer({ min: 2, max: 7 }),
  tree: fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 4 })), { minLength: 6, maxLength: 6 }),
  extra: fc.array(
    fc.record({ a: fc.nat(), b: fc.nat(), w: fc.integer({ min: 0, max: 4 }), oneWay: fc.boolean() }),
    { maxLength: 10 },
  ),
});

/**
 * A connected graph (a random spanning tree plus extra links, possibly one-way), integer delays. `parallel: false`
 * drops extra links between already linked pairs; `reversed` adds nodes and links in the opposite order.
 */
function buildGraph(spec: GraphSpec, { reversed = false, parallel = true } = {}): Topology {
  const links: [string, string, number, boolean][] = [];
  for (let i = 1; i < spec.n; i++) {
    const [p, w] = spec.tree[i - 1]!;
    links.push([`v${p % i}`, `v${i}`, w, true]);
  }
  const linked = new Set(links.map(([s, d]) => [s, d].sort().join()));
  for (const x of spec.extra) {
    const [s, d] = [`v${x.a % spec.n}`, `v${x.b % spec.n}`];
    const pair = [s, d].sort().join();
    if (s === d || (!parallel && linked.has(pair))) continue;
    linked.add(pair);
    links.push([s, d, x.w, !x.oneWay]);
  }
  const b = new TopologyBuilder("random", "fixture random");
  const ids = Array.from({ length: spec.n }, (_, i) => `v${i}`);
  for (const id of reversed ? ids.reverse() : ids) b.addNode({ id });
  for (const [s, d, w, bi] of reversed ? links.reverse() : links) b.addLink(s, d, { delayNs: w }, bi);
  return b.build();
}

/** Every loopless path, sorted by (cost, hops, link indices from the source). */
function bruteForce(topo: Topology, src: number, dst: number, weight: Weight): Path[] {
  const found: Path[] = [];
  const onPath = new Set([src]);
  const walk = (u: number, path: number[]) => {
    if (u === dst) {
      found.push([...path]);
      return;
    }
    for (const e of topo.outLinks[u]!) {
      const v = topo.links[e]!.dst;
      if (onPath.has(v)) continue;
      onPath.add(v);
      path.push(e);
      walk(v, path);
      path.pop();
      onPath.delete(v);
    }
  };
  walk(src, []);
  const key = (p: Path) => pathCost(topo, p, weight);
  return found.sort((a, b) => key(a) - key(b) || a.length - b.length || lexCompare(a, b));
}

function lexCompare(a: Path, b: Path): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
}

function floydWarshall(topo: Topology, weight: Weight): number[][] {
  const size = topo.nodeCount;
  const d = Array.from({ length: size }, (_, i) =>
    Array.from({ length: size }, (_, j) => (i === j ? 0 : Number.POSITIVE_INFINITY)),
  );
  for (const l of topo.links)
    d[l.src]![l.dst] = Math.min(d[l.src]![l.dst]!, pathCost(topo, [l.index], weight));
  for (let k = 0; k < size; k++) {
    for (let i = 0; i < size; i++) {
      for (let j = 0; j < size; j++) d[i]![j] = Math.min(d[i]![j]!, d[i]![k]! + d[k]![j]!);
    }
  }
  return d;
}

const endpoints = fc.tuple(fc.nat(), fc.nat(), fc.constantFrom<Weight>("delay", "hops"));

describe("routing properties on random connected graphs", () => {
  it("gives Dijkstra's costs equal to Floyd–Warshall's for every pair", () => {
    fc.assert(
      fc.property(graphSpec, fc.constantFrom<Weight>("delay", "hops"), (spec, weight) => {
        const topo = buildGraph(spec);
        const ref = floydWarshall(topo, weight);
        const table = allPairsShortestPaths(topo, { weight });
        for (let s = 0; s < topo.nodeCount; s++) {
          for (let d = 0; d < topo.nodeCount; d++) {
            const path = shortestPath(topo, s, d, { weight });
            assert.equal(
              path === undefined ? Number.POSITIVE_INFINITY : pathCost(topo, path, weight),
              ref[s]![d],
            );
            assert.equal(table.cost(s, d), ref[s]![d]);
            assert.deepEqual(table.path(s, d), path);
          }
        }
      }),
    );
  });

  it("gives Yen's paths loopless, distinct, non-decreasing in cost, the first equal to Dijkstra's", () => {
    fc.assert(
      fc.property(graphSpec, endpoints, fc.integer({ min: 1, max: 8 }), (spec, [a, b, weight], k) => {
        const topo = buildGraph(spec);
        const [src, dst] = [a % topo.nodeCount, b % topo.nodeCount];
        const paths = kShortestPaths(topo, src, dst, k, { weight });
        assert.ok(paths.length >= 1 && paths.length <= k);
        for (const p of paths) validatePath(topo, p, src, dst);
        assert.equal(new Set(paths.map((p) => p.join(","))).size, paths.length);
        const costs = paths.map((p) => pathCost(topo, p, weight));
        for (let i = 1; i < costs.length; i++) assert.ok(costs[i - 1]! <= costs[i]!);
        assert.deepEqual(paths[0], shortestPath(topo, src, dst, { weight }));
      }),
    );
  });

  it("gives exactly the k least paths by (cost, hops, link indices), as brute force does", () => {
    fc.assert(
      fc.property(graphSpec, endpoints, fc.integer({ min: 1, max: 12 }), (spec, [a, b, weight], k) => {
        const topo = buildGraph(spec);
        const [src, dst] = [a % topo.nodeCount, b % topo.nodeCount];
        const all = bruteForce(topo, src, dst, weight);
        assert.deepEqual(kShortestPaths(topo, src, dst, k, { weight }), all.slice(0, k));
        assert.deepEqual(shortestPath(topo, src, dst, { weight }), all[0]);
      }),
    );
  });

  it("gives ECMP exactly the least-cost paths, fewest hops first, as brute force does", () => {
    fc.assert(
      fc.property(graphSpec, endpoints, fc.integer({ min: 1, max: 6 }), (spec, [a, b, weight], maxPaths) => {
        const topo = buildGraph(spec);
        const [src, dst] = [a % topo.nodeCount, b % topo.nodeCount];
        const all = bruteForce(topo, src, dst, weight);
        const least = pathCost(topo, all[0]!, weight);
        const equal = all.filter((p) => pathCost(topo, p, weight) === least);
        assert.deepEqual(ecmpPaths(topo, src, dst, { weight, maxPaths }), equal.slice(0, maxPaths));
      }),
    );
  });

  it("routes the same way whatever order nodes and links were added in", () => {
    fc.assert(
      fc.property(graphSpec, endpoints, (spec, [a, b, weight]) => {
        // Parallel links are keyed by insertion order, so leave them out here.
        const one = buildGraph(spec, { parallel: false });
        const two = buildGraph(spec, { parallel: false, reversed: true });
        const [src, dst] = [a % one.nodeCount, b % one.nodeCount];
        const ids = (t: Topology, ps: Path[]) => ps.map((p) => p.map((l) => t.links[l]!.id));
        assert.deepEqual(
          ids(one, kShortestPaths(one, src, dst, 4, { weight })),
          ids(two, kShortestPaths(two, src, dst, 4, { weight })),
        );
        assert.deepEqual(
          ids(one, ecmpPaths(one, src, dst, { weight })),
          ids(two, ecmpPaths(two, src, dst, { weight })),
        );
      }),
    );
  });
});
