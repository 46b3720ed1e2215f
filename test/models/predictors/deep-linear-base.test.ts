import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { LinearPredictor } from "../../../models/predictors/linear.ts";
import { LstmPredictor } from "../../../models/predictors/lstm.ts";
import { PredictorError } from "../../../models/predictors/predictor.ts";
import { TransformerPredictor } from "../../../models/predictors/transformer.ts";

/** Issue 18: the deep models over the pooled linear model (LSTNet's sum); deep-setup.ts ResidualBase. */
const P = 3;
const T = 160;
const H = 4;
const level = [2e6, 8e4, 500];
/** A fixed pseudo-random sequence in [0, 1) (no Math.random in tests). */
const noise = (p: number, t: number) => {
  const x = Math.sin(12.9898 * (t + 1) + 78.233 * (p + 1)) * 43758.5453;
  return x - Math.floor(x);
};
const series = Array.from({ length: T }, (_, t) =>
  Float64Array.from(
    { length: P },
    (_, p) => level[p]! * (1 + 0.6 * Math.sin((2 * Math.PI * t) / 24 + p) + 0.3 * noise(p, t)),
  ),
);
const train = 120;
const linearOpts = { window: 8, horizon: H };
/** Training that moves no weight measurably: one epoch at a step size of 1e-30. */
const frozenish = { epochs: 1, learningRate: 1e-30, windowsPerEpoch: 64, validationWindows: 64, window: 6 };

interface Case {
  what: string;
  make: () => LstmPredictor | TransformerPredictor;
}
const cases: Case[] = [
  {
    what: "LSTM base=linear, heads=H",
    make: () => new LstmPredictor(P, { ...frozenish, base: "linear", heads: H, baseWindow: 8, units: 4 }),
  },
  {
    what: "Transformer base=linear, horizon H",
    make: () =>
      new TransformerPredictor(P, {
        ...frozenish,
        base: "linear",
        horizon: H,
        baseWindow: 8,
        dModel: 4,
        heads: 1,
        timeFeatures: false,
      }),
  },
];

/** Walks `pred` over the series after training on the first `train` rows; every forecast of 1 .. H + 2 steps. */
async function walk(pred: {
  train(h: Float64Array[]): void | Promise<void>;
  observe(t: number, x: Float64Array): void;
  forecast(n: number): Float64Array[];
}): Promise<Float64Array[][]> {
  await pred.train(series.slice(0, train));
  const out: Float64Array[][] = [];
  series.forEach((row, t) => {
    pred.observe(t * 300e9, row);
    if (t >= train - 1) out.push(pred.forecast(H + 2));
  });
  return out;
}

describe("deep predictors over the linear base", () => {
  for (const c of cases) {
    it(`${c.what}: an untrained network forecasts exactly as the linear model`, async () => {
      const linear = await walk(new LinearPredictor(P, linearOpts));
      const deep = c.make();
      const got = await walk(deep);
      let worst = 0;
      for (const [i, f] of got.entries()) {
        for (const [k, row] of f.entries()) {
          for (const [p, v] of row.entries()) {
            const want = linear[i]![k]![p]!;
            worst = Math.max(worst, Math.abs(v - want) / Math.max(want, 1));
          }
        }
      }
      assert.ok(worst < 1e-9, `largest relative difference ${worst}`);
      // The bar of early stopping is the base's loss: the untrained network's validation loss equals it.
      const info = deep.training!;
      assert.ok(Math.abs(info.validationLoss[0]! - info.lastValueValidationLoss) < 1e-9);
      deep.dispose();
    });
  }

  it("saves and loads the linear base with the LSTM", async () => {
    const dir = mkdtempSync(join(tmpdir(), "deep-linear-"));
    try {
      const a = cases[0]!.make() as LstmPredictor;
      const before = await walk(a);
      await a.save(dir);
      const b = await LstmPredictor.load(dir, P);
      assert.deepEqual(await walk(b), before);
      a.dispose();
      b.dispose();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("linear.forecastHistory gives the online forecasts of every origin", () => {
    const lin = new LinearPredictor(P, { ...linearOpts, seasonalLag: 24 });
    lin.train(series.slice(0, train));
    const { first, y } = lin.forecastHistory(series);
    series.forEach((row, t) => {
      lin.observe(t, row);
      if (t < first + 30) return;
      lin.forecast(H).forEach((f, h) => {
        for (let p = 0; p < P; p++) assert.equal(f[p], y[((t - first) * H + h) * P + p]);
      });
    });
  });

  const bad: [string, () => unknown, RegExp][] = [
    [
      "LSTM base=linear without heads",
      () => new LstmPredictor(P, { base: "linear" }),
      /lstm\.base.*heads >= 1/,
    ],
    [
      "LSTM base=linear with fine-tuning",
      () => new LstmPredictor(P, { base: "linear", heads: 4, fineTuneEvery: 10 }),
      /fineTuneEvery 10/,
    ],
    [
      "Transformer base unknown",
      () => new TransformerPredictor(P, { base: "mean" as "last" }),
      /transformer\.base: expected "last", "ewma", "linear", got "mean"/,
    ],
    ["baseWindow 0", () => new TransformerPredictor(P, { baseWindow: 0 }), /transformer\.baseWindow/],
  ];
  for (const [what, make, msg] of bad) {
    it(`rejects ${what}`, () =>
      assert.throws(make, (e: unknown) => e instanceof PredictorError && msg.test(e.message)));
  }
});
