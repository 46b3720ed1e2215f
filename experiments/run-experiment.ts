/**
 * `topocast run`: one (config, seed, run) -> every policy simulated on the same traffic -> a results directory
 * (see results.ts), plots and report.html.
 */

import { writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import type { RunRecords } from "../sim/engine/records.ts";
import { simEngine } from "../sim/engine/run.ts";
import type { Scenario } from "../sim/engine/types.ts";
import { actionsCsvByPolicy } from "./actions-csv.ts";
import { applicationFct } from "./application-fct.ts";
import type { LoadedConfig } from "./config/load.ts";
import { egressCost } from "./egress-cost.ts";
import { flowsCsv } from "./flows-csv.ts";
import { intentSatisfaction, requestsCsv } from "./intent-satisfaction.ts";
import { linksCsv } from "./links-csv.ts";
import { mluBoundSummary } from "./mlu-bound.ts";
import { policySummary } from "./policy-summary.ts";
import { profileCsv } from "./profile-csv.ts";
import {
  gitCommit,
  jsonText,
  type Manifest,
  type RunSummary,
  timeseriesCsv,
  topocastVersion,
  writeRunDir,
} from "./results.ts";
import { buildScenario } from "./scenario.ts";
import { valueOfPrediction } from "./value-of-prediction.ts";

export interface RunOptions {
  /** Replication number (default 0). */
  run?: number;
  /** Results directory (default `<output.dir>/<name>/seed<seed>-run<run>`). */
  out?: string;
  /** Render plots and report.html (default true). */
  report?: boolean;
  /** Progress: policy index, label, fraction of offered traffic simulated (0..1). */
  onProgress?: (policyIndex: number, label: string, fraction: number) => void;
  /** Called when a policy's simulation ends, with its wall time in seconds. */
  onPolicyDone?: (policyIndex: number, label: string, wallSeconds: number) => void;
}

export interface RunOutcome {
  dir: string;
  summary: RunSummary;
  manifest: Manifest;
  reportPath: string | null;
}

/** The default results directory of a run. */
export function defaultRunDir(loaded: LoadedConfig, run: number): string {
  const c = loaded.config;
  return join(c.output.dir, c.name, `seed${c.seed}-run${run}`);
}

/** Runs every policy of the config and writes the results directory. */
export async function runExperiment(loaded: LoadedConfig, opts: RunOptions = {}): Promise<RunOutcome> {
  const t0 = performance.now();
  const startedAt = new Date().toISOString();
  const run = opts.run ?? 0;
  const { scenario, workload } = buildScenario(loaded, run);
  const results: RunRecords[] = [];
  const wall: number[] = [];
  const index = new Map(scenario.policies.map((p, i) => [p, i]));
  const engine = simEngine({
    onProgress: (p, now, horizon) =>
      opts.onProgress?.(index.get(p)!, p.label, horizon > 0 ? Math.min(1, now / horizon) : 1),
  });
  for (const [i, p] of scenario.policies.entries()) {
    const tp = performance.now();
    results.push(await engine.run(scenario, p));
    wall.push((performance.now() - tp) / 1000);
    opts.onPolicyDone?.(i, p.label, wall[i]!);
  }

  const summary = await withMluBound(loaded, scenario, runSummary(scenario, workload, run, results));
  const manifest = runManifest(loaded, scenario, run, "sim", startedAt, results, wall);

  let reportPath: string | null = null;
  const dir = await writeRunDir(opts.out ?? defaultRunDir(loaded, run), async (tmp) => {
    writeResultFiles(tmp, loaded, summary, scenario, results);
    reportPath = await finishRunDir(tmp, manifest, t0, opts.report ?? true);
  });
  if (reportPath !== null) reportPath = join(dir, "report.html");
  return { dir, summary, manifest, reportPath };
}

/**
 * Writes manifest.json (wall time since `t0`, a performance.now() reading) last, then plots and report.html when
 * `report`; returns the report's path in `dir`, or null.
 */
export async function finishRunDir(
  dir: string,
  manifest: Manifest,
  t0: number,
  report: boolean,
): Promise<string | null> {
  manifest.wallSeconds = round3((performance.now() - t0) / 1000);
  writeFileSync(join(dir, "manifest.json"), jsonText(manifest));
  if (!report) return null;
  const { renderRunReport } = await import("./report.ts");
  return await renderRunReport(dir);
}

/** summary.json of a run: the same shape from both engines. */
export function runSummary(
  scenario: Scenario,
  workload: RunSummary["workload"],
  run: number,
  results: readonly RunRecords[],
): RunSummary {
  return {
    experiment: scenario.name,
    seed: scenario.seed,
    run,
    topology: scenario.topology.summary(),
    workload,
    policies: results.map((r) => {
      const sum = policySummary(r);
      const apps = applicationFct(scenario, r);
      const egress = egressCost(scenario.topology, r.links);
      return {
        ...sum,
        ...(egress ? { egress } : {}),
        ...(apps ? { applications: apps } : {}),
        ...(workload.intents ? { intents: intentSatisfaction(scenario, workload.intents, r) } : {}),
      };
    }),
    valueOfPrediction: valueOfPrediction(
      results.map(policySummary),
      scenario.policies.map((p) => p.predictor),
    ),
  };
}

/**
 * `summary` with the min-MLU bound of the scenario's offered traffic beside each policy's mean MLU, when the
 * config's `metrics.mluBound` asks (experiments/mlu-bound.ts); else `summary` as it is.
 */
export async function withMluBound(
  loaded: LoadedConfig,
  scenario: Scenario,
  summary: RunSummary,
): Promise<RunSummary> {
  if (!loaded.config.metrics.mluBound) return summary;
  const policies = summary.policies.map((p) => ({ policy: p.policy, meanMlu: p.links.meanMlu }));
  const mluBound = await mluBoundSummary(scenario.topology, scenario.intervals, scenario.failures, policies);
  return { ...summary, mluBound };
}

/** manifest.json of a run (wallSeconds filled in when the directory is written). */
export function runManifest(
  loaded: LoadedConfig,
  scenario: Scenario,
  run: number,
  engine: Manifest["engine"],
  startedAt: string,
  results: readonly RunRecords[],
  wallSeconds: readonly number[],
): Manifest {
  return {
    topocast: topocastVersion(),
    gitCommit: gitCommit(),
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
    experiment: scenario.name,
    configFile: resolve(loaded.file),
    configHash: loaded.hash,
    seed: scenario.seed,
    run,
    engine,
    predictorBackend: scenario.policies.find((p) => p.predictorBackend !== null)?.predictorBackend ?? null,
    startedAt,
    wallSeconds: 0,
    policies: results.map((r, i) => ({
      policy: r.label,
      events: r.events,
      wallSeconds: round3(wallSeconds[i]!),
      decisions: r.decisions,
    })),
  };
}

/**
 * config.json, summary.json, flows.csv, links.csv, actions.csv and timeseries.csv of a run, into `dir`; profile.csv
 * when the policies' results carry a profile (`metrics.profile`); requests.csv with an intent mesh (the scenario
 * `summary` was measured with: its TCP start-up counts a request's trips).
 */
export function writeResultFiles(
  dir: string,
  loaded: LoadedConfig,
  summary: RunSummary,
  scenario: Scenario,
  results: readonly RunRecords[],
): void {
  const topology = scenario.topology;
  writeFileSync(join(dir, "config.json"), jsonText(loaded.config));
  writeFileSync(join(dir, "summary.json"), jsonText(summary));
  writeFileSync(join(dir, "flows.csv"), flowsCsv(topology, results));
  writeFileSync(join(dir, "links.csv"), linksCsv(topology, results));
  writeFileSync(join(dir, "actions.csv"), actionsCsvByPolicy(results));
  const profiles = results.flatMap((r) => (r.profile ? [{ label: r.label, profile: r.profile }] : []));
  if (profiles.length > 0) writeFileSync(join(dir, "profile.csv"), profileCsv(profiles));
  const intents = summary.workload.intents;
  if (intents) writeFileSync(join(dir, "requests.csv"), requestsCsv(scenario, intents, results));
  writeFileSync(
    join(dir, "timeseries.csv"),
    timeseriesCsv(results.flatMap((r) => r.timeseries.map((row) => ({ policy: r.label, row })))),
  );
}

/** Rounded to 3 decimals (wall times and latencies in manifests). */
export function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}
