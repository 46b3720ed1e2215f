/**
 * The simulator behind the verb conformance suite (test/conformance/verbs.test.ts): its ControlPlane and data plane
 * over the configured transport model, on the suite's substrate, with a kernel clock the suite advances.
 */
import type { IntervalObservation } from "../../models/control/driver.ts";
import type { FlowMatchFields } from "../../models/policies/verb-args.ts";
import { SimControlPlane } from "../../sim/control/control-plane.ts";
import { SimDataPlane } from "../../sim/control/sim-data-plane.ts";
import { Simulator } from "../../sim/kernel/simulator.ts";
import { TraceBus } from "../../sim/metrics/trace.ts";
import { allPairsShortestPaths } from "../../sim/substrate/routing.ts";
import type { Topology } from "../../sim/substrate/topology.ts";
import { createTransport, type TransportModel } from "../../sim/transport/models.ts";
import type { EngineUnderTest } from "./engine-under-test.ts";

export function simulatorEngine(topo: Topology, model: TransportModel = "fluid"): EngineUnderTest {
  const sim = new Simulator();
  const trace = new TraceBus();
  const net = createTransport(model, sim, topo, trace);
  const table = allPairsShortestPaths(topo, { weight: "delay" });
  const ctl = new SimControlPlane(sim, net, { route: (s, d) => table.path(s, d) ?? undefined }, trace);
  const dp = new SimDataPlane(net, ctl);
  let lastNs = 0;
  let flowKey = 0;
  return {
    name: `simulator (${model})`,
    ctl,
    async advance(ns: number) {
      sim.run(sim.now + ns);
    },
    observe(): IntervalObservation {
      const o = dp.observe(lastNs, sim.now, true);
      lastNs = sim.now;
      return o;
    },
    async startFlow(src: string, dst: string, sizeBytes: number, fields?: FlowMatchFields) {
      return ctl.startFlow(topo.node(src), topo.node(dst), sizeBytes, 0, flowKey++, fields) >= 0;
    },
    async close() {
      sim.run();
      return net.activeFlows === 0 ? [] : [`${net.activeFlows} flows still active`];
    },
  };
}
