/**
 * The `topocast` command line (yargs). Bad input exits with code 2 and a one-line message naming the file, field
 * and value; `--debug` adds the stack trace. Unexpected failures exit 1.
 */
import Table from "cli-table3";
import yargs, { type Argv } from "yargs";
import { hideBin } from "yargs/helpers";
import { formatDuration, formatRate, formatSize } from "../sim/units.ts";
import { runDemo } from "./demo.ts";
import { isUserError } from "./errors.ts";
import { readTopologyFile } from "./topology-files.ts";

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

function topoShow(file: string, json: boolean): void {
  const topo = readTopologyFile(file);
  const s = topo.summary();
  if (json) {
    console.log(JSON.stringify(s, null, 2));
    return;
  }
  console.log(`${s.name} (${file})`);
  console.log(`  nodes ${s.nodes} (${s.withCoordinates} with coordinates), directed links ${s.links}`);
  console.log(`  capacity ${formatRate(s.capacityBps.min)} .. ${formatRate(s.capacityBps.max)}`);
  console.log(`  delay    ${formatDuration(s.delayNs.min)} .. ${formatDuration(s.delayNs.max)}`);
  const byCap = new Map<number, number>();
  for (const l of topo.links) byCap.set(l.capacityBps, (byCap.get(l.capacityBps) ?? 0) + 1);
  const table = makeTable(["capacity", "directed links"]);
  for (const [cap, n] of [...byCap].sort((a, b) => a[0] - b[0])) table.push([formatRate(cap), n]);
  console.log(table.toString());
}

export function buildCli(argv: string[]): Argv {
  return yargs(argv)
    .scriptName("topocast")
    .usage("$0 <command> [options]")
    .option("debug", { type: "boolean", default: false, describe: "Show stack traces for errors" })
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
