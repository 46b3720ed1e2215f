/**
 * Fluid queues of the TCP-aware fluid model (sim/transport/fluid-queues.ts): backlogs made of windows beyond the
 * bandwidth-delay product, their growth in slow start, drop-tail halving at a full buffer, and the queueing delay
 * other flows then see. Known answers are worked out in each case from the model's definitions.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { Simulator } from "../../../sim/kernel/simulator.ts";
import { type FlowRecord, TraceBus } from "../../../sim/metrics/trace.ts";
import { type Topology, TopologyBuilder } from "../../../sim/substrate/topology.ts";
import { FlowNetwork, LINUX_TCP_STARTUP, type TcpStartup } from "../../../sim/transport/flow-network.ts";
import { bufferBytes, FRAME_BYTES, type LinkBuffer } from "../../../sim/transport/fluid-queues.ts";
import { diamond, MB } from "./diamond.ts";

const C = 100e6;
const DELAY = 10e6; // one way: RTT 20 ms, BDP 250,000 bytes at 100 Mbit/s
const RHO = C / 8e9; // bytes per ns
const MSS = LINUX_TCP_STARTUP.mssBytes;

function oneLink(): Topology {
  return new TopologyBuilder("one-link", "test")
    .addNode({ id: "s" })
    .addNode({ id: "d" })
    .addLink("s", "d", { capacityBps: C, delayNs: DELAY }, false)
    .build();
}

function setup(queue: LinkBuffer | null, tcp: TcpStartup | null = LINUX_TCP_STARTUP) {
  const topo = oneLink();
  const sim = new Simulator();
  const trace = new TraceBus();
  const records: FlowRecord[] = [];
  trace.on("flowEnd", (r) => records.push(r));
  const net = new FlowNetwork(sim, topo, trace, { tcp, queue });
  const start = (sizeBytes: number) =>
    net.startFlow({ src: topo.node("s"), dst: topo.node("d"), sizeBytes, path: [0] });
  return { sim, net, records, start };
}

describe("fluid queues", () => {
  const buffers: [string, LinkBuffer, number, number][] = [
    ["10 ms at 100 Mbit/s", { delayNs: 10e6 }, 100e6, 125_000],
    ["10 ms at 1 Mbit/s: at least four frames", { delayNs: 10e6 }, 1e6, 4 * FRAME_BYTES],
    ["1000 packets", { packets: 1000 }, 100e6, 1000 * FRAME_BYTES],
  ];
  for (const [name, buffer, rate, bytes] of buffers) {
    test(`a buffer is sized as the emulator sizes its FIFOs: ${name}`, () => {
      assert.equal(bufferBytes(buffer, rate), bytes);
    });
  }

  for (const size of [1_000, 100_000, 1_000_000, 10_000_000]) {
    test(`a flow alone is not delayed by its own queue: ${size} bytes`, () => {
      const plain = setup(null);
      plain.start(size);
      plain.sim.run();
      const queued = setup({ packets: 1000 });
      queued.start(size);
      queued.sim.run();
      assert.equal(queued.records[0]!.fctNs, plain.records[0]!.fctNs);
    });
  }

  test("a slow-start window builds a transient queue of (g - 1) / g of the window", () => {
    // 30 segments: the handshake ends at 20 ms, the initial window of 14,480 bytes leaves at the link rate; its
    // ACK-clocked excess grows at the rate until it meets what is left of the window (half-way) and drains with it.
    const { sim, net, start } = setup({ packets: 1000 });
    start(30 * MSS);
    const windowNs = (10 * MSS) / RHO;
    sim.run(20e6 + Math.round(windowNs / 2));
    assert.ok(Math.abs(net.backlogBytes(0) - 5 * MSS) < 50, `backlog ${net.backlogBytes(0)}`);
    sim.run(20e6 + Math.ceil(windowNs) + 1);
    assert.ok(net.backlogBytes(0) < 1, `backlog after the window ${net.backlogBytes(0)}`);
  });

  test("a network-limited flow in slow start grows the queue at the link rate", () => {
    // Rounds of 10, 20, 40, 80, 160 segments fit in a round trip; the 320-segment window of the round from 120 ms
    // does not: from then on its window grows by the acked bytes and the backlog by C / 8 bytes per ns.
    const { sim, net, start } = setup({ packets: 1000 });
    start(100e6);
    sim.run(150e6);
    const q1 = net.backlogBytes(0);
    sim.run(160e6);
    const q2 = net.backlogBytes(0);
    assert.ok(Math.abs(q2 - q1 - RHO * 10e6) < 10, `grew ${q2 - q1} bytes in 10 ms`);
    const probe = net.probePath([0]);
    assert.ok(Math.abs(probe.queueingNs - (q2 * 8e9) / C) < 1, `probe ${probe.queueingNs} ns`);
  });

  for (const packets of [100, 500]) {
    test(`a full buffer halves the window (NewReno) and congestion avoidance follows: ${packets} packets`, () => {
      const { sim, net, start } = setup({ packets });
      const buffer = packets * FRAME_BYTES;
      const bdp = RHO * 2 * DELAY;
      start(100e6);
      let t = 0;
      while (net.queueOverflows === 0 && t < 2e9) {
        t += 1e6;
        sim.run(t);
        assert.ok(net.backlogBytes(0) <= buffer, `backlog ${net.backlogBytes(0)} over the buffer ${buffer}`);
      }
      assert.equal(net.queueOverflows, 1);
      // W = BDP + B before the loss, W / 2 after; the excess is what of it exceeds the BDP (less than 1 ms of
      // congestion avoidance's one segment per round trip since).
      const expected = Math.max(0, (bdp + buffer) / 2 - bdp);
      const q = net.backlogBytes(0);
      assert.ok(q >= expected && q <= expected + MSS / 10, `backlog ${q}, expected ${expected}`);
    });
  }

  test("a short flow behind a standing queue takes the queueing delay on each round trip", () => {
    const plain = setup(null);
    plain.start(1_000);
    plain.sim.run();
    const base = plain.records[0]!.fctNs;
    // A long flow keeps a standing queue after its first loss (500 packets: 253,500 bytes, 20.3 ms).
    const { sim, net, records, start } = setup({ packets: 500 });
    start(100e6);
    let t = 0;
    while (net.queueOverflows === 0) {
      t += 1e6;
      sim.run(t);
    }
    const qNs = (net.backlogBytes(0) * 8e9) / C;
    start(1_000);
    sim.run(t + 200e6);
    const short = records.find((r) => r.sizeBytes === 1_000)!;
    // Handshake and the one-way trip of its only segment each wait about one queue.
    const extra = short.fctNs - base;
    assert.ok(extra >= 2 * qNs && extra <= 2.2 * qNs, `extra ${extra} ns for a queue of ${qNs} ns`);
  });

  for (const [level, waits] of [
    [0, false],
    [6, false],
    [7, true],
  ] as const)
    test(`a short flow in a class at level ${level} ${waits ? "waits" : "skips"} the standing queue (htb: a FIFO per class)`, () => {
      const plain = setup(null);
      plain.start(1_000);
      plain.sim.run();
      const { sim, net, records, start } = setup({ packets: 500 });
      const cls = net.addQosClass({ level, guaranteedBps: 0, ceilBps: C, links: [0] });
      start(100e6);
      let t = 0;
      while (net.queueOverflows === 0) {
        t += 1e6;
        sim.run(t);
      }
      const topo = net.topology;
      net.startFlow({ src: topo.node("s"), dst: topo.node("d"), sizeBytes: 1_000, path: [0], qosClass: cls });
      sim.run(t + 200e6);
      const extra = records.find((r) => r.sizeBytes === 1_000)!.fctNs - plain.records[0]!.fctNs;
      if (waits) assert.ok(extra > 20e6, `extra ${extra} ns`);
      else assert.equal(extra, 0);
    });

  test("a flow held back by its QoS class's ceiling, not by a link, queues nothing on the link", () => {
    const { sim, net } = setup({ packets: 1000 });
    const cls = net.addQosClass({ level: 0, guaranteedBps: 0, ceilBps: C / 2, links: [0] });
    const topo = net.topology;
    net.startFlow({ src: topo.node("s"), dst: topo.node("d"), sizeBytes: 10e6, path: [0], qosClass: cls });
    let most = 0;
    for (let at = 1e6; at < 1e9; at += 1e6)
      sim.scheduleAt(at, () => (most = Math.max(most, net.backlogBytes(0))));
    sim.run();
    assert.equal(most, 0);
  });

  test("without TCP start-up there are no windows and so no queues", () => {
    const a = setup(null, null);
    a.start(1e6);
    a.start(3e6);
    a.sim.run();
    const b = setup({ packets: 1000 }, null);
    b.start(1e6);
    b.start(3e6);
    b.sim.run();
    assert.deepEqual(
      b.records.map((r) => r.fctNs),
      a.records.map((r) => r.fctNs),
    );
    assert.equal(b.net.backlogBytes(0), 0);
  });

  test("runs are deterministic: the same flows give the same records", () => {
    const once = () => {
      const s = setup({ delayNs: 10e6 });
      for (let i = 0; i < 20; i++) s.sim.scheduleAt(i * 7e6, () => s.start(10_000 * (i + 1) ** 2));
      s.sim.run();
      return s.records.map((r) => [r.flow, r.fctNs]);
    };
    assert.deepEqual(once(), once());
  });

  test("with reroutes, a failure, a reservation and mirrors, every flow ends and no backlog leaves its bounds", () => {
    // The diamond (1 Gbit/s, 1 ms per link) with a 100-packet buffer: small enough that windows overflow it.
    const { topo, sim, net, records, viaA, viaB, s, t } = diamond({
      tcp: LINUX_TCP_STARTUP,
      queue: { packets: 100 },
    });
    const ids: number[] = [];
    for (let i = 0; i < 12; i++) {
      sim.scheduleAt(i * 3e6, () => {
        ids.push(net.startFlow({ src: s, dst: t, sizeBytes: (i + 1) * 4 * MB, path: i % 2 ? viaB : viaA }));
      });
    }
    sim.scheduleAt(10e6, () => net.setPath(ids[0]!, viaB));
    sim.scheduleAt(12e6, () => net.setMirror(ids[1]!, viaA));
    sim.scheduleAt(15e6, () => net.setLinkUp(topo.link("a->t"), false));
    sim.scheduleAt(20e6, () => {
      for (const f of net.flowsOnLink(topo.link("a->t"))) net.setPath(f, viaB);
      net.setLinkUp(topo.link("a->t"), true);
    });
    let pseudo = -1;
    sim.scheduleAt(25e6, () => {
      pseudo = net.reserve(viaA, 300e6);
      net.startFlow({ src: s, dst: t, sizeBytes: 20 * MB, path: [pseudo] });
    });
    const buffer = bufferBytes({ packets: 100 }, 1e9);
    for (let at = 1e6; at < 2e9; at += 1e6) {
      sim.scheduleAt(at, () => {
        for (let l = 0; l < topo.linkCount; l++) {
          const q = net.backlogBytes(l);
          assert.ok(q >= 0 && q <= buffer, `link ${l} backlog ${q} at ${sim.now}`);
        }
      });
    }
    sim.run();
    assert.equal(records.length, 13);
    assert.equal(net.activeFlows, 0);
    assert.ok(net.queueOverflows > 0, "the buffer overflowed at least once");
    for (let l = 0; l < topo.linkCount; l++) assert.ok(net.backlogBytes(l) < 1, `link ${l} drained`);
    assert.ok(pseudo >= 0);
  });
});
