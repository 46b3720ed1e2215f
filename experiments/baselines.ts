/**
 * CI regression baselines: results/baselines/<config>/summary.json for small deterministic configs. The test
 * test/experiments/baselines.test.ts re-runs each config and compares with the baseline through the same logic
 * as `topocast compare`, failing when a metric regresses beyond tolerance.
 *
 * Updating a baseline is deliberate: `npm run baselines:update` (or `tsx experiments/baselines.ts update
 * [name...]`) re-runs the configs and rewrites the summaries; review the diff before committing it.
 * `tsx experiments/baselines.ts check` runs the comparison from the command line.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { writeJsonAtomic } from "../sim/io/atomic-write.ts";
import { type Comparison, compareSummaries, type Tolerances } from "./compare.ts";
import { loadConfig } from "./config/load.ts";
import { REPO_ROOT, type RunSummary, readSummary } from "./results.ts";
import { runExperiment } from "./run-experiment.ts";

/** Configs with committed baselines (experiments/configs/<name>.yaml). */
export const BASELINE_CONFIGS: readonly string[] = ["ci-ring", "ci-abilene"];

/** Tolerance of the CI gate: 5% relative on every metric. */
export const BASELINE_TOLERANCES: Tolerances = { default: 0.05, perMetric: {} };

export function baselineDir(name: string): string {
  return join(REPO_ROOT, "results/baselines", name);
}

export function baselineConfigPath(name: string): string {
  return join(REPO_ROOT, "experiments/configs", `${name}.yaml`);
}

/** Runs a baseline config (no plots) into a temporary directory and returns its summary. */
export async function runBaselineConfig(name: string): Promise<RunSummary> {
  const tmp = mkdtempSync(join(tmpdir(), `topocast-${name}-`));
  try {
    const out = await runExperiment(loadConfig(baselineConfigPath(name)), {
      out: join(tmp, "run"),
      report: false,
    });
    return out.summary;
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

export async function checkBaseline(name: string): Promise<Comparison> {
  const current = await runBaselineConfig(name);
  return compareSummaries(readSummary(baselineDir(name)), current, BASELINE_TOLERANCES);
}

async function main(argv: string[]): Promise<void> {
  const [cmd, ...names] = argv;
  const which = names.length ? names : BASELINE_CONFIGS;
  if (cmd === "update") {
    for (const name of which) {
      const s = await runBaselineConfig(name);
      writeJsonAtomic(join(baselineDir(name), "summary.json"), s);
      console.log(`updated ${join(baselineDir(name), "summary.json")}`);
    }
  } else if (cmd === "check") {
    let bad = 0;
    for (const name of which) {
      const c = await checkBaseline(name);
      bad += c.regressions;
      console.log(`${name}: ${c.regressions === 0 ? "ok" : `${c.regressions} regression(s)`}`);
      for (const d of c.deltas.filter((x) => x.status === "regressed" || x.status === "missing")) {
        console.log(`  ${d.policy} ${d.metric}: ${d.baseline} -> ${d.current}`);
      }
    }
    process.exitCode = bad ? 1 : 0;
  } else {
    console.error("usage: tsx experiments/baselines.ts update|check [config ...]");
    process.exitCode = 2;
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) await main(process.argv.slice(2));
