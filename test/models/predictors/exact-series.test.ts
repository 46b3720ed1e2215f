import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { EwmaPredictor } from "../../../models/predictors/ewma.ts";
import { HoltWintersPredictor } from "../../../models/predictors/holt-winters.ts";
import { LastValuePredictor } from "../../../models/predictors/last-value.ts";
import { MovingAveragePredictor } from "../../../models/predictors/moving-average.ts";
import type { Predictor } from "../../../models/predictors/predictor.ts";
import { SeasonalNaivePredictor } from "../../../models/predictors/seasonal-naive.ts";

/** Three pairs; y(p, t) for the test series below. */
type Series = (p: number, t: number) => number;

const P = 3;
const m = 4; // the period of the seasonal series, in intervals
const pattern = [
  [10, 30, 20, 0],
  [5e6, 1e6, 2e6, 8e6],
  [0, 0, 7, 1],
];

const constant: Series = (p) => [5, 2.5e6, 0][p]!;
const line: Series = (p, t) => [100 + 3 * t, 1e6 - 2e3 * t, 0.5 * t][p]!;
const seasonal: Series = (p, t) => pattern[p]![t % m]!;
const seasonalTrend: Series = (p, t) => seasonal(p, t) + line(p, t);

interface Case {
  /** A sentence fragment: "<predictor> is exact on <series> after <n> observations". */
  what: string;
  make: () => Predictor;
  series: Series;
  /** Observations before the first checked forecast. */
  warmup: number;
  /** The forecast expected after observing y_0 .. y_t, for h steps ahead. */
  expected: (p: number, t: number, h: number, y: Series) => number;
}

const future = (p: number, t: number, h: number, y: Series) => y(p, t + h);
const lastValue = (p: number, t: number, _h: number, y: Series) => y(p, t);

const cases: Case[] = [
  {
    what: "last value forecasts a constant exactly",
    make: () => new LastValuePredictor(P),
    series: constant,
    warmup: 1,
    expected: future,
  },
  {
    what: "last value forecasts the latest value of a line",
    make: () => new LastValuePredictor(P),
    series: line,
    warmup: 1,
    expected: lastValue,
  },
  {
    what: "a moving average of 3 forecasts a constant exactly",
    make: () => new MovingAveragePredictor(P, { window: 3 }),
    series: constant,
    warmup: 1,
    expected: future,
  },
  {
    what: "a moving average of 3 lags a line by one interval",
    make: () => new MovingAveragePredictor(P, { window: 3 }),
    series: line,
    warmup: 3,
    expected: (p, t, _h, y) => y(p, t - 1),
  },
  {
    what: "EWMA (alpha 0.3) forecasts a constant exactly",
    make: () => new EwmaPredictor(P, { alpha: 0.3 }),
    series: constant,
    warmup: 1,
    expected: future,
  },
  {
    what: "seasonal naive forecasts a constant exactly",
    make: () => new SeasonalNaivePredictor(P, { period: m }),
    series: constant,
    warmup: 1,
    expected: future,
  },
  {
    what: "seasonal naive forecasts a pure seasonal series exactly after one period",
    make: () => new SeasonalNaivePredictor(P, { period: m }),
    series: seasonal,
    warmup: m,
    expected: future,
  },
  {
    what: "seasonal naive forecasts the last value for targets whose phase has not been observed yet",
    make: () => new SeasonalNaivePredictor(P, { period: m }),
    series: seasonal,
    warmup: 1,
    expected: (p, t, h, y) => (t + h - m * (Math.floor((h - 1) / m) + 1) < 0 ? y(p, t) : y(p, t + h)),
  },
  {
    what: "Holt-Winters forecasts a constant exactly after two periods",
    make: () => new HoltWintersPredictor(P, { period: m }),
    series: constant,
    warmup: 2 * m,
    expected: future,
  },
  {
    what: "Holt-Winters forecasts a line exactly after two periods",
    make: () => new HoltWintersPredictor(P, { period: m }),
    series: line,
    warmup: 2 * m,
    expected: future,
  },
  {
    what: "Holt-Winters forecasts a pure seasonal series exactly after two periods",
    make: () => new HoltWintersPredictor(P, { period: m }),
    series: seasonal,
    warmup: 2 * m,
    expected: future,
  },
  {
    what: "Holt-Winters forecasts a line plus a season exactly after two periods, whatever its constants",
    make: () => new HoltWintersPredictor(P, { period: m, alpha: 0.9, beta: 0.7, gamma: 0.4 }),
    series: seasonalTrend,
    warmup: 2 * m,
    expected: future,
  },
  {
    what: "Holt's linear method (period 1) forecasts a line exactly after two observations",
    make: () => new HoltWintersPredictor(P, { period: 1 }),
    series: line,
    warmup: 2,
    expected: future,
  },
];

const H = 6; // more than one period ahead
const T = 40;

function close(actual: number, expected: number): boolean {
  return Math.abs(actual - expected) <= 1e-9 * Math.max(1, Math.abs(expected));
}

describe("predictors on series whose forecast is known", () => {
  for (const c of cases) {
    it(c.what, () => {
      const pred = c.make();
      for (let t = 0; t < T; t++) {
        pred.observe(
          t + 1,
          Float64Array.from({ length: P }, (_, p) => c.series(p, t)),
        );
        if (t + 1 < c.warmup) continue;
        const f = pred.forecast(H);
        assert.equal(f.length, H);
        for (let h = 1; h <= H; h++) {
          for (let p = 0; p < P; p++) {
            const want = c.expected(p, t, h, c.series);
            const got = f[h - 1]![p]!;
            assert.ok(close(got, want), `t=${t} h=${h} pair ${p}: forecast ${got}, expected ${want}`);
          }
        }
      }
    });
  }
});

describe("every predictor's contract", () => {
  const makers: [string, () => Predictor][] = [
    ["lv", () => new LastValuePredictor(P)],
    ["ma", () => new MovingAveragePredictor(P)],
    ["ewma", () => new EwmaPredictor(P)],
    ["seasonal-naive", () => new SeasonalNaivePredictor(P, { period: m })],
    ["hw", () => new HoltWintersPredictor(P, { period: m })],
  ];
  for (const [name, make] of makers) {
    it(`${name} forecasts zeros before any observation`, () => {
      assert.deepEqual(make().forecast(2), [new Float64Array(P), new Float64Array(P)]);
    });

    it(`${name} rejects a sample of the wrong length or with NaN, naming itself`, () => {
      const pred = make();
      assert.throws(
        () => pred.observe(0, new Float64Array(P + 1)),
        new RegExp(`^PredictorError: ${name}\\.observe: expected a sample of 3 pairs, got 4`),
      );
      assert.throws(
        () => pred.observe(0, Float64Array.of(1, Number.NaN, 2)),
        /sample\[1\] must be a finite number/,
      );
    });

    it(`${name} rejects a forecast of zero or fractional steps`, () => {
      const pred = make();
      assert.throws(() => pred.forecast(0), /steps must be a positive integer, got 0/);
      assert.throws(() => pred.forecast(1.5), /got 1.5/);
    });

    it(`${name} returns fresh arrays that the caller may modify`, () => {
      const pred = make();
      for (let t = 0; t < 2 * m; t++) pred.observe(t, Float64Array.of(1, 2, 3));
      const a = pred.forecast(2);
      a[0]!.fill(99);
      a[1]!.fill(99);
      assert.deepEqual(pred.forecast(1)[0], Float64Array.of(1, 2, 3));
    });
  }
});
