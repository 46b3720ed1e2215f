/**
 * The set-up the deep predictors (lstm.ts, transformer.ts) share around their networks: the parameters both
 * have and their checks, the training history's checks, the tfjs runtime and the scaling fitted at the start of
 * training, the time split of the training windows with early stopping (tf-training.ts), and the scaled inputs of
 * a forecast. Each predictor keeps what differs: its network, its windows' features and targets, its forward pass.
 */
import type * as Tf from "@tensorflow/tfjs";
import type { RandomStream, RandomStreams } from "../../sim/kernel/rng.ts";
import {
  checkSeasonalLag,
  fitScaling,
  type ObservationRing,
  timeFeatures,
  type ValueScaling,
} from "./deep-features.ts";
import { PredictorError } from "./predictor.ts";
import { loadTf, type TfBackendName } from "./tf-backend.ts";
import { drawEpoch, type EarlyStoppingRecord, fitWithEarlyStopping, subset } from "./tf-training.ts";

/** The parameters every deep predictor has (each predictor's config documents its defaults). */
export interface DeepCommonConfig {
  /** W, intervals per input window. */
  window: number;
  /** Maximum training epochs. */
  epochs: number;
  /** Windows per gradient step. */
  batchSize: number;
  /** Adam step size. */
  learningRate: number;
  /** Epochs without validation improvement before stopping. */
  patience: number;
  /** Fraction of the history's window times (the latest) held out for early stopping, in [0, 0.5]. */
  validationFraction: number;
  /** Training windows per epoch (a fresh random draw each epoch); 0 = all. */
  windowsPerEpoch: number;
  /** Cap on validation windows (a fixed random subset); 0 = all. */
  validationWindows: number;
  /** Interval length (ns) assumed when `train` gets no times. */
  intervalNs: number;
  /** S, the season of the seasonal lag channel in intervals; 0 = none. */
  seasonalLag: number;
  /** Scale values by log1p (true) or linearly (false) before the standardization. */
  logScale: boolean;
  /** Time of day and day of week as input features. */
  timeFeatures: boolean;
  /** Seed of the predictor's random streams. */
  seed: number | string;
}

/** The fields of `o` that are not undefined (options over defaults). */
export function definedOnly<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** A 31-bit integer seed for a tfjs initializer. */
export function seedFrom(stream: RandomStream): number {
  return stream.int(2 ** 31 - 1);
}

/**
 * An integer check for config field `field` of predictor `name`. @throws PredictorError "name.field: expected an
 * integer >= min, got v".
 */
export function checkInt(name: string, field: string, v: unknown, min: number): void {
  if (typeof v !== "number" || !Number.isInteger(v) || v < min) {
    throw new PredictorError(`${name}.${field}: expected an integer >= ${min}, got ${String(v)}`);
  }
}

/**
 * Checks the common parameters of predictor `name` (the seasonal lag with lead `lead`). @throws PredictorError
 * naming the field and the value.
 */
export function checkDeepConfig(name: string, c: DeepCommonConfig, lead: number): void {
  for (const [field, min] of [
    ["window", 1],
    ["epochs", 1],
    ["batchSize", 1],
    ["patience", 1],
    ["windowsPerEpoch", 0],
    ["validationWindows", 0],
  ] as const) {
    checkInt(name, field, c[field], min);
  }
  checkSeasonalLag(name, { season: c.seasonalLag, lead });
  for (const key of ["logScale", "timeFeatures"] as const) {
    if (typeof c[key] !== "boolean")
      throw new PredictorError(`${name}.${key}: expected true or false, got ${String(c[key])}`);
  }
  if (!(typeof c.learningRate === "number" && c.learningRate > 0))
    throw new PredictorError(`${name}.learningRate: expected a number > 0, got ${c.learningRate}`);
  if (!(typeof c.intervalNs === "number" && c.intervalNs > 0))
    throw new PredictorError(`${name}.intervalNs: expected a number > 0, got ${c.intervalNs}`);
  if (!(c.validationFraction >= 0 && c.validationFraction <= 0.5)) {
    throw new PredictorError(
      `${name}.validationFraction: expected a number in [0, 0.5], got ${c.validationFraction}`,
    );
  }
}

/**
 * Checks a training history's length T (its rows are checked by `checkHistory`) and its end times: at least
 * `minIntervals` rows, `endNs` of length T when given. @throws PredictorError "name.train: history has T
 * intervals; needs at least N (what)".
 */
export function checkTrainingSpan(
  name: string,
  T: number,
  endNs: ArrayLike<number> | undefined,
  minIntervals: number,
  what: string,
): void {
  if (T < minIntervals) {
    throw new PredictorError(
      `${name}.train: history has ${T} intervals; needs at least ${minIntervals} (${what})`,
    );
  }
  if (endNs !== undefined && endNs.length !== T) {
    throw new PredictorError(`${name}.train: endNs has ${endNs.length} times, expected ${T}`);
  }
}

/** What training starts from: the tfjs runtime, the scaling fitted on the history, the start time. */
export interface TrainingStart {
  tf: typeof Tf;
  backend: TfBackendName;
  scaling: ValueScaling;
  startNs: bigint;
}

/** Loads tfjs and fits the value scaling on `history` (log1p when `logScale`). */
export async function startTraining(
  history: readonly Float64Array[],
  logScale: boolean,
): Promise<TrainingStart> {
  const startNs = process.hrtime.bigint();
  const rt = await loadTf();
  return { tf: rt.tf, backend: rt.backend, scaling: fitScaling(history, logScale), startNs };
}

/** Seconds since `start`. */
export function secondsSince(start: TrainingStart): number {
  return Number(process.hrtime.bigint() - start.startNs) / 1e9;
}

/** The windows' part of a training record. */
export type WindowFit = EarlyStoppingRecord & {
  trainWindows: number;
  validationWindows: number;
  lastValueValidationLoss: number;
};

/**
 * Early-stopped training over windows (t, p) indexed k = (t - t0) P + p for `windowTimes` window times: the
 * latest floor(windowTimes x validationFraction) times are the validation set (a time split; at most
 * `validationWindows` of them, a fixed subset drawn from stream `<name>/validation`), the others the training
 * set, of which each epoch draws `windowsPerEpoch` from stream `<name>/shuffle`. `fitEpoch(idx)` runs one epoch on
 * windows idx and returns its loss; `loss(idx, lastValue)` is the validation loss of the network, or with
 * `lastValue` of forecasting the last value. Leaves `model` with the best epoch's weights.
 */
export async function fitWindows(
  name: string,
  model: Tf.LayersModel,
  c: DeepCommonConfig,
  streams: RandomStreams,
  windowTimes: number,
  P: number,
  fitEpoch: (idx: Int32Array) => number,
  loss: (idx: Int32Array, lastValue: boolean) => number,
): Promise<WindowFit> {
  const valTimes = Math.floor(windowTimes * c.validationFraction);
  const trainCount = (windowTimes - valTimes) * P;
  const allVal = Int32Array.from({ length: valTimes * P }, (_, i) => trainCount + i);
  const val = subset(allVal, c.validationWindows, streams.stream(`${name}/validation`));
  const trainIdx = Int32Array.from({ length: trainCount }, (_, i) => i);
  const shuffle = streams.stream(`${name}/shuffle`);
  const fit = await fitWithEarlyStopping(
    model,
    c,
    () => fitEpoch(drawEpoch(trainIdx, c.windowsPerEpoch, shuffle)),
    (trainLoss) => (val.length > 0 ? loss(val, false) : trainLoss),
  );
  return {
    trainWindows: trainCount,
    validationWindows: val.length,
    ...fit,
    lastValueValidationLoss: val.length > 0 ? loss(val, true) : Number.NaN,
  };
}

/** A forecast's inputs: the latest observations' z and the forecasts' slots, with the time features of both. */
export interface ForecastInputs {
  /** zx[p * L + i]: for i < n the latest n observations' z, then room for `steps` forecasts. */
  zx: Float32Array;
  /** n + steps. */
  L: number;
  /** Time features of index i (times one interval apart after the latest), when the model takes them. */
  tfeat: Float32Array | undefined;
}

/**
 * The inputs of a `steps`-step forecast from the latest `n` observations of `ring` under `scaling`; the forecasts'
 * times follow the latest at the last observed interval (or `intervalNs` before two observations).
 */
export function forecastInputs(
  ring: ObservationRing,
  n: number,
  steps: number,
  scaling: ValueScaling,
  intervalNs: number,
  withTime: boolean,
): ForecastInputs {
  const L = n + steps;
  const zx = ring.latestZ(n, scaling, L);
  if (!withTime) return { zx, L, tfeat: undefined };
  const time = new Float64Array(L);
  for (let i = 0; i < n; i++) time[i] = ring.time(ring.count - n + i);
  const dt = ring.step(intervalNs);
  for (let i = n; i < L; i++) time[i] = time[n - 1]! + (i - n + 1) * dt;
  return { zx, L, tfeat: timeFeatures(time) };
}
