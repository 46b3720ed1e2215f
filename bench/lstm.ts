/**
 * LSTM predictor benchmark on the SNDlib Abilene week (12 nodes, 132 pairs, 2,016 five-minute intervals): train
 * on the first 5 days (1,440 intervals) with the default configuration, then forecast all pairs one step ahead
 * while walking over the last 2 days. Targets: training under 120 s wall time, a 1-step forecast of all pairs
 * under 5 ms. Reports the tfjs backend, CPU seconds beside wall seconds (the wall time stretches on a shared
 * machine), peak memory, and the 1-step MAE next to the last value's as a sanity check.
 *
 * Data: `$TOPOCAST_SHARED_DATA/traffic-matrices/sndlib-abilene-5min`, else `<repo>/../shared/data/...` (ZIB
 * Academic License: read in place, never copied). {@link benchLstm} takes any series loader instead.
 */
import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { seriesMatrix } from "../models/predictors/evaluate.ts";
import { type LstmOptions, LstmPredictor } from "../models/predictors/lstm.ts";
import { readSndlibTmSeries } from "../models/workload/sndlib-tm-series.ts";
import type { TrafficMatrixSeries } from "../models/workload/tm-series.ts";
import type { BenchResult } from "./run.ts";

const DAY_NS = 86_400e9;

/** The Abilene week directory, or undefined when the shared data folder is absent. */
export function abileneDir(): string | undefined {
  const env = process.env.TOPOCAST_SHARED_DATA;
  const base = env ? resolve(env) : resolve(import.meta.dirname ?? ".", "../../shared/data");
  const dir = resolve(base, "traffic-matrices/sndlib-abilene-5min");
  return existsSync(dir) ? dir : undefined;
}

export interface LstmBenchOptions {
  /** Loads the series (default: the SNDlib Abilene week through the workload reader). */
  load?: () => TrafficMatrixSeries | Promise<TrafficMatrixSeries>;
  /** Days of training at the start of the series (default 5). */
  trainDays?: number;
  /** LSTM parameters (default: the predictor's defaults). */
  lstm?: LstmOptions;
  /** Timed 1-step forecasts (default: every test interval). */
  forecasts?: number;
}

export async function benchLstm(opts: LstmBenchOptions = {}) {
  const loadStart = process.hrtime.bigint();
  const series = await (opts.load ?? defaultLoad)();
  const loadSeconds = Number(process.hrtime.bigint() - loadStart) / 1e9;
  const m = seriesMatrix(series);
  const P = m.pairs.length;
  const T = m.rows.length;
  const s = Math.round(((opts.trainDays ?? 5) * DAY_NS) / series.intervalNs);
  if (s < 2 || s >= T) throw new Error(`bench lstm: ${opts.trainDays ?? 5} days is ${s} of ${T} intervals`);

  const pred = new LstmPredictor(P, opts.lstm);
  const cpu0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  await pred.train(m.rows.slice(0, s));
  const trainSeconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const cpu = process.cpuUsage(cpu0);
  const trainCpuSeconds = (cpu.user + cpu.system) / 1e6;

  for (let t = 0; t < s; t++) pred.observe(m.endNs[t]!, m.rows[t]!);
  for (let i = 0; i < 20; i++) pred.forecast(1); // warm-up (JIT)
  const n = Math.min(opts.forecasts ?? T - s, T - s);
  const latencies = new Float64Array(n);
  let abs = 0;
  let absLv = 0;
  let max = 0;
  for (const r of m.rows) for (const v of r) if (v > max) max = v;
  for (let i = 0; i < n; i++) {
    const t = s + i;
    const f0 = process.hrtime.bigint();
    const f = pred.forecast(1)[0]!;
    latencies[i] = Number(process.hrtime.bigint() - f0) / 1e6;
    const y = m.rows[t]!;
    const prev = m.rows[t - 1]!;
    for (let p = 0; p < P; p++) {
      abs += Math.abs(f[p]! - y[p]!);
      absLv += Math.abs(prev[p]! - y[p]!);
    }
    pred.observe(m.endNs[t]!, y);
  }
  latencies.sort();
  const q = (x: number) => latencies[Math.min(n - 1, Math.floor(x * n))]!;
  const info = pred.training!;
  const result = {
    series: series.source,
    pairs: P,
    trainIntervals: s,
    backend: pred.backendName ?? "none",
    config: pred.config,
    loadSeconds,
    trainSeconds,
    trainCpuSeconds,
    epochs: info.epochs,
    bestEpoch: info.bestEpoch,
    windowsPerSecond:
      (info.epochs * Math.min(pred.config.windowsPerEpoch || info.trainWindows, info.trainWindows)) /
      trainSeconds,
    forecastMs: { median: q(0.5), p95: q(0.95), max: latencies[n - 1]!, samples: n },
    oneStepMae: abs / (n * P) / max,
    lastValueOneStepMae: absLv / (n * P) / max,
    peakRssBytes: process.resourceUsage().maxRSS * 1024,
  };
  pred.dispose();
  return result;
}

function defaultLoad(): TrafficMatrixSeries {
  const dir = abileneDir();
  if (!dir) {
    throw new Error(
      "bench lstm: needs the SNDlib Abilene week at <shared>/traffic-matrices/sndlib-abilene-5min (set TOPOCAST_SHARED_DATA)",
    );
  }
  return readSndlibTmSeries(dir);
}

export async function run(): Promise<BenchResult> {
  const r = await benchLstm();
  return {
    workload:
      "SNDlib Abilene week: train on the first 5 days (1,440 x 132 pair series), forecast 1 step on the last 2",
    target: { trainSeconds: 120, forecastMs: 5 },
    ...r,
  };
}
