import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { PolicySummary } from "../../experiments/policy-summary.ts";
import type { RunSummary } from "../../experiments/results.ts";
import { type RunConditions, readingLines } from "../../experiments/summary-table.ts";
import { valueOfPrediction } from "../../experiments/value-of-prediction.ts";

/** A run summary with the given mean slowdowns; policies named overlay-* are predictive overlays. */
function summary(slowdowns: [label: string, predictor: string | null, slowdown: number][]): RunSummary {
  const policies = slowdowns.map(
    ([label, , slowdown]) =>
      ({
        policy: label,
        name: label.startsWith("overlay-") ? "predictive-overlay" : label,
        flows: { slowdown: { mean: slowdown } },
      }) as unknown as PolicySummary,
  );
  return {
    workload: { offeredPeakMlu: 0.8 },
    policies,
    valueOfPrediction: valueOfPrediction(
      policies,
      slowdowns.map(([, predictor]) => predictor),
    ),
  } as unknown as RunSummary;
}

const failure: RunConditions = {
  failures: [
    { at: "2s", link: "6->7", state: "down" },
    { at: "4s", link: "6->7", state: "up" },
  ],
  convergenceDelay: "1s",
};
const none: RunConditions = { failures: [], convergenceDelay: "0s" };

describe("the lines under the summary table", () => {
  const cases: [string, RunSummary, RunConditions, RegExp[]][] = [
    [
      "name the failure, the best policy against the baseline, and the oracle as the bound",
      summary([
        ["shortest-path", null, 5],
        ["ecmp", null, 4],
        ["overlay-ewma", "ewma", 3.2],
        ["overlay-oracle", "oracle", 3],
      ]),
      failure,
      [
        /^Slowdown = a flow's FCT/,
        /^At 80% peak load with link 6->7 down from 2s to 4s \(default routes reconverge 1s after a failure\), overlay-oracle has the lowest mean slowdown, 3\.000, 40% below shortest-path's 5\.000 \(the highest\)\.$/,
        /^Value of prediction: overlay-ewma gets 90% of overlay-oracle's improvement .* The oracle is the bound here\.$/,
      ],
    ],
    [
      "say so when a predictor beats its oracle, and when the oracle's own gain is noise",
      summary([
        ["shortest-path", null, 1.07],
        ["overlay-ewma", "ewma", 1.06],
        ["overlay-oracle", "oracle", 1.065],
      ]),
      none,
      [
        /^Slowdown/,
        /^At 80% peak load and no failure, all policies are within 1% of each other/,
        /gets 200% of .* overlay-oracle itself is only 0% better than shortest-path, so this ratio is noise\. overlay-ewma beat the oracle here: it foresees the traffic matrix, not the flows/,
      ],
    ],
    [
      "say so when a policy without prediction beats the oracle",
      summary([
        ["shortest-path", null, 5],
        ["ecmp", null, 2],
        ["overlay-ewma", "ewma", 4],
        ["overlay-oracle", "oracle", 3],
      ]),
      failure,
      [
        /^Slowdown/,
        /, ecmp has the lowest mean slowdown, 2\.000, 60% below/,
        /The oracle bounds its own policy only: ecmp did better\.$/,
      ],
    ],
    [
      "say that there is no value of prediction without an oracle variant",
      summary([
        ["shortest-path", null, 2],
        ["ecmp", null, 1.5],
      ]),
      none,
      [
        /^Slowdown/,
        /ecmp has the lowest mean slowdown, 1\.500, 25% below shortest-path's 2\.000 \(the highest\)\.$/,
        /^No predictive policy with an oracle variant here/,
      ],
    ],
  ];
  for (const [what, s, c, expected] of cases) {
    it(what, () => {
      const lines = readingLines(s, c);
      assert.equal(lines.length, 3, lines.join("\n"));
      expected.forEach((re, i) => {
        assert.match(lines[i]!, re);
      });
    });
  }
});
