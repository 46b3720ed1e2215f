/**
 * Commands are data: pure functions build the argument vectors of `ip`, `tc`, `bridge` and `sysctl`, and the
 * text of their `-batch` files. Nothing here runs anything (see runner.ts) and nothing builds a shell string.
 *
 * A {@link Cmd} is the argv of one operation *without* the tool and its global options (e.g.
 * `["link", "set", "dev", "tc1a2b3c-e0a", "up"]`); {@link ipArgv} and friends prefix the tool and the namespace,
 * {@link batchText} joins many into one batch file (one line each). Every batch argument is checked: batch files split
 * lines on whitespace and treat quotes and `#` specially, so such characters are refused there (an argv, run
 * without a shell, may hold them).
 *
 * Rates are bits/s and are written with tc's `bit` unit; sizes are bytes.
 */
import { EmulationError } from "./errors.ts";

export type Cmd = readonly string[];
export type Tool = "ip" | "tc" | "bridge";

const SAFE_ARG = /^[^\s"'#\\]+$/;

function checkArgs(cmd: Cmd): Cmd {
  for (const a of cmd) {
    if (!SAFE_ARG.test(a)) throw new EmulationError(`unsafe command argument ${JSON.stringify(a)}`, cmd);
  }
  return cmd;
}

function int(n: number, what: string, min = 0): string {
  if (!Number.isSafeInteger(n) || n < min)
    throw new EmulationError(`${what}: expected an integer >= ${min}, got ${n}`);
  return String(n);
}

/** `tool [-n ns] args...`; `ns` undefined means the caller's namespace (root: only for `netns` commands). */
export function toolArgv(tool: Tool, cmd: Cmd, ns?: string): string[] {
  return [tool, ...(ns === undefined ? [] : ["-n", ns]), ...cmd];
}

export const ipArgv = (cmd: Cmd, ns?: string): string[] => toolArgv("ip", cmd, ns);
export const tcArgv = (cmd: Cmd, ns?: string): string[] => toolArgv("tc", cmd, ns);

/** `tool [-n ns] -batch -` (the batch text goes to stdin). */
export function batchArgv(tool: Tool, ns?: string): string[] {
  return [tool, ...(ns === undefined ? [] : ["-n", ns]), "-batch", "-"];
}

/** The content of a `-batch` file: one command per line. */
export function batchText(cmds: readonly Cmd[]): string {
  return cmds.map((c) => `${checkArgs(c).join(" ")}\n`).join("");
}

// --- namespaces ------------------------------------------------------------------------------------------------

export const netnsAdd = (ns: string): Cmd => ["netns", "add", ns];
export const netnsDel = (ns: string): Cmd => ["netns", "del", ns];
export const netnsList = (): Cmd => ["netns", "list"];
export const netnsPids = (ns: string): Cmd => ["netns", "pids", ns];

/** `ip netns exec <ns> argv...`: runs a program inside a namespace (no shell). */
export function netnsExecArgv(ns: string, argv: readonly string[]): string[] {
  if (argv.length === 0) throw new EmulationError(`netns exec ${ns}: empty command`);
  return ["ip", "netns", "exec", ns, ...argv];
}

/** Kernel settings every emulated node gets: IPv4 forwarding on, IPv6 off (no DAD, no router solicitations). */
export const NODE_SYSCTLS: readonly string[] = [
  "net.ipv4.ip_forward=1",
  "net.ipv6.conf.all.disable_ipv6=1",
  "net.ipv6.conf.default.disable_ipv6=1",
];

/** `ip netns exec <ns> sysctl -q -w k=v...`: sysctl inside the namespace (its /proc/sys/net is the namespace's). */
export function sysctlArgv(ns: string, settings: readonly string[] = NODE_SYSCTLS): string[] {
  for (const s of settings) {
    if (!/^[a-z0-9_.]+=[0-9]+$/.test(s))
      throw new EmulationError(`sysctl setting must be key=integer, got ${s}`);
  }
  return netnsExecArgv(ns, ["sysctl", "-q", "-w", ...settings]);
}

// --- links -----------------------------------------------------------------------------------------------------

export interface VethSpec {
  name: string;
  /** Namespace the device is created in (directly, it never appears in the caller's namespace). */
  netns: string;
  peer: string;
  peerNetns: string;
  mtu?: number;
  mac?: string;
  peerMac?: string;
}

/** `link add name A [address M] [mtu X] netns NA type veth peer name B [address M'] [mtu X] netns NB`. */
export function vethAdd(s: VethSpec): Cmd {
  const end = (name: string, ns: string, mac?: string) => [
    "name",
    name,
    ...(mac ? ["address", mac] : []),
    ...(s.mtu !== undefined ? ["mtu", int(s.mtu, "mtu", 68)] : []),
    "netns",
    ns,
  ];
  return [
    "link",
    "add",
    ...end(s.name, s.netns, s.mac),
    "type",
    "veth",
    "peer",
    ...end(s.peer, s.peerNetns, s.peerMac),
  ];
}

export interface VxlanSpec {
  name: string;
  vni: number;
  /** Local VTEP address. */
  local: string;
  /** Remote VTEP address (omit to direct traffic with `bridge fdb` entries instead). */
  remote?: string;
  /** UDP port the device listens on and, without an fdb port, sends to. @default 4789 */
  dstport?: number;
  mtu?: number;
  mac?: string;
  /**
   * Largest GSO packet in segments; 1 turns segmentation offload off, which a userspace wire needs (a relay
   * would otherwise forward a 64 KB super-packet as one datagram, which a forwarding node cannot send on).
   */
  gsoMaxSegs?: number;
}

/** `link add name X [address M] [mtu N] [gso_max_segs S] type vxlan id VNI local L [remote R] dstport P nolearning`. */
export function vxlanAdd(s: VxlanSpec): Cmd {
  return [
    "link",
    "add",
    "name",
    s.name,
    ...(s.mac ? ["address", s.mac] : []),
    ...(s.mtu !== undefined ? ["mtu", int(s.mtu, "mtu", 68)] : []),
    ...(s.gsoMaxSegs !== undefined ? ["gso_max_segs", int(s.gsoMaxSegs, "gso_max_segs", 1)] : []),
    "type",
    "vxlan",
    "id",
    int(s.vni, "vni", 1),
    "local",
    s.local,
    ...(s.remote ? ["remote", s.remote] : []),
    "dstport",
    int(s.dstport ?? 4789, "dstport", 1),
    "nolearning",
  ];
}

export const linkUp = (dev: string): Cmd => ["link", "set", "dev", dev, "up"];
export const linkDown = (dev: string): Cmd => ["link", "set", "dev", dev, "down"];
export const linkDel = (dev: string): Cmd => ["link", "del", "dev", dev];
export const linkStats = (dev?: string): Cmd => ["-s", "-j", "link", "show", ...(dev ? ["dev", dev] : [])];
export const addrAdd = (dev: string, cidr: string): Cmd => ["addr", "add", cidr, "dev", dev];
export const addrDel = (dev: string, cidr: string): Cmd => ["addr", "del", cidr, "dev", dev];

/** A permanent neighbour entry, so no ARP crosses a (delayed) link. */
export const neighReplace = (ip: string, mac: string, dev: string): Cmd => [
  "neigh",
  "replace",
  ip,
  "lladdr",
  mac,
  "dev",
  dev,
  "nud",
  "permanent",
];

export interface RouteSpec {
  /** Destination prefix, e.g. `10.213.0.5/32`. */
  dst: string;
  via: string;
  dev: string;
  /** Preferred source address (the node address, so replies find their way back). */
  src?: string;
  /** Routing table id (default: main). */
  table?: number;
}

function routeArgs(r: RouteSpec): string[] {
  return [
    r.dst,
    "via",
    r.via,
    "dev",
    r.dev,
    ...(r.src ? ["src", r.src] : []),
    ...(r.table !== undefined ? ["table", int(r.table, "table", 1)] : []),
  ];
}

export const routeAdd = (r: RouteSpec): Cmd => ["route", "add", ...routeArgs(r)];
export const routeReplace = (r: RouteSpec): Cmd => ["route", "replace", ...routeArgs(r)];
export const routeDel = (dst: string): Cmd => ["route", "del", dst];
export const routeFlushTable = (table: number): Cmd => ["route", "flush", "table", int(table, "table", 1)];

export interface RuleSpec {
  /** Match only packets this namespace originates (`iif lo`); else packets from `from`. */
  local?: boolean;
  from?: string;
  to: string;
  table: number;
  priority: number;
}

/** A policy-routing rule sending one pair's packets to its own table. */
export function ruleAdd(r: RuleSpec): Cmd {
  return [
    "rule",
    "add",
    ...(r.local ? ["iif", "lo"] : []),
    ...(r.from ? ["from", r.from] : []),
    "to",
    r.to,
    "table",
    int(r.table, "table", 1),
    "priority",
    int(r.priority, "priority", 1),
  ];
}

export const ruleDel = (priority: number): Cmd => ["rule", "del", "priority", int(priority, "priority", 1)];

/** `fdb append 00:00:00:00:00:00 dev X dst R port P`: the default VXLAN destination with its own UDP port. */
export const fdbDefault = (dev: string, dst: string, port: number): Cmd => [
  "fdb",
  "append",
  "00:00:00:00:00:00",
  "dev",
  dev,
  "dst",
  dst,
  "port",
  int(port, "port", 1),
];

// --- traffic control -------------------------------------------------------------------------------------------

/**
 * Bucket size B of every shaper (htb `burst` and `cburst` of the link class `1:1`, of the default leaf `1:10` and of
 * QoS classes; tbf `burst`), bytes: 2 ms at the rate, at least four full Ethernet frames,
 * `B = max(4 (mtu + 14), ceil(R / 8 * 0.002))`: 25,000 bytes at 100 Mbit/s, 6,056 at 10 Mbit/s and below 12 Mbit/s.
 *
 * Why it matters: a bucket starts full, so after an idle period the first B bytes of traffic leave at veth speed and
 * only then does the rate hold. Small flows' FCT, the first round trips of every flow and the burstiness a next hop
 * sees all depend on B (a real link of rate R has B = one frame). Smaller buckets are closer to a real link, but a
 * bucket must hold what the rate brings in between two wake-ups of the qdisc's timer (which are late by up to about
 * a millisecond on a busy machine) or the link falls short of its rate: 2 ms leaves that margin, four frames keep a
 * few full frames in the bucket at low rates. Set explicitly, not left to tc's default (rate / HZ + mtu, which
 * differs between machines). {@link shaperAllowanceBytes} is what the shapers then guarantee.
 */
export function burstBytes(rateBps: number, mtu = 1500): number {
  return Math.max(4 * (mtu + 14), Math.ceil((rateBps / 8) * 0.002));
}

/** Largest GSO packet a veth hands its qdisc (its default gso_max_size), bytes of IP packet. */
export const GSO_MAX_BYTES = 65_536;

/**
 * Most bytes an htb-shaped link end passes above its rate in any interval, `B + P`: the bucket B
 * ({@link burstBytes}) plus one packet P, because htb dequeues a packet while the class's tokens are >= 0 and
 * charges it afterwards (tokens go negative by one packet). On a veth with GSO, as ours are, P is a GSO packet of up
 * to {@link GSO_MAX_BYTES}, which htb counts as the frames it becomes: `ceil(65536 / (mtu - 52))` frames of
 * `mtu + 14` bytes (TCP with timestamps carries mtu - 52 bytes per frame), 46 x 1514 = 69,644 bytes at mtu 1500.
 * So S bytes through the link take at least `(S - B - P) / R` (a bound, frames' headers only add to S); a 1.25 MB
 * flow at 100 Mbit/s at least 92.4 ms against the 100 ms of an ideal link. tbf splits GSO packets larger than its
 * burst (P is one frame there), so this bound holds for it too.
 */
export function shaperAllowanceBytes(rateBps: number, mtu = 1500): number {
  return burstBytes(rateBps, mtu) + Math.ceil(GSO_MAX_BYTES / (mtu - 52)) * (mtu + 14);
}

function bits(rateBps: number): string {
  if (!(rateBps > 0) || !Number.isFinite(rateBps))
    throw new EmulationError(`rate must be > 0 bit/s, got ${rateBps}`);
  return `${Math.round(rateBps)}bit`;
}

/** Handle of the default (best effort) htb class; QoS classes are 1:100 and up. */
export const HTB_DEFAULT_CLASS = "1:10";
export const FIFO_LIMIT_PACKETS = 1000;

/**
 * The FIFO behind a rate limit: `pfifo limit 1000` by default, or, given a queueing delay (ns), a byte FIFO that
 * holds that long at the rate (at least four full frames): a buffer of one bandwidth-delay product, not a
 * fixed packet count that at 10 Mbit/s would queue for over a second.
 */
export function fifoLimit(
  rateBps: number,
  mtu: number,
  queueNs?: number,
): { kind: "pfifo" | "bfifo"; limit: number } {
  if (queueNs === undefined) return { kind: "pfifo", limit: FIFO_LIMIT_PACKETS };
  return { kind: "bfifo", limit: Math.max(4 * (mtu + 14), Math.ceil((rateBps * queueNs) / 8e9)) };
}

/**
 * Egress rate limit with htb: root `1:` -> class `1:1` at the link rate -> default leaf `1:10` (a FIFO, see
 * {@link fifoLimit}). QoS classes added by {@link htbQosClass} share `1:1`'s rate. The rate counts Ethernet frames
 * (headers included).
 */
export function htbLink(dev: string, rateBps: number, mtu = 1500, queueNs?: number): Cmd[] {
  const fifo = fifoLimit(rateBps, mtu, queueNs);
  const cls = htbClass("add", dev, rateBps, mtu);
  return [
    ["qdisc", "replace", "dev", dev, "root", "handle", "1:", "htb", "default", "10"],
    cls("1:", "1:1", 0),
    cls("1:1", HTB_DEFAULT_CLASS, 7),
    [
      "qdisc",
      "add",
      "dev",
      dev,
      "parent",
      HTB_DEFAULT_CLASS,
      "handle",
      "10:",
      fifo.kind,
      "limit",
      String(fifo.limit),
    ],
  ];
}

/**
 * A link's new egress rate under {@link htbLink} (a degraded link): `class change` of the link class `1:1` and the
 * default leaf, rate = ceil, burst for the new rate. The leaf's FIFO keeps the limit it was built with.
 */
export function htbLinkRate(dev: string, rateBps: number, mtu = 1500): Cmd[] {
  const cls = htbClass("change", dev, rateBps, mtu);
  return [cls("1:", "1:1", 0), cls("1:1", HTB_DEFAULT_CLASS, 7)];
}

function htbClass(verb: "add" | "change", dev: string, rateBps: number, mtu: number) {
  const r = bits(rateBps);
  const b = String(burstBytes(rateBps, mtu));
  return (parent: string, id: string, prio: number): Cmd => [
    "class",
    verb,
    "dev",
    dev,
    "parent",
    parent,
    "classid",
    id,
    "htb",
    "rate",
    r,
    "ceil",
    r,
    "burst",
    b,
    "cburst",
    b,
    "prio",
    String(prio),
  ];
}

/** Egress rate limit with a token bucket filter alone (no QoS classes possible). */
export function tbfLink(dev: string, rateBps: number, mtu = 1500, queueNs?: number): Cmd[] {
  const b = burstBytes(rateBps, mtu);
  const fifo = fifoLimit(rateBps, mtu, queueNs);
  const queueBytes = fifo.kind === "bfifo" ? fifo.limit : FIFO_LIMIT_PACKETS * (mtu + 14);
  return [
    [
      "qdisc",
      "replace",
      "dev",
      dev,
      "root",
      "tbf",
      "rate",
      bits(rateBps),
      "burst",
      String(b),
      "limit",
      String(b + queueBytes),
    ],
  ];
}

export interface QosClassSpec {
  dev: string;
  /** Minor number >= 100 (classid `1:<minor>`). */
  minor: number;
  /** htb priority 0..7, 0 most urgent. */
  priority: number;
  /** Guaranteed rate, bits/s. */
  rateBps: number;
  /** Ceiling, bits/s (the link rate). */
  ceilBps: number;
  /** Matched packets: IPv4 source and destination addresses. */
  src: string;
  dst: string;
  /**
   * The run's VXLAN port: when given, the pair's packets inside a virtual link's tunnel are steered into the class
   * too, by a second filter ({@link htbQosClass}).
   */
  vxlanPort?: number;
}

/** Offset of a VXLAN packet's inner IPv4 header from its outer one: outer IP 20, UDP 8, VXLAN 8, Ethernet 14. */
const VXLAN_INNER_IP_OFFSET = 50;

/** An htb class under `1:1` plus a u32 filter steering the pair's packets into it. */
export function htbQosClass(q: QosClassSpec): Cmd[] {
  const id = `1:${int(q.minor, "qos class minor", 100)}`;
  const prio = String(Math.min(7, Math.max(0, Math.round(q.priority))));
  const b = String(burstBytes(q.ceilBps));
  return [
    [
      "class",
      "replace",
      "dev",
      q.dev,
      "parent",
      "1:1",
      "classid",
      id,
      "htb",
      "rate",
      bits(q.rateBps),
      "ceil",
      bits(q.ceilBps),
      "burst",
      b,
      "cburst",
      b,
      "prio",
      prio,
    ],
    [
      "filter",
      "replace",
      "dev",
      q.dev,
      "parent",
      "1:",
      "protocol",
      "ip",
      "prio",
      "1",
      "handle",
      filterHandle(q.minor, false),
      "u32",
      "match",
      "ip",
      "src",
      `${q.src}/32`,
      "match",
      "ip",
      "dst",
      `${q.dst}/32`,
      "flowid",
      id,
    ],
    ...(q.vxlanPort === undefined ? [] : [tunnelledPairFilter(q, id, q.vxlanPort)]),
  ];
}

/**
 * Node handle (in u32's hash table 800:) of a QoS class's filter for its pair's packets inside a virtual link: the
 * class's own filter's plus 0x800, in the same priority, so deleting both leaves no empty classifier behind (u32
 * instances of one qdisc share their hash tables, and one stays while another exists). Node handles have 12 bits:
 * minors from 100 up to 0x7ff.
 */
const TUNNELLED_HANDLE_OFFSET = 0x800;

function filterHandle(minor: number, tunnelled: boolean): string {
  if (minor >= TUNNELLED_HANDLE_OFFSET)
    throw new EmulationError(
      `qos class minor: at most ${TUNNELLED_HANDLE_OFFSET - 1} (its filters' u32 handles), got ${minor}`,
    );
  return `800::${(minor + (tunnelled ? TUNNELLED_HANDLE_OFFSET : 0)).toString(16)}`;
}

/**
 * u32 matches of an IPv4 address at byte `at` of the packet: u32 keys sit at 4-byte offsets and a VXLAN packet's
 * inner addresses do not (62, 66), so each address is two 16-bit matches.
 */
function addressHalves(addr: string, at: number): string[] {
  const o = addr.split(".").map(Number);
  const h = (a: number, b: number) => `0x${((a << 8) | b).toString(16).padStart(4, "0")}`;
  return [
    ...["match", "u16", h(o[0]!, o[1]!), "0xffff", "at", String(at)],
    ...["match", "u16", h(o[2]!, o[3]!), "0xffff", "at", String(at + 2)],
  ];
}

/**
 * The filter that steers a pair's packets carried in a virtual link into its class: a VXLAN datagram (UDP to
 * `vxlanPort`; the outer header has no options, as the kernel's VXLAN sends it) whose inner IPv4 header has the
 * pair's addresses. Without it a pair's class would hold none of its packets once the pair's traffic takes a
 * virtual link, whose outer header carries the tunnel endpoints' addresses; the simulator's class holds the pair's
 * flows on whatever path they take.
 */
function tunnelledPairFilter(q: QosClassSpec, flowid: string, vxlanPort: number): Cmd {
  const halves = addressHalves;
  return [
    ...["filter", "replace", "dev", q.dev, "parent", "1:", "protocol", "ip", "prio", "1"],
    ...["handle", filterHandle(q.minor, true), "u32"],
    ...["match", "ip", "protocol", "17", "0xff", "match", "u16", int(vxlanPort, "VXLAN port", 1), "0xffff"],
    ...[
      "at",
      "22",
      ...halves(q.src, VXLAN_INNER_IP_OFFSET + 12),
      ...halves(q.dst, VXLAN_INNER_IP_OFFSET + 16),
    ],
    ...["flowid", flowid],
  ];
}

/**
 * Where matched classes' filters live: a u32 hash table of its own (`1:`) in the classifier of the pair filters
 * (priority 1), reached from the root table `800:` by a link at node 1, before every pair and reservation filter
 * (nodes from 100 up: u32 tries a table's nodes in node order, and comes back to the root table's next node when
 * nothing in the linked table matched). So a flow a matched class holds skips its pair's class.
 */
export const MATCHED_TABLE = "1:";

/** A matched class's filters take node ids `minor + k x 0x400` (k = 0..3) in {@link MATCHED_TABLE}. */
const MATCHED_NODE_STRIDE = 0x400;

/** The table of matched classes' filters on a device; fails when it is there already (run it unchecked). */
export function matchedTableAdd(dev: string): Cmd {
  return [
    ...["filter", "add", "dev", dev, "parent", "1:", "protocol", "ip", "prio", "1"],
    ...["handle", MATCHED_TABLE, "u32", "divisor", "1"],
  ];
}

/** The root table's link into {@link MATCHED_TABLE}, at node 1 (tried first); idempotent. */
export function matchedTableLink(dev: string): Cmd {
  return [
    ...["filter", "replace", "dev", dev, "parent", "1:", "protocol", "ip", "prio", "1"],
    ...["handle", "800::1", "u32", "link", MATCHED_TABLE, "match", "u32", "0", "0"],
  ];
}

/** Removes the link into {@link MATCHED_TABLE} and the table (once no matched class's filter is left in it). */
export function matchedTableDel(dev: string): Cmd[] {
  const del = (handle: string): Cmd => [
    ...["filter", "del", "dev", dev, "parent", "1:", "protocol", "ip", "prio", "1"],
    ...["handle", handle, "u32"],
  ];
  return [del("800::1"), del(MATCHED_TABLE)];
}

/** A matched class's match: the server port, and the protocol when given. */
export interface QosMatchSpec {
  port: number;
  protocol?: "tcp" | "udp";
}

const IP_PROTOCOL: Record<NonNullable<QosMatchSpec["protocol"]>, string> = { tcp: "6", udp: "17" };

function matchedHandle(minor: number, k: number): string {
  if (minor >= MATCHED_NODE_STRIDE)
    throw new EmulationError(
      `qos class minor: at most ${MATCHED_NODE_STRIDE - 1} for a matched class (its filters' u32 handles), got ${minor}`,
    );
  return `${MATCHED_TABLE}:${(minor + k * MATCHED_NODE_STRIDE).toString(16)}`;
}

/**
 * An htb class under `1:1` holding the pair's packets of one application's exchanges: four u32 filters in
 * {@link MATCHED_TABLE}, the pair's addresses with the server port as source (responses) or as destination
 * (requests, and the ACKs of the responses), each plain and inside a virtual link's VXLAN tunnel (inner headers
 * at {@link VXLAN_INNER_IP_OFFSET}: protocol at +9, ports at +20 and +22; no IP options, as the kernel sends), and
 * the protocol where the match names one (the tunnelled two only given `vxlanPort`). Make the table first ({@link matchedTableAdd}, {@link matchedTableLink}).
 */
export function htbMatchedClass(q: QosClassSpec & { match: QosMatchSpec }): Cmd[] {
  const [cls] = htbQosClass({ ...q, vxlanPort: undefined }) as [Cmd, ...Cmd[]];
  const flowid = `1:${q.minor}`;
  const port = int(q.match.port, "match port", 1);
  const proto = q.match.protocol === undefined ? undefined : IP_PROTOCOL[q.match.protocol];
  const filter = (k: number, keys: string[]): Cmd => [
    ...["filter", "replace", "dev", q.dev, "parent", "1:", "protocol", "ip", "prio", "1"],
    ...["handle", matchedHandle(q.minor, k), "u32", "ht", MATCHED_TABLE],
    ...keys,
    ...["flowid", flowid],
  ];
  const plain = (portAt: number) => [
    ...["match", "ip", "src", `${q.src}/32`, "match", "ip", "dst", `${q.dst}/32`],
    ...(proto ? ["match", "ip", "protocol", proto, "0xff"] : []),
    ...["match", "u16", port, "0xffff", "at", String(portAt)],
  ];
  const inner = VXLAN_INNER_IP_OFFSET;
  const tunnelled = (vxlanPort: number, portAt: number) => [
    ...["match", "ip", "protocol", "17", "0xff"],
    ...["match", "u16", int(vxlanPort, "VXLAN port", 1), "0xffff", "at", "22"],
    ...addressHalves(q.src, inner + 12),
    ...addressHalves(q.dst, inner + 16),
    ...(proto ? ["match", "u8", proto, "0xff", "at", String(inner + 9)] : []),
    ...["match", "u16", port, "0xffff", "at", String(inner + portAt)],
  ];
  const v = q.vxlanPort;
  return [
    cls,
    filter(0, plain(20)),
    filter(1, plain(22)),
    ...(v === undefined ? [] : [filter(2, tunnelled(v, 20)), filter(3, tunnelled(v, 22))]),
  ];
}

/** Removes a matched class and its four filters (run unchecked when the class was made without the tunnelled two). */
export function htbMatchedClassDel(dev: string, minor: number): Cmd[] {
  return [
    ...[0, 1, 2, 3].map(
      (k): Cmd => [
        ...["filter", "del", "dev", dev, "parent", "1:", "protocol", "ip", "prio", "1"],
        ...["handle", matchedHandle(minor, k), "u32"],
      ],
    ),
    ["class", "del", "dev", dev, "classid", `1:${int(minor, "qos class minor", 100)}`],
  ];
}

/** Removes a QoS class and its filters (`tunnelled`: the one for its pair's packets in a virtual link too). */
export function htbQosClassDel(dev: string, minor: number, tunnelled = false): Cmd[] {
  const filterDel = (t: boolean): Cmd => [
    ...["filter", "del", "dev", dev, "parent", "1:", "protocol", "ip", "prio", "1"],
    ...["handle", filterHandle(minor, t), "u32"],
  ];
  return [
    filterDel(false),
    ...(tunnelled ? [filterDel(true)] : []),
    ["class", "del", "dev", dev, "classid", `1:${int(minor, "qos class minor", 100)}`],
  ];
}

/** A netem leaf (delay in ns, loss probability) under an htb class, where the kernel has netem. */
export function netemLeaf(dev: string, parent: string, delayNs: number, lossRate: number): Cmd {
  const us = Math.round(delayNs / 1000);
  return [
    "qdisc",
    "replace",
    "dev",
    dev,
    "parent",
    parent,
    "handle",
    "10:",
    "netem",
    "delay",
    `${us}us`,
    ...(lossRate > 0 ? ["loss", `${(lossRate * 100).toFixed(6)}%`] : []),
    "limit",
    String(FIFO_LIMIT_PACKETS),
  ];
}
