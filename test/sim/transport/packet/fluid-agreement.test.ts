/**
 * The fluid model's TCP start-up term (handshake and slow-start rounds, sim/transport/flow-network.ts) against the
 * packet model, for single flows of 1 kB .. 100 MB alone on a path:
 *
 *     a ------ m ====== b      10 Gbit/s 1 ms access, 1 Gbit/s 10 ms bottleneck (BDP 2.75 MB)
 *
 * With a buffer that holds slow start's overshoot (100 ms at the link rate) no packet is lost and the two agree
 * within 0.2% up to 1 MB and 4% at 100 MB. With the emulator's default buffer (10 ms) flows up to 1 MB agree as
 * closely; larger ones overflow it in slow start and the packet model's NewReno, without SACK, recovers one segment
 * per round trip, which the fluid term (no losses) does not have.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { Simulator } from "../../../../sim/kernel/simulator.ts";
import { TraceBus } from "../../../../sim/metrics/trace.ts";
import type { Topology } from "../../../../sim/substrate/topology.ts";
import { FlowNetwork, LINUX_TCP_STARTUP } from "../../../../sim/transport/flow-network.ts";
import type { LinkBuffer } from "../../../../sim/transport/fluid-queues.ts";
import { PacketNetwork } from "../../../../sim/transport/packet-network.ts";
import type { Transport } from "../../../../sim/transport/transport.ts";
import { forward, line } from "./fixture.ts";

function fct(
  topo: Topology,
  make: (sim: Simulator, trace: TraceBus) => Transport,
  sizeBytes: number,
): number {
  const sim = new Simulator();
  const trace = new TraceBus();
  const net = make(sim, trace);
  let out = Number.NaN;
  trace.on("flowEnd", (r) => {
    out = r.fctNs;
  });
  net.startFlow({ src: 0, dst: topo.nodeCount - 1, sizeBytes, path: forward(topo) });
  sim.run();
  return out;
}

describe("the fluid model's TCP start-up against the packet model, one flow alone", () => {
  const big: LinkBuffer = { delayNs: 100e6 };
  const cases = [
    { sizeBytes: 1e3, buffer: undefined, within: 0.002 },
    { sizeBytes: 1e4, buffer: undefined, within: 0.002 },
    { sizeBytes: 1e5, buffer: undefined, within: 0.002 },
    { sizeBytes: 1e6, buffer: undefined, within: 0.002 },
    { sizeBytes: 1e7, buffer: big, within: 0.02 },
    { sizeBytes: 1e8, buffer: big, within: 0.04 },
  ];
  for (const c of cases) {
    const b = c.buffer ? "a 100 ms buffer" : "the emulator's 10 ms buffer";
    test(`${c.sizeBytes / 1e3} kB with ${b}: FCTs within ${c.within * 100}%`, () => {
      const topo = line([
        { capacityBps: 10e9, delayNs: 1e6 },
        { capacityBps: 1e9, delayNs: 10e6 },
      ]);
      const fluid = fct(topo, (s, t) => new FlowNetwork(s, topo, t, { tcp: LINUX_TCP_STARTUP }), c.sizeBytes);
      const packet = fct(
        topo,
        (s, t) => new PacketNetwork(s, topo, t, { buffer: c.buffer ?? null }),
        c.sizeBytes,
      );
      assert.ok(
        Math.abs(packet / fluid - 1) <= c.within,
        `packet ${packet / 1e6} ms, fluid ${fluid / 1e6} ms`,
      );
    });
  }

  test("10 MB with the emulator's 10 ms buffer: slow start overflows it and NewReno's recovery takes the packet model several times longer", () => {
    const topo = line([
      { capacityBps: 10e9, delayNs: 1e6 },
      { capacityBps: 1e9, delayNs: 10e6 },
    ]);
    const fluid = fct(topo, (s, t) => new FlowNetwork(s, topo, t, { tcp: LINUX_TCP_STARTUP }), 1e7);
    const packet = fct(topo, (s, t) => new PacketNetwork(s, topo, t, { tcp: { sack: false } }), 1e7);
    assert.ok(packet > 2 * fluid, `packet ${packet / 1e6} ms, fluid ${fluid / 1e6} ms`);
  });

  test("10 MB with the emulator's 10 ms buffer and SACK (Linux's default): the overflow costs the packet model under 10%", () => {
    const topo = line([
      { capacityBps: 10e9, delayNs: 1e6 },
      { capacityBps: 1e9, delayNs: 10e6 },
    ]);
    const fluid = fct(topo, (s, t) => new FlowNetwork(s, topo, t, { tcp: LINUX_TCP_STARTUP }), 1e7);
    const packet = fct(topo, (s, t) => new PacketNetwork(s, topo, t), 1e7);
    assert.ok(packet > fluid && packet < 1.1 * fluid, `packet ${packet / 1e6} ms, fluid ${fluid / 1e6} ms`);
  });
});
