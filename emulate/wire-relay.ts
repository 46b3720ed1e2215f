/**
 * The userspace wire, for kernels without netem: a wired link's two ends are VXLAN devices (one VNI per link)
 * whose UDP datagrams are sent, through the underlay veth, to a relay process in the *receiving* namespace
 * (`bridge fdb ... port <relayPort>`); the relay applies the directed link's loss, rate (when asked) and delay,
 * then hands the datagram to the local VXLAN socket (`127.0.0.1:<vxlanPort>`), which decapsulates it.
 *
 * Order of effects per datagram, as on a real link: loss (Bernoulli, seeded), then serialization at `rateBps`
 * behind earlier datagrams (a FIFO of at most `queueBytes`; overflow drops), then the constant propagation delay.
 * Departures are therefore non-decreasing per wire and one FIFO timer queue per wire suffices. A timer wakes the
 * relay for the head datagram, armed early by the timers' measured lateness (an EWMA), and sends every datagram
 * that is due: departures are unbiased on average, with about a millisecond of jitter. (Polling the event loop
 * for the last millisecond would cut the jitter, but it keeps every relay busy and on a small machine starves
 * the traffic it carries.)
 *
 * A running relay's wire is reconfigured by a control datagram from 127.0.0.1 ({@link wireControlMessage}: a
 * degraded link's delay, loss and, when the relay paces, rate); the wire keeps its FIFO and transmitter state, and
 * the C relay keeps departures non-decreasing.
 *
 * One relay serves all wires into a namespace. Two programs implement it: the C relay (wire-relay.c, compiled at
 * run time by relay-build.ts; the default, several times cheaper per datagram) and this module's JavaScript relay,
 * the reference and the fallback when no C compiler is found. The C relay follows the functions below (the same
 * departures and, for a seed, the same loss draws), timing each datagram from the kernel's receive timestamp and
 * waking for departures with nanosecond timeouts. The JavaScript relay runs as plain JavaScript (`node -e`, built
 * from {@link relaySource}) so that it starts in ~0.2 s without the TypeScript loader; the functions it uses are
 * therefore self-contained (no imports, no outer references except {@link mulberry32}, {@link wireDeparture} and
 * {@link fixInnerChecksum} by name).
 */

/** One directed wire into the relay's namespace. */
export interface WireConfig {
  vni: number;
  delayNs: number;
  lossRate: number;
  /** Serialization rate, bits/s; null when the rate is enforced by tc instead. */
  rateBps: number | null;
  /** Queue limit, bytes (only with a rate). */
  queueBytes: number;
}

export interface RelayConfig {
  /** UDP port the relay listens on (all addresses of its namespace). */
  port: number;
  /** Port of the VXLAN devices, where datagrams are delivered on 127.0.0.1. */
  vxlanPort: number;
  seed: number;
  wires: WireConfig[];
}

/** Mutable per-wire state: when the wire's transmitter is next free (ms). */
export interface WireState {
  busyUntilMs: number;
}

/**
 * mulberry32: uniform draws in [0, 1) from 32 bits of state (`seed` taken modulo 2^32; 0 counts as 1). The C
 * relay has the same generator, so a seed gives both relays the same loss pattern.
 */
export function mulberry32(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * When a datagram of `bytes` arriving at `nowMs` leaves the wire (ms), or -1 when it is lost or the queue is full.
 * `u` is a uniform [0, 1) draw deciding loss. Pure apart from advancing `state.busyUntilMs`.
 */
export function wireDeparture(
  state: WireState,
  nowMs: number,
  bytes: number,
  w: WireConfig,
  u: number,
): number {
  if (u < w.lossRate) return -1;
  let sent = nowMs;
  if (w.rateBps !== null) {
    const start = Math.max(nowMs, state.busyUntilMs);
    if (((start - nowMs) * w.rateBps) / 8000 > w.queueBytes) return -1;
    sent = start + (bytes * 8000) / w.rateBps;
    state.busyUntilMs = sent;
  }
  return sent + w.delayNs / 1e6;
}

/**
 * Recomputes the TCP or UDP checksum of the IPv4 packet inside a VXLAN datagram (in place); returns whether it
 * did. Needed because a veth hands the kernel's "checksum to be completed by hardware" state (CHECKSUM_PARTIAL)
 * along with the packet, and that state does not survive a trip through a userspace socket: without this, the
 * inner TCP checksum arrives unfinished and the receiver drops the segment (ICMP, always checksummed in
 * software, would pass). Fragments and non-IPv4 frames are left alone. RFC 1071 ones'-complement sum.
 */
export function fixInnerChecksum(b: Buffer): boolean {
  const ip = 8 + 14; // VXLAN header, inner Ethernet header
  if (b.length < ip + 20 || b.readUInt16BE(ip - 2) !== 0x0800) return false;
  const ihl = (b[ip]! & 15) * 4;
  const total = b.readUInt16BE(ip + 2);
  if ((b.readUInt16BE(ip + 6) & 0x3fff) !== 0 || ip + total > b.length) return false;
  const proto = b[ip + 9]!;
  const l4 = ip + ihl;
  const len = total - ihl;
  const at = proto === 6 ? l4 + 16 : proto === 17 ? l4 + 6 : -1;
  if (at < 0 || at + 2 > ip + total || (proto === 17 && b.readUInt16BE(at) === 0)) return false;
  b.writeUInt16BE(0, at);
  let sum = proto + len;
  for (let i = ip + 12; i < ip + 20; i += 2) sum += b.readUInt16BE(i);
  const end = l4 + len;
  let i = l4;
  for (; i + 1 < end; i += 2) sum += (b[i]! << 8) | b[i + 1]!;
  if (i < end) sum += b[i]! << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  let c = ~sum & 0xffff;
  if (proto === 17 && c === 0) c = 0xffff;
  b.writeUInt16BE(c, at);
  return true;
}

/** The relay's main loop (runs in its own process; see the module comment). */
export async function relayMain(cfg: RelayConfig): Promise<void> {
  const dgram = await import("node:dgram");
  const rand = mulberry32(cfg.seed);
  interface Wire {
    cfg: WireConfig;
    state: WireState;
    due: number[];
    msgs: Buffer[];
    head: number;
    timer: ReturnType<typeof setTimeout> | ReturnType<typeof setImmediate> | null;
    /** When the armed timer should fire (ms), or 0. */
    target: number;
  }
  const wires = new Map<number, Wire>();
  for (const w of cfg.wires)
    wires.set(w.vni, {
      cfg: w,
      state: { busyUntilMs: 0 },
      due: [],
      msgs: [],
      head: 0,
      timer: null,
      target: 0,
    });
  // A large receive buffer (the kernel caps it at net.core.rmem_max): the relay is a user process that the
  // scheduler may hold off for milliseconds while a wire keeps delivering; every datagram that finds the buffer
  // full is a packet the emulated link loses (counted as RcvbufErrors in /proc/net/snmp).
  const sock = dgram.createSocket({ type: "udp4", recvBufferSize: 16 * 1024 * 1024 });
  const counts = { in: 0, out: 0, lost: 0, unknown: 0 };
  // Timers fire late (about a millisecond, more on a busy machine): track the lateness of the head datagram as an
  // EWMA and arm that much earlier, so departures are unbiased on average without spinning on the event loop.
  let lateMs = 0;
  const flush = (w: Wire) => {
    w.timer = null;
    const now = performance.now();
    if (w.target > 0) lateMs = Math.min(5, Math.max(0, lateMs + 0.2 * (now - w.target - lateMs)));
    w.target = 0;
    while (w.head < w.due.length && w.due[w.head]! <= now) {
      sock.send(w.msgs[w.head]!, cfg.vxlanPort, "127.0.0.1");
      counts.out++;
      w.head++;
    }
    if (w.head === w.due.length) {
      w.due.length = 0;
      w.msgs.length = 0;
      w.head = 0;
    } else arm(w, now);
  };
  const arm = (w: Wire, now: number) => {
    if (w.timer !== null) return;
    const wait = w.due[w.head]! - now - lateMs;
    w.target = wait > 0 ? now + wait : 0;
    w.timer = wait > 0 ? setTimeout(() => flush(w), wait) : setImmediate(() => flush(w));
  };
  sock.on("message", (msg: Buffer, from: { address: string }) => {
    counts.in++;
    if (msg.length > 7 && msg.toString("latin1", 0, 7) === "TCWIRE ") {
      // A control datagram (wireControlMessage): a wire's new delay, loss, rate and queue; its FIFO stays.
      const f = msg.toString("latin1", 7).split(":").map(Number);
      const c = from.address === "127.0.0.1" && f.length === 5 ? wires.get(f[0]!) : undefined;
      if (!c || !f.every((x) => Number.isFinite(x)) || !(f[1]! >= 0 && f[2]! >= 0 && f[2]! <= 1))
        counts.unknown++;
      else
        c.cfg = {
          ...c.cfg,
          delayNs: f[1]!,
          lossRate: f[2]!,
          rateBps: f[3]! > 0 ? f[3]! : null,
          queueBytes: f[4]!,
        };
      return;
    }
    const w = msg.length >= 8 ? wires.get(msg.readUIntBE(4, 3)) : undefined;
    if (!w) {
      counts.unknown++;
      return;
    }
    const now = performance.now();
    const due = wireDeparture(w.state, now, msg.length, w.cfg, rand());
    if (due < 0) {
      counts.lost++;
      return;
    }
    fixInnerChecksum(msg);
    w.due.push(due);
    w.msgs.push(msg);
    arm(w, now);
  });
  const stop = () => {
    process.stdout.write(`${JSON.stringify({ event: "relay-stop", ...counts })}\n`);
    sock.close();
    process.exit(0);
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
  sock.bind(cfg.port, () =>
    process.stdout.write(`${JSON.stringify({ event: "relay-ready", pid: process.pid })}\n`),
  );
}

/** JavaScript source that runs {@link relayMain} on the JSON config in `process.argv[1]` (`node -e <source> <json>`). */
export function relaySource(): string {
  // `__name` is the helper esbuild (tsx) inserts to keep function names; define it as the identity.
  return [
    "const __name = (f) => f;",
    mulberry32.toString(),
    wireDeparture.toString(),
    fixInnerChecksum.toString(),
    `(${relayMain.toString()})(JSON.parse(process.argv[1]));`,
  ].join("\n");
}

/** Scheduling priority of relays: they stand in for wires, so they run ahead of the workloads they carry. */
export const RELAY_NICE = -10;

/** The program that runs the relays, as chosen by relay-build.ts (and reported with the run). */
export type RelayProgram = CRelayProgram | JsRelayProgram;

export interface CRelayProgram {
  kind: "c";
  /** The compiled relay (wire-relay.c). */
  binary: string;
  /** The compiler that built it. */
  compiler: string;
}

export interface JsRelayProgram {
  kind: "js";
  /** Why not the C relay. */
  reason: string;
}

/** One wire on the C relay's command line: `<vni>:<delayNs>:<lossRate>:<rateBps or -1>:<queueBytes>`. */
export function wireSpec(w: WireConfig): string {
  return [w.vni, Math.round(w.delayNs), w.lossRate, w.rateBps ?? -1, w.queueBytes].map(String).join(":");
}

/**
 * The control datagram that reconfigures a running relay's wire (a degraded link): `TCWIRE <wire spec>`, accepted
 * only from 127.0.0.1 inside the relay's namespace; both relays apply it to datagrams arriving from then on.
 */
export function wireControlMessage(w: WireConfig): string {
  return `TCWIRE ${wireSpec(w)}`;
}

/**
 * Sends a control datagram to the relay of namespace `ns` on `port`: `ip netns exec <ns> bash -c` with bash's
 * /dev/udp redirection (the message and port are positional arguments, never parsed as shell text).
 */
export function wireControlArgv(ns: string, port: number, w: WireConfig): string[] {
  const script = 'printf %s "$1" > "/dev/udp/127.0.0.1/$2"';
  return [
    "ip",
    "netns",
    "exec",
    ns,
    "bash",
    "-c",
    script,
    "wire-control",
    wireControlMessage(w),
    String(port),
  ];
}

/** The C relay's arguments: `<port> <vxlanPort> <seed mod 2^32> <wire>...` (see wire-relay.c). */
export function cRelayArgs(cfg: RelayConfig): string[] {
  return [String(cfg.port), String(cfg.vxlanPort), String(cfg.seed >>> 0), ...cfg.wires.map(wireSpec)];
}

/**
 * `ip netns exec <ns> nice -n -10 <relay>`: the compiled relay with {@link cRelayArgs}, or
 * `node -e <source> <json config>` for the JavaScript relay.
 */
export function relayArgv(
  ns: string,
  cfg: RelayConfig,
  program: RelayProgram,
  node = process.execPath,
): string[] {
  const relay =
    program.kind === "c"
      ? [program.binary, ...cRelayArgs(cfg)]
      : [node, "--input-type=module", "-e", relaySource(), JSON.stringify(cfg)];
  return ["ip", "netns", "exec", ns, "nice", "-n", String(RELAY_NICE), ...relay];
}
