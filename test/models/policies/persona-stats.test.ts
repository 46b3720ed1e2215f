/**
 * The persona policy's noise test: the one-sided Mann-Whitney U p-value (models/policies/persona-stats.ts) against
 * scipy 's `mannwhitneyu(trial, baseline, alternative="greater", method="asymptotic", use_continuity=True)`.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { mannWhitneyGreaterP } from "../../../models/policies/persona-stats.ts";

const CASES: { name: string; trial: number[]; baseline: number[]; p: number }[] = [
  { name: "shifted with ties", trial: [3, 4, 5, 6, 7], baseline: [1, 2, 3, 4, 5], p: 0.056923149003329024 },
  {
    name: "a rise in FCTs (ms)",
    trial: [21.8, 22, 26.2, 30, 31, 29],
    baseline: [20, 21, 21.5, 22, 23, 24, 25],
    p: 0.03146405147815114,
  },
  { name: "every value tied", trial: [1, 1, 1], baseline: [1, 1, 1], p: 1 },
  { name: "wholly above", trial: [5, 6, 7, 8], baseline: [1, 2, 3, 4], p: 0.015191410988288745 },
  { name: "wholly below", trial: [1, 2, 3], baseline: [4, 5, 6, 7], p: 0.9892218666199918 },
  { name: "an empty sample", trial: [], baseline: [1, 2], p: 1 },
];

describe("mannWhitneyGreaterP", () => {
  for (const c of CASES)
    it(c.name, () => {
      const p = mannWhitneyGreaterP(c.trial, c.baseline);
      assert.ok(Math.abs(p - c.p) < 1e-9, `p ${p}, scipy ${c.p}`);
    });
  it("does not depend on the samples' order", () => {
    assert.equal(
      mannWhitneyGreaterP([7, 3, 5, 6, 4], [5, 1, 4, 2, 3]),
      mannWhitneyGreaterP([3, 4, 5, 6, 7], [1, 2, 3, 4, 5]),
    );
  });
});
