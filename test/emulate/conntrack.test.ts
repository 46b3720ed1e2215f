/**
 * emulate/conntrack.ts without root: conntrack's output lines (as conntrack-tools 1.4.7 prints them with
 * `-o timestamp,extended,id`), the payload estimate, and connections mapped onto application flows on a planned
 * (not built) substrate. The recorder itself runs for real in test/emulate/persona-learning.test.ts.
 */
import assert from "node:assert/strict";
import { endianness } from "node:os";
import { describe, it } from "node:test";
import {
  type ConntrackEntry,
  connectionFlows,
  conntrackNft,
  conntrackReaderArgv,
  decodeMark,
  finished,
  MARK,
  messageBytes,
  parseConntrackLine,
  payloadBytes,
  RECORDER_SYSCTLS,
  sequencedPayload,
  serverSentHrNs,
  trackedPorts,
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
  marked:
    "[1796385147.015855]\t [UPDATE] ipv4     2 tcp      6 120 FIN_WAIT src=10.99.0.1 dst=10.99.0.2 sport=35874 dport=9000 src=10.99.0.2 dst=10.99.0.1 sport=9000 dport=35874 [ASSURED] mark=1710100257 id=2673810191",
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
        mark: null,
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
        mark: 0,
      },
    },
    {
      what: "an UPDATE's mark (a sequence number the tracking table wrote)",
      line: LINES.marked,
      want: { event: "UPDATE", state: "FIN_WAIT", mark: 1710100257 },
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
  const spec = {
    apps: [
      { name: "game", instances: ["n0"], port: 7777, protocol: "udp" as const },
      { name: "web", instances: ["n1"], port: 8080 },
      { name: "db", instances: ["n2"], port: 5432 },
      { name: "files", instances: ["n2"] },
    ],
    calls: [{ from: "web", to: "db", requestBytes: 300, responseBytes: 2000 }],
    entries: [
      { app: "game", ratePerSec: 1, clients: ["n1"], requestBytes: 200, responseBytes: 400 },
      { app: "web", ratePerSec: 1, clients: ["n0"], requestBytes: 1000, responseBytes: 5000 },
      { app: "files", ratePerSec: 1, clients: ["n0"], requestBytes: 500, responseBytes: 1e6 },
    ],
  };
  const ports = {
    tm: 7000,
    "client->game": 7777,
    "game->client": 7777,
    "client->web": 8080,
    "web->client": 8080,
    "web->db": 5432,
    "db->web": 5432,
    "client->files": 7001,
    "files->client": 7001,
  };

  it("tracks the request pairs' server ports under their server's protocol, not the matrix's", () =>
    assert.deepEqual(trackedPorts(spec, ports), { tcp: [5432, 7001, 8080], udp: [7777] }));

  const cases = [
    {
      what: "with ports: replies from the servers' ports in, requests to them out, everything else notrack",
      ports: { tcp: [5432, 8080], udp: [7777] },
      want: [
        "add table inet tcabc_ct",
        "add chain inet tcabc_ct pre { type filter hook prerouting priority -300; policy accept; }",
        "add rule inet tcabc_ct pre fib daddr type != local notrack",
        "add rule inet tcabc_ct pre meta l4proto tcp th sport { 5432, 8080 } return",
        "add rule inet tcabc_ct pre meta l4proto udp th sport { 7777 } return",
        "add rule inet tcabc_ct pre notrack",
        "add chain inet tcabc_ct out { type filter hook output priority -300; policy accept; }",
        "add rule inet tcabc_ct out ct state new counter",
        "add rule inet tcabc_ct out meta l4proto tcp th dport { 5432, 8080 } return",
        "add rule inet tcabc_ct out meta l4proto udp th dport { 7777 } return",
        "add rule inet tcabc_ct out notrack",
      ],
    },
    {
      what: "TCP ports only: no UDP rule (an empty set is an nft syntax error)",
      ports: { tcp: [8080], udp: [] },
      want: [
        "add table inet tcabc_ct",
        "add chain inet tcabc_ct pre { type filter hook prerouting priority -300; policy accept; }",
        "add rule inet tcabc_ct pre fib daddr type != local notrack",
        "add rule inet tcabc_ct pre meta l4proto tcp th sport { 8080 } return",
        "add rule inet tcabc_ct pre notrack",
        "add chain inet tcabc_ct out { type filter hook output priority -300; policy accept; }",
        "add rule inet tcabc_ct out ct state new counter",
        "add rule inet tcabc_ct out meta l4proto tcp th dport { 8080 } return",
        "add rule inet tcabc_ct out notrack",
      ],
    },
    {
      what: "without ports (a sink node): forwarded packets untracked, nothing else",
      ports: undefined,
      want: [
        "add table inet tcabc_ct",
        "add chain inet tcabc_ct pre { type filter hook prerouting priority -300; policy accept; }",
        "add rule inet tcabc_ct pre fib daddr type != local notrack",
        "add chain inet tcabc_ct out { type filter hook output priority -300; policy accept; }",
        "add rule inet tcabc_ct out ct state new counter",
      ],
    },
  ];
  for (const c of cases)
    it(c.what, () => {
      const lines = conntrackNft("tcabc_ct", c.ports).split("\n");
      // With ports, the mark chains follow (below); without, nothing (a sink's own marks route its replies).
      const marks = c.ports
        ? lines.findIndex((l) => l.includes("chain inet tcabc_ct mark-out"))
        : lines.length - 1;
      assert.ok(marks > 0, "the mark chains follow the tracking rules");
      assert.deepEqual([...lines.slice(0, marks), lines.at(-1)], [...c.want, ""]);
    });

  // The code bits are the low 3 bits of the network-order number: the top byte of the host-order mark (x86).
  const code = (k: number) =>
    `0x${((endianness() === "LE" ? k << 24 : k) >>> 0).toString(16).padStart(8, "0")}`;
  const mask = code(7);
  const markCases = [
    {
      what: "the client's SYN writes its initial sequence number (code 1)",
      line: "add rule inet tcabc_ct mark-out meta l4proto tcp ct direction original tcp flags & (syn | ack) == syn ct mark set tcp sequence and 0xfffffff8 or 1",
    },
    {
      what: "the client's FIN writes its ack number, once (code 5)",
      line: `add rule inet tcabc_ct mark-out meta l4proto tcp ct direction original tcp flags & fin == fin ct mark & ${mask} != ${code(5)} ct mark set tcp ackseq and 0xfffffff8 or 5`,
    },
    {
      what: "the server's SYN-ACK writes its TCP timestamp (code 2)",
      line: "add rule inet tcabc_ct mark-in meta l4proto tcp ct direction reply tcp flags & (syn | ack) == syn | ack ct mark set tcp option timestamp tsval and 0xfffffff8 or 2",
    },
    {
      what: "the client's handshake ACK writes its ack number, the server's initial sequence number + 1 (code 7)",
      line: `add rule inet tcabc_ct mark-out meta l4proto tcp ct direction original ct mark & ${mask} == ${code(2)} tcp flags & (syn | fin | rst) == 0x0 ct mark set tcp ackseq and 0xfffffff8 or 7`,
    },
    {
      what: "the server's FIN writes its ack number, once (code 6)",
      line: `add rule inet tcabc_ct mark-in meta l4proto tcp ct direction reply tcp flags & fin == fin ct mark & ${mask} != ${code(6)} ct mark set tcp ackseq and 0xfffffff8 or 6`,
    },
    {
      what: "the server's first payload after the handshake (timestamps: 32 TCP header bytes) is code 3, its TSval",
      line: `add rule inet tcabc_ct mark-in meta l4proto tcp ct direction reply ct mark & ${mask} == ${code(7)} tcp doff 8 ip length > 52 ct mark set tcp option timestamp tsval and 0xfffffff8 or 3`,
    },
    {
      what: "its next payload (the response starts) is code 4",
      line: `add rule inet tcabc_ct mark-in meta l4proto tcp ct direction reply ct mark & ${mask} == ${code(3)} tcp doff 15 ip length > 80 ct mark set tcp option timestamp tsval and 0xfffffff8 or 4`,
    },
    {
      what: "UDP: the first reply datagram is code 3, the next code 4",
      line: `add rule inet tcabc_ct mark-in meta l4proto udp ct direction reply ct mark & ${mask} == ${code(0)} ct mark set ${code(3)}`,
    },
  ];
  for (const c of markCases)
    it(`marks: ${c.what}`, () => {
      const lines = conntrackNft("tcabc_ct", { tcp: [8080], udp: [7777] }).split("\n");
      assert.ok(lines.includes(c.line), `missing: ${c.line}`);
    });
  it("marks: a packet moves the mark one code on (code 3 -> 4 rules before 7 -> 3), one rule per data offset", () => {
    const lines = conntrackNft("tcabc_ct", { tcp: [8080], udp: [] }).split("\n");
    const at = (from: number) => lines.findIndex((l) => l.includes(`== ${code(from)} tcp doff`));
    assert.ok(at(3) >= 0 && at(3) < at(7), "code 3 -> 4 comes first");
    assert.equal(lines.filter((l) => l.includes(`== ${code(7)} tcp doff`)).length, 11, "doff 5 .. 15");
    assert.equal(lines.filter((l) => l.includes("udp")).length, 0, "no UDP rule without UDP ports");
  });
});

describe("sequence numbers and timestamps from the marks", () => {
  // Marks conntrack printed (a little-endian host) and the numbers they carry (the packets': tcpdump -S).
  const printed = [
    { mark: 3251949752, code: MARK.syn, value: 3100693696 }, // SYN seq 3100693696
    { mark: 2866941729, code: MARK.synAck, value: 554689192 }, // SYN-ACK seq 554689196
    { mark: 1710100257, code: MARK.finOrig, value: 554692192 }, // client FIN ack 554692198
    { mark: 4141142200, code: MARK.finReply, value: 3100693744 }, // server FIN ack 3100693748
  ];
  for (const p of printed)
    it(`decodes mark ${p.mark}: code ${p.code}, number ${p.value}`, { skip: endianness() !== "LE" }, () =>
      assert.deepEqual(decodeMark(p.mark), { code: p.code, value: p.value }),
    );

  // A real exchange's decoded marks (50 request bytes; the server waited 100 ms, sent a 1-byte ack, waited 300 ms,
  // sent 3,000 bytes; tcpdump on the client's veth: the ack 101.5 ms and the response 402.8 ms after the SYN-ACK).
  const MS = 1_000_000;
  const marks = (finOrigFirst: boolean, more: Partial<Record<number, undefined>> = {}) => ({
    [MARK.syn]: { value: 1661181504, atHrNs: 0, order: 0 }, // SYN seq 1661181505
    [MARK.synAck]: { value: 1293616408, atHrNs: 0.4 * MS, order: 1 }, // the SYN-ACK's TSval
    [MARK.established]: { value: 682404504, atHrNs: 0.4 * MS, order: 2 }, // handshake ACK: ack 682404507
    [MARK.answered]: { value: 1293616512, atHrNs: 102 * MS, order: 3 }, // TSval
    [MARK.responding]: { value: 1293616816, atHrNs: 403 * MS, order: 4 }, // TSval
    [MARK.finOrig]: { value: 682407504, atHrNs: 403.5 * MS, order: finOrigFirst ? 5 : 6 }, // ack 682407508
    [MARK.finReply]: { value: 1661181552, atHrNs: 410 * MS, order: finOrigFirst ? 6 : 5 }, // ack 1661181557
    ...more,
  });
  const cases = [
    {
      what: "the client closed first (its FIN counts in the server's ack)",
      m: marks(true),
      want: { orig: 46, reply: 3000 },
    },
    {
      what: "the server closed first (its FIN counts in the client's ack)",
      m: marks(false),
      want: { orig: 47, reply: 2999 },
    },
    {
      what: "no FIN from the server (a cut connection)",
      m: marks(true, { [MARK.finReply]: undefined }),
      want: null,
    },
    { what: "no marks (a sink node)", m: undefined, want: null },
  ];
  for (const c of cases)
    it(`payload: ${c.what}`, () => {
      const got = sequencedPayload(c.m);
      assert.deepEqual(got, c.want);
      if (got) assert.ok(Math.abs(got.orig - 50) <= 7 && Math.abs(got.reply - 3001) <= 7, "within 7 bytes");
    });

  const sent = [
    { code: MARK.answered, want: 0.2 * MS + 104 * MS, truth: 101.5 },
    { code: MARK.responding, want: 0.2 * MS + 408 * MS, truth: 402.8 },
  ] as const;
  for (const c of sent)
    it(`server's send time of code ${c.code}: the SYN-ACK's (half the handshake) + the TSvals' difference, within 7 ms`, () => {
      const got = serverSentHrNs({ startHrNs: 0, marks: marks(true) }, c.code);
      assert.equal(got, c.want);
      assert.ok(Math.abs(got! - 0.2 * MS - c.truth * MS) <= 7 * MS);
    });
  it("no send time without the SYN-ACK's timestamp", () =>
    assert.equal(
      serverSentHrNs({ startHrNs: 0, marks: marks(true, { [MARK.synAck]: undefined }) }, MARK.answered),
      null,
    ));
});

describe("the recorder's sysctls", () => {
  it("turn the counters on and keep every entry of a run until the final listing (an hour)", () => {
    const { "net.netfilter.nf_conntrack_acct": acct, ...timeouts } = RECORDER_SYSCTLS;
    assert.equal(acct, 1);
    assert.ok(Object.keys(timeouts).length >= 9);
    for (const [k, v] of Object.entries(timeouts)) {
      assert.match(k, /^net\.netfilter\.nf_conntrack_(tcp|udp)_timeout/);
      assert.equal(v, 3600, k);
    }
  });
});

describe("the event reader", () => {
  it("runs conntrack -E in the namespace at real-time priority, without --buffer-size (not applied to events)", () =>
    assert.deepEqual(conntrackReaderArgv("/usr/sbin/conntrack", "tcabc-n0"), [
      "chrt",
      "-f",
      "10",
      "ip",
      "netns",
      "exec",
      "tcabc-n0",
      "/usr/sbin/conntrack",
      "-E",
      "-e",
      "NEW,UPDATE,DESTROY",
      "-o",
      "timestamp,extended,id",
    ]));
});

describe("finished transfers and the agents' framing", () => {
  const S = 1_000_000_000;
  const tcp = { protocol: "tcp", reply: null, repliedHrNs: 1 * S, lastHrNs: 4 * S } as const;
  const finishedCases = [
    {
      e: { ...tcp, state: "TIME_WAIT", closedHrNs: 3 * S },
      want: true,
      note: "closed by FIN before the deadline",
    },
    { e: { ...tcp, state: "CLOSE", closedHrNs: 3 * S }, want: true, note: "FIN, then CLOSE after TIME_WAIT" },
    {
      e: { ...tcp, state: "TIME_WAIT", closedHrNs: 6 * S },
      want: false,
      note: "closed after the deadline: cut",
    },
    { e: { ...tcp, state: "ESTABLISHED", closedHrNs: null }, want: false, note: "open when listed: cut" },
    { e: { ...tcp, state: "CLOSE", closedHrNs: null }, want: false, note: "reset without a FIN" },
    {
      e: { ...tcp, state: "TIME_WAIT", closedHrNs: null },
      want: true,
      note: "listed after a FIN whose event is missing",
    },
    {
      e: { ...tcp, protocol: "udp", state: null, closedHrNs: null, reply: { packets: 2, bytes: 500 } },
      want: true,
      note: "UDP: the ack and a response",
    },
    {
      e: { ...tcp, protocol: "udp", state: null, closedHrNs: null, reply: { packets: 1, bytes: 36 } },
      want: false,
      note: "UDP: the ack only",
    },
  ] as const;
  for (const c of finishedCases)
    it(`${c.e.protocol} ${c.e.state ?? ""}: ${c.note}`, () => assert.equal(finished(c.e, 5 * S), c.want));

  const bytesCases = [
    { protocol: "tcp", c: { packets: 4, bytes: 52 * 4 + 8 + 16 + 1000 }, orig: true, want: 1000 },
    { protocol: "tcp", c: { packets: 5, bytes: 52 * 5 + 8 + 25 + 5000 }, orig: false, want: 5000 },
    { protocol: "udp", c: { packets: 1, bytes: 28 + 16 + 200 }, orig: true, want: 200 },
    { protocol: "udp", c: { packets: 2, bytes: 28 + 16 + 1400 + 28 + 16 + 600 }, orig: true, want: 2000 },
    { protocol: "udp", c: { packets: 2, bytes: 28 + 8 + 28 + 24 + 400 }, orig: false, want: 400 },
    { protocol: "udp", c: { packets: 1, bytes: 28 + 8 }, orig: false, want: 0 },
  ] as const;
  for (const c of bytesCases)
    it(`${c.protocol} ${c.orig ? "request" : "response"} ${JSON.stringify(c.c)}: ${c.want} message bytes`, () =>
      assert.equal(messageBytes(c.protocol, c.c, c.orig), c.want));
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
    state: "TIME_WAIT",
    // The agents' framing on top of the messages: a 16-byte request header; a 1-byte ack and a 24-byte header.
    orig: { packets: 4, bytes: 52 * 4 + 8 + 16 + 1000 },
    reply: { packets: 5, bytes: 52 * 5 + 8 + 25 + 5000 },
    ...more,
  });
  const run = (
    entries: ConntrackEntry[],
    transferNs?: (server: number, client: number, bytes: number) => number,
  ) =>
    connectionFlows(entries, {
      plan,
      applications: spec,
      ports,
      epoch: 0n,
      timeCompression: 2,
      eventsLost: false,
      untilNs: 60 * MS, // the agents' deadline: 30 ms of the (hrtime) run
      ...(transferNs ? { transferNs } : {}),
    });

  // The response starts at the first reply (the handshake's), or one transfer time before its end when the engine
  // gives the transfer time (the server's answer comes later than the handshake: its start is not an event).
  const responseCases = [
    { what: "at the first reply", transferNs: undefined, startNs: 24 * MS },
    {
      what: "one transfer time (5 ms for 5000 bytes) before its end",
      transferNs: () => 5 * MS,
      startNs: 35 * MS,
    },
    { what: "no earlier than the first reply", transferNs: () => 30 * MS, startNs: 24 * MS },
  ];
  for (const c of responseCases)
    it(`gives a client's call to web its request and response, tagged by pair, in simulated ns: response ${c.what}`, () => {
      const seen: number[][] = [];
      const r = run(
        [entry(0, 1, 8080)],
        c.transferNs &&
          ((server, client, bytes) => {
            seen.push([server, client, bytes]);
            return c.transferNs();
          }),
      );
      assert.deepEqual(r.flows, [
        { src: 0, dst: 1, sizeBytes: 1000, startNs: 20 * MS, endNs: 24 * MS, tag: tag("client->web") },
        { src: 1, dst: 0, sizeBytes: 5000, startNs: c.startNs, endNs: 40 * MS, tag: tag("web->client") },
      ]);
      assert.deepEqual(seen, c.transferNs ? [[1, 0, 5000]] : []);
    });

  it("with the marks: sizes from the sequence numbers (retransmissions once), the server's send times from its TCP timestamps", () => {
    const [isnC, isnS, tsval] = [1_000_000, 5_000_000, 7_000_000];
    const mark = (value: number, atMs: number | null, order: number) => ({
      value,
      atHrNs: atMs === null ? null : atMs * MS,
      order,
    });
    const r = run([
      entry(0, 1, 8080, {
        // conntrack's counters: every segment retransmitted once (twice the payload)
        orig: { packets: 8, bytes: 52 * 8 + 8 + 2 * (16 + 1000) },
        reply: { packets: 10, bytes: 52 * 10 + 8 + 2 * (25 + 5000) },
        marks: {
          [MARK.syn]: mark(isnC, 10, 0),
          [MARK.synAck]: mark(tsval, 12, 1), // sent at 11 ms (half the handshake)
          [MARK.established]: mark(isnS + 1, 12, 2),
          [MARK.answered]: mark(tsval + 3, 19, 3), // sent at 14 ms, arrived at 19 ms
          [MARK.responding]: mark(tsval + 5, 19.5, 4), // sent at 16 ms
          [MARK.finOrig]: mark(isnS + 1 + 25 + 5000, 20, 5), // the client's FIN acks the whole reply
          [MARK.finReply]: mark(isnC + 1 + 16 + 1000 + 1, null, 6), // the server's acks the request and that FIN
        },
      }),
    ]);
    assert.deepEqual(r.flows, [
      { src: 0, dst: 1, sizeBytes: 1000, startNs: 20 * MS, endNs: 28 * MS, tag: tag("client->web") },
      { src: 1, dst: 0, sizeBytes: 5000, startNs: 32 * MS, endNs: 40 * MS, tag: tag("web->client") },
    ]);
    assert.deepEqual([r.sequenced, r.answered], [1, 1]);
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
    {
      what: "a connection cut mid-response (still open): its acknowledged request only",
      entries: [
        entry(0, 1, 8080, {
          state: "ESTABLISHED",
          closedHrNs: null,
          reply: { packets: 3, bytes: 52 * 3 + 8 + 25 + 2000 },
        }),
      ],
      want: { flows: 1, other: 0, unread: 0, unfinished: 1 },
    },
    {
      what: "a connection cut before the server answered: nothing",
      entries: [
        entry(0, 1, 8080, { state: "ESTABLISHED", closedHrNs: null, reply: { packets: 1, bytes: 52 + 8 } }),
      ],
      want: { flows: 0, other: 0, unread: 0, unfinished: 1 },
    },
    {
      what: "a connection closed after the agents' deadline: its request only",
      entries: [entry(0, 1, 8080, { closedHrNs: 40 * MS })],
      want: { flows: 1, other: 0, unread: 0, unfinished: 1 },
    },
    {
      what: "a request never answered, gone before the listing: unfinished, not unread",
      entries: [entry(0, 1, 8080, { repliedHrNs: null, closedHrNs: null, orig: null, reply: null })],
      want: { flows: 0, other: 0, unread: 0, unfinished: 1 },
    },
    {
      what: "a connection reset without a FIN: not finished",
      entries: [entry(0, 1, 8080, { state: "CLOSE", closedHrNs: null })],
      want: { flows: 1, other: 0, unread: 0, unfinished: 1 },
    },
  ];
  for (const c of tally)
    it(`counts ${c.what}`, () => {
      const r = run(c.entries);
      assert.deepEqual(
        { flows: r.flows.length, other: r.other, unread: r.unread, unfinished: r.unfinished },
        { unfinished: 0, ...c.want },
      );
    });
});
