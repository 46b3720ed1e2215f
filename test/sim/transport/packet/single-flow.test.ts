/**
 * A single TCP flow on an idle link takes the handshake, its slow-start rounds and its serialization, exactly.
 *
 * Link: 1 Gbit/s, d = 10 ms each way, ACK for every segment (ackEverySegments 1) so each round's ACKs come back one
 * segment time apart and each releases two segments (byte counting): round k (k = 1, 2, ...) sends 10 x 2^(k-1)
 * segments back to back, starting when the first ACK of round k - 1 arrives. With S = 8 x 1514 ns a full segment's
 * serialization and A = 8 x 66 ns a control packet's:
 *
 *   round 1 starts at  t1 = 2 (A + d)                      (SYN, SYN-ACK; 0 without a handshake)
 *   round k starts at  tk = t1 + (k - 1) (S + 2 d + A)
 *   the last segment, j-th of its round R, arrives at  tR + j S + S_last + d
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { LINUX_PACKET_TCP } from "../../../../sim/transport/packet-network.ts";
import { line, runFlows } from "./fixture.ts";

const D = 10e6;
const MSS = 1448;
const S = 8 * 1514;
const A = 8 * 66;

function expectedFct(sizeBytes: number, handshake: boolean): number {
  const n = Math.ceil(sizeBytes / MSS);
  let rounds = 1;
  while (10 * (2 ** rounds - 1) < n) rounds++;
  const j = n - 10 * (2 ** (rounds - 1) - 1) - 1;
  const last = 8 * (sizeBytes - (n - 1) * MSS + 66);
  const t1 = handshake ? 2 * (A + D) : 0;
  return t1 + (rounds - 1) * (S + 2 * D + A) + j * S + last + D;
}

describe("a single flow on an idle link", () => {
  const cases = [
    { what: "one byte", sizeBytes: 1, handshake: true },
    { what: "one full segment", sizeBytes: 1448, handshake: true },
    { what: "the initial window exactly (10 segments)", sizeBytes: 14_480, handshake: true },
    { what: "one byte more than the initial window (2 rounds)", sizeBytes: 14_481, handshake: true },
    { what: "100 kB (4 rounds)", sizeBytes: 100_000, handshake: true },
    { what: "500 kB (6 rounds)", sizeBytes: 500_000, handshake: true },
    { what: "100 kB without a handshake", sizeBytes: 100_000, handshake: false },
  ];
  for (const c of cases) {
    test(`${c.what}: FCT = handshake + slow-start rounds + serialization`, () => {
      const topo = line([{ capacityBps: 1e9, delayNs: D }]);
      const { records, net } = runFlows(topo, [{ sizeBytes: c.sizeBytes }], {
        tcp: { ...LINUX_PACKET_TCP, ackEverySegments: 1, handshake: c.handshake },
      });
      assert.equal(records.length, 1);
      assert.equal(records[0]!.fctNs, expectedFct(c.sizeBytes, c.handshake));
      assert.equal(net.counters.retransmissions, 0);
      assert.equal(net.packetsInFlight, 0);
    });
  }

  test("its ideal FCT is the engines' one definition (size at the bottleneck plus propagation)", () => {
    const topo = line([{ capacityBps: 1e9, delayNs: D }]);
    const { records } = runFlows(topo, [{ sizeBytes: 100_000 }]);
    assert.equal(records[0]!.idealFctNs, 100_000 * 8 + D);
  });
});
