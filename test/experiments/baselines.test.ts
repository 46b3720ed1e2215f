import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { BASELINE_CONFIGS, checkBaseline } from "../../experiments/baselines.ts";

describe("CI regression baselines (results/baselines; update deliberately with `npm run baselines:update`)", () => {
  for (const name of BASELINE_CONFIGS) {
    it(`${name} does not regress beyond tolerance`, async () => {
      const c = await checkBaseline(name);
      const bad = c.deltas.filter((d) => d.status === "regressed" || d.status === "missing");
      assert.deepEqual(
        bad.map((d) => `${d.policy} ${d.metric}: ${d.baseline} -> ${d.current}`),
        [],
        `${name} regressed; if intended, run npm run baselines:update and review the diff`,
      );
    });
  }
});
