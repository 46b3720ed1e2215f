import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { type LstmOptions, LstmPredictor } from "../../../models/predictors/lstm.ts";

/**
 * Four series, each repeating its own pseudo-random pattern of 48 levels (a "day" of 48 intervals), in bits/s:
 * y_p(t) = 1e6 (1 + 9 pattern_p[t mod 48]). The next value jumps unpredictably from the last few (a small network
 * cannot memorize 4 x 48 levels from windows of 3), but equals the value one season earlier: what the seasonal lag
 * channel carries.
 */
const P = 4;
const SEASON = 48;
let lcg = 2024;
const patterns = Array.from({ length: P }, () =>
  Array.from({ length: SEASON }, () => {
    lcg = (lcg * 1103515245 + 12345) % 2 ** 31;
    return lcg / 2 ** 31;
  }),
);
const series = Array.from({ length: 8 * SEASON }, (_, t) =>
  Float64Array.from({ length: P }, (_, p) => 1e6 * (1 + 9 * patterns[p]![t % SEASON]!)),
);
const TRAIN = 6 * SEASON;
const HOUR_NS = 3600e9;

const small: LstmOptions = {
  window: 3,
  units: 8,
  epochs: 15,
  batchSize: 32,
  learningRate: 0.02,
  patience: 15,
  windowsPerEpoch: 0,
  seed: 3,
};

/** 1-step MAE over the test part (bits/s), walking forward after training on and observing the history. */
async function oneStepMae(opts: LstmOptions): Promise<{ mae: number; pred: LstmPredictor }> {
  const pred = new LstmPredictor(P, opts);
  const endNs = Float64Array.from(series, (_, t) => (t + 1) * HOUR_NS);
  await pred.train(series.slice(0, TRAIN), endNs.subarray(0, TRAIN));
  for (let t = 0; t < TRAIN; t++) pred.observe(endNs[t]!, series[t]!);
  let sum = 0;
  for (let t = TRAIN; t < series.length; t++) {
    const f = pred.forecast(1)[0]!;
    for (let p = 0; p < P; p++) sum += Math.abs(f[p]! - series[t]![p]!);
    pred.observe(endNs[t]!, series[t]!);
  }
  return { mae: sum / ((series.length - TRAIN) * P), pred };
}

describe("the LSTM's seasonal lag channel", () => {
  it("halves the 1-step error on a series that repeats each season but jumps between intervals", async () => {
    const without = await oneStepMae(small);
    const withLag = await oneStepMae({ ...small, seasonalLag: SEASON });
    try {
      assert.ok(
        withLag.mae < without.mae / 2,
        `with lag ${withLag.mae.toExponential(3)} vs without ${without.mae.toExponential(3)}`,
      );
      assert.equal(withLag.pred.inputChannels, 2);
      // Windows end at t = S + W - 2 .. TRAIN - 2; the latest 10% of those times validate.
      const times = TRAIN - 1 - (SEASON + 3 - 2);
      assert.equal(withLag.pred.training!.trainWindows, (times - Math.floor(times * 0.1)) * P);
    } finally {
      without.pred.dispose();
      withLag.pred.dispose();
    }
  });

  it("trains the same forecasts from the same seed with the lag and time features on", async () => {
    const opts = { ...small, epochs: 2, seasonalLag: SEASON, timeFeatures: true };
    const a = await oneStepMae(opts);
    const b = await oneStepMae(opts);
    try {
      assert.equal(a.pred.inputChannels, 6);
      assert.deepEqual(a.pred.forecast(4), b.pred.forecast(4));
      assert.equal(a.mae, b.mae);
      assert.deepEqual(a.pred.training!.validationLoss, b.pred.training!.validationLoss);
    } finally {
      a.pred.dispose();
      b.pred.dispose();
    }
  });

  it("forecasts the last value until it has a window and a season of observations", () => {
    const pred = new LstmPredictor(P, { ...small, seasonalLag: SEASON });
    pred.observe(HOUR_NS, series[0]!);
    assert.deepEqual(pred.forecast(2), [series[0], series[0]]);
  });
});
