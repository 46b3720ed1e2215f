import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { sigmoid, tanh } from "../../../models/predictors/lstm-forward.ts";
import { expNonPositive } from "../../../models/predictors/transformer-forward.ts";

/** x from -20 to 20 in steps not aligned with the tables' 1/256 grid, plus the grid's ends and zero. */
const xs = [...Array.from({ length: 54_722 }, (_, i) => -20 + i * 0.000731), -16, 16, 0];

describe("the forward passes' interpolated activations", () => {
  const cases: [string, (x: number) => number, (x: number) => number, number, (x: number) => boolean][] = [
    ["sigmoid", sigmoid, (x) => 1 / (1 + Math.exp(-x)), 2e-6, () => true],
    ["tanh", tanh, Math.tanh, 2e-6, () => true],
    ["exp on x <= 0 (relative)", expNonPositive, Math.exp, 2e-6, (x) => x <= 0],
  ];
  for (const [name, fast, exact, bound, inDomain] of cases) {
    it(`${name} is within ${bound} of the exact function`, () => {
      let worst = 0;
      for (const x of xs.filter(inDomain)) {
        const e = Math.abs(fast(x) - exact(x)) / (name.includes("relative") ? exact(x) : 1);
        if (e > worst) worst = e;
      }
      assert.ok(worst < bound, `largest error ${worst}`);
    });
  }
});
