/**
 * Small substrates and a runner for the packet model's tests. `line` draws a chain of duplex links
 *
 *     a ====== b            (one link each way: C, d)
 *     a ------ m ====== b   (access link, then the bottleneck)
 *
 * with 1 Gbit/s links by default, so a packet of w bytes takes exactly 8 w ns to serialize.
 */
import { Simulator } from "../../../../sim/kernel/simulator.ts";
import { type FlowRecord, TraceBus } from "../../../../sim/metrics/trace.ts";
import { type Topology, TopologyBuilder } from "../../../../sim/substrate/topology.ts";
import {
  type PacketKind,
  PacketNetwork,
  type PacketNetworkOptions,
} from "../../../../sim/transport/packet-network.ts";

export interface Hop {
  capacityBps: number;
  delayNs: number;
}

/** A chain n0 - n1 - ... of duplex links. */
export function line(hops: readonly Hop[]): Topology {
  const b = new TopologyBuilder("line", "test/sim/transport/packet/fixture.ts");
  for (let i = 0; i <= hops.length; i++) b.addNode({ id: `n${i}` });
  hops.forEach((h, i) => {
    b.addLink(`n${i}`, `n${i + 1}`, h);
  });
  return b.build();
}

/** The forward path n0 -> n_last. */
export function forward(topo: Topology): number[] {
  const path: number[] = [];
  for (let i = 0; i + 1 < topo.nodeCount; i++) path.push(topo.linksBetween(i, i + 1)[0]!);
  return path;
}

export interface FlowRun {
  net: PacketNetwork;
  records: FlowRecord[];
  sim: Simulator;
}

/** Runs flows (size, start ns) from n0 to the last node to the end; records in completion order. */
export function runFlows(
  topo: Topology,
  flows: readonly { sizeBytes: number; startNs?: number }[],
  opts: PacketNetworkOptions = {},
): FlowRun {
  const sim = new Simulator();
  const trace = new TraceBus();
  const net = new PacketNetwork(sim, topo, trace, opts);
  const records: FlowRecord[] = [];
  trace.on("flowEnd", (r) => records.push(r));
  const path = forward(topo);
  for (const f of flows) {
    sim.scheduleAt(f.startNs ?? 0, () => {
      net.startFlow({ src: 0, dst: topo.nodeCount - 1, sizeBytes: f.sizeBytes, path });
    });
  }
  sim.run();
  return { net, records, sim };
}

/** A loss injector (PacketNetworkOptions.loss) dropping the first packet of `kind` with sequence field `seq`, once. */
export function dropOnce(kind: PacketKind, seq: number) {
  let done = false;
  return (_flow: number, k: PacketKind, s: number): boolean => {
    if (done || k !== kind || s !== seq) return false;
    done = true;
    return true;
  };
}
