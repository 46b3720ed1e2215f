/**
 * Forecast latency of the deep predictors: a forecast of every pair one step ahead, the call a predictive policy
 * makes each control interval. Target: p95 under 5 ms for the Abilene week's 132 pairs (issue 18).
 *
 * Each case trains a model briefly on the first 5 days (latency does not depend on how well it is trained: the
 * network's size and input width fix the work), observes the training days, then walks over the test days timing
 * `forecast(1)` and observing each interval after it. Both deep models forecast in plain JS from their trained
 * weights (lstm-forward.ts, transformer-forward.ts), not through tfjs. Cases: the LSTM and the Transformer, each
 * with its default inputs and with the seasonal-lag channel, and the pooled linear model (linear.ts) with and
 * without its seasonal lag, and both deep models over the linear base (`base: "linear"`, 12 direct outputs, with
 * and without the lag: the network's pass plus the linear model's forecast); the GEANT two days (462 pairs, 15-minute intervals,
 * train on the first) when present. `--cases transformer,lstm` runs only the cases named.
 *
 * Reports per case the median, p95 and max of the wall time (`process.hrtime`) and of the process's CPU time
 * (user + system from `process.cpuUsage`, microsecond resolution), the backend that trained the model, and the
 * 1-minute load average at the case's start and end. Wall vs CPU: a forecast is one synchronous computation on
 * the main thread, so on an idle core its wall time equals its CPU time; on a shared machine the wall time adds
 * the time the process waited for a core. With load L on C cores the kernel's fair scheduler gives each runnable
 * process about C / L of a core in slices of a few milliseconds, so a forecast shorter than a slice mostly runs
 * undisturbed (wall ~ CPU at the median) while a longer one, or one started late in its slice, is preempted and
 * waits for the other L / C - 1 processes' slices (the wall p95 grows with the load, not with the forecast's
 * work). The CPU time is the forecast's own cost; the target is read on it, and the wall time on a quiet machine.
 *
 * Data: `$TOPOCAST_SHARED_DATA/traffic-matrices/...` (ZIB Academic License: read in place, never copied).
 */
import { existsSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import { resolve } from "node:path";
import { seriesMatrix } from "../models/predictors/evaluate.ts";
import { LinearPredictor } from "../models/predictors/linear.ts";
import { LstmPredictor } from "../models/predictors/lstm.ts";
import type { Predictor } from "../models/predictors/predictor.ts";
import { TransformerPredictor } from "../models/predictors/transformer.ts";
import { readSndlibTmSeries } from "../models/workload/sndlib-tm-series.ts";
import { latencySummary } from "./latency-summary.ts";
import type { BenchOptions, BenchResult } from "./run.ts";

const DAY_NS = 86_400e9;
/** Brief training: latency is what is measured, not accuracy. */
const BRIEF = { epochs: 1, windowsPerEpoch: 1024, validationWindows: 256 };

function tmDir(name: string): string | undefined {
  const env = process.env.TOPOCAST_SHARED_DATA;
  const base = env ? resolve(env) : resolve(import.meta.dirname ?? ".", "../../shared/data");
  const dir = resolve(base, "traffic-matrices", name);
  return existsSync(dir) ? dir : undefined;
}

interface LatencyCase {
  name: string;
  make: (P: number, day: number) => Predictor & { train: NonNullable<Predictor["train"]> };
}

const CASES: readonly LatencyCase[] = [
  { name: "lstm", make: (P) => new LstmPredictor(P, BRIEF) },
  { name: "lstm+lag", make: (P, day) => new LstmPredictor(P, { ...BRIEF, seasonalLag: day }) },
  { name: "transformer", make: (P) => new TransformerPredictor(P, { ...BRIEF, horizon: 12 }) },
  {
    name: "transformer+lag",
    make: (P, day) => new TransformerPredictor(P, { ...BRIEF, horizon: 12, seasonalLag: day }),
  },
  // The pooled linear model trains in closed form (no brief variant): its forecast is W + 3 products per pair.
  { name: "linear", make: (P) => new LinearPredictor(P) },
  { name: "linear+lag", make: (P, day) => new LinearPredictor(P, { seasonalLag: day }) },
  // Over the linear base (LSTNet's sum): the network's forecast plus the linear model's of the steps asked.
  { name: "lstm+linear", make: (P) => new LstmPredictor(P, { ...BRIEF, base: "linear", heads: 12 }) },
  {
    name: "lstm+linear+lag",
    make: (P, day) => new LstmPredictor(P, { ...BRIEF, base: "linear", heads: 12, seasonalLag: day }),
  },
  {
    name: "transformer+linear",
    make: (P) => new TransformerPredictor(P, { ...BRIEF, horizon: 12, base: "linear", timeFeatures: false }),
  },
  {
    name: "transformer+linear+lag",
    make: (P, day) =>
      new TransformerPredictor(P, {
        ...BRIEF,
        horizon: 12,
        base: "linear",
        timeFeatures: false,
        seasonalLag: day,
      }),
  },
];

/** Times `forecast(1)` over the series after `trainDays` of training; `limit` caps the timed forecasts. */
export async function forecastLatency(dir: string, c: LatencyCase, trainDays: number, limit = 0) {
  const series = readSndlibTmSeries(dir);
  const m = seriesMatrix(series);
  const P = m.pairs.length;
  const day = Math.round(DAY_NS / series.intervalNs);
  const s = Math.round((trainDays * DAY_NS) / series.intervalNs);
  const pred = c.make(P, day);
  try {
    await pred.train(m.rows.slice(0, s), m.endNs.subarray(0, s));
    for (let t = 0; t < s; t++) pred.observe(m.endNs[t]!, m.rows[t]!);
    for (let i = 0; i < 20; i++) pred.forecast(1); // warm-up (JIT, backend kernels)
    const n = limit > 0 ? Math.min(limit, m.rows.length - s) : m.rows.length - s;
    const ms: number[] = [];
    const cpuMs: number[] = [];
    for (let i = 0; i < n; i++) {
      const c0 = process.cpuUsage();
      const f0 = process.hrtime.bigint();
      pred.forecast(1);
      ms.push(Number(process.hrtime.bigint() - f0) / 1e6);
      const cpu = process.cpuUsage(c0);
      cpuMs.push((cpu.user + cpu.system) / 1e3);
      pred.observe(m.endNs[s + i]!, m.rows[s + i]!);
    }
    const backend = (pred as LstmPredictor | TransformerPredictor).backendName ?? "none";
    return {
      case: c.name,
      pairs: P,
      backend,
      forecastMs: latencySummary(ms, 3),
      forecastCpuMs: latencySummary(cpuMs, 3),
    };
  } finally {
    pred.dispose?.();
  }
}

export async function run(opts: BenchOptions = {}): Promise<BenchResult> {
  const only = opts.cases?.split(",").map((c) => c.trim());
  const unknown = only?.filter((c) => !CASES.some((k) => k.name === c)) ?? [];
  if (unknown.length > 0) {
    throw new Error(
      `forecast-latency --cases: unknown case ${unknown.join(", ")}; expected ${CASES.map((c) => c.name).join(", ")}`,
    );
  }
  const loadStart = loadavg()[0];
  const sets = [
    { name: "abilene", dir: tmDir("sndlib-abilene-5min"), trainDays: 5 },
    { name: "geant", dir: tmDir("sndlib-geant-15min"), trainDays: 1 },
  ];
  const results: Record<string, unknown>[] = [];
  for (const set of sets) {
    if (!set.dir) {
      results.push({ series: set.name, skipped: "data not found (set TOPOCAST_SHARED_DATA)" });
      continue;
    }
    for (const c of CASES) {
      if (only && !only.includes(c.name)) continue;
      // The GEANT two days hold one day of history: no room for a one-day lag.
      if (set.name === "geant" && c.name.endsWith("+lag")) continue;
      const load0 = loadavg()[0]!;
      const r = await forecastLatency(set.dir, c, set.trainDays);
      results.push({ series: set.name, ...r, loadAverage1m: { start: load0, end: loadavg()[0]! } });
    }
  }
  return {
    workload:
      "forecast(1) of every pair after brief training (1 epoch of 1,024 windows): Abilene week (132 pairs, train 5 days, time the last 2), GEANT two days (462 pairs, train day 1, time day 2)",
    target: { forecastCpuMsP95: 5, on: "abilene" },
    cores: cpus().length,
    loadAverage1m: { start: loadStart, end: loadavg()[0] },
    results,
  };
}
