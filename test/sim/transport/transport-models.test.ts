import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { Simulator } from "../../../sim/kernel/simulator.ts";
import { TraceBus } from "../../../sim/metrics/trace.ts";
import { ring } from "../../../sim/substrate/generators.ts";
import { createTransport, TRANSPORT_CAPABILITIES, TRANSPORT_MODELS } from "../../../sim/transport/models.ts";
import {
  canProbe,
  countsDrops,
  hasMirrors,
  hasPriorities,
  hasReservations,
} from "../../../sim/transport/transport.ts";

describe("transport models", () => {
  for (const model of TRANSPORT_MODELS) {
    test(`the ${model} model offers the capabilities TRANSPORT_CAPABILITIES declares for it`, () => {
      const topo = ring(4, { capacityBps: 1e9, delayNs: 1_000_000 });
      const t = createTransport(model, new Simulator(), topo, new TraceBus());
      assert.deepEqual(
        {
          reservations: hasReservations(t),
          mirrors: hasMirrors(t),
          priorities: hasPriorities(t),
          probes: canProbe(t),
          drops: countsDrops(t),
        },
        TRANSPORT_CAPABILITIES[model],
      );
    });

    test(`the ${model} model carries a flow to completion and reports it on the trace bus`, () => {
      const topo = ring(4, { capacityBps: 1e9, delayNs: 1_000_000 });
      const sim = new Simulator();
      const trace = new TraceBus();
      const fcts: number[] = [];
      trace.on("flowEnd", (r) => fcts.push(r.fctNs));
      const t = createTransport(model, sim, topo, trace);
      const path = [topo.linksBetween(0, 1)[0]!];
      assert.equal(t.startFlow({ src: 0, dst: 1, sizeBytes: 125_000, path }), 0);
      assert.equal(t.activeFlows, 1);
      sim.run();
      assert.equal(t.activeFlows, 0);
      assert.equal(fcts.length, 1);
      // 1 Mbit at 1 Gbit/s plus 1 ms of propagation: at least 2 ms in any model.
      assert.ok(fcts[0]! >= 2_000_000, `FCT ${fcts[0]} ns`);
    });
  }
});
