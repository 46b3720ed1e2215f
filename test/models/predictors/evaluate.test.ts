import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  evaluatePredictors,
  formatTable,
  largestPairs,
  plainMatrix,
  recordsCsv,
  resolveSplit,
  seriesMatrix,
  type TrainSplit,
} from "../../../models/predictors/evaluate.ts";
import { LastValuePredictor } from "../../../models/predictors/last-value.ts";
import { OraclePredictor } from "../../../models/predictors/oracle.ts";
import type { TrafficMatrixSeries } from "../../../models/workload/tm-series.ts";

//          pair 0  pair 1
const rows = [
  Float64Array.of(1, 2), // t = 0  training
  Float64Array.of(2, 2), // t = 1  training
  Float64Array.of(4, 0), // t = 2  test
  Float64Array.of(3, 1), // t = 3  test
];

describe("walk-forward evaluation", () => {
  it("computes MSE, MAE (normalized by the series maximum) and NMAE by hand for last value", async () => {
    // M = 4. Origins: after t=1 the forecast is (2, 2) for t=2 (h=1) and t=3 (h=2); after t=2 it is (4, 0) for t=3.
    // h=1 errors: (2-4, 2-0), (4-3, 0-1) -> squares 4+4+1+1 = 10, |.| 6, actuals 4+0+3+1 = 8, 4 values.
    // h=2 errors: (2-3, 2-1) -> squares 2, |.| 2, actuals 4, 2 values.
    const result = await evaluatePredictors(plainMatrix(rows), [new LastValuePredictor(2)], {
      train: { intervals: 2 },
      horizon: 2,
    });
    assert.equal(result.maxValue, 4);
    assert.equal(result.trainIntervals, 2);
    assert.equal(result.testIntervals, 2);
    assert.deepEqual(result.records, [
      {
        predictor: "lv",
        horizon: 1,
        mse: 10 / 4 / 16,
        rmse: Math.sqrt(10 / 4 / 16),
        mae: 6 / 4 / 4,
        nmae: 6 / 8,
        // Non-zero targets only: |2-4|/4, |4-3|/3, |0-1|/1 (pair 1 at t = 2 is zero).
        mape: (2 / 4 + 1 / 3 + 1) / 3,
        trainSeconds: 0,
      },
      {
        predictor: "lv",
        horizon: 2,
        mse: 2 / 2 / 16,
        rmse: Math.sqrt(2 / 2 / 16),
        mae: 2 / 2 / 4,
        nmae: 2 / 4,
        mape: (1 / 3 + 1) / 2,
        trainSeconds: 0,
      },
    ]);
    assert.deepEqual(result.comparisons, [], "no predictor besides the reference");
  });

  it("gives the oracle zero error at every horizon", async () => {
    const result = await evaluatePredictors(plainMatrix(rows), [new OraclePredictor(2, { rows })], {
      train: 0.25,
      horizon: 3,
    });
    assert.deepEqual(
      result.records.map((r) => [r.horizon, r.mse, r.mae, r.nmae]),
      [
        [1, 0, 0, 0],
        [2, 0, 0, 0],
        [3, 0, 0, 0],
      ],
    );
  });

  it("tests every predictor against the best simple one per horizon (Diebold-Mariano on per-origin losses)", async () => {
    const result = await evaluatePredictors(
      plainMatrix(rows),
      [new LastValuePredictor(2), new OraclePredictor(2, { rows })],
      { train: { intervals: 2 }, horizon: 2 },
    );
    // The oracle's losses are 0; last value's 1-step losses (per origin, sum |e| / M) are 4/4 and 2/4.
    const c = result.comparisons.map((x) => [x.predictor, x.horizon, x.reference, x.n, x.meanDifference]);
    assert.deepEqual(c, [
      ["oracle", 1, "lv", 2, -(1 + 0.5) / 2],
      ["oracle", 2, "lv", 1, -2 / 4],
    ]);
    assert.ok(Number.isNaN(result.comparisons[1]!.pValue), "one origin: no test");
    const named = await evaluatePredictors(
      plainMatrix(rows),
      [new LastValuePredictor(2), new OraclePredictor(2, { rows })],
      { train: { intervals: 2 }, horizon: 1, references: ["oracle"] },
    );
    assert.deepEqual(
      named.comparisons.map((x) => [x.predictor, x.reference, x.meanDifference]),
      [["lv", "oracle", (1 + 0.5) / 2]],
    );
  });

  it("keeps the 1-step forecasts of tracked pairs over the test part", async () => {
    const result = await evaluatePredictors(plainMatrix(rows), [new LastValuePredictor(2)], {
      train: { intervals: 2 },
      horizon: 1,
      trackPairs: [0],
    });
    assert.deepEqual(result.tracks, [{ predictor: "lv", pair: 0, forecast: Float64Array.of(2, 4) }]);
  });

  it("rejects a predictor of another dimension", async () => {
    await assert.rejects(
      evaluatePredictors(plainMatrix(rows), [new LastValuePredictor(3)], { train: 0.5, horizon: 1 }),
      /lv: dimension 3 does not match the series' 2 pairs/,
    );
  });
});

describe("the training split", () => {
  const labels = ["20040301-0000", "20040301-0005", "20040301-0010", "20040302-0000", "20040302-0005"];
  const ok: [TrainSplit, number][] = [
    [0.5, 2],
    ["0.8", 4],
    [{ intervals: 3 }, 3],
    ["20040301-0010", 2],
    ["2004-03-02", 3],
    ["2004-03-01T00:05", 1],
  ];
  for (const [split, s] of ok) {
    it(`${JSON.stringify(split)} of 5 labelled intervals trains on ${s}`, () => {
      assert.equal(resolveSplit(split, 5, labels), s);
    });
  }
  const bad: [TrainSplit, RegExp][] = [
    [1, /expected a fraction in \(0, 1\), got 1/],
    [0.1, /gives 0 training intervals of 5; both parts need at least one/],
    ["2004-03-03", /gives 5 training intervals of 5/],
    ["soon", /expected a fraction in \(0, 1\) or a date like 2004-03-06, got "soon"/],
    [{ intervals: 2.5 }, /expected an integer interval count, got 2.5/],
  ];
  for (const [split, message] of bad) {
    it(`rejects ${JSON.stringify(split)}`, () => {
      assert.throws(() => resolveSplit(split, 5, labels), message);
    });
  }
  it("rejects a date for a series without labels", () => {
    assert.throws(() => resolveSplit("2004-03-02", 5), /the series has no interval labels to match a date/);
  });
});

describe("series as matrices, tables and CSV", () => {
  it("takes the off-diagonal pairs of a traffic-matrix series, row-major, with interval end times", () => {
    const series: TrafficMatrixSeries = {
      source: "test",
      nodes: ["A", "B", "C"],
      intervalNs: 300e9,
      startNs: Float64Array.of(0, 300e9),
      labels: undefined,
      rates: [Float64Array.of(0, 1, 2, 3, 0, 5, 6, 7, 0), Float64Array.of(0, 10, 20, 30, 0, 50, 60, 70, 0)],
    };
    const m = seriesMatrix(series);
    assert.deepEqual(m.pairs, ["A->B", "A->C", "B->A", "B->C", "C->A", "C->B"]);
    assert.deepEqual(m.rows[1], Float64Array.of(10, 20, 30, 50, 60, 70));
    assert.deepEqual(m.endNs, Float64Array.of(300e9, 600e9));
  });

  it("ranks pairs by their total volume, largest first", () => {
    assert.deepEqual(largestPairs(rows, 2), [0, 1]);
    assert.deepEqual(largestPairs(rows, 1, 3), [0]);
  });

  const records = [
    {
      predictor: "lv",
      horizon: 1,
      mse: 8.43e-6,
      rmse: 0.0029,
      mae: 9.39e-4,
      nmae: 0.137,
      mape: 0.25,
      trainSeconds: 0,
    },
    {
      predictor: "lstm",
      horizon: 1,
      mse: 7.1e-6,
      rmse: 0.00266,
      mae: 8.97e-4,
      nmae: 0.131,
      mape: 0.2,
      trainSeconds: 97.25,
    },
  ];

  it("formats an aligned console table in exponent form", () => {
    assert.equal(
      formatTable(records),
      [
        "predictor  h      MSE     RMSE      MAE     NMAE     MAPE  train s",
        "---------  -  -------  -------  -------  -------  -------  -------",
        "lv         1  8.43e-6  2.90e-3  9.39e-4  1.37e-1  2.50e-1     0.00",
        "lstm       1  7.10e-6  2.66e-3  8.97e-4  1.31e-1  2.00e-1    97.25",
      ].join("\n"),
    );
  });

  it("writes CSV with the record fields as header, numbers in full precision", () => {
    assert.equal(
      recordsCsv(records),
      "predictor,horizon,mse,rmse,mae,nmae,mape,trainSeconds\nlv,1,0.00000843,0.0029,0.000939,0.137,0.25,0\nlstm,1,0.0000071,0.00266,0.000897,0.131,0.2,97.25\n",
    );
  });
});
