/**
 * Predictors by name, as configs and the `topocast predict --predictors` list spell them.
 *
 * | name           | predictor                              | options used                 |
 * |----------------|----------------------------------------|------------------------------|
 * | lv             | last value                             | -                            |
 * | seasonal-naive | value one period ago                   | period (required)            |
 * | ma             | moving average                         | window                       |
 * | ewma           | exponentially weighted moving average  | alpha                        |
 * | hw             | Holt-Winters additive                  | period (required), alpha, beta, gamma |
 * | lstm           | LSTM (TensorFlow.js)                   | lstm                         |
 * | transformer    | Transformer encoder (TensorFlow.js)    | transformer                  |
 * | linear         | pooled direct linear AR in log space   | linear                       |
 * | oracle         | the actual future                      | oracle (required)            |
 */
import * as z from "zod";
import { EwmaPredictor } from "./ewma.ts";
import { HoltWintersPredictor } from "./holt-winters.ts";
import { LastValuePredictor } from "./last-value.ts";
import { type LinearOptions, LinearPredictor } from "./linear.ts";
import { type LstmOptions, LstmPredictor } from "./lstm.ts";
import { MovingAveragePredictor } from "./moving-average.ts";
import { type OracleOptions, OraclePredictor } from "./oracle.ts";
import { type Predictor, PredictorError } from "./predictor.ts";
import { SeasonalNaivePredictor } from "./seasonal-naive.ts";
import { type TransformerOptions, TransformerPredictor } from "./transformer.ts";

export const PREDICTOR_NAMES = [
  "lv",
  "seasonal-naive",
  "ma",
  "ewma",
  "hw",
  "lstm",
  "transformer",
  "linear",
  "oracle",
] as const;
export type PredictorName = (typeof PREDICTOR_NAMES)[number];

export interface PredictorOptions {
  /** P, the number of pairs per sample. */
  dimension: number;
  /** Season length in intervals (seasonal-naive, hw), e.g. 288 for a day of 5-minute intervals. */
  period?: number;
  /** Moving-average window in intervals (ma; default 12). */
  window?: number;
  /** Smoothing constants (ewma: alpha; hw: alpha, beta, gamma); tuned by `train` when absent. */
  alpha?: number;
  beta?: number;
  gamma?: number;
  /** LSTM parameters (see LstmConfig). */
  lstm?: LstmOptions;
  /** Transformer parameters (see TransformerConfig). */
  transformer?: TransformerOptions;
  /** Pooled linear model parameters (see LinearConfig). */
  linear?: LinearOptions;
  /** The future the oracle reads. */
  oracle?: OracleOptions;
}

const doc = (description: string) => ({ description });
const period = z
  .int()
  .min(1)
  .meta(doc("Season length in intervals, e.g. 288 for a day of 5-minute intervals (required)."));
const smoothing = (what: string, lo: "open" | "closed") =>
  (lo === "open" ? z.number().gt(0) : z.number().min(0))
    .max(1)
    .optional()
    .meta(doc(`${what}; tuned on the training history when absent.`));
const count = (min: number, what: string) => z.int().min(min).optional().meta(doc(what));

/** The residual-base parameters of the deep predictors (deep-setup.ts DeepBaseConfig); `note` adds to base's doc. */
function baseParams(note: string) {
  return {
    base: z
      .enum(["last", "ewma", "linear"])
      .optional()
      .meta(
        doc(
          `What the residual is over: the last value, an EWMA of the values, or the pooled linear model's forecast. ${note}(default "last").`,
        ),
      ),
    baseAlpha: z
      .number()
      .min(0)
      .max(1)
      .optional()
      .meta(doc("Smoothing constant of the EWMA base, 0 = tuned on the training history (default 0).")),
    baseWindow: count(1, "W of the linear base, intervals (default 36)."),
  };
}

/** `params.lstm` of the LSTM predictor: {@link LstmConfig}, every field optional (defaults in LSTM_DEFAULTS). */
const LstmParamsSchema = z
  .strictObject({
    window: count(1, "W, intervals per input window (default 12)."),
    units: count(1, "Units per LSTM layer (default 16)."),
    layers: count(1, "Stacked LSTM layers (default 1)."),
    epochs: count(1, "Maximum training epochs (default 30)."),
    batchSize: count(1, "Windows per gradient step (default 512)."),
    learningRate: z.number().gt(0).optional().meta(doc("Adam step size (default 0.003).")),
    loss: z.enum(["mae", "mse"]).optional().meta(doc('Training loss (default "mae").')),
    residual: z.boolean().optional().meta(doc("Predict the change instead of the value (default true).")),
    weighting: z.enum(["none", "volume"]).optional().meta(doc('Per-window loss weights (default "volume").')),
    validationFraction: z
      .number()
      .min(0)
      .max(0.5)
      .optional()
      .meta(doc("Fraction of the history held out for early stopping (default 0.1).")),
    patience: count(1, "Epochs without improvement before stopping (default 3)."),
    windowsPerEpoch: count(0, "Training windows per epoch, 0 = all (default 8192)."),
    validationWindows: count(0, "Cap on validation windows, 0 = all (default 8192)."),
    fineTuneEvery: count(0, "Fine-tune every K observed intervals, 0 = never (default 0)."),
    fineTuneIntervals: count(2, "Intervals of recent history a fine-tune trains on, > window (default 288)."),
    fineTuneEpochs: count(1, "Passes over the recent windows per fine-tune (default 1)."),
    heads: count(
      0,
      "H > 0: H outputs forecasting 1 .. H steps directly; 0: one output fed back (default 0).",
    ),
    ...baseParams('"linear" needs heads >= 1. '),
    pairScaling: z
      .boolean()
      .optional()
      .meta(doc("Divide each pair by its training mean before scaling (default false).")),
    seasonalLag: count(0, "Season of the seasonal lag input channel in intervals, 0 = none (default 0)."),
    logScale: z.boolean().optional().meta(doc("Scale values by log1p, else linearly (default true).")),
    timeFeatures: z
      .boolean()
      .optional()
      .meta(doc("Time of day and day of week as input channels (default false).")),
    intervalNs: z
      .number()
      .gt(0)
      .optional()
      .meta(doc("Interval length in ns assumed when training gets no times (default 300e9, 5 minutes).")),
    seed: z
      .union([z.int(), z.string()])
      .optional()
      .meta(doc("Seed of the predictor's own streams (default 1).")),
  })
  .superRefine((c, ctx) => {
    const w = c.window ?? 12;
    if (c.fineTuneIntervals !== undefined && c.fineTuneIntervals <= w) {
      ctx.addIssue({
        code: "custom",
        path: ["fineTuneIntervals"],
        message: `expected more than window (${w}) intervals, got ${c.fineTuneIntervals}`,
      });
    }
  });

/**
 * `params.transformer` of the Transformer predictor: {@link TransformerConfig}, every field optional (defaults in
 * TRANSFORMER_DEFAULTS).
 */
const TransformerParamsSchema = z
  .strictObject({
    window: count(1, "W, intervals per input window (default 12)."),
    horizon: count(1, "H, intervals forecast directly; more are fed back (default 12)."),
    dModel: count(1, "d_model, the encoder width (default 16)."),
    heads: count(1, "Attention heads, a divisor of dModel (default 2)."),
    blocks: count(1, "Encoder blocks (default 1)."),
    epochs: count(1, "Maximum training epochs (default 30)."),
    batchSize: count(1, "Windows per gradient step (default 256)."),
    learningRate: z.number().gt(0).optional().meta(doc("Adam step size (default 0.002).")),
    patience: count(1, "Epochs without improvement before stopping (default 3)."),
    validationFraction: z
      .number()
      .min(0)
      .max(0.5)
      .optional()
      .meta(doc("Fraction of the history held out for early stopping (default 0.1).")),
    windowsPerEpoch: count(0, "Training windows per epoch, 0 = all (default 8192)."),
    validationWindows: count(0, "Cap on validation windows, 0 = all (default 4096)."),
    intervalNs: z
      .number()
      .gt(0)
      .optional()
      .meta(doc("Interval length in ns assumed when training gets no times (default 300e9, 5 minutes).")),
    seasonalLag: count(
      0,
      "Season of the seasonal lag input channel in intervals, >= horizon, 0 = none (default 0).",
    ),
    ...baseParams(""),
    logScale: z.boolean().optional().meta(doc("Scale values by log1p, else linearly (default true).")),
    timeFeatures: z
      .boolean()
      .optional()
      .meta(doc("Time of day and day of week as input features (default true).")),
    seed: z
      .union([z.int(), z.string()])
      .optional()
      .meta(doc("Seed of the predictor's own streams (default 1).")),
  })
  .superRefine((c, ctx) => {
    const d = c.dModel ?? 16;
    const h = c.heads ?? 2;
    if (d % h !== 0) {
      ctx.addIssue({
        code: "custom",
        path: ["heads"],
        message: `expected a divisor of dModel (${d}), got ${h}`,
      });
    }
  });

/**
 * The `params` each predictor accepts in a config, declared once: a strict object per name (an unknown or
 * misspelt parameter is an error), with types, ranges and required fields, checked at validate time.
 */
export const PREDICTOR_PARAMS = {
  lv: z.strictObject({}),
  "seasonal-naive": z.strictObject({ period }),
  ma: z.strictObject({ window: count(1, "w, the number of latest intervals averaged (default 12).") }),
  ewma: z.strictObject({ alpha: smoothing("Smoothing constant in (0, 1]", "open") }),
  hw: z.strictObject({
    period,
    alpha: smoothing("Level smoothing constant in (0, 1]", "open"),
    beta: smoothing("Trend smoothing constant in [0, 1]", "closed"),
    gamma: smoothing("Season smoothing constant in [0, 1]", "closed"),
  }),
  lstm: z.strictObject({ lstm: LstmParamsSchema.optional().meta(doc("LSTM settings (LstmConfig).")) }),
  transformer: z.strictObject({
    transformer: TransformerParamsSchema.optional().meta(doc("Transformer settings (TransformerConfig).")),
  }),
  linear: z.strictObject({
    linear: z
      .strictObject({
        window: count(1, "W, the latest intervals in each forecast's inputs (default 36)."),
        horizon: count(1, "H, the horizons fitted directly; beyond H the H-step forecast (default 12)."),
        seasonalLag: count(0, "S, the seasonal lag in intervals, > horizon + 1, 0 = none (default 0)."),
        ridge: z.number().min(0).optional().meta(doc("Ridge factor (default 1e-6).")),
      })
      .optional()
      .meta(doc("Linear model settings (LinearConfig).")),
  }),
  oracle: z.strictObject({}),
} as const satisfies Readonly<Record<PredictorName, z.ZodObject>>;

/**
 * A config's `predictor` section, validated: a predictor's name with its own params (a discriminated union by
 * name, so each predictor's params are typed).
 */
export type PredictorConfig = {
  [N in PredictorName]: { name: N; params: z.output<(typeof PREDICTOR_PARAMS)[N]> };
}[PredictorName];

/** The predictor a forecasting policy uses when its config entry names none. */
export const DEFAULT_PREDICTOR: PredictorConfig = { name: "ewma", params: {} };

/** One line per predictor, for docs and the config schema. */
export const PREDICTOR_DOCS: Readonly<Record<PredictorName, string>> = {
  lv: "Last value.",
  "seasonal-naive": "The value one period ago.",
  ma: "Moving average.",
  ewma: "Exponentially weighted moving average.",
  hw: "Holt-Winters additive.",
  lstm: "LSTM on TensorFlow.js.",
  transformer: "Transformer encoder on TensorFlow.js (multi-horizon, time-of-day and day-of-week features).",
  linear:
    "Pooled direct linear autoregression in log space over an EWMA base (all pairs jointly, one fit per horizon).",
  oracle: "The actual future (perfect foresight: the bound).",
};

/** True when `name` is a registered predictor name. */
export function isPredictorName(name: string): name is PredictorName {
  return (PREDICTOR_NAMES as readonly string[]).includes(name);
}

/**
 * A new predictor by registry name.
 * @throws PredictorError for an unknown name (listing the valid ones), a missing required option, or an invalid
 * parameter.
 */
export function createPredictor(name: string, opts: PredictorOptions): Predictor {
  const need = <T>(value: T | undefined, option: string, what: string): T => {
    if (value === undefined) throw new PredictorError(`${name}: option ${option} (${what}) is required`);
    return value;
  };
  switch (name) {
    case "lv":
      return new LastValuePredictor(opts.dimension);
    case "seasonal-naive":
      return new SeasonalNaivePredictor(opts.dimension, { period: need(opts.period, "period", "intervals") });
    case "ma":
      return new MovingAveragePredictor(opts.dimension, { window: opts.window });
    case "ewma":
      return new EwmaPredictor(opts.dimension, { alpha: opts.alpha });
    case "hw":
      return new HoltWintersPredictor(opts.dimension, {
        period: need(opts.period, "period", "intervals"),
        alpha: opts.alpha,
        beta: opts.beta,
        gamma: opts.gamma,
      });
    case "lstm":
      return new LstmPredictor(opts.dimension, opts.lstm);
    case "transformer":
      return new TransformerPredictor(opts.dimension, opts.transformer);
    case "linear":
      return new LinearPredictor(opts.dimension, opts.linear);
    case "oracle":
      return new OraclePredictor(
        opts.dimension,
        need(opts.oracle, "oracle", "the series to read the future from"),
      );
    default:
      throw new PredictorError(`unknown predictor "${name}"; valid names: ${PREDICTOR_NAMES.join(", ")}`);
  }
}
