/**
 * Reads a topology named on the command line or in a config: a bundled Topology Zoo name (e.g. `Abilene`), a
 * Topology Zoo `.graphml` file, or an SNDlib network `.xml` file.
 */
import { existsSync } from "node:fs";
import { extname } from "node:path";
import { readSndlibNetwork } from "../sim/substrate/sndlib-xml.ts";
import { type LinkDefaults, type Topology, TopologyError } from "../sim/substrate/topology.ts";
import { readBundledZoo, readZooGraphml } from "../sim/substrate/zoo-graphml.ts";

/**
 * Reads a bundled Zoo name, a `.graphml` or an SNDlib `.xml` file. `onWarning` receives what the importer read
 * differently from the file (a dropped self-loop), one sentence each.
 * @throws TopologyError naming the file for an unknown format, a missing file or a bad one.
 */
export function readTopologyFile(
  nameOrPath: string,
  defaults?: Partial<LinkDefaults>,
  onWarning?: (message: string) => void,
): Topology {
  const opts = { ...(defaults ? { defaults } : {}), ...(onWarning ? { onWarning } : {}) };
  if (existsSync(nameOrPath)) {
    const ext = extname(nameOrPath).toLowerCase();
    if (ext === ".graphml") return readZooGraphml(nameOrPath, opts);
    if (ext === ".xml") return readSndlibNetwork(nameOrPath, opts);
    throw new TopologyError(
      `${nameOrPath}: unknown topology format "${ext}"; expected .graphml (Topology Zoo) or .xml (SNDlib)`,
    );
  }
  if (/[/\\.]/.test(nameOrPath)) throw new TopologyError(`${nameOrPath}: no such file`);
  return readBundledZoo(nameOrPath, opts);
}

/** A node as the CLI prints it: its id, and its label (a Zoo PoP name) in parentheses when that differs. */
export function nodeTitle(topo: Topology, id: string): string {
  const label = topo.hasNode(id) ? topo.nodes[topo.node(id)]!.label : id;
  return label === id || label === "" ? id : `${id} (${label})`;
}
