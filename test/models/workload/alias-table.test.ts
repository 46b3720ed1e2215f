import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { AliasTable } from "../../../models/workload/alias-table.ts";
import { WorkloadError } from "../../../models/workload/errors.ts";

/** Each index's probability under the table: its share of M evenly spaced uniforms (a quadrature, no randomness). */
function frequencies(t: AliasTable, m: number): number[] {
  const out = new Array<number>(t.size).fill(0);
  for (let i = 0; i < m; i++) out[t.sample((i + 0.5) / m)]! += 1 / m;
  return out;
}

describe("alias table (Walker, Vose)", () => {
  const cases: [string, number[]][] = [
    ["uniform", [1, 1, 1, 1]],
    ["skewed", [1, 2, 3, 94]],
    ["zeros inside", [0, 5, 0, 5, 10]],
    ["one index", [3]],
    ["tiny and huge", [1e-6, 1, 1e6]],
    ["many", Array.from({ length: 97 }, (_, i) => ((i * 37) % 11) + 0.5)],
  ];
  for (const [name, w] of cases) {
    it(`samples each index with probability weight / total: ${name}`, () => {
      const t = new AliasTable(w);
      const total = w.reduce((a, x) => a + x, 0);
      assert.equal(t.total, total);
      const f = frequencies(t, w.length * 200_000);
      w.forEach((x, i) => {
        assert.ok(Math.abs(f[i]! - x / total) < 1e-5, `index ${i}: ${f[i]} vs ${x / total}`);
      });
    });
  }

  it("never samples a zero-weight index", () => {
    const t = new AliasTable([0, 1, 0, 2, 0]);
    for (let i = 0; i < 10_000; i++) assert.ok([1, 3].includes(t.sample(i / 10_000)));
  });

  for (const [name, w] of [
    ["empty", []],
    ["negative", [1, -1]],
    ["NaN", [1, Number.NaN]],
    ["infinite", [1, Number.POSITIVE_INFINITY]],
    ["all zero", [0, 0]],
  ] as [string, number[]][]) {
    it(`refuses ${name} weights`, () => {
      assert.throws(() => new AliasTable(w), WorkloadError);
    });
  }
});
