import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type * as tf from "@tensorflow/tfjs";
import { type LstmOptions, LstmPredictor } from "../../../models/predictors/lstm.ts";
import { LstmForward } from "../../../models/predictors/lstm-forward.ts";
import { loadTf } from "../../../models/predictors/tf-backend.ts";

/**
 * Four pairs of a sine with period 12 intervals plus an offset (different amplitudes and phases), in bits/s:
 * y_p(t) = 1e6 (10 + a_p sin(2 pi t / 12 + phi_p)).
 */
const P = 4;
const PERIOD = 12;
const amp = [2, 4, 6, 8];
const phase = [0, 1, 2, 3];
const sine = (t: number) =>
  Float64Array.from(
    { length: P },
    (_, p) => 1e6 * (10 + amp[p]! * Math.sin((2 * Math.PI * t) / PERIOD + phase[p]!)),
  );
const series = Array.from({ length: 12 * PERIOD }, (_, t) => sine(t));
const TRAIN = 8 * PERIOD;
const history = series.slice(0, TRAIN);
const MAX = 18e6;

/** A tiny model that trains in about 2 s (8 epochs of 11 steps). */
const tiny: LstmOptions = {
  window: 4,
  units: 8,
  epochs: 8,
  batchSize: 32,
  learningRate: 0.02,
  patience: 8,
  windowsPerEpoch: 0,
  seed: 7,
};
const W = 4;

/** 1-step MAE over the last 4 periods (normalized by the series maximum), walking forward after the history. */
function oneStepMae(pred: LstmPredictor): number {
  for (let t = 0; t < TRAIN; t++) pred.observe(t, series[t]!);
  let sum = 0;
  let n = 0;
  for (let t = TRAIN; t < series.length; t++) {
    const f = pred.forecast(1)[0]!;
    for (let p = 0; p < P; p++) sum += Math.abs(f[p]! - series[t]![p]!);
    n += P;
    pred.observe(t, series[t]!);
  }
  return sum / n / MAX;
}

describe("the LSTM predictor", () => {
  let trained: LstmPredictor;
  let dir: string;

  before(async () => {
    trained = new LstmPredictor(P, tiny);
    await trained.train(history);
    dir = mkdtempSync(join(tmpdir(), "topocast-lstm-"));
  });
  after(() => {
    trained.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  it("learns a sine of period 12 to a 1-step MAE below 1% of the maximum, where the last value is off by 9%", async () => {
    const mae = oneStepMae(trained);
    // Last value: mean |y_{t+1} - y_t| = mean amplitude 5 x 2 sin(pi/12) x (2/pi) ~ 1.65e6, / 18e6 ~ 0.09.
    assert.ok(mae < 0.01, `1-step MAE ${mae}`);
    const info = trained.training!;
    assert.ok(info.bestValidationLoss < info.lastValueValidationLoss / 5, JSON.stringify(info));
    assert.equal(info.backend, trained.backendName);
  });

  it("trains the same weights from the same seed, and other weights from another seed", async () => {
    const runs = [7, 7, 8].map((seed) => new LstmPredictor(P, { ...tiny, seed, epochs: 2 }));
    try {
      for (const r of runs) await r.train(history);
      const [a, b, c] = runs.map((r) => r.weights());
      assert.deepEqual(a, b);
      assert.notDeepEqual(a, c);
    } finally {
      for (const r of runs) r.dispose();
    }
  });

  it("forecasts the same after a save and load round trip, and records its config, scaling and training", async () => {
    await trained.save(dir);
    const loaded = await LstmPredictor.load(dir, P);
    try {
      assert.deepEqual(loaded.config, trained.config);
      assert.deepEqual(loaded.params().scaling, trained.params().scaling);
      assert.deepEqual(loaded.training, trained.training);
      // Forecasts depend on the last W observations: feed both the whole series.
      for (let t = 0; t < series.length; t++) {
        loaded.observe(t, series[t]!);
        trained.observe(t, series[t]!);
      }
      assert.deepEqual(loaded.forecast(3), trained.forecast(3));
    } finally {
      loaded.dispose();
    }
  });

  it("keeps a loaded model's weights when trained again, unless asked to retrain", async () => {
    const loaded = await LstmPredictor.load(dir, P);
    try {
      const before = loaded.weights();
      await loaded.train(history.slice(0, 50));
      assert.deepEqual(loaded.weights(), before);
    } finally {
      loaded.dispose();
    }
  });

  for (const layers of [1, 2]) {
    it(`computes the same outputs in its JS forward pass as tfjs predict (${layers} layer${layers > 1 ? "s" : ""}, 6 windows)`, async () => {
      const { tf: rt } = await loadTf();
      const units = 5;
      const model = rt.sequential();
      for (let l = 0; l < layers; l++) {
        model.add(
          rt.layers.lstm({
            units,
            returnSequences: l < layers - 1,
            ...(l === 0 ? { inputShape: [W, 1] } : {}),
            recurrentActivation: "sigmoid",
            kernelInitializer: rt.initializers.glorotUniform({ seed: 10 + l }),
            recurrentInitializer: rt.initializers.glorotUniform({ seed: 20 + l }),
            biasInitializer: rt.initializers.randomUniform({ minval: -0.5, maxval: 0.5, seed: 30 + l }),
          }),
        );
      }
      model.add(
        rt.layers.dense({ units: 1, kernelInitializer: rt.initializers.glorotUniform({ seed: 40 }) }),
      );
      const data = (t: tf.Tensor) => Float64Array.from(t.dataSync());
      const w = model.getWeights();
      const forward = new LstmForward({
        layers: Array.from({ length: layers }, (_, l) => ({
          inputDim: l === 0 ? 1 : units,
          units,
          kernel: data(w[3 * l]!),
          recurrent: data(w[3 * l + 1]!),
          bias: data(w[3 * l + 2]!),
        })),
        dense: { kernel: data(w[3 * layers]!), bias: data(w[3 * layers + 1]!)[0]! },
      });
      const n = 6; // a full block of 4 and a partial one
      const windows = Float64Array.from({ length: n * W }, (_, i) => Math.sin(i / 3));
      const ours = forward.run(windows, n, W);
      const input = rt.tensor3d(Float32Array.from(windows), [n, W, 1]);
      const output = model.predict(input) as tf.Tensor;
      const theirs = output.dataSync();
      input.dispose();
      output.dispose();
      model.dispose();
      for (let i = 0; i < n; i++)
        assert.ok(Math.abs(ours[i]! - theirs[i]!) < 1e-5, `window ${i}: ${ours[i]} vs ${theirs[i]}`);
    });
  }

  it("fine-tunes every K observed intervals after the replayed history, and not during the replay", async () => {
    const pred = new LstmPredictor(P, {
      ...tiny,
      epochs: 1,
      fineTuneEvery: 10,
      fineTuneIntervals: 3 * PERIOD,
    });
    try {
      await pred.train(history);
      for (let t = 0; t < TRAIN; t++) pred.observe(t, series[t]!);
      assert.equal(pred.fineTuneCount, 0);
      for (let t = TRAIN; t < TRAIN + 25; t++) pred.observe(t, series[t]!);
      assert.equal(pred.fineTuneCount, 2);
    } finally {
      pred.dispose();
    }
  });

  it("forecasts the last value before W observations and zeros before any", () => {
    const pred = new LstmPredictor(P, tiny);
    assert.deepEqual(pred.forecast(1), [new Float64Array(P)]);
    pred.observe(0, series[0]!);
    assert.deepEqual(pred.forecast(2), [series[0], series[0]]);
  });

  it("refuses to save before training, and names a directory without a model", async () => {
    await assert.rejects(
      new LstmPredictor(P, tiny).save(dir),
      /lstm\.save: the model is not trained or loaded yet/,
    );
    const empty = mkdtempSync(join(tmpdir(), "topocast-empty-"));
    try {
      await assert.rejects(LstmPredictor.load(empty, P), /model\.json: no saved model here/);
      writeFileSync(join(empty, "model.json"), JSON.stringify({ modelTopology: {}, weightsManifest: [] }));
      await assert.rejects(LstmPredictor.load(empty, P), /not a topocast LSTM predictor model/);
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
  });
});
