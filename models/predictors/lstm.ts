/**
 * LSTM forecaster (Hochreiter & Schmidhuber 1997), one TensorFlow.js layers model shared by all pairs: every
 * pair's window of the last W intervals is one sample, and the model predicts the pair's next interval. Sharing
 * the model lets it learn from all P series at once and makes it independent of P (a model trained on one
 * network's pairs forecasts any number of pairs).
 *
 * Scaling and features (deep-features.ts): z, the log1p (or, with `logScale` false, linear) scaling of the values
 * fitted on the training history and stored with the model; with `seasonalLag` = S > 0 a second input channel,
 * the value one season before the interval after each row (lead 1: the last row carries the seasonal-naive
 * forecast of the target); with `timeFeatures` four more, sin/cos of the row's time of day and day of week. F, the
 * input width, is 1 + (S > 0) + 4 (timeFeatures).
 *
 * Model: `layers` LSTM layers of `units` units (sigmoid recurrent activation, unit forget bias) and one dense
 * output; input W x F (the window's rows), output the next z, or with `residual` (default) the change z_{t+1} - b_t
 * from the base b_t, so an untrained network starts near the base forecast. The base (`base`) is the last value
 * z_t (default) or the z of an exponentially weighted moving average of the values (`"ewma"`, smoothing constant
 * `baseAlpha`, tuned on the training history as the ewma predictor tunes it when 0; the EWMA is then also an input
 * channel), so the network learns a correction of the simple forecaster. Forecasts of h > 1 steps feed predictions
 * back (the EWMA updated with them), or with `heads` = H > 0 the dense layer has H outputs, output k the change
 * from b_t to z_{t+k} (direct multi-horizon forecasting, no feedback; steps beyond H repeat the H-step forecast),
 * and the seasonal lag channel takes lead H (the last H rows carry the season-ago values of the H targets).
 * With `base` "linear" (needs `heads` = H > 0) output k is the change from the pooled linear model's k-step
 * forecast (linear.ts, fitted on the training history with window `baseWindow`, horizon H and the seasonal lag;
 * deep-setup.ts ResidualBase): the forecast is the sum of a linear autoregression and a network, as in LSTNet
 * (Lai et al., "Modeling Long- and Short-Term Temporal Patterns with Deep Neural Networks", SIGIR 2018). The dense
 * output layer then starts at zero, so the untrained model forecasts exactly as the linear model, and the
 * untrained weights compete in early stopping as epoch 0 (the model never ends worse than the linear model on the
 * validation windows; the linear fit itself has seen them). Windows start where the linear model's inputs exist.
 *
 * Per-pair normalisation (`pairScaling`): each pair's values are divided by m_p, the pair's mean over the training
 * history (1 for a pair that is zero throughout), before the scaling above and multiplied back after, so small and
 * large pairs reach the network on one scale; the "volume" loss weights are multiplied by m_p / mean(m) so that the
 * loss still approximates the absolute error in the data's units.
 *
 * Training (`train(history, endNs)`, history T x P): windows (t, p) for t = t0 .. T-2 (t0 = W - 1, or S + W - 2
 * with the lag channel); the last `validationFraction` of
 * window times is the validation set (a time split, so validation never sees the training future). Adam, batch
 * `batchSize`, loss `loss` on z (mae: the conditional median, which minimizes the MAE the evaluation reports; or
 * mse), each window weighted by `weighting` ("volume": by its level x_t / s0 + 1, so that the loss on log-scaled
 * values approximates absolute error in the data's units, where large pairs dominate as they do in MAE).
 * Each epoch visits `windowsPerEpoch` training windows drawn from stream `lstm/shuffle` (all, in a new order, when
 * 0 or larger than the set); after each epoch the validation loss is measured on up to `validationWindows` windows
 * (a fixed subset drawn from stream `lstm/validation`); training stops after `patience` epochs without
 * improvement or `epochs` epochs, and keeps the best epoch's weights. Initializers are seeded from stream
 * `lstm/init` (glorotUniform for input and dense kernels, orthogonal for recurrent kernels), so a new predictor
 * trained with the same seed, history and backend gets the same weights. The training record keeps the loss
 * curves and the validation loss of the last value (`lastValueValidationLoss`), the bar the model must clear.
 *
 * Online fine-tuning (`fineTuneEvery` = K > 0): every K observed intervals, `fineTuneEpochs` passes over the
 * windows of the last `fineTuneIntervals` intervals, same optimizer, shuffled from stream `lstm/fine-tune`; the
 * scaling stays fixed. The first T observations after `train(history)` are taken to be the caller replaying the
 * history (as `evaluatePredictors` does) and do not count.
 *
 * Forecasting runs the trained network in plain JS (lstm-forward.ts), identical in maths to tfjs `predict` and
 * about 20x faster for P windows. Before W observations the forecast is the last value (zeros before any).
 */
import type * as Tf from "@tensorflow/tfjs";
import type { RandomStream } from "../../sim/kernel/rng.ts";
import { RandomStreams } from "../../sim/kernel/rng.ts";
import {
  clampZ,
  firstWindowEnd,
  fromZ,
  historyNeeded,
  historyTimes,
  ObservationRing,
  type SeasonalLag,
  scaleRows,
  TIME_FEATURES,
  timeFeatures,
  toZ,
  type ValueScaling,
} from "./deep-features.ts";
import {
  checkBaseConfig,
  checkDeepConfig,
  checkInt,
  checkTrainingSpan,
  type DeepCommonConfig,
  definedOnly,
  fitWindows,
  forecastInputs,
  ResidualBase,
  type ResidualBaseFit,
  secondsSince,
  seedFrom,
  startTraining,
} from "./deep-setup.ts";
import { EwmaPredictor, ewmaRows, ewmaStep } from "./ewma.ts";
import { LstmForward, type LstmNetWeights } from "./lstm-forward.ts";
import {
  checkDimension,
  checkHistory,
  checkSample,
  checkSteps,
  flatForecast,
  type Predictor,
  PredictorError,
} from "./predictor.ts";
import { loadTf, type TfBackendName } from "./tf-backend.ts";
import { directoryHandler, readModelJson } from "./tf-file-io.ts";
import { fitBatches, shuffleInPlace, type TfTrainingInfo } from "./tf-training.ts";

/**
 * Every LSTM parameter: those of every deep predictor (window, epochs, batchSize, learningRate, patience,
 * validationFraction, windowsPerEpoch, validationWindows, intervalNs, seasonalLag, logScale, timeFeatures, seed)
 * in {@link DeepCommonConfig} (lead 1: the seasonal lag is the value one season before the interval after each row), the rest here; the defaults of all in LSTM_DEFAULTS.
 */
export interface LstmConfig extends DeepCommonConfig {
  /**
   * Units per LSTM layer. Default 16: on the Abilene week 32 units forecast no better (1-step MAE 9.04e-4 vs
   * 8.99e-4) at twice the training time, and a 1-step forecast of 132 pairs takes ~11 ms instead of ~3.5 ms.
   */
  units: number;
  /** Stacked LSTM layers. Default 1. */
  layers: number;
  /** Training loss on z (see the module doc). Default "mae". */
  loss: "mae" | "mse";
  /** Predict z_{t+1} - z_t instead of z_{t+1}. Default true. */
  residual: boolean;
  /**
   * Per-window loss weights: "none", or "volume", the window's last value over the scale plus one
   * (x_t / s0 + 1 = exp(u_t)), so the loss on z approximates the absolute error in the data's own units, which is
   * what MAE measures (|dx| ~ (x + s0) |du|). Default "volume".
   */
  weighting: "none" | "volume";
  /** K: fine-tune every K observed intervals; 0 = never. Default 0. */
  fineTuneEvery: number;
  /** Intervals of recent history a fine-tune trains on (> W). Default 288. */
  fineTuneIntervals: number;
  /** Passes over the recent windows per fine-tune. Default 1. */
  fineTuneEpochs: number;
  /** H > 0: H outputs, output k the forecast k steps ahead (direct multi-horizon); 0: one output fed back. Default 0. */
  heads: number;
  /**
   * The residual's base: the last value, an EWMA of the values, or (with `heads` > 0) the pooled linear model's
   * forecast of each horizon (see the module doc). Default "last".
   */
  base: "last" | "ewma" | "linear";
  /** W of the linear base (linear.ts `window`). Default 36. */
  baseWindow: number;
  /** The EWMA base's smoothing constant in (0, 1]; 0 = tuned on the training history. Default 0. */
  baseAlpha: number;
  /** Divide each pair by its training mean before the scaling (per-pair normalisation). Default false. */
  pairScaling: boolean;
}

export const LSTM_DEFAULTS: Readonly<LstmConfig> = {
  window: 12,
  units: 16,
  layers: 1,
  epochs: 30,
  batchSize: 512,
  learningRate: 0.003,
  loss: "mae",
  residual: true,
  weighting: "volume",
  validationFraction: 0.1,
  patience: 3,
  windowsPerEpoch: 8192,
  validationWindows: 8192,
  fineTuneEvery: 0,
  fineTuneIntervals: 288,
  fineTuneEpochs: 1,
  heads: 0,
  base: "last",
  baseAlpha: 0,
  baseWindow: 36,
  pairScaling: false,
  seasonalLag: 0,
  logScale: true,
  timeFeatures: false,
  intervalNs: 300e9,
  seed: 1,
};

export interface LstmOptions extends Partial<LstmConfig> {
  /** Streams to draw from instead of `new RandomStreams(seed)` (to share an experiment's seed and run). */
  streams?: RandomStreams;
}

/** The value scaling fitted on the training history (deep-features.ts). */
export type LstmScaling = ValueScaling;

/** What training did, recorded in the saved model. */
export type LstmTrainingInfo = TfTrainingInfo;

/** The metadata block stored in model.json's `userDefinedMetadata.topocast`. */
export interface LstmModelMetadata {
  kind: "topocast-lstm-predictor";
  version: 1;
  config: LstmConfig;
  scaling: LstmScaling;
  training: LstmTrainingInfo | null;
  /** m_p of `pairScaling`, when on. */
  pairScale?: number[];
  /** The linear base's fit (base "linear"). */
  residualBase?: ResidualBaseFit;
}

const ORTHOGONAL_WARNING = "Orthogonal initializer is being called on a matrix with more than";

export class LstmPredictor implements Predictor {
  readonly name = "lstm";
  readonly dimension: number;
  readonly config: Readonly<LstmConfig>;
  private readonly streams: RandomStreams;
  private tf: typeof Tf | undefined;
  private backend: TfBackendName | undefined;
  private model: Tf.LayersModel | undefined;
  private optimizer: Tf.Optimizer | undefined;
  private forward: LstmForward | undefined;
  private scaling: LstmScaling | undefined;
  private trainingInfo: LstmTrainingInfo | null = null;
  /** The latest observations, raw (divided by m_p with `pairScaling`), with their times. */
  private readonly ring: ObservationRing;
  /** The EWMA base after each of the latest observations (base "ewma"). */
  private readonly baseRing: ObservationRing | undefined;
  /** The linear base (base "linear"). */
  private readonly linearBase: ResidualBase | undefined;
  /** The EWMA of the observations so far (base "ewma"). */
  private ewmaLevel: Float64Array | undefined;
  /** m_p of `pairScaling` (fitted by `train`). */
  private pairScale: Float64Array | undefined;
  /** The EWMA base's smoothing constant (`baseAlpha`, or tuned by `train`; 0.5 before). */
  private alpha: number;
  private replay = 0;
  private sinceTune = 0;
  private fineTunes = 0;
  private frozen = false;

  /** @param dimension P, the number of pairs. */
  constructor(dimension: number, opts: LstmOptions = {}) {
    this.dimension = checkDimension(this.name, dimension);
    const { streams, ...rest } = opts;
    this.config = validateConfig({ ...LSTM_DEFAULTS, ...definedOnly(rest) });
    this.streams = streams ?? new RandomStreams(this.config.seed);
    const need = historyNeeded(this.config.window, this.lag);
    const tune = this.config.fineTuneEvery > 0 ? this.config.fineTuneIntervals + need : 0;
    this.ring = new ObservationRing(dimension, Math.max(need, tune));
    if (this.config.base === "ewma") this.baseRing = new ObservationRing(dimension, this.ring.cap);
    this.alpha = this.config.baseAlpha > 0 ? this.config.baseAlpha : 0.5;
    if (this.config.base === "linear") {
      this.linearBase = new ResidualBase("linear", dimension, this.config.heads, this.config);
    }
  }

  /** The seasonal lag channel's settings (season 0: none; lead 1, or H with `heads` = H). */
  get lag(): SeasonalLag {
    return { season: this.config.seasonalLag, lead: Math.max(this.config.heads, 1) };
  }

  /** The first window end of a history: the lag channel's, or later where the linear base starts. */
  get firstWindow(): number {
    return Math.max(firstWindowEnd(this.config.window, this.lag), this.linearBase?.firstOrigin ?? 0);
  }

  /** O, the network's outputs per window (H with `heads`, else 1). */
  get outputs(): number {
    return Math.max(this.config.heads, 1);
  }

  /** F, the input channels per window row. */
  get inputChannels(): number {
    return inputChannels(this.config);
  }

  /**
   * Loads a model saved by {@link save}. A loaded predictor keeps its weights when `train` is called (which then
   * only marks the history replay), unless `retrain` is set. Fine-tuning options may be overridden.
   * @throws PredictorError when the directory holds no topocast LSTM model.
   */
  static async load(
    dir: string,
    dimension: number,
    opts: { retrain?: boolean; streams?: RandomStreams } & Partial<
      Pick<LstmConfig, "fineTuneEvery" | "fineTuneIntervals" | "fineTuneEpochs">
    > = {},
  ): Promise<LstmPredictor> {
    const { path, json } = readModelJson(dir);
    const meta = (json.userDefinedMetadata as { topocast?: Partial<LstmModelMetadata> } | undefined)
      ?.topocast;
    if (meta?.kind !== "topocast-lstm-predictor" || meta.version !== 1 || !meta.config || !meta.scaling) {
      throw new PredictorError(
        `${path}: not a topocast LSTM predictor model (userDefinedMetadata.topocast.kind/version/config/scaling missing)`,
      );
    }
    const { retrain, streams, ...tune } = opts;
    const p = new LstmPredictor(dimension, { ...meta.config, ...definedOnly(tune), streams });
    const rt = await loadTf();
    p.tf = rt.tf;
    p.backend = rt.backend;
    p.model = await rt.tf.loadLayersModel(directoryHandler(dir));
    p.scaling = meta.scaling;
    p.pairScale = meta.pairScale ? Float64Array.from(meta.pairScale) : undefined;
    p.trainingInfo = meta.training ?? null;
    if (p.linearBase) p.linearBase.restore(meta.residualBase ?? {});
    p.forward = new LstmForward(extractWeights(p.model));
    p.frozen = retrain !== true;
    return p;
  }

  /** The backend that trained or loaded the model (undefined before). */
  get backendName(): string | undefined {
    return this.backend;
  }

  /** What the last training did (null for a loaded model saved without it, or before training). */
  get training(): LstmTrainingInfo | null {
    return this.trainingInfo;
  }

  /** Fine-tunes run so far. */
  get fineTuneCount(): number {
    return this.fineTunes;
  }

  params(): Record<string, unknown> {
    return {
      ...this.config,
      backend: this.backend ?? null,
      scaling: this.scaling ?? null,
      epochsRun: this.trainingInfo?.epochs ?? null,
      bestEpoch: this.trainingInfo?.bestEpoch ?? null,
      baseAlphaUsed: this.config.base === "ewma" ? this.alpha : null,
      loaded: this.frozen,
    };
  }

  /** The network's weights as plain arrays (for inspection and tests). @throws before training. */
  weights(): LstmNetWeights {
    return extractWeights(this.requireModel("weights"));
  }

  /**
   * Fits the scaling and the network on `history` (T x P, T > W + 1; see the module doc), from freshly seeded
   * weights. For a loaded model (unless loaded with `retrain`), only marks the next T observations as replay.
   */
  async train(history: readonly Float64Array[], endNs?: ArrayLike<number>): Promise<void> {
    checkHistory(this.name, this.dimension, history);
    this.replay = history.length;
    this.sinceTune = 0;
    if (this.frozen) return;
    const W = this.config.window;
    checkTrainingSpan(
      this.name,
      history.length,
      endNs,
      this.firstWindow + this.outputs + 2,
      `window ${W}, seasonal lag ${this.config.seasonalLag}`,
    );
    this.pairScale = this.config.pairScaling ? pairMeans(history) : undefined;
    const rows = this.pairScale ? history.map((r) => divided(r, this.pairScale!)) : history;
    if (this.config.base === "ewma" && !(this.config.baseAlpha > 0)) {
      const ewma = new EwmaPredictor(this.dimension);
      ewma.train(history);
      this.alpha = ewma.alpha;
    }
    this.linearBase?.fit(rows);
    const start = await startTraining(rows, this.config.logScale);
    this.tf = start.tf;
    this.backend = start.backend;
    this.disposeModel();
    this.scaling = start.scaling;
    const P = this.dimension;
    const T = history.length;
    const base = this.baseRing ? ewmaRows(rows, this.alpha) : undefined;
    const data = this.windowSource(rows, historyTimes(T, this.config.intervalNs, endNs), base);
    const model = buildModel(start.tf, this.config, this.streams.stream("lstm/init"));
    this.model = model;
    this.optimizer = start.tf.train.adam(this.config.learningRate);
    // Windows end at t = t0 .. T-1-O (the targets are t + 1 .. t + O).
    const fit = await fitWindows(
      this.name,
      model,
      this.config,
      this.streams,
      T - this.outputs - data.t0,
      P,
      (idx) => this.fitWindows(data, idx),
      (idx, lastValue) => {
        if (!lastValue) this.forward = new LstmForward(extractWeights(model));
        return this.windowLoss(data, idx, lastValue);
      },
      this.linearBase !== undefined,
    );
    this.forward = new LstmForward(extractWeights(model));
    this.trainingInfo = {
      backend: start.backend,
      intervals: T,
      pairs: P,
      ...fit,
      seconds: secondsSince(start),
    };
  }

  observe(timeNs: number, sample: Float64Array): void {
    checkSample(this.name, this.dimension, sample);
    const x = this.pairScale ? divided(sample, this.pairScale) : sample;
    this.ring.push(timeNs, x);
    this.linearBase?.observe(timeNs, x);
    if (this.baseRing) {
      if (!this.ewmaLevel) this.ewmaLevel = Float64Array.from(x);
      else ewmaStep(this.ewmaLevel, x, this.alpha);
      this.baseRing.push(timeNs, this.ewmaLevel);
    }
    if (this.replay > 0) {
      this.replay--;
      return;
    }
    const K = this.config.fineTuneEvery;
    if (K > 0 && this.model && ++this.sinceTune >= K) {
      this.sinceTune = 0;
      this.fineTune();
    }
  }

  forecast(steps: number): Float64Array[] {
    checkSteps(this.name, steps);
    const P = this.dimension;
    const W = this.config.window;
    const ring = this.ring;
    if (ring.count === 0) return flatForecast(new Float64Array(P), steps);
    const n = historyNeeded(W, this.lag);
    if (ring.count < n || !this.forward || !this.scaling) {
      return flatForecast(this.pairScale ? multiplied(ring.last(), this.pairScale) : ring.last(), steps);
    }
    const s = this.scaling;
    const { timeFeatures, intervalNs, heads } = this.config;
    // zx[p * L + i]: the latest n observations' z, then the forecasts as they are made; zb the same of the base.
    const { zx, L, tfeat } = forecastInputs(ring, n, heads > 0 ? 0 : steps, s, intervalNs, timeFeatures);
    const zb = this.baseRing?.latestZ(n, s, L);
    const out =
      heads > 0
        ? this.directForecast(zx, zb, L, steps, tfeat)
        : this.iteratedForecast(zx, zb, L, steps, tfeat);
    if (this.pairScale) for (const x of out) for (let p = 0; p < P; p++) x[p] = x[p]! * this.pairScale[p]!;
    return out;
  }

  /** The window rows of every pair ending at index `end` of zx (and zb), for the network. */
  private forecastWindows(
    zx: Float32Array,
    zb: Float32Array | undefined,
    L: number,
    end: number,
    tfeat: Float32Array | undefined,
  ): Float64Array {
    const P = this.dimension;
    const W = this.config.window;
    const F = this.inputChannels;
    const input = new Float64Array(P * W * F);
    const { seasonalLag } = this.config;
    const lead = this.lag.lead;
    for (let p = 0; p < P; p++) {
      const baseAt = zb ? (i: number) => zb[p * L + i]! : undefined;
      writeRows(input, p, W, F, (i) => zx[p * L + i]!, end, seasonalLag, tfeat, lead, baseAt);
    }
    return input;
  }

  /** Forecasts of 1 .. steps from one pass of the H-output network (steps beyond H repeat the H-step one). */
  private directForecast(
    zx: Float32Array,
    zb: Float32Array | undefined,
    L: number,
    steps: number,
    tfeat: Float32Array | undefined,
  ): Float64Array[] {
    const P = this.dimension;
    const O = this.outputs;
    const end = L - 1;
    const y = this.forward!.run(this.forecastWindows(zx, zb, L, end, tfeat), P, this.config.window);
    const lin = this.linearBase?.currentZ(this.ring.last(), this.scaling!, steps);
    const out: Float64Array[] = [];
    for (let k = 0; k < steps; k++) {
      const o = Math.min(k, O - 1);
      const x = new Float64Array(P);
      for (let p = 0; p < P; p++) {
        const last = zb ? zb[p * L + end]! : zx[p * L + end]!;
        const ref = this.config.residual ? (lin ? lin[p * O + o]! : last) : 0;
        x[p] = fromZ(ref + y[p * O + o]!, this.scaling!);
      }
      out.push(x);
    }
    return out;
  }

  /** Forecasts of 1 .. steps from the one-output network, each fed back (and into the EWMA base). */
  private iteratedForecast(
    zx: Float32Array,
    zb: Float32Array | undefined,
    L: number,
    steps: number,
    tfeat: Float32Array | undefined,
  ): Float64Array[] {
    const P = this.dimension;
    const s = this.scaling!;
    const n = L - steps;
    const level = this.ewmaLevel ? Float64Array.from(this.ewmaLevel) : undefined;
    const out: Float64Array[] = [];
    for (let h = 0; h < steps; h++) {
      const end = n - 1 + h;
      const y = this.forward!.run(this.forecastWindows(zx, zb, L, end, tfeat), P, this.config.window);
      const x = new Float64Array(P);
      for (let p = 0; p < P; p++) {
        const ref = zb ? zb[p * L + end]! : zx[p * L + end]!;
        const zNext = this.config.residual ? ref + y[p]! : y[p]!;
        x[p] = fromZ(zNext, s);
        zx[p * L + end + 1] = clampZ(zNext, s);
      }
      if (zb && level) {
        ewmaStep(level, x, this.alpha);
        for (let p = 0; p < P; p++) zb[p * L + end + 1] = toZ(level[p]!, s);
      }
      out.push(x);
    }
    return out;
  }

  /**
   * Saves the model to `dir` in the tfjs format (model.json + weights.bin), with the config, scaling and
   * training record in `userDefinedMetadata.topocast`. @throws PredictorError before training.
   */
  async save(dir: string): Promise<void> {
    const model = this.requireModel("save");
    const meta: LstmModelMetadata = {
      kind: "topocast-lstm-predictor",
      version: 1,
      // The EWMA base's smoothing constant as trained (tuned when 0).
      config: { ...this.config, ...(this.config.base === "ewma" ? { baseAlpha: this.alpha } : {}) },
      scaling: this.scaling!,
      training: this.trainingInfo,
      ...(this.pairScale ? { pairScale: Array.from(this.pairScale) } : {}),
      ...(this.linearBase ? { residualBase: this.linearBase.state() } : {}),
    };
    model.setUserDefinedMetadata({ topocast: meta });
    await model.save(directoryHandler(dir));
  }

  dispose(): void {
    this.disposeModel();
  }

  private disposeModel(): void {
    this.model?.dispose();
    this.optimizer?.dispose();
    this.model = undefined;
    this.optimizer = undefined;
  }

  private requireModel(what: string): Tf.LayersModel {
    if (!this.model) throw new PredictorError(`lstm.${what}: the model is not trained or loaded yet`);
    return this.model;
  }

  /** One pass of Adam steps over `idx`; returns the mean batch loss. */
  private fitWindows(data: WindowSource, idx: Int32Array): number {
    const tf = this.tf!;
    const model = this.model!;
    const optimizer = this.optimizer ?? tf.train.adam(this.config.learningRate);
    this.optimizer = optimizer;
    const B = this.config.batchSize;
    const { W, F, O } = data;
    const lossFn = this.config.loss === "mae" ? tf.losses.absoluteDifference : tf.losses.meanSquaredError;
    return fitBatches(tf, optimizer, idx.length, B, this.name, (start, end) => {
      const batch = idx.subarray(start, end);
      const { xs, ys, ws } = gather(data, batch);
      const x = tf.tensor3d(xs, [batch.length, W, F]);
      const y = tf.tensor2d(ys, [batch.length, O]);
      const w = ws ? tf.tensor2d(ws, [batch.length, 1]) : undefined;
      return lossFn(y, model.apply(x, { training: true }) as Tf.Tensor, w, tf.Reduction.MEAN) as Tf.Scalar;
    });
  }

  /**
   * The configured (weighted) loss of the current network on windows `idx` (mean over its outputs), in z units,
   * via the JS forward pass; or, with `lastValue`, of forecasting each window's base (last value or EWMA).
   */
  private windowLoss(data: WindowSource, idx: Int32Array, lastValue = false): number {
    const { xs, ys, ws } = gather(data, idx);
    const { W, F, O } = data;
    const pred = lastValue
      ? Float64Array.from({ length: idx.length * O }, (_, j) =>
          data.residual ? 0 : xs[(Math.floor(j / O) * W + W - 1) * F]!,
        )
      : this.forward!.run(Float64Array.from(xs), idx.length, W);
    let sum = 0;
    let weights = 0;
    for (let j = 0; j < idx.length * O; j++) {
      const e = pred[j]! - ys[j]!;
      const w = ws ? ws[Math.floor(j / O)]! : 1;
      sum += w * (this.config.loss === "mae" ? Math.abs(e) : e * e);
      weights += w;
    }
    return sum / weights;
  }

  /**
   * The windows of `rows` (T x P, raw, or divided by m_p with `pairScaling`) ending at `endNs`, with the EWMA base
   * `base` of each row (base "ewma"), under the fitted scaling.
   */
  private windowSource(
    rows: readonly Float64Array[],
    endNs: Float64Array,
    base: readonly Float64Array[] | undefined,
  ): WindowSource {
    const { residual, weighting, window: W } = this.config;
    const m = this.pairScale;
    const meanM = m ? m.reduce((a, b) => a + b, 0) / m.length : 1;
    const z = scaleRows(rows, this.scaling!);
    return {
      z,
      baseH: this.linearBase?.historyZ(rows, z, this.scaling!),
      base: base ? scaleRows(base, this.scaling!) : undefined,
      pairWeight: m ? Float64Array.from(m, (v) => v / meanM) : undefined,
      O: this.outputs,
      lead: this.lag.lead,
      time: this.config.timeFeatures ? timeFeatures(endNs) : undefined,
      P: this.dimension,
      W,
      F: this.inputChannels,
      t0: this.firstWindow,
      season: this.config.seasonalLag,
      residual,
      weighting,
      scaling: this.scaling!,
    };
  }

  private fineTune(): void {
    const ring = this.ring;
    const W = this.config.window;
    const n = Math.min(ring.count, ring.cap, this.config.fineTuneIntervals + historyNeeded(W, this.lag) - W);
    const t0 = firstWindowEnd(W, this.lag);
    if (n < t0 + 2) return;
    if (n < t0 + this.outputs + 1) return;
    const first = ring.count - n;
    const rows = Array.from({ length: n }, (_, i) => ring.row(first + i));
    const base = this.baseRing ? rows.map((_, i) => this.baseRing!.row(first + i)) : undefined;
    const data = this.windowSource(
      rows,
      Float64Array.from(rows, (_, i) => ring.time(first + i)),
      base,
    );
    const idx = Int32Array.from({ length: (n - this.outputs - t0) * this.dimension }, (_, i) => i);
    const stream = this.streams.stream("lstm/fine-tune");
    for (let e = 0; e < this.config.fineTuneEpochs; e++) {
      shuffleInPlace(idx, stream);
      this.fitWindows(data, idx);
    }
    this.forward = new LstmForward(extractWeights(this.model!));
    this.fineTunes++;
  }
}

/** Scaled history: `z[t * P + p]`, Float32 as the network consumes it, with what forms its windows. */
interface WindowSource {
  z: Float32Array;
  /** Time features of each row (`time[t * 4 + f]`) when the model takes them. */
  time: Float32Array | undefined;
  P: number;
  W: number;
  /** Input channels per row. */
  F: number;
  /** The first window's last time. */
  t0: number;
  /** S, the seasonal lag (0: none). */
  season: number;
  /** The seasonal lag's lead. */
  lead: number;
  /** z of the EWMA base of each row (`base[t * P + p]`), base "ewma". */
  base: Float32Array | undefined;
  /** z of the linear base of each origin and output (`baseH[(t O + o) P + p]`), base "linear". */
  baseH?: Float32Array | undefined;
  /** Per-pair loss weight factors m_p / mean(m) (`pairScaling`). */
  pairWeight: Float64Array | undefined;
  /** Outputs per window (targets t + 1 .. t + O). */
  O: number;
  residual: boolean;
  weighting: LstmConfig["weighting"];
  scaling: LstmScaling;
}

/**
 * F of a configuration: z, the seasonal lag when S > 0, the EWMA base with base "ewma", the four time features
 * when on.
 */
export function inputChannels(
  c: Pick<LstmConfig, "seasonalLag" | "timeFeatures"> & Partial<Pick<LstmConfig, "base">>,
): number {
  return 1 + (c.seasonalLag > 0 ? 1 : 0) + (c.base === "ewma" ? 1 : 0) + (c.timeFeatures ? TIME_FEATURES : 0);
}

/**
 * Writes the W rows of series p's window ending at index `end` into `out` (window p, rows of F channels): row j
 * (index i = end - W + 1 + j) gets zAt(i), then zAt(i + lead - season) when season > 0, then baseAt(i) when
 * given, then the time features of index i when `time` is given (deep-features.ts: the lag channel with lead
 * `lead`, 1 by default).
 */
export function writeRows(
  out: Float64Array | Float32Array,
  p: number,
  W: number,
  F: number,
  zAt: (i: number) => number,
  end: number,
  season: number,
  time: Float32Array | undefined,
  lead = 1,
  baseAt?: (i: number) => number,
): void {
  for (let j = 0; j < W; j++) {
    const i = end - W + 1 + j;
    let o = (p * W + j) * F;
    out[o++] = zAt(i);
    if (season > 0) out[o++] = zAt(i + lead - season);
    if (baseAt) out[o++] = baseAt(i);
    if (time) for (let f = 0; f < TIME_FEATURES; f++) out[o++] = time[i * TIME_FEATURES + f]!;
  }
}

/**
 * Inputs (n x W x F), targets (n x O: z_{t+k}, or its change from the base with `residual`) and weights of windows
 * `idx` (see {@link LstmPredictor.train} for the indexing).
 */
function gather(
  data: WindowSource,
  idx: Int32Array,
): { xs: Float32Array; ys: Float32Array; ws?: Float32Array } {
  const { z, base, P, W, F, O, residual, scaling } = data;
  const xs = new Float32Array(idx.length * W * F);
  const ys = new Float32Array(idx.length * O);
  const ws = data.weighting === "volume" ? new Float32Array(idx.length) : undefined;
  for (let i = 0; i < idx.length; i++) {
    const k = idx[i]!;
    const p = k % P;
    const t = (k - p) / P + data.t0;
    const baseAt = base ? (r: number) => base[r * P + p]! : undefined;
    writeRows(xs, i, W, F, (r) => z[r * P + p]!, t, data.season, data.time, data.lead, baseAt);
    const ref = residual ? (base ? base[t * P + p]! : z[t * P + p]!) : 0;
    for (let o = 0; o < O; o++) {
      const b = residual && data.baseH ? data.baseH[(t * O + o) * P + p]! : ref;
      ys[i * O + o] = z[(t + 1 + o) * P + p]! - b;
    }
    if (ws) ws[i] = (fromZ(z[t * P + p]!, scaling) / scaling.scale + 1) * (data.pairWeight?.[p] ?? 1);
  }
  return ws ? { xs, ys, ws } : { xs, ys };
}

/** m_p, each pair's mean over `history` (1 for a pair that is zero throughout). */
function pairMeans(history: readonly Float64Array[]): Float64Array {
  const m = new Float64Array(history[0]?.length ?? 0);
  for (const row of history) for (let p = 0; p < m.length; p++) m[p] = m[p]! + Math.max(row[p]!, 0);
  return m.map((v) => (v > 0 ? v / history.length : 1));
}

/** `row` divided element-wise by `m`. */
function divided(row: Float64Array, m: Float64Array): Float64Array {
  return row.map((v, p) => v / m[p]!);
}

/** `row` multiplied element-wise by `m`. */
function multiplied(row: Float64Array, m: Float64Array): Float64Array {
  return row.map((v, p) => v * m[p]!);
}

function buildModel(tf: typeof Tf, c: LstmConfig, init: RandomStream): Tf.LayersModel {
  const model = tf.sequential();
  const warn = console.warn;
  // tfjs warns that orthogonal initialization of a > 2000-element matrix "may be slow"; at these sizes it is not.
  console.warn = (...args: unknown[]) => {
    if (typeof args[0] === "string" && args[0].startsWith(ORTHOGONAL_WARNING)) return;
    warn(...args);
  };
  try {
    for (let l = 0; l < c.layers; l++) {
      model.add(
        tf.layers.lstm({
          units: c.units,
          returnSequences: l < c.layers - 1,
          ...(l === 0 ? { inputShape: [c.window, inputChannels(c)] } : {}),
          activation: "tanh",
          recurrentActivation: "sigmoid",
          kernelInitializer: tf.initializers.glorotUniform({ seed: seedFrom(init) }),
          recurrentInitializer: tf.initializers.orthogonal({ seed: seedFrom(init), gain: 1 }),
          biasInitializer: "zeros",
          unitForgetBias: true,
        }),
      );
    }
    // The first layer has an input shape, so each add builds its weights (runs the initializers) here.
    // Over the linear base the output starts at zero, so the untrained model forecasts as the linear model.
    const kernel = tf.initializers.glorotUniform({ seed: seedFrom(init) });
    model.add(
      tf.layers.dense({
        units: Math.max(c.heads, 1),
        kernelInitializer: c.base === "linear" ? "zeros" : kernel,
      }),
    );
  } finally {
    console.warn = warn;
  }
  return model;
}

/** Reads the network's weights out of a tfjs model built by {@link buildModel} (or loaded). */
function extractWeights(model: Tf.LayersModel): LstmNetWeights {
  const layers: LstmNetWeights["layers"] = [];
  let dense: LstmNetWeights["dense"] | undefined;
  for (const layer of model.layers) {
    const w = layer.getWeights();
    const cls = layer.getClassName();
    if (cls === "LSTM") {
      const [k, r, b] = w;
      if (!k || !r || !b) throw new PredictorError(`lstm: layer ${layer.name} has no bias or kernels`);
      layers.push({
        inputDim: k.shape[0]!,
        units: r.shape[0]!,
        kernel: Float64Array.from(k.dataSync()),
        recurrent: Float64Array.from(r.dataSync()),
        bias: Float64Array.from(b.dataSync()),
      });
    } else if (cls === "Dense") {
      const [k, b] = w;
      if (!k || !b) throw new PredictorError(`lstm: layer ${layer.name} has no bias or kernel`);
      dense = { kernel: Float64Array.from(k.dataSync()), bias: Float64Array.from(b.dataSync()) };
    } else {
      throw new PredictorError(`lstm: unexpected layer ${cls} in the model`);
    }
  }
  if (layers.length === 0 || !dense)
    throw new PredictorError("lstm: the model needs LSTM layers and a dense output");
  return { layers, dense };
}

function validateConfig(c: LstmConfig): LstmConfig {
  checkDeepConfig("lstm", c, Math.max(c.heads, 1));
  checkInt("lstm", "heads", c.heads, 0);
  checkBaseConfig("lstm", c, ["last", "ewma", "linear"]);
  if (c.base === "linear" && (c.heads < 1 || c.fineTuneEvery > 0 || !c.residual)) {
    throw new PredictorError(
      `lstm.base: "linear" needs heads >= 1 (direct multi-horizon), residual true and fineTuneEvery 0; got heads ${c.heads}, residual ${c.residual}, fineTuneEvery ${c.fineTuneEvery}`,
    );
  }
  if (typeof c.pairScaling !== "boolean")
    throw new PredictorError(`lstm.pairScaling: expected true or false, got ${c.pairScaling}`);
  checkInt("lstm", "units", c.units, 1);
  checkInt("lstm", "layers", c.layers, 1);
  checkInt("lstm", "fineTuneEvery", c.fineTuneEvery, 0);
  checkInt("lstm", "fineTuneEpochs", c.fineTuneEpochs, 1);
  checkInt("lstm", "fineTuneIntervals", c.fineTuneIntervals, c.window + 1);
  if (c.loss !== "mae" && c.loss !== "mse")
    throw new PredictorError(`lstm.loss: expected "mae" or "mse", got "${c.loss}"`);
  if (c.weighting !== "none" && c.weighting !== "volume") {
    throw new PredictorError(`lstm.weighting: expected "none" or "volume", got "${c.weighting}"`);
  }
  if (typeof c.residual !== "boolean")
    throw new PredictorError(`lstm.residual: expected true or false, got ${c.residual}`);
  return c;
}
