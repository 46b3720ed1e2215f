/**
 * `topocast predict`, given parsed options: load a traffic-matrix series, evaluate predictors walking forward over
 * its test part (evaluate.ts), write `predict.json`, `predict.csv` and a plot of 1-step forecasts against the
 * actual rates of the largest pairs into the output directory, and return the console table.
 *
 * The series reader is passed in (`loadSeries`), so this module does not depend on which readers exist (SNDlib
 * directories, CSV files); the CLI passes the workload module's dispatcher.
 */
import { join } from "node:path";
import {
  type AccuracyComparison,
  type EvaluationRecord,
  evaluatePredictors,
  formatTable,
  largestPairs,
  type PairTrack,
  recordsCsv,
  resolveSplit,
  type SeriesMatrix,
  seriesMatrix,
  type TrainSplit,
} from "../models/predictors/evaluate.ts";
import type { LinearOptions } from "../models/predictors/linear.ts";
import { type LstmOptions, LstmPredictor } from "../models/predictors/lstm.ts";
import { type Predictor, PredictorError } from "../models/predictors/predictor.ts";
import { createPredictor, type PredictorOptions } from "../models/predictors/registry.ts";
import type { TfTrainingInfo } from "../models/predictors/tf-training.ts";
import { type TransformerOptions, TransformerPredictor } from "../models/predictors/transformer.ts";
import type { TrafficMatrixSeries } from "../models/workload/tm-series.ts";
import { writeFileAtomic, writeJsonAtomic } from "../sim/io/atomic-write.ts";
import { renderVegaLite, type TopLevelSpec } from "./plots/render.ts";

const DAY_NS = 86_400e9;

export interface RunPredictOptions {
  /** The series to read: a directory or file, as `loadSeries` understands it. */
  tm: string;
  /** Where training ends: a fraction in (0, 1), or a date or label (`"2004-03-06"`); strings are parsed. */
  train: TrainSplit;
  /** Registry names, evaluated in this order. */
  predictors: readonly string[];
  /** H, the largest horizon in intervals (>= 1). */
  horizon: number;
  /** Output directory (created). */
  out: string;
  /** Reads the series at a path. */
  loadSeries: (pathOrDir: string) => TrafficMatrixSeries | Promise<TrafficMatrixSeries>;
  /** Seed of the deep models' random streams (LSTM, Transformer). Default 1. */
  seed?: number;
  /**
   * Season length in intervals for seasonal-naive and hw. Default: one day of intervals when a day is a whole
   * number of them (288 for 5-minute intervals), else it must be given when those predictors are asked for.
   */
  period?: number;
  /** Number of largest pairs (by test-part volume) in the plot. Default 4. */
  plotPairs?: number;
  /** Other predictor options (ma window, smoothing constants). */
  predictorOptions?: Omit<
    PredictorOptions,
    "dimension" | "oracle" | "lstm" | "transformer" | "linear" | "period"
  >;
  /** Pooled linear model settings (LinearConfig); its horizon defaults to `horizon`. */
  linear?: LinearOptions;
  /** LSTM parameters. */
  lstm?: LstmOptions;
  /** Transformer parameters; its direct horizon defaults to `horizon`. */
  transformer?: TransformerOptions;
  /** Load the LSTM from this directory instead of training it, and/or save the trained one here. */
  lstmModel?: { load?: string; save?: string };
  /** The same for the Transformer. */
  transformerModel?: { load?: string; save?: string };
  /** Predictors the others are tested against (evaluate.ts `references`; default the simple ones). */
  references?: readonly string[];
  /** Progress lines. */
  log?: (line: string) => void;
  /**
   * The series the forecasters predict, from the traffic matrices: default the N(N-1) pair rates (bits/s); or
   * another view of them, such as each link's offered utilization (models/workload/link-series.ts).
   */
  view?: SeriesView;
}

/** What `topocast predict` forecasts: columns built from the traffic-matrix series, their unit and what they are. */
export interface SeriesView {
  /** `"pairs"`, `"links"`: the word the console and predict.json use for the columns. */
  columns: string;
  /** The columns' unit in predict.json (`"bit/s"`, `"utilization"`). */
  unit: string;
  /** One sentence for predict.json: what a column is. */
  note: string;
  matrix(series: TrafficMatrixSeries): SeriesMatrix;
  /**
   * Reads the columns from the path itself instead of a traffic-matrix series (`loadSeries` and `matrix` are then
   * not used): the application view reads a run's profile.csv.
   */
  load?: (path: string) => LoadedColumns;
  /** The forecast plot: a column's value x `scale` on an axis titled `axis`; facets titled `facet`. */
  plot: { scale: number; axis: string; facet: string };
}

/** The default view: every ordered pair's rate. */
export const PAIRS_VIEW: SeriesView = {
  columns: "pairs",
  unit: "bit/s",
  note: "the N(N-1) ordered pairs of distinct nodes; the zero diagonal is left out",
  matrix: seriesMatrix,
  plot: { scale: 1e-6, axis: "rate (Mbit/s)", facet: "pair (src->dst)" },
};

/** Columns read directly by a view's `load`: the matrix, where it came from, its interval and node count. */
export interface LoadedColumns {
  source: string;
  /** Nodes of the network, null when the columns are not of one (applications). */
  nodes: number | null;
  intervalNs: number;
  matrix: SeriesMatrix;
}

/** The view's columns of the series at `opts.tm`. */
async function loadColumns(opts: RunPredictOptions, view: SeriesView): Promise<LoadedColumns> {
  if (view.load) return view.load(opts.tm);
  const series = await opts.loadSeries(opts.tm);
  return {
    source: series.source,
    nodes: series.nodes.length,
    intervalNs: series.intervalNs,
    matrix: view.matrix(series),
  };
}

export interface RunPredictResult {
  records: EvaluationRecord[];
  /** The console table ({@link formatTable}). */
  table: string;
  /** The tfjs backend that ran the deep models (LSTM, Transformer), or null when none ran. */
  tfBackend: string | null;
  trainIntervals: number;
  testIntervals: number;
  /** M, the normalizer of MSE and MAE, bits/s. */
  maxValue: number;
  files: { json: string; csv: string; plot: { svg: string; png: string; spec: string } };
}

/**
 * Runs the evaluation and writes its outputs (atomically). @throws PredictorError for bad options (unknown
 * predictor, bad split, missing period), and whatever `loadSeries` throws for a bad series.
 */
export async function runPredict(opts: RunPredictOptions): Promise<RunPredictResult> {
  if (opts.predictors.length === 0) throw new PredictorError("predict: no predictors given");
  const view = opts.view ?? PAIRS_VIEW;
  const series = await loadColumns(opts, view);
  const matrix = series.matrix;
  const P = matrix.pairs.length;
  const T = matrix.rows.length;
  const s = resolveSplit(opts.train, T, matrix.labels);
  const period = opts.period ?? dailyPeriod(series.intervalNs);
  const seed = opts.seed ?? 1;
  const log = opts.log ?? (() => {});
  log(
    `${series.source}: ${series.nodes === null ? "" : `${series.nodes} nodes, `}${P} ${view.columns}, ${T} intervals; training on ${s}, testing on ${T - s}`,
  );

  const predictors: Predictor[] = [];
  try {
    for (const name of opts.predictors) {
      predictors.push(await makePredictor(name, P, matrix, period, seed, opts));
    }
    const k = Math.min(opts.plotPairs ?? 4, P);
    const tracked = largestPairs(matrix.rows, k, s);
    const result = await evaluatePredictors(matrix, predictors, {
      train: { intervals: s },
      horizon: opts.horizon,
      trackPairs: tracked,
      log,
      ...(opts.references ? { references: opts.references } : {}),
    });
    const lstm = predictors.find((p): p is LstmPredictor => p instanceof LstmPredictor);
    if (lstm && opts.lstmModel?.save) {
      await lstm.save(opts.lstmModel.save);
      log(`lstm: model saved to ${opts.lstmModel.save}`);
    }
    const transformer = predictors.find((p): p is TransformerPredictor => p instanceof TransformerPredictor);
    if (transformer && opts.transformerModel?.save) {
      await transformer.save(opts.transformerModel.save);
      log(`transformer: model saved to ${opts.transformerModel.save}`);
    }
    const tfBackend =
      predictors
        .filter((p) => p instanceof LstmPredictor || p instanceof TransformerPredictor)
        .map((p) => p.backendName)
        .find((b) => b !== undefined) ?? null;
    const labelAt = (t: number) => matrix.labels?.[t] ?? null;
    const manifest = {
      source: series.source,
      nodes: series.nodes,
      series: view.columns,
      pairs: P,
      pairsNote: view.note,
      intervals: T,
      intervalNs: series.intervalNs,
      train: { split: opts.train, intervals: s, first: labelAt(0), last: labelAt(s - 1) },
      test: { intervals: T - s, first: labelAt(s), last: labelAt(T - 1) },
      horizon: opts.horizon,
      normalization: {
        maxValue: result.maxValue,
        unit: view.unit,
        definition:
          "mse and mae are of forecasts and actual values divided by maxValue, the largest value of the whole " +
          `series (training and test parts, every one of the ${view.columns} and interval); nmae = sum|error| / ` +
          "sum|actual| over the same values. Horizon h is scored on every test interval it can reach (test rows " +
          "h-1 onwards).",
      },
      tfBackend,
      seed,
      predictors: predictors.map((p) => ({ name: p.name, params: p.params(), ...trainingOf(p) })),
      records: result.records,
      significance:
        "comparisons: each predictor against the best simple predictor (lowest MAE; every predictor but the oracle " +
        "and the deep models) at each horizon, Diebold-Mariano test with the Harvey-Leybourne-Newbold correction " +
        "on the per-origin loss sum|error| / maxValue; verdict at the 5% level",
      comparisons: result.comparisons,
    };
    const json = join(opts.out, "predict.json");
    const csv = join(opts.out, "predict.csv");
    writeJsonAtomic(json, manifest);
    writeFileAtomic(csv, recordsCsv(result.records));
    const plot = await renderVegaLite(
      forecastPlotSpec(matrix, s, tracked, result.tracks, series.intervalNs, view),
      join(opts.out, "predict-1step"),
    );
    return {
      records: result.records,
      table: [formatTable(result.records), ...comparisonLines(result.comparisons)].join("\n"),
      tfBackend,
      trainIntervals: s,
      testIntervals: T - s,
      maxValue: result.maxValue,
      files: { json, csv, plot },
    };
  } finally {
    for (const p of predictors) p.dispose?.();
  }
}

/**
 * A deep predictor's training record for predict.json: the learning curves (training and validation loss per
 * epoch, weighted MAE on z), the best epoch, the last value's validation loss and the wall time.
 */
function trainingOf(p: Predictor): { training?: TfTrainingInfo } {
  if (p instanceof LstmPredictor || p instanceof TransformerPredictor) {
    return p.training ? { training: p.training } : {};
  }
  return {};
}

/** One line per horizon and tested predictor: verdict, mean loss difference and p-value against the reference. */
function comparisonLines(comparisons: readonly AccuracyComparison[]): string[] {
  if (comparisons.length === 0) return [];
  return [
    "",
    "Diebold-Mariano (HLN) against the best simple predictor per horizon, loss sum|error| / M per origin:",
    ...comparisons.map(
      (c) =>
        `  h=${c.horizon} ${c.predictor} vs ${c.reference}: ${c.verdict} (mean loss difference ` +
        `${c.meanDifference.toExponential(2)}, DM ${c.statistic.toFixed(2)}, p ${c.pValue.toPrecision(2)}, n ${c.n})`,
    ),
  ];
}

/** Intervals per day when a day is a whole number (>= 2) of intervals. */
function dailyPeriod(intervalNs: number): number | undefined {
  const n = DAY_NS / intervalNs;
  return Number.isInteger(n) && n >= 2 ? n : undefined;
}

async function makePredictor(
  name: string,
  P: number,
  matrix: SeriesMatrix,
  period: number | undefined,
  seed: number,
  opts: RunPredictOptions,
): Promise<Predictor> {
  if ((name === "hw" || name === "seasonal-naive") && period === undefined) {
    throw new PredictorError(
      `${name}: needs a period in intervals, and a day is not a whole number of this series' intervals; give one`,
    );
  }
  if (name === "lstm" && opts.lstmModel?.load) {
    return LstmPredictor.load(opts.lstmModel.load, P, {
      fineTuneEvery: opts.lstm?.fineTuneEvery,
      fineTuneIntervals: opts.lstm?.fineTuneIntervals,
      fineTuneEpochs: opts.lstm?.fineTuneEpochs,
    });
  }
  if (name === "transformer" && opts.transformerModel?.load) {
    return TransformerPredictor.load(opts.transformerModel.load, P);
  }
  return createPredictor(name, {
    ...opts.predictorOptions,
    dimension: P,
    period,
    lstm: { seed, ...opts.lstm },
    transformer: { seed, horizon: opts.horizon, ...opts.transformer },
    linear: { horizon: opts.horizon, ...opts.linear },
    oracle: { rows: matrix.rows, endNs: matrix.endNs },
  });
}

/**
 * Vega-lite: one panel per tracked pair (largest first), actual rate and each predictor's 1-step forecast over
 * the test part, Mbit/s against hours since the test part began. The oracle is left out (it is the actual).
 */
export function forecastPlotSpec(
  matrix: SeriesMatrix,
  s: number,
  pairs: readonly number[],
  tracks: readonly PairTrack[],
  intervalNs: number,
  view: SeriesView = PAIRS_VIEW,
): TopLevelSpec {
  const hours = (i: number) => Math.round(((i * intervalNs) / 3.6e12) * 1e6) / 1e6;
  const scaled = (v: number) => Number((v * view.plot.scale).toPrecision(6));
  const values: { pair: string; rank: number; hours: number; series: string; value: number }[] = [];
  const T = matrix.rows.length;
  pairs.forEach((p, rank) => {
    const pair = matrix.pairs[p]!;
    for (let t = s; t < T; t++)
      values.push({ pair, rank, hours: hours(t - s), series: "actual", value: scaled(matrix.rows[t]![p]!) });
    for (const tr of tracks) {
      if (tr.pair !== p || tr.predictor === "oracle") continue;
      tr.forecast.forEach((v, i) => {
        values.push({ pair, rank, hours: hours(i), series: tr.predictor, value: scaled(v) });
      });
    }
  });
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v5.json",
    title: `1-step-ahead forecasts vs actual, largest ${view.columns} (test part)`,
    data: { values },
    facet: {
      row: { field: "pair", type: "nominal", sort: { field: "rank" }, title: view.plot.facet },
    },
    spec: {
      width: 720,
      height: 140,
      mark: { type: "line", strokeWidth: 1, clip: true },
      encoding: {
        x: { field: "hours", type: "quantitative", title: "time since the test part began (h)" },
        y: { field: "value", type: "quantitative", title: view.plot.axis },
        color: { field: "series", type: "nominal", title: "series", sort: ["actual"] },
        strokeDash: {
          condition: { test: "datum.series === 'actual'", value: [1, 0] },
          value: [4, 2],
        },
      },
    },
    resolve: { scale: { y: "independent" } },
  } as TopLevelSpec;
}
