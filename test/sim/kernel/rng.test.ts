import assert from "node:assert/strict";
import { describe, it } from "node:test";
import seedrandom from "seedrandom";
import {
  DistributionError,
  EmpiricalCdf,
  IntegerExponentialTable,
  RandomStreams,
} from "../../../sim/kernel/rng.ts";

function draws(streams: RandomStreams, name: string, n: number): number[] {
  const s = streams.stream(name);
  return Array.from({ length: n }, () => s.uniform());
}

const n = 200_000;

function meanOf(n: number, f: () => number): number {
  let sum = 0;
  for (let i = 0; i < n; i++) sum += f();
  return sum / n;
}

describe("random streams", () => {
  it("gives the same draws for the same (seed, run, name)", () => {
    assert.deepEqual(
      draws(new RandomStreams(7, 0), "arrivals", 5),
      draws(new RandomStreams(7, 0), "arrivals", 5),
    );
  });

  it("gives different draws for another run, seed or name", () => {
    const base = draws(new RandomStreams(7, 0), "arrivals", 5);
    assert.notDeepEqual(draws(new RandomStreams(7, 1), "arrivals", 5), base);
    assert.notDeepEqual(draws(new RandomStreams(8, 0), "arrivals", 5), base);
    assert.notDeepEqual(draws(new RandomStreams(7, 0), "sizes", 5), base);
  });

  // The stream steps xor4096 itself over an Int32Array (seedrandom seeds it): the same doubles as seedrandom's own
  // generator for string seeds, numbers, long names (seed mixing over more than 128 characters) and runs.
  const keys: [number | string, number, string][] = [
    [7, 2, "arrivals"],
    [0, 0, ""],
    [-1, 3, "sizes/ATLA-CHIN"],
    ["seed", 0, "x".repeat(300)],
  ];
  for (const [seed, run, name] of keys) {
    it(`draws seedrandom's xor4096 53-bit doubles for the key ${JSON.stringify([seed, run, name]).slice(0, 40)}, bit for bit`, () => {
      const s = new RandomStreams(seed, run).stream(name);
      const ref = seedrandom.xor4096(JSON.stringify([seed, run, name]));
      for (let i = 0; i < 5000; i++) assert.equal(s.uniform(), ref.double());
      for (let i = 0; i < 1000; i++) assert.equal(s.exponential(100), -100 * Math.log1p(-ref.double()));
      const u = s.uniform01;
      for (let i = 0; i < 1000; i++) assert.equal(u(), ref.double());
    });
  }

  it("does not shift a stream's draws when another stream is added or used", () => {
    const a = new RandomStreams(1, 0);
    const b = new RandomStreams(1, 0);
    draws(b, "new-component", 100);
    assert.deepEqual(draws(a, "arrivals", 10), draws(b, "arrivals", 10));
  });

  const cases: [string, (s: ReturnType<RandomStreams["stream"]>) => number, number, number][] = [
    ["uniform", (s) => s.uniform(), 0.5, 0.005],
    ["exponential(mean 3)", (s) => s.exponential(3), 3, 0.03],
    ["normal(2, 1)", (s) => s.normal(2, 1), 2, 0.01],
    ["lognormal(0, 0.5)", (s) => s.lognormal(0, 0.5), Math.exp(0.125), 0.01],
    ["pareto(3, 1)", (s) => s.pareto(3, 1), 1.5, 0.02],
  ];
  for (const [name, draw, mean, tol] of cases) {
    it(`draws ${name} with the right mean`, () => {
      const s = new RandomStreams(11).stream(name);
      const m = meanOf(n, () => draw(s));
      assert.ok(Math.abs(m - mean) / mean < tol, `${name}: sample mean ${m}, expected ${mean}`);
    });
  }

  it("normal draws have unit variance", () => {
    const s = new RandomStreams(3).stream("normal");
    const xs = Array.from({ length: n }, () => s.normal());
    const m = xs.reduce((a, b) => a + b, 0) / n;
    const v = xs.reduce((a, b) => a + (b - m) ** 2, 0) / n;
    assert.ok(Math.abs(v - 1) < 0.02, `variance ${v}`);
  });
});

describe("exponential variates by the ziggurat method", () => {
  // One seeded sample, shared by the distribution tests below (deterministic: the bounds hold or fail for good).
  const N = 2_000_000;
  const sample = new Float64Array(N);
  const zs = new RandomStreams(17).stream("ziggurat");
  for (let i = 0; i < N; i++) sample[i] = zs.exponentialZiggurat(1);
  const sorted = Float64Array.from(sample).sort();
  const cdf = (x: number) => -Math.expm1(-x);

  it("gives the same sequence for the same (seed, run, name) and another for another name", () => {
    const seq = (name: string) => {
      const s = new RandomStreams(5, 1).stream(name);
      return Array.from({ length: 1000 }, () => s.exponentialZiggurat(3));
    };
    assert.deepEqual(seq("a"), seq("a"));
    assert.notDeepEqual(seq("a"), seq("b"));
  });

  it("passes Kolmogorov-Smirnov against Exp(1) (2e6 draws, sqrt(n) D below the 0.1% critical value 1.95)", () => {
    let d = 0;
    for (let i = 0; i < N; i++) {
      const F = cdf(sorted[i]!);
      d = Math.max(d, F - i / N, (i + 1) / N - F);
    }
    assert.ok(Math.sqrt(N) * d < 1.95, `sqrt(n) D = ${Math.sqrt(N) * d}`);
  });

  it("passes chi-square against Exp(1) on 1,000 equiprobable bins (every layer and wedge of the ziggurat)", () => {
    const bins = 1000;
    const counts = new Float64Array(bins);
    for (const x of sample) counts[Math.min(bins - 1, Math.floor(cdf(x) * bins))]!++;
    const e = N / bins;
    let chi2 = 0;
    for (const c of counts) chi2 += (c - e) ** 2 / e;
    // 999 degrees of freedom: mean 999, sd 44.7; 1,143 is the 0.1% critical value
    assert.ok(chi2 < 1143, `chi-square ${chi2}`);
  });

  it("draws the tail beyond r = 7.697 with probability e^-r and as r + Exp(1) (2e7 draws, ~9,000 in the tail)", () => {
    const r = 7.69711747013105;
    const draws = 20_000_000;
    const s = new RandomStreams(19).stream("ziggurat-tail");
    const excess: number[] = [];
    for (let i = 0; i < draws; i++) {
      const x = s.exponentialZiggurat(1);
      if (x > r) excess.push(x - r);
    }
    const p = Math.exp(-r);
    const z = (excess.length - draws * p) / Math.sqrt(draws * p * (1 - p));
    assert.ok(Math.abs(z) < 3.3, `${excess.length} draws beyond r, expected ${draws * p}: z = ${z}`);
    excess.sort((a, b) => a - b);
    let d = 0;
    excess.forEach((x, i) => {
      const F = cdf(x);
      d = Math.max(d, F - i / excess.length, (i + 1) / excess.length - F);
    });
    assert.ok(
      Math.sqrt(excess.length) * d < 1.95,
      `tail excess: sqrt(n) D = ${Math.sqrt(excess.length) * d}`,
    );
    const mean = excess.reduce((a, b) => a + b, 0) / excess.length;
    assert.ok(Math.abs(mean - 1) < 3.3 / Math.sqrt(excess.length), `tail excess mean ${mean}`);
  });

  it("scales by the mean", () => {
    const s = new RandomStreams(2).stream("ziggurat-mean");
    const m = meanOf(n, () => s.exponentialZiggurat(250));
    assert.ok(Math.abs(m - 250) / 250 < 0.01, `sample mean ${m}`);
  });
});

describe("integer exponential draws by threshold table", () => {
  const grid = 2 ** -53;
  const cases: [number, "floor" | "round"][] = [
    [100, "floor"],
    [100, "round"],
    [1, "floor"],
    [7.3, "round"],
    [300, "floor"],
  ];
  for (const [mean, rounding] of cases) {
    const table = new IntegerExponentialTable(mean, rounding);
    const exact = (x: number) => (rounding === "floor" ? Math.floor(x) : Math.round(x));

    it(`gives Math.${rounding} of exponential(${mean}) draw for draw (2e5 draws, same stream state after)`, () => {
      const a = new RandomStreams(11, 2).stream("gaps");
      const b = new RandomStreams(11, 2).stream("gaps");
      for (let i = 0; i < 200_000; i++) assert.equal(a.exponentialInteger(table), exact(b.exponential(mean)));
      assert.equal(a.uniform(), b.uniform());
    });

    it(`gives g(U) = Math.${rounding}(-${mean} log1p(-U)) next to every threshold and guard band edge`, () => {
      const g = (u: number) => exact(-mean * Math.log1p(-u));
      let checked = 0;
      const wrong: number[] = [];
      for (let k = 1; k < table.safeFrom.length - 1; k++) {
        const band = [table.safeTo[k - 1]!, table.safeFrom[k]!];
        // the threshold lies between the band's edges; probe both edges and the band's middle, a few U either side
        const mid = Math.round(((band[0]! + band[1]!) / 2) * 2 ** 53) * grid;
        for (const at of [...band, mid]) {
          for (let d = -3; d <= 3; d++) {
            const u = at + d * grid;
            if (u >= 0 && u < 1) {
              if (table.at(u) !== g(u)) wrong.push(u);
              checked++;
            }
          }
        }
      }
      assert.ok(checked > 20 * (table.safeFrom.length - 2), `${checked} probes`);
      assert.deepEqual(wrong.slice(0, 5), []);
      assert.equal(table.at(0), 0);
      assert.equal(table.at(1 - grid), g(1 - grid));
    });
  }

  it("rejects a mean outside (0, 1e4] and an unknown rounding", () => {
    for (const mean of [0, -1, Number.NaN, 2e4]) {
      assert.throws(() => new IntegerExponentialTable(mean), /mean must be in \(0, 1e4\], got/);
    }
    assert.throws(
      () => new IntegerExponentialTable(5, "ceil" as "floor"),
      /rounding must be "floor" or "round", got ceil/,
    );
  });
});

describe("empirical CDF", () => {
  const cdf = new EmpiricalCdf([
    [100, 0.5],
    [1000, 0.9],
    [10_000, 1],
  ]);

  it("computes the mean of the piecewise-linear CDF", () => {
    // 0.5*100 + 0.4*(100+1000)/2 + 0.1*(1000+10000)/2
    assert.ok(Math.abs(cdf.mean() - (50 + 220 + 550)) < 1e-9);
  });

  const quantiles: [number, number][] = [
    [0, 100],
    [0.5, 100],
    [0.7, 550],
    [0.95, 5500],
  ];
  for (const [u, x] of quantiles) {
    it(`has quantile ${x} at u=${u}`, () => assert.ok(Math.abs(cdf.quantile(u) - x) < 1e-9));
  }

  it("samples with the analytic mean", () => {
    const s = new RandomStreams(5).stream("cdf");
    const m = meanOf(n, () => cdf.sample(s));
    assert.ok(Math.abs(m - cdf.mean()) / cdf.mean() < 0.02, `sample mean ${m}`);
  });

  const bad: [string, [number, number][], RegExp][] = [
    ["no points", [], /no points/],
    [
      "a decreasing CDF",
      [
        [1, 0.5],
        [2, 0.4],
        [3, 1],
      ],
      /decreases/,
    ],
    [
      "a CDF not ending at 1",
      [
        [1, 0.5],
        [2, 0.9],
      ],
      /last F must be 1/,
    ],
    [
      "a negative size",
      [
        [-1, 0.5],
        [2, 1],
      ],
      /must be >= 0/,
    ],
  ];
  for (const [what, pts, msg] of bad) {
    it(`rejects ${what}`, () => {
      assert.throws(
        () => new EmpiricalCdf(pts, "t.txt"),
        (e: unknown) => e instanceof DistributionError && msg.test(e.message),
      );
    });
  }
});
