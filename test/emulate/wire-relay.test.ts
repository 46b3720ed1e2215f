import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Script } from "node:vm";
import { fixInnerChecksum, relaySource, type WireConfig, wireDeparture } from "../../emulate/wire-relay.ts";

const wire = (o: Partial<WireConfig>): WireConfig => ({
  vni: 1,
  delayNs: 20_000_000,
  lossRate: 0,
  rateBps: null,
  queueBytes: 15_000,
  ...o,
});

describe("userspace wire", () => {
  const cases: { name: string; w: WireConfig; arrivals: [number, number][]; expected: number[] }[] = [
    { name: "a datagram leaves after the delay", w: wire({}), arrivals: [[0, 1500]], expected: [20] },
    {
      name: "with a rate, datagrams serialize back to back, then propagate",
      w: wire({ rateBps: 12e6 }),
      arrivals: [
        [0, 1500],
        [0, 1500],
        [5, 1500],
      ],
      expected: [21, 22, 26],
    },
    {
      name: "a full queue drops",
      w: wire({ rateBps: 12e6, queueBytes: 1600 }),
      arrivals: [
        [0, 1500],
        [0, 1500],
        [0, 1500],
      ],
      expected: [21, 22, -1],
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const st = { busyUntilMs: 0 };
      assert.deepEqual(
        c.arrivals.map(([t, b]) => wireDeparture(st, t, b, c.w, 0.5)),
        c.expected,
      );
    });
  }

  it("loss is a Bernoulli draw below the loss rate", () => {
    assert.equal(wireDeparture({ busyUntilMs: 0 }, 0, 100, wire({ lossRate: 0.1 }), 0.05), -1);
    assert.equal(wireDeparture({ busyUntilMs: 0 }, 0, 100, wire({ lossRate: 0.1 }), 0.15), 20);
  });

  it("the inner TCP checksum is recomputed (RFC 1071)", () => {
    // VXLAN header, Ethernet, IPv4 10.0.0.1 -> 10.0.0.2 TCP SYN 1234 -> 80 (no options), checksum left as 0xdead
    const hex =
      "0800000000000100" +
      "020000000001020000000002" +
      "0800" +
      "450000280001000040060000" +
      "0a0000010a000002" +
      "04d20050000000000000000050022000dead0000";
    const b = Buffer.from(hex, "hex");
    assert.equal(fixInnerChecksum(b), true);
    // checksum over pseudo header + segment must now verify to 0xffff
    let sum = 6 + 20;
    for (let i = 22 + 12; i < 22 + 20; i += 2) sum += b.readUInt16BE(i);
    for (let i = 42; i < 62; i += 2) sum += b.readUInt16BE(i);
    while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
    assert.equal(sum, 0xffff);
  });

  it("non-IPv4 frames are left alone", () => {
    const b = Buffer.alloc(64);
    b.writeUInt16BE(0x86dd, 20);
    assert.equal(fixInnerChecksum(b), false);
  });

  it("the relay source is self-contained JavaScript", () => {
    assert.doesNotThrow(() => new Script(relaySource()));
  });
});
