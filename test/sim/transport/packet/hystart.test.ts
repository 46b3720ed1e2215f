/**
 * HyStart (Ha and Rhee 2011) in the packet model's CUBIC, with known answers from Linux's tcp_cubic.c and ns-3
 * 3.37's TcpCubic: the delay detector ends slow start once a round's minimum RTT (after 8 samples) exceeds RTT_min
 * + clamp(RTT_min / 8, 4 ms, 16 ms) in Linux, RTT_min + clamp(RTT_min, 4 ms, 1 s) in ns-3; the ACK-train detector
 * once ACKs at most 2 ms apart span more than (RTT_min + 1 ms) / 2 (Linux) or RTT_min (ns-3) of a round; neither
 * below a window of 16 segments nor outside slow start. On a line with a buffer of 4 BDP, a CUBIC flow with
 * HyStart leaves slow start before the buffer overflows (no loss), one without it overflows the buffer.
 *
 *     n0 ====== n1     100 Mbit/s, 20 ms each way (BDP 250 kB), FIFO of 1 MB
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { Cubic, type CubicImplementation } from "../../../../sim/transport/packet/cubic.ts";
import { LINUX_PACKET_TCP } from "../../../../sim/transport/packet-network.ts";
import { line, runFlows } from "./fixture.ts";

interface Sample {
  atNs: number;
  rttNs: number;
  /** Cumulative ACK (segments) and the next segment to send. */
  ack: number;
  sndNxt: number;
}

/**
 * Feeds samples to a fresh CUBIC in slow start at window `cwnd`, as the packet model's TCP does (the sample, then
 * slow start's ACK); the index of the sample that ended slow start, or -1.
 */
function exitAt(as: CubicImplementation, samples: readonly Sample[], cwnd = 20, slowStart = true): number {
  const c = new Cubic(true, as);
  c.grow(1);
  c.reset(0, 0);
  for (const [i, s] of samples.entries()) {
    if (c.onRttSample(0, s.rttNs, s.atNs, cwnd, slowStart, s.ack, s.sndNxt)) return i;
    if (slowStart) c.onSlowStartAck(0, s.ack, s.atNs, s.sndNxt);
  }
  return -1;
}

/** One sample of RTT_min in a first round, then `n` samples of `rttNs` every `gapNs` in a second round. */
function delayRound(minNs: number, rttNs: number, n = 12, gapNs = 5e6): Sample[] {
  const out: Sample[] = [{ atNs: 0, rttNs: minNs, ack: 1, sndNxt: 100 }];
  for (let i = 0; i < n; i++) out.push({ atNs: minNs + i * gapNs, rttNs, ack: 101 + i, sndNxt: 1000 });
  return out;
}

/** ACKs of RTT_min every `gapNs` from 0, all in one round. */
function train(minNs: number, gapNs: number, n: number): Sample[] {
  return Array.from({ length: n }, (_, i) => ({ atNs: i * gapNs, rttNs: minNs, ack: 1 + i, sndNxt: 1000 }));
}

describe("HyStart's detectors", () => {
  const ms = 1e6;
  const cases: {
    what: string;
    as: CubicImplementation;
    samples: Sample[];
    cwnd?: number;
    ss?: boolean;
    exit: number;
  }[] = [
    // Linux: threshold RTT_min + clamp(RTT_min / 8, 4, 16) ms; the 9th sample of the round is the first judged
    {
      what: "Linux, RTT_min 100 ms, a round at 112 ms (threshold 112.5): stays",
      as: "linux",
      samples: delayRound(100 * ms, 112 * ms),
      exit: -1,
    },
    {
      what: "Linux, RTT_min 100 ms, a round at 113 ms: exits on its 9th sample",
      as: "linux",
      samples: delayRound(100 * ms, 113 * ms),
      exit: 9,
    },
    {
      what: "Linux, RTT_min 10 ms (threshold floor 4 ms): 13.9 ms stays",
      as: "linux",
      samples: delayRound(10 * ms, 13.9 * ms),
      exit: -1,
    },
    {
      what: "Linux, RTT_min 10 ms: 14.1 ms exits",
      as: "linux",
      samples: delayRound(10 * ms, 14.1 * ms),
      exit: 9,
    },
    {
      what: "Linux, RTT_min 200 ms (threshold cap 16 ms): 216.5 ms exits",
      as: "linux",
      samples: delayRound(200 * ms, 216.5 * ms),
      exit: 9,
    },
    // ns-3: threshold RTT_min + clamp(RTT_min, 4 ms, 1 s); its round starts after the ACK, so one sample later
    {
      what: "ns-3, RTT_min 100 ms, a round at 199 ms: stays",
      as: "ns3",
      samples: delayRound(100 * ms, 199 * ms),
      exit: -1,
    },
    {
      what: "ns-3, RTT_min 100 ms, a round at 201 ms: exits on its 10th sample",
      as: "ns3",
      samples: delayRound(100 * ms, 201 * ms),
      exit: 10,
    },
    // ACK train: 1 ms apart from the round's start, RTT_min 40 ms
    {
      what: "Linux, a train of ACKs 1 ms apart exits past (40 + 1) / 2 ms",
      as: "linux",
      samples: train(40 * ms, 1 * ms, 60),
      exit: 21,
    },
    {
      what: "ns-3, a train of ACKs 1 ms apart exits past 40 ms",
      as: "ns3",
      samples: train(40 * ms, 1 * ms, 60),
      exit: 41,
    },
    {
      what: "Linux, ACKs 3 ms apart are no train",
      as: "linux",
      samples: train(40 * ms, 3 * ms, 60),
      exit: -1,
    },
    {
      what: "below a window of 16 segments nothing is detected",
      as: "linux",
      samples: train(40 * ms, 1 * ms, 60),
      cwnd: 15,
      exit: -1,
    },
    {
      what: "outside slow start nothing is detected",
      as: "linux",
      samples: delayRound(100 * ms, 150 * ms),
      ss: false,
      exit: -1,
    },
  ];
  for (const c of cases) {
    test(c.what, () => {
      assert.equal(exitAt(c.as, c.samples, c.cwnd, c.ss), c.exit);
    });
  }

  test("a timeout clears the detection: a second slow start is judged again", () => {
    const c = new Cubic(true, "linux");
    c.grow(1);
    c.reset(0, 0);
    const first = train(40e6, 1e6, 30);
    assert.ok(first.some((s) => c.onRttSample(0, s.rttNs, s.atNs, 20, true, s.ack, s.sndNxt)));
    c.onTimeout(0, 100e6, 30);
    assert.equal(c.minRtt(0), 0, "RTT_min forgotten");
    const again = train(40e6, 1e6, 30).map((s) => ({ ...s, atNs: 100e6 + s.atNs, ack: 31 + s.ack }));
    assert.ok(again.some((s) => c.onRttSample(0, s.rttNs, s.atNs, 20, true, s.ack, s.sndNxt)));
  });
});

describe("HyStart on a line: slow start ends before the buffer overflows", () => {
  const topo = line([{ capacityBps: 100e6, delayNs: 20e6 }]);
  const cases = [
    { hystart: true, dropped: false },
    { hystart: false, dropped: true },
  ];
  for (const c of cases) {
    test(`CUBIC ${c.hystart ? "with" : "without"} HyStart, 20 MB: ${c.dropped ? "drops" : "no drop"}`, () => {
      const tcp = { ...LINUX_PACKET_TCP, congestionControl: "cubic" as const, hystart: c.hystart };
      const { records, net } = runFlows(topo, [{ sizeBytes: 20e6 }], { tcp, buffer: { bytes: 1e6 } });
      assert.equal(records.length, 1);
      const drops = net.linkDropsUntilNow(new Float64Array(topo.linkCount)).reduce((a, x) => a + x, 0);
      assert.equal(drops > 0, c.dropped, `${drops} packets dropped`);
    });
  }
});
