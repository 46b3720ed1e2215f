/**
 * Synthetic traffic-matrix series: a gravity model in space, a diurnal and weekly cycle in time, and multiplicative
 * lognormal noise per pair and interval.
 *
 * Space (M. Roughan, "Simplifying the synthesis of Internet traffic matrices", ACM SIGCOMM CCR 35(5), 2005). Each
 * node i has an outgoing mass o_i and an incoming mass d_i, i.i.d. exponential (mean 1; Roughan shows that the
 * ingress and egress volumes of real networks fit an exponential distribution well and that the gravity model
 * with independent ingress and egress volumes then gives realistic matrices). The base matrix is
 * `B_ij = o_i d_j` for i != j, scaled so that sum_ij B_ij = `totalBps`. Self-traffic (i = j), which Roughan's
 * model includes, is left out because series carry a zero diagonal; the off-diagonal entries are renormalized
 * to the total. With `sharedMasses`, o_i = d_i (one mass per node, T_ij proportional to m_i m_j).
 *
 * Time. The rate of pair (i, j) in interval t is
 * `R_ij(t) = B_ij x D(t) x W(t) x exp(sigma Z_ijt - sigma^2 / 2)` with Z_ijt i.i.d. standard normal, where, at the
 * interval's midpoint with clock hour h (from `start`),
 * - `D(t) = 1 + A cos(2 pi (h - peakHour) / 24)` is a one-harmonic 24-hour cycle (mean 1 over a day), and
 * - `W(t) = weekendFactor` on Saturdays and Sundays, 1 otherwise.
 * The noise factor has mean 1, so `totalBps` is the expected network-wide rate averaged over a weekday.
 *
 * Defaults come from the SNDlib Abilene week (2004-03-01 to 03-07, 5-min matrices; see shared/data/SOURCES.md),
 * fitted as follows: A = 0.17 and peakHour = 21.6 are the amplitude (relative to the mean) and phase of the
 * first 24-h harmonic of the network total over the five weekdays, in the files' clock (which matches US
 * afternoon peaks if it is UTC); weekendFactor = 0.70 is the weekend-day mean total over the weekday mean; and
 * sigma = 0.35 is the standard deviation of log(5-min rate / centred 1-hour mean rate) over all pairs and times.
 *
 * Randomness: node masses from the stream `<prefix>/mass/<node id>` (outgoing, then incoming mass), noise from
 * `<prefix>/noise/<source node id>`, drawn per interval in destination order. Adding a node therefore leaves every
 * other node's masses and every other source's noise unchanged.
 */
import type { RandomStreams } from "../../sim/kernel/rng.ts";
import { quote, WorkloadError } from "./errors.ts";
import { formatStamp, isoWeekday, stampMinutes } from "./time-labels.ts";
import type { TrafficMatrixSeries } from "./tm-series.ts";
import { buildSeries, compareIds } from "./tm-series-build.ts";

/** Defaults of {@link GravityOptions}, with their source (see the module comment). */
export const GRAVITY_DEFAULTS = Object.freeze({
  /** 5 min, the Abilene interval. */
  intervalNs: 300e9,
  /** A Monday at midnight, as the Abilene week starts. */
  start: "20040301-0000",
  /** Abilene week, weekday first 24-h harmonic. */
  diurnalAmplitude: 0.17,
  /** Abilene week, hour of the first harmonic's peak. */
  peakHour: 21.6,
  /** Abilene week, weekend-day mean over weekday mean. */
  weekendFactor: 0.7,
  /** Abilene week, sd of log(5-min rate / 1-h mean rate). */
  noiseSigma: 0.35,
  sharedMasses: false,
  streamPrefix: "gravity",
});

export interface GravityOptions {
  /** Node ids (any order; the series sorts them). At least 2. */
  nodes: readonly string[];
  /** Number of intervals (>= 1). */
  intervals: number;
  /** Expected network-wide rate averaged over a weekday, bits/s (> 0). */
  totalBps: number;
  /** Random streams of the run (see the module comment for the stream names). */
  streams: RandomStreams;
  /** Interval length, integer ns. @default 300e9 (5 min) */
  intervalNs?: number;
  /** `YYYYMMDD-HHMM` clock time of interval 0 (sets the hour of day and the weekday). @default "20040301-0000" */
  start?: string;
  /** Relative amplitude A of the 24-h cycle, in [0, 1). @default 0.17 */
  diurnalAmplitude?: number;
  /** Clock hour of the daily peak, in [0, 24). @default 21.6 */
  peakHour?: number;
  /** Multiplier on Saturdays and Sundays, > 0 (1 = no weekly cycle). @default 0.7 */
  weekendFactor?: number;
  /** Standard deviation of the log of the noise factor, >= 0 (0 = no noise). @default 0.35 */
  noiseSigma?: number;
  /** One mass per node (o_i = d_i) instead of independent outgoing and incoming masses. @default false */
  sharedMasses?: boolean;
  /** Prefix of the stream names. @default "gravity" */
  streamPrefix?: string;
}

/** A gravity series and the model's parts, for tests and manifests. */
export interface GravitySeries extends TrafficMatrixSeries {
  /** Outgoing and incoming mass per node (in `nodes` order). */
  readonly massOut: Float64Array;
  readonly massIn: Float64Array;
  /** The base matrix B (N x N row-major, bits/s, sums to `totalBps`). */
  readonly base: Float64Array;
  /** D(t) x W(t) per interval. */
  readonly modulation: Float64Array;
}

/**
 * Generates a gravity-model series (see the module comment).
 * @throws WorkloadError naming the parameter, its value and the allowed range.
 */
export function gravitySeries(opts: GravityOptions): GravitySeries {
  const d = GRAVITY_DEFAULTS;
  const intervalNs = opts.intervalNs ?? d.intervalNs;
  const amplitude = opts.diurnalAmplitude ?? d.diurnalAmplitude;
  const peakHour = opts.peakHour ?? d.peakHour;
  const weekend = opts.weekendFactor ?? d.weekendFactor;
  const sigma = opts.noiseSigma ?? d.noiseSigma;
  const prefix = opts.streamPrefix ?? d.streamPrefix;
  const startLabel = opts.start ?? d.start;
  const source = `gravity(seed=${opts.streams.seed}, run=${opts.streams.run})`;
  const check = (ok: boolean, name: string, value: unknown, allowed: string) => {
    if (!ok) throw new WorkloadError(`${source}: ${name}: expected ${allowed}, got ${quote(value)}`);
  };
  const nodes = [...opts.nodes].sort(compareIds);
  check(nodes.length >= 2, "nodes", nodes.length, "at least 2 node ids");
  nodes.forEach((id, i) => {
    check(id !== "" && (i === 0 || id !== nodes[i - 1]), "nodes", id, "unique non-empty ids");
  });
  check(
    Number.isSafeInteger(opts.intervals) && opts.intervals >= 1,
    "intervals",
    opts.intervals,
    "an integer >= 1",
  );
  check(opts.totalBps > 0 && Number.isFinite(opts.totalBps), "totalBps", opts.totalBps, "a rate > 0 bits/s");
  check(Number.isSafeInteger(intervalNs) && intervalNs > 0, "intervalNs", intervalNs, "an integer > 0 ns");
  check(amplitude >= 0 && amplitude < 1, "diurnalAmplitude", amplitude, "a number in [0, 1)");
  check(peakHour >= 0 && peakHour < 24, "peakHour", peakHour, "an hour in [0, 24)");
  check(weekend > 0 && Number.isFinite(weekend), "weekendFactor", weekend, "a number > 0");
  check(sigma >= 0 && Number.isFinite(sigma), "noiseSigma", sigma, "a number >= 0");
  const startMin = stampMinutes(startLabel);
  check(startMin !== undefined, "start", startLabel, "a YYYYMMDD-HHMM stamp");

  const n = nodes.length;
  const massOut = new Float64Array(n);
  const massIn = new Float64Array(n);
  nodes.forEach((id, i) => {
    const s = opts.streams.stream(`${prefix}/mass/${id}`);
    massOut[i] = s.exponential(1);
    massIn[i] = opts.sharedMasses ? massOut[i]! : s.exponential(1);
  });
  const base = new Float64Array(n * n);
  let sum = 0;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      if (i === j) continue;
      const v = massOut[i]! * massIn[j]!;
      base[i * n + j] = v;
      sum += v;
    }
  }
  for (let k = 0; k < base.length; k++) base[k] = (base[k]! / sum) * opts.totalBps;

  const intervalMin = intervalNs / 60e9;
  const modulation = new Float64Array(opts.intervals);
  // `YYYYMMDD-HHMM` labels when intervals are whole minutes, else none.
  const labels: string[] | undefined = Number.isInteger(intervalMin) ? [] : undefined;
  for (let t = 0; t < opts.intervals; t++) {
    const startOf = startMin! + t * intervalMin;
    const mid = startOf + intervalMin / 2;
    const hour = (((mid / 60) % 24) + 24) % 24;
    const day = isoWeekday(Math.floor(mid));
    const diurnal = 1 + amplitude * Math.cos((2 * Math.PI * (hour - peakHour)) / 24);
    modulation[t] = diurnal * (day >= 5 ? weekend : 1);
    labels?.push(formatStamp(startOf));
  }
  const noise = nodes.map((id) => opts.streams.stream(`${prefix}/noise/${id}`));
  const rates: Float64Array[] = [];
  const shift = (sigma * sigma) / 2;
  for (let t = 0; t < opts.intervals; t++) {
    const m = new Float64Array(n * n);
    const f = modulation[t]!;
    for (let i = 0; i < n; i++) {
      const rng = noise[i]!;
      for (let j = 0; j < n; j++) {
        if (i === j) continue;
        const k = i * n + j;
        m[k] = base[k]! * f * (sigma > 0 ? Math.exp(sigma * rng.normal() - shift) : 1);
      }
    }
    rates.push(m);
  }
  const series = buildSeries({ source, nodes, intervalNs, rates, labels });
  return { ...series, massOut, massIn, base, modulation };
}
