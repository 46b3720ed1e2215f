/**
 * `topocast run` and `topocast validate`: terminal output around run-experiment.ts. On a terminal a progress bar
 * per policy (cli-progress); otherwise one plain line per policy, so logs stay readable.
 */
import { SingleBar } from "cli-progress";
import { ConfigError, type LoadedConfig, loadConfig, parseConfig } from "./config/load.ts";
import { formatPath } from "./config/paths.ts";
import { decisionCost } from "./decision-cost.ts";
import { runExperiment } from "./run-experiment.ts";
import { buildScenario } from "./scenario.ts";
import { bucketRows, overallRows, readingLines, textTable, workloadLine } from "./summary-table.ts";
import { expandSweep } from "./sweep.ts";

export interface RunCommandOptions {
  set: string[];
  seed: number | undefined;
  run: number;
  out: string | undefined;
  report: boolean;
  quiet: boolean;
  json: boolean;
}

/**
 * Progress per policy for `run` and `emulate`: a bar on a terminal (cli-progress), else one line per policy so
 * logs stay readable. Spread the result into the runner's options.
 */
export function policyProgress(
  quiet: boolean,
  policies: number,
  verb: string,
  unit: string,
): {
  onProgress: (i: number, label: string, fraction: number) => void;
  onPolicyDone: (i: number, label: string, seconds: number) => void;
} {
  const tty = process.stderr.isTTY && !quiet;
  let bar: SingleBar | undefined;
  let current = -1;
  return {
    onProgress: (i, label, fraction) => {
      if (i !== current) {
        current = i;
        if (tty) {
          bar = new SingleBar({
            format: `${label.padEnd(16)} [{bar}] {percentage}% ${unit} | {duration_formatted}`,
            stream: process.stderr,
            hideCursor: true,
            clearOnComplete: false,
          });
          bar.start(100, 0);
        } else if (!quiet) console.error(`${verb} policy ${i + 1}/${policies}: ${label}`);
      }
      bar?.update(Math.round(fraction * 100));
    },
    onPolicyDone: (_, __, seconds) => {
      if (bar) {
        bar.update(100);
        bar.stop();
        bar = undefined;
      } else if (!quiet) console.error(`  done in ${seconds.toFixed(1)} s`);
    },
  };
}

export async function runCommand(file: string, o: RunCommandOptions): Promise<void> {
  const loaded = loadConfig(file, { set: o.set, ...(o.seed !== undefined ? { seed: o.seed } : {}) });
  const progress = policyProgress(o.quiet, loaded.config.policies.length, "simulating", "of offered traffic");
  const outcome = await runExperiment(loaded, {
    run: o.run,
    report: o.report,
    ...(o.out !== undefined ? { out: o.out } : {}),
    ...progress,
  });
  if (o.quiet) {
    console.log(outcome.dir);
    return;
  }
  if (o.json) {
    console.log(JSON.stringify(outcome.summary, null, 2));
    return;
  }
  const s = outcome.summary;
  // The per-size table first, so the summary table and the lines that read it end the output.
  console.log(workloadLine(s));
  console.log(textTable(bucketRows(s)));
  console.log(textTable(overallRows(s)));
  const { failures, control } = loaded.config;
  for (const line of readingLines(s, { failures, convergenceDelay: control.convergenceDelay }))
    console.log(line);
  const cost = decisionCost(outcome.manifest, loaded.config);
  for (const f of cost?.flagged ?? []) console.log(`decision time flagged: ${f}`);
  console.log(`results: ${outcome.dir} (${outcome.manifest.wallSeconds.toFixed(1)} s wall)`);
  if (outcome.reportPath) console.log(`report:  ${outcome.reportPath}`);
}

export function validateCommand(
  file: string,
  o: { set: string[]; seed: number | undefined; print: boolean },
): void {
  const seed = o.seed !== undefined ? { seed: o.seed } : {};
  const loaded = loadConfig(file, { set: o.set, ...seed });
  const warnings: string[] = [];
  const { scenario, workload } = buildScenario(loaded, 0, (w) => warnings.push(w));
  const sweepRuns = loaded.config.sweep === undefined ? undefined : validateSweep(loaded, o.set, o.seed);
  for (const w of warnings) console.error(`topocast: warning: ${w}`);
  if (o.print) {
    console.log(JSON.stringify(loaded.config, null, 2));
    return;
  }
  const t = scenario.topology;
  console.log(
    `${file}: valid. ${t.name}: ${t.nodeCount} nodes, ${t.linkCount} directed links; ${workload.intervals} demand interval(s), about ${workload.expectedFlows} flows per policy; policies: ${scenario.policies.map((p) => p.label).join(", ")}${sweepRuns === undefined ? "" : `; sweep: ${sweepRuns} runs`}`,
  );
}

/**
 * Checks a sweep as `sweep` would run it: the grid's paths and values against the schema (expandSweep), and each
 * grid value's scenario (files, nodes, links, sizes), reported at its place in `sweep.grid`. Returns the run count.
 * @throws ConfigError
 */
function validateSweep(loaded: LoadedConfig, set: readonly string[], seed: number | undefined): number {
  const runs = expandSweep(loaded, set, seed);
  for (const [k, values] of Object.entries(loaded.config.sweep?.grid ?? {})) {
    values.forEach((v, i) => {
      const point = `${k}=${JSON.stringify(v)}`;
      try {
        const opts = { set: [...set, point], ...(seed !== undefined ? { seed } : {}) };
        buildScenario(parseConfig(loaded.text, loaded.file, loaded.baseDir, opts), 0);
      } catch (e) {
        if (!(e instanceof ConfigError)) throw e;
        const why = e.issues.map((x) => `${formatPath(x.path)}: ${x.message}`).join("; ");
        throw loaded.error(["sweep", "grid", k, i], `with ${point}: ${why}`);
      }
    });
  }
  return runs.length;
}
