/**
 * Test fixture: the control plane and the control driver (on the simulator's clock and data plane) on a small
 * topology with shortest-path default routing.
 */

import { ControlDriver, type ControlDriverOptions } from "../../../models/control/driver.ts";
import type { Policy } from "../../../models/policies/types.ts";
import { SimControlPlane, type SimControlPlaneOptions } from "../../../sim/control/control-plane.ts";
import { SimClock } from "../../../sim/control/sim-clock.ts";
import { SimDataPlane, type SimDataPlaneOptions } from "../../../sim/control/sim-data-plane.ts";
import { Simulator } from "../../../sim/kernel/simulator.ts";
import { type FlowRecord, TraceBus } from "../../../sim/metrics/trace.ts";
import { allPairsShortestPaths } from "../../../sim/substrate/routing.ts";
import { type Topology, TopologyBuilder } from "../../../sim/substrate/topology.ts";
import { FlowNetwork } from "../../../sim/transport/flow-network.ts";

export const MB = 1_000_000;
export const MS = 1_000_000;

/**
 * Two paths from s to t; the upper one (via a, 1 ms per link) is the default, the lower one (via b, 2 ms per
 * link) is longer. 1 Gbit/s everywhere. u and v hang off s and t for a second pair sharing s->a->t.
 *
 *        u        v
 *        |        |
 *        s - a -- t
 *         \      /
 *          b ---'
 */
export function diamondTopology(): Topology {
  return new TopologyBuilder("diamond", "test", { capacityBps: 1e9 })
    .addNode({ id: "s" })
    .addNode({ id: "a" })
    .addNode({ id: "b" })
    .addNode({ id: "t" })
    .addNode({ id: "u" })
    .addNode({ id: "v" })
    .addLink("s", "a", { delayNs: 1 * MS })
    .addLink("a", "t", { delayNs: 1 * MS })
    .addLink("s", "b", { delayNs: 2 * MS })
    .addLink("b", "t", { delayNs: 2 * MS })
    .addLink("u", "s", { delayNs: 1 * MS, capacityBps: 10e9 })
    .addLink("t", "v", { delayNs: 1 * MS, capacityBps: 10e9 })
    .build();
}

export function setup(opts: SimControlPlaneOptions = {}, topo = diamondTopology()) {
  const sim = new Simulator();
  const trace = new TraceBus();
  const net = new FlowNetwork(sim, topo, trace);
  const records: FlowRecord[] = [];
  trace.on("flowEnd", (r) => records.push(r));
  let down = new Set<number>();
  let table = allPairsShortestPaths(topo, { weight: "delay" });
  const routing = {
    route: (s: number, d: number) => table.path(s, d) ?? undefined,
    linksChanged(now: ReadonlySet<number>) {
      down = new Set(now);
      table = allPairsShortestPaths(topo, { weight: "delay", exclude: { links: down } });
      return true;
    },
  };
  const ctl = new SimControlPlane(sim, net, routing, trace, {
    setupLatencyNs: { virtualLink: 10 * MS, route: 5 * MS, mirror: 5 * MS },
    ...opts,
  });
  const n = (id: string) => topo.node(id);
  const l = (id: string) => topo.link(id);
  let key = 0;
  const start = (src: string, dst: string, sizeBytes: number) =>
    ctl.startFlow(n(src), n(dst), sizeBytes, 0, key++);
  /** The driver of `policy`; the data plane reconverges as `dp` says (default: all flows, on the routing). */
  const loop = (
    policy: Policy,
    o: Partial<ControlDriverOptions> & { endNs: number },
    dp: SimDataPlaneOptions = {},
  ) =>
    new ControlDriver(
      new SimClock(sim),
      new SimDataPlane(net, ctl, { linksChanged: (d) => routing.linksChanged(d), ...dp }),
      ctl,
      policy,
      { intervalNs: 10 * MS, ...o },
    );
  return { topo, sim, net, trace, ctl, records, n, l, start, loop, routing };
}

/** A policy that does nothing (the default data plane only). */
export const idle: Policy = { name: "idle", decide() {} };
