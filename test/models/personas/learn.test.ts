import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { LearnError, type LearnFlow, learnPersonas } from "../../../models/personas/learn.ts";
import type { Persona } from "../../../models/personas/profile.ts";
import { type AppWorkloadSpec, applicationPairs } from "../../../models/workload/applications.ts";
import { TopologyBuilder } from "../../../sim/substrate/topology.ts";

/**
 *   users --- edge --- core --- dc1        every link 10 Gbit/s
 *                        |
 *                       dc2
 */
const topo = new TopologyBuilder("toy", "test", { capacityBps: 10e9, delayNs: 1_000_000 })
  .addNode({ id: "users" })
  .addNode({ id: "edge" })
  .addNode({ id: "core" })
  .addNode({ id: "dc1" })
  .addNode({ id: "dc2" })
  .addLink("users", "edge")
  .addLink("edge", "core")
  .addLink("core", "dc1")
  .addLink("core", "dc2")
  .build();
const node = (id: string) => topo.node(id);

/** Four applications after the use cases, plus the trading system's database and the trainer's store. */
const spec: AppWorkloadSpec = {
  apps: [
    { name: "game", instances: ["edge", "core"], port: 7777, protocol: "udp", version: "1.4" },
    { name: "trading", instances: ["dc1"], port: 9000, dependencies: ["ledger"] },
    { name: "ledger", instances: ["dc2"], port: 5432 },
    { name: "stream", instances: ["dc1"], port: 443 },
    { name: "ml", instances: ["dc1"], port: 29500, dependencies: ["store"] },
    { name: "store", instances: ["dc2"], port: 9100 },
  ],
  calls: [
    { from: "trading", to: "ledger", requestBytes: 300, responseBytes: 600 },
    { from: "ml", to: "store", requestBytes: 1_000, responseBytes: 50_000_000 },
  ],
  entries: [
    { app: "game", ratePerSec: 100, clients: ["users"], requestBytes: 200, responseBytes: 300 },
    { app: "trading", ratePerSec: 10, clients: ["users"], requestBytes: 1_000, responseBytes: 2_000 },
    { app: "stream", ratePerSec: 1, clients: ["users"], requestBytes: 500, responseBytes: 12_500_000 },
    { app: "ml", ratePerSec: 0.1 },
  ],
};
const pairs = applicationPairs(spec);
const tagOf = (pair: string) => topo.nodeCount * topo.nodeCount + pairs.indexOf(pair);

/** A request flow and, after it, its response, each lasting `ns`. */
function exchange(t: number, edge: [string, string, string, string], req: number, resp: number, ns: number) {
  const [a, b, na, nb] = edge;
  return [
    { src: node(na), dst: node(nb), sizeBytes: req, startNs: t, endNs: t + ns, tag: tagOf(`${a}->${b}`) },
    {
      src: node(nb),
      dst: node(na),
      sizeBytes: resp,
      startNs: t + ns,
      endNs: t + 2 * ns,
      tag: tagOf(`${b}->${a}`),
    },
  ];
}

const S = 1e9;
const flows: LearnFlow[] = [];
// game: an exchange every 10 ms from users to edge (200 B + 300 B, 1 ms each): 500 B x 100/s = 400 kbit/s, steady.
for (let t = 0; t < 100 * S; t += 10e6)
  flows.push(...exchange(t, ["client", "game", "users", "edge"], 200, 300, 1e6));
// trading: every 100 ms a client request, and a ledger call inside it.
for (let t = 0; t < 100 * S; t += 100e6) {
  flows.push(...exchange(t, ["client", "trading", "users", "dc1"], 1_000, 2_000, 2e6));
  flows.push(...exchange(t + 1e6, ["trading", "ledger", "dc1", "dc2"], 300, 600, 1e6));
}
// stream: every second 12.5 MB over the whole second: 100 Mbit/s, steady.
for (let t = 0; t < 100 * S; t += S)
  flows.push(...exchange(t, ["client", "stream", "users", "dc1"], 500, 12_500_000, S / 2));
// ml: every 20 s, 8 parallel 50 MB pulls from the store within 1 s: bursty bulk.
for (let t = 0; t < 100 * S; t += 20 * S) {
  for (let k = 0; k < 8; k++)
    flows.push(...exchange(t, ["ml", "store", "dc1", "dc2"], 1_000, 50_000_000, S / 2));
}
// Outside the window (ignored) and a traffic-matrix flow (tag < N x N, ignored).
flows.push(...exchange(150 * S, ["client", "game", "users", "edge"], 9_999_999, 9_999_999, 1e6));
flows.push({ src: 0, dst: 1, sizeBytes: 1e9, startNs: 0, endNs: S, tag: 1 });

const learned = learnPersonas(
  { flows, applications: spec, topology: topo },
  {
    window: { startNs: 0, endNs: 100 * S },
    provenance: { engine: "sim", run: "synthetic", learnedAt: "seed 0" },
  },
);
const byName = new Map(learned.map((p) => [p.application.name, p]));
const persona = (name: string): Persona => byName.get(name)!;

const close = (actual: number, expected: number, what: string) =>
  assert.ok(
    Math.abs(actual - expected) <= 1e-6 * Math.max(1, Math.abs(expected)),
    `${what}: ${actual} != ${expected}`,
  );

describe("learning personas from flow records", () => {
  it("gives one persona per application, sorted as the spec lists them, each valid and version 1", () => {
    assert.deepEqual(
      learned.map((p) => p.application.name),
      ["game", "trading", "ledger", "stream", "ml", "store"],
    );
    assert.ok(learned.every((p) => p.version === 1 && p.schemaVersion === 1));
    assert.equal(persona("game").application.versionHash, "1.4");
    assert.match(persona("stream").application.versionHash, /^spec-[0-9a-f]{12}$/);
  });

  // Over 100 s in 1 s bins: [name, meanBps, peakToMean, dispersion, latency share, exchanges]. Arrivals at a
  // constant pace give dispersion 0; ml's 8 requests in 5 of 100 bins: mean 0.4, variance 5 x 8^2 / 100 - 0.4^2 =
  // 3.04, dispersion 7.6, and its bytes all in those 5 bins: peak-to-mean 20.
  const fingerprints: [string, number, number, number, number, number][] = [
    ["game", 100 * 500 * 8, 1, 0, 1, 10_000],
    ["trading", 10 * (1_000 + 2_000 + 300 + 600) * 8, 1, 0, 1, 2_000],
    ["ledger", 10 * (300 + 600) * 8, 1, 0, 1, 1_000],
    ["stream", (500 + 12_500_000) * 8, 1, 0, 0, 100],
    ["ml", (5 * 8 * (1_000 + 50_000_000) * 8) / 100, 20, 7.6, 0, 40],
  ];
  for (const [name, meanBps, peakToMean, dispersion, share, exchanges] of fingerprints) {
    it(`measures ${name}'s bandwidth, burstiness and latency sensitivity as constructed`, () => {
      const f = persona(name).fingerprint;
      close(f.bandwidth.meanBps, meanBps, "meanBps");
      close(f.burstiness.peakToMean, peakToMean, "peakToMean");
      close(f.burstiness.dispersion, dispersion, "dispersion");
      close(f.latencySensitivity.share, share, "share");
      assert.equal(f.latencySensitivity.exchanges, exchanges);
    });
  }

  it("names protocols, ports and peers, marking declared dependencies critical", () => {
    const t = persona("trading").fingerprint;
    assert.deepEqual(t.protocols, ["tcp"]);
    assert.deepEqual(t.ports, [5432, 9000]);
    assert.deepEqual(
      t.peers.map((p) => [p.app, p.critical, p.ports, p.flows, p.bytes]),
      [
        ["client", false, [9000], 2_000, 3_000_000],
        ["ledger", true, [5432], 2_000, 900_000],
      ],
    );
    assert.deepEqual(persona("game").fingerprint.protocols, ["udp"]);
    assert.deepEqual(
      persona("ledger").fingerprint.peers.map((p) => [p.app, p.critical]),
      [["trading", false]],
    );
  });

  it("puts every byte of a traffic starting in hour 0 into hour 0, and shifts with the origin", () => {
    const tod = persona("game").fingerprint.timeOfDay;
    assert.equal(tod[0], 1);
    const shifted = learnPersonas(
      { flows, applications: spec, topology: topo },
      {
        window: { startNs: 0, endNs: 100 * S },
        originNs: 13 * 3600 * S,
        provenance: { engine: "sim", run: "synthetic", learnedAt: "seed 0" },
      },
    );
    assert.equal(shifted[0]!.fingerprint.timeOfDay[13], 1);
  });

  // [name, topology, priority, routing]; every class: guaranteed rate = p95 rate, ceiling = the link rate.
  const desired: [string, string, number, string][] = [
    ["game", "mesh", 0, "latency"],
    ["trading", "mesh", 0, "latency"],
    ["ledger", "mesh", 0, "latency"],
    ["stream", "star", 2, "bandwidth"],
    ["ml", "tree", 4, "bandwidth"],
    ["store", "tree", 4, "bandwidth"],
  ];
  for (const [name, topology, priority, routing] of desired) {
    it(`derives ${name}'s desired config by the rules: ${topology}, priority ${priority}, ${routing}-first`, () => {
      const p = persona(name);
      assert.equal(p.desired.topology, topology);
      assert.equal(p.desired.qos.priority, priority);
      assert.equal(p.desired.routing, routing);
      assert.equal(p.desired.qos.rateBps, p.fingerprint.bandwidth.p95Bps);
      assert.equal(p.desired.qos.ceilBps, 10e9);
      assert.equal(p.desired.security.defaultDeny, true);
    });
  }

  it("allows exactly the observed peers on their ports, client nodes by node", () => {
    assert.deepEqual(persona("trading").desired.security.allow, [
      { peer: { kind: "app", name: "ledger" }, port: 5432, protocol: "tcp" },
      { peer: { kind: "node", name: "users" }, port: 9000, protocol: "tcp" },
    ]);
    assert.deepEqual(persona("game").desired.security.allow, [
      { peer: { kind: "node", name: "users" }, port: 7777, protocol: "udp" },
    ]);
    assert.deepEqual(persona("stream").desired.security.alertOn, [
      "denied-flow",
      "new-peer",
      "bandwidth-over-ceiling",
    ]);
  });

  it("records the window and the run in the provenance", () => {
    assert.deepEqual(persona("ml").provenance, {
      engine: "sim",
      run: "synthetic",
      learnedAt: "seed 0",
      windowStartNs: 0,
      windowEndNs: 100 * S,
    });
  });

  it("refuses an empty window and a bad bin width", () => {
    const input = { flows, applications: spec, topology: topo };
    const provenance = { engine: "sim" as const, run: "x", learnedAt: "x" };
    assert.throws(
      () => learnPersonas(input, { window: { startNs: 5, endNs: 5 }, provenance }),
      (e: unknown) => e instanceof LearnError && /window: .*got \[5, 5\)/.test(e.message),
    );
    assert.throws(
      () => learnPersonas(input, { window: { startNs: 0, endNs: 5 }, binNs: 0.5, provenance }),
      /binNs: expected an integer > 0 of ns, got 0.5/,
    );
  });
});
