/**
 * Bytes are conserved: every payload byte a sender puts on the wire is delivered to its receiver (duplicates
 * included) or dropped at a link, and when the run ends no packet is left in the network.
 *
 *     n0 ---- n1 ====== n2     1 Gbit/s access, 100 Mbit/s bottleneck with a small FIFO (drops on purpose)
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { Simulator } from "../../../../sim/kernel/simulator.ts";
import { TraceBus } from "../../../../sim/metrics/trace.ts";
import type { Topology } from "../../../../sim/substrate/topology.ts";
import { PacketNetwork } from "../../../../sim/transport/packet-network.ts";
import { forward, line, runFlows } from "./fixture.ts";

const TOPO = () =>
  line([
    { capacityBps: 1e9, delayNs: 1e6 },
    { capacityBps: 100e6, delayNs: 10e6 },
  ]);

describe("conservation of bytes", () => {
  const cases = [
    {
      what: "one large flow overflowing a 20-packet FIFO",
      flows: [{ sizeBytes: 5e6 }],
      buffer: { packets: 20 },
    },
    {
      what: "eight flows arriving together into a 30 kB FIFO",
      flows: Array.from({ length: 8 }, (_, i) => ({ sizeBytes: 200_000 + i * 50_000 })),
      buffer: { bytes: 30_000 },
    },
    {
      what: "staggered flows into the emulator's default FIFO (10 ms at the link rate)",
      flows: Array.from({ length: 6 }, (_, i) => ({ sizeBytes: 2e6, startNs: i * 5e6 })),
      buffer: undefined,
    },
  ];
  for (const c of cases.flatMap((x) => [true, false].map((sack) => ({ ...x, sack })))) {
    test(`${c.what}, ${c.sack ? "SACK" : "NewReno"} recovery: sent = delivered + dropped`, () => {
      const topo = TOPO();
      const { net, records } = runFlows(topo, c.flows, {
        tcp: { sack: c.sack },
        ...(c.buffer ? { buffer: c.buffer } : {}),
      });
      const k = net.counters;
      assert.equal(records.length, c.flows.length, "every flow completes");
      assert.equal(net.packetsInFlight, 0, "no packet left in the network");
      assert.ok(k.payloadDropped > 0, "the case drops packets");
      assert.equal(k.payloadSent, k.payloadDelivered + k.payloadDropped);
      const total = c.flows.reduce((a, f) => a + f.sizeBytes, 0);
      assert.ok(k.payloadDelivered >= total, "every byte arrived at least once");
    });
  }

  test("packets lost on a link that goes down count as that link's drops, and bytes stay conserved", () => {
    const topo = TOPO();
    const bottleneck = topo.linksBetween(1, 2)[0]!;
    const { net, sim } = runFlowsWithFailure(topo, bottleneck);
    const k = net.counters;
    assert.equal(net.packetsInFlight, 0);
    assert.equal(k.payloadSent, k.payloadDelivered + k.payloadDropped);
    const drops = net.linkDropsUntilNow(new Float64Array(topo.linkCount));
    assert.ok(drops[bottleneck]! > 0, "the failed link dropped what it held");
    assert.ok(k.timeouts > 0, "the flow waited for its RTO across the outage");
    assert.ok(sim.now > 0);
  });
});

/** One 5 MB flow; the bottleneck goes down from 100 ms to 300 ms. */
function runFlowsWithFailure(topo: Topology, link: number) {
  const sim = new Simulator();
  const trace = new TraceBus();
  const net = new PacketNetwork(sim, topo, trace);
  let done = 0;
  trace.on("flowEnd", () => done++);
  net.startFlow({ src: 0, dst: 2, sizeBytes: 5e6, path: forward(topo) });
  sim.scheduleAt(100e6, () => net.setLinkUp(link, false));
  sim.scheduleAt(300e6, () => net.setLinkUp(link, true));
  sim.run();
  assert.equal(done, 1, "the flow completes after the repair");
  return { net, sim };
}
