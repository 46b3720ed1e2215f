import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { PredictorError } from "../../../models/predictors/predictor.ts";
import { createPredictor } from "../../../models/predictors/registry.ts";
import { type TransformerOptions, TransformerPredictor } from "../../../models/predictors/transformer.ts";

/**
 * Four series of a daily sine sampled hourly (24 intervals a day) plus an offset, different amplitudes and
 * phases, in bits/s: y_p(t) = 1e6 (10 + a_p sin(2 pi t / 24 + phi_p)); interval t ends at (t + 1) hours.
 */
const P = 4;
const DAY = 24;
const HOUR_NS = 3600e9;
const amp = [2, 4, 6, 8];
const phase = [0, 1, 2, 3];
const sine = (t: number) =>
  Float64Array.from(
    { length: P },
    (_, p) => 1e6 * (10 + amp[p]! * Math.sin((2 * Math.PI * t) / DAY + phase[p]!)),
  );
const series = Array.from({ length: 20 * DAY }, (_, t) => sine(t));
const endNs = Float64Array.from(series, (_, t) => (t + 1) * HOUR_NS);
const TRAIN = 16 * DAY;
const history = series.slice(0, TRAIN);

/** A tiny model: 1 block, d_model 8, 2 heads, W 8, H 3. */
const tiny: TransformerOptions = {
  window: 8,
  horizon: 3,
  dModel: 8,
  heads: 2,
  blocks: 1,
  epochs: 8,
  batchSize: 64,
  learningRate: 0.01,
  patience: 8,
  windowsPerEpoch: 640,
  validationWindows: 128,
  seed: 7,
};

/** MAE at horizon h over the test part (origins TRAIN-1 .. T-1-h), walking forward, for `forecastAt(t)`. */
function maeAt(h: number, forecast: (t: number) => Float64Array): number {
  let sum = 0;
  let n = 0;
  for (let o = TRAIN - 1; o + h < series.length; o++) {
    const f = forecast(o);
    for (let p = 0; p < P; p++) sum += Math.abs(f[p]! - series[o + h]![p]!);
    n += P;
  }
  return sum / n;
}

/** The predictor's h-step forecasts from every test origin (it observes the series up to the origin). */
function walk(pred: TransformerPredictor, h: number): number {
  let seen = 0;
  return maeAt(h, (o) => {
    for (; seen <= o; seen++) pred.observe(endNs[seen]!, series[seen]!);
    return pred.forecast(h)[h - 1]!;
  });
}

describe("the Transformer predictor", () => {
  let trained: TransformerPredictor;

  before(async () => {
    trained = new TransformerPredictor(P, tiny);
    await trained.train(history, endNs.subarray(0, TRAIN));
  });
  after(() => trained.dispose());

  it("forecasts a daily sine 3 steps ahead with less than a quarter of the last value's MAE", () => {
    const lastValue = maeAt(3, (o) => series[o]!);
    const mae = walk(trained, 3);
    assert.ok(mae < lastValue / 4, `h=3 MAE ${mae} vs last value ${lastValue}`);
    const info = trained.training!;
    assert.ok(info.bestValidationLoss < info.lastValueValidationLoss, JSON.stringify(info));
    assert.equal(info.backend, trained.backendName);
  });

  it("forecasts P series for each of the steps asked, past its horizon too (fed back), all finite", () => {
    for (const steps of [1, 3, 7]) {
      const f = trained.forecast(steps);
      assert.equal(f.length, steps);
      for (const row of f) {
        assert.equal(row.length, P);
        assert.ok(row.every((v) => Number.isFinite(v) && v >= 0));
      }
    }
    // The first 3 steps of a longer forecast are the direct ones.
    assert.deepEqual(trained.forecast(7).slice(0, 3), trained.forecast(3));
  });

  it("trains the same weights and forecasts from the same seed, other weights from another seed", async () => {
    const runs = [7, 7, 8].map(
      (seed) => new TransformerPredictor(P, { ...tiny, seed, epochs: 1, windowsPerEpoch: 128 }),
    );
    try {
      for (const r of runs) {
        await r.train(history, endNs.subarray(0, TRAIN));
        for (let t = 0; t < TRAIN; t++) r.observe(endNs[t]!, series[t]!);
      }
      const [a, b, c] = runs.map((r) => r.weights());
      assert.deepEqual(a, b);
      assert.notDeepEqual(a, c);
      assert.deepEqual(runs[0]!.forecast(5), runs[1]!.forecast(5));
    } finally {
      for (const r of runs) r.dispose();
    }
  });

  for (const lag of [0, DAY]) {
    it(`computes in its JS forward pass what tfjs predict computes (seasonal lag ${lag}, 2 blocks, 6 windows)`, async () => {
      const p = new TransformerPredictor(P, {
        ...tiny,
        blocks: 2,
        seasonalLag: lag,
        epochs: 1,
        windowsPerEpoch: 128,
      });
      try {
        await p.train(history, endNs.subarray(0, TRAIN));
        const F = 1 + (lag > 0 ? 1 : 0) + 4 + tiny.window!;
        // Six windows of values drawn from a fixed LCG in [-2, 2], the one-hot position in each row.
        let state = 12345;
        const next = () => {
          state = (state * 1103515245 + 12345) % 2 ** 31;
          return (state / 2 ** 31) * 4 - 2;
        };
        const n = 6;
        const W = tiny.window!;
        const xs = new Float32Array(n * W * F);
        for (let k = 0; k < n; k++) {
          for (let j = 0; j < W; j++) {
            const o = (k * W + j) * F;
            for (let f = 0; f < F - W; f++) xs[o + f] = next();
            xs[o + F - W + j] = 1;
          }
        }
        const ours = p.predictWithJs(xs, n);
        const theirs = p.predictWithTf(xs, n);
        assert.equal(ours.length, n * tiny.horizon!);
        for (let i = 0; i < ours.length; i++) {
          assert.ok(
            Math.abs(ours[i]! - theirs[i]!) < 1e-5,
            `output ${i}: JS ${ours[i]} vs tfjs ${theirs[i]}`,
          );
        }
        assert.ok(
          ours.some((v) => Math.abs(v) > 1e-3),
          "outputs are not all zero (the head was trained)",
        );
        // Asked for the first output only (a one-step forecast), it computes that one alike.
        const first = p.predictWithJs(xs, n, 1);
        for (let k = 0; k < n; k++) assert.equal(first[k * tiny.horizon!], ours[k * tiny.horizon!]);
      } finally {
        p.dispose();
      }
    });
  }

  it("with a one-day seasonal lag, trains the same forecasts from the same seed", async () => {
    const runs = [7, 7].map(
      (seed) =>
        new TransformerPredictor(P, { ...tiny, seed, seasonalLag: DAY, epochs: 2, windowsPerEpoch: 128 }),
    );
    try {
      for (const r of runs) {
        await r.train(history, endNs.subarray(0, TRAIN));
        for (let t = 0; t < TRAIN; t++) r.observe(endNs[t]!, series[t]!);
      }
      assert.deepEqual(runs[0]!.forecast(5), runs[1]!.forecast(5));
      assert.ok(runs[0]!.training!.trainLoss.length >= 1);
    } finally {
      for (const r of runs) r.dispose();
    }
  });

  it("forecasts the same after a save and load round trip, keeping its config, scaling and training", async () => {
    const dir = mkdtempSync(join(tmpdir(), "topocast-transformer-"));
    try {
      await trained.save(dir);
      const loaded = await TransformerPredictor.load(dir, P);
      try {
        assert.deepEqual(loaded.config, trained.config);
        assert.deepEqual(loaded.params().scaling, trained.params().scaling);
        assert.deepEqual(loaded.training, trained.training);
        await loaded.train(history, endNs.subarray(0, TRAIN)); // keeps the loaded weights
        assert.deepEqual(loaded.weights(), trained.weights());
        // Both observe the same latest window (the ring keeps only that), then forecast alike.
        for (let t = TRAIN - 8; t < TRAIN; t++) {
          loaded.observe(endNs[t]!, series[t]!);
          trained.observe(endNs[t]!, series[t]!);
        }
        assert.deepEqual(loaded.forecast(5), trained.forecast(5));
      } finally {
        loaded.dispose();
      }
      writeFileSync(join(dir, "model.json"), JSON.stringify({ modelTopology: {}, weightsManifest: [] }));
      await assert.rejects(TransformerPredictor.load(dir, P), /not a topocast Transformer predictor/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("forecasts zeros before any observation and the last value before a full window", () => {
    const fresh = new TransformerPredictor(P, tiny);
    assert.deepEqual(fresh.forecast(2), [new Float64Array(P), new Float64Array(P)]);
    fresh.observe(HOUR_NS, series[0]!);
    assert.deepEqual(fresh.forecast(2), [series[0], series[0]]);
  });

  it("is unusable after dispose: forecasts fall back to the last value, weights throw", async () => {
    const p = new TransformerPredictor(P, { ...tiny, epochs: 1, windowsPerEpoch: 64 });
    await p.train(history);
    p.dispose();
    assert.throws(() => p.weights(), PredictorError);
    for (let t = 0; t < 8; t++) p.observe(endNs[t]!, series[t]!);
    assert.deepEqual(p.forecast(1), [series[7]]);
  });

  const bad: [string, TransformerOptions, RegExp][] = [
    ["window 0", { window: 0 }, /transformer\.window: expected an integer >= 1, got 0/],
    ["fractional dModel", { dModel: 8.5 }, /transformer\.dModel: expected an integer >= 1, got 8\.5/],
    [
      "heads not dividing dModel",
      { dModel: 16, heads: 3 },
      /transformer\.heads: expected a divisor of dModel \(16\), got 3/,
    ],
    ["learning rate 0", { learningRate: 0 }, /transformer\.learningRate: expected a number > 0, got 0/],
    [
      "validation fraction 0.7",
      { validationFraction: 0.7 },
      /validationFraction: expected a number in \[0, 0\.5\], got 0\.7/,
    ],
  ];
  for (const [what, opts, message] of bad) {
    it(`rejects ${what}, naming the parameter and value`, () => {
      assert.throws(
        () => new TransformerPredictor(P, opts),
        (e: unknown) => {
          assert.ok(e instanceof PredictorError);
          assert.match(e.message, message);
          return true;
        },
      );
    });
  }

  it("rejects a history shorter than window + horizon + 1 and times of the wrong length", async () => {
    const p = new TransformerPredictor(P, tiny);
    await assert.rejects(
      p.train(history.slice(0, 11)),
      /needs at least 12 \(window 8, horizon 3, seasonal lag 0\)/,
    );
    await assert.rejects(p.train(history, endNs.subarray(0, 5)), /endNs has 5 times, expected 384/);
  });

  it("is in the registry as transformer", () => {
    const p = createPredictor("transformer", { dimension: P, transformer: { window: 6 } });
    assert.ok(p instanceof TransformerPredictor);
    assert.equal(p.params().window, 6);
  });
});
