/**
 * Min-MLU LP (models/te/min-mlu.ts): known optima on hand-drawn networks, the bound against every single-path
 * routing of small random networks (brute force), the path form over all simple paths equal to the arc form, and
 * input errors.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import seedrandom from "seedrandom";
import { MinMluError, type MluLink, minMluBound, minMluOverPaths } from "../../../models/te/min-mlu.ts";

const G = 1e9;

/** Bidirectional links from `[a, b, capacity bits/s]` triples. */
function both(edges: readonly [number, number, number][]): MluLink[] {
  return edges.flatMap(([a, b, c]) => [
    { src: a, dst: b, capacityBps: c },
    { src: b, dst: a, capacityBps: c },
  ]);
}

function matrix(n: number, demands: readonly [number, number, number][]): Float64Array {
  const m = new Float64Array(n * n);
  for (const [s, t, d] of demands) m[s * n + t]! += d;
  return m;
}

/** Every simple path from s to t as link index lists. */
function simplePaths(n: number, links: readonly MluLink[], s: number, t: number): number[][] {
  const out: number[][] = [];
  const onPath = new Uint8Array(n);
  const walk = (v: number, path: number[]) => {
    if (v === t) {
      out.push([...path]);
      return;
    }
    onPath[v] = 1;
    links.forEach((l, e) => {
      if (l.src === v && !onPath[l.dst]) {
        path.push(e);
        walk(l.dst, path);
        path.pop();
      }
    });
    onPath[v] = 0;
  };
  walk(s, []);
  return out;
}

function mluOf(links: readonly MluLink[], loads: ArrayLike<number>): number {
  let m = 0;
  links.forEach((l, e) => {
    m = Math.max(m, loads[e]! / l.capacityBps);
  });
  return m;
}

describe("min-MLU bound: known optima", () => {
  // Diamond 0-1-3 and 0-2-3; line 0-1-2.
  const cases: {
    name: string;
    n: number;
    links: MluLink[];
    demands: [number, number, number][];
    mlu: number;
  }[] = [
    {
      name: "equal parallel paths split evenly",
      n: 4,
      links: both([
        [0, 1, 10 * G],
        [1, 3, 10 * G],
        [0, 2, 10 * G],
        [2, 3, 10 * G],
      ]),
      demands: [[0, 3, 10 * G]],
      mlu: 0.5,
    },
    {
      name: "unequal parallel paths split by capacity",
      n: 4,
      links: both([
        [0, 1, 10 * G],
        [1, 3, 10 * G],
        [0, 2, 30 * G],
        [2, 3, 30 * G],
      ]),
      demands: [[0, 3, 20 * G]],
      mlu: 0.5,
    },
    {
      name: "a line carries everything on its one path",
      n: 3,
      links: both([
        [0, 1, 1 * G],
        [1, 2, 4 * G],
      ]),
      demands: [
        [0, 2, 0.5 * G],
        [1, 2, 1 * G],
      ],
      mlu: 0.5,
    },
    {
      name: "an overloaded bottleneck gives MLU above 1",
      n: 2,
      links: both([[0, 1, 1 * G]]),
      demands: [
        [0, 1, 3 * G],
        [1, 0, 1 * G],
      ],
      mlu: 3,
    },
    { name: "no demand", n: 2, links: both([[0, 1, 1 * G]]), demands: [], mlu: 0 },
  ];
  for (const c of cases) {
    it(c.name, async () => {
      const r = await minMluBound(c.n, c.links, matrix(c.n, c.demands));
      assert.ok(Math.abs(r.mlu - c.mlu) < 1e-9, `mlu ${r.mlu}, expected ${c.mlu}`);
      assert.ok(Math.abs(mluOf(c.links, r.linkLoadBps) - c.mlu) < 1e-6);
      assert.deepEqual(r.unroutable, []);
    });
  }

  it("lists demands no path joins and bounds the rest", async () => {
    const links: MluLink[] = [{ src: 0, dst: 1, capacityBps: 2 * G }];
    const r = await minMluBound(
      3,
      links,
      matrix(3, [
        [0, 1, 1 * G],
        [1, 0, 1 * G],
        [2, 0, 5 * G],
      ]),
    );
    assert.ok(Math.abs(r.mlu - 0.5) < 1e-9);
    assert.deepEqual(r.unroutable, [
      [1, 0, 1 * G],
      [2, 0, 5 * G],
    ]);
  });

  it("splits over given paths by capacity", async () => {
    const links = both([
      [0, 1, 10 * G],
      [1, 3, 10 * G],
      [0, 2, 30 * G],
      [2, 3, 30 * G],
    ]);
    const paths = simplePaths(4, links, 0, 3);
    const r = await minMluOverPaths(4, links, [{ rateBps: 20 * G, paths }]);
    assert.ok(Math.abs(r.mlu - 0.5) < 1e-9);
    const viaOne = paths.findIndex((p) => links[p[0]!]!.dst === 1);
    assert.ok(Math.abs(r.splits[0]![viaOne]! - 0.25) < 1e-9, `split ${Array.from(r.splits[0]!)}`);
  });
});

describe("min-MLU bound against brute force on random networks", () => {
  for (let seed = 0; seed < 12; seed++) {
    it(`seed ${seed}: no single-path routing beats the bound; the path LP over all simple paths meets it`, async () => {
      const rng = seedrandom(`min-mlu-${seed}`);
      const n = 5;
      // A ring plus two random chords, random capacities 1..10 Gbit/s.
      const edges: [number, number, number][] = [];
      for (let v = 0; v < n; v++) edges.push([v, (v + 1) % n, (1 + Math.floor(rng() * 10)) * G]);
      for (let k = 0; k < 2; k++) {
        const a = Math.floor(rng() * n);
        const b = (a + 2 + Math.floor(rng() * (n - 3))) % n;
        edges.push([a, b, (1 + Math.floor(rng() * 10)) * G]);
      }
      const links = both(edges);
      const demands: [number, number, number][] = [];
      for (let k = 0; k < 3; k++) {
        const s = Math.floor(rng() * n);
        const t = (s + 1 + Math.floor(rng() * (n - 1))) % n;
        demands.push([s, t, (0.5 + rng() * 4) * G]);
      }
      const bound = await minMluBound(n, links, matrix(n, demands));
      // Brute force over every single-path assignment (demands of one pair add up on one path choice each).
      const candidates = demands.map(([s, t]) => simplePaths(n, links, s, t));
      let best = Infinity;
      const load = new Float64Array(links.length);
      const assign = (i: number) => {
        if (i === demands.length) {
          best = Math.min(best, mluOf(links, load));
          return;
        }
        for (const p of candidates[i]!) {
          for (const e of p) load[e]! += demands[i]![2];
          assign(i + 1);
          for (const e of p) load[e]! -= demands[i]![2];
        }
      };
      assign(0);
      assert.ok(bound.mlu <= best + 1e-9, `bound ${bound.mlu} above a single-path routing's ${best}`);
      const split = await minMluOverPaths(
        n,
        links,
        demands.map(([, , d], i) => ({ rateBps: d, paths: candidates[i]! })),
      );
      assert.ok(Math.abs(split.mlu - bound.mlu) < 1e-7, `path LP ${split.mlu} vs arc LP ${bound.mlu}`);
      assert.ok(Math.abs(mluOf(links, split.linkLoadBps) - split.mlu) < 1e-6);
      for (const s of split.splits) assert.ok(Math.abs(s.reduce((a, x) => a + x, 0) - 1) < 1e-9);
    });
  }
});

describe("min-MLU input errors", () => {
  const ok = both([[0, 1, G]]);
  const cases: { name: string; run: () => Promise<unknown>; message: RegExp }[] = [
    {
      name: "wrong matrix size",
      run: () => minMluBound(2, ok, new Float64Array(3)),
      message: /expected 2 x 2/,
    },
    {
      name: "capacity not > 0",
      run: () => minMluBound(2, [{ src: 0, dst: 1, capacityBps: 0 }], new Float64Array(4)),
      message: /link 0: capacityBps must be a finite number > 0, got 0/,
    },
    {
      name: "node out of range",
      run: () => minMluBound(2, [{ src: 0, dst: 2, capacityBps: G }], new Float64Array(4)),
      message: /link 0: node index 2 is not in \[0, 2\)/,
    },
    {
      name: "self-loop",
      run: () => minMluBound(2, [{ src: 1, dst: 1, capacityBps: G }], new Float64Array(4)),
      message: /self-loop/,
    },
    {
      name: "negative demand",
      run: () => minMluBound(2, ok, Float64Array.from([0, -1, 0, 0])),
      message: /demand 0->1: -1 is not a rate >= 0/,
    },
    {
      name: "path with an unknown link",
      run: () => minMluOverPaths(2, ok, [{ rateBps: G, paths: [[5]] }]),
      message: /demand 0, path 0: link index 5 is not in \[0, 2\)/,
    },
    {
      name: "path using a link twice",
      run: () => minMluOverPaths(2, ok, [{ rateBps: G, paths: [[0, 0]] }]),
      message: /link 0 appears twice/,
    },
  ];
  for (const c of cases) {
    it(c.name, async () => {
      await assert.rejects(c.run(), (e: unknown) => e instanceof MinMluError && c.message.test(e.message));
    });
  }
});
