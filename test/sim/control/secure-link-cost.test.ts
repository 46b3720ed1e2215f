/**
 * What a `secure: true` virtual link costs a flow in the simulator (models/sidecar-costs.ts `tlsTunnelCost`, taken
 * by the fluid model as FlowSpec.tunnel, and the sidecars' throughput cap as a class ceiling), against the same
 * flow over a plain virtual link on the same path:
 *
 *     s ------------- t        one link each way, 5 ms; 100 Mbit/s (or 10 Gbit/s for the cap)
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  SIDECAR_HOP_DELAY_NS,
  SIDECAR_MAX_PAYLOAD_BPS,
  TLS_SETUP_PROCESSING_NS,
  TLS_WIRE_FACTOR,
  tlsTunnelCost,
} from "../../../models/sidecar-costs.ts";
import { SimControlPlane } from "../../../sim/control/control-plane.ts";
import { Simulator } from "../../../sim/kernel/simulator.ts";
import { type FlowRecord, TraceBus } from "../../../sim/metrics/trace.ts";
import { TopologyBuilder } from "../../../sim/substrate/topology.ts";
import { FlowNetwork, LINUX_TCP_STARTUP } from "../../../sim/transport/flow-network.ts";

const MS = 1_000_000;
const ONE_WAY = 5 * MS;

/** FCT of one flow of `sizeBytes` from s to t over a ready virtual link, secure or not. */
function fct(secure: boolean, sizeBytes: number, capacityBps: number, tcp: boolean): FlowRecord {
  const topo = new TopologyBuilder("line", "test", { capacityBps })
    .addNode({ id: "s" })
    .addNode({ id: "t" })
    .addLink("s", "t", { delayNs: ONE_WAY })
    .build();
  const sim = new Simulator();
  const trace = new TraceBus();
  const net = new FlowNetwork(sim, topo, trace, tcp ? { tcp: LINUX_TCP_STARTUP } : {});
  const ctl = new SimControlPlane(sim, net, { route: () => [0] }, trace, {
    setupLatencyNs: { virtualLink: 0 },
  });
  const records: FlowRecord[] = [];
  trace.on("flowEnd", (r) => records.push(r));
  ctl.createVirtualLink("s", "t", { secure });
  sim.run(1);
  ctl.startFlow(0, 1, sizeBytes, 0, 0);
  sim.run();
  assert.equal(records.length, 1);
  return records[0]!;
}

describe("the simulator's cost of a secure virtual link", () => {
  it("states its inputs: TLS set-up 1 round trip + processing beyond TCP's, two sidecar delays, record bytes", () => {
    const c = tlsTunnelCost(ONE_WAY);
    const d = 2 * SIDECAR_HOP_DELAY_NS;
    assert.deepEqual(c, {
      setupNs: 2 * (ONE_WAY + d) + TLS_SETUP_PROCESSING_NS,
      delayNs: d,
      wireFactor: TLS_WIRE_FACTOR,
    });
  });

  const cases = [
    { name: "a one-window flow with TCP start-up", size: 10_000, tcp: true },
    { name: "a one-window flow without TCP start-up", size: 10_000, tcp: false },
    { name: "a bulk flow without TCP start-up", size: 10_000_000, tcp: false },
  ];
  for (const c of cases)
    it(`adds exactly set-up, the tunnel's delays and its bytes to ${c.name}`, () => {
      const plain = fct(false, c.size, 100e6, c.tcp);
      const secure = fct(true, c.size, 100e6, c.tcp);
      const t = tlsTunnelCost(ONE_WAY);
      // Round trips the flow waits: the handshake (with TCP start-up); the window fits the first round.
      const rounds = c.tcp ? 1 : 0;
      const extraBytes = c.size * (TLS_WIRE_FACTOR - 1);
      const want = t.setupNs + rounds * 2 * t.delayNs + t.delayNs + (extraBytes * 8 * 1e9) / 100e6;
      assert.ok(
        Math.abs(secure.fctNs - plain.fctNs - want) <= 2,
        `secure ${secure.fctNs} - plain ${plain.fctNs} = ${secure.fctNs - plain.fctNs}, want ${want}`,
      );
      assert.equal(secure.sizeBytes, c.size, "the record keeps the payload size");
      assert.ok(Math.abs(secure.wireBytes - c.size * TLS_WIRE_FACTOR) < 1e-6, "wire bytes carry the records");
    });

  it("caps a secure link's flows at the sidecars' throughput on a fast link", () => {
    const size = 1e9;
    const secure = fct(true, size, 10e9, false);
    const plain = fct(false, size, 10e9, false);
    const t = tlsTunnelCost(ONE_WAY);
    const transferNs = secure.fctNs - t.setupNs - ONE_WAY - t.delayNs;
    const goodput = (size * 8 * 1e9) / transferNs;
    assert.ok(
      Math.abs(goodput - SIDECAR_MAX_PAYLOAD_BPS) / SIDECAR_MAX_PAYLOAD_BPS < 1e-6,
      `goodput ${goodput}`,
    );
    assert.ok(plain.fctNs < secure.fctNs / 5, "the plain link runs at 10 Gbit/s");
  });
});
