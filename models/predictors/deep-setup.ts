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
  toZ,
  type ValueScaling,
} from "./deep-features.ts";
import { EwmaPredictor, ewmaRows, ewmaStep } from "./ewma.ts";
import { type LinearFit, LinearPredictor } from "./linear.ts";
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
 * `lastValue` of forecasting the base (the last value, or the model's base). Leaves `model` with the best epoch's
 * weights; with `startsAtBase` (the untrained network's output is the base's: an output layer at zero) the
 * untrained weights are epoch 0 and compete.
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
  startsAtBase = false,
): Promise<WindowFit> {
  const valTimes = Math.floor(windowTimes * c.validationFraction);
  const trainCount = (windowTimes - valTimes) * P;
  const allVal = Int32Array.from({ length: valTimes * P }, (_, i) => trainCount + i);
  const val = subset(allVal, c.validationWindows, streams.stream(`${name}/validation`));
  const trainIdx = Int32Array.from({ length: trainCount }, (_, i) => i);
  const shuffle = streams.stream(`${name}/shuffle`);
  const baseLoss = val.length > 0 ? loss(val, true) : Number.NaN;
  const fit = await fitWithEarlyStopping(
    model,
    c,
    () => fitEpoch(drawEpoch(trainIdx, c.windowsPerEpoch, shuffle)),
    (trainLoss) => (val.length > 0 ? loss(val, false) : trainLoss),
    startsAtBase && val.length > 0 ? baseLoss : undefined,
  );
  return {
    trainWindows: trainCount,
    validationWindows: val.length,
    ...fit,
    lastValueValidationLoss: baseLoss,
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

/** What a direct multi-horizon deep model's outputs are residuals over (see {@link ResidualBase}). */
export type DeepBaseKind = "last" | "ewma" | "linear";

/** The base's parameters, as a deep predictor's config carries them. */
export interface DeepBaseConfig {
  /** The residual's base. */
  base: DeepBaseKind;
  /** The EWMA base's smoothing constant in (0, 1]; 0 = tuned on the training history as the ewma predictor. */
  baseAlpha: number;
  /** W of the linear base (linear.ts `window`), >= 1. */
  baseWindow: number;
}

/** Checks the base parameters of predictor `name`. @throws PredictorError naming the field and the value. */
export function checkBaseConfig(name: string, c: DeepBaseConfig, kinds: readonly DeepBaseKind[]): void {
  if (!kinds.includes(c.base)) {
    throw new PredictorError(
      `${name}.base: expected ${kinds.map((k) => `"${k}"`).join(", ")}, got ${JSON.stringify(c.base)}`,
    );
  }
  if (!(typeof c.baseAlpha === "number" && c.baseAlpha >= 0 && c.baseAlpha <= 1))
    throw new PredictorError(`${name}.baseAlpha: expected a number in [0, 1] (0: tuned), got ${c.baseAlpha}`);
  checkInt(name, "baseWindow", c.baseWindow, 1);
}

/** The fitted state of a {@link ResidualBase}, stored with a saved model. */
export interface ResidualBaseFit {
  alpha?: number;
  linear?: LinearFit;
}

/**
 * The base b_{t,h} (h = 1 .. H) that a direct multi-horizon deep model's output h is added to, in the model's z:
 * the last value z_t for every h ("last"); the z of an EWMA of the values ("ewma", as the ewma predictor, alpha
 * tuned on the training history unless given); or the forecast of the pooled linear model (linear.ts, fitted on the
 * training history with window `baseWindow`, horizon H and the model's seasonal lag): "linear", the sum of a
 * linear autoregression and a network of LSTNet (Lai et al., "Modeling Long- and Short-Term Temporal Patterns with
 * Deep Neural Networks", SIGIR 2018). A network whose output layer starts at zero then starts at the base's
 * forecast and learns the base's residual.
 */
export class ResidualBase {
  private alpha: number;
  /** Tune alpha on the training history (base "ewma" without `baseAlpha`). */
  private readonly tuneAlpha: boolean;
  private level: Float64Array | undefined;
  private readonly linear: LinearPredictor | undefined;

  /** @param P series; H horizons. @throws PredictorError when the linear base's options are bad. */
  constructor(
    readonly kind: DeepBaseKind,
    readonly P: number,
    readonly H: number,
    c: DeepBaseConfig & { seasonalLag: number },
  ) {
    this.alpha = c.baseAlpha > 0 ? c.baseAlpha : 0.5;
    this.tuneAlpha = kind === "ewma" && !(c.baseAlpha > 0);
    this.linear =
      kind === "linear"
        ? new LinearPredictor(P, { window: c.baseWindow, horizon: H, seasonalLag: c.seasonalLag })
        : undefined;
  }

  /** The first origin t of a history with a base: 0, or the linear model's first origin. */
  get firstOrigin(): number {
    return this.linear?.firstOrigin ?? 0;
  }

  /** Fits the base on the training history (T x P, the data's units). */
  fit(history: readonly Float64Array[]): void {
    if (this.tuneAlpha) {
      const ewma = new EwmaPredictor(this.P);
      ewma.train(history);
      this.alpha = ewma.alpha;
    }
    this.linear?.train(history);
    this.level = undefined;
  }

  /** The fitted state (to save). */
  state(): ResidualBaseFit {
    return {
      ...(this.kind === "ewma" ? { alpha: this.alpha } : {}),
      ...(this.linear ? { linear: this.linear.fit() } : {}),
    };
  }

  /** Takes a state from {@link state} instead of fitting. @throws PredictorError when it does not fit. */
  restore(fit: ResidualBaseFit): void {
    if (this.kind === "ewma" && fit.alpha !== undefined) this.alpha = fit.alpha;
    if (this.linear) {
      if (!fit.linear) throw new PredictorError("base: the saved model has no linear base fit");
      this.linear.restore(fit.linear);
    }
  }

  /**
   * b of every origin t of `rows` (T x P, the data's units; `z` their scaled values, z[t P + p]) under `s`:
   * out[(t H + h - 1) P + p]; rows before {@link firstOrigin} hold the last value.
   */
  historyZ(rows: readonly Float64Array[], z: Float32Array, s: ValueScaling): Float32Array {
    const { P, H } = this;
    const out = new Float32Array(rows.length * H * P);
    for (let t = 0; t < rows.length; t++)
      for (let h = 0; h < H; h++) out.set(z.subarray(t * P, (t + 1) * P), (t * H + h) * P);
    if (this.kind === "ewma") {
      ewmaRows(rows, this.alpha).forEach((level, t) => {
        for (let p = 0; p < P; p++) {
          const v = toZ(level[p]!, s);
          for (let h = 0; h < H; h++) out[(t * H + h) * P + p] = v;
        }
      });
    } else if (this.linear) {
      const { first, y } = this.linear.forecastHistory(rows);
      for (let i = 0; i < y.length; i++) out[first * H * P + i] = toZ(y[i]!, s);
    }
    return out;
  }

  /** Takes the next observation (the data's units). */
  observe(timeNs: number, sample: Float64Array): void {
    if (this.kind === "ewma") {
      if (!this.level) this.level = Float64Array.from(sample);
      else ewmaStep(this.level, sample, this.alpha);
    }
    this.linear?.observe(timeNs, sample);
  }

  /**
   * b of the latest origin, out[p H + h - 1] for h = 1 .. min(steps, H) (the rest 0), from the latest observation
   * `last` (the data's units) under `s`: the raw forecast's z in double precision (the last value's z rounded to
   * float32, as the windows carry it).
   */
  currentZ(last: Float64Array, s: ValueScaling, steps = this.H): Float64Array {
    const { P, H } = this;
    const out = new Float64Array(P * H);
    const each = (p: number, v: number) => out.fill(v, p * H, (p + 1) * H);
    if (this.kind === "linear") {
      const f = this.linear!.forecast(Math.min(steps, H));
      for (const [h, row] of f.entries()) for (let p = 0; p < P; p++) out[p * H + h] = toZ(row[p]!, s);
    } else if (this.kind === "ewma" && this.level) {
      for (let p = 0; p < P; p++) each(p, toZ(this.level[p]!, s));
    } else {
      for (let p = 0; p < P; p++) each(p, Math.fround(toZ(last[p]!, s)));
    }
    return out;
  }
}
