import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { type LinearOptions, LinearPredictor } from "../../../models/predictors/linear.ts";
import { PredictorError } from "../../../models/predictors/predictor.ts";

const P = 3;
const S = 24;
/** A fixed pseudo-random sequence in [0, 1) (no Math.random in tests either). */
const noise = (p: number, t: number) => {
  const x = Math.sin(12.9898 * (t + 1) + 78.233 * (p + 1)) * 43758.5453;
  return x - Math.floor(x);
};

type Series = (p: number, t: number) => number;
const rows = (y: Series, T: number) =>
  Array.from({ length: T }, (_, t) => Float64Array.from({ length: P }, (_, p) => y(p, t)));

/** Mean absolute error of each horizon's forecasts over origins train .. T - 1 - h (after observing all before). */
function walk(pred: LinearPredictor, y: Series, train: number, T: number, H: number): number[] {
  const all = rows(y, T);
  pred.train(all.slice(0, train));
  const err = new Array<number>(H).fill(0);
  const n = new Array<number>(H).fill(0);
  all.forEach((row, t) => {
    pred.observe(t, row);
    if (t < train - 1) return;
    pred.forecast(H).forEach((f, i) => {
      if (t + i + 1 >= T) return;
      for (let p = 0; p < P; p++) err[i]! += Math.abs(f[p]! - all[t + i + 1]![p]!);
      n[i]!++;
    });
  });
  return err.map((e, i) => e / n[i]! / P);
}

interface Case {
  what: string;
  opts: LinearOptions;
  y: Series;
  /** The largest MAE allowed at any horizon, as a fraction of the reference. */
  bound: (lastValueMae: number[]) => number[];
}

const level = [1e6, 5e4, 300];
const periodic: Series = (p, t) => level[p]! * (1 + 0.8 * Math.sin((2 * Math.PI * t) / S + p));
const noisy: Series = (p, t) => level[p]! * (1 + 0.5 * (noise(p, t) - 0.5));
const constant: Series = (p) => level[p]!;

const cases: Case[] = [
  {
    what: "with the seasonal lag it forecasts a periodic series almost exactly (MAE < 1% of the last value's)",
    opts: { window: 4, horizon: 6, seasonalLag: S },
    y: periodic,
    bound: (lv) => lv.map((e) => 0.01 * e),
  },
  {
    what: "on white noise around a level it beats the last value by 15% at every horizon (the mean: 25%)",
    opts: { window: 12, horizon: 6 },
    y: noisy,
    bound: (lv) => lv.map((e) => 0.85 * e),
  },
  {
    what: "a constant series is forecast exactly (no variation: the weights are 0, the forecast is the base)",
    opts: { window: 4, horizon: 3 },
    y: constant,
    bound: (lv) => lv.map(() => 1e-6),
  },
];

describe("the pooled linear predictor", () => {
  for (const c of cases) {
    it(c.what, () => {
      const H = c.opts.horizon!;
      const mae = walk(new LinearPredictor(P, c.opts), c.y, 6 * S, 10 * S, H);
      const lvMae = Array.from({ length: H }, (_, i) => {
        let e = 0;
        let n = 0;
        for (let t = 6 * S - 1; t + i + 1 < 10 * S; t++)
          for (let p = 0; p < P; p++, n++) e += Math.abs(c.y(p, t) - c.y(p, t + i + 1));
        return e / n;
      });
      const bound = c.bound(lvMae);
      mae.forEach((e, i) => {
        assert.ok(e <= bound[i]!, `h = ${i + 1}: MAE ${e} above ${bound[i]} (last value ${lvMae[i]})`);
      });
    });
  }

  it("forecasts the last value before it is trained", () => {
    const pred = new LinearPredictor(P, { window: 2, horizon: 2 });
    pred.observe(0, Float64Array.of(1, 2, 3));
    assert.deepEqual(
      pred.forecast(2).map((f) => Array.from(f)),
      [
        [1, 2, 3],
        [1, 2, 3],
      ],
    );
  });

  const bad: [LinearOptions, RegExp][] = [
    [{ window: 0 }, /^linear\.window: expected an integer >= 1, got 0$/],
    [{ horizon: 1.5 }, /^linear\.horizon: expected an integer >= 1, got 1\.5$/],
    [
      { seasonalLag: 12, horizon: 12 },
      /^linear\.seasonalLag: expected 0 or more than horizon \+ 1 \(13\), got 12$/,
    ],
    [{ ridge: -1 }, /^linear\.ridge: expected a number >= 0, got -1$/],
  ];
  for (const [opts, message] of bad) {
    it(`rejects ${JSON.stringify(opts)} naming the field`, () => {
      assert.throws(
        () => new LinearPredictor(P, opts),
        (e: unknown) => e instanceof PredictorError && message.test(e.message),
      );
    });
  }

  it("rejects a history too short for one training window", () => {
    const pred = new LinearPredictor(P, { window: 10, horizon: 5 });
    assert.throws(
      () => pred.train(rows(constant, 12)),
      (e: unknown) =>
        e instanceof PredictorError &&
        /^linear\.train: history has 12 intervals; needs at least 15$/.test(e.message),
    );
  });
});
