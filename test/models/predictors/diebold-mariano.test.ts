/**
 * Diebold-Mariano test with the Harvey-Leybourne-Newbold correction (models/predictors/diebold-mariano.ts):
 * hand-computed cases (statistic and two-sided p from Student's t, the tail integrated numerically outside the
 * project), symmetry, degenerate inputs and errors.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { dieboldMariano } from "../../../models/predictors/diebold-mariano.ts";

const close = (a: number, b: number, tol: number) => assert.ok(Math.abs(a - b) <= tol, `${a} vs ${b}`);

describe("Diebold-Mariano", () => {
  const cases: { name: string; d: number[]; h: number; stat: number; p: number }[] = [
    // mean 3, gamma0 2, DM = 3 / sqrt(2/5), HLN factor sqrt(4/5): 3 sqrt(2) = 4.2426; t(4) two-sided 0.013236.
    { name: "h = 1, linear differentials", d: [1, 2, 3, 4, 5], h: 1, stat: 4.242640687, p: 0.0132357 },
    // mean 3.5, gamma0 2.9167, gamma1 0.29167; V = (g0 + 2 g1) / 6; HLN sqrt((6 + 1 - 4 + 2/6) / 6).
    {
      name: "h = 2 uses the lag-1 autocovariance",
      d: [1, 3, 2, 5, 4, 6],
      h: 2,
      stat: 3.415650255,
      p: 0.0189273,
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const r = dieboldMariano(c.d, c.h);
      close(r.statistic, c.stat, 1e-8);
      close(r.pValue, c.p, 1e-5);
      assert.equal(r.n, c.d.length);
      assert.equal(r.varianceFallback, false);
      const neg = dieboldMariano(
        c.d.map((x) => -x),
        c.h,
      );
      close(neg.statistic, -r.statistic, 1e-12);
      close(neg.pValue, r.pValue, 1e-12);
    });
  }

  it("falls back to gamma0 when the truncated long-run variance is not positive", () => {
    // Alternating differentials: strongly negative lag-1 autocovariance.
    const d = [2, -1, 2, -1, 2, -1, 2, -1.5];
    const r = dieboldMariano(d, 2);
    assert.equal(r.varianceFallback, true);
    assert.ok(Number.isFinite(r.statistic) && r.pValue > 0 && r.pValue <= 1);
  });

  const degenerate: { name: string; d: number[] }[] = [
    { name: "no origins", d: [] },
    { name: "one origin", d: [1] },
    { name: "constant differentials", d: [2, 2, 2, 2] },
  ];
  for (const c of degenerate) {
    it(`${c.name}: NaN statistic and p-value`, () => {
      const r = dieboldMariano(c.d, 1);
      assert.ok(Number.isNaN(r.statistic) && Number.isNaN(r.pValue));
    });
  }

  it("rejects a bad horizon and non-finite differentials", () => {
    assert.throws(() => dieboldMariano([1, 2], 0), /horizon: expected a positive integer, got 0/);
    assert.throws(() => dieboldMariano([1, Number.NaN], 1), /differences\[1\]: NaN is not a finite number/);
  });
});
