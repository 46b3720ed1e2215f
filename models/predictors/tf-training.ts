/**
 * The training loop the deep predictors (LSTM, Transformer) share: minibatch optimizer steps, and epochs with early
 * stopping on a validation loss that keep the best epoch's weights.
 */
import type * as Tf from "@tensorflow/tfjs";
import type { RandomStream } from "../../sim/kernel/rng.ts";
import { PredictorError } from "./predictor.ts";

/**
 * One pass of `optimizer` steps over `n` items in consecutive batches of at most `batchSize`: `lossOf(start, end)`
 * builds the scalar loss of items start .. end-1 (it runs inside `optimizer.minimize`, in a tidy, so its tensors
 * are freed). Returns the mean batch loss. @throws PredictorError naming `name` when the optimizer gives no loss.
 */
export function fitBatches(
  tf: typeof Tf,
  optimizer: Tf.Optimizer,
  n: number,
  batchSize: number,
  name: string,
  lossOf: (start: number, end: number) => Tf.Scalar,
): number {
  let sum = 0;
  let batches = 0;
  for (let start = 0; start < n; start += batchSize) {
    const end = Math.min(start + batchSize, n);
    const cost = tf.tidy(() => {
      const c = optimizer.minimize(() => lossOf(start, end), true);
      if (!c) throw new PredictorError(`${name}: the optimizer returned no loss`);
      return c;
    });
    sum += cost.dataSync()[0]!;
    cost.dispose();
    batches++;
  }
  return sum / Math.max(batches, 1);
}

/** What a deep predictor's training did (LSTM: recorded in the saved model; Transformer: adds its size). */
export interface TfTrainingInfo {
  backend: string;
  intervals: number;
  pairs: number;
  trainWindows: number;
  validationWindows: number;
  epochs: number;
  bestEpoch: number;
  bestValidationLoss: number;
  trainLoss: number[];
  validationLoss: number[];
  /** The validation loss of forecasting the last value (at every horizon), the bar the model must clear. */
  lastValueValidationLoss: number;
  seconds: number;
}

/** What {@link fitWithEarlyStopping} did. */
export interface EarlyStoppingRecord {
  epochs: number;
  bestEpoch: number;
  bestValidationLoss: number;
  trainLoss: number[];
  validationLoss: number[];
}

/**
 * Up to `epochs` epochs of `trainEpoch` (returns the epoch's training loss), each followed by `validate` (returns
 * the validation loss; given the training loss for when there is no validation set); stops after `patience`
 * epochs without improvement and leaves `model` with the best epoch's weights. With `initialLoss` (the validation
 * loss of the weights before training) the untrained weights are epoch 0 and compete: a model whose output starts
 * at its base then never ends worse than the base on the validation set. Yields to the event loop between epochs,
 * so timers and signals get through.
 */
export async function fitWithEarlyStopping(
  model: Tf.LayersModel,
  limits: { epochs: number; patience: number },
  trainEpoch: () => number,
  validate: (trainLoss: number) => number,
  initialLoss?: number,
): Promise<EarlyStoppingRecord> {
  const trainLoss: number[] = [];
  const validationLoss: number[] = [];
  let best = initialLoss ?? Number.POSITIVE_INFINITY;
  let bestEpoch = 0;
  let bestWeights: Tf.Tensor[] | undefined =
    initialLoss === undefined ? undefined : model.getWeights().map((w) => w.clone());
  for (let epoch = 1; epoch <= limits.epochs; epoch++) {
    const tl = trainEpoch();
    trainLoss.push(tl);
    const vl = validate(tl);
    validationLoss.push(vl);
    if (vl < best) {
      best = vl;
      bestEpoch = epoch;
      for (const w of bestWeights ?? []) w.dispose();
      bestWeights = model.getWeights().map((w) => w.clone());
    } else if (epoch - bestEpoch >= limits.patience) {
      break;
    }
    await new Promise((resolve) => setImmediate(resolve));
  }
  if (bestWeights) {
    model.setWeights(bestWeights);
    for (const w of bestWeights) w.dispose();
  }
  return { epochs: trainLoss.length, bestEpoch, bestValidationLoss: best, trainLoss, validationLoss };
}

/**
 * An epoch's training items: `idx` shuffled in place by `rng` (so successive epochs draw afresh), then its first
 * `perEpoch` items (all when 0 or not fewer).
 */
export function drawEpoch(idx: Int32Array, perEpoch: number, rng: RandomStream): Int32Array {
  shuffleInPlace(idx, rng);
  return idx.subarray(0, perEpoch > 0 ? Math.min(perEpoch, idx.length) : idx.length);
}

/** Fisher-Yates shuffle driven by `rng`. */
export function shuffleInPlace(a: Int32Array, rng: RandomStream): void {
  for (let i = a.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    const t = a[i]!;
    a[i] = a[j]!;
    a[j] = t;
  }
}

/** A random subset of at most `max` elements (all when max is 0 or not smaller), in ascending order. */
export function subset(a: Int32Array, max: number, rng: RandomStream): Int32Array {
  if (max <= 0 || a.length <= max) return a;
  const copy = Int32Array.from(a);
  for (let i = 0; i < max; i++) {
    const j = i + rng.int(copy.length - i);
    const t = copy[i]!;
    copy[i] = copy[j]!;
    copy[j] = t;
  }
  return copy.subarray(0, max).sort();
}
