/**
 * The `topocast` command line (yargs). One module per command under experiments/cli/ declares its options and
 * examples and loads its handler on use (so `topocast validate` and `--help` start fast); this file lists them in
 * help order. Bad input exits with code 2 and a one-line message naming the file, field and value; `--debug` adds
 * the stack trace. Unexpected failures exit 1.
 */
import { pathToFileURL } from "node:url";
import yargs, { type Argv } from "yargs";
import { hideBin } from "yargs/helpers";
import { addDemo } from "./cli/demo.ts";
import { addEmulate } from "./cli/emulate.ts";
import { CliInputError } from "./cli/options.ts";
import { addPersona } from "./cli/persona.ts";
import { addPredict } from "./cli/predict.ts";
import { addRegistry } from "./cli/registry.ts";
import { addCompare, addReport } from "./cli/results.ts";
import { addRun, addValidate } from "./cli/run.ts";
import { addSweep } from "./cli/sweep.ts";
import { addTopo } from "./cli/topo.ts";
import { addTrainRl } from "./cli/train-rl.ts";
import { isUserError } from "./errors.ts";

/** The commands, in the order `--help` lists them. */
const COMMANDS = [
  addRun,
  addSweep,
  addReport,
  addCompare,
  addValidate,
  addDemo,
  addPredict,
  addEmulate,
  addTrainRl,
  addTopo,
  addPersona,
  addRegistry,
];

export function buildCli(argv: string[]): Argv {
  const y = yargs(argv)
    .scriptName("topocast")
    .usage("$0 <command> [options]")
    .option("debug", { type: "boolean", default: false, describe: "Show stack traces for errors" });
  // exitProcess(false): --help prints and returns rather than exiting, so runCli never calls process.exit.
  return COMMANDS.reduce((acc, add) => add(acc), y)
    .demandCommand(1, "name a command; see --help")
    .strict()
    .help()
    .exitProcess(false)
    .fail((msg, err) => {
      if (err) throw err;
      throw new CliInputError(`${msg}\nRun with --help for usage.`);
    });
}

export { CliInputError };

/**
 * Runs one command line (`argv` without node and script) in this process and resolves to its exit code: 0 when the
 * command finished (a command may still set `process.exitCode`), 2 for bad input (a one-line message on stderr
 * naming the file, field and value), 1 for an unexpected failure. Never calls `process.exit`, so tests can run many
 * command lines in one process.
 */
export async function runCli(argv: string[]): Promise<number> {
  const debug = argv.includes("--debug");
  try {
    await buildCli(argv).parseAsync();
    return 0;
  } catch (e) {
    const err = e instanceof Error ? e : new Error(String(e));
    if (debug) console.error(err.stack);
    if (isUserError(err) || err instanceof CliInputError) {
      console.error(`topocast: ${err.message}`);
      return 2;
    }
    console.error(
      `topocast: unexpected error: ${err.message}${debug ? "" : " (run with --debug for the stack)"}`,
    );
    return 1;
  }
}

/** The `topocast` process: runs `process.argv` and exits with a failure's code at once (see {@link runCli}). */
export async function main(): Promise<void> {
  // Output piped into a reader that stops early (`| head`): stop quietly, as other command-line tools do.
  for (const stream of [process.stdout, process.stderr])
    stream.on("error", (e: NodeJS.ErrnoException) => {
      if (e.code === "EPIPE") process.exit(0);
      throw e;
    });
  const code = await runCli(hideBin(process.argv));
  if (code !== 0) process.exit(code);
}

// Run directly (`node --import tsx experiments/cli.ts ...`) as well as through bin/topocast.js.
if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) await main();
