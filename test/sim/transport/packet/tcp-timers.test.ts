/**
 * The packet model's TCP timers scaled (`transport.timerScale`, sim/transport/packet/tcp-options.ts
 * scaleTcpTimers): the emulator's kernel runs Linux's timers in wall time, so beside an emulation at
 * timeCompression c they last c times as long in simulated time. A tail loss waits for the scaled RTO floor, a lost
 * SYN for the scaled initial RTO.
 *
 *     n0 ====== n1     1 Gbit/s, 10 ms each way; one loss injected on the forward link
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { LINUX_PACKET_TCP, scaleTcpTimers } from "../../../../sim/transport/packet/tcp-options.ts";
import { TransportError } from "../../../../sim/transport/transport.ts";
import { dropOnce, line, runFlows } from "./fixture.ts";

const RTT = 20e6;
const SEGMENTS = 100;

describe("scaleTcpTimers", () => {
  const cases: [string, number, Record<string, number>][] = [
    [
      "1 keeps Linux's timers",
      1,
      { minRtoNs: 200e6, initialRtoNs: 1e9, maxRtoNs: 120e9, clockGranularityNs: 1e6, delayedAckNs: 40e6 },
    ],
    [
      "0.1 (timeCompression 0.1) makes them a tenth",
      0.1,
      { minRtoNs: 20e6, initialRtoNs: 100e6, maxRtoNs: 12e9, clockGranularityNs: 100e3, delayedAckNs: 4e6 },
    ],
    [
      "4 (time compressed) makes them four times as long",
      4,
      { minRtoNs: 800e6, initialRtoNs: 4e9, maxRtoNs: 480e9, clockGranularityNs: 4e6, delayedAckNs: 160e6 },
    ],
  ];
  for (const [what, scale, want] of cases) {
    test(what, () => assert.deepEqual(scaleTcpTimers(LINUX_PACKET_TCP, scale), want));
  }
  for (const bad of [0, -1, Number.NaN, Number.POSITIVE_INFINITY]) {
    test(`refuses scale ${bad}`, () =>
      assert.throws(() => scaleTcpTimers(LINUX_PACKET_TCP, bad), TransportError));
  }
});

describe("a loss waits for the scaled timer", () => {
  const cases = [
    { what: "tail loss, Linux's 200 ms RTO floor", kind: "data", seq: SEGMENTS - 1, scale: 1, wait: 200e6 },
    { what: "tail loss, the floor at 0.1: 20 ms", kind: "data", seq: SEGMENTS - 1, scale: 0.1, wait: 20e6 },
    { what: "lost SYN, the initial RTO at 0.1: 100 ms", kind: "syn", seq: 0, scale: 0.1, wait: 100e6 },
  ] as const;
  for (const c of cases) {
    test(c.what, () => {
      const topo = line([{ capacityBps: 1e9, delayNs: 10e6 }]);
      const tcp = { ...LINUX_PACKET_TCP, ...scaleTcpTimers(LINUX_PACKET_TCP, c.scale) };
      const { records, net } = runFlows(topo, [{ sizeBytes: SEGMENTS * 1448 }], {
        tcp,
        loss: dropOnce(c.kind, c.seq),
      });
      assert.equal(records.length, 1, "the flow completes");
      const fct = records[0]!.fctNs;
      assert.ok(fct >= c.wait + RTT && fct < c.wait + 12 * RTT, `FCT ${fct / 1e6} ms`);
      assert.equal(net.counters.timeouts + (c.kind === "syn" ? 0 : -1), 0, "one timeout for the data loss");
    });
  }
});
