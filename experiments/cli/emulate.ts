/**
 * `topocast emulate`: a config's policies on Linux network namespaces (`emulate run`, also `emulate <config>`),
 * and the substrate tools `up`, `down`, `status`, `exec` and `cleanup`. Needs root; the handlers live in
 * emulate-command.ts and load on use.
 */
import type { Argv } from "yargs";
import { checkInt, runOptions } from "./options.ts";

const emulateCmd = () => import("../emulate-command.ts");

/** Adds `emulate` and its subcommands. */
export function addEmulate<T>(y: Argv<T>): Argv<T> {
  return y.command(
    "emulate",
    "Linux-namespace emulation (root): run a config's policies on namespaces, or up, down, status, exec, cleanup",
    (y) =>
      [addEmulateRun, addUp, addDown, addStatus, addExec, addCleanup]
        .reduce((z, add) => add(z), y)
        .demandCommand(1, "emulate: give a config, or a subcommand (run, up, down, status, exec, cleanup)"),
  );
}

function addEmulateRun<T>(y: Argv<T>): Argv<T> {
  return y.command(
    ["run <config>", "$0 <config>"],
    "Run an experiment config on network namespaces: same flows, same policies, same results layout as `run`",
    (z) =>
      runOptions(z, "results/<name>/seed<seed>-run<run>-emulate")
        .option("with-sim", {
          type: "boolean",
          default: false,
          describe:
            "Simulate the same config first, for the sim-vs-emulation comparison: with each model of emulation.compareWith (fluid, fluid-tcp, packet; default the config's own transport)",
        })
        .option("verbose", { type: "boolean", default: false, describe: "Log every ip/tc command" })
        .example(
          "$0 emulate experiments/configs/abilene-emulate.yaml --with-sim",
          "Abilene as 12 namespaces, predictive overlay vs shortest path, compared with the simulator's three models",
        )
        .example(
          "$0 emulate my.yaml --with-sim --set 'emulation.compareWith=[fluid-tcp, packet]'",
          "compare with the TCP-aware fluid model and the packet model, side by side",
        ),
    async (args) => {
      checkInt("run", args.run, 0);
      checkInt("seed", args.seed, 0);
      await (await emulateCmd()).emulateRun(args.config, {
        set: args.set,
        seed: args.seed,
        run: args.run,
        out: args.out,
        report: args.report,
        withSim: args["with-sim"],
        quiet: args.quiet,
        verbose: args.verbose,
      });
    },
  );
}

function addUp<T>(y: Argv<T>): Argv<T> {
  return y.command(
    "up <topology>",
    "Build a topology (a Zoo name, a topology file, or an experiment config) as network namespaces and print its run id, nodes and addresses",
    (z) =>
      z
        .positional("topology", {
          type: "string",
          demandOption: true,
          describe:
            "Zoo name, topology file, or experiment config (.yaml/.json: its topology and emulation settings)",
        })
        .example("$0 emulate up Abilene", "11 namespaces wired as Abilene")
        .example(
          "$0 emulate up experiments/configs/abilene-emulate.yaml",
          "a config's substrate, scaled as it says",
        ),
    async (args) => (await emulateCmd()).emulateUp(args.topology),
  );
}

function addDown<T>(y: Argv<T>): Argv<T> {
  return y.command(
    "down <runId>",
    "Tear down a run",
    (z) => z.positional("runId", { type: "string", demandOption: true }),
    async (args) => (await emulateCmd()).emulateDown(args.runId),
  );
}

function addStatus<T>(y: Argv<T>): Argv<T> {
  return y.command("status", "List live runs", {}, async () => (await emulateCmd()).emulateStatus());
}

function addExec<T>(y: Argv<T>): Argv<T> {
  return y.command(
    "exec <runId> <node> [cmd..]",
    "Run a command in a node's namespace",
    (z) =>
      z
        .positional("runId", { type: "string", demandOption: true })
        .positional("node", { type: "string", demandOption: true })
        .positional("cmd", { type: "string", array: true, default: [] as string[] })
        .example("$0 emulate exec tc1a2b3c ATLAng -- ping -c 3 10.213.0.2", "ping from a node"),
    async (args) => {
      process.exitCode = await (await emulateCmd()).emulateExec(
        args.runId,
        args.node,
        // Words after `--` land in yargs' `_` after the two command words.
        [...args.cmd.map(String), ...args._.slice(2).map(String)],
      );
    },
  );
}

function addCleanup<T>(y: Argv<T>): Argv<T> {
  return y.command(
    "cleanup",
    "Remove leftovers of crashed runs, by run prefix only",
    (z) =>
      z.option("run-id", { type: "string", describe: "Only this run" }).option("orphans", {
        type: "boolean",
        default: false,
        describe: "Also namespaces without state",
      }),
    async (args) => (await emulateCmd()).emulateCleanup(args["run-id"], args.orphans),
  );
}
