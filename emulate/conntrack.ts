/**
 * Connections as the kernel's connection tracker saw them (conntrack(8), netfilter's nf_conntrack): a second,
 * independent record of the emulated applications' traffic beside the agents' own flow reports, for learning
 * personas from what a real host can observe (issue 14: "from the agents, link counters and conntrack").
 *
 * Per node namespace, while the recorder runs:
 * - `net.netfilter.nf_conntrack_acct = 1` and the timeouts raised to an hour ({@link RECORDER_SYSCTLS}; per-namespace
 *   sysctls, the old values put back at stop) so entries carry packet and byte counters and none expires in the run;
 * - an nft table `inet <prefix>_ct` at raw priority ({@link conntrackNft}): forwarded packets are `notrack` (a node
 *   records only connections it originates or terminates, not those it routes), and, given the applications' server
 *   ports ({@link trackedPorts}), so is everything but the client half of an application connection (requests to
 *   those ports out, replies from them in): the traffic matrix's connections, the servers' halves, VXLAN and relay
 *   datagrams create no entry and no event; and two chains after conntrack's hook that write sequence numbers and
 *   codes into the connection mark ({@link MARK}), each write an event: when the server answered and started its
 *   response, and the bytes each side received in order;
 * - one `conntrack -E` reader at real-time priority ({@link conntrackReaderArgv}: why) writing to a file in
 *   /dev/shm (read at stop; through a pipe, a busy controller made the readers fall behind): a
 *   connection's start (NEW), its first reply and close (UPDATE to SYN_RECV/ESTABLISHED, to FIN_WAIT .. TIME_WAIT)
 *   and, for entries that expire during the run, its counters (DESTROY);
 * - at stop, `conntrack -L -o extended,id` while the readers still run: the counters of the entries still there (TCP
 *   waits 120 s in TIME_WAIT, so a run's connections are mostly still listed); the dump reaps the expired ones, whose
 *   DESTROY events carry theirs.
 * Only entries whose original source is the namespace's own address are kept: each connection once, at its client.
 *
 * Finished transfers ({@link finished}): the agents record a flow once its last byte arrived, before their
 * deadline; conntrack's counters also hold connections cut at the run's end, or reset. A TCP connection counts
 * when it was closed by a FIN before the deadline; a cut one gives its request (when the server answered) and no
 * response.
 *
 * Times: conntrack stamps events with the wall clock (CLOCK_REALTIME, microseconds) as it reads them; they are
 * mapped onto process.hrtime through one reading of both clocks at start. Bytes: a TCP connection closed by both
 * FINs gives each direction's payload from the marks' sequence and ack numbers ({@link sequencedPayload}: what the
 * receiver got in order, each byte once, within 7 bytes). Otherwise (UDP, a cut connection, a sink node) they come
 * from conntrack's counters, IP bytes (headers included; a GSO super-packet counts as one packet):
 * {@link payloadBytes} estimates the payload, {@link messageBytes} the agents' messages; there retransmitted bytes
 * count again: at the client, the request's retransmissions as sent and the response's duplicates as received
 * (spurious retransmissions: a segment whose ACK came after the sender's RTO), 1.3-1.4x on a loaded machine.
 *
 * Needs the conntrack tool (Debian package `conntrack`) and nftables; {@link ConntrackRecorder.start} says so
 * otherwise.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync } from "node:fs";
import { endianness } from "node:os";
import { join } from "node:path";
import {
  type AppWorkloadSpec,
  applicationPairs,
  applicationTagBase,
  CLIENT_APP,
  exchangeServers,
} from "../models/workload/applications.ts";
import type { ConnectionFlows } from "../sim/engine/records.ts";
import { netnsExecArgv } from "./commands.ts";
import { EmulationError } from "./errors.ts";
import { nftIdent } from "./nft.ts";
import type { Plan } from "./plan.ts";
import type { Runner } from "./runner.ts";

/** One direction's counters of a connection: packets and IP bytes. */
export interface ConntrackCounters {
  packets: number;
  bytes: number;
}

/** One connection, at the node that opened it. Times are process.hrtime ns (bigint as number). */
export interface ConntrackEntry {
  /** Node index (plan order) of the namespace that recorded it: the client. */
  node: number;
  /** conntrack's id of the entry (unique among the namespace's live entries). */
  id: string;
  protocol: "tcp" | "udp";
  src: string;
  dst: string;
  sport: number;
  dport: number;
  /** NEW event, or null when the entry was older than the recorder. */
  startHrNs: number | null;
  /** First UPDATE that saw the reply direction (TCP: SYN_RECV or ESTABLISHED; UDP: the first reply), or null. */
  repliedHrNs: number | null;
  /** First UPDATE to a TCP state after a FIN (FIN_WAIT .. TIME_WAIT), or null (none seen; UDP has none). */
  closedHrNs: number | null;
  /** Last event of any kind, or null. */
  lastHrNs: number | null;
  /** TCP state last seen (an event's or the final listing's), or null (UDP, or never seen with one). */
  state: string | null;
  /** Client -> server and server -> client counters, or null when never read (no DESTROY, gone before the list). */
  orig: ConntrackCounters | null;
  reply: ConntrackCounters | null;
  /**
   * The connection mark's codes ({@link MARK}) as first seen, each with its number and event time (null: from the
   * final listing): the packets' sequence and ack numbers and when the server answered and started its response.
   * Absent when the namespace set no marks (a sink node) or no event carried one.
   */
  marks?: Partial<Record<MarkCode, MarkEvent>>;
}

/** One code of a connection's mark as first seen ({@link ConntrackEntry.marks}). */
export interface MarkEvent {
  /** The TCP sequence or ack number the packet carried, its low 3 bits cleared (0 for UDP's codes). */
  value: number;
  /** When the event came (process.hrtime ns), or null when read from the final listing. */
  atHrNs: number | null;
  /** Its rank among the entry's mark events (0, 1, ...): which of two codes came first. */
  order: number;
}

/** A parsed line of `conntrack -E` or `conntrack -L` output with `-o extended,id` (and `timestamp` for -E). */
export interface ConntrackLine {
  /** Event time, wall clock microseconds since the epoch (events only), or null. */
  atUs: number | null;
  /** NEW, UPDATE, DESTROY (events) or null (a listed entry). */
  event: "NEW" | "UPDATE" | "DESTROY" | null;
  protocol: string;
  /** TCP state (SYN_SENT, ESTABLISHED, TIME_WAIT, ...), or null for protocols without one. */
  state: string | null;
  id: string;
  src: string;
  dst: string;
  sport: number;
  dport: number;
  orig: ConntrackCounters | null;
  reply: ConntrackCounters | null;
  /** Whether the reply direction has been seen (no [UNREPLIED] flag). */
  replied: boolean;
  /** The connection mark as printed (a host-order unsigned 32-bit integer), or null when absent. */
  mark: number | null;
}

/** TCP states after a FIN (an orderly close); CLOSE (after a reset, or the end of TIME_WAIT) is not one. */
const FIN_STATES = new Set(["FIN_WAIT", "CLOSE_WAIT", "LAST_ACK", "TIME_WAIT"]);

/**
 * Parses one line of conntrack's output (see {@link ConntrackLine}); null for anything else (its summary line,
 * protocols without ports, a line without an id).
 */
export function parseConntrackLine(line: string): ConntrackLine | null {
  const m = /^\s*(?:\[(\d+)\.(\d{6})\]\s+)?(?:\[(NEW|UPDATE|DESTROY)\]\s+)?(.*)$/.exec(line);
  if (!m) return null;
  const tokens = m[4]!.trim().split(/\s+/);
  // ipv4 2 tcp 6 <timeout> [<state>] key=value ... ; a listed entry has the same shape without the prefixes.
  if (tokens[0] !== "ipv4" || tokens.length < 5) return null;
  const protocol = tokens[2]!;
  let i = 4;
  while (i < tokens.length && /^\d+$/.test(tokens[i]!)) i++; // the timeout (absent in DESTROY events)
  const state = i < tokens.length && /^[A-Z_]+$/.test(tokens[i]!) ? tokens[i]! : null;
  const dirs: Record<string, string>[] = [];
  let id = "";
  let replied = true;
  let mark: number | null = null;
  for (const t of tokens.slice(i)) {
    if (t === "[UNREPLIED]") replied = false;
    const eq = t.indexOf("=");
    if (eq < 0) continue;
    const [k, v] = [t.slice(0, eq), t.slice(eq + 1)];
    if (k === "id") id = v;
    if (k === "mark") mark = Number(v);
    if (k === "src") dirs.push({});
    const d = dirs.at(-1);
    if (d && !(k in d)) d[k] = v;
  }
  const [o, r] = dirs;
  if (!o || !id || o.sport === undefined || o.dport === undefined) return null;
  const counters = (d: Record<string, string> | undefined): ConntrackCounters | null =>
    d?.packets !== undefined && d.bytes !== undefined
      ? { packets: Number(d.packets), bytes: Number(d.bytes) }
      : null;
  return {
    atUs: m[1] === undefined ? null : Number(m[1]) * 1e6 + Number(m[2]),
    event: (m[3] as ConntrackLine["event"] | undefined) ?? null,
    protocol,
    state: protocol === "tcp" ? state : null,
    id,
    src: o.src!,
    dst: o.dst!,
    sport: Number(o.sport),
    dport: Number(o.dport),
    orig: counters(o),
    reply: counters(r),
    replied,
    mark,
  };
}

/** Per-packet header bytes conntrack counts beyond the payload: IPv4 + TCP with timestamps (20 + 32), or + UDP (20 + 8). */
const HEADER_BYTES = { tcp: 52, udp: 28 } as const;
/** A SYN's (and SYN-ACK's) options beyond the timestamps: MSS, SACK-permitted, window scale (8 bytes). */
const SYN_EXTRA_BYTES = 8;

/**
 * Payload bytes of one direction, estimated from its IP bytes: each packet's headers subtracted (TCP with
 * timestamps, as Linux sends by default), and the SYN's extra options. Never below 0.
 */
export function payloadBytes(protocol: "tcp" | "udp", c: ConntrackCounters): number {
  const extra = protocol === "tcp" ? SYN_EXTRA_BYTES : 0;
  return Math.max(0, c.bytes - c.packets * HEADER_BYTES[protocol] - extra);
}

/**
 * The codes the tracking table writes into the low 3 bits of an application connection's mark (ct mark), each
 * with, for TCP, a number from the packet in the other 29 bits (its low 3 bits cleared). Each write changes the
 * mark, and a changed mark is an UPDATE event (netfilter's IPCT_MARK) that carries it; so the events give, besides
 * the kernel's state changes, in a TCP connection's order:
 * - `syn`: the client's SYN, its initial sequence number;
 * - `synAck`: the server's SYN-ACK, its TCP timestamp (TSval, RFC 7323: the sender's clock in ms, Linux's
 *   tcp_clock_ms plus a per-connection offset), the reference for the later TSvals;
 * - `established`: the client's ACK of the handshake, its ack number (the server's initial sequence number + 1);
 * - `answered`: the first reply packet with payload (the agents' 1-byte ack; a real RPC's first response bytes):
 *   its TSval, when the server sent it, having the whole request; for UDP, the first reply datagram (no number);
 * - `responding`: the next reply packet with payload: its TSval, when the server started its response; for UDP,
 *   the next reply datagram;
 * - `finOrig`, `finReply`: the ack numbers of the client's FIN and of the server's FIN: how many bytes each side
 *   had received in order when it closed (retransmitted and duplicate segments count once, as the receiving
 *   application read them; conntrack's byte counters count every copy).
 * With 3 bits less, a byte count from two numbers is off by at most 7 bytes, and by 0 on average (the initial
 * sequence numbers are random), and a time from two TSvals by at most 7 ms.
 */
export const MARK = {
  syn: 1,
  synAck: 2,
  answered: 3,
  responding: 4,
  finOrig: 5,
  finReply: 6,
  established: 7,
} as const;
/** A {@link MARK} code. */
export type MarkCode = (typeof MARK)[keyof typeof MARK];

/**
 * nftables (1.0.6) copies `tcp sequence` and `tcp ackseq` into the mark as the packet's bytes, in network order, and
 * applies the statement's `and`/`or` constants in that order too, but matches `ct mark` as a host-order integer: on
 * a little-endian host the code bits are the top byte of the mark conntrack prints.
 */
const LITTLE_ENDIAN = endianness() === "LE";
/** The host-order mark bits of `code` (the low 3 bits of the network-order number). */
const codeBits = (code: number) => (LITTLE_ENDIAN ? (code << 24) >>> 0 : code) >>> 0;
const CODE_MASK = codeBits(7);
const hex = (x: number) => `0x${x.toString(16).padStart(8, "0")}`;

/** A printed mark as {@link MARK} code and number (the inverse of the tracking table's writes). */
export function decodeMark(mark: number): { code: number; value: number } {
  const v = LITTLE_ENDIAN
    ? (((mark & 0xff) << 24) | ((mark & 0xff00) << 8) | ((mark >>> 8) & 0xff00) | (mark >>> 24)) >>> 0
    : mark >>> 0;
  return { code: v & 7, value: (v & ~7) >>> 0 };
}

/** The largest TCP data offset (words): 60 header bytes. */
const MAX_DOFF = 15;

/**
 * The mark rules of a namespace's tracking table ({@link MARK}): chains at filter priority after conntrack's hook
 * (output for the client's packets, input for the server's replies), so that the packet's entry exists. A reply
 * carries payload when its IP length exceeds the IP (20 bytes) and TCP (`tcp doff` words) headers; nft compares
 * no two fields, hence one rule per data offset. The later code's rules come first, so that one packet moves the
 * mark one code on.
 */
function markRules(table: string, ports: TrackedPorts): string[] {
  const set = (field: string, code: number) => `ct mark set tcp ${field} and 0xfffffff8 or ${code}`;
  const is = (code: number, op = "==") => `ct mark & ${hex(CODE_MASK)} ${op} ${hex(codeBits(code))}`;
  const tcpOut = `add rule inet ${table} mark-out meta l4proto tcp ct direction original`;
  const tcpIn = `add rule inet ${table} mark-in meta l4proto tcp ct direction reply`;
  const udpIn = `add rule inet ${table} mark-in meta l4proto udp ct direction reply`;
  const tsval = "option timestamp tsval";
  const payload = (from: number, to: number) =>
    Array.from({ length: MAX_DOFF - 4 }, (_, k) => k + 5).map(
      (doff) => `${tcpIn} ${is(from)} tcp doff ${doff} ip length > ${20 + 4 * doff} ${set(tsval, to)}`,
    );
  // The handshake's ACK: after the SYN-ACK (code 2, or 1 when it carried no timestamp), no SYN, FIN or RST.
  const established = (from: number) =>
    `${tcpOut} ${is(from)} tcp flags & (syn | fin | rst) == 0x0 ${set("ackseq", MARK.established)}`;
  const tcp = ports.tcp.length > 0;
  const udp = ports.udp.length > 0;
  return [
    `add chain inet ${table} mark-out { type filter hook output priority 0; policy accept; }`,
    ...(tcp
      ? [
          `${tcpOut} tcp flags & (syn | ack) == syn ${set("sequence", MARK.syn)}`,
          established(MARK.synAck),
          established(MARK.syn),
          `${tcpOut} tcp flags & fin == fin ${is(MARK.finOrig, "!=")} ${set("ackseq", MARK.finOrig)}`,
        ]
      : []),
    `add chain inet ${table} mark-in { type filter hook input priority 0; policy accept; }`,
    ...(tcp
      ? [
          `${tcpIn} tcp flags & (syn | ack) == syn | ack ${set(tsval, MARK.synAck)}`,
          `${tcpIn} tcp flags & fin == fin ${is(MARK.finReply, "!=")} ${set("ackseq", MARK.finReply)}`,
          ...payload(MARK.answered, MARK.responding),
          ...payload(MARK.established, MARK.answered),
        ]
      : []),
    ...(udp
      ? [
          `${udpIn} ${is(MARK.answered)} ct mark set ${hex(codeBits(MARK.responding))}`,
          `${udpIn} ${is(0)} ct mark set ${hex(codeBits(MARK.answered))}`,
        ]
      : []),
  ];
}

/** Name of the run's conntrack table in every namespace. */
export function conntrackTable(prefix: string): string {
  return nftIdent(`${prefix}_ct`);
}

/** The application server ports conntrack tracks, per transport protocol (sorted, no repeats). */
export interface TrackedPorts {
  tcp: number[];
  udp: number[];
}

/**
 * The server ports of the applications' request pairs (`ports`: the run state's applicationPorts, port per pair),
 * each under its server application's protocol: what {@link conntrackNft} keeps tracked.
 */
export function trackedPorts(spec: AppWorkloadSpec, ports: Readonly<Record<string, number>>): TrackedPorts {
  const protocolOf = new Map(spec.apps.map((a) => [a.name, a.protocol ?? "tcp"]));
  const out = { tcp: new Set<number>(), udp: new Set<number>() };
  for (const [pair, { server, request }] of exchangeServers(spec)) {
    const port = ports[pair];
    if (request && port !== undefined) out[protocolOf.get(server) ?? "tcp"].add(port);
  }
  const sorted = (x: Set<number>) => [...x].sort((a, b) => a - b);
  return { tcp: sorted(out.tcp), udp: sorted(out.udp) };
}

/**
 * The nft script of a namespace's tracking table (one transaction), raw priority (-300, before conntrack's own
 * hook at -200), so that the kernel creates entries, and sends events, only for what the recorder keeps:
 * - prerouting: forwarded packets are not tracked (a node records what it originates or terminates); with
 *   `ports`, an arriving packet is tracked only when it comes from an application's server port (`th sport`, the
 *   reply half of a connection this node opened) under that port's protocol;
 * - output: with `ports`, a packet is tracked only when it goes to an application's server port (the request
 *   half); the `ct state new` counter keeps a ct expression in the table (it makes the kernel track the
 *   namespace at all).
 * Everything else (the traffic matrix's connections, the servers' halves of application connections, VXLAN and
 * relay datagrams, probes) is `notrack`: no entry, no event. Without `ports` (a sink node, whose replies follow the
 * connection mark emulate/plan.ts's sinkReplyCommands sets on every incoming connection), only forwarded packets
 * go untracked.
 */
export function conntrackNft(table: string, ports?: TrackedPorts): string {
  const keep = (dir: "sport" | "dport", chain: string) =>
    (["tcp", "udp"] as const)
      .filter((p) => ports![p].length > 0)
      .map(
        (p) =>
          `add rule inet ${table} ${chain} meta l4proto ${p} th ${dir} { ${ports![p].join(", ")} } return`,
      );
  return [
    `add table inet ${table}`,
    `add chain inet ${table} pre { type filter hook prerouting priority -300; policy accept; }`,
    `add rule inet ${table} pre fib daddr type != local notrack`,
    ...(ports ? [...keep("sport", "pre"), `add rule inet ${table} pre notrack`] : []),
    `add chain inet ${table} out { type filter hook output priority -300; policy accept; }`,
    `add rule inet ${table} out ct state new counter`,
    ...(ports
      ? [...keep("dport", "out"), `add rule inet ${table} out notrack`, ...markRules(table, ports)]
      : []),
    "",
  ].join("\n");
}

const ACCT = "net.netfilter.nf_conntrack_acct";
/**
 * Per-namespace sysctls the recorder sets (and puts back at stop): byte and packet counters on, and every timeout a
 * run's entry could reach before the final listing raised to an hour, so that no entry expires during the run.
 * An expired entry is gone from the listing, and the kernel reaps expired entries in batches (its garbage
 * collector, or a dump that meets them), each with a DESTROY event: thousands at once, more than the event
 * socket's buffer holds however promptly its reader runs.
 */
export const RECORDER_SYSCTLS: Readonly<Record<string, number>> = {
  [ACCT]: 1,
  ...Object.fromEntries(
    [
      "udp_timeout",
      "udp_timeout_stream",
      "tcp_timeout_syn_sent",
      "tcp_timeout_syn_recv",
      "tcp_timeout_fin_wait",
      "tcp_timeout_close_wait",
      "tcp_timeout_last_ack",
      "tcp_timeout_time_wait",
      "tcp_timeout_close",
    ].map((k) => [`net.netfilter.nf_conntrack_${k}`, 3600]),
  ),
};
/** A tmpfs every Linux system mounts (systemd, Debian): the event files' home when present. */
const SHM = "/dev/shm";

/** The node of every address of the run: each node's own (on lo) and its link ends'. */
function addressNodes(plan: Plan): Map<string, number> {
  const out = new Map<string, number>();
  for (const n of plan.nodes) out.set(n.address, n.index);
  for (const l of plan.links) for (const e of [l.a, l.b]) out.set(e.address, e.node);
  return out;
}

/** Real-time priority (SCHED_FIFO, 1..99) of the event readers: above every ordinary process, below the kernel's. */
const READER_PRIORITY = 10;

/**
 * The argv of one namespace's event reader: `conntrack -E` for NEW, UPDATE and DESTROY events with wall-clock
 * stamps, extended output and entry ids, under SCHED_FIFO (`chrt -f`). The kernel delivers events to the reader's
 * netlink socket, whose buffer is net.core.rmem_default (212,992 bytes here; a few hundred events); a reader not
 * scheduled for a moment on a loaded machine overflows it (ENOBUFS) and events are lost. conntrack's own
 * `--buffer-size` does not help in event mode: conntrack-tools 1.4.7 applies it to its request socket, not to the
 * event socket it reads (src/conntrack.c since "conntrack: unbreak event mode", 2022), and rmem_default is not per
 * namespace. A real-time reader runs as soon as an event arrives (it sleeps in recv between events), so the
 * buffer does not fill.
 */
export function conntrackReaderArgv(conntrack: string, netns: string): string[] {
  return [
    "chrt",
    "-f",
    String(READER_PRIORITY),
    ...netnsExecArgv(netns, [conntrack, "-E", "-e", "NEW,UPDATE,DESTROY", "-o", "timestamp,extended,id"]),
  ];
}

/**
 * Records the connections every node of a run opens (see the module doc); {@link stop} ends it, removes what it
 * added and returns the entries.
 */
export class ConntrackRecorder {
  private readonly entries = new Map<string, ConntrackEntry>();
  /** Whether the kernel dropped events for a reader that fell behind (conntrack warns "We have hit ENOBUFS"). */
  eventsLost = false;
  /** How many times a reader hit ENOBUFS (each warning is one overrun: one or more events lost). */
  overruns = 0;
  private readonly procs: ChildProcess[] = [];
  private readonly files: { node: number; file: string }[] = [];
  /** Per node, the values of {@link RECORDER_SYSCTLS} before the recorder set them. */
  private readonly oldSysctls: Map<string, string>[] = [];
  /** process.hrtime ns minus wall-clock ns, read once at start. */
  private offsetNs = 0;
  private readonly nodeOf: Map<string, number>;

  private constructor(
    private readonly plan: Plan,
    private readonly runner: Runner,
    private readonly conntrack: string,
    private readonly dir: string,
  ) {
    this.nodeOf = addressNodes(plan);
  }

  /**
   * Starts recording in every node namespace of `plan`.
   * `ports`: the applications' server ports ({@link trackedPorts}): the kernel tracks only connections to them
   * ({@link conntrackNft}; sink nodes excepted); null: every connection a node opens or terminates.
   * @throws EmulationError when the conntrack tool is missing (`conntrack` is null) or a namespace refuses the
   *   sysctl or the table (no nf_conntrack in this kernel).
   */
  static async start(
    plan: Plan,
    runner: Runner,
    conntrack: string | null,
    dir: string,
    ports: TrackedPorts | null = null,
  ): Promise<ConntrackRecorder> {
    if (conntrack === null)
      throw new EmulationError(
        "emulation.conntrack: the conntrack tool is not installed (Debian package conntrack); install it or turn emulation.conntrack off",
      );
    const r = new ConntrackRecorder(plan, runner, conntrack, dir);
    const hr = process.hrtime.bigint();
    const wallNs = BigInt(Math.round((performance.timeOrigin + performance.now()) * 1e6));
    r.offsetNs = Number(hr - wallNs);
    const table = conntrackTable(plan.prefix);
    const sinks = new Set(plan.sinkReplies?.map((r) => r.node));
    for (const n of plan.nodes) {
      const old = new Map<string, string>();
      r.oldSysctls.push(old);
      for (const [key, value] of Object.entries(RECORDER_SYSCTLS)) {
        const was = await runner.run(netnsExecArgv(n.netns, ["sysctl", "-n", key]), { check: false });
        if (was.code === 0) old.set(key, was.stdout.trim());
        await runner.run(netnsExecArgv(n.netns, ["sysctl", "-q", "-w", `${key}=${value}`]));
      }
      await runner.run(netnsExecArgv(n.netns, ["nft", "-f", "-"]), {
        input: conntrackNft(table, ports === null || sinks.has(n.index) ? undefined : ports),
      });
    }
    await Promise.all(plan.nodes.map((n) => r.watch(n.index)));
    return r;
  }

  private eventDir: string | null = null;

  /**
   * Where the readers write: a directory of the run's own in /dev/shm (tmpfs) when there is one, else the work
   * directory. A reader writes every event at once (conntrack flushes per line); on a disk-backed file system a
   * write may block behind other processes' I/O, and a blocked reader loses events as one that is not scheduled.
   */
  private eventsDir(): string {
    this.eventDir ??= existsSync(SHM) ? mkdtempSync(join(SHM, `${this.plan.prefix}-ct-`)) : this.dir;
    return this.eventDir;
  }

  /** Starts `conntrack -E` in node `i`'s namespace; resolves once it is reading events. */
  private watch(i: number): Promise<void> {
    const argv = conntrackReaderArgv(this.conntrack, this.plan.nodes[i]!.netns);
    // Events go to a file, not through a pipe to this (busy) process: a reader blocked on a full pipe stops reading
    // its netlink socket, and the kernel drops events (ENOBUFS).
    const file = join(this.eventsDir(), `conntrack-${i}.events`);
    const fd = openSync(file, "w");
    this.files.push({ node: i, file });
    const p = spawn(argv[0]!, argv.slice(1), { stdio: ["ignore", fd, "pipe"] });
    closeSync(fd);
    this.procs.push(p);
    p.stderr!.setEncoding("utf8");
    p.stderr!.on("data", (d: string) => {
      this.overruns += d.split("ENOBUFS").length - 1;
      if (this.overruns > 0) this.eventsLost = true;
    });
    p.on("error", () => {});
    // conntrack prints nothing until the first event: give it a moment to subscribe.
    return new Promise((resolve) => setTimeout(resolve, 200));
  }

  /** Folds one output line of node `i` into its entry (own connections only). */
  /**
   * `listed`: a line of the final listing, whose mark is set aside there (it is the last one written: it counts
   * after the events, in their order, for a code none of them carried; {@link stop} passes it back as `markOnly`).
   */
  private take(
    i: number,
    line: string,
    listed: { node: number; line: string }[] | null = null,
    markOnly = false,
  ): void {
    const l = parseConntrackLine(line);
    if (!l || (l.protocol !== "tcp" && l.protocol !== "udp")) return;
    if (this.nodeOf.get(l.src) !== i) return;
    const key = `${i} ${l.id} ${l.src}:${l.sport}>${l.dst}:${l.dport}`;
    let e = this.entries.get(key);
    if (!e) {
      e = {
        node: i,
        id: l.id,
        protocol: l.protocol,
        src: l.src,
        dst: l.dst,
        sport: l.sport,
        dport: l.dport,
        startHrNs: null,
        repliedHrNs: null,
        closedHrNs: null,
        lastHrNs: null,
        state: null,
        orig: null,
        reply: null,
      };
      this.entries.set(key, e);
    }
    const at = l.atUs === null ? null : l.atUs * 1000 + this.offsetNs;
    if (at !== null) {
      if (l.event === "NEW") e.startHrNs ??= at;
      if (l.event === "UPDATE" && l.replied) e.repliedHrNs ??= at;
      if (l.state !== null && FIN_STATES.has(l.state)) e.closedHrNs ??= at;
      e.lastHrNs = at;
    }
    if (l.mark !== null && listed) listed.push({ node: i, line });
    else if (l.mark !== null) takeMark(e, l.mark, at);
    if (markOnly) return;
    if (l.state !== null) e.state = l.state;
    if (l.orig) e.orig = l.orig;
    if (l.reply) e.reply = l.reply;
  }

  /**
   * Reads the remaining entries' counters, stops the event readers, removes the table and restores the sysctl.
   * Returns every entry seen, in (node, start) order.
   */
  async stop(): Promise<ConntrackEntry[]> {
    // The listing first, with the readers still running: a dump reaps the entries that expired since the kernel's
    // last garbage-collection pass (TCP 10 s after a reset, UDP 30 s after its last datagram) instead of listing
    // them, and their DESTROY events, with the counters, go to the readers.
    const listed: { node: number; line: string }[] = [];
    for (const n of this.plan.nodes) {
      const r = await this.runner.run(netnsExecArgv(n.netns, [this.conntrack, "-L", "-o", "extended,id"]), {
        check: false,
      });
      for (const line of r.stdout.split("\n")) this.take(n.index, line, listed);
    }
    await new Promise((resolve) => setTimeout(resolve, 200)); // the last events reach the files
    this.stopReaders();
    for (const { node, file } of this.files) {
      for (const line of readFileSync(file, "utf8").split("\n")) this.take(node, line);
      rmSync(file, { force: true });
    }
    for (const { node, line } of listed) this.take(node, line, null, true);
    this.files.length = 0;
    await this.close();
    return [...this.entries.values()].sort(
      (a, b) => a.node - b.node || (a.startHrNs ?? 0) - (b.startHrNs ?? 0) || a.sport - b.sport,
    );
  }

  /** Signals the event readers to exit, once (stop() reads their files after it, close() may follow). */
  private stopReaders(): void {
    for (const p of this.procs) p.kill("SIGTERM");
    this.procs.length = 0;
  }

  /** Stops the readers and removes the table, sysctl change and event files (also after a failure; never throws). */
  async close(): Promise<void> {
    this.stopReaders();
    for (const { file } of this.files) rmSync(file, { force: true });
    this.files.length = 0;
    if (this.eventDir !== null && this.eventDir !== this.dir)
      rmSync(this.eventDir, { recursive: true, force: true });
    this.eventDir = null;
    const table = conntrackTable(this.plan.prefix);
    for (const [k, n] of this.plan.nodes.entries()) {
      await this.runner.run(netnsExecArgv(n.netns, ["nft", "delete", "table", "inet", table]), {
        check: false,
      });
      for (const [key, value] of this.oldSysctls[k] ?? [])
        await this.runner.run(netnsExecArgv(n.netns, ["sysctl", "-q", "-w", `${key}=${value}`]), {
          check: false,
        });
    }
    this.oldSysctls.length = 0;
  }
}

/**
 * Folds a printed mark into `e.marks`: its code's first sighting (an event's, or the final listing's when no event
 * carried that code). Codes outside {@link MARK} (0: no mark written yet) are ignored.
 */
function takeMark(e: ConntrackEntry, mark: number, atHrNs: number | null): void {
  const { code, value } = decodeMark(mark);
  if (code < MARK.syn || code > MARK.established) return;
  e.marks ??= {};
  const c = code as MarkCode;
  if (e.marks[c] !== undefined) return;
  e.marks[c] = { value, atHrNs, order: Object.keys(e.marks).length };
}

/** (a - b) modulo 2^32: the distance from sequence number b on to a. */
const seqDiff = (a: number, b: number) => (((a - b) % 2 ** 32) + 2 ** 32) % 2 ** 32;

/**
 * The payload bytes each side of a TCP connection received in order, from its marks' sequence numbers
 * ({@link MARK}): the server's FIN acknowledged the client's initial sequence number + 1 (the SYN) + the request's
 * payload (+ 1 when the client's FIN came first), the client's FIN the server's initial sequence number + 1 (the
 * handshake's ack number) + the reply's payload (+ 1 when the server's FIN came first). Retransmitted segments
 * count once. Null when a number is missing (no FIN from that side: a cut connection; a sink node's connection,
 * unmarked).
 */
export function sequencedPayload(marks: ConntrackEntry["marks"]): { orig: number; reply: number } | null {
  const m = marks ?? {};
  const [syn, established] = [m[MARK.syn], m[MARK.established]];
  const [finOrig, finReply] = [m[MARK.finOrig], m[MARK.finReply]];
  if (!syn || !established || !finOrig || !finReply) return null;
  const clientFirst = finOrig.order < finReply.order;
  return {
    orig: Math.max(0, seqDiff(finReply.value, syn.value) - 1 - (clientFirst ? 1 : 0)),
    reply: Math.max(0, seqDiff(finOrig.value, established.value) - (clientFirst ? 0 : 1)),
  };
}

/**
 * When the server sent a reply packet whose mark carried its TSval (`answered`, `responding`; hrtime ns), from the
 * SYN-ACK's: the SYN-ACK left the server half a handshake after the client's SYN (between NEW and the SYN-ACK's
 * event), and the server's TCP clock ticks in ms (RFC 7323; Linux: 1 ms). Null without both TSvals or times.
 */
export function serverSentHrNs(
  e: Pick<ConntrackEntry, "startHrNs" | "marks">,
  code: typeof MARK.answered | typeof MARK.responding,
): number | null {
  const [ref, at] = [e.marks?.[MARK.synAck], e.marks?.[code]];
  if (!ref || !at || ref.atHrNs === null || e.startHrNs === null) return null;
  const synAckSentHrNs = (e.startHrNs + ref.atHrNs) / 2;
  const ms = seqDiff(at.value, ref.value);
  return ms < 2 ** 31 ? synAckSentHrNs + ms * 1e6 : null;
}

/**
 * The traffic agents' framing (emulate/agent.ts's exchange protocol), which conntrack counts and the flows' sizes do
 * not: a request carries a 16-byte header (per datagram for UDP); a TCP server answers it with a 1-byte ack and
 * sends its response after a 24-byte header; a UDP server acks with an 8-byte datagram and sends each response
 * datagram with a 24-byte header.
 */
export const AGENT_FRAMING = { requestHeader: 16, tcpAck: 1, udpAck: 8, responseHeader: 24 } as const;

/**
 * The message bytes of one direction of an agents' exchange: {@link payloadBytes} less {@link AGENT_FRAMING}
 * (`orig`: the request; else the response). Never below 0.
 */
export function messageBytes(protocol: "tcp" | "udp", c: ConntrackCounters, orig: boolean): number {
  const f = AGENT_FRAMING;
  if (protocol === "tcp") return tcpMessageBytes(payloadBytes("tcp", c), orig);
  const framing = orig
    ? c.packets * f.requestHeader
    : f.udpAck + Math.max(0, c.packets - 1) * f.responseHeader;
  return Math.max(0, payloadBytes("udp", c) - framing);
}

/** The message bytes of a TCP exchange's direction from its payload bytes (`orig`: the request): less {@link AGENT_FRAMING}. */
export function tcpMessageBytes(payload: number, orig: boolean): number {
  const f = AGENT_FRAMING;
  return Math.max(0, payload - (orig ? f.requestHeader : f.tcpAck + f.responseHeader));
}

/**
 * Whether a connection's transfer finished by `untilHrNs` (process.hrtime ns; the agents' deadline, after which
 * they record no flow): TCP, it was closed by a FIN (FIN_WAIT .. TIME_WAIT) by then (a connection reset without
 * one, or still open when the run ended, was cut); UDP (no state), its reply direction carried more than the
 * server's ack (a response datagram arrived) and the reply came by then.
 */
export function finished(
  e: Pick<ConntrackEntry, "protocol" | "state" | "reply" | "closedHrNs" | "repliedHrNs" | "lastHrNs">,
  untilHrNs = Number.POSITIVE_INFINITY,
): boolean {
  if (e.protocol === "udp") return (e.reply?.packets ?? 0) > 1 && (e.repliedHrNs ?? 0) <= untilHrNs;
  // A FIN state in the final listing whose event went missing: closed at an unknown time, no later than the last event.
  const at = e.closedHrNs ?? (e.state !== null && FIN_STATES.has(e.state) ? (e.lastHrNs ?? 0) : null);
  return at !== null && at <= untilHrNs;
}

/** What maps conntrack entries onto application flows. */
export interface ConnectionFlowContext {
  plan: Plan;
  applications: AppWorkloadSpec;
  /** Port per application pair (the run state's applicationPorts). */
  ports: Readonly<Record<string, number>>;
  /** The agents' epoch (process.hrtime ns) and the time compression: simulated ns = (hr - epoch) x c. */
  epoch: bigint;
  timeCompression: number;
  /** The recorder's {@link ConntrackRecorder.eventsLost}. */
  eventsLost: boolean;
  /**
   * The agents' deadline, simulated ns (the emulated window plus the drain): transfers that finish later are cut,
   * as the agents record no flow after it. @default no deadline
   */
  untilNs?: number;
  /**
   * A response's transfer time, simulated ns (the engine: the ideal FCT over the topology, sim/substrate/
   * ideal-fct.ts), from server node to client node (indices) for its bytes. For a connection without the mark of
   * its response's first payload ({@link MARK}: a sink node's, or the server's answer and response in one segment)
   * the response starts that long before its end (no earlier than the request's end).
   * @default none: the response starts at the request's end
   */
  transferNs?: (server: number, client: number, bytes: number) => number;
}

/** A request's or response's size and bounds (simulated ns). */
interface Span {
  sizeBytes: number;
  startNs: number;
  endNs: number;
}

/**
 * One read connection's request and response (see {@link connectionFlows}); `sim` maps hrtime ns to simulated ns,
 * `transferNs` gives a response's ideal transfer time. `sequenced`: its bytes came from sequence numbers;
 * `answered`: its request's end from the server's first payload ({@link MARK}).
 */
function exchangeFlows(
  e: ConntrackEntry,
  done: boolean,
  sim: (hrNs: number) => number,
  transferNs: ((bytes: number) => number) | undefined,
): { request: Span | null; response: Span | null; sequenced: boolean; answered: boolean } {
  // A read entry: its start and both counters are there (connectionFlows counts the others as unread).
  const [startHrNs, orig, reply] = [e.startHrNs ?? 0, e.orig!, e.reply!];
  const m = e.marks ?? {};
  const start = sim(startHrNs);
  const answeredAt =
    e.protocol === "tcp" ? serverSentHrNs(e, MARK.answered) : (m[MARK.answered]?.atHrNs ?? null);
  const replied = Math.max(start + 1, sim(answeredAt ?? e.repliedHrNs ?? startHrNs));
  const seq = e.protocol === "tcp" ? sequencedPayload(m) : null;
  const requestBytes = seq ? tcpMessageBytes(seq.orig, true) : messageBytes(e.protocol, orig, true);
  const response = seq ? tcpMessageBytes(seq.reply, false) : messageBytes(e.protocol, reply, false);
  // A cut connection's request counts once the server answered it (reply bytes), its response does not.
  const answered = done || response > 0 || (e.protocol === "tcp" && payloadBytes("tcp", reply) > 0);
  const out = {
    request: answered ? { sizeBytes: requestBytes, startNs: start, endNs: replied } : null,
    response: null as Span | null,
    sequenced: seq !== null,
    answered: answeredAt !== null,
  };
  if (!done || response <= 0) return out;
  const end = Math.max(replied + 1, sim(e.closedHrNs ?? e.lastHrNs ?? startHrNs));
  const respondingAt =
    e.protocol === "tcp" ? serverSentHrNs(e, MARK.responding) : (m[MARK.responding]?.atHrNs ?? null);
  const transfer = respondingAt === null ? transferNs?.(response) : end - sim(respondingAt);
  out.response = {
    sizeBytes: response,
    startNs: transfer === undefined ? replied : Math.min(end - 1, Math.max(replied, end - transfer)),
    endNs: end,
  };
  return out;
}

/**
 * Each application connection as its exchange's two flows: the request (client -> server, the original
 * direction's payload, from NEW to the server's first payload ({@link MARK} `answered`; without it the first reply,
 * the handshake's) and the response (server -> client, the reply direction's payload, from its first payload
 * (`responding`; without it one transfer time before its end, {@link ConnectionFlowContext.transferNs}), to the
 * close, or to the last event for UDP). Sizes from the sequence numbers where both FINs carried them. The pair is the request pair
 * "X->Y" (models/workload/applications.ts, {@link exchangeServers}) whose port is the connection's destination port,
 * whose server Y has an instance at the destination node and whose caller X has one at the client node (X =
 * "client": the node is one of Y's entry clients); the response is tagged "Y->X". Tags are
 * `applicationTagBase(N) + index` in {@link applicationPairs}, as the engines tag flows. Times in simulated ns.
 */
export function connectionFlows(
  entries: readonly ConntrackEntry[],
  ctx: ConnectionFlowContext,
): ConnectionFlows {
  const { plan, applications: spec } = ctx;
  const pairs = applicationPairs(spec);
  const tagBase = applicationTagBase(plan.nodes.length);
  const tagOf = new Map(pairs.map((p, k) => [p, tagBase + k]));
  const nodeOf = addressNodes(plan);
  const indexOf = new Map(plan.nodes.map((n) => [n.id, n.index]));
  const instances = new Map(
    spec.apps.map((a) => [a.name, new Set(a.instances.map((id) => indexOf.get(id)))]),
  );
  const clients = new Map<string, Set<number | undefined>>();
  for (const e of spec.entries)
    for (const c of e.clients ?? []) {
      const s = clients.get(e.app) ?? new Set();
      s.add(indexOf.get(c));
      clients.set(e.app, s);
    }
  const requests = [...exchangeServers(spec)].filter(([, s]) => s.request).map(([p]) => p);
  const out: ConnectionFlows = {
    flows: [],
    other: 0,
    unread: 0,
    unfinished: 0,
    ambiguous: 0,
    sequenced: 0,
    answered: 0,
    eventsLost: ctx.eventsLost,
  };
  const sim = (hr: number) => Math.round((hr - Number(ctx.epoch)) * ctx.timeCompression);
  const untilHr =
    ctx.untilNs === undefined
      ? Number.POSITIVE_INFINITY
      : Number(ctx.epoch) + ctx.untilNs / ctx.timeCompression;
  for (const e of entries) {
    const server = nodeOf.get(e.dst);
    const found = requests.filter((p) => {
      const [x, y] = p.split("->") as [string, string];
      if (ctx.ports[p] !== e.dport || server === undefined || !instances.get(y)?.has(server)) return false;
      return (x === CLIENT_APP ? clients.get(y) : instances.get(x))?.has(e.node) ?? false;
    });
    if (found.length === 0) {
      out.other++;
      continue;
    }
    if (found.length > 1) out.ambiguous++;
    if (e.startHrNs !== null && e.repliedHrNs === null && e.reply === null) {
      out.unfinished++; // never answered (and gone before the listing): no flow, as for the agents
      continue;
    }
    if (e.startHrNs === null || e.orig === null || e.reply === null || server === undefined) {
      out.unread++;
      continue;
    }
    const [x, y] = found[0]!.split("->") as [string, string];
    const done = finished(e, untilHr);
    if (!done) out.unfinished++;
    const f = exchangeFlows(
      e,
      done,
      sim,
      ctx.transferNs && ((bytes) => ctx.transferNs!(server, e.node, bytes)),
    );
    out.sequenced! += f.sequenced ? 1 : 0;
    out.answered! += f.answered ? 1 : 0;
    if (f.request) out.flows.push({ src: e.node, dst: server, ...f.request, tag: tagOf.get(`${x}->${y}`)! });
    if (f.response)
      out.flows.push({ src: server, dst: e.node, ...f.response, tag: tagOf.get(`${y}->${x}`)! });
  }
  return out;
}
