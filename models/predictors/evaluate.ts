/**
 * Walk-forward evaluation of predictors on a traffic-matrix series, with the error measures of the TM-prediction
 * literature.
 *
 * The series is a T x P matrix (interval x pair). The first `s` intervals are the training part, the rest the
 * test part. Each predictor is trained on rows 0 .. s-1 (`train`, timed), observes them, then walks forward: at
 * every origin o = s-1 .. T-2 (after observing rows 0 .. o) it forecasts H' = min(H, T-1-o) steps, and the
 * forecast of step h is compared with row o + h; then it observes row o + 1. So horizon h is scored on every
 * target in the test part it can reach, rows s+h-1 .. T-1 (n_h = T - s - h + 1 targets of P pairs).
 *
 * Measures for horizon h, over those n_h x P values, with M the largest value of the whole series (every interval,
 * training and test, and every pair; for a TrafficMatrixSeries the largest pair rate in bits/s):
 *   MSE_h  = mean((y^ - y)^2) / M^2        (mean squared error of the series normalized to [0, 1] by M)
 *   RMSE_h = sqrt(MSE_h)
 *   MAE_h  = mean(|y^ - y|) / M            (mean absolute error of the same)
 *   NMAE_h = sum(|y^ - y|) / sum(|y|)      (scale-free: the error as a fraction of the traffic)
 *   MAPE_h = mean(|y^ - y| / |y|) over the targets with y != 0 (zero targets have no percentage error)
 * Normalizing by the series' maximum is the convention of the TM-prediction literature (e.g. Azzouni & Pujolle,
 * "NeuTM", 2018, on Abilene and GEANT), so MSE and MAE are comparable with published numbers only under the same
 * M. `trainSeconds` is the wall time of `train` alone (0 for predictors without one).
 *
 * Significance: at every horizon each predictor is compared with the reference, the best (lowest MAE) of the
 * reference predictors at that horizon (by default the simple ones: all but the oracle and the deep models),
 * by the Diebold-Mariano test (./diebold-mariano.ts) on the per-origin loss sum(|y^ - y|) / M over the pairs.
 */
import type { TrafficMatrixSeries } from "../workload/tm-series.ts";
import { type DieboldMarianoResult, dieboldMariano } from "./diebold-mariano.ts";
import { type Predictor, PredictorError } from "./predictor.ts";

/** One row of predict.json / predict.csv. */
export interface EvaluationRecord {
  predictor: string;
  /** h, steps ahead (1 = the next interval). */
  horizon: number;
  mse: number;
  rmse: number;
  mae: number;
  nmae: number;
  /** Mean absolute percentage error over non-zero targets, as a fraction; NaN when every target is zero. */
  mape: number;
  trainSeconds: number;
}

/** A predictor against the reference at one horizon: the Diebold-Mariano test of their per-origin losses. */
export interface AccuracyComparison extends DieboldMarianoResult {
  predictor: string;
  horizon: number;
  /** The best reference predictor at this horizon (lowest MAE). */
  reference: string;
  /** "better" / "worse" when p < 0.05 (by the sign of the mean loss difference), else "not different". */
  verdict: "better" | "worse" | "not different";
}

/** A T x P matrix with its time axis: what {@link evaluatePredictors} consumes. */
export interface SeriesMatrix {
  /** T rows of P values (oldest first). */
  rows: readonly Float64Array[];
  /** P pair names, `"src->dst"` for a TrafficMatrixSeries. */
  pairs: readonly string[];
  /** End of each interval, ns (what `observe` receives). */
  endNs: Float64Array;
  /** Wall-clock label of each interval's start, when the source has them. */
  labels?: readonly string[] | undefined;
}

/**
 * The off-diagonal pairs of a series, row-major order (src, then dst): P = N(N-1) columns of bits/s. The diagonal
 * (a node to itself) is zero by the series' invariant and is left out, so it does not dilute the means.
 */
export function seriesMatrix(series: TrafficMatrixSeries): SeriesMatrix {
  const N = series.nodes.length;
  const cols: number[] = [];
  const pairs: string[] = [];
  for (let i = 0; i < N; i++) {
    for (let j = 0; j < N; j++) {
      if (i === j) continue;
      cols.push(i * N + j);
      pairs.push(`${series.nodes[i]}->${series.nodes[j]}`);
    }
  }
  const rows = series.rates.map((r) => Float64Array.from(cols, (c) => r[c]!));
  const endNs = Float64Array.from(series.startNs, (s) => s + series.intervalNs);
  return { rows, pairs, endNs, labels: series.labels };
}

/** A T x P matrix given as plain rows; interval t ends at (t + 1) x `intervalNs`. */
export function plainMatrix(rows: readonly Float64Array[], intervalNs = 1): SeriesMatrix {
  const P = rows[0]?.length ?? 0;
  return {
    rows,
    pairs: Array.from({ length: P }, (_, p) => `pair${p}`),
    endNs: Float64Array.from(rows, (_, t) => (t + 1) * intervalNs),
  };
}

/**
 * Where training ends: a fraction of the intervals in (0, 1) (rounded down), `{ intervals: s }`, or a date or
 * interval label (`"20040306-0000"`, `"2004-03-06"`, `"2004-03-06T12:00"`): training is every interval whose
 * label comes before it (labels compared as digit strings, the shorter padded with zeros).
 */
export type TrainSplit = number | string | { intervals: number };

/**
 * s, the number of training intervals, for a series of T intervals. Both parts must be non-empty.
 * @throws PredictorError naming the split when it is malformed, needs labels the series lacks, or leaves a part
 * empty.
 */
export function resolveSplit(split: TrainSplit, T: number, labels?: readonly string[]): number {
  let s: number;
  if (typeof split === "number") {
    if (!(split > 0 && split < 1))
      throw new PredictorError(`train split: expected a fraction in (0, 1), got ${split}`);
    s = Math.floor(T * split);
  } else if (typeof split === "object") {
    s = split.intervals;
    if (!Number.isInteger(s))
      throw new PredictorError(`train split: expected an integer interval count, got ${s}`);
  } else {
    const asNumber = Number(split);
    if (split.trim() !== "" && Number.isFinite(asNumber) && !/^\d{8}/.test(split.trim())) {
      return resolveSplit(asNumber, T, labels);
    }
    const digits = split.replace(/\D/g, "");
    if (digits.length < 8) {
      throw new PredictorError(
        `train split: expected a fraction in (0, 1) or a date like 2004-03-06, got "${split}"`,
      );
    }
    if (!labels)
      throw new PredictorError(`train split "${split}": the series has no interval labels to match a date`);
    const key = (l: string) => l.replace(/\D/g, "");
    const width = Math.max(digits.length, ...labels.map((l) => key(l).length));
    const pad = (d: string) => d.padEnd(width, "0");
    const target = pad(digits);
    s = labels.findIndex((l) => pad(key(l)) >= target);
    if (s < 0) s = labels.length;
  }
  if (s < 1 || s > T - 1) {
    throw new PredictorError(
      `train split ${JSON.stringify(split)}: gives ${s} training intervals of ${T}; both parts need at least one`,
    );
  }
  return s;
}

export interface EvaluateOptions {
  /** Where training ends. */
  train: TrainSplit;
  /** H, the largest horizon (steps ahead), >= 1. */
  horizon: number;
  /** Pair indices whose 1-step forecasts over the test part to keep (for plots). */
  trackPairs?: readonly number[];
  /** Called with a line of progress per predictor. */
  log?: (line: string) => void;
  /**
   * Names of the predictors the others are tested against (the best of them per horizon). Default: the simple
   * ones, every predictor but the oracle, the deep models (lstm, transformer) and linear.
   */
  references?: readonly string[];
}

/** 1-step forecasts of one tracked pair over the test part (index i is interval s + i). */
export interface PairTrack {
  predictor: string;
  pair: number;
  forecast: Float64Array;
}

export interface EvaluationResult {
  records: EvaluationRecord[];
  /** s, training intervals; the test part is rows s .. T-1. */
  trainIntervals: number;
  testIntervals: number;
  /** M, the normalizer of MSE and MAE: the largest value of the whole series. */
  maxValue: number;
  tracks: PairTrack[];
  /** Every non-reference predictor against the reference, per horizon (empty without a reference). */
  comparisons: AccuracyComparison[];
}

/**
 * Trains, then walks every predictor forward over the test part (see the module doc). Predictors are used in
 * order and each from a fresh state; they must have `dimension === P`.
 * @throws PredictorError for a bad split or horizon, a dimension mismatch, or a forecast of the wrong shape.
 */
export async function evaluatePredictors(
  matrix: SeriesMatrix,
  predictors: readonly Predictor[],
  opts: EvaluateOptions,
): Promise<EvaluationResult> {
  const { rows, endNs } = matrix;
  const T = rows.length;
  const P = matrix.pairs.length;
  const H = opts.horizon;
  if (!Number.isInteger(H) || H < 1)
    throw new PredictorError(`horizon: expected a positive integer, got ${H}`);
  const s = resolveSplit(opts.train, T, matrix.labels);
  const maxValue = seriesMax(rows);
  const scale = maxValue > 0 ? maxValue : 1;
  const records: EvaluationRecord[] = [];
  const tracks: PairTrack[] = [];
  /** Per predictor, per horizon h - 1: the loss of each origin o = s-1 .. T-1-h (index o - s + 1). */
  const losses: Float64Array[][] = [];
  const history = rows.slice(0, s);
  for (const pred of predictors) {
    if (pred.dimension !== P) {
      throw new PredictorError(
        `${pred.name}: dimension ${pred.dimension} does not match the series' ${P} pairs`,
      );
    }
    let trainSeconds = 0;
    if (pred.train) {
      const t0 = process.hrtime.bigint();
      await pred.train(history, endNs.subarray(0, s));
      trainSeconds = Number(process.hrtime.bigint() - t0) / 1e9;
    }
    for (let t = 0; t < s; t++) pred.observe(endNs[t]!, rows[t]!);
    const sq = new Float64Array(H);
    const abs = new Float64Array(H);
    const act = new Float64Array(H);
    const n = new Float64Array(H);
    const pct = new Float64Array(H);
    const nPct = new Float64Array(H);
    const ownLosses = Array.from({ length: H }, (_, h) => new Float64Array(Math.max(0, T - s - h)));
    const own = (opts.trackPairs ?? []).map((pair) => ({
      predictor: pred.name,
      pair,
      forecast: new Float64Array(T - s),
    }));
    for (let o = s - 1; o < T - 1; o++) {
      const steps = Math.min(H, T - 1 - o);
      const f = pred.forecast(steps);
      if (f.length !== steps)
        throw new PredictorError(`${pred.name}: forecast(${steps}) returned ${f.length} rows`);
      for (let h = 1; h <= steps; h++) {
        const yHat = f[h - 1]!;
        const y = rows[o + h]!;
        if (yHat.length !== P)
          throw new PredictorError(`${pred.name}: forecast row of ${yHat.length} values, expected ${P}`);
        let e2 = 0;
        let e1 = 0;
        let a1 = 0;
        let p1 = 0;
        let np = 0;
        for (let p = 0; p < P; p++) {
          const e = yHat[p]! - y[p]!;
          e2 += e * e;
          e1 += Math.abs(e);
          a1 += Math.abs(y[p]!);
          if (y[p]! !== 0) {
            p1 += Math.abs(e / y[p]!);
            np++;
          }
        }
        sq[h - 1]! += e2;
        abs[h - 1]! += e1;
        act[h - 1]! += a1;
        n[h - 1]! += P;
        pct[h - 1]! += p1;
        nPct[h - 1]! += np;
        ownLosses[h - 1]![o - s + 1] = e1 / scale;
      }
      for (const tr of own) tr.forecast[o + 1 - s] = f[0]![tr.pair]!;
      pred.observe(endNs[o + 1]!, rows[o + 1]!);
    }
    tracks.push(...own);
    losses.push(ownLosses);
    for (let h = 1; h <= H; h++) {
      const k = n[h - 1]!;
      const mse = k > 0 ? sq[h - 1]! / k / (scale * scale) : Number.NaN;
      records.push({
        predictor: pred.name,
        horizon: h,
        mse,
        rmse: Math.sqrt(mse),
        mae: k > 0 ? abs[h - 1]! / k / scale : Number.NaN,
        nmae: act[h - 1]! > 0 ? abs[h - 1]! / act[h - 1]! : Number.NaN,
        mape: nPct[h - 1]! > 0 ? pct[h - 1]! / nPct[h - 1]! : Number.NaN,
        trainSeconds,
      });
    }
    opts.log?.(
      `${pred.name}: trained in ${trainSeconds.toFixed(2)} s, 1-step MAE ${fmt(records.at(-H)!.mae)}`,
    );
  }
  const references = opts.references ?? predictors.map((p) => p.name).filter((n) => !NOT_SIMPLE.has(n));
  const comparisons = compareAccuracy(
    predictors.map((p) => p.name),
    records,
    losses,
    references,
    H,
  );
  return { records, trainIntervals: s, testIntervals: T - s, maxValue, tracks, comparisons };
}

/**
 * Predictors that are not simple forecasters: the oracle (it knows the future), the deep models and the pooled
 * linear model (fitted on all pairs' windows, as the deep models are).
 */
const NOT_SIMPLE: ReadonlySet<string> = new Set(["oracle", "lstm", "transformer", "linear"]);

/**
 * Per horizon, every predictor not among `references` against the best reference there (lowest MAE), by the
 * Diebold-Mariano test on their per-origin losses.
 */
function compareAccuracy(
  names: readonly string[],
  records: readonly EvaluationRecord[],
  losses: readonly Float64Array[][],
  references: readonly string[],
  H: number,
): AccuracyComparison[] {
  const out: AccuracyComparison[] = [];
  const refs = new Set(references);
  for (let h = 1; h <= H; h++) {
    let best = -1;
    names.forEach((name, i) => {
      const mae = records[i * H + h - 1]!.mae;
      if (refs.has(name) && Number.isFinite(mae) && (best < 0 || mae < records[best * H + h - 1]!.mae))
        best = i;
    });
    if (best < 0) continue;
    names.forEach((name, i) => {
      if (refs.has(name)) return;
      const a = losses[i]![h - 1]!;
      const b = losses[best]![h - 1]!;
      const d = a.map((x, t) => x - b[t]!);
      const dm = dieboldMariano(d, h);
      const verdict = dm.pValue < 0.05 ? (dm.meanDifference < 0 ? "better" : "worse") : "not different";
      out.push({ predictor: name, horizon: h, reference: names[best]!, ...dm, verdict });
    });
  }
  return out;
}

/** The largest value of a matrix (0 when empty). */
export function seriesMax(rows: readonly Float64Array[]): number {
  let m = 0;
  for (const r of rows) for (const v of r) if (v > m) m = v;
  return m;
}

/** Indices of the k pairs with the largest total over rows `from` .. end, largest first (ties: lower index). */
export function largestPairs(rows: readonly Float64Array[], k: number, from = 0): number[] {
  const P = rows[0]?.length ?? 0;
  const total = new Float64Array(P);
  for (let t = from; t < rows.length; t++) for (let p = 0; p < P; p++) total[p]! += rows[t]![p]!;
  return Array.from({ length: P }, (_, p) => p)
    .sort((a, b) => total[b]! - total[a]! || a - b)
    .slice(0, k);
}

function fmt(v: number): string {
  return Number.isFinite(v) ? v.toExponential(2) : String(v);
}

/**
 * The records as an aligned text table for the console: one line per predictor and horizon, MSE/MAE/NMAE in
 * 3-significant-digit exponent form (`1.40e-2`), train time in seconds.
 */
export function formatTable(records: readonly EvaluationRecord[]): string {
  const head = ["predictor", "h", "MSE", "RMSE", "MAE", "NMAE", "MAPE", "train s"];
  const body = records.map((r) => [
    r.predictor,
    String(r.horizon),
    fmt(r.mse),
    fmt(r.rmse),
    fmt(r.mae),
    fmt(r.nmae),
    fmt(r.mape),
    r.trainSeconds.toFixed(2),
  ]);
  const widths = head.map((h, c) => Math.max(h.length, ...body.map((row) => row[c]!.length)));
  const line = (cells: string[]) =>
    cells.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join("  ");
  return [line(head), line(widths.map((w) => "-".repeat(w))), ...body.map(line)].join("\n");
}

/** The records as CSV (`predictor,horizon,mse,rmse,mae,nmae,mape,trainSeconds`), numbers in full precision. */
export function recordsCsv(records: readonly EvaluationRecord[]): string {
  const header = "predictor,horizon,mse,rmse,mae,nmae,mape,trainSeconds";
  const lines = records.map((r) =>
    [csvField(r.predictor), r.horizon, r.mse, r.rmse, r.mae, r.nmae, r.mape, r.trainSeconds].join(","),
  );
  return `${[header, ...lines].join("\n")}\n`;
}

function csvField(s: string): string {
  return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}
