/**
 * What the `topocast` commands share: the options of commands that read a config, the options of one run's
 * results directory, integer checks, the error class of bad command-line input (exit code 2), and tables.
 */
import Table from "cli-table3";
import type { Argv } from "yargs";

/** Bad command-line input (exit code 2). */
export class CliInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "CliInputError";
  }
}

/** Throws a CliInputError unless `v` (option `--name`) is absent or an integer >= `min`. */
export function checkInt(name: string, v: number | undefined, min: number): void {
  if (v !== undefined && (!Number.isInteger(v) || v < min)) {
    throw new CliInputError(`--${name}: expected an integer >= ${min}, got ${v}`);
  }
}

/** Options shared by the commands that read a config. */
export function configOptions<T>(y: Argv<T>) {
  return y
    .positional("config", {
      type: "string",
      demandOption: true,
      describe: "Experiment config (.yaml or .json)",
    })
    .option("set", {
      type: "string",
      array: true,
      default: [] as string[],
      describe: "Override a config field: path=value (YAML value), repeatable",
    })
    .option("seed", { type: "number", describe: "Override the config's seed" });
}

/** A config plus the options of one run's results directory (`run` and `emulate run`). */
export function runOptions<T>(y: Argv<T>, defaultOut: string) {
  return configOptions(y)
    .option("run", { type: "number", default: 0, describe: "Replication number (0-based)" })
    .option("out", { type: "string", describe: `Results directory (default ${defaultOut})` })
    .option("report", {
      type: "boolean",
      default: true,
      describe: "Render plots and report.html (--no-report to skip)",
    })
    .option("quiet", { type: "boolean", default: false, describe: "Print only the results directory" });
}

/** A table that uses colour only on a terminal (plain text in logs and CI). */
export function makeTable(head: string[]): Table.Table {
  const plain = !process.stdout.isTTY;
  return new Table({ head, ...(plain ? { style: { head: [], border: [] } } : {}) });
}
