/**
 * The `topocast` command line (yargs). Bad input exits with code 2 and a one-line message naming the file, field
 * and value; `--debug` adds the stack trace. Unexpected failures exit 1.
 */
import Table from "cli-table3";
import yargs, { type Argv } from "yargs";
import { hideBin } from "yargs/helpers";
import { formatDuration, formatRate, formatSize } from "../sim/units.ts";
import type { CompareOptions } from "./compare-command.ts";
import { runDemo } from "./demo.ts";
import { isUserError } from "./errors.ts";
import type { SweepCliOptions } from "./sweep-command.ts";
import { nodeTitle, readTopologyFile } from "./topology-files.ts";

// Command modules load on use, so `topocast validate` and `--help` start fast.
const runCmd = () => import("./run-command.ts");

/** A table that uses colour only on a terminal (plain text in logs and CI). */
function makeTable(head: string[]): Table.Table {
  const plain = !process.stdout.isTTY;
  return new Table({ head, ...(plain ? { style: { head: [], border: [] } } : {}) });
}

function fmt(x: number | null | undefined, digits = 3): string {
  return x === null || x === undefined ? "-" : x.toFixed(digits);
}

function printDemo(result: ReturnType<typeof runDemo>): void {
  const t = result.topology;
  console.log(
    `topocast demo: ${t.name}, ${t.nodes} nodes, ${t.links} directed links, load ${result.load}, seed ${result.seed}, run ${result.run}`,
  );
  console.log(
    `offered ${formatRate(result.offeredBps)}; simulated ${formatDuration(result.simulatedNs)} in ${result.wallSeconds.toFixed(2)} s wall (${result.events} events)`,
  );
  const table = makeTable([
    "flows",
    "count",
    "FCT mean",
    "FCT p99",
    "slowdown mean",
    "slowdown p50",
    "slowdown p99",
  ]);
  const f = result.flows;
  const row = (name: string, s: { count: number; fctNs: typeof f.fctNs; slowdown: typeof f.slowdown }) => [
    name,
    s.count,
    s.fctNs ? formatDuration(s.fctNs.mean) : "-",
    s.fctNs ? formatDuration(s.fctNs.p99) : "-",
    fmt(s.slowdown?.mean),
    fmt(s.slowdown?.p50),
    fmt(s.slowdown?.p99),
  ];
  table.push(row("all", f));
  for (const b of f.buckets) {
    const range = `${formatSize(b.loBytes)}-${b.hiBytes === null ? "" : formatSize(b.hiBytes)}`;
    table.push(row(`${b.name} (${range})`, b));
  }
  console.log(table.toString());
  const l = result.links;
  console.log(
    `goodput ${f.goodputBps === null ? "-" : formatRate(f.goodputBps)}; MLU peak ${fmt(l.peakMlu)}, mean ${fmt(l.meanMlu)}, p95 ${fmt(l.p95Mlu)} over ${l.intervals} intervals of ${formatDuration(l.intervalNs)}`,
  );
}

/** Nodes `topo show` lists by name; larger topologies list the first ones and count the rest. */
const NODES_LISTED = 60;

function topoShow(file: string, json: boolean): void {
  const topo = readTopologyFile(file, undefined, (w) => console.error(`topocast: warning: ${w}`));
  const s = topo.summary();
  if (json) {
    console.log(JSON.stringify(s, null, 2));
    return;
  }
  console.log(`${s.name} (${file})`);
  console.log(`  nodes ${s.nodes} (${s.withCoordinates} with coordinates), directed links ${s.links}`);
  const names = topo.nodes.slice(0, NODES_LISTED).map((n) => nodeTitle(topo, n.id));
  const more = topo.nodeCount - names.length;
  console.log(`  ${names.join(", ")}${more > 0 ? `, ... and ${more} more` : ""}`);
  console.log(`  capacity ${formatRate(s.capacityBps.min)} .. ${formatRate(s.capacityBps.max)}`);
  console.log(`  delay    ${formatDuration(s.delayNs.min)} .. ${formatDuration(s.delayNs.max)}`);
  const byCap = new Map<number, number>();
  for (const l of topo.links) byCap.set(l.capacityBps, (byCap.get(l.capacityBps) ?? 0) + 1);
  const table = makeTable(["capacity", "directed links"]);
  for (const [cap, n] of [...byCap].sort((a, b) => a[0] - b[0])) table.push([formatRate(cap), n]);
  console.log(table.toString());
}

/** Options shared by the commands that read a config. */
function configOptions<T>(y: Argv<T>) {
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
function runOptions<T>(y: Argv<T>, defaultOut: string) {
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

function checkInt(name: string, v: number | undefined, min: number): void {
  if (v !== undefined && (!Number.isInteger(v) || v < min)) {
    throw new CliInputError(`--${name}: expected an integer >= ${min}, got ${v}`);
  }
}

export function buildCli(argv: string[]): Argv {
  return yargs(argv)
    .scriptName("topocast")
    .usage("$0 <command> [options]")
    .option("debug", { type: "boolean", default: false, describe: "Show stack traces for errors" })
    .command(
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
    )
    .command(
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
        await (await import("./sweep-command.ts")).sweepCommand(args.config, opts);
      },
    )
    .command(
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
        await (await import("./report-command.ts")).reportCommand(args.dir);
      },
    )
    .command(
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
          .example(
            "$0 compare base cur --tolerance 0.02 --tolerance slowdown.p99=0.1",
            "per-metric tolerance",
          ),
      async (args) => {
        const opts: CompareOptions = { tolerance: args.tolerance, json: args.json };
        const code = (await import("./compare-command.ts")).compareCommand(args.baseline, args.current, opts);
        if (code !== 0) process.exitCode = code;
      },
    )
    .command(
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
    )
    .command(
      "demo",
      "Simulate Poisson flows on a bundled topology with shortest-path routing and print a summary",
      (y) =>
        y
          .option("topology", {
            type: "string",
            default: "Abilene",
            describe: "Bundled Topology Zoo network",
          })
          .option("load", {
            type: "number",
            default: 0.6,
            describe: "Peak offered link utilization (0, 1.5]",
          })
          .option("flows", { type: "number", default: 20_000, describe: "Number of flows" })
          .option("seed", { type: "number", default: 1 })
          .option("run", { type: "number", default: 0, describe: "Replication number" })
          .option("json", { type: "boolean", default: false, describe: "Print the result as JSON" })
          .example("$0 demo", "Abilene at 60% peak load, 20k flows")
          .example("$0 demo --topology Geant2012 --load 0.9 --flows 100000", "a busier, larger run"),
      (args) => {
        if (!(args.load > 0 && args.load <= 1.5))
          throw new CliInputError(`--load: expected (0, 1.5], got ${args.load}`);
        if (!Number.isInteger(args.flows) || args.flows < 1) {
          throw new CliInputError(`--flows: expected a positive integer, got ${args.flows}`);
        }
        const result = runDemo({
          topology: args.topology,
          load: args.load,
          flows: args.flows,
          seed: args.seed,
          run: args.run,
        });
        if (args.json) console.log(JSON.stringify(result, null, 2));
        else printDemo(result);
      },
    )
    .command(
      "predict",
      "Evaluate forecasters on a traffic-matrix series (walk-forward MSE/MAE/NMAE, 1..H steps ahead)",
      (y) =>
        y
          .option("tm", {
            type: "string",
            demandOption: true,
            describe: "SNDlib directory of demandMatrix-*.xml files, or a CSV time_s,src,dst,rate_bps",
          })
          .option("train", {
            type: "string",
            default: "0.7",
            describe: "Training part: a fraction in (0, 1) or a date/label where the test part starts",
          })
          .option("predictors", {
            type: "string",
            default: "lv,ma,ewma,hw,lstm",
            describe: "Comma-separated names",
          })
          .option("horizon", { type: "number", default: 3, describe: "Steps ahead (intervals)" })
          .option("period", { type: "number", describe: "Season in intervals for seasonal-naive and hw" })
          .option("seed", { type: "number", default: 1 })
          .option("out", { type: "string", default: "results/predict", describe: "Output directory" })
          .example(
            "$0 predict --tm ../shared/data/traffic-matrices/sndlib-abilene-5min --train 2004-03-06 --predictors lv,ewma,hw,lstm",
            "the Abilene week: 5 days train, 2 days test",
          ),
      async (args) => {
        await (await import("./predict-command.ts")).predictCommand({
          tm: args.tm,
          train: args.train,
          predictors: args.predictors,
          horizon: args.horizon,
          out: args.out,
          seed: args.seed,
          ...(args.period !== undefined ? { period: args.period } : {}),
        });
      },
    )
    .command(
      "emulate",
      "Linux-namespace emulation (root): run a config's policies on namespaces, or up, down, status, exec, cleanup",
      (y) =>
        y
          .command(
            ["run <config>", "$0 <config>"],
            "Run an experiment config on network namespaces: same flows, same policies, same results layout as `run`",
            (z) =>
              runOptions(z, "results/<name>/seed<seed>-run<run>-emulate")
                .option("with-sim", {
                  type: "boolean",
                  default: false,
                  describe: "Simulate the same config first, for the sim-vs-emulation comparison",
                })
                .option("verbose", { type: "boolean", default: false, describe: "Log every ip/tc command" })
                .example(
                  "$0 emulate experiments/configs/abilene-emulate.yaml --with-sim",
                  "Abilene as 12 namespaces, predictive overlay vs shortest path, compared with the simulator",
                ),
            async (args) => {
              checkInt("run", args.run, 0);
              checkInt("seed", args.seed, 0);
              await (await import("./emulate-command.ts")).emulateRun(args.config, {
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
          )
          .command(
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
            async (args) => (await import("./emulate-command.ts")).emulateUp(args.topology),
          )
          .command(
            "down <runId>",
            "Tear down a run",
            (z) => z.positional("runId", { type: "string", demandOption: true }),
            async (args) => (await import("./emulate-command.ts")).emulateDown(args.runId),
          )
          .command("status", "List live runs", {}, async () =>
            (await import("./emulate-command.ts")).emulateStatus(),
          )
          .command(
            "exec <runId> <node> [cmd..]",
            "Run a command in a node's namespace",
            (z) =>
              z
                .positional("runId", { type: "string", demandOption: true })
                .positional("node", { type: "string", demandOption: true })
                .positional("cmd", { type: "string", array: true, default: [] as string[] })
                .example("$0 emulate exec tc1a2b3c ATLAng -- ping -c 3 10.213.0.2", "ping from a node"),
            async (args) => {
              process.exitCode = await (await import("./emulate-command.ts")).emulateExec(
                args.runId,
                args.node,
                // Words after `--` land in yargs' `_` after the two command words.
                [...args.cmd.map(String), ...args._.slice(2).map(String)],
              );
            },
          )
          .command(
            "cleanup",
            "Remove leftovers of crashed runs, by run prefix only",
            (z) =>
              z.option("run-id", { type: "string", describe: "Only this run" }).option("orphans", {
                type: "boolean",
                default: false,
                describe: "Also namespaces without state",
              }),
            async (args) =>
              (await import("./emulate-command.ts")).emulateCleanup(args["run-id"], args.orphans),
          )
          .demandCommand(1, "emulate: give a config, or a subcommand (run, up, down, status, exec, cleanup)"),
    )
    .command("topo", "Topology tools", (y) =>
      y
        .command(
          "show <file>",
          "Summarize a topology: nodes, links, capacity and delay",
          (z) =>
            z
              .positional("file", {
                type: "string",
                demandOption: true,
                describe: "Topology Zoo .graphml, SNDlib .xml, or a bundled Zoo name",
              })
              .option("json", { type: "boolean", default: false })
              .example("$0 topo show Abilene", "the bundled Zoo Abilene")
              .example("$0 topo show ../shared/data/topologies/sndlib/abilene.xml", "an SNDlib network"),
          (args) => topoShow(args.file, args.json),
        )
        .demandCommand(1, "topo: name a subcommand (show)"),
    )
    .demandCommand(1, "name a command; see --help")
    .strict()
    .help()
    .fail((msg, err) => {
      if (err) throw err;
      console.error(`topocast: ${msg}
Run with --help for usage.`);
      process.exit(2);
    });
}

/** Bad command-line input (exit code 2). */
export class CliInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "CliInputError";
  }
}

async function main(): Promise<void> {
  const argv = hideBin(process.argv);
  const debug = argv.includes("--debug");
  try {
    await buildCli(argv).parseAsync();
  } catch (e) {
    const err = e instanceof Error ? e : new Error(String(e));
    if (debug) console.error(err.stack);
    if (isUserError(err) || err instanceof CliInputError) {
      console.error(`topocast: ${err.message}`);
      process.exit(2);
    }
    console.error(
      `topocast: unexpected error: ${err.message}${debug ? "" : " (run with --debug for the stack)"}`,
    );
    process.exit(1);
  }
}

await main();
