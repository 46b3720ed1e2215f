/** `topocast run <config>` and `topocast validate <config>`. */
import type { Argv } from "yargs";
import { checkInt, configOptions, runOptions } from "./options.ts";

// Command modules load on use, so `topocast validate` and `--help` start fast.
const runCmd = () => import("../run-command.ts");

/** Adds `run`: one experiment, every policy on the same traffic, results, plots and report.html. */
export function addRun<T>(y: Argv<T>): Argv<T> {
  return y.command(
    "run <config>",
    "Run one experiment (every policy on the same traffic) and write results, plots and report.html",
    (y) =>
      runOptions(y, "results/<name>/seed<seed>-run<run>")
        .option("json", {
          type: "boolean",
          default: false,
          describe: "Print summary.json instead of tables",
        })
        .example("$0 run experiments/configs/quickstart.yaml", "Abilene, shortest-path vs ECMP")
        .example(
          "$0 run quickstart.yaml --set workload.load.targetMlu=0.9 --seed 2",
          "a busier network, another seed",
        )
        .example("$0 run quickstart.yaml --run 3 --out /tmp/q3", "replication 3 into a chosen directory"),
    async (args) => {
      checkInt("run", args.run, 0);
      checkInt("seed", args.seed, 0);
      await (await runCmd()).runCommand(args.config, {
        set: args.set,
        seed: args.seed,
        run: args.run,
        out: args.out,
        report: args.report,
        quiet: args.quiet,
        json: args.json,
      });
    },
  );
}

/** Adds `validate`: a config checked (schema, files, nodes, links) without running it. */
export function addValidate<T>(y: Argv<T>): Argv<T> {
  return y.command(
    "validate <config>",
    "Check a config (schema, files, nodes, links) without running it",
    (y) =>
      configOptions(y)
        .option("print", {
          type: "boolean",
          default: false,
          describe: "Print the effective config as JSON",
        })
        .example(
          "$0 validate experiments/configs/quickstart.yaml",
          "exit 0 when valid, 2 with the reasons otherwise",
        ),
    async (args) => {
      checkInt("seed", args.seed, 0);
      (await runCmd()).validateCommand(args.config, { set: args.set, seed: args.seed, print: args.print });
    },
  );
}
