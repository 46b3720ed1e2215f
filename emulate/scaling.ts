/**
 * Scaling between simulated and emulated units (dimensional analysis; c = timeCompression, r = rateScale): link
 * rates x r; link delays / c; wall time = simulated time / c (control and sampling intervals, flow start times,
 * failures); flow sizes x r / c (at least one byte). A flow's transmission time size/rate and its propagation delay
 * then both shrink by exactly c, so its ideal FCT in simulated time and every link's utilization are those of the
 * simulation. Results are reported in simulated units: FCT = measured wall FCT x c, sizes and link bits as the
 * simulation's (measured bytes x c / r), capacities unscaled. What does not scale: packets (MTU, TCP's initial
 * window, headers) and the kernel's own latencies; those are what the sim-vs-emulation comparison shows.
 */
import type { Link, Topology } from "../sim/substrate/topology.ts";
import { Topology as TopologyClass } from "../sim/substrate/topology.ts";
import type { EmulationRunSettings } from "./run-settings.ts";

/** The topology as emulated: capacities x rateScale, delays / timeCompression (same nodes, links, ids, order). */
export function scaleTopology(topo: Topology, rateScale: number, timeCompression: number): Topology {
  if (rateScale === 1 && timeCompression === 1) return topo;
  const links: Link[] = topo.links.map((l) =>
    Object.freeze({
      ...l,
      capacityBps: l.capacityBps * rateScale,
      delayNs: Math.round(l.delayNs / timeCompression),
    }),
  );
  return new TopologyClass(
    topo.name,
    `${topo.source} (rates x ${rateScale}, delays / ${timeCompression})`,
    topo.nodes,
    links,
  );
}

/** The emulated size of a flow of `sizeBytes` (simulated): x rateScale / timeCompression, at least 1 byte. */
export function emulatedBytes(sizeBytes: number, s: EmulationRunSettings): number {
  return Math.max(1, Math.round((sizeBytes * s.rateScale) / s.timeCompression));
}
