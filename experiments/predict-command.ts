/**
 * `topocast predict`: evaluates forecasters on a traffic-matrix series (an SNDlib directory of demandMatrix-*.xml
 * files, or a CSV `time_s,src,dst,rate_bps`) with a walk-forward test; see experiments/run-predict.ts.
 */
import { statSync } from "node:fs";
import { readCsvTmSeries } from "../models/workload/csv-tm-series.ts";
import { WorkloadError } from "../models/workload/errors.ts";
import { linkUtilizationMatrix } from "../models/workload/link-series.ts";
import { readSndlibTmSeries } from "../models/workload/sndlib-tm-series.ts";
import type { TrafficMatrixSeries } from "../models/workload/tm-series.ts";
import { PAIRS_VIEW, runPredict, type SeriesView } from "./run-predict.ts";
import { readTopologyFile } from "./topology-files.ts";

export interface PredictCliOptions {
  tm: string;
  train: string;
  predictors: string;
  horizon: number;
  out: string;
  seed: number;
  period?: number;
  /** What to forecast (default pairs); links need `topology`. */
  series?: "pairs" | "links";
  topology?: string;
}

/** The view `--series` asks for. @throws WorkloadError when links are asked without a topology */
export function seriesView(series: "pairs" | "links", topology: string | undefined): SeriesView {
  if (series === "pairs") return PAIRS_VIEW;
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

export async function predictCommand(o: PredictCliOptions): Promise<void> {
  const fraction = Number(o.train);
  const view = seriesView(o.series ?? "pairs", o.topology);
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
    log: (line) => console.error(line),
  });
  console.log(result.table);
  console.log(
    `train ${result.trainIntervals} intervals, test ${result.testIntervals}; values normalized by ${result.maxValue} ${view.unit === "bit/s" ? "bits/s" : view.unit}; tfjs backend: ${result.tfBackend ?? "not used"}`,
  );
  console.log(`wrote ${result.files.json}, ${result.files.csv}, ${result.files.plot.png}`);
}
