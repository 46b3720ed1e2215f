/**
 * The config's `attacks` list to the engine's attack specs (models/security/attacks.ts): node ids checked on the
 * topology, times in ns, the attack inside the offered traffic's horizon.
 */
import type { AttackSpec } from "../models/security/attacks.ts";
import type { Topology } from "../sim/substrate/topology.ts";
import { formatDuration, parseDurationNs } from "../sim/units.ts";
import type { ExperimentConfig } from "./config/schema.ts";
import type { Locate } from "./scenario-locate.ts";

/** The attacks of the config; an unknown node or a start at or after the horizon is a ConfigError at its field. */
export function buildAttacks(
  attacks: ExperimentConfig["attacks"],
  topology: Topology,
  horizonNs: number,
  error: Locate,
): AttackSpec[] {
  const ids = new Set(topology.nodes.map((n) => n.id));
  const known = (id: string, path: PropertyKey[]) => {
    if (ids.has(id)) return;
    const some = topology.nodes.slice(0, 3).map((n) => `"${n.id}"`);
    throw error(
      path,
      `unknown node ${JSON.stringify(id)} in ${topology.name}; nodes are named like ${some.join(", ")}`,
    );
  };
  return attacks.map((a, i) => {
    known(a.node, ["attacks", i, "node"]);
    for (const [j, t] of (a.targets ?? []).entries()) known(t, ["attacks", i, "targets", j]);
    if (a.targets?.length && a.targets.every((t) => t === a.node)) {
      throw error(["attacks", i, "targets"], `no target other than the attack's own node ${a.node}`);
    }
    const startNs = parseDurationNs(a.at);
    if (startNs >= horizonNs) {
      throw error(
        ["attacks", i, "at"],
        `${a.at} is at or after the end of the offered traffic (${formatDuration(horizonNs)}); start it earlier`,
      );
    }
    return {
      kind: a.kind,
      node: a.node,
      ...(a.targets ? { targets: a.targets } : {}),
      startNs,
      durationNs: parseDurationNs(a.duration),
      ratePerS: a.rate,
    };
  });
}
