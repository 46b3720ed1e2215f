/**
 * The intrusion detector (models/security/ids.ts) and prevention (prevention.ts) on event streams: each detector
 * fires at its documented threshold and not one event before, benign traffic is never detected, and a detection
 * blocks its source once through setFirewall.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { FirewallRule } from "../../../models/policies/verb-args.ts";
import { type ConnectionEvent, IntrusionDetector } from "../../../models/security/ids.ts";
import { IntrusionPrevention } from "../../../models/security/prevention.ts";

const MS = 1_000_000;
const ev = (timeMs: number, o: Partial<ConnectionEvent>): ConnectionEvent => ({
  timeNs: timeMs * MS,
  src: "attacker",
  dst: "db",
  port: 15001,
  outcome: "accepted",
  ...o,
});

/** The index of the first event detected, or -1. */
function firstDetection(d: IntrusionDetector, events: readonly ConnectionEvent[]): number {
  let first = -1;
  events.forEach((e, i) => {
    if (d.observe(e) !== null && first < 0) first = i;
  });
  return first;
}

describe("intrusion detector", () => {
  const cases: { what: string; events: ConnectionEvent[]; at: number; kind: string }[] = [
    {
      what: "5 refused handshakes within 10 s (fail2ban's maxretry)",
      events: Array.from({ length: 8 }, (_, i) => ev(i * 100, { outcome: "refused-auth" })),
      at: 4,
      kind: "unauthenticated",
    },
    {
      what: "4 failed first contacts of distinct ports (TRW, Jung et al. 2004)",
      events: Array.from({ length: 10 }, (_, i) => ev(i * 10, { outcome: "tripwire", port: 20 + i })),
      at: 3,
      kind: "port-scan",
    },
    {
      what: "100 connections within 1 s (rate_filter)",
      events: Array.from({ length: 150 }, (_, i) => ev(i * 5, { src: "flooder", outcome: "accepted" })),
      at: 99,
      kind: "flood",
    },
    {
      what: "sending 10x an application's profile within 1 s",
      events: Array.from({ length: 10 }, (_, i) =>
        ev(i * 50, { src: "web", application: "web->db", bytes: 400_000 }),
      ),
      at: 2, // profile 8 Mbit/s: 10 x 1 MB per second allowed; 1.2 MB at the third event
      kind: "volume",
    },
  ];
  for (const c of cases) {
    it(`detects ${c.what} at the threshold's event`, () => {
      const d = new IntrusionDetector({ profiles: { "web->db": 0.8e6 } });
      assert.equal(firstDetection(d, c.events), c.at);
      assert.equal(d.detections.length, 1);
      assert.equal(d.detections[0]!.kind, c.kind);
      assert.equal(d.afterBlock, c.events.length - c.at - 1);
    });
  }

  it("never detects benign sources: steady accepted tunnels, a few refusals spread out, one port", () => {
    const d = new IntrusionDetector({ profiles: { "web->db": 100e6 } });
    const events: ConnectionEvent[] = [];
    for (let i = 0; i < 600; i++) {
      events.push(ev(i * 100, { src: "web", application: "web->db", bytes: 100_000 }));
      events.push(ev(i * 100 + 50, { src: "relay", dst: i % 2 ? "db" : "web", port: 15001 }));
    }
    // an operator's client with a stale certificate: 4 refusals, 3 s apart (never 5 within 10 s)
    for (let i = 0; i < 4; i++) events.push(ev(i * 3000, { src: "ops", outcome: "refused-auth" }));
    events.sort((a, b) => a.timeNs - b.timeNs);
    assert.equal(firstDetection(d, events), -1);
  });

  it("keeps its windows per workload: a node's authenticated workloads are not its attacker", () => {
    const d = new IntrusionDetector({ profiles: { "web->db": 0.8e6 } });
    const web = "spiffe://topocast/web/0";
    const events: ConnectionEvent[] = [];
    for (let i = 0; i < 10; i++) {
      // the attacker and the node's mesh workload interleave; 3 policy refusals of the workload stay below 5
      events.push(ev(i * 100, { outcome: "refused-auth" }));
      events.push(ev(i * 100 + 1, { identity: web, outcome: i < 3 ? "refused-policy" : "accepted" }));
    }
    firstDetection(d, events);
    assert.deepEqual(
      d.detections.map((x) => [x.src, x.identity, x.kind]),
      [["attacker", "unauthenticated", "unauthenticated"]],
    );
    assert.equal(d.isDetected("attacker"), true);
    assert.equal(d.isDetected("attacker", web), false);
    // the same node's workload sending far over its profile is detected under its own SPIFFE ID
    const big = Array.from({ length: 4 }, (_, i) =>
      ev(2000 + i * 50, { identity: web, application: "web->db", bytes: 400_000 }),
    );
    firstDetection(d, big);
    assert.deepEqual(d.detections.at(-1)!.identity, web);
    assert.equal(d.detections.at(-1)!.kind, "volume");
  });

  it("forgets refusals older than the window", () => {
    const d = new IntrusionDetector();
    const spread = Array.from({ length: 10 }, (_, i) => ev(i * 2600, { outcome: "refused-auth" }));
    assert.equal(firstDetection(d, spread), -1);
  });

  it("refuses bad thresholds and times, naming them", () => {
    assert.throws(
      () => new IntrusionDetector({ thresholds: { flood: { count: 0, windowNs: 1e9 } } }),
      /flood.count/,
    );
    assert.throws(
      () =>
        new IntrusionDetector({ thresholds: { trw: { theta0: 0.2, theta1: 0.8, alpha: 0.01, beta: 0.99 } } }),
      /theta1 < theta0/,
    );
    assert.throws(() => new IntrusionDetector().observe(ev(0, { timeNs: 0.5 })), /timeNs must be an integer/);
  });
});

describe("intrusion prevention", () => {
  it("blocks a detected source once through setFirewall, recording the times", async () => {
    const rules: FirewallRule[] = [];
    let now = 0;
    const ips = new IntrusionPrevention({ setFirewall: (r) => void rules.push(r) }, () => now);
    for (let i = 0; i < 10; i++) {
      now = (i * 100 + 7) * MS;
      await ips.observe(ev(i * 100, { outcome: "refused-auth" }));
      await ips.observe(ev(i * 100, { src: "web" }));
    }
    assert.deepEqual(rules, [{ action: "deny", src: "attacker", identity: "unauthenticated" }]);
    assert.equal(ips.blocks.length, 1);
    assert.deepEqual(
      { ...ips.blocks[0]!, reason: "" },
      {
        src: "attacker",
        identity: "unauthenticated",
        kind: "unauthenticated",
        reason: "",
        firstSeenNs: 0,
        detectedNs: 400 * MS,
        blockedNs: 407 * MS,
      },
    );
  });
});
