/**
 * The traffic agent: one Node process per host namespace (`ip netns exec <ns> node --import tsx emulate/agent.ts
 * <json config>`), a TCP server for flows arriving at its node and a client replaying the flows leaving it.
 *
 * Protocol per flow (one TCP connection, TCP_NODELAY): the client writes a 16-byte header (flow id, size in bytes,
 * both big-endian uint64) together with the first of `size` bytes, then the rest; the server answers one byte once it has them all and closes. The
 * client's completion time runs from the flow's scheduled start to that byte; the server also reports when the
 * last byte arrived, so a controller that knows the epoch measures FCT as the simulator defines it (scheduled start
 * to the last byte at the destination; connection set-up counts). With a time-compression factor c, a flow
 * scheduled at `startNs` starts c times sooner (at startNs / c of wall time); sizes are sent as given (the caller
 * scales them), and times are reported as measured.
 *
 * Clock: flows are scheduled from `epochNs`, a reading of the monotonic clock (`process.hrtime.bigint()`, Linux
 * CLOCK_MONOTONIC, shared by every process on the machine), so agents started one after another by one controller
 * replay on one time line; without it, from the agent's own start. Flows come inline (`flows`, small tests) or from
 * a JSON file (`flowsFile`: argv is limited to 128 KiB per argument on Linux).
 *
 * Exchanges (application calls, models/workload/applications.ts): a flow with `call` is a request that awaits its
 * response on its own connection. Its header's id has bit 63 set; the server, once it has every byte, reports
 * "recv", answers the one byte and keeps the connection open under the request's id. The response comes later,
 * when the controller says so (the callee's invocation is over): the stdin op `{"op":"respond","request",
 * "id","bytes","startNs"}` at the server's agent sends a 24-byte header (response id, size, scheduled start, each
 * big-endian uint64) and the bytes back over that connection; the client's agent reports the response's "recv"
 * and "flow" when it has them all, and closes. So an exchange is one TCP connection from the caller's namespace
 * to the application's port in the instance's namespace, as a real RPC is.
 *
 * UDP exchanges (an application whose protocol is udp): the request as datagrams of at most 1,400 payload bytes
 * to the application's UDP port, each with the 16-byte header; the server reports "recv" once it has every byte,
 * answers an 8-byte datagram (the request id) and keeps the client's address under the request's id; the
 * response comes as datagrams with the 24-byte header to that address. Sent at once, without pacing or
 * retransmission (small messages; a lost datagram leaves its flow unfinished).
 *
 * Live flows (closed-loop workloads): with `live`, after the epoch line the agent keeps reading stdin for ops:
 * `{"op":"send","flow":AgentFlow}` starts a flow at its `startNs` (at once when that has passed) and
 * `{"op":"respond",...}` above; it stops reading when stdin closes.
 *
 * Reports are JSON lines on stdout: `{"event":"listening",...}`, `{"event":"start","id",...}` when a flow's
 * connection is opened (the profiler's per-pair bytes), `{"event":"recv","id","atNs"}` at the server when a flow's
 * last byte has arrived (the simulator's definition of a flow's end), `{"event":"flow","id",...,"fctNs"}` at the
 * client per finished flow (answer received),
 * `{"event":"flow-error",...}` per failed flow, and `{"event":"done","flows":n}` when the client is idle.
 */
import type { ChildProcess } from "node:child_process";
import { createSocket, type RemoteInfo, type Socket as UdpSocket } from "node:dgram";
import { readFileSync } from "node:fs";
import { createConnection, createServer, type Socket } from "node:net";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import type { Plan } from "./plan.ts";
import { spawnIn } from "./substrate.ts";

export interface AgentFlow {
  id: number;
  /** Destination address (a node address) and port. */
  dst: string;
  port: number;
  bytes: number;
  /** Scheduled start, ns from the agent's start (before compression). */
  startNs: number;
  /** A request that awaits its response on its connection (see the module doc). @default false */
  call?: boolean;
  /** "udp": datagrams to a UDP port (see the module doc). @default "tcp" */
  protocol?: "tcp" | "udp";
}

/** A response to send back over request `request`'s open connection (the `respond` op). */
export interface AgentResponse {
  request: number;
  id: number;
  bytes: number;
  /** Scheduled start, ns from the epoch (before compression). */
  startNs: number;
}

/** What the controller writes to a live agent's stdin after the epoch, one JSON line each. */
export type AgentOp = { op: "send"; flow: AgentFlow } | ({ op: "respond" } & AgentResponse);

export interface AgentConfig {
  /** Serve flows on this address and port (and on `extraPorts`: one port per application; "listening" once all listen). */
  listen?: { host: string; port: number; extraPorts?: readonly number[]; udpPorts?: readonly number[] };
  flows?: AgentFlow[];
  /** A JSON file holding an `AgentFlow[]` (appended to `flows`). */
  flowsFile?: string;
  /** Monotonic-clock reading (ns, as a decimal string: it exceeds 2^53) that flow start times count from. */
  epochNs?: string;
  /**
   * For this long (wall ms) a flow whose connection finds no route (ENETUNREACH, EHOSTUNREACH, ECONNREFUSED,
   * ETIMEDOUT) or is not set up within `redialMs` is dialled again: it stalls, as a flow over a failed link does in
   * the simulator, and starts within `redialMs` of its path working again (see `dial`). @default 0
   */
  retryForMs?: number;
  /**
   * Wall ms after which a connection attempt not set up yet gets another beside it (see `dial`): well above a
   * handshake's round trip on the emulated topology (traffic-agents.ts `redialWallMs`), so a working path never
   * sees a second SYN. @default 50
   */
  redialMs?: number;
  /** Wait for the epoch as the first stdin line, `{"epochNs":"..."}`, after reporting `listening`. */
  waitForEpoch?: boolean;
  /** Wall time runs this many times faster than flow start times. @default 1 */
  timeCompression?: number;
  /** Keep reading ops from stdin after the epoch (needs `waitForEpoch`; see the module doc). @default false */
  live?: boolean;
}

export type AgentReport =
  | { event: "listening"; host: string; port: number }
  | { event: "start"; id: number; dst: string; bytes: number; startNs: number; lateNs: number }
  | { event: "flow"; id: number; dst: string; bytes: number; startNs: number; fctNs: number }
  /** At the server: the flow's last byte arrived, at `atNs` of the monotonic clock (decimal string). */
  | { event: "recv"; id: number; bytes: number; atNs: string }
  | { event: "flow-error"; id: number; error: string }
  | { event: "done"; flows: number };

const HEADER = 16;
const RESPONSE_HEADER = 24;
const CALL_BIT = 1n << 63n;
const CHUNK = Buffer.alloc(64 * 1024);
/** Requests whose response is still to come, by request id: their connections at this server. */
const openCalls = new Map<number, Socket>();

function report(r: AgentReport): void {
  process.stdout.write(`${JSON.stringify(r)}\n`);
}

/** Serves on every TCP and UDP port; reports "listening" (with the first TCP port) once all of them listen. */
function serveAll(host: string, ports: readonly number[], udpPorts: readonly number[] = []): void {
  let left = ports.length + udpPorts.length;
  const listening = () => {
    if (--left === 0) report({ event: "listening", host, port: ports[0]! });
  };
  for (const port of ports) serve(host, port, listening);
  for (const port of udpPorts) serveUdp(host, port, listening);
}

const DATAGRAM = 1400;
/** UDP requests whose response is still to come, by request id: the server socket and the client's address. */
const udpCalls = new Map<number, { sock: UdpSocket; to: RemoteInfo }>();

/** A UDP server: counts each request's bytes, reports "recv", acks with the request id and awaits `respond`. */
function serveUdp(host: string, port: number, listening: () => void): void {
  const got = new Map<number, number>();
  const sock = createSocket("udp4");
  sock.on("message", (b, rinfo) => {
    if (b.length < HEADER) return;
    const id = Number(b.readBigUInt64BE(0) & ~CALL_BIT);
    const want = Number(b.readBigUInt64BE(8));
    const n = (got.get(id) ?? 0) + b.length - HEADER;
    got.set(id, n);
    if (n < want || n - (b.length - HEADER) >= want) return;
    got.delete(id);
    report({ event: "recv", id, bytes: want, atNs: process.hrtime.bigint().toString() });
    const ack = Buffer.alloc(8);
    ack.writeBigUInt64BE(BigInt(id), 0);
    sock.send(ack, rinfo.port, rinfo.address);
    udpCalls.set(id, { sock, to: rinfo });
  });
  sock.on("error", () => {});
  sock.bind(port, host, listening);
}

/** Reports flow `f` done at the client (its answer arrived), FCT from `t0`, its scheduled start. */
function reportSent(f: AgentFlow, t0: bigint): void {
  const fctNs = Number(process.hrtime.bigint() - t0);
  report({ event: "flow", id: f.id, dst: f.dst, bytes: f.bytes, startNs: f.startNs, fctNs });
}

/** Sends `bytes` as datagrams of `header` + at most {@link DATAGRAM} payload bytes each. */
function sendDatagrams(sock: UdpSocket, header: Buffer, bytes: number, port: number, address: string): void {
  for (let left = bytes; left > 0; ) {
    const n = Math.min(left, DATAGRAM);
    left -= n;
    sock.send(Buffer.concat([header, CHUNK.subarray(0, n)]), port, address);
  }
}

/** A UDP request: its datagrams, the server's ack ("flow"), then the response's datagrams ("recv", "flow"). */
function sendUdpFlow(f: AgentFlow, t0: bigint, epoch: bigint, c: number): Promise<void> {
  return new Promise((resolve) => {
    const sock = createSocket("udp4");
    let acked = false;
    let got = 0;
    sock.on("message", (b) => {
      if (!acked && b.length === 8) {
        acked = true;
        return reportSent(f, t0);
      }
      if (b.length < RESPONSE_HEADER) return;
      const want = Number(b.readBigUInt64BE(8));
      got += b.length - RESPONSE_HEADER;
      if (got < want) return;
      const now = process.hrtime.bigint();
      const id = Number(b.readBigUInt64BE(0));
      const startNs = Number(b.readBigUInt64BE(16));
      report({ event: "recv", id, bytes: want, atNs: now.toString() });
      report({
        event: "flow",
        id,
        dst: f.dst,
        bytes: want,
        startNs,
        fctNs: Number(now - (epoch + BigInt(Math.round(startNs / c)))),
      });
      sock.close();
      resolve();
    });
    sock.on("error", (e) => {
      report({ event: "flow-error", id: f.id, error: e.message });
      sock.close();
      resolve();
    });
    const h = Buffer.alloc(HEADER);
    h.writeBigUInt64BE(BigInt(f.id) | CALL_BIT, 0);
    h.writeBigUInt64BE(BigInt(f.bytes), 8);
    sendDatagrams(sock, h, f.bytes, f.port, f.dst);
  });
}

function serve(host: string, port: number, listening: () => void): void {
  const server = createServer((sock: Socket) => {
    let header = Buffer.alloc(0);
    let want = -1;
    let got = 0;
    let answered = false;
    sock.on("data", (b: Buffer) => {
      if (want < 0) {
        header = Buffer.concat([header, b]);
        if (header.length < HEADER) return;
        want = Number(header.readBigUInt64BE(8));
        got = header.length - HEADER;
      } else got += b.length;
      if (got >= want && !answered) {
        answered = true;
        const raw = header.readBigUInt64BE(0);
        const id = Number(raw & ~CALL_BIT);
        report({ event: "recv", id, bytes: want, atNs: process.hrtime.bigint().toString() });
        if ((raw & CALL_BIT) === 0n) return void sock.end(Buffer.from([1]));
        sock.setNoDelay(true);
        sock.write(Buffer.from([1]));
        openCalls.set(id, sock);
        sock.on("close", () => openCalls.delete(id));
      }
    });
    sock.on("error", () => {});
  });
  server.listen(port, host, listening);
}

/** Connection errors that mean "no route (yet)": a flow stalls and retries, as on a link that is down. */
const RETRY_CODES = new Set(["ENETUNREACH", "EHOSTUNREACH", "ECONNREFUSED", "ETIMEDOUT"]);
const RETRY_MS = 50;
/** {@link AgentConfig.redialMs}'s default (wall ms). */
const REDIAL_MS = 50;
/** How long a flow's connection keeps being dialled (see `dial`). */
interface Retry {
  /** Wall ms from the flow's start. */
  forMs: number;
  /** Wall ms after which an attempt not set up yet gets another beside it. */
  redialMs: number;
}
/** Connection attempts of one flow in flight at most (see `dial`). */
const MAX_ATTEMPTS = 3;

/** Writes `left` bytes of filler to `sock`, waiting for drain when its buffer is full. */
function pumpBytes(sock: Socket, bytes: number): void {
  let left = bytes;
  const pump = () => {
    while (left > 0) {
      const n = Math.min(left, CHUNK.length);
      left -= n;
      if (!sock.write(n === CHUNK.length ? CHUNK : CHUNK.subarray(0, n)))
        return void sock.once("drain", pump);
    }
  };
  pump();
}

/** Writes `header` with the first filler bytes in one write, then the rest. */
function writeMessage(sock: Socket, header: Buffer, bytes: number): void {
  const first = Math.min(bytes, CHUNK.length - header.length);
  sock.write(Buffer.concat([header, CHUNK.subarray(0, first)]));
  pumpBytes(sock, bytes - first);
}

function sendFlow(f: AgentFlow, t0: bigint, retry: Retry, epoch: bigint, c: number): Promise<void> {
  report({
    event: "start",
    id: f.id,
    dst: f.dst,
    bytes: f.bytes,
    startNs: f.startNs,
    lateNs: Number(process.hrtime.bigint() - t0),
  });
  if (f.protocol === "udp") return sendUdpFlow(f, t0, epoch, c);
  return new Promise((resolve) =>
    dial(f, t0, { deadline: performance.now() + retry.forMs, redialMs: retry.redialMs }, epoch, c, resolve),
  );
}

/**
 * Opens flow `f`'s connection and sends it; calls `done` once it finished or failed. Until `deadline` (wall ms,
 * performance.now()) a connection that is not set up stalls and is dialled again, as a flow over a failed link
 * stalls in the simulator and moves the instant its path is back: after a "no route" error
 * ({@link RETRY_CODES}) a new attempt follows {@link RETRY_MS} later; a SYN (or its SYN-ACK) dropped without a word
 * (a dead path) would wait for TCP's initial retransmission timeout (1 s, RFC 6298 2.1; then 3 s, 7 s: Linux
 * doubles it), so an attempt not connected within `redialMs` gets another beside it, as a client library's
 * connect timeout and retry does; the first attempt to connect carries the flow and the others are closed (at most
 * {@link MAX_ATTEMPTS} in flight: the first and the newest). A flow therefore starts within `redialMs` (plus a round
 * trip) of its path working again, in both directions.
 */
function dial(
  f: AgentFlow,
  t0: bigint,
  { deadline, redialMs }: { deadline: number; redialMs: number },
  epoch: bigint,
  c: number,
  done: () => void,
): void {
  const pending = new Set<Socket>();
  let won: Socket | null = null;
  let next: NodeJS.Timeout | undefined;
  const finish = () => {
    clearTimeout(next);
    done();
  };
  const attempt = () => {
    if (won) return;
    // A flow is a message written in one go without Nagle's algorithm, as RPC frameworks and HTTP servers send
    // (and as the simulator's models send S bytes): with the 16-byte header written on its own first, Nagle held
    // a sub-segment flow's bytes until the header's ACK, one round trip more than any model has.
    const sock = createConnection({ host: f.dst, port: f.port, noDelay: true });
    pending.add(sock);
    // At most MAX_ATTEMPTS in flight: the first (its SYNs retransmitted by the kernel, as plain TCP would) and the
    // newest; older redials go, so a long outage does not end in a burst of hundreds of handshakes per agent.
    if (pending.size > MAX_ATTEMPTS) {
      const [, second] = pending;
      if (second) {
        second.destroy();
        pending.delete(second);
      }
    }
    clearTimeout(next);
    if (performance.now() + redialMs < deadline) next = setTimeout(attempt, redialMs);
    sock.on("connect", () => {
      // A second attempt that connects too is reset, not closed: no FIN, so conntrack records no finished flow.
      if (won) return void sock.resetAndDestroy();
      won = sock;
      clearTimeout(next);
      for (const other of pending) if (other !== sock) other.destroy();
      pending.clear();
      sendOn(sock, f, t0, epoch, c, finish);
    });
    sock.on("error", (e: NodeJS.ErrnoException) => {
      sock.destroy();
      pending.delete(sock);
      if (sock !== won) {
        if (won || pending.size > 0) return; // another attempt carries the flow, or may still connect
        if (RETRY_CODES.has(e.code ?? "") && performance.now() < deadline) {
          clearTimeout(next);
          next = setTimeout(attempt, RETRY_MS);
          return;
        }
      }
      report({ event: "flow-error", id: f.id, error: e.code ?? e.message });
      finish();
    });
  };
  attempt();
}

/** Sends flow `f` over its connected socket; `done` once answered (a call: once its response is in). */
function sendOn(sock: Socket, f: AgentFlow, t0: bigint, epoch: bigint, c: number, done: () => void): void {
  const h = Buffer.alloc(HEADER);
  h.writeBigUInt64BE(BigInt(f.id) | (f.call ? CALL_BIT : 0n), 0);
  h.writeBigUInt64BE(BigInt(f.bytes), 8);
  writeMessage(sock, h, f.bytes);
  const response = f.call ? responseReader(sock, f.dst, epoch, c, done) : null;
  let acked = false;
  sock.on("data", (b: Buffer) => {
    if (!acked) {
      acked = true;
      reportSent(f, t0);
      if (!response) {
        sock.destroy();
        return done();
      }
      b = b.subarray(1);
    }
    response?.(b);
  });
}

/**
 * Reads a response (24-byte header, then its bytes) from a request's connection; reports its "recv" and "flow"
 * (FCT from its scheduled start, `epoch` + startNs / c) when it is complete, then closes and calls `done`.
 */
function responseReader(
  sock: Socket,
  peer: string,
  epoch: bigint,
  c: number,
  done: () => void,
): (b: Buffer) => void {
  let header = Buffer.alloc(0);
  let want = -1;
  let got = 0;
  return (b) => {
    if (want < 0) {
      header = Buffer.concat([header, b]);
      if (header.length < RESPONSE_HEADER) return;
      want = Number(header.readBigUInt64BE(8));
      got = header.length - RESPONSE_HEADER;
    } else got += b.length;
    if (got < want) return;
    const now = process.hrtime.bigint();
    const id = Number(header.readBigUInt64BE(0));
    const startNs = Number(header.readBigUInt64BE(16));
    const t0 = epoch + BigInt(Math.round(startNs / c));
    report({ event: "recv", id, bytes: want, atNs: now.toString() });
    report({ event: "flow", id, dst: peer, bytes: want, startNs, fctNs: Number(now - t0) });
    sock.destroy();
    done();
  };
}

/** Sends response `r` over its request's open connection (the `respond` op); a closed one is a flow error. */
function respond(r: AgentResponse, epoch: bigint, c: number): void {
  const udp = udpCalls.get(r.request);
  if (udp) {
    udpCalls.delete(r.request);
    const t0 = epoch + BigInt(Math.round(r.startNs / c));
    const lateNs = Number(process.hrtime.bigint() - t0);
    report({ event: "start", id: r.id, dst: udp.to.address, bytes: r.bytes, startNs: r.startNs, lateNs });
    sendDatagrams(udp.sock, responseHeader(r), r.bytes, udp.to.port, udp.to.address);
    return;
  }
  const sock = openCalls.get(r.request);
  const t0 = epoch + BigInt(Math.round(r.startNs / c));
  const peer = sock?.remoteAddress ?? "";
  report({
    event: "start",
    id: r.id,
    dst: peer,
    bytes: r.bytes,
    startNs: r.startNs,
    lateNs: Number(process.hrtime.bigint() - t0),
  });
  if (!sock || sock.destroyed) {
    report({ event: "flow-error", id: r.id, error: "request connection closed" });
    return;
  }
  openCalls.delete(r.request);
  writeMessage(sock, responseHeader(r), r.bytes);
}

/** A response's 24-byte header: its id, size and scheduled start. */
function responseHeader(r: AgentResponse): Buffer {
  const h = Buffer.alloc(RESPONSE_HEADER);
  h.writeBigUInt64BE(BigInt(r.id), 0);
  h.writeBigUInt64BE(BigInt(r.bytes), 8);
  h.writeBigUInt64BE(BigInt(r.startNs), 16);
  return h;
}

/**
 * Reads stdin lines: the first, `{"epochNs":"<decimal>"}`, resolves the epoch; with `onOp` every later line is an
 * op ({@link AgentOp}) until stdin closes, without it reading stops after the epoch.
 */
function readStdin(onOp: ((op: AgentOp, epoch: bigint) => void) | null): Promise<bigint> {
  return new Promise((resolve, reject) => {
    const rl = createInterface({ input: process.stdin });
    let epoch: bigint | null = null;
    rl.on("line", (line) => {
      if (epoch !== null) return onOp?.(JSON.parse(line) as AgentOp, epoch);
      const e = (JSON.parse(line) as { epochNs?: unknown }).epochNs;
      if (typeof e !== "string" || !/^\d+$/.test(e))
        return reject(new Error(`agent: bad epoch line ${line}`));
      epoch = BigInt(e);
      resolve(epoch);
      if (!onOp) rl.close();
    });
    rl.on("close", () => {
      if (epoch === null) reject(new Error("agent: stdin closed before the epoch arrived"));
    });
  });
}

/** Sends flow `f` at its scheduled start, `start` + startNs / c (at once when that has passed). */
function scheduleFlow(f: AgentFlow, start: bigint, c: number, retry: Retry): Promise<void> {
  return new Promise<void>((resolve) => {
    const at = start + BigInt(Math.round(f.startNs / c));
    const go = () => {
      const late = Number(at - process.hrtime.bigint()) / 1e6;
      if (late > 1) setTimeout(go, late - 0.5);
      else void sendFlow(f, at, retry, start, c).then(resolve);
    };
    go();
  });
}

/** Runs an agent in this process (the namespace it was started in). */
export async function agentMain(cfg: AgentConfig): Promise<void> {
  if (cfg.listen)
    serveAll(cfg.listen.host, [cfg.listen.port, ...(cfg.listen.extraPorts ?? [])], cfg.listen.udpPorts);
  const flows = [
    ...(cfg.flows ?? []),
    ...(cfg.flowsFile ? (JSON.parse(readFileSync(cfg.flowsFile, "utf8")) as AgentFlow[]) : []),
  ];
  if (flows.length === 0 && !cfg.live) return;
  const c = cfg.timeCompression ?? 1;
  const retry: Retry = { forMs: cfg.retryForMs ?? 0, redialMs: cfg.redialMs ?? REDIAL_MS };
  const onOp = (op: AgentOp, epoch: bigint) => {
    if (op.op === "send") void scheduleFlow(op.flow, epoch, c, retry);
    else respond(op, epoch, c);
  };
  const epoch = cfg.waitForEpoch
    ? await readStdin(cfg.live ? onOp : null)
    : cfg.epochNs !== undefined
      ? BigInt(cfg.epochNs)
      : process.hrtime.bigint();
  await Promise.all(flows.map((f) => scheduleFlow(f, epoch, c, retry)));
  report({ event: "done", flows: flows.length });
  if (!cfg.listen) process.exit(0);
}

export const AGENT_SCRIPT = fileURLToPath(import.meta.url);

/** Starts an agent in `node`'s namespace; its reports arrive through `onReport`. */
export function startAgent(
  plan: Plan,
  node: string,
  cfg: AgentConfig,
  onReport: (r: AgentReport) => void,
): ChildProcess {
  const child = spawnIn(
    plan,
    node,
    [process.execPath, "--import", "tsx", AGENT_SCRIPT, JSON.stringify(cfg)],
    // detached: its own process group, so a terminal's Ctrl-C stops the controller (which stops the agents) only.
    { stdio: [cfg.waitForEpoch ? "pipe" : "ignore", "pipe", "inherit"], detached: true },
  );
  createInterface({ input: child.stdout! }).on("line", (l) => {
    try {
      onReport(JSON.parse(l) as AgentReport);
    } catch {}
  });
  return child;
}

if (process.argv[1] === AGENT_SCRIPT) {
  const arg = process.argv[2];
  if (!arg) {
    process.stderr.write("usage: agent.ts <json config>\n");
    process.exit(2);
  }
  process.on("SIGTERM", () => process.exit(0));
  await agentMain(JSON.parse(arg) as AgentConfig);
}
