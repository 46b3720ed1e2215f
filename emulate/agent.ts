/**
 * The traffic agent: one Node process per host namespace (`ip netns exec <ns> node --import tsx emulate/agent.ts
 * <json config>`), a TCP server for flows arriving at its node and a client replaying the flows leaving it.
 *
 * Protocol per flow (one TCP connection): the client sends a 16-byte header (flow id, size in bytes, both
 * big-endian uint64) and then `size` bytes; the server answers one byte once it has them all and closes. The
 * flow completion time is measured at the client, from its scheduled start to that byte (so connection set-up
 * counts, as in the simulator's FCT). With a time-compression factor c, a flow scheduled at `startNs` starts c
 * times sooner (at startNs / c of wall time); sizes and rates are not scaled, and FCTs are reported as measured.
 *
 * Reports are JSON lines on stdout: `{"event":"listening",...}`, `{"event":"flow","id",...,"fctNs"}` per finished
 * flow, `{"event":"flow-error",...}` per failed flow, and `{"event":"done","flows":n}` when the client is idle.
 */
import type { ChildProcess } from "node:child_process";
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
}

export interface AgentConfig {
  /** Serve flows on this address and port. */
  listen?: { host: string; port: number };
  flows?: AgentFlow[];
  /** Wall time runs this many times faster than flow start times. @default 1 */
  timeCompression?: number;
}

export type AgentReport =
  | { event: "listening"; host: string; port: number }
  | { event: "flow"; id: number; dst: string; bytes: number; startNs: number; fctNs: number }
  | { event: "flow-error"; id: number; error: string }
  | { event: "done"; flows: number };

const HEADER = 16;
const CHUNK = Buffer.alloc(64 * 1024);

function report(r: AgentReport): void {
  process.stdout.write(`${JSON.stringify(r)}\n`);
}

function serve(host: string, port: number): void {
  const server = createServer((sock: Socket) => {
    let header = Buffer.alloc(0);
    let want = -1;
    let got = 0;
    sock.on("data", (b: Buffer) => {
      if (want < 0) {
        header = Buffer.concat([header, b]);
        if (header.length < HEADER) return;
        want = Number(header.readBigUInt64BE(8));
        got = header.length - HEADER;
      } else got += b.length;
      if (got >= want) sock.end(Buffer.from([1]));
    });
    sock.on("error", () => {});
  });
  server.listen(port, host, () => report({ event: "listening", host, port }));
}

function sendFlow(f: AgentFlow, t0: bigint): Promise<void> {
  return new Promise((resolve) => {
    const sock = createConnection({ host: f.dst, port: f.port });
    let left = f.bytes;
    const pump = () => {
      while (left > 0) {
        const n = Math.min(left, CHUNK.length);
        left -= n;
        if (!sock.write(n === CHUNK.length ? CHUNK : CHUNK.subarray(0, n)))
          return void sock.once("drain", pump);
      }
    };
    sock.on("connect", () => {
      const h = Buffer.alloc(HEADER);
      h.writeBigUInt64BE(BigInt(f.id), 0);
      h.writeBigUInt64BE(BigInt(f.bytes), 8);
      sock.write(h);
      pump();
    });
    sock.once("data", () => {
      report({
        event: "flow",
        id: f.id,
        dst: f.dst,
        bytes: f.bytes,
        startNs: f.startNs,
        fctNs: Number(process.hrtime.bigint() - t0),
      });
      sock.destroy();
      resolve();
    });
    sock.on("error", (e) => {
      report({ event: "flow-error", id: f.id, error: e.message });
      resolve();
    });
  });
}

/** Runs an agent in this process (the namespace it was started in). */
export async function agentMain(cfg: AgentConfig): Promise<void> {
  if (cfg.listen) serve(cfg.listen.host, cfg.listen.port);
  const flows = cfg.flows ?? [];
  if (flows.length === 0) return;
  const c = cfg.timeCompression ?? 1;
  const start = process.hrtime.bigint();
  await Promise.all(
    flows.map(
      (f) =>
        new Promise<void>((resolve) => {
          const at = start + BigInt(Math.round(f.startNs / c));
          const go = () => {
            const late = Number(at - process.hrtime.bigint()) / 1e6;
            if (late > 1) setTimeout(go, late - 0.5);
            else void sendFlow(f, at).then(resolve);
          };
          go();
        }),
    ),
  );
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
    {
      stdio: ["ignore", "pipe", "inherit"],
    },
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
