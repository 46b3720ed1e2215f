/**
 * Test fixture: a diamond with two disjoint paths from s to t, 1 Gbit/s everywhere, 1 ms per link.
 *
 *        a
 *      /   \
 *    s       t
 *      \   /
 *        b
 */
import { Simulator } from "../../../sim/kernel/simulator.ts";
import { type FlowRecord, TraceBus } from "../../../sim/metrics/trace.ts";
import { TopologyBuilder } from "../../../sim/substrate/topology.ts";
import { FlowNetwork, type FlowNetworkOptions } from "../../../sim/transport/flow-network.ts";

export const MB = 1_000_000;

export function diamond(opts: FlowNetworkOptions = {}) {
  const topo = new TopologyBuilder("diamond", "test", { capacityBps: 1e9, delayNs: 1_000_000 })
    .addNode({ id: "s" })
    .addNode({ id: "a" })
    .addNode({ id: "b" })
    .addNode({ id: "t" })
    .addLink("s", "a")
    .addLink("a", "t")
    .addLink("s", "b")
    .addLink("b", "t")
    .build();
  const sim = new Simulator();
  const trace = new TraceBus();
  const net = new FlowNetwork(sim, topo, trace, opts);
  const records: FlowRecord[] = [];
  trace.on("flowEnd", (r) => records.push(r));
  const viaA = [topo.link("s->a"), topo.link("a->t")];
  const viaB = [topo.link("s->b"), topo.link("b->t")];
  return { topo, sim, net, records, viaA, viaB, s: topo.node("s"), t: topo.node("t") };
}
