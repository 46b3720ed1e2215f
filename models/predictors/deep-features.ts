/**
 * The input features the deep predictors (LSTM, Transformer) share and the simple ones lack: value scaling (log1p
 * or linear), the seasonal lag channel and the time-of-day / day-of-week features, plus the ring of recent raw
 * observations both keep for forecasting.
 *
 * Scaling (fitted on the training history, stored with the model): with s0 the mean of the history's positive
 * values, u = log1p(max(x, 0) / s0) (`log`, the default) or u = max(x, 0) / s0 (linear), and z = (u - mu) / sigma,
 * mu and sigma the mean and standard deviation of u over the history. The log compresses the heavy-tailed volumes
 * so small and large series train alike. Back: x = s0 expm1(u) (log) or s0 u, with u = sigma z + mu clamped to
 * [0, u_max + 2] (u_max the history's largest u) so a stray output cannot overflow.
 *
 * Seasonal lag (season S intervals, lead l, 1 <= l <= S): window row j, the series' interval i, carries beside
 * z_i the value z_{i + l - S}, one season before the interval l after it. With l = 1 (the LSTM, one step at a
 * time) the window's last row carries z_{t+1-S}, the seasonal-naive forecast of the next target; with l = H (the
 * Transformer, H outputs at once) the last H rows carry the season-ago values of all H targets. A window whose
 * first lag would fall before the series' start is not formed: training windows start at t = S - l + W - 1.
 *
 * Time features: sin and cos of the time of day and of the day of week of an interval's end time (ns since the
 * Unix epoch, or any origin: only the phase within a day / week matters).
 */
import { PredictorError } from "./predictor.ts";

/** The value scaling of the module doc, fitted on a training history. */
export interface ValueScaling {
  /** s0, the mean positive value of the history (the data's unit). */
  scale: number;
  mu: number;
  sigma: number;
  uMax: number;
  /** log1p (true, also when absent: models saved before the option) or linear (false). */
  log?: boolean;
}

/** The scaling of the module doc fitted on `history` (T x P); `log` false for the linear variant. */
export function fitScaling(history: readonly Float64Array[], log = true): ValueScaling {
  let sum = 0;
  let positives = 0;
  for (const row of history) {
    for (const v of row) {
      if (v > 0) {
        sum += v;
        positives++;
      }
    }
  }
  const scale = positives > 0 ? sum / positives : 1;
  let n = 0;
  let mean = 0;
  let m2 = 0;
  let uMax = 0;
  for (const row of history) {
    for (const v of row) {
      const u = log ? Math.log1p(Math.max(v, 0) / scale) : Math.max(v, 0) / scale;
      n++;
      const d = u - mean;
      mean += d / n;
      m2 += d * (u - mean);
      if (u > uMax) uMax = u;
    }
  }
  const sigma = Math.sqrt(m2 / n);
  return { scale, mu: mean, sigma: sigma > 0 ? sigma : 1, uMax, log };
}

/** z of a raw value under scaling `s`. */
export function toZ(x: number, s: ValueScaling): number {
  const v = Math.max(x, 0) / s.scale;
  return ((s.log === false ? v : Math.log1p(v)) - s.mu) / s.sigma;
}

/** z clamped to the scaling's range (u in [0, u_max + 2]): what a forecast z becomes before it is fed back. */
export function clampZ(z: number, s: ValueScaling): number {
  const u = Math.min(Math.max(z * s.sigma + s.mu, 0), s.uMax + 2);
  return (u - s.mu) / s.sigma;
}

/** The raw value of z under scaling `s` (clamped as the module doc says); toZ's inverse on [0, s0 expm1(u_max)]. */
export function fromZ(z: number, s: ValueScaling): number {
  const u = Math.min(Math.max(z * s.sigma + s.mu, 0), s.uMax + 2);
  return s.scale * (s.log === false ? u : Math.expm1(u));
}

/** `rows` scaled to z, row-major (z[t * P + p]), Float32 as the networks consume it. */
export function scaleRows(rows: readonly Float64Array[], s: ValueScaling): Float32Array {
  const P = rows[0]?.length ?? 0;
  const z = new Float32Array(rows.length * P);
  rows.forEach((row, t) => {
    for (let p = 0; p < P; p++) z[t * P + p] = toZ(row[p]!, s);
  });
  return z;
}

/** Seasonal lag settings: season S (0 = no lag channel) and lead l. */
export interface SeasonalLag {
  season: number;
  lead: number;
}

/** The first window end t a series admits: W - 1, or S - l + W - 1 with a lag channel. */
export function firstWindowEnd(W: number, lag: SeasonalLag): number {
  return lag.season > 0 ? lag.season - lag.lead + W - 1 : W - 1;
}

/** Observations to keep for a forecast: W, or W + S with a lag channel. */
export function historyNeeded(W: number, lag: SeasonalLag): number {
  return lag.season > 0 ? W + lag.season : W;
}

/** Throws unless S is 0 or an integer >= l (the lag of the last target must be observed). */
export function checkSeasonalLag(name: string, lag: SeasonalLag): void {
  if (!Number.isInteger(lag.season) || lag.season < 0 || (lag.season > 0 && lag.season < lag.lead)) {
    throw new PredictorError(
      `${name}.seasonalLag: expected 0 (off) or an integer number of intervals >= ${lag.lead}, got ${lag.season}`,
    );
  }
}

/** Time features per interval: sin/cos of the time of day, sin/cos of the day of week. */
export const TIME_FEATURES = 4;
const DAY_NS = 86_400e9;
const WEEK_NS = 7 * DAY_NS;

/** sin/cos of the time of day and of the day of week of each time (ns): out[t * 4 + f]. */
export function timeFeatures(timesNs: ArrayLike<number>): Float32Array {
  const out = new Float32Array(timesNs.length * TIME_FEATURES);
  for (let t = 0; t < timesNs.length; t++) {
    const day = (2 * Math.PI * mod(timesNs[t]!, DAY_NS)) / DAY_NS;
    const week = (2 * Math.PI * mod(timesNs[t]!, WEEK_NS)) / WEEK_NS;
    out.set([Math.sin(day), Math.cos(day), Math.sin(week), Math.cos(week)], t * TIME_FEATURES);
  }
  return out;
}

function mod(a: number, m: number): number {
  const r = a % m;
  return r < 0 ? r + m : r;
}

/** Each history row's end time: `endNs`, or row t of T ending at (t - T + 1) x `intervalNs` (history ends at 0). */
export function historyTimes(T: number, intervalNs: number, endNs?: ArrayLike<number>): Float64Array {
  return Float64Array.from({ length: T }, (_, t) => (endNs ? endNs[t]! : (t - T + 1) * intervalNs));
}

/**
 * The latest `cap` raw observations of P series with their end times, oldest overwritten first; what a deep
 * predictor forecasts from.
 */
export class ObservationRing {
  /** Observations seen so far. */
  count = 0;
  private readonly values: Float64Array;
  private readonly times: Float64Array;

  constructor(
    readonly P: number,
    readonly cap: number,
  ) {
    this.values = new Float64Array(cap * P);
    this.times = new Float64Array(cap);
  }

  push(timeNs: number, sample: Float64Array): void {
    const slot = this.count % this.cap;
    this.values.set(sample, slot * this.P);
    this.times[slot] = timeNs;
    this.count++;
  }

  /** The latest observation (a view; valid until the next push). @throws before any. */
  last(): Float64Array {
    return this.row(this.count - 1);
  }

  /** Observation number `k` (0 = the first ever; must be among the latest `cap`), a view. */
  row(k: number): Float64Array {
    const slot = k % this.cap;
    return this.values.subarray(slot * this.P, (slot + 1) * this.P);
  }

  /** The end time of observation `k`. */
  time(k: number): number {
    return this.times[k % this.cap]!;
  }

  /**
   * The latest `n` observations (n <= min(count, cap)) scaled to z, series-major: `out[p * stride + i]`, i = 0 the
   * oldest; `stride` >= n leaves room after them (for forecasts fed back). Writes into `out` when given.
   */
  latestZ(n: number, s: ValueScaling, stride = n, out?: Float32Array): Float32Array {
    const z = out ?? new Float32Array(this.P * stride);
    for (let i = 0; i < n; i++) {
      const row = this.row(this.count - n + i);
      for (let p = 0; p < this.P; p++) z[p * stride + i] = toZ(row[p]!, s);
    }
    return z;
  }

  /** The interval between the last two observations, or `fallback` before two (or when they are not increasing). */
  step(fallback: number): number {
    if (this.count < 2) return fallback;
    const d = this.time(this.count - 1) - this.time(this.count - 2);
    return d > 0 ? d : fallback;
  }
}
