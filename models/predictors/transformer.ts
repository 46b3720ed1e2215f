/**
 * Transformer forecaster: a small encoder-only Transformer (Vaswani et al., "Attention Is All You Need", NeurIPS
 * 2017) over each series' recent window, with direct multi-horizon output, in the style of the time-series
 * Transformers of Zerveas et al. ("A Transformer-based Framework for Multivariate Time Series Representation
 * Learning", KDD 2021: linear input projection, learned positions, flattened encoder output into a linear head)
 * and Lim et al. (Temporal Fusion Transformer, 2021: known time covariates such as time of day and day of week as
 * inputs, multi-horizon direct forecasts). One TensorFlow.js layers model is shared by all P series: each series'
 * window of the last W intervals is one sample, so the model learns from all series at once and serves any P.
 *
 * Scaling and features (deep-features.ts): z, the log1p (or, with `logScale` false, linear) scaling fitted on the
 * training history; forecasts map back with u clamped to [0, u_max + 2].
 *
 * Input, per window row j (interval i = t - W + 1 + j, t the last): F = 5 + W features, 6 + W with the seasonal
 * lag, 4 fewer with `timeFeatures` false: the row's z; with `seasonalLag` = S > 0, z_{i + H - S} (lead H: the last
 * H rows carry the values one season before the H targets); sin and cos of the time of day and of the day of week
 * of the interval's end time
 * (Observation.timeNs, ns since the Unix epoch, or since any origin: only the phase within a day / week matters);
 * and a one-hot of the position j. A Dense projection to d_model of this row is therefore the value/time embedding
 * plus a learned absolute position embedding (the one-hot selects a row of the projection's kernel).
 *
 * Encoder: `blocks` pre-layer-norm blocks (Xiong et al., "On Layer Normalization in the Transformer
 * Architecture", ICML 2020: stable without learning-rate warm-up), each
 *   x = x + Wo concat_h softmax(Q_h K_h^T / sqrt(d_k)) V_h   with Q_h, K_h, V_h dense maps of LN(x), d_k = d_model / heads
 *   x = x + FF(LN(x)),   FF = Dense(2 d_model, relu) then Dense(d_model)
 * built from tfjs layers (dense, dot, rescaling, softmax, concatenate, add, layerNormalization): tfjs-layers has
 * no public multi-head attention layer. No causal mask: every row of the window is in the past. A final layer
 * norm, then the W x d_model outputs are flattened into a Dense of H outputs: the changes z_{t+h} - z_t for
 * h = 1 .. H (direct multi-horizon forecasting, residual to the last value like the LSTM; the head starts at
 * zero, so an untrained model forecasts the last value). Forecasts beyond H steps feed the H forecasts back as
 * inputs (their times one interval apart). With `base` "ewma" or "linear" the outputs are the changes from that
 * base instead (deep-setup.ts ResidualBase: an EWMA of the values, alpha tuned on the training history as the
 * ewma predictor's unless `baseAlpha` > 0; or the pooled linear model's h-step forecast, linear.ts fitted on the
 * training history with window `baseWindow`, horizon H and the seasonal lag: LSTNet's sum of a linear
 * autoregression and a network, Lai et al., SIGIR 2018), so the untrained model forecasts as the base; over the
 * linear base the untrained weights also compete in early stopping as epoch 0. Over those bases forecasts beyond H
 * repeat the H-step forecast.
 *
 * Training (`train(history, endNs)`): windows (t, p) for t = t0 .. T-1-H (t0 = W - 1, or S - H + W - 1 with the
 * lag); the last `validationFraction` of window
 * times is the validation set (a time split). Adam, batch `batchSize`, loss the weighted mean absolute error on z
 * over the H outputs, each window weighted by its level x_t / s0 + 1 (as the LSTM's "volume" weighting: the loss
 * then approximates absolute error in the data's units, which MAE measures). Each epoch draws `windowsPerEpoch`
 * windows from stream `transformer/shuffle`; validation uses up to `validationWindows` windows from stream
 * `transformer/validation`; training stops after `patience` epochs without improvement or `epochs` epochs and
 * keeps the best epoch's weights. Initializers are seeded from stream `transformer/init` (glorotUniform), so the
 * same seed, history and backend give the same weights and forecasts.
 *
 * Times: `train` takes each history row's end time (`endNs`); without it, row t of T is taken to end at
 * (t - T + 1) x `intervalNs`, the convention of a caller that observes the history ending at time 0. Before W
 * observations the forecast is the last value (zeros before any).
 */
import type * as Tf from "@tensorflow/tfjs";
import { type RandomStream, RandomStreams } from "../../sim/kernel/rng.ts";
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
  type ValueScaling,
} from "./deep-features.ts";
import {
  checkBaseConfig,
  checkDeepConfig,
  checkInt,
  checkTrainingSpan,
  type DeepBaseConfig,
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
import { fitBatches, type TfTrainingInfo } from "./tf-training.ts";
import {
  type DenseWeights,
  type NormWeights,
  TransformerForward,
  type TransformerNetWeights,
} from "./transformer-forward.ts";

/**
 * Every Transformer parameter: those of every deep predictor (window, epochs, batchSize, learningRate, patience,
 * validationFraction, windowsPerEpoch, validationWindows, intervalNs, seasonalLag, logScale, timeFeatures, seed)
 * in {@link DeepCommonConfig} (seasonalLag >= horizon when set (lead H)), the rest here; the defaults of all in TRANSFORMER_DEFAULTS.
 */
export interface TransformerConfig extends DeepCommonConfig, DeepBaseConfig {
  /** H, intervals forecast directly by one pass (more are fed back). Default 12. */
  horizon: number;
  /** d_model, the width of the encoder. Default 16. */
  dModel: number;
  /** Attention heads; must divide dModel. Default 2. */
  heads: number;
  /** Encoder blocks. Default 1. */
  blocks: number;
}

export const TRANSFORMER_DEFAULTS: Readonly<TransformerConfig> = {
  window: 12,
  horizon: 12,
  dModel: 16,
  heads: 2,
  blocks: 1,
  epochs: 30,
  batchSize: 256,
  learningRate: 0.002,
  patience: 3,
  validationFraction: 0.1,
  windowsPerEpoch: 8192,
  validationWindows: 4096,
  intervalNs: 300e9,
  seasonalLag: 0,
  logScale: true,
  timeFeatures: true,
  base: "last",
  baseAlpha: 0,
  baseWindow: 36,
  seed: 1,
};

export interface TransformerOptions extends Partial<TransformerConfig> {
  /** Streams to draw from instead of `new RandomStreams(seed)` (to share an experiment's seed and run). */
  streams?: RandomStreams;
}

/** What training did. */
export interface TransformerTrainingInfo extends TfTrainingInfo {
  /** Trainable weights of the network. */
  parameters: number;
}

/** The metadata block stored in a saved model's model.json (`userDefinedMetadata.topocast`). */
export interface TransformerModelMetadata {
  kind: "topocast-transformer-predictor";
  version: 1;
  config: TransformerConfig;
  scaling: ValueScaling;
  training: TransformerTrainingInfo | null;
  /** The base's fit (base "ewma" or "linear"). */
  residualBase?: ResidualBaseFit;
}

export class TransformerPredictor implements Predictor {
  readonly name = "transformer";
  readonly dimension: number;
  readonly config: Readonly<TransformerConfig>;
  private readonly streams: RandomStreams;
  private tf: typeof Tf | undefined;
  private backend: TfBackendName | undefined;
  private model: Tf.LayersModel | undefined;
  private optimizer: Tf.Optimizer | undefined;
  private scaling: ValueScaling | undefined;
  private trainingInfo: TransformerTrainingInfo | null = null;
  /** Loaded from a file: `train` keeps the weights. */
  private frozen = false;
  /** The latest observations, raw, with their times. */
  private readonly ring: ObservationRing;
  /** What the outputs are residuals over. */
  private readonly base: ResidualBase;
  /** The trained network in plain JS (forecasts run on it, not on tfjs). */
  private forward: TransformerForward | undefined;
  /** The forecast's input (P x W x F) and output (P x H) buffers, reused. */
  private input = new Float32Array(0);
  private output = new Float32Array(0);

  /** @param dimension P, the number of series. @throws PredictorError for a bad parameter. */
  constructor(dimension: number, opts: TransformerOptions = {}) {
    this.dimension = checkDimension(this.name, dimension);
    const { streams, ...rest } = opts;
    this.config = validateConfig({ ...TRANSFORMER_DEFAULTS, ...definedOnly(rest) });
    this.streams = streams ?? new RandomStreams(this.config.seed);
    this.ring = new ObservationRing(dimension, historyNeeded(this.config.window, this.lag));
    this.base = new ResidualBase(this.config.base, dimension, this.config.horizon, this.config);
  }

  /** The first window end of a history: the lag channel's, or later where the base starts (linear). */
  private get firstWindow(): number {
    return Math.max(firstWindowEnd(this.config.window, this.lag), this.base.firstOrigin);
  }

  /** The seasonal lag channel's settings (season 0: none; lead H). */
  get lag(): SeasonalLag {
    return { season: this.config.seasonalLag, lead: this.config.horizon };
  }

  /** The backend that trained the model (undefined before). */
  get backendName(): string | undefined {
    return this.backend;
  }

  /** What the last training did (null before training). */
  get training(): TransformerTrainingInfo | null {
    return this.trainingInfo;
  }

  params(): Record<string, unknown> {
    return {
      ...this.config,
      backend: this.backend ?? null,
      scaling: this.scaling ?? null,
      epochsRun: this.trainingInfo?.epochs ?? null,
      bestEpoch: this.trainingInfo?.bestEpoch ?? null,
      parameters: this.trainingInfo?.parameters ?? null,
    };
  }

  /** The network's weights as plain arrays, in layer order (for inspection and tests). @throws before training. */
  weights(): number[][] {
    if (!this.model) throw new PredictorError("transformer.weights: the model is not trained yet");
    return this.model.getWeights().map((w) => Array.from(w.dataSync()));
  }

  /**
   * Fits the scaling and the network on `history` (T x P, T >= W + H + 1) from freshly seeded weights.
   * @param endNs the end time of each history row (ns), length T; see the module doc when absent.
   * @throws PredictorError for a short or malformed history or times of the wrong length.
   */
  async train(history: readonly Float64Array[], endNs?: ArrayLike<number>): Promise<void> {
    checkHistory(this.name, this.dimension, history);
    if (this.frozen) return;
    const { window: W, horizon: H } = this.config;
    const T = history.length;
    const t0w = this.firstWindow;
    checkTrainingSpan(
      this.name,
      T,
      endNs,
      t0w + H + 2,
      `window ${W}, horizon ${H}, seasonal lag ${this.config.seasonalLag}`,
    );
    this.base.fit(history);
    const start = await startTraining(history, this.config.logScale);
    this.tf = start.tf;
    this.backend = start.backend;
    this.disposeModel();
    this.scaling = start.scaling;
    const z = scaleRows(history, this.scaling);
    const data: WindowData = {
      z,
      base: this.base.historyZ(history, z, this.scaling),
      time: this.config.timeFeatures
        ? timeFeatures(historyTimes(T, this.config.intervalNs, endNs))
        : undefined,
      P: this.dimension,
      W,
      H,
      t0: t0w,
      season: this.config.seasonalLag,
      scaling: this.scaling,
    };
    const built = buildModel(start.tf, this.config, this.streams.stream("transformer/init"));
    this.model = built.model;
    this.optimizer = start.tf.train.adam(this.config.learningRate);
    // Windows end at t = t0 .. T-1-H (the targets are t + 1 .. t + H).
    const fit = await fitWindows(
      this.name,
      built.model,
      this.config,
      this.streams,
      T - H - data.t0,
      this.dimension,
      (idx) => this.fitWindows(data, idx),
      (idx, lastValue) => this.windowLoss(data, idx, lastValue),
      this.config.base === "linear",
    );
    this.forward = new TransformerForward(extractWeights(built.layers, W));
    this.trainingInfo = {
      backend: start.backend,
      intervals: T,
      pairs: this.dimension,
      ...fit,
      parameters: this.model.countParams(),
      seconds: secondsSince(start),
    };
  }

  observe(timeNs: number, sample: Float64Array): void {
    checkSample(this.name, this.dimension, sample);
    this.ring.push(timeNs, sample);
    this.base.observe(timeNs, sample);
  }

  forecast(steps: number): Float64Array[] {
    checkSteps(this.name, steps);
    const P = this.dimension;
    const { window: W, horizon: H } = this.config;
    const ring = this.ring;
    if (ring.count === 0) return flatForecast(new Float64Array(P), steps);
    const n = historyNeeded(W, this.lag);
    if (ring.count < n || !this.forward || !this.scaling) return flatForecast(ring.last(), steps);
    const s = this.scaling;
    const { timeFeatures, intervalNs } = this.config;
    // zx[p * L + i] and tfeat by i: for i < n the latest observations, then the forecasts as they are made.
    const { zx, L, tfeat } = forecastInputs(ring, n, steps, s, intervalNs, timeFeatures);
    if (this.config.base !== "last") return this.overBase(zx, L, tfeat, n - 1, steps);
    const out: Float64Array[] = [];
    for (let start = 0; out.length < steps; start += H) {
      const end = n - 1 + start;
      const take = Math.min(H, steps - out.length);
      const y = this.predictWindows(zx, L, tfeat, end, take);
      for (let h = 0; h < take; h++) out.push(new Float64Array(P));
      for (let p = 0; p < P; p++) {
        const last = zx[p * L + end]!;
        for (let h = 0; h < take; h++) {
          const zh = last + y[p * H + h]!;
          zx[p * L + end + 1 + h] = clampZ(zh, s);
          out[start + h]![p] = fromZ(zh, s);
        }
      }
    }
    return out;
  }

  /** Forecasts of 1 .. steps over an EWMA or linear base, from the window ending at `end`; beyond H the H-step one. */
  private overBase(
    zx: Float32Array,
    L: number,
    tfeat: Float32Array | undefined,
    end: number,
    steps: number,
  ): Float64Array[] {
    const P = this.dimension;
    const H = this.config.horizon;
    const take = Math.min(H, steps);
    const y = this.predictWindows(zx, L, tfeat, end, take);
    const b = this.base.currentZ(this.ring.last(), this.scaling!, take);
    return Array.from({ length: steps }, (_, k) => {
      const h = Math.min(k, take - 1);
      return Float64Array.from({ length: P }, (_, p) => fromZ(b[p * H + h]! + y[p * H + h]!, this.scaling!));
    });
  }

  /**
   * Saves the trained network's weights to `dir` (model.json + weights.bin, the tfjs weights format), with the
   * config, scaling and training record in model.json's `userDefinedMetadata.topocast`; the topology is not
   * stored: {@link load} rebuilds it from the config. @throws PredictorError before training.
   */
  async save(dir: string): Promise<void> {
    const model = this.model;
    if (!model || !this.scaling || !this.tf) {
      throw new PredictorError("transformer.save: the model is not trained or loaded yet");
    }
    const meta: TransformerModelMetadata = {
      kind: "topocast-transformer-predictor",
      version: 1,
      config: { ...this.config },
      scaling: this.scaling,
      training: this.trainingInfo,
      ...(this.config.base !== "last" ? { residualBase: this.base.state() } : {}),
    };
    const named = model.weights.map((w, i) => ({ name: `w${i}`, tensor: w.read() }));
    const { data, specs } = await this.tf.io.encodeWeights(named);
    await directoryHandler(dir).save!({
      modelTopology: { note: "topocast Transformer: rebuilt from userDefinedMetadata.topocast.config" },
      format: "topocast-transformer-weights",
      weightSpecs: specs,
      weightData: data,
      userDefinedMetadata: { topocast: meta as unknown as Record<string, never> },
    });
  }

  /**
   * Loads a predictor saved by {@link save}: the network rebuilt from the stored config, the weights set in
   * order. `train` then keeps the weights (it only checks the history). @throws PredictorError when the directory
   * holds no topocast Transformer or its weights do not fit the config.
   */
  static async load(
    dir: string,
    dimension: number,
    opts: { streams?: RandomStreams } = {},
  ): Promise<TransformerPredictor> {
    const { path, json } = readModelJson(dir);
    const meta = (json.userDefinedMetadata as { topocast?: Partial<TransformerModelMetadata> } | undefined)
      ?.topocast;
    if (
      meta?.kind !== "topocast-transformer-predictor" ||
      meta.version !== 1 ||
      !meta.config ||
      !meta.scaling
    ) {
      throw new PredictorError(
        `${path}: not a topocast Transformer predictor (userDefinedMetadata.topocast.kind/version/config/scaling missing)`,
      );
    }
    const p = new TransformerPredictor(dimension, { ...meta.config, streams: opts.streams });
    const rt = await loadTf();
    const artifacts = await directoryHandler(dir).load!();
    const specs = artifacts.weightSpecs ?? [];
    const built = buildModel(rt.tf, p.config, p.streams.stream("transformer/init"));
    if (specs.length !== built.model.weights.length) {
      built.model.dispose();
      throw new PredictorError(
        `${path}: ${specs.length} weight tensors saved, the config's network has ${built.model.weights.length}`,
      );
    }
    const tensors = rt.tf.io.decodeWeights(artifacts.weightData!, specs);
    try {
      built.model.setWeights(specs.map((s) => tensors[s.name]!));
    } finally {
      for (const t of Object.values(tensors)) t.dispose();
    }
    p.tf = rt.tf;
    p.backend = rt.backend;
    p.model = built.model;
    p.forward = new TransformerForward(extractWeights(built.layers, p.config.window));
    p.scaling = meta.scaling;
    p.trainingInfo = meta.training ?? null;
    p.base.restore(meta.residualBase ?? {});
    p.frozen = true;
    return p;
  }

  dispose(): void {
    this.disposeModel();
  }

  private disposeModel(): void {
    this.model?.dispose();
    this.optimizer?.dispose();
    this.model = undefined;
    this.optimizer = undefined;
    this.forward = undefined;
  }

  /**
   * The network's first `outputs` of H outputs (P x H, row-major) on each series' window ending at index `end` of
   * `zx[p * L + i]` (time features `tfeat` by the same index), by the JS forward pass; input and output buffers
   * are reused across calls (the result is valid until the next call).
   */
  private predictWindows(
    zx: Float32Array,
    L: number,
    tfeat: Float32Array | undefined,
    end: number,
    outputs: number,
  ): Float32Array {
    const P = this.dimension;
    const W = this.config.window;
    const F = featureCount(W, this.config.seasonalLag, this.config.timeFeatures);
    if (this.input.length !== P * W * F) this.input = new Float32Array(P * W * F);
    if (this.output.length !== P * this.config.horizon)
      this.output = new Float32Array(P * this.config.horizon);
    const xs = this.input;
    for (let p = 0; p < P; p++) {
      writeWindow(xs, p, W, (i) => zx[p * L + i]!, end, this.lag, tfeat);
    }
    return this.forward!.run(xs, P, this.output, outputs);
  }

  /** The tfjs model's outputs on windows `xs` (n x W x F): what the JS forward pass must reproduce (tests). */
  predictWithTf(xs: Float32Array, n: number): Float32Array {
    const tf = this.tf!;
    const W = this.config.window;
    const F = featureCount(W, this.config.seasonalLag, this.config.timeFeatures);
    return tf.tidy(
      () => (this.model!.predict(tf.tensor3d(xs, [n, W, F])) as Tf.Tensor).dataSync() as Float32Array,
    );
  }

  /** The JS forward pass's outputs on windows `xs` (n x W x F), a fresh array (only the first `outputs` of H). */
  predictWithJs(xs: Float32Array, n: number, outputs = this.config.horizon): Float32Array {
    return this.forward!.run(xs, n, undefined, outputs);
  }

  /** One pass of Adam steps over windows `idx`; returns the mean batch loss. */
  private fitWindows(data: WindowData, idx: Int32Array): number {
    const tf = this.tf!;
    const model = this.model!;
    const optimizer = this.optimizer!;
    const B = this.config.batchSize;
    const { W, H } = data;
    const F = featureCount(W, data.season, data.time !== undefined);
    return fitBatches(tf, optimizer, idx.length, B, this.name, (start, end) => {
      const batch = idx.subarray(start, end);
      const { xs, ys, ws } = gather(data, batch);
      const x = tf.tensor3d(xs, [batch.length, W, F]);
      const y = tf.tensor2d(ys, [batch.length, H]);
      const w = tf.tensor2d(ws, [batch.length, 1]);
      return weightedMae(tf, y, model.apply(x, { training: true }) as Tf.Tensor, w);
    });
  }

  /** The weighted MAE on z of the current network on windows `idx`, or with `lastValue` of the last value. */
  private windowLoss(data: WindowData, idx: Int32Array, lastValue = false): number {
    const tf = this.tf!;
    const { W, H } = data;
    const F = featureCount(W, data.season, data.time !== undefined);
    const B = 1024;
    let sum = 0;
    let weights = 0;
    for (let start = 0; start < idx.length; start += B) {
      const batch = idx.subarray(start, Math.min(start + B, idx.length));
      const { xs, ys, ws } = gather(data, batch);
      const pred = lastValue
        ? new Float32Array(ys.length)
        : tf.tidy(
            () =>
              (
                this.model!.predict(tf.tensor3d(xs, [batch.length, W, F])) as Tf.Tensor
              ).dataSync() as Float32Array,
          );
      for (let i = 0; i < batch.length; i++) {
        let e = 0;
        for (let h = 0; h < H; h++) e += Math.abs(pred[i * H + h]! - ys[i * H + h]!);
        sum += (ws[i]! * e) / H;
        weights += ws[i]!;
      }
    }
    return sum / weights;
  }
}

/** Scaled history and its time features, as the network consumes them. */
interface WindowData {
  /** z[t * P + p]. */
  z: Float32Array;
  /** z of the base of each origin and horizon, base[(t H + h) P + p] (ResidualBase.historyZ). */
  base: Float32Array;
  /** time[t * 4 + f], f: sin/cos time of day, sin/cos day of week; undefined without time features. */
  time: Float32Array | undefined;
  P: number;
  W: number;
  H: number;
  /** The first window's last time. */
  t0: number;
  /** S, the seasonal lag (0: none). */
  season: number;
  scaling: ValueScaling;
}

/**
 * F, the features of one window row: z, the seasonal lag when S > 0, the 4 time features when `time`, the one-hot
 * position.
 */
function featureCount(W: number, season: number, time: boolean): number {
  return 1 + (season > 0 ? 1 : 0) + (time ? TIME_FEATURES : 0) + W;
}

/**
 * Writes window k (W rows of F features) into `xs`: row j, index i = end - W + 1 + j, gets zAt(i), the seasonal
 * lag zAt(i + lead - S) when S > 0, the time features of index i of `time` when given, and the one-hot of j.
 */
function writeWindow(
  xs: Float32Array,
  k: number,
  W: number,
  zAt: (i: number) => number,
  end: number,
  lag: SeasonalLag,
  time: Float32Array | undefined,
): void {
  const F = featureCount(W, lag.season, time !== undefined);
  xs.fill(0, k * W * F, (k + 1) * W * F);
  for (let j = 0; j < W; j++) {
    const i = end - W + 1 + j;
    let o = (k * W + j) * F;
    xs[o++] = zAt(i);
    if (lag.season > 0) xs[o++] = zAt(i + lag.lead - lag.season);
    if (time) for (let f = 0; f < TIME_FEATURES; f++) xs[o++] = time[i * TIME_FEATURES + f]!;
    xs[o + j] = 1;
  }
}

/** Inputs (n x W x F), targets (n x H: z_{t+h} - z_t) and weights (n: x_t / s0 + 1) of windows `idx`. */
function gather(data: WindowData, idx: Int32Array): { xs: Float32Array; ys: Float32Array; ws: Float32Array } {
  const { z, time, P, W, H, scaling } = data;
  const xs = new Float32Array(idx.length * W * featureCount(W, data.season, data.time !== undefined));
  const ys = new Float32Array(idx.length * H);
  const ws = new Float32Array(idx.length);
  const lag = { season: data.season, lead: H };
  for (let i = 0; i < idx.length; i++) {
    const k = idx[i]!;
    const p = k % P;
    const t = (k - p) / P + data.t0;
    writeWindow(xs, i, W, (r) => z[r * P + p]!, t, lag, time);
    const last = z[t * P + p]!;
    for (let h = 0; h < H; h++) ys[i * H + h] = z[(t + 1 + h) * P + p]! - data.base[(t * H + h) * P + p]!;
    ws[i] = fromZ(last, scaling) / scaling.scale + 1;
  }
  return { xs, ys, ws };
}

/** sum(w |y - yhat|) / (sum(w) H): the weighted mean absolute error over windows and horizons. */
function weightedMae(tf: typeof Tf, y: Tf.Tensor, yhat: Tf.Tensor, w: Tf.Tensor): Tf.Scalar {
  const H = y.shape[1]!;
  return tf.div(tf.sum(tf.mul(tf.abs(tf.sub(y, yhat)), w)), tf.mul(tf.sum(w), H)) as Tf.Scalar;
}

/** The layers of a built network that hold weights, kept to read them into {@link TransformerForward}. */
interface NetLayers {
  input: Tf.layers.Layer;
  blocks: {
    norm1: Tf.layers.Layer;
    heads: { q: Tf.layers.Layer; k: Tf.layers.Layer; v: Tf.layers.Layer }[];
    out: Tf.layers.Layer;
    norm2: Tf.layers.Layer;
    ff1: Tf.layers.Layer;
    ff2: Tf.layers.Layer;
  }[];
  finalNorm: Tf.layers.Layer;
  head: Tf.layers.Layer;
}

/** The network of the module doc, with glorotUniform initializers seeded from `init`, and its weighted layers. */
function buildModel(
  tf: typeof Tf,
  c: TransformerConfig,
  init: RandomStream,
): { model: Tf.LayersModel; layers: NetLayers } {
  const glorot = () => tf.initializers.glorotUniform({ seed: seedFrom(init) });
  const input = tf.input({ shape: [c.window, featureCount(c.window, c.seasonalLag, c.timeFeatures)] });
  const inputLayer = tf.layers.dense({ units: c.dModel, kernelInitializer: glorot() });
  let x = inputLayer.apply(input) as Tf.SymbolicTensor;
  const blocks: NetLayers["blocks"] = [];
  for (let b = 0; b < c.blocks; b++) {
    const block = encoderBlock(tf, x, c, glorot);
    x = block.output;
    blocks.push(block.layers);
  }
  const finalNorm = tf.layers.layerNormalization({ axis: -1 });
  x = finalNorm.apply(x) as Tf.SymbolicTensor;
  const flat = tf.layers.flatten().apply(x) as Tf.SymbolicTensor;
  const head = tf.layers.dense({ units: c.horizon, kernelInitializer: "zeros", biasInitializer: "zeros" });
  const output = head.apply(flat) as Tf.SymbolicTensor;
  return {
    model: tf.model({ inputs: input, outputs: output }),
    layers: { input: inputLayer, blocks, finalNorm, head },
  };
}

/** One pre-LN encoder block: multi-head self-attention and the position-wise feed-forward, each residual. */
function encoderBlock(
  tf: typeof Tf,
  x: Tf.SymbolicTensor,
  c: TransformerConfig,
  glorot: () => ReturnType<typeof Tf.initializers.glorotUniform>,
): { output: Tf.SymbolicTensor; layers: NetLayers["blocks"][number] } {
  const dk = c.dModel / c.heads;
  const apply = (layer: Tf.layers.Layer, input: Tf.SymbolicTensor | Tf.SymbolicTensor[]) =>
    layer.apply(input) as Tf.SymbolicTensor;
  const norm1 = tf.layers.layerNormalization({ axis: -1 });
  const h = apply(norm1, x);
  const heads: Tf.SymbolicTensor[] = [];
  const headLayers: NetLayers["blocks"][number]["heads"] = [];
  for (let i = 0; i < c.heads; i++) {
    const projection = () => tf.layers.dense({ units: dk, useBias: false, kernelInitializer: glorot() });
    const ql = projection();
    const kl = projection();
    const vl = projection();
    headLayers.push({ q: ql, k: kl, v: vl });
    const [q, k, v] = [apply(ql, h), apply(kl, h), apply(vl, h)];
    const scores = apply(
      tf.layers.rescaling({ scale: 1 / Math.sqrt(dk) }),
      apply(tf.layers.dot({ axes: [2, 2] }), [q, k]),
    );
    const attention = apply(tf.layers.softmax({ axis: -1 }), scores);
    heads.push(apply(tf.layers.dot({ axes: [2, 1] }), [attention, v]));
  }
  const merged = heads.length > 1 ? apply(tf.layers.concatenate({ axis: -1 }), heads) : heads[0]!;
  const out = tf.layers.dense({ units: c.dModel, kernelInitializer: glorot() });
  const x1 = apply(tf.layers.add(), [x, apply(out, merged)]);
  const norm2 = tf.layers.layerNormalization({ axis: -1 });
  const h2 = apply(norm2, x1);
  const ff1 = tf.layers.dense({ units: 2 * c.dModel, activation: "relu", kernelInitializer: glorot() });
  const ff2 = tf.layers.dense({ units: c.dModel, kernelInitializer: glorot() });
  const ff = apply(ff2, apply(ff1, h2));
  return {
    output: apply(tf.layers.add(), [x1, ff]),
    layers: { norm1, heads: headLayers, out, norm2, ff1, ff2 },
  };
}

/** The weights of a built network's layers, as the JS forward pass reads them. */
function extractWeights(layers: NetLayers, window: number): TransformerNetWeights {
  const values = (l: Tf.layers.Layer) => l.getWeights().map((w) => ({ shape: w.shape, data: w.dataSync() }));
  const dense = (l: Tf.layers.Layer): DenseWeights => {
    const [k, b] = values(l);
    if (!k) throw new PredictorError(`transformer: layer ${l.name} has no kernel`);
    return {
      inputs: k.shape[0]!,
      outputs: k.shape[1]!,
      kernel: Float64Array.from(k.data),
      ...(b ? { bias: Float64Array.from(b.data) } : {}),
    };
  };
  const norm = (l: Tf.layers.Layer): NormWeights => {
    const [g, b] = values(l);
    if (!g || !b) throw new PredictorError(`transformer: layer ${l.name} has no gamma or beta`);
    return { gamma: Float64Array.from(g.data), beta: Float64Array.from(b.data) };
  };
  return {
    window,
    input: dense(layers.input),
    blocks: layers.blocks.map((b) => ({
      norm1: norm(b.norm1),
      heads: b.heads.map((h) => ({ q: dense(h.q), k: dense(h.k), v: dense(h.v) })),
      out: dense(b.out),
      norm2: norm(b.norm2),
      ff1: dense(b.ff1),
      ff2: dense(b.ff2),
    })),
    finalNorm: norm(layers.finalNorm),
    head: dense(layers.head),
  };
}

function validateConfig(c: TransformerConfig): TransformerConfig {
  checkInt("transformer", "horizon", c.horizon, 1);
  checkDeepConfig("transformer", c, c.horizon);
  checkInt("transformer", "dModel", c.dModel, 1);
  checkInt("transformer", "heads", c.heads, 1);
  checkInt("transformer", "blocks", c.blocks, 1);
  checkBaseConfig("transformer", c, ["last", "ewma", "linear"]);
  if (c.dModel % c.heads !== 0) {
    throw new PredictorError(`transformer.heads: expected a divisor of dModel (${c.dModel}), got ${c.heads}`);
  }
  return c;
}
