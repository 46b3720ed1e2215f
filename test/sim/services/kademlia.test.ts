/**
 * The Kademlia model on tiny networks with known routing tables, and its invariants on larger random ones.
 *
 *     host:   0 ---- 1 ---- 2 ---- 3        a line, 10 ms each way per link
 *     node:   A      B      C      D        ids 0x00.., 0x80.., 0xC0.., 0xE0..
 *     table:  A:{B}  B:{A,C} C:{B,D} D:{C}
 *
 * A lookup from A for 0xF0000001 (next to D) must walk the chain A -> B -> C -> D, one referral per hop.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { RandomStreams } from "../../../sim/kernel/rng.ts";
import { Simulator } from "../../../sim/kernel/simulator.ts";
import {
  DhtModelError,
  KademliaNetwork,
  type KademliaOptions,
  type LookupResult,
  substrateDelay,
} from "../../../sim/services/kademlia.ts";
import { startChurn } from "../../../sim/services/kademlia-churn.ts";
import { bucketIndex, xorDistance } from "../../../sim/services/kademlia-table.ts";
import { line, ring } from "../../../sim/substrate/generators.ts";

const MS = 1_000_000;

function chain(opts: Partial<KademliaOptions> = {}) {
  const sim = new Simulator();
  const net = new KademliaNetwork(sim, new RandomStreams(1), substrateDelay(line(4, { delayNs: 10 * MS })), {
    k: 2,
    alpha: 1,
    ...opts,
  });
  const [A, B, C, D] = [0x00000000, 0x80000000, 0xc0000000, 0xe0000000].map((id, host) =>
    net.addNode(host, id),
  ) as [number, number, number, number];
  net.setContacts(A, [B]);
  net.setContacts(B, [A, C]);
  net.setContacts(C, [B, D]);
  net.setContacts(D, [C]);
  return { sim, net, A, B, C, D };
}

function lookup(net: KademliaNetwork, from: number, target: number): LookupResult {
  let out: LookupResult | undefined;
  net.findNode(from, target, (r) => {
    out = r;
  });
  net.sim.run();
  assert.ok(out, "the lookup finished");
  return out;
}

describe("Kademlia on a chain of known routing tables", () => {
  it("walks one referral per hop to the closest nodes", () => {
    const { net, A, C, D } = chain();
    const r = lookup(net, A, 0xf0000001);
    assert.deepEqual(r.closest, [D, C]);
    assert.equal(r.hops, 3);
    // alpha = 1: RPCs to B, C, D in turn, round trips of 20, 40 and 60 ms over the line
    assert.equal(r.latencyNs, 120 * MS);
    assert.equal(r.messages, 6);
    assert.equal(r.timeouts, 0);
  });

  it("teaches every node it asks about the asker, and a full bucket keeps its old contacts", () => {
    const { net, A, B, C, D } = chain();
    lookup(net, A, 0xf0000001);
    assert.deepEqual(net.tables.bucket(D, 31), [A], "D learnt of A from its request");
    assert.deepEqual(net.tables.bucket(A, 31), [B, C], "A's bucket 31 (k = 2) was full when D answered");
  });

  it("times out a crashed node, drops it from the asker's table and ends without it", () => {
    const { net, A, B, C, D } = chain({ rpcTimeoutNs: 500 * MS });
    net.leave(D);
    const r = lookup(net, A, 0xf0000001);
    assert.deepEqual(r.closest, [C, B]);
    assert.equal(r.timeouts, 1);
    assert.equal(r.latencyNs, (20 + 40 + 500) * MS);
    assert.equal(net.tables.bucket(A, bucketIndex(net.idOf(A), net.idOf(D))).includes(D), false);
  });

  it("stores at the k closest and finds the value from the far end", () => {
    const { net, A, D } = chain();
    net.put(D, "resource/x", [{ publisher: "x", version: 1, payload: "hello" }]);
    net.sim.run();
    let found: LookupResult | undefined;
    net.findValue(A, "resource/x", (r) => {
      found = r;
    });
    net.sim.run();
    assert.deepEqual(found?.items, [{ publisher: "x", version: 1, payload: "hello" }]);
    const holders = [0, 1, 2, 3].filter((n) => net.itemsAt(n, "resource/x") !== undefined);
    assert.equal(holders.length, 2, `k = 2 replicas, held by ${holders}`);
  });

  it("merges items by publisher, the higher version winning", () => {
    const { net, A } = chain();
    net.put(A, "svc", [{ publisher: "a", version: 2, payload: 2 }]);
    net.put(A, "svc", [{ publisher: "a", version: 1, payload: 1 }]);
    net.put(A, "svc", [{ publisher: "b", version: 1, payload: null }]);
    net.sim.run();
    let items: unknown;
    net.findValue(A, "svc", (r) => {
      items = r.items;
    });
    net.sim.run();
    assert.deepEqual(items, [
      { publisher: "a", version: 2, payload: 2 },
      { publisher: "b", version: 1, payload: null },
    ]);
  });
});

function randomNet(n: number, seed: number, opts: Partial<KademliaOptions> = {}) {
  const sim = new Simulator();
  const streams = new RandomStreams(seed);
  const topo = ring(8, { delayNs: 5 * MS });
  const net = new KademliaNetwork(sim, streams, substrateDelay(topo), opts);
  const place = streams.stream("test/place");
  for (let i = 0; i < n; i++) net.addNode(place.int(8));
  net.warmStart(streams);
  return { sim, net, streams };
}

describe("Kademlia routing tables", () => {
  it("warm start fills bucket b with min(k, nodes at distance [2^b, 2^(b+1))) of the right nodes", () => {
    const { net } = randomNet(300, 3, { k: 8 });
    for (const x of [0, 17, 299]) {
      for (let b = 0; b < 32; b++) {
        const inRange = net.liveNodes().filter((c) => bucketIndex(net.idOf(x), net.idOf(c)) === b);
        const bucket = net.tables.bucket(x, b);
        assert.equal(bucket.length, Math.min(8, inRange.length), `node ${x} bucket ${b}`);
        for (const c of bucket) assert.ok(inRange.includes(c));
      }
    }
  });

  it("closest() orders contacts by XOR distance like a full sort", () => {
    const { net } = randomNet(500, 4);
    const ids = net.idArray();
    for (const target of [0, 0xffffffff, net.idOf(7), 0x12345678]) {
      const all = net.tables.closest(7, target, 10_000);
      const sorted = all.slice().sort((a, b) => xorDistance(ids[a]!, target) - xorDistance(ids[b]!, target));
      assert.deepEqual(all, sorted);
      assert.deepEqual(net.tables.closest(7, target, 5), sorted.slice(0, 5));
      assert.equal(all.length, net.tables.size(7));
    }
  });
});

describe("Kademlia lookups on 1,000 random nodes", () => {
  it("finds the true k closest live nodes", () => {
    const { net, streams } = randomNet(1000, 5);
    const rng = streams.stream("test/targets");
    for (let i = 0; i < 20; i++) {
      const target = Math.floor(rng.uniform() * 2 ** 32);
      const truth = net
        .liveNodes()
        .sort((a, b) => xorDistance(net.idOf(a), target) - xorDistance(net.idOf(b), target))
        .filter((n) => n !== 0)
        .slice(0, 20);
      assert.deepEqual(lookup(net, 0, target).closest, truth);
    }
  });

  it("is deterministic for a seed and differs across seeds", () => {
    const run = (seed: number) => {
      const { net } = randomNet(400, seed);
      net.put(1, "k", [{ publisher: "p", version: 1, payload: 1 }]);
      const r = lookup(net, 2, 0xabcdef01);
      return JSON.stringify([r, net.counters, net.idOf(399)]);
    };
    assert.equal(run(9), run(9));
    assert.notEqual(run(9), run(10));
  });

  it("keeps >= 99% of lookups successful with 20% of nodes churning per hour, republishing", () => {
    const { sim, net, streams } = randomNet(1000, 6, { republishIntervalNs: 600e9 });
    const rng = streams.stream("test/lookups");
    for (let i = 0; i < 50; i++)
      net.put(net.liveAt(rng.int(net.liveCount)), `key${i}`, [
        { publisher: `p${i}`, version: 1, payload: i },
      ]);
    sim.run(60e9);
    net.startRepublish();
    const churn = startChurn(net, streams, { fractionPerHour: 0.2, hosts: 8, untilNs: 3600e9 });
    let ok = 0;
    let total = 0;
    for (let i = 0; i < 500; i++) {
      sim.scheduleAt(60e9 + i * 7e9, () => {
        net.findValue(net.liveAt(rng.int(net.liveCount)), `key${i % 50}`, (r) => {
          total++;
          if (r.items !== undefined) ok++;
        });
      });
    }
    sim.run(3700e9);
    assert.equal(total, 500);
    assert.ok(churn.leaves > 150 && churn.leaves < 250, `about 200 leaves, got ${churn.leaves}`);
    assert.equal(net.liveCount, 1000);
    assert.ok(ok / total >= 0.99, `success ${ok}/${total}`);
  });
});

describe("Kademlia parameters", () => {
  const net = () => new KademliaNetwork(new Simulator(), new RandomStreams(1), () => 0);
  const bad: [string, () => unknown, RegExp][] = [
    [
      "k = 0",
      () => new KademliaNetwork(new Simulator(), new RandomStreams(1), () => 0, { k: 0 }),
      /kademlia: k must be in 1\.\.255, got 0/,
    ],
    [
      "a fractional timeout",
      () => new KademliaNetwork(new Simulator(), new RandomStreams(1), () => 0, { rpcTimeoutNs: 0.5 }),
      /rpcTimeoutNs must be a positive integer of ns, got 0\.5/,
    ],
    [
      "a reused id",
      () => {
        const n = net();
        n.addNode(0, 7);
        n.addNode(0, 7);
      },
      /node id must be a new integer in \[0, 2\^32\), got 7/,
    ],
    [
      "a negative churn",
      () => startChurn(net(), new RandomStreams(1), { fractionPerHour: -1, hosts: 1, untilNs: 1 }),
      /churn: fractionPerHour must be a finite number >= 0, got -1/,
    ],
  ];
  for (const [name, f, msg] of bad) {
    it(`refuses ${name} with a DhtModelError`, () => {
      assert.throws(f, (e: unknown) => e instanceof DhtModelError && msg.test(e.message));
    });
  }
});
