import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { modelSettings } from "../../experiments/predict-command.ts";
import { LSTM_DEFAULTS } from "../../models/predictors/lstm.ts";
import { TRANSFORMER_DEFAULTS } from "../../models/predictors/transformer.ts";

describe("topocast predict --lstm / --transformer settings", () => {
  const good: [string, string, Readonly<Record<string, unknown>>, Record<string, unknown>][] = [
    [
      "numbers, booleans and a string",
      "seasonalLag=288, timeFeatures=true,logScale=false,loss=mse",
      LSTM_DEFAULTS,
      { seasonalLag: 288, timeFeatures: true, logScale: false, loss: "mse" },
    ],
    ["a numeric seed", "seed=5,epochs=8", TRANSFORMER_DEFAULTS, { seed: 5, epochs: 8 }],
    ["a string seed", "seed=run-a", LSTM_DEFAULTS, { seed: "run-a" }],
    ["nothing", "", LSTM_DEFAULTS, {}],
  ];
  for (const [name, text, defaults, expected] of good) {
    it(`reads ${name}`, () => {
      assert.deepEqual(modelSettings("--lstm", text, defaults), expected);
    });
  }

  const bad: [string, string, RegExp][] = [
    [
      "an unknown key",
      "sesonalLag=288",
      /--lstm sesonalLag=288: unknown setting "sesonalLag"; known: window, /,
    ],
    ["a missing value", "epochs=", /--lstm epochs=: expected epochs=<value>/],
    ["a bare key", "epochs", /--lstm epochs: expected epochs=<value>/],
    ["a word for a number", "epochs=many", /--lstm epochs: expected a number, got "many"/],
    ["a bad boolean", "logScale=yes", /--lstm logScale: expected true or false, got "yes"/],
  ];
  for (const [name, text, message] of bad) {
    it(`refuses ${name}, naming the option and the setting`, () => {
      assert.throws(() => modelSettings("--lstm", text, LSTM_DEFAULTS), message);
    });
  }
});
