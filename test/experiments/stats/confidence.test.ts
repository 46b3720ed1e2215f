/**
 * Confidence intervals and paired tests against published R outputs (R 4.x, `t.test`, `wilcox.test`; the same
 * numbers from scipy 1.17 `ttest_rel`, `wilcoxon`).
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { meanCi, pairedComparison } from "../../../experiments/stats/confidence.ts";

/** Student's sleep data (R `sleep`, Cushny & Peebles 1905): extra hours of sleep under two drugs, same 10 patients. */
const SLEEP_1 = [0.7, -1.6, -0.2, -1.2, -0.1, 3.4, 3.7, 0.8, 0.0, 2.0];
const SLEEP_2 = [1.9, 0.8, 1.1, 0.1, -0.1, 4.4, 5.5, 1.6, 4.6, 3.4];
/** Hollander & Wolfe (1973), p. 29 (R `?wilcox.test`): depression scores at first and second visit, 9 patients. */
const HW_X = [1.83, 0.5, 1.62, 2.48, 1.68, 1.88, 1.55, 3.06, 1.3];
const HW_Y = [0.878, 0.647, 0.598, 2.05, 1.06, 1.29, 1.06, 3.14, 1.29];

function close(actual: number | null, expected: number, tol: number, what: string): void {
  assert.ok(
    actual !== null && Math.abs(actual - expected) <= tol,
    `${what}: expected ${expected}, got ${actual}`,
  );
}

describe("mean with a t confidence interval", () => {
  const cases = [
    {
      name: "R t.test(c(5.1, 4.9, 5.6, 5.8, 6.0, 5.2, 5.5))$conf.int: 5.077349 5.808365",
      xs: [5.1, 4.9, 5.6, 5.8, 6.0, 5.2, 5.5],
      level: 0.95,
      mean: 5.442857,
      lo: 5.077349,
      hi: 5.808365,
    },
    {
      name: "two samples use t(0.975, 1) = 12.7062: R t.test(c(1, 3))$conf.int: -10.706205 14.706205",
      xs: [1, 3],
      level: 0.95,
      mean: 2,
      lo: -10.706205,
      hi: 14.706205,
    },
    {
      name: "a 90% interval of the sleep differences: R t.test(sleep1 - sleep2, conf.level = 0.9): -2.293 -0.867",
      xs: SLEEP_1.map((x, i) => x - SLEEP_2[i]!),
      level: 0.9,
      mean: -1.58,
      lo: -2.2930053,
      hi: -0.8669947,
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const r = meanCi(c.xs, c.level);
      close(r.mean, c.mean, 1e-6, "mean");
      close(r.lo, c.lo, 1e-6, "lower bound");
      close(r.hi, c.hi, 1e-6, "upper bound");
      assert.equal(r.n, c.xs.length);
    });
  }

  it("has no interval for a single sample rather than an infinite or made-up one", () => {
    assert.deepEqual(meanCi([4.2]), { n: 1, mean: 4.2, sd: null, lo: null, hi: null, level: 0.95 });
  });

  it("refuses an empty sample and a level outside (0, 1)", () => {
    assert.throws(() => meanCi([]), RangeError);
    assert.throws(() => meanCi([1, 2], 1), RangeError);
  });
});

describe("paired comparison", () => {
  const cases = [
    {
      name: "sleep data: R t.test(paired) t = -4.0621, p = 0.002833, CI -2.4599 -0.7001; wilcox.test(paired) V = 0, p = 0.009091 (ties and a zero: normal approximation with continuity correction)",
      a: SLEEP_1,
      b: SLEEP_2,
      mean: -1.58,
      lo: -2.4598858,
      hi: -0.7001142,
      tP: 0.00283289,
      wP: 0.009090698,
      signs: { less: 9, equal: 1, greater: 0 },
    },
    {
      name: "Hollander & Wolfe: R t.test(paired) p = 0.01618, CI 0.10378 0.76000; wilcox.test(paired) V = 40, exact p = 0.03906",
      a: HW_X,
      b: HW_Y,
      mean: 0.4318889,
      lo: 0.1037787,
      hi: 0.7599991,
      tP: 0.016176627,
      wP: 0.0390625,
      signs: { less: 2, equal: 0, greater: 7 },
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const r = pairedComparison(c.a, c.b);
      close(r.difference.mean, c.mean, 1e-6, "mean difference");
      close(r.difference.lo, c.lo, 1e-6, "lower bound");
      close(r.difference.hi, c.hi, 1e-6, "upper bound");
      close(r.tTestP, c.tP, 1e-6, "paired t-test p");
      close(r.wilcoxonP, c.wP, 1e-6, "Wilcoxon p");
      assert.equal(r.ciIncludesZero, false, "both intervals exclude 0");
      assert.deepEqual(r.signs, c.signs);
    });
  }

  it("says the interval includes 0 when the policies trade places", () => {
    const r = pairedComparison([1, 2, 3, 4], [2, 1, 4, 3]);
    assert.equal(r.difference.mean, 0);
    assert.equal(r.ciIncludesZero, true);
  });

  it("reports no tests for identical results instead of dividing by a zero spread", () => {
    const r = pairedComparison([2, 3, 5], [2, 3, 5]);
    assert.deepEqual([r.tTestP, r.wilcoxonP, r.ciIncludesZero], [null, null, true]);
  });

  it("refuses samples of different lengths", () => {
    assert.throws(() => pairedComparison([1, 2], [1]), /2 samples of a but 1 of b/);
  });
});
