/**
 * The results directory of one run (layout in DESIGN.md):
 *
 * ```
 * <dir>/config.json     the effective config (defaults filled in, paths absolute)
 *       manifest.json   provenance: topocast version, git commit, node version, seed, run, config hash, engine,
 *                       predictor backend, wall times (the only non-deterministic file)
 *       summary.json    per policy: flow counts, FCT/slowdown stats overall and by size bucket, goodput, MLU
 *       flows.csv       one row per finished flow, per policy
 *       links.csv       one row per link per sampling interval, per policy
 *       timeseries.csv  one row per sampling interval, per policy: MLU, mean utilization, completions
 *       plots/*.svg|png|vl.json, report.html   (topocast report re-renders them from the files above)
 * ```
 *
 * Atomicity: a run is written into a hidden sibling directory and renamed into place at the end, so a directory
 * under its final name is always complete; an interrupted run leaves only a `.<name>.partial-<pid>` directory.
 */

import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { DecisionTiming } from "../models/control/driver.ts";
import type { TimeseriesRow } from "../sim/engine/records.ts";
import type { TopologySummary } from "../sim/substrate/topology.ts";
import { csvField } from "./csv.ts";
import type { IntentWorkloadFacts } from "./intent-satisfaction.ts";
import type { MluBoundSummary } from "./mlu-bound.ts";
import type { PolicySummary } from "./policy-summary.ts";
import type { ValueOfPrediction } from "./value-of-prediction.ts";

export const REPO_ROOT: string = fileURLToPath(new URL("../", import.meta.url));

/** A results directory that is missing or malformed (exit code 2). */
export class ResultsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ResultsError";
  }
}

/** What the workload offers (identical for every policy); goes into summary.json. */
export interface WorkloadFacts {
  source: string;
  /** TM intervals played. */
  intervals: number;
  /** Simulated span of offered traffic, ns. */
  horizonNs: number;
  /** Factor applied to the TM's rates. */
  loadScale: number;
  /** Peak offered MLU over the intervals on the reference routing, after scaling. */
  offeredPeakMlu: number;
  /** Mean total offered rate over the horizon, bits/s. */
  meanOfferedBps: number;
  /** Expected flow count of the traffic matrix (offered bits / 8 / mean flow size). */
  expectedFlows: number;
  /** The config's `workload.applications`, when it has them. */
  applications?: ApplicationFacts;
  /** The config's intent mesh (`intents`), when it has one. */
  intents?: IntentWorkloadFacts;
}

/** What a config's applications offer over the horizon (identical for every policy). */
export interface ApplicationFacts {
  /** Application names, in config order. */
  apps: string[];
  /** Mean external requests per second over all entries. */
  requestsPerSecond: number;
  /** Expected external requests over the horizon. */
  expectedRequests: number;
  /** Expected request and response flows over the horizon (counting calls within one node, which make none). */
  expectedFlows: number;
}

/** summary.json: deterministic for a given config, seed and run (no wall times, no paths). */
export interface RunSummary {
  experiment: string;
  seed: number;
  run: number;
  topology: TopologySummary;
  workload: WorkloadFacts;
  policies: PolicySummary[];
  /** Value of prediction per predictive policy (see experiments/value-of-prediction.ts). */
  valueOfPrediction: ValueOfPrediction[];
  /** The min-MLU bound of the offered traffic, when `metrics.mluBound` asks (experiments/mlu-bound.ts). */
  mluBound?: MluBoundSummary;
}

export interface Manifest {
  topocast: string;
  gitCommit: string | null;
  node: string;
  platform: string;
  experiment: string;
  configFile: string;
  configHash: string;
  seed: number;
  run: number;
  engine: "sim" | "emulate";
  predictorBackend: string | null;
  startedAt: string;
  wallSeconds: number;
  /**
   * Per policy: simulator events (emulator ticks), wall seconds, and the wall time of its control decisions per
   * control step (ms; zero steps for a static baseline): the cost of deciding, prediction included.
   */
  policies: { policy: string; events: number; wallSeconds: number; decisions: DecisionTiming }[];
  /** `topocast emulate` only: how the network was emulated (capabilities, mechanisms, scaling, what was dropped). */
  emulation?: Record<string, unknown>;
}

export const TIMESERIES_CSV_HEADER =
  "policy,interval_start_ns,interval_end_ns,mlu,mean_utilization,flows_completed,active_flows";

export function topocastVersion(): string {
  try {
    return (JSON.parse(readFileSync(join(REPO_ROOT, "package.json"), "utf8")) as { version: string }).version;
  } catch {
    return "unknown";
  }
}

/** `git rev-parse HEAD` of the repository (with `-dirty` when it has local changes), or null without git. */
export function gitCommit(): string | null {
  const rev = spawnSync("git", ["rev-parse", "HEAD"], { cwd: REPO_ROOT, encoding: "utf8" });
  if (rev.status !== 0 || !rev.stdout) return null;
  const dirty = spawnSync("git", ["status", "--porcelain", "--untracked-files=no"], {
    cwd: REPO_ROOT,
    encoding: "utf8",
  });
  return `${rev.stdout.trim()}${dirty.status === 0 && dirty.stdout.trim() !== "" ? "-dirty" : ""}`;
}

export function timeseriesCsv(rows: { policy: string; row: TimeseriesRow }[]): string {
  const f = (x: number) => (Number.isInteger(x) ? String(x) : String(Number(x.toPrecision(9))));
  const lines = [TIMESERIES_CSV_HEADER];
  for (const { policy, row: r } of rows) {
    lines.push(
      `${csvField(policy)},${r.startNs},${r.endNs},${f(r.mlu)},${f(r.meanUtilization)},${r.flowsCompleted},${r.activeFlows}`,
    );
  }
  return `${lines.join("\n")}\n`;
}

/** Pretty JSON with a trailing newline (the form of every JSON file we write). */
export function jsonText(v: unknown): string {
  return `${JSON.stringify(v, null, 2)}\n`;
}

/**
 * Writes a run directory atomically: `fill` writes files into a hidden temporary sibling, which then replaces
 * `dir` (an existing `dir` is moved aside first and removed after). Returns the absolute path.
 */
export async function writeRunDir(dir: string, fill: (tmp: string) => Promise<void> | void): Promise<string> {
  const final = resolve(dir);
  const parent = dirname(final);
  mkdirSync(parent, { recursive: true });
  const tmp = join(parent, `.${basename(final)}.partial-${process.pid}`);
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp);
  try {
    await fill(tmp);
  } catch (e) {
    rmSync(tmp, { recursive: true, force: true });
    throw e;
  }
  let old: string | undefined;
  if (existsSync(final)) {
    old = join(parent, `.${basename(final)}.old-${process.pid}`);
    rmSync(old, { recursive: true, force: true });
    renameSync(final, old);
  }
  renameSync(tmp, final);
  if (old) rmSync(old, { recursive: true, force: true });
  return final;
}

/** Whether `dir` holds a complete run (it was renamed into place, so summary.json present means complete). */
export function isCompleteRun(dir: string): boolean {
  return existsSync(join(dir, "summary.json")) && existsSync(join(dir, "manifest.json"));
}

export function readJson<T>(path: string): T {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch {
    throw new ResultsError(`${path}: no such file (is ${dirname(path)} a topocast results directory?)`);
  }
  try {
    return JSON.parse(text) as T;
  } catch (e) {
    throw new ResultsError(`${path}: malformed JSON (${(e as Error).message})`);
  }
}

export function readSummary(dir: string): RunSummary {
  const s = readJson<RunSummary>(join(dir, "summary.json"));
  if (!s || !Array.isArray(s.policies))
    throw new ResultsError(`${join(dir, "summary.json")}: no policies array`);
  return s;
}

/** Parses a CSV with a header line into rows of strings keyed by column (no quoted line breaks expected). */
export function readCsv(path: string): Record<string, string>[] {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch {
    throw new ResultsError(`${path}: no such file`);
  }
  const lines = text.split("\n").filter((l) => l !== "");
  const split = (l: string): string[] => {
    const out: string[] = [];
    let cur = "";
    let q = false;
    for (let i = 0; i < l.length; i++) {
      const ch = l[i]!;
      if (q) {
        if (ch === '"' && l[i + 1] === '"') {
          cur += '"';
          i++;
        } else if (ch === '"') q = false;
        else cur += ch;
      } else if (ch === '"') q = true;
      else if (ch === ",") {
        out.push(cur);
        cur = "";
      } else cur += ch;
    }
    out.push(cur);
    return out;
  };
  const head = split(lines[0] ?? "");
  return lines.slice(1).map((l) => {
    const cols = split(l);
    return Object.fromEntries(head.map((h, i) => [h, cols[i] ?? ""]));
  });
}
