/**
 * The config's `failures` list to the engine's link events: link ids resolved on the topology (and their reverse
 * links when `bothDirections`), times in ns, checked against the horizon, sorted by time. A `degraded` entry becomes
 * an up event with a quality: its capacity, delay and loss, each defaulting to the named link's nominal value (and
 * loss 0); `bothDirections` gives the reverse link the same quality.
 */
import type { LinkEvent } from "../sim/engine/types.ts";
import type { Topology } from "../sim/substrate/topology.ts";
import { parseDurationNs, parseRateBps } from "../sim/units.ts";
import { checkFailures } from "./config/scenario-checks.ts";
import type { ExperimentConfig } from "./config/schema.ts";
import type { Locate } from "./scenario-locate.ts";

/** The link events of `failures` on `topology`, in time order; an unknown link is a ConfigError at its entry. */
export function buildFailures(
  failures: ExperimentConfig["failures"],
  topology: Topology,
  horizonNs: number,
  error: Locate,
): LinkEvent[] {
  const events: LinkEvent[] = failures.map((f, i) => {
    if (!hasLink(topology, f.link)) {
      const some = topology.links.slice(0, 3).map((l) => `"${l.id}"`);
      throw error(
        ["failures", i, "link"],
        `unknown link ${JSON.stringify(f.link)} in ${topology.name}; links are named like ${some.join(", ")} (see topocast topo show)`,
      );
    }
    const l = topology.link(f.link);
    const rev = topology.links[l]!.reverse;
    const links = f.bothDirections && rev >= 0 ? [l, rev].sort((a, b) => a - b) : [l];
    const atNs = parseDurationNs(f.at);
    if (f.state !== "degraded") return { atNs, links, up: f.state === "up" };
    const nominal = topology.links[l]!;
    const quality = {
      capacityBps: f.capacity !== undefined ? parseRateBps(f.capacity) : nominal.capacityBps,
      delayNs: f.delay !== undefined ? parseDurationNs(f.delay) : nominal.delayNs,
      loss: f.loss ?? 0,
    };
    return { atNs, links, up: true, quality };
  });
  checkFailures(events, horizonNs, (l) => topology.links[l]!.id, error);
  return events.sort((a, b) => a.atNs - b.atNs);
}

function hasLink(topo: Topology, id: string): boolean {
  try {
    topo.link(id);
    return true;
  } catch {
    return false;
  }
}
