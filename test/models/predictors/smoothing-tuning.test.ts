import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { EwmaPredictor } from "../../../models/predictors/ewma.ts";
import { HoltWintersPredictor } from "../../../models/predictors/holt-winters.ts";
import { RandomStreams } from "../../../sim/kernel/rng.ts";

const P = 4;
const T = 400;

/** T rows of P values from `f(p, t, rng)`, seeded. */
function rows(f: (p: number, t: number, noise: () => number, prev: number) => number): Float64Array[] {
  const rng = new RandomStreams(42).stream("series");
  const out: Float64Array[] = [];
  for (let t = 0; t < T; t++) {
    out.push(
      Float64Array.from({ length: P }, (_, p) => f(p, t, () => rng.normal(), out[t - 1]?.[p] ?? 1000)),
    );
  }
  return out;
}

describe("tuning smoothing constants on the history", () => {
  const cases: [string, Float64Array[], (alpha: number) => boolean][] = [
    [
      "a random walk gets EWMA alpha 1 (the last value is optimal)",
      rows((_p, _t, n, prev) => prev + 10 * n()),
      (a) => a >= 0.9,
    ],
    [
      "white noise around a level gets a small alpha (a long average)",
      rows((p, _t, n) => 1000 * (p + 1) + 10 * n()),
      (a) => a <= 0.1,
    ],
  ];
  for (const [what, history, ok] of cases) {
    it(what, () => {
      const pred = new EwmaPredictor(P);
      pred.train(history);
      const alpha = pred.params().alpha as number;
      assert.ok(ok(alpha), `alpha ${alpha}`);
      assert.equal(pred.params().tuned, true);
    });
  }

  it("keeps an alpha that was given", () => {
    const pred = new EwmaPredictor(P, { alpha: 0.3 });
    pred.train(rows((_p, _t, n, prev) => prev + n()));
    assert.deepEqual(pred.params(), { alpha: 0.3, tuned: false });
  });

  it("Holt-Winters tunes only the constants not given, and finds a strong season", () => {
    const m = 8;
    const history = rows((p, t, n) => 500 + 100 * (p + 1) * Math.sin((2 * Math.PI * t) / m) + 5 * n());
    const pred = new HoltWintersPredictor(P, { period: m, beta: 0 });
    pred.train(history);
    const params = pred.params();
    assert.equal(params.beta, 0);
    assert.equal(params.tuned, true);
    // The tuned constants forecast the next period better than the defaults do.
    const sse = (hw: HoltWintersPredictor) => {
      let e = 0;
      for (let t = 0; t < T - 1; t++) {
        hw.observe(t, history[t]!);
        if (t >= 2 * m) for (let p = 0; p < P; p++) e += (hw.forecast(1)[0]![p]! - history[t + 1]![p]!) ** 2;
      }
      return e;
    };
    assert.ok(sse(pred) <= sse(new HoltWintersPredictor(P, { period: m, beta: 0 })));
  });

  it("Holt-Winters keeps its defaults when the history is shorter than two periods and one interval", () => {
    const pred = new HoltWintersPredictor(P, { period: 300 });
    pred.train(rows((p) => p));
    assert.deepEqual(pred.params(), { period: 300, alpha: 0.5, beta: 0.05, gamma: 0.1, tuned: false });
  });

  it("rejects a history of the wrong width, naming the row", () => {
    assert.throws(
      () => new EwmaPredictor(P).train([new Float64Array(P), new Float64Array(P - 1)]),
      /ewma\.train: history\[1\] has 3 pairs, expected 4/,
    );
  });
});
