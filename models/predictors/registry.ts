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
 * | oracle         | the actual future                      | oracle (required)            |
 */
import { EwmaPredictor } from "./ewma.ts";
import { HoltWintersPredictor } from "./holt-winters.ts";
import { LastValuePredictor } from "./last-value.ts";
import { type LstmOptions, LstmPredictor } from "./lstm.ts";
import { MovingAveragePredictor } from "./moving-average.ts";
import { type OracleOptions, OraclePredictor } from "./oracle.ts";
import { type Predictor, PredictorError } from "./predictor.ts";
import { SeasonalNaivePredictor } from "./seasonal-naive.ts";

export const PREDICTOR_NAMES = ["lv", "seasonal-naive", "ma", "ewma", "hw", "lstm", "oracle"] as const;
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
  /** The future the oracle reads. */
  oracle?: OracleOptions;
}

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
    case "oracle":
      return new OraclePredictor(
        opts.dimension,
        need(opts.oracle, "oracle", "the series to read the future from"),
      );
    default:
      throw new PredictorError(`unknown predictor "${name}"; valid names: ${PREDICTOR_NAMES.join(", ")}`);
  }
}
