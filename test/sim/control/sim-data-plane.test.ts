import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { SimControlPlane } from "../../../sim/control/control-plane.ts";
import { SimDataPlane } from "../../../sim/control/sim-data-plane.ts";
import { Simulator } from "../../../sim/kernel/simulator.ts";
import { TraceBus } from "../../../sim/metrics/trace.ts";
import { allPairsShortestPaths } from "../../../sim/substrate/routing.ts";
import { FlowNetwork } from "../../../sim/transport/flow-network.ts";
import type { Transport } from "../../../sim/transport/transport.ts";
import { diamondTopology, MB, MS } from "./fixture.ts";

/** The data plane over `net` on the fixture's diamond, with one flow s -> t running. */
function observeOver(make: (sim: Simulator, net: FlowNetwork) => Transport) {
  const topo = diamondTopology();
  const sim = new Simulator();
  const trace = new TraceBus();
  const net = make(sim, new FlowNetwork(sim, topo, trace));
  const table = allPairsShortestPaths(topo, { weight: "delay" });
  const ctl = new SimControlPlane(sim, net, { route: (s, d) => table.path(s, d) ?? undefined }, trace);
  const dp = new SimDataPlane(net, ctl);
  ctl.startFlow(topo.node("s"), topo.node("t"), 100 * MB, 0, 0);
  sim.run(10 * MS);
  return dp.observe(0, 10 * MS, true).links;
}

describe("simulator data plane observations", () => {
  it("leave drops out where the transport cannot count them (the fluid model: no queues), not zero", () => {
    const links = observeOver((_sim, net) => net);
    assert.ok(links.every((l) => !("drops" in l)));
    assert.equal(links.find((l) => l.id === "s->a")?.utilization, 1);
  });

  it("report each link's drops of the interval from a transport that counts them", () => {
    let reading = 0;
    const links = observeOver((_sim, net) =>
      Object.assign(net, {
        // A stand-in for a packet model: link k has dropped k x 10 packets per reading so far.
        linkDropsUntilNow(out: Float64Array) {
          reading++;
          for (let k = 0; k < out.length; k++) out[k] = k * 10 * reading;
          return out;
        },
      }),
    );
    const topo = diamondTopology();
    for (const l of links) assert.equal(l.drops, topo.link(l.id) * 10, l.id);
  });
});
