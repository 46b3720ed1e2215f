/**
 * `topocast emulate <config>` (terminal output around emulate-experiment.ts) and `topocast emulate
 * up|down|status|exec|cleanup`: the Linux-namespace substrate of emulate/ for people who want to poke at the
 * network themselves (like containerlab deploy/destroy or Mininet's CLI). Needs root.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { EmulationSettings } from "../emulate/plan.ts";
import { scaleTopology } from "../emulate/scaling.ts";
import { cleanup, down, exec, status, up } from "../emulate/substrate.ts";
import type { Topology } from "../sim/substrate/topology.ts";
import { loadConfig } from "./config/load.ts";
import { emulateExperiment, emulationSettings } from "./emulate-experiment.ts";
import { policyProgress } from "./run-command.ts";
import { buildScenario } from "./scenario.ts";
import { bucketRows, overallRows, textTable, workloadLine } from "./summary-table.ts";
import { nodeTitle, readTopologyFile } from "./topology-files.ts";

export interface EmulateRunOptions {
  set: string[];
  seed: number | undefined;
  run: number;
  out: string | undefined;
  report: boolean;
  withSim: boolean;
  quiet: boolean;
  verbose: boolean;
}

export async function emulateRun(file: string, o: EmulateRunOptions): Promise<void> {
  const loaded = loadConfig(file, { set: o.set, ...(o.seed !== undefined ? { seed: o.seed } : {}) });
  const outcome = await emulateExperiment(loaded, {
    run: o.run,
    report: o.report,
    withSim: o.withSim,
    verbose: o.verbose,
    ...(o.out !== undefined ? { out: o.out } : {}),
    onNote: (line) => {
      if (!o.quiet) console.error(line);
    },
    ...policyProgress(o.quiet, loaded.config.policies.length, "emulating", "of the window"),
  });
  if (outcome.interrupted) process.exitCode = outcome.interrupted === "SIGINT" ? 130 : 143;
  if (o.quiet) {
    console.log(outcome.dir);
    return;
  }
  const s = outcome.summary;
  console.log(workloadLine(s));
  console.log(textTable(overallRows(s)));
  console.log(textTable(bucketRows(s)));
  if (outcome.simDir) {
    const { comparisonText, modelComparisonText } = await import("./sim-vs-emulation/output.ts");
    const c = JSON.parse(readFileSync(join(outcome.dir, "sim-vs-emulation.json"), "utf8"));
    console.log(`sim vs emulation (the same flows in ${outcome.simDir}):`);
    console.log(comparisonText(c));
    if (outcome.sims.length > 1) {
      const m = JSON.parse(readFileSync(join(outcome.dir, "sim-models-vs-emulation.json"), "utf8"));
      console.log(`the simulator's models side by side (${outcome.sims.map((s) => s.dir).join(", ")}):`);
      console.log(modelComparisonText(m));
    }
  }
  console.log(`results: ${outcome.dir} (${outcome.manifest.wallSeconds.toFixed(1)} s wall)`);
  if (outcome.reportPath) console.log(`report:  ${outcome.reportPath}`);
}

/** A topology and its emulation settings: from an experiment config (scaled as it says), or a Zoo name or file. */
function substrateOf(arg: string): { topo: Topology; settings: EmulationSettings } {
  const warn = (w: string) => console.error(`topocast: warning: ${w}`);
  if (!/\.(ya?ml|json)$/i.test(arg)) return { topo: readTopologyFile(arg, undefined, warn), settings: {} };
  const loaded = loadConfig(arg);
  const s = emulationSettings(loaded.config);
  const { scenario } = buildScenario(loaded, 0, warn);
  return {
    topo: scaleTopology(scenario.topology, s.rateScale, s.timeCompression),
    settings: {
      addressBlock: s.addressBlock,
      delay: s.delay,
      rate: s.rate,
      queueNs: s.queueNs === null ? null : Math.round(s.queueNs / s.timeCompression),
    },
  };
}

export async function emulateUp(topology: string): Promise<void> {
  const { topo, settings } = substrateOf(topology);
  const r = await up(topo, { persistent: true, handleSignals: true, settings });
  console.log(`run ${r.runId} is up (${r.nodes.length} nodes, ${(r.timings.totalMs / 1000).toFixed(2)} s)`);
  const width = Math.max(16, ...r.nodes.map((n) => nodeTitle(topo, n.id).length));
  for (const n of r.nodes) {
    console.log(
      `  ${nodeTitle(topo, n.id).padEnd(width)} netns ${n.netns.padEnd(24)} ${n.addresses.join(" ")}`,
    );
  }
  for (const d of r.dropped) console.log(`  not emulated: ${d}`);
  console.log(`tear down with: topocast emulate down ${r.runId}`);
}

export async function emulateDown(runId: string): Promise<void> {
  await down(runId);
  console.log(`run ${runId} is down`);
}

export async function emulateStatus(): Promise<void> {
  const runs = await status();
  if (runs.length === 0) console.log("no emulation runs");
  for (const r of runs) {
    console.log(
      `${r.runId}  ${r.status}${r.persistent ? " (persistent)" : ""}  ${r.topology ?? "?"}  ${r.nodes} nodes, ${r.namespaces} namespaces  controller ${r.controllerAlive ? "alive" : "gone"}`,
    );
  }
}

export async function emulateExec(runId: string, node: string, argv: string[]): Promise<number> {
  const r = await exec(runId, node, argv);
  process.stdout.write(r.stdout);
  process.stderr.write(r.stderr);
  return r.code ?? 1;
}

/**
 * `emulate cleanup [run] [--orphans]`: removes the leftovers of crashed runs and probes (cleanup() in substrate.ts),
 * then names what it left alone on purpose: runs whose creator still runs, persistent runs that are up, and
 * namespaces without a state file (removed only with --orphans).
 */
export async function emulateCleanup(runId: string | undefined, orphans: boolean): Promise<void> {
  const removed = await cleanup({ ...(runId ? { runId } : {}), orphans });
  console.log(removed.length ? `removed ${removed.join(", ")}` : "nothing to clean up");
  if (runId) return;
  for (const r of await status()) {
    if (r.status === "orphaned")
      console.log(
        `left ${r.runId}: ${r.namespaces} namespace(s) of run tc${r.runId} without a state file in this run directory; remove them with --orphans if no topocast process uses them`,
      );
    else if (r.controllerAlive)
      console.log(`left ${r.runId}: ${r.status}, its creator (pid ${r.pid}) is running`);
    else
      console.log(`left ${r.runId}: persistent run, up; tear it down with: topocast emulate down ${r.runId}`);
  }
}
