/**
 * How the packet model's TCP recovers from a loss: one lost segment with data behind it comes back by fast
 * retransmit (three duplicate ACKs, RFC 5681/6582) without a timeout; a lost last segment (no data behind it, so
 * no duplicate ACKs) and a lost SYN wait for the retransmission timer (RFC 6298: at least 200 ms as Linux, 1 s
 * before the first RTT sample). Ten holes in one window: NewReno's partial ACKs repair one per round trip, SACK's
 * scoreboard all of them at once (RFC 6675).
 *
 *     n0 ====== n1     1 Gbit/s, 10 ms each way; losses injected on the forward link only
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { PacketKind } from "../../../../sim/transport/packet-network.ts";
import { dropOnce, line, runFlows } from "./fixture.ts";

const RTT = 20e6;
const SEGMENTS = 100;
const SIZE = SEGMENTS * 1448;

describe("loss recovery", () => {
  const cases = [
    {
      what: "a lost segment with data behind it is fast-retransmitted, no timeout",
      loss: dropOnce("data", 30),
      expect: { fastRetransmits: 1, timeouts: 0, retransmissions: 1 },
      fctAtLeast: 0,
      fctBelow: 200e6,
    },
    {
      what: "a lost first segment is fast-retransmitted too (the window behind it sends duplicate ACKs)",
      loss: dropOnce("data", 0),
      expect: { fastRetransmits: 1, timeouts: 0, retransmissions: 1 },
      fctAtLeast: 0,
      fctBelow: 15 * RTT, // the rest in congestion avoidance from ssthresh = 5 segments
    },
    {
      what: "a lost last segment (tail loss) waits for the RTO",
      loss: dropOnce("data", SEGMENTS - 1),
      expect: { fastRetransmits: 0, timeouts: 1, retransmissions: 1 },
      fctAtLeast: 200e6 + RTT,
      fctBelow: 200e6 + 12 * RTT,
    },
    {
      what: "a lost SYN is sent again after the initial RTO of 1 s",
      loss: dropOnce("syn", 0),
      expect: { fastRetransmits: 0, timeouts: 0, retransmissions: 0 },
      fctAtLeast: 1e9 + RTT,
      fctBelow: 1e9 + 12 * RTT,
    },
  ];
  for (const c of cases) {
    test(c.what, () => {
      const topo = line([{ capacityBps: 1e9, delayNs: 10e6 }]);
      const { records, net } = runFlows(topo, [{ sizeBytes: SIZE }], { loss: c.loss });
      assert.equal(records.length, 1, "the flow completes");
      const { fastRetransmits, timeouts, retransmissions } = net.counters;
      assert.deepEqual({ fastRetransmits, timeouts, retransmissions }, c.expect);
      const fct = records[0]!.fctNs;
      assert.ok(fct >= c.fctAtLeast && fct < c.fctBelow, `FCT ${fct / 1e6} ms`);
      const drops = net.linkDropsUntilNow(new Float64Array(topo.linkCount));
      assert.equal(
        drops.reduce((a, x) => a + x, 0),
        1,
        "one packet dropped",
      );
    });
  }

  test("without the loss the same flow has neither retransmissions nor timeouts", () => {
    const topo = line([{ capacityBps: 1e9, delayNs: 10e6 }]);
    const { net } = runFlows(topo, [{ sizeBytes: SIZE }]);
    assert.deepEqual(
      { f: net.counters.fastRetransmits, t: net.counters.timeouts, r: net.counters.retransmissions },
      { f: 0, t: 0, r: 0 },
    );
  });
});

describe("loss recovery of a burst: NewReno repairs one hole per round trip, SACK all of them in about one", () => {
  /** Drops data segments 30..39 once each: ten holes in one window. */
  function burst() {
    const dropped = new Set<number>();
    return (_flow: number, k: PacketKind, s: number): boolean => {
      if (k !== "data" || s < 30 || s >= 40 || dropped.has(s)) return false;
      dropped.add(s);
      return true;
    };
  }
  const topo = line([{ capacityBps: 1e9, delayNs: 10e6 }]);
  const clean = runFlows(topo, [{ sizeBytes: SIZE }]).records[0]!.fctNs;
  const cases = [
    { sack: false, atLeast: clean + 8 * RTT, below: clean + 12 * RTT },
    { sack: true, atLeast: clean, below: clean + 3 * RTT },
  ];
  for (const c of cases) {
    test(`${c.sack ? "with" : "without"} SACK: one fast retransmit, ten retransmissions, no timeout, FCT in [clean + ${(c.atLeast - clean) / RTT}, clean + ${(c.below - clean) / RTT}) round trips`, () => {
      const { records, net } = runFlows(topo, [{ sizeBytes: SIZE }], {
        tcp: { sack: c.sack },
        loss: burst(),
      });
      const { fastRetransmits, timeouts, retransmissions } = net.counters;
      assert.deepEqual(
        { fastRetransmits, timeouts, retransmissions },
        { fastRetransmits: 1, timeouts: 0, retransmissions: 10 },
      );
      assert.equal(net.counters.payloadDelivered, SIZE, "no segment delivered twice");
      const fct = records[0]!.fctNs;
      assert.ok(fct >= c.atLeast && fct < c.below, `FCT ${fct / 1e6} ms, clean ${clean / 1e6} ms`);
    });
  }
});
