/** `topocast demo`: Poisson flows on a bundled topology with shortest-path routing, and a summary table. */
import type { Argv } from "yargs";
import { formatDuration, formatRate, formatSize } from "../../sim/units.ts";
import type { runDemo } from "../demo.ts";
import { CliInputError, makeTable } from "./options.ts";

/** Adds `demo`. */
export function addDemo<T>(y: Argv<T>): Argv<T> {
  return y.command(
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
    async (args) => {
      if (!(args.load > 0 && args.load <= 1.5))
        throw new CliInputError(`--load: expected (0, 1.5], got ${args.load}`);
      if (!Number.isInteger(args.flows) || args.flows < 1) {
        throw new CliInputError(`--flows: expected a positive integer, got ${args.flows}`);
      }
      const { runDemo } = await import("../demo.ts");
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
  );
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
