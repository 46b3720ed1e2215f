import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { runPredict } from "../../experiments/run-predict.ts";
import type { TrafficMatrixSeries } from "../../models/workload/tm-series.ts";
import { RandomStreams } from "../../sim/kernel/rng.ts";

const HOUR_NS = 3600e9;

/** Three nodes, hourly intervals for six days: a daily cycle per pair plus 5% noise, bits/s. */
function hourlySeries(): TrafficMatrixSeries {
  const nodes = ["A", "B", "C"];
  const rng = new RandomStreams(3).stream("noise");
  const T = 6 * 24;
  const rates = Array.from({ length: T }, (_, t) => {
    const r = new Float64Array(9);
    for (let i = 0; i < 3; i++) {
      for (let j = 0; j < 3; j++) {
        if (i === j) continue;
        const base = 1e6 * (1 + 3 * i + j);
        r[i * 3 + j] = base * (1 + 0.5 * Math.sin((2 * Math.PI * t) / 24)) * (1 + 0.05 * rng.normal());
      }
    }
    return r;
  });
  const labels = rates.map(
    (_, t) => `200403${String(1 + Math.floor(t / 24)).padStart(2, "0")}-${String(t % 24).padStart(2, "0")}00`,
  );
  return {
    source: "hourly test series",
    nodes,
    intervalNs: HOUR_NS,
    startNs: Float64Array.from(rates, (_, t) => t * HOUR_NS),
    labels,
    rates,
  };
}

describe("topocast predict (runPredict)", () => {
  const out = mkdtempSync(join(tmpdir(), "topocast-predict-"));
  after(() => rmSync(out, { recursive: true, force: true }));

  it("evaluates every predictor and writes predict.json, predict.csv and the forecast plot", async () => {
    const asked: string[] = [];
    const result = await runPredict({
      tm: "some/dir",
      train: "2004-03-05",
      predictors: ["lv", "ma", "ewma", "hw", "seasonal-naive", "oracle", "lstm"],
      horizon: 3,
      out,
      loadSeries: (path) => {
        asked.push(path);
        return hourlySeries();
      },
      lstm: { window: 4, units: 4, epochs: 1, batchSize: 64 },
      lstmModel: { save: join(out, "lstm-model") },
    });
    assert.deepEqual(asked, ["some/dir"]);
    assert.equal(result.trainIntervals, 4 * 24);
    assert.equal(result.testIntervals, 2 * 24);
    assert.equal(result.records.length, 7 * 3);

    const json = JSON.parse(readFileSync(result.files.json, "utf8"));
    assert.equal(json.pairs, 6);
    assert.deepEqual(json.train, {
      split: "2004-03-05",
      intervals: 96,
      first: "20040301-0000",
      last: "20040304-2300",
    });
    assert.equal(json.normalization.unit, "bit/s");
    assert.equal(json.tfBackend, result.tfBackend);
    assert.ok(["wasm", "cpu", "tensorflow"].includes(json.tfBackend));
    assert.equal(json.predictors.find((p: { name: string }) => p.name === "hw").params.period, 24);
    assert.deepEqual(json.records, result.records);
    assert.deepEqual(Object.keys(json.records[0]), [
      "predictor",
      "horizon",
      "mse",
      "rmse",
      "mae",
      "nmae",
      "mape",
      "trainSeconds",
    ]);

    const csv = readFileSync(result.files.csv, "utf8").trim().split("\n");
    assert.equal(csv[0], "predictor,horizon,mse,rmse,mae,nmae,mape,trainSeconds");
    assert.equal(csv.length, 1 + 21);

    const oracle = result.records.filter((r) => r.predictor === "oracle");
    assert.ok(oracle.every((r) => r.mae === 0));
    const lv = result.records.find((r) => r.predictor === "lv" && r.horizon === 1)!;
    const sn = result.records.find((r) => r.predictor === "seasonal-naive" && r.horizon === 1)!;
    assert.ok(sn.mae < lv.mae, "a daily season beats the last value on a daily cycle");

    assert.ok(readFileSync(result.files.plot.svg, "utf8").includes("rate (Mbit/s)"));
    assert.ok(existsSync(result.files.plot.png));
    assert.ok(existsSync(join(out, "lstm-model", "model.json")));
    // The records' table, then a blank line, a heading and one Diebold-Mariano line per horizon and learned or
    // oracle predictor (the others are the simple references).
    const tested = new Set(json.comparisons.map((c: { predictor: string }) => c.predictor));
    assert.deepEqual([...tested].sort(), ["lstm", "oracle"]);
    assert.ok(
      json.comparisons.every((c: { reference: string }) => !["lstm", "oracle"].includes(c.reference)),
    );
    assert.ok(
      json.comparisons
        .filter((c: { predictor: string }) => c.predictor === "oracle")
        .every((c: { verdict: string }) => c.verdict === "better"),
      "the oracle beats every simple predictor significantly",
    );
    assert.equal(result.table.split("\n").length, 2 + 21 + 2 + json.comparisons.length);
  });

  it("loads a saved LSTM instead of training one", async () => {
    const result = await runPredict({
      tm: "x",
      train: 0.5,
      predictors: ["lstm"],
      horizon: 1,
      out: join(out, "again"),
      loadSeries: hourlySeries,
      lstmModel: { load: join(out, "lstm-model") },
    });
    const json = JSON.parse(readFileSync(result.files.json, "utf8"));
    assert.equal(json.predictors[0].params.loaded, true);
    assert.equal(json.predictors[0].params.units, 4);
  });

  it("runs the Transformer as a deep model: its backend reported, tested against the simple ones, direct to H", async () => {
    const dir = join(out, "transformer");
    const result = await runPredict({
      tm: "some/dir",
      train: "2004-03-05",
      predictors: ["lv", "ewma", "transformer"],
      horizon: 3,
      out: dir,
      loadSeries: () => hourlySeries(),
      transformer: { window: 4, dModel: 4, heads: 1, epochs: 1, windowsPerEpoch: 64, batchSize: 32 },
      transformerModel: { save: join(out, "transformer-model") },
    });
    const json = JSON.parse(readFileSync(result.files.json, "utf8"));
    assert.ok(["wasm", "cpu", "tensorflow"].includes(json.tfBackend));
    const entry = json.predictors.find((p: { name: string }) => p.name === "transformer");
    assert.equal(entry.training.trainLoss.length, entry.training.epochs, "learning curve in predict.json");
    assert.equal(entry.training.validationLoss.length, entry.training.epochs);
    const params = json.predictors.find((p: { name: string }) => p.name === "transformer").params;
    assert.equal(params.horizon, 3);
    assert.equal(params.seed, 1);
    assert.deepEqual(
      json.comparisons.map((c: { predictor: string; horizon: number }) => `${c.predictor}@${c.horizon}`),
      ["transformer@1", "transformer@2", "transformer@3"],
    );
    assert.ok(result.records.filter((r) => r.predictor === "transformer").every((r) => r.trainSeconds > 0));
  });

  it("loads a saved Transformer instead of training one: the same records as the run that saved it", async () => {
    const first = JSON.parse(readFileSync(join(out, "transformer", "predict.json"), "utf8"));
    const result = await runPredict({
      tm: "some/dir",
      train: "2004-03-05",
      predictors: ["lv", "ewma", "transformer"],
      horizon: 3,
      out: join(out, "transformer-again"),
      loadSeries: () => hourlySeries(),
      transformerModel: { load: join(out, "transformer-model") },
    });
    const mae = (records: { predictor: string; mae: number }[]) =>
      records.filter((r) => r.predictor === "transformer").map((r) => r.mae);
    assert.deepEqual(mae(result.records), mae(first.records));
  });

  it("needs a period for seasonal predictors when a day is not a whole number of intervals", async () => {
    const series = { ...hourlySeries(), intervalNs: 7 * 60e9 };
    await assert.rejects(
      runPredict({ tm: "x", train: 0.5, predictors: ["hw"], horizon: 1, out, loadSeries: () => series }),
      /hw: needs a period in intervals/,
    );
  });

  it("rejects an unknown predictor before loading anything heavy", async () => {
    await assert.rejects(
      runPredict({
        tm: "x",
        train: 0.5,
        predictors: ["lv", "arima"],
        horizon: 1,
        out,
        loadSeries: hourlySeries,
      }),
      /unknown predictor "arima"; valid names: lv, seasonal-naive, ma, ewma, hw, lstm, transformer, linear, oracle/,
    );
  });
});
