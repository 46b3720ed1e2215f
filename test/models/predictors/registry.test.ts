import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { PredictorError } from "../../../models/predictors/predictor.ts";
import { createPredictor, PREDICTOR_NAMES } from "../../../models/predictors/registry.ts";

const P = 2;
const options = { dimension: P, period: 4, oracle: { rows: [new Float64Array(P), new Float64Array(P)] } };

describe("the predictor registry", () => {
  for (const name of PREDICTOR_NAMES) {
    it(`creates "${name}" by name, with that name and dimension`, () => {
      const pred = createPredictor(name, options);
      assert.equal(pred.name, name);
      assert.equal(pred.dimension, P);
      pred.dispose?.();
    });
  }

  it("rejects an unknown name with the list of valid names", () => {
    assert.throws(
      () => createPredictor("arima", options),
      (e: unknown) =>
        e instanceof PredictorError &&
        e.message ===
          'unknown predictor "arima"; valid names: lv, seasonal-naive, ma, ewma, hw, lstm, transformer, linear, oracle',
    );
  });

  const missing: [string, RegExp][] = [
    ["seasonal-naive", /^seasonal-naive: option period \(intervals\) is required$/],
    ["hw", /^hw: option period \(intervals\) is required$/],
    ["oracle", /^oracle: option oracle \(the series to read the future from\) is required$/],
  ];
  for (const [name, message] of missing) {
    it(`requires the options "${name}" cannot do without`, () => {
      assert.throws(
        () => createPredictor(name, { dimension: P }),
        (e: unknown) => e instanceof PredictorError && message.test(e.message),
      );
    });
  }

  const invalid: [string, Parameters<typeof createPredictor>[1], RegExp][] = [
    ["ewma", { dimension: P, alpha: 1.5 }, /ewma\.alpha: expected a number in \(0, 1\], got 1.5/],
    ["hw", { dimension: P, period: 4, gamma: -0.1 }, /hw\.gamma: expected a number in \[0, 1\], got -0.1/],
    ["ma", { dimension: P, window: 0 }, /ma\.window: expected a positive integer number of intervals, got 0/],
    ["seasonal-naive", { dimension: P, period: 2.5 }, /seasonal-naive\.period: .* got 2.5/],
    ["lv", { dimension: 0 }, /lv\.dimension: expected a positive integer, got 0/],
    ["lstm", { dimension: P, lstm: { window: 0 } }, /lstm\.window: expected an integer >= 1, got 0/],
    [
      "lstm",
      { dimension: P, lstm: { loss: "huber" as "mae" } },
      /lstm\.loss: expected "mae" or "mse", got "huber"/,
    ],
  ];
  for (const [name, opts, message] of invalid) {
    it(`rejects an invalid ${name} parameter, naming it and the value (${message.source.split(":")[0]})`, () => {
      assert.throws(() => createPredictor(name, opts), message);
    });
  }
});
