/**
 * TCP start-up in the fluid model (sim/transport/flow-network.ts): a flow spends one RTT on the handshake, then
 * sends windows of 10, 20, 40, ... segments, one per round trip, at its max-min share, until a window takes the
 * network longer than a round trip. The reference below is that latency model written out directly (Cardwell,
 * Savage and Anderson, INFOCOM 2000, without losses).
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { Simulator } from "../../../sim/kernel/simulator.ts";
import { type FlowRecord, TraceBus } from "../../../sim/metrics/trace.ts";
import { type Topology, TopologyBuilder } from "../../../sim/substrate/topology.ts";
import { FlowNetwork, LINUX_TCP_STARTUP, type TcpStartup } from "../../../sim/transport/flow-network.ts";

function oneLink(capacityBps: number, delayNs: number): Topology {
  return new TopologyBuilder("one-link", "test")
    .addNode({ id: "s" })
    .addNode({ id: "d" })
    .addLink("s", "d", { capacityBps, delayNs }, false)
    .build();
}

/** FCT of a flow alone on a link under the latency model, ns. */
function referenceFctNs(sizeBytes: number, capacityBps: number, delayNs: number, tcp: TcpStartup): number {
  const rtt = 2 * delayNs;
  let t = tcp.handshake ? rtt : 0;
  let window = tcp.initialWindowSegments * tcp.mssBytes;
  let left = sizeBytes;
  for (;;) {
    const burstNs = (Math.min(window, left) * 8e9) / capacityBps;
    if (left <= window || burstNs >= rtt) return t + (left * 8e9) / capacityBps + delayNs;
    left -= window;
    t += rtt;
    window *= 2;
  }
}

function runAlone(sizeBytes: number, capacityBps: number, delayNs: number, tcp: TcpStartup): FlowRecord {
  const topo = oneLink(capacityBps, delayNs);
  const sim = new Simulator();
  const trace = new TraceBus();
  const records: FlowRecord[] = [];
  trace.on("flowEnd", (r) => records.push(r));
  const net = new FlowNetwork(sim, topo, trace, { tcp });
  net.startFlow({ src: topo.node("s"), dst: topo.node("d"), sizeBytes, path: [0] });
  sim.run();
  assert.equal(records.length, 1);
  return records[0]!;
}

const NO_HANDSHAKE: TcpStartup = { ...LINUX_TCP_STARTUP, handshake: false };

describe("TCP start-up in the fluid model", () => {
  const cases: [string, number, number, number, TcpStartup][] = [
    ["one segment at 1 Gbit/s, 10 ms RTT", 1448, 1e9, 5e6, LINUX_TCP_STARTUP],
    ["a 14,480-byte initial window exactly", 14_480, 1e9, 5e6, LINUX_TCP_STARTUP],
    ["100 kB: three rounds of 10, 20, 40 segments", 100_000, 1e9, 5e6, LINUX_TCP_STARTUP],
    ["1.5 MB: slow start ends when a window outlasts the RTT", 1_500_000, 1e9, 5e6, LINUX_TCP_STARTUP],
    ["100 kB on 10 Mbit/s: the network limits the first window", 100_000, 10e6, 5e6, LINUX_TCP_STARTUP],
    ["100 kB without the handshake", 100_000, 1e9, 5e6, NO_HANDSHAKE],
    [
      "100 kB with an initial window of 4",
      100_000,
      1e9,
      5e6,
      { ...LINUX_TCP_STARTUP, initialWindowSegments: 4 },
    ],
  ];
  for (const [name, size, cap, delay, tcp] of cases) {
    test(`a flow alone takes what the latency model says: ${name}`, () => {
      const r = runAlone(size, cap, delay, tcp);
      const expected = referenceFctNs(size, cap, delay, tcp);
      assert.ok(Math.abs(r.fctNs - expected) <= 4, `FCT ${r.fctNs} ns, model ${expected} ns`);
      assert.ok(r.slowdown >= 1, `slowdown ${r.slowdown}`);
    });
  }

  test("a flow on a zero-delay path has no round trips and starts at its share", () => {
    const r = runAlone(100_000, 1e9, 0, LINUX_TCP_STARTUP);
    assert.equal(r.fctNs, 800_000);
  });

  test("a flow in its handshake leaves the link to the others", () => {
    const topo = oneLink(1e9, 5e6);
    const sim = new Simulator();
    const net = new FlowNetwork(sim, topo, new TraceBus(), { tcp: LINUX_TCP_STARTUP });
    const long = net.startFlow({ src: topo.node("s"), dst: topo.node("d"), sizeBytes: 1e9, path: [0] });
    sim.run(100e6);
    assert.equal(net.rateOf(long), 1e9);
    const short = net.startFlow({ src: topo.node("s"), dst: topo.node("d"), sizeBytes: 1e6, path: [0] });
    sim.run(105e6); // half-way through the short flow's handshake
    assert.equal(net.rateOf(short), 0);
    assert.equal(net.rateOf(long), 1e9);
    sim.run(110e6 + 1); // its first window: the two share the link
    assert.equal(net.rateOf(short), 5e8);
    assert.equal(net.rateOf(long), 5e8);
    sim.run(110e6 + 300_000); // 14,480 bytes at 500 Mbit/s take 232 us: the window is out, the long flow has it all
    assert.equal(net.rateOf(short), 0);
    assert.equal(net.rateOf(long), 1e9);
  });

  test("without TCP start-up a flow starts at its share at once", () => {
    const topo = oneLink(1e9, 5e6);
    const sim = new Simulator();
    const net = new FlowNetwork(sim, topo, new TraceBus());
    const f = net.startFlow({ src: topo.node("s"), dst: topo.node("d"), sizeBytes: 1e6, path: [0] });
    sim.run(1);
    assert.equal(net.rateOf(f), 1e9);
  });

  test("a window of zero segments is refused, naming the field", () => {
    assert.throws(
      () =>
        new FlowNetwork(new Simulator(), oneLink(1e9, 1e6), undefined, {
          tcp: { ...LINUX_TCP_STARTUP, initialWindowSegments: 0 },
        }),
      /tcp\.initialWindowSegments must be an integer >= 1, got 0/,
    );
  });
});
