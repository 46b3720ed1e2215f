/** `topocast sweep <config>`: a grid of parameters x seeds x replications. */
import type { Argv } from "yargs";
import type { SweepCliOptions } from "../sweep-command.ts";
import { checkInt, configOptions } from "./options.ts";

/** Adds `sweep`: runs in parallel, resumable, sharded, or written as a cluster job script. */
export function addSweep<T>(y: Argv<T>): Argv<T> {
  return y.command(
    "sweep <config>",
    "Run a grid of parameters x seeds x replications in parallel, with an index of runs",
    (y) =>
      configOptions(y)
        .option("jobs", { type: "number", describe: "Parallel runs (default: number of cores)" })
        .option("out", { type: "string", describe: "Sweep directory (default results/<name>/sweep)" })
        .option("resume", {
          type: "boolean",
          default: false,
          describe: "Run only the runs missing from the sweep directory",
        })
        .option("shard", { type: "string", describe: "Run only shard i of N (i/N, 0-based), e.g. 3/16" })
        .option("emit", {
          choices: ["slurm"] as const,
          describe: "Write a cluster job script instead of running",
        })
        .option("shards", {
          type: "number",
          default: 16,
          describe: "With --emit slurm: number of array tasks",
        })
        .option("list", {
          type: "boolean",
          default: false,
          describe: "Print the runs of the sweep and exit",
        })
        .option("report", {
          type: "boolean",
          default: true,
          describe: "Render the sweep report at the end",
        })
        .example("$0 sweep experiments/configs/sweep-load.yaml --jobs 4", "the grid on 4 cores")
        .example("$0 sweep sweep-load.yaml --resume", "finish an interrupted sweep")
        .example(
          "$0 sweep sweep-load.yaml --emit slurm --shards 32",
          "write an sbatch job array; then `topocast report`",
        ),
    async (args) => {
      checkInt("jobs", args.jobs, 1);
      checkInt("shards", args.shards, 1);
      checkInt("seed", args.seed, 0);
      const opts: SweepCliOptions = {
        set: args.set,
        seed: args.seed,
        jobs: args.jobs,
        out: args.out,
        resume: args.resume,
        shard: args.shard,
        emit: args.emit,
        shards: args.shards,
        list: args.list,
        report: args.report,
      };
      await (await import("../sweep-command.ts")).sweepCommand(args.config, opts);
    },
  );
}
