/**
 * `topocast predict`: evaluates forecasters on a traffic-matrix series (an SNDlib directory of demandMatrix-*.xml
 * files, or a CSV `time_s,src,dst,rate_bps`) with a walk-forward test; see experiments/run-predict.ts.
 */
import { statSync } from "node:fs";
import { join } from "node:path";
import { LINEAR_DEFAULTS, type LinearOptions } from "../models/predictors/linear.ts";
import { LSTM_DEFAULTS, type LstmOptions } from "../models/predictors/lstm.ts";
import { PredictorError } from "../models/predictors/predictor.ts";
import { TRANSFORMER_DEFAULTS, type TransformerOptions } from "../models/predictors/transformer.ts";
import { readCsvTmSeries } from "../models/workload/csv-tm-series.ts";
import { WorkloadError } from "../models/workload/errors.ts";
import { linkUtilizationMatrix } from "../models/workload/link-series.ts";
import { readSndlibTmSeries } from "../models/workload/sndlib-tm-series.ts";
import type { TrafficMatrixSeries } from "../models/workload/tm-series.ts";
import { readProfileSeries } from "./profile-series.ts";
import { PAIRS_VIEW, type RunPredictOptions, runPredict, type SeriesView } from "./run-predict.ts";
import { readTopologyFile } from "./topology-files.ts";

export interface PredictCliOptions {
  tm: string;
  train: string;
  predictors: string;
  horizon: number;
  out: string;
  seed: number;
  period?: number;
  /** LSTM settings as `key=value,...` (LstmConfig keys), e.g. `seasonalLag=288,epochs=8`. */
  lstm?: string;
  /** Transformer settings as `key=value,...` (TransformerConfig keys). */
  transformer?: string;
  /** Pooled linear model settings as `key=value,...` (LinearConfig keys), e.g. `seasonalLag=288`. */
  linear?: string;
  /** Comma-separated reference predictors of the Diebold-Mariano comparisons (default the simple ones). */
  references?: string;
  /** Save each trained deep model to `<dir>/<name>` (lstm, transformer). */
  saveModels?: string;
  /** Load each deep model from `<dir>/<name>` instead of training it. */
  loadModels?: string;
  /** What to forecast (default pairs); links need `topology`; apps read `tm` as a run's profile.csv. */
  series?: "pairs" | "links" | "apps";
  topology?: string;
  /** For apps: the policy of profile.csv whose intervals to read (default the first). */
  policy?: string;
}

/** The per-application view: each application pair's offered rate from a run's profile.csv (profile-series.ts). */
export function appsView(policy: string | undefined): SeriesView {
  return {
    columns: "applications",
    unit: "bit/s",
    note:
      "each application pair's offered rate (bytes x 8 / interval counted at flow arrival by the run's profiler, " +
      `profile.csv of policy ${policy === undefined ? "the first in the file" : JSON.stringify(policy)}); the background matrix ("tm") is left out`,
    matrix: () => {
      throw new WorkloadError("predict --series apps: reads a profile.csv, not a traffic matrix");
    },
    load: (path) => {
      const s = readProfileSeries(path, policy);
      return {
        source: `${s.source} (policy ${s.policy})`,
        nodes: null,
        intervalNs: s.intervalNs,
        matrix: s.matrix,
      };
    },
    plot: { scale: 1e-6, axis: "rate (Mbit/s)", facet: "application pair" },
  };
}

/**
 * The view `--series` asks for. @throws WorkloadError when links are asked without a topology, or a topology or
 * policy is given for a series that does not use it
 */
export function seriesView(
  series: "pairs" | "links" | "apps",
  topology: string | undefined,
  policy?: string,
): SeriesView {
  if (policy !== undefined && series !== "apps") {
    throw new WorkloadError(
      `predict --policy: only for --series apps (a profile.csv's policy), got --series ${series}`,
    );
  }
  if (series === "pairs") return PAIRS_VIEW;
  if (series === "apps") return appsView(policy);
  if (topology === undefined) {
    throw new WorkloadError(
      "predict --series links: give the network with --topology (its node ids are the series')",
    );
  }
  const topo = readTopologyFile(topology);
  return {
    columns: "links",
    unit: "utilization",
    note: `the ${topo.linkCount} directed links of ${topo.name}, each one's offered utilization (demand on its least-delay paths / capacity)`,
    matrix: (s) => linkUtilizationMatrix(s, topo),
    plot: { scale: 1, axis: "offered utilization", facet: "link" },
  };
}

/** A series from a path: a directory is read as SNDlib dynamic matrices, a `.csv` file as CSV. */
export function loadSeries(path: string): TrafficMatrixSeries {
  let dir: boolean;
  try {
    dir = statSync(path).isDirectory();
  } catch {
    throw new WorkloadError(`${path}: no such file or directory`);
  }
  if (dir) return readSndlibTmSeries(path);
  if (path.toLowerCase().endsWith(".csv")) return readCsvTmSeries(path);
  throw new WorkloadError(`${path}: expected a directory of SNDlib demandMatrix-*.xml files or a .csv file`);
}

/**
 * `key=value,...` settings of a deep model, each key one of `defaults`' and each value read as the default's type
 * (number, true/false, or a string; `seed` may be either). The predictor validates ranges.
 * @throws PredictorError naming the option, the key and the allowed keys or the bad value.
 */
export function modelSettings(
  option: string,
  text: string,
  defaults: Readonly<Record<string, unknown>>,
): Record<string, number | boolean | string> {
  const out: Record<string, number | boolean | string> = {};
  for (const item of text
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean)) {
    const eq = item.indexOf("=");
    const key = eq > 0 ? item.slice(0, eq).trim() : item;
    const raw = eq > 0 ? item.slice(eq + 1).trim() : "";
    if (!(key in defaults)) {
      throw new PredictorError(
        `${option} ${item}: unknown setting "${key}"; known: ${Object.keys(defaults).join(", ")}`,
      );
    }
    if (eq <= 0 || raw === "") throw new PredictorError(`${option} ${item}: expected ${key}=<value>`);
    const kind = typeof defaults[key];
    if (kind === "boolean") {
      if (raw !== "true" && raw !== "false") {
        throw new PredictorError(`${option} ${key}: expected true or false, got "${raw}"`);
      }
      out[key] = raw === "true";
    } else if (kind === "number" || key === "seed") {
      const v = Number(raw);
      if (!Number.isFinite(v)) {
        if (key === "seed") out[key] = raw;
        else throw new PredictorError(`${option} ${key}: expected a number, got "${raw}"`);
      } else out[key] = v;
    } else out[key] = raw;
  }
  return out;
}

/** `--save-models` / `--load-models` as run-predict's per-model directories. */
function deepModelDirs(o: PredictCliOptions): Pick<RunPredictOptions, "lstmModel" | "transformerModel"> {
  const dirs = (name: string) => ({
    ...(o.loadModels ? { load: join(o.loadModels, name) } : {}),
    ...(o.saveModels ? { save: join(o.saveModels, name) } : {}),
  });
  return o.saveModels || o.loadModels
    ? { lstmModel: dirs("lstm"), transformerModel: dirs("transformer") }
    : {};
}

export async function predictCommand(o: PredictCliOptions): Promise<void> {
  const asked = new Set(o.predictors.split(",").map((s) => s.trim()));
  for (const r of (o.references ?? "").split(",").map((s) => s.trim())) {
    if (r && !asked.has(r)) {
      throw new PredictorError(`--references: "${r}" is not among --predictors (${[...asked].join(",")})`);
    }
  }
  const fraction = Number(o.train);
  const view = seriesView(o.series ?? "pairs", o.topology, o.policy);
  const result = await runPredict({
    tm: o.tm,
    train: Number.isFinite(fraction) ? fraction : o.train,
    predictors: o.predictors
      .split(",")
      .map((s) => s.trim())
      .filter(Boolean),
    horizon: o.horizon,
    out: o.out,
    seed: o.seed,
    loadSeries,
    view,
    ...(o.period !== undefined ? { period: o.period } : {}),
    ...(o.lstm ? { lstm: modelSettings("--lstm", o.lstm, LSTM_DEFAULTS) as LstmOptions } : {}),
    ...(o.transformer
      ? {
          transformer: modelSettings(
            "--transformer",
            o.transformer,
            TRANSFORMER_DEFAULTS,
          ) as TransformerOptions,
        }
      : {}),
    ...(o.linear ? { linear: modelSettings("--linear", o.linear, LINEAR_DEFAULTS) as LinearOptions } : {}),
    ...deepModelDirs(o),
    ...(o.references
      ? {
          references: o.references
            .split(",")
            .map((s) => s.trim())
            .filter(Boolean),
        }
      : {}),
    log: (line) => console.error(line),
  });
  console.log(result.table);
  console.log(
    `train ${result.trainIntervals} intervals, test ${result.testIntervals}; values normalized by ${result.maxValue} ${view.unit === "bit/s" ? "bits/s" : view.unit}; tfjs backend: ${result.tfBackend ?? "not used"}`,
  );
  console.log(`wrote ${result.files.json}, ${result.files.csv}, ${result.files.plot.png}`);
}
