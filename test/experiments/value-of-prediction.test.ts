import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { PolicySummary } from "../../experiments/policy-summary.ts";
import { valueOfPrediction } from "../../experiments/value-of-prediction.ts";

function policy(label: string, name: string, slowdown: number, fctNs: number): PolicySummary {
  return {
    policy: label,
    name,
    flows: { slowdown: { mean: slowdown }, fctNs: { mean: fctNs } },
  } as unknown as PolicySummary;
}

describe("value of prediction", () => {
  const summaries = [
    policy("shortest-path", "shortest-path", 3, 80),
    policy("overlay-oracle", "predictive-overlay", 2, 40),
    policy("overlay-ewma", "predictive-overlay", 2.5, 90),
  ];
  const predictors = [null, "oracle", "ewma"];

  it("is the predictor's improvement over the baseline as a fraction of the oracle's", () => {
    assert.deepEqual(valueOfPrediction(summaries, predictors), [
      {
        policy: "overlay-ewma",
        predictor: "ewma",
        baseline: "shortest-path",
        oracle: "overlay-oracle",
        meanSlowdown: 0.5,
        meanFct: -0.25,
      },
    ]);
  });

  it("is null without an oracle variant of the policy", () => {
    const [v] = valueOfPrediction([summaries[0]!, summaries[2]!], [null, "ewma"]);
    assert.equal(v!.oracle, null);
    assert.equal(v!.meanSlowdown, null);
  });
});
