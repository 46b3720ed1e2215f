/**
 * The config's `topology` section to a {@link Topology}: a bundled Topology Zoo network, a file, or a generator,
 * with the section's link defaults (capacity, delay, delay from coordinates). Errors are ConfigErrors at
 * `topology.zoo`, `topology.file` or `topology.generator`.
 */
import * as gen from "../sim/substrate/generators.ts";
import type { LinkDefaults, Topology } from "../sim/substrate/topology.ts";
import { parseDurationNs, parseRateBps } from "../sim/units.ts";
import { checkGeneratorSize } from "./config/scenario-checks.ts";
import type { ExperimentConfig } from "./config/schema.ts";
import { at, type Locate } from "./scenario-locate.ts";
import { readTopologyFile } from "./topology-files.ts";

/**
 * The config's topology. `onWarning` receives what an importer read differently from the file (a dropped
 * self-loop).
 */
export function buildTopology(
  c: ExperimentConfig,
  error: Locate,
  onWarning?: (message: string) => void,
): Topology {
  const t = c.topology;
  const defaults: Partial<LinkDefaults> = {
    capacityBps: parseRateBps(t.links.capacity),
    delayNs: parseDurationNs(t.links.delay),
    delayFromCoordinates: t.links.delayFromCoordinates,
  };
  if (t.zoo !== undefined) {
    const name = t.zoo;
    if (/[/\\.]/.test(name)) {
      throw error(
        ["topology", "zoo"],
        `expected a bundled network name, got ${JSON.stringify(name)}; use file: for paths`,
      );
    }
    return at(error, ["topology", "zoo"], () => readTopologyFile(name, defaults, onWarning));
  }
  if (t.file !== undefined) {
    const file = t.file;
    return at(error, ["topology", "file"], () => readTopologyFile(file, defaults, onWarning));
  }
  const g = t.generator!;
  checkGeneratorSize(g, error);
  return at(error, ["topology", "generator"], () => {
    switch (g.kind) {
      case "line":
        return gen.line(g.n, defaults);
      case "ring":
        return gen.ring(g.n, defaults);
      case "star":
        return gen.star(g.leaves, defaults);
      case "grid":
        return gen.grid(g.rows, g.cols, defaults);
      case "fatTree":
        return gen.fatTree(g.k, { hosts: g.hosts }, defaults);
      case "leafSpine":
        return gen.leafSpine(g.spines, g.leaves, g.hostsPerLeaf, defaults);
    }
  });
}
