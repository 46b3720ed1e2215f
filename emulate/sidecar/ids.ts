/**
 * Intrusion detection and prevention for the emulator's sidecar mesh (issue 16): the sidecars' refusals and
 * tripwire touches become connection events for the engine-neutral detector (models/security/ids.ts), and a
 * detection blocks its source workload through the control plane's `setFirewall` (models/security/prevention.ts;
 * in the emulator nftables at the source's namespace matching the node's unauthenticated sockets only,
 * emulate/firewall.ts), or, for an authenticated workload, through the mesh's revocation (`revoke`).
 *
 * - **Refusals**: every sidecar appends one JSON line per refused connection to the mesh's `refusals.jsonl`
 *   (sidecar.ts `Refusal`); this module reads what was appended every `pollMs`. Certificate and handshake reasons
 *   are `refused-auth`, policy and request reasons `refused-policy`. The peer's address is mapped to its node.
 * - **Tripwires** (PortSentry's idea: Psionic PortSentry binds unused ports and treats any connection there as a
 *   probe): a small listener process per watched node on ports no application uses, on the node address; each
 *   accepted connection is closed at once and reported as a `tripwire` event. A sidecar mesh carries every
 *   application's traffic through the sidecar's one TLS port, so only a scanner touches these ports.
 *
 * Times are wall-clock ns since construction (the emulator's clock runs in wall time), or the run's clock
 * (`clockNs`). Stop with
 * {@link SidecarIds.close}: the tripwires exit, and also when this process dies (their stdin closes).
 */
import type { ChildProcess } from "node:child_process";
import { closeSync, openSync, readSync, statSync } from "node:fs";
import { createInterface } from "node:readline";
import type { ConnectionEvent, ConnectionOutcome, IdsOptions } from "../../models/security/ids.ts";
import { type FirewallControl, IntrusionPrevention } from "../../models/security/prevention.ts";
import type { Plan } from "../plan.ts";
import { spawnIn } from "../substrate.ts";
import type { SidecarMesh } from "./mesh.ts";
import type { Refusal, RefusalReason } from "./sidecar.ts";

/** A refusal's reason as the detector's outcome. */
export function outcomeOf(reason: RefusalReason): ConnectionOutcome {
  return reason === "not-allowed" ||
    reason === "bad-request" ||
    reason === "target-not-allowed" ||
    reason === "relay-not-allowed"
    ? "refused-policy"
    : "refused-auth";
}

/** The node id of an address of the plan (a node address or a link end's), or the address itself when unknown. */
export function nodeOfAddress(plan: Plan, address: string): string {
  const ip = address.replace(/^::ffff:/, "").replace(/:\d+$/, "");
  const n = plan.nodes.find((x) => x.address === ip);
  if (n) return n.id;
  for (const l of plan.links) {
    if (l.a.address.split("/")[0] === ip) return plan.nodes[l.a.node]!.id;
    if (l.b.address.split("/")[0] === ip) return plan.nodes[l.b.node]!.id;
  }
  return ip;
}

/** One refusals.jsonl record as a connection event (`sidecars`: SPIFFE ID -> node id and TLS port). */
export function refusalEvent(
  r: Refusal,
  timeNs: number,
  plan: Plan,
  sidecars: ReadonlyMap<string, { node: string; port: number }>,
): ConnectionEvent {
  const at = sidecars.get(r.sidecar);
  return {
    timeNs,
    src: nodeOfAddress(plan, r.peer),
    dst: at?.node ?? r.sidecar,
    port: at?.port ?? 0,
    outcome: outcomeOf(r.reason),
    ...(r.peerId !== undefined ? { identity: r.peerId } : {}),
  };
}

/** The tripwire listener, run as `node -e` in a namespace: argv = address, ports...; one JSON line per touch. */
const TRIPWIRE = `
const net = require("node:net");
const [host, ...ports] = process.argv.slice(1);
let up = 0;
for (const p of ports) {
  const s = net.createServer((c) => {
    console.log(JSON.stringify({ peer: c.remoteAddress, port: Number(p), t: Date.now() }));
    c.on("error", () => {});
    c.destroy();
  });
  s.listen(Number(p), host, () => { if (++up === ports.length) console.log("ready"); });
}
process.stdin.on("end", () => process.exit(0));
process.stdin.resume();
`;

export interface SidecarIdsOptions extends IdsOptions {
  plan: Plan;
  /** The mesh's refusals.jsonl (mesh.paths.refusals). */
  refusalsPath: string;
  /** Each sidecar's SPIFFE ID -> its node and TLS port. */
  sidecars: ReadonlyMap<string, { node: string; port: number }>;
  /** Nodes to guard with tripwires, and the ports (unused by any application). */
  tripwires?: { nodes: readonly string[]; ports: readonly number[] };
  /** How often the refusal log is read, ms. @default 50 */
  pollMs?: number;
  /**
   * Refuses an authenticated workload by its SPIFFE ID (the mesh's revocation, {@link SidecarMesh.revoke}): a
   * block naming a SPIFFE identity goes here, one naming `unauthenticated` to the firewall (nftables cannot see a
   * SPIFFE ID). Absent: such a block goes to the firewall, which refuses it.
   */
  revoke?: (spiffeId: string) => Promise<unknown>;
  /** The events' clock, integer ns >= 0 (an experiment run's clock). @default wall ns since construction */
  clockNs?: () => number;
  /**
   * The clock's time of a wall instant (Unix ms): when given, an event is timed when the sidecar or tripwire saw
   * it (the refusal's `time`, the tripwire's stamp), not when this process read it, which a busy controller does
   * late and in bursts.
   */
  atWallMs?: (unixMs: number) => number;
  /** Told of every event as it is fed (what it is, before the detector sees it). */
  onEvent?: (ev: ConnectionEvent) => void;
}

export class SidecarIds {
  readonly prevention: IntrusionPrevention;
  private readonly t0 = process.hrtime.bigint();
  private readonly wires: ChildProcess[] = [];
  private offset = 0;
  private timer: ReturnType<typeof setInterval> | null = null;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly opts: SidecarIdsOptions,
    firewall: FirewallControl,
  ) {
    const revoke = opts.revoke;
    const blocks: FirewallControl = {
      setFirewall: (rule) =>
        revoke && rule.identity?.startsWith("spiffe://")
          ? revoke(rule.identity).then(() => {})
          : firewall.setFirewall(rule),
    };
    this.prevention = new IntrusionPrevention(blocks, () => this.nowNs(), opts);
  }

  /** The events' clock: {@link SidecarIdsOptions.clockNs}, else wall ns since construction. */
  nowNs(): number {
    return this.opts.clockNs
      ? Math.max(0, Math.round(this.opts.clockNs()))
      : Number(process.hrtime.bigint() - this.t0);
  }

  /** Starts the tripwires (resolves once they listen) and the log reader. */
  async start(): Promise<void> {
    this.offset = fileSize(this.opts.refusalsPath);
    const tw = this.opts.tripwires;
    for (const node of tw?.nodes ?? []) await this.startTripwire(node, tw!.ports);
    this.timer = setInterval(() => this.readRefusals(), this.opts.pollMs ?? 50);
  }

  /** Reads the last refusals, waits for the blocks in progress, stops the tripwires. */
  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.readRefusals();
    await this.queue;
    for (const w of this.wires) w.stdin?.end();
  }

  /** An event's time: when it was seen (`atWallMs`), else now; never after now. */
  private timeOf(unixMs: number): number {
    const now = this.nowNs();
    const at = this.opts.atWallMs;
    return at && Number.isFinite(unixMs) ? Math.min(now, Math.max(0, Math.round(at(unixMs)))) : now;
  }

  private feed(ev: ConnectionEvent): void {
    this.opts.onEvent?.(ev);
    this.queue = this.queue.then(() => this.prevention.observe(ev));
  }

  private readRefusals(): void {
    const text = readFrom(this.opts.refusalsPath, this.offset);
    const end = text.lastIndexOf("\n") + 1; // a line being appended is read next time
    this.offset += Buffer.byteLength(text.slice(0, end));
    for (const line of text.slice(0, end).split("\n")) {
      if (line.trim() === "") continue;
      const r = JSON.parse(line) as Refusal;
      this.feed(refusalEvent(r, this.timeOf(Date.parse(r.time)), this.opts.plan, this.opts.sidecars));
    }
  }

  private async startTripwire(node: string, ports: readonly number[]): Promise<void> {
    const address = this.opts.plan.nodes.find((n) => n.id === node)?.address;
    if (!address) throw new Error(`tripwire: unknown node "${node}"`);
    const child = spawnIn(
      this.opts.plan,
      node,
      [process.execPath, "-e", TRIPWIRE, address, ...ports.map(String)],
      {
        stdio: ["pipe", "pipe", "inherit"],
      },
    );
    this.wires.push(child);
    await new Promise<void>((resolve, reject) => {
      child.once("exit", (code) => reject(new Error(`tripwire on ${node} exited with ${code}`)));
      createInterface({ input: child.stdout! }).on("line", (l) => {
        if (l === "ready") return resolve();
        const t = JSON.parse(l) as { peer: string; port: number; t: number };
        const src = nodeOfAddress(this.opts.plan, t.peer);
        this.feed({ timeNs: this.timeOf(t.t), src, dst: node, port: t.port, outcome: "tripwire" });
      });
    });
  }
}

function fileSize(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}

/** The file's content from byte `offset` ("" when it does not exist yet). */
function readFrom(path: string, offset: number): string {
  let fd: number;
  try {
    fd = openSync(path, "r");
  } catch {
    return "";
  }
  try {
    const chunks: Buffer[] = [];
    const buf = Buffer.alloc(1 << 16);
    let pos = offset;
    for (let n = readSync(fd, buf, 0, buf.length, pos); n > 0; n = readSync(fd, buf, 0, buf.length, pos)) {
      chunks.push(Buffer.from(buf.subarray(0, n)));
      pos += n;
    }
    return Buffer.concat(chunks).toString("utf8");
  } finally {
    closeSync(fd);
  }
}

/** A mesh's sidecars as {@link SidecarIdsOptions.sidecars}: SPIFFE ID -> node and TLS port. */
export function sidecarsOf(mesh: SidecarMesh): Map<string, { node: string; port: number }> {
  return new Map(mesh.sidecars.map((h) => [h.spiffeId, { node: h.node, port: h.endpoint.port }]));
}
