/**
 * emulate/conntrack.ts without root: conntrack's output lines (as conntrack-tools 1.4.7 prints them with
 * `-o timestamp,extended,id`), the payload estimate, and connections mapped onto application flows on a planned
 * (not built) substrate. The recorder itself runs for real in test/emulate/persona-learning.test.ts.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  type ConntrackEntry,
  connectionFlows,
  conntrackNft,
  parseConntrackLine,
  payloadBytes,
} from "../../emulate/conntrack.ts";
import { planSubstrate } from "../../emulate/plan.ts";
import { applicationPairs, applicationTagBase } from "../../models/workload/applications.ts";
import { line } from "../../sim/substrate/generators.ts";

const LINES = {
  new: "[1796325619.767941]\t    [NEW] ipv4     2 tcp      6 120 SYN_SENT src=10.99.0.1 dst=10.99.0.2 sport=40922 dport=8080 [UNREPLIED] src=10.99.0.2 dst=10.99.0.1 sport=8080 dport=40922 id=78375697",
  established:
    "[1796325619.771803]\t [UPDATE] ipv4     2 tcp      6 432000 ESTABLISHED src=10.99.0.1 dst=10.99.0.2 sport=40922 dport=8080 src=10.99.0.2 dst=10.99.0.1 sport=8080 dport=40922 [ASSURED] id=78375697",
  listed:
    "ipv4     2 tcp      6 118 TIME_WAIT src=10.99.0.1 dst=10.99.0.2 sport=40922 dport=8080 packets=9 bytes=1476 src=10.99.0.2 dst=10.99.0.1 sport=8080 dport=40922 packets=9 bytes=50476 [ASSURED] mark=0 use=1 id=78375697",
  destroyUdp:
    "[1796325558.275338]\t[DESTROY] ipv4     2 udp      17 src=10.99.0.1 dst=10.99.0.2 sport=54262 dport=7777 packets=1 bytes=228 src=10.99.0.2 dst=10.99.0.1 sport=7777 dport=54262 packets=1 bytes=1428 delta-time=0 id=620239569",
  icmp: "[1796325558.275338]\t    [NEW] ipv4     2 icmp     1 30 src=10.99.0.1 dst=10.99.0.2 type=8 code=0 id=7 [UNREPLIED] src=10.99.0.2 dst=10.99.0.1 type=0 code=0 id=7",
  summary: "conntrack v1.4.7 (conntrack-tools): 8 flow events have been shown.",
};

describe("conntrack output lines", () => {
  const cases = [
    {
      what: "a NEW event: its time, no reply yet, no counters",
      line: LINES.new,
      want: {
        atUs: 1796325619767941,
        event: "NEW",
        state: "SYN_SENT",
        replied: false,
        orig: null,
        reply: null,
      },
    },
    {
      what: "an UPDATE to ESTABLISHED: replied",
      line: LINES.established,
      want: { event: "UPDATE", state: "ESTABLISHED", replied: true, id: "78375697" },
    },
    {
      what: "a listed entry: both directions' counters, no time",
      line: LINES.listed,
      want: {
        atUs: null,
        event: null,
        state: "TIME_WAIT",
        orig: { packets: 9, bytes: 1476 },
        reply: { packets: 9, bytes: 50476 },
      },
    },
    {
      what: "a UDP DESTROY event (no timeout printed): counters, no state",
      line: LINES.destroyUdp,
      want: { event: "DESTROY", protocol: "udp", state: null, dport: 7777, orig: { packets: 1, bytes: 228 } },
    },
  ];
  for (const c of cases) {
    it(`reads ${c.what}`, () => {
      const l = parseConntrackLine(c.line);
      assert.ok(l);
      for (const [k, v] of Object.entries(c.want)) assert.deepEqual(l[k as keyof typeof l], v, k);
      assert.deepEqual([l.src, l.dst, l.sport > 0], ["10.99.0.1", "10.99.0.2", true]);
    });
  }
  for (const [what, l] of [
    ["an ICMP entry (no ports)", LINES.icmp],
    ["conntrack's summary line", LINES.summary],
    ["an empty line", ""],
  ] as const)
    it(`skips ${what}`, () => assert.equal(parseConntrackLine(l), null));
});

describe("payload estimate", () => {
  const cases = [
    {
      protocol: "tcp",
      c: { packets: 9, bytes: 1476 },
      want: 1000,
      note: "1,000 bytes sent (the SYN's options)",
    },
    {
      protocol: "tcp",
      c: { packets: 9, bytes: 50476 },
      want: 50000,
      note: "50,000 bytes (GSO: 9 super-packets)",
    },
    { protocol: "udp", c: { packets: 1, bytes: 228 }, want: 200, note: "one 200-byte datagram" },
    { protocol: "tcp", c: { packets: 3, bytes: 100 }, want: 0, note: "never below 0" },
  ] as const;
  for (const c of cases)
    it(`${c.protocol} ${JSON.stringify(c.c)}: ${c.note}`, () =>
      assert.equal(payloadBytes(c.protocol, c.c), c.want));
});

describe("the namespace's tracking table", () => {
  it("leaves forwarded packets untracked and holds a ct rule in the output chain", () => {
    const nft = conntrackNft("tcabc_ct");
    assert.match(nft, /hook prerouting priority -300;.*\n.*fib daddr type != local notrack/);
    assert.match(nft, /hook output priority -300;.*\n.*ct state new counter/);
  });
});

describe("connections as application flows", () => {
  const topo = line(3, { capacityBps: 1e9, delayNs: 1_000_000 });
  const plan = planSubstrate(topo, "c0ffee", { rate: "htb", delay: "wire" });
  const spec = {
    apps: [
      { name: "web", instances: ["n1"], port: 8080 },
      { name: "db", instances: ["n2"], port: 5432 },
    ],
    calls: [{ from: "web", to: "db", requestBytes: 300, responseBytes: 2000 }],
    entries: [{ app: "web", ratePerSec: 1, clients: ["n0"], requestBytes: 1000, responseBytes: 5000 }],
  };
  const ports = { tm: 7000, "client->web": 8080, "web->client": 8080, "web->db": 5432, "db->web": 5432 };
  const pairs = applicationPairs(spec);
  const tag = (p: string) => applicationTagBase(3) + pairs.indexOf(p);
  const addr = (i: number) => plan.nodes[i]!.address;
  const MS = 1_000_000;
  const entry = (node: number, dst: number, dport: number, more: Partial<ConntrackEntry> = {}) => ({
    node,
    id: `${node}${dport}`,
    protocol: "tcp" as const,
    src: addr(node),
    dst: addr(dst),
    sport: 40000,
    dport,
    startHrNs: 10 * MS,
    repliedHrNs: 12 * MS,
    closedHrNs: 20 * MS,
    lastHrNs: 21 * MS,
    orig: { packets: 4, bytes: 52 * 4 + 8 + 1000 },
    reply: { packets: 5, bytes: 52 * 5 + 8 + 5000 },
    ...more,
  });
  const run = (entries: ConntrackEntry[]) =>
    connectionFlows(entries, {
      plan,
      applications: spec,
      ports,
      epoch: 0n,
      timeCompression: 2,
      eventsLost: false,
    });

  it("gives a client's call to web its request and response, tagged by pair, in simulated ns", () => {
    const r = run([entry(0, 1, 8080)]);
    assert.deepEqual(r.flows, [
      { src: 0, dst: 1, sizeBytes: 1000, startNs: 20 * MS, endNs: 24 * MS, tag: tag("client->web") },
      { src: 1, dst: 0, sizeBytes: 5000, startNs: 24 * MS, endNs: 40 * MS, tag: tag("web->client") },
    ]);
  });

  const tally = [
    { what: "web's call to db", entries: [entry(1, 2, 5432)], want: { flows: 2, other: 0, unread: 0 } },
    { what: "the matrix's port", entries: [entry(0, 2, 7000)], want: { flows: 0, other: 1, unread: 0 } },
    {
      what: "an application port from a node with no caller there",
      entries: [entry(2, 1, 8080)],
      want: { flows: 0, other: 1, unread: 0 },
    },
    {
      what: "a connection older than the recorder",
      entries: [entry(0, 1, 8080, { startHrNs: null })],
      want: { flows: 0, other: 0, unread: 1 },
    },
    {
      what: "a connection gone before its counters were read",
      entries: [entry(0, 1, 8080, { orig: null, reply: null })],
      want: { flows: 0, other: 0, unread: 1 },
    },
  ];
  for (const c of tally)
    it(`counts ${c.what}`, () => {
      const r = run(c.entries);
      assert.deepEqual({ flows: r.flows.length, other: r.other, unread: r.unread }, c.want);
    });
});
