/**
 * Attack workloads in the emulator (issue 16): processes in a node's namespace that hold no mesh identity, running
 * as their own uid ({@link UNATTESTED_UID}), so a block of the node's `unauthenticated` workloads (nftables
 * `meta skuid != 0` at the source, emulate/firewall.ts) refuses them and leaves the node's sidecars, traffic agents
 * and applications (the mesh's uid 0) flowing.
 *
 * {@link runAttempts} plays a list of connection attempts (models/security/attacks.ts: the simulator's attack
 * events, the same draws) at their times: each one a TLS 1.3 client without a certificate (the attacker: the
 * sidecar refuses it) or a plain TCP connect (the scanner's first contact of a port); it reports per attempt what
 * became of it: `refused` (ECONNREFUSED: a deny rule at the source, or no listener), `closed` (the peer took the
 * connection and closed it: a sidecar refusing the handshake, a tripwire), `timeout`, or another error code.
 */
import type { ChildProcess } from "node:child_process";
import type { Plan } from "../plan.ts";
import { spawnIn } from "../substrate.ts";

/** The uid (and gid) a workload without a mesh identity runs as: nobody. */
export const UNATTESTED_UID = 65534;

/** `argv` run as {@link UNATTESTED_UID} with no supplementary groups (util-linux setpriv). */
export function unattested(argv: readonly string[]): string[] {
  return ["setpriv", `--reuid=${UNATTESTED_UID}`, `--regid=${UNATTESTED_UID}`, "--clear-groups", ...argv];
}

/** One attempt: when (Unix ms; one already past goes at once), where, and whether it speaks TLS. */
export interface Attempt {
  atUnixMs: number;
  host: string;
  port: number;
  tls: boolean;
}

/** What became of an attempt: `refused`, `closed`, `timeout` or an error code; when it started and ended, Unix ms. */
export interface AttemptOutcome {
  startUnixMs: number;
  endUnixMs: number;
  port: number;
  outcome: string;
}

/** The attempt player, run as `node -e` (argv: JSON attempts); one JSON line per attempt when it ends. */
const PLAYER = `
const net = require("node:net"), tls = require("node:tls");
const list = JSON.parse(process.argv[1]);
let left = list.length;
if (left === 0) process.exit(0);
for (const a of list) setTimeout(() => {
  let outcome = "closed";
  const start = Date.now();
  const s = a.tls
    ? tls.connect({ host: a.host, port: a.port, rejectUnauthorized: false, minVersion: "TLSv1.3" })
    : net.connect({ host: a.host, port: a.port });
  if (!a.tls) s.once("connect", () => s.end());
  s.on("error", (e) => { outcome = e.code === "ECONNREFUSED" ? "refused" : (e.code || "error"); });
  const timer = setTimeout(() => { outcome = "timeout"; s.destroy(); }, 3000);
  s.on("close", () => {
    clearTimeout(timer);
    console.log(JSON.stringify({ startUnixMs: start, endUnixMs: Date.now(), port: a.port, outcome }));
    if (--left === 0) process.exit(0);
  });
}, Math.max(0, a.atUnixMs - Date.now()));
`;

/** A running attack process; `done` resolves with every attempt's outcome when the last one ended. */
export interface AttackProcess {
  child: ChildProcess;
  done: Promise<AttemptOutcome[]>;
}

/** Starts the attempts at `node` as an unattested workload (see the module doc). */
export function runAttempts(plan: Plan, node: string, attempts: readonly Attempt[]): AttackProcess {
  const child = spawnIn(plan, node, unattested([process.execPath, "-e", PLAYER, JSON.stringify(attempts)]), {
    stdio: ["ignore", "pipe", "inherit"],
  });
  let out = "";
  child.stdout!.on("data", (d: Buffer) => {
    out += d;
  });
  const done = new Promise<AttemptOutcome[]>((resolve, reject) => {
    child.once("error", reject);
    child.once("exit", () =>
      resolve(
        out
          .split("\n")
          .filter((l) => l.trim() !== "")
          .map((l) => JSON.parse(l) as AttemptOutcome),
      ),
    );
  });
  return { child, done };
}
