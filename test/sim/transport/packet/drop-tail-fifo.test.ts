/**
 * A link of the packet model is a drop-tail FIFO in front of a constant-rate transmitter, then its propagation
 * delay: packets leave back to back at w x 8 / C each and arrive d later; a packet that would take the FIFO beyond
 * its limit (excluding the packet being sent) is dropped; a link that goes down loses what it holds and what is on
 * its wire.
 *
 *     n0 ====== n1      1 Gbit/s (a 1514-byte packet takes 12112 ns), d = 1 ms
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { Simulator } from "../../../../sim/kernel/simulator.ts";
import type { LinkBuffer } from "../../../../sim/transport/fluid-queues.ts";
import { PacketLinks, PathTable } from "../../../../sim/transport/packet/links.ts";
import { PacketPool } from "../../../../sim/transport/packet/packets.ts";
import { line } from "./fixture.ts";

const S = 12_112;
const D = 1e6;

/** Sends `n` packets of 1514 bytes at time 0 onto link 0; returns arrival times and drops. */
function burst(n: number, buffer: LinkBuffer, downAtNs?: number) {
  const topo = line([{ capacityBps: 1e9, delayNs: D }]);
  const sim = new Simulator();
  const pool = new PacketPool();
  const paths = new PathTable();
  const links = new PacketLinks(sim, topo, buffer, pool, paths);
  const arrivals: number[] = [];
  let dropped = 0;
  links.sink = {
    deliver: (p) => {
      arrivals.push(sim.now);
      pool.release(p);
    },
    dropped: (p) => {
      dropped++;
      pool.release(p);
    },
  };
  const path = paths.intern([topo.linksBetween(0, 1)[0]!]);
  for (let i = 0; i < n; i++) {
    const p = pool.alloc();
    pool.path[p] = path;
    pool.hop[p] = 0;
    pool.wire[p] = 1514;
    links.send(p);
  }
  if (downAtNs !== undefined) sim.scheduleAt(downAtNs, () => links.setUp(topo.linksBetween(0, 1)[0]!, false));
  sim.run();
  return { arrivals, dropped, drops: links.drops[topo.linksBetween(0, 1)[0]!]!, live: pool.live };
}

describe("drop-tail FIFO", () => {
  const cases = [
    { what: "an idle link sends a burst back to back", n: 5, buffer: { packets: 100 }, delivered: 5 },
    {
      what: "a 3-packet FIFO takes the packet in service and 3 more",
      n: 10,
      buffer: { packets: 3 },
      delivered: 4,
    },
    {
      what: "a byte FIFO of 2 frames (3028 bytes) takes 2 waiting",
      n: 6,
      buffer: { bytes: 3028 },
      delivered: 3,
    },
    {
      what: "a FIFO sized as a queueing delay holds at least four full frames",
      n: 10,
      buffer: { delayNs: 1 },
      delivered: 5,
    },
  ];
  for (const c of cases) {
    test(`${c.what}: ${c.delivered} of ${c.n} arrive, the k-th at (k + 1) S + d`, () => {
      const r = burst(c.n, c.buffer);
      assert.deepEqual(
        r.arrivals,
        Array.from({ length: c.delivered }, (_, k) => (k + 1) * S + D),
      );
      assert.equal(r.dropped, c.n - c.delivered);
      assert.equal(r.drops, c.n - c.delivered);
      assert.equal(r.live, 0);
    });
  }

  test("a link going down mid-burst loses the packets queued and on its wire, and counts them as its drops", () => {
    // at 2.5 S: two packets have left (on the wire until 1 ms later), the third is being sent, two wait
    const r = burst(5, { packets: 100 }, Math.round(2.5 * S));
    assert.deepEqual(r.arrivals, []);
    assert.equal(r.dropped, 5);
    assert.equal(r.drops, 5);
  });
});
