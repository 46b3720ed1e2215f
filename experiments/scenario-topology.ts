/**
 * The config's `topology` section to a {@link Topology}: a bundled Topology Zoo network, a file, a generator, or
 * several of them joined by gateways (`substrates`, sim/substrate/compose.ts), with the section's link defaults
 * (capacity, delay, delay from coordinates). Errors are ConfigErrors at `topology.zoo`, `topology.file`,
 * `topology.generator`, `topology.substrates.<i>.<same>` or `topology.gateways`.
 */

import { composeSubstrates, type Gateway } from "../sim/substrate/compose.ts";
import * as gen from "../sim/substrate/generators.ts";
import { DEFAULT_LINK, type LinkDefaults, type Topology } from "../sim/substrate/topology.ts";
import { parseDurationNs, parseRateBps } from "../sim/units.ts";
import { checkGeneratorSize } from "./config/scenario-checks.ts";
import type { ExperimentConfig } from "./config/schema.ts";
import { at, type Locate } from "./scenario-locate.ts";
import { readTopologyFile } from "./topology-files.ts";

type Source = Pick<ExperimentConfig["topology"], "zoo" | "file" | "generator" | "links">;

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
  if (t.substrates === undefined) return buildSource(t, ["topology"], error, onWarning);
  const parts = t.substrates.map((s, i) => ({
    name: s.name,
    topology: buildSource(s, ["topology", "substrates", i], error, onWarning),
  }));
  const defaults = linkDefaults(t);
  const gateways = t.gateways.map(
    (g): Gateway => ({
      between: g.between,
      props: {
        capacityBps: g.capacity === undefined ? defaults.capacityBps : parseRateBps(g.capacity),
        delayNs: g.delay === undefined ? defaults.delayNs : parseDurationNs(g.delay),
        secure: g.secure,
        egressCostPerGB: g.egressCostPerGB,
      },
      bidirectional: !g.oneWay,
    }),
  );
  const name = parts.map((p) => p.name).join("+");
  return at(error, ["topology", "gateways"], () => composeSubstrates(name, parts, gateways));
}

function linkDefaults(t: Source): LinkDefaults {
  return {
    ...DEFAULT_LINK,
    capacityBps: parseRateBps(t.links.capacity),
    delayNs: parseDurationNs(t.links.delay),
    delayFromCoordinates: t.links.delayFromCoordinates,
  };
}

/** One source (the topology, or one of its substrates at `path`): a Zoo name, a file or a generator. */
function buildSource(
  t: Source,
  path: (string | number)[],
  error: Locate,
  onWarning?: (message: string) => void,
): Topology {
  const defaults: Partial<LinkDefaults> = linkDefaults(t);
  if (t.zoo !== undefined) {
    const name = t.zoo;
    if (/[/\\.]/.test(name)) {
      throw error(
        [...path, "zoo"],
        `expected a bundled network name, got ${JSON.stringify(name)}; use file: for paths`,
      );
    }
    return at(error, [...path, "zoo"], () => readTopologyFile(name, defaults, onWarning));
  }
  if (t.file !== undefined) {
    const file = t.file;
    return at(error, [...path, "file"], () => readTopologyFile(file, defaults, onWarning));
  }
  const g = t.generator!;
  checkGeneratorSize(g, error, [...path, "generator"]);
  return at(error, [...path, "generator"], () => {
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
