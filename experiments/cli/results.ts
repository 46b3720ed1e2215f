/** `topocast report <dir>` and `topocast compare <baseline> <current>`: commands over results directories. */
import type { Argv } from "yargs";
import type { CompareOptions } from "../compare-command.ts";

/** Adds `report`: tables, plots and report.html re-rendered from a run or sweep directory. */
export function addReport<T>(y: Argv<T>): Argv<T> {
  return y.command(
    "report <dir>",
    "Re-render tables, plots and report.html from a results directory (a run or a sweep; merges shards)",
    (y) =>
      y
        .positional("dir", {
          type: "string",
          demandOption: true,
          describe: "A run or sweep results directory",
        })
        .example("$0 report results/quickstart/seed1-run0", "one run")
        .example("$0 report results/sweep-load/sweep", "a sweep, all shards merged"),
    async (args) => {
      await (await import("../report-command.ts")).reportCommand(args.dir);
    },
  );
}

/** Adds `compare`: two results directories metric by metric; exit code 1 on a regression. */
export function addCompare<T>(y: Argv<T>): Argv<T> {
  return y.command(
    "compare <baseline> <current>",
    "Compare two results directories metric by metric; exit 1 when a metric regresses beyond tolerance",
    (y) =>
      y
        .positional("baseline", {
          type: "string",
          demandOption: true,
          describe: "Baseline run directory (or summary.json)",
        })
        .positional("current", {
          type: "string",
          demandOption: true,
          describe: "Current run directory (or summary.json)",
        })
        .option("tolerance", {
          type: "string",
          array: true,
          default: [] as string[],
          describe:
            "Relative tolerance: a number for all metrics (default 0.05), or metric=number, repeatable",
        })
        .option("json", { type: "boolean", default: false, describe: "Print the comparison as JSON" })
        .example("$0 compare results/baselines/ci-ring results/ci-ring/seed1-run0", "CI gate, 5% tolerance")
        .example("$0 compare base cur --tolerance 0.02 --tolerance slowdown.p99=0.1", "per-metric tolerance"),
    async (args) => {
      const opts: CompareOptions = { tolerance: args.tolerance, json: args.json };
      const code = (await import("../compare-command.ts")).compareCommand(args.baseline, args.current, opts);
      if (code !== 0) process.exitCode = code;
    },
  );
}
