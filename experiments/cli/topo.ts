/** `topocast topo show <file>`: a topology's nodes, links, capacities and delays. */
import type { Argv } from "yargs";
import { formatDuration, formatRate } from "../../sim/units.ts";
import { makeTable } from "./options.ts";

/** Nodes `topo show` lists by name; larger topologies list the first ones and count the rest. */
const NODES_LISTED = 60;

/** Adds `topo` and its subcommand `show`. */
export function addTopo<T>(y: Argv<T>): Argv<T> {
  return y.command("topo", "Topology tools", (y) =>
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
        async (args) => topoShow(args.file, args.json),
      )
      .demandCommand(1, "topo: name a subcommand (show)"),
  );
}

async function topoShow(file: string, json: boolean): Promise<void> {
  const { nodeTitle, readTopologyFile } = await import("../topology-files.ts");
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
