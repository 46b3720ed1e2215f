/**
 * Run state files: one JSON file per live run, `<dir>/<run id>.json`, created (exclusively: a run id in use is
 * refused) before the run's first object and removed after its last is gone, so `status` and `cleanup` find runs
 * whose creator died at any point. A capability probe registers the same way ({@link ProbeState}) before it makes
 * its scratch namespace. Every file names its creator by pid and the pid's start time, so a dead creator is told
 * apart from a live process that reuses its pid ({@link creatorAlive}). The directory is `$TOPOCAST_RUN_DIR`, else
 * `/run/topocast` when writable (root), else `<os.tmpdir()>/topocast-runs`.
 */
import {
  accessSync,
  constants,
  linkSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { FirewallRule } from "../models/policies/verb-args.ts";
import { writeJsonAtomic } from "../sim/io/atomic-write.ts";
import type { Capabilities } from "./capability-types.ts";
import { EmulationError } from "./errors.ts";
import { RUN_ID_PATTERN } from "./names.ts";
import type { Plan } from "./plan.ts";
import type { RelayProgram } from "./wire-relay.ts";

export interface VirtualLinkState {
  id: string;
  src: string;
  dst: string;
  path: string[];
  vni: number;
  rateBps: number | null;
  /** Device names at src and dst. */
  devs: [string, string];
  /** Overlay /31 (src end, dst end) and tunnel endpoint addresses (src, dst). */
  overlay: [string, string];
  vteps: [string, string];
  /** Routing table and rule priority of the interceptor at both ends. */
  table: number;
  rulePriority: number;
  createdMs: number;
  /** Creation time on the controller's clock (ns; in `topocast emulate`, simulated time), when it has one. */
  createdNs?: number;
  /** A `secure: true` link's mutual-TLS tunnel (emulate/sidecar/secure-link.ts); absent for a plain one. */
  secure?: SecureLinkState;
}

/** What a secure virtual link adds: its sidecars and its interception at the source (emulate/sidecar/secure-link.ts). */
export interface SecureLinkState {
  /** SPIFFE IDs of the sidecars at the source and at the destination. */
  sidecars: [string, string];
  /** The nftables NAT table in the source namespace. */
  table: string;
  /** Destination ports tunnelled, and the source sidecar's local listener for each (same order). */
  ports: number[];
  listeners: number[];
}

/** An explicit route of a pair: policy rules (priority `rulePriority`) into its own table along `path`. */
export interface RouteState {
  path: string[];
  table: number;
  rulePriority: number;
}

export interface QosState {
  pair: string;
  minor: number;
  /** (namespace, device) of every class installed. */
  devs: [string, string][];
  /** Guaranteed rate of the class on each of `devs`, bits/s (absent in files of older versions). */
  rates?: number[];
  /** The spec as set (priority, guaranteed rate, ceiling; bits/s). */
  spec?: { priority: number; rateBps?: number; ceilBps?: number };
  /** A matched class's match (its filters in emulate/commands.ts MATCHED_TABLE); absent: the pair's class. */
  match?: { port: number; protocol?: "tcp" | "udp" };
}

/**
 * A pair's mirror (emulate/mirror.ts): a VXLAN device at each end (VNI `vni`) between tunnel-endpoint addresses
 * pinned along `path`; at the source a `mirred` filter (priority `prio`) on each egress device in `egress`; nft
 * chains named `m<k>` (and sets `m<k>_*`) in the run's mirror tables at both ends.
 */
export interface MirrorState {
  pair: string;
  src: string;
  dst: string;
  path: string[];
  k: number;
  vni: number;
  devs: [string, string];
  vteps: [string, string];
  prio: number;
  egress: string[];
}

/** A probe path's own source address at the path's source and the policy routes that pin it (emulate/probe.ts). */
export interface ProbePathState {
  path: string[];
  address: string;
  table: number;
  rulePriority: number;
}

/** Who created a run's objects: what every state file records first. */
export interface RunCreator {
  runId: string;
  /** Process that built (and may still drive) the run. */
  pid: number;
  /**
   * Start time of `pid` (clock ticks after boot, /proc/<pid>/stat field 22), so a later process reusing the pid
   * is not taken for the creator. Absent in files of older versions and where /proc is not mounted.
   */
  pidStart?: number;
  createdAt: string;
}

/** A capability probe in progress (capabilities.ts): its only object is the namespace `tc<run>-probe`. */
export interface ProbeState extends RunCreator {
  status: "probing";
}

export interface RunState extends RunCreator {
  status: "building" | "up" | "tearing-down";
  /** The run outlives its builder (`emulate up`); cleanup() without a run id leaves it alone. */
  persistent: boolean;
  plan: Plan;
  capabilities?: Capabilities;
  /** Relay processes: namespace and pid. */
  relays: { netns: string; pid: number }[];
  /** The program of the relays (absent when the run has no wire). */
  relay?: RelayProgram;
  virtualLinks: VirtualLinkState[];
  /** Explicit routes set through the control plane, by pair key. */
  routes: Record<string, RouteState>;
  qos: QosState[];
  /** Mirrors by pair key (absent in files of older versions). */
  mirrors?: MirrorState[];
  /** Firewall rules in the order they were set (emulate/firewall.ts). */
  firewall?: FirewallRule[];
  /**
   * The TCP port each application's flows are sent to (emulate/application-ports.ts), set when the traffic agents
   * start; a firewall rule naming an application matches its port.
   */
  applicationPorts?: Record<string, number>;
  /** Probe paths set up so far, by path key. */
  probePaths?: Record<string, ProbePathState>;
  /** The registry daemons (`topocast registry start`, emulate/dht/daemons.ts), while they run. */
  registry?: {
    port: number;
    nodes: { node: string; pid: number; pidStart?: number; socket: string }[];
  };
  nextMirror?: number;
  nextVni: number;
  nextQosMinor: number;
  /** Next routing table id and index for virtual-link device names. */
  nextTable: number;
  nextVirtualLink: number;
}

export function runDir(): string {
  const env = process.env.TOPOCAST_RUN_DIR;
  if (env) return env;
  try {
    mkdirSync("/run/topocast", { recursive: true });
    accessSync("/run/topocast", constants.W_OK);
    return "/run/topocast";
  } catch {
    return join(tmpdir(), "topocast-runs");
  }
}

export function statePath(runId: string, dir = runDir()): string {
  return join(dir, `${runId}.json`);
}

/** The directory of a run's registry daemons' sockets and logs (emulate/dht/daemons.ts). */
export function registryDir(runId: string, dir = runDir()): string {
  return join(dir, `${runId}.registry`);
}

/** What a state file holds: a probe in progress or a run. */
export type StateFile = ProbeState | RunState;

/** The creator fields of a state file written by this process now. */
export function creator(runId: string): RunCreator {
  const pidStart = processStart(process.pid);
  return {
    runId,
    pid: process.pid,
    ...(pidStart === null ? {} : { pidStart }),
    createdAt: new Date().toISOString(),
  };
}

/**
 * Writes the first state file of a run, atomically and only if the run id has none (the complete file is linked
 * into place; link(2) fails when the name exists). Throws EmulationError when the run id is in use.
 */
export function createState(state: StateFile, dir = runDir()): void {
  const path = statePath(state.runId, dir);
  mkdirSync(dir, { recursive: true });
  const tmp = `${path}.${process.pid}.new`;
  writeFileSync(tmp, `${JSON.stringify(state, null, 2)}\n`);
  try {
    linkSync(tmp, path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
    throw new EmulationError(`run id ${state.runId} is in use (state file ${path} exists)`);
  } finally {
    rmSync(tmp, { force: true });
  }
}

export function writeState(state: RunState, dir = runDir()): void {
  writeJsonAtomic(statePath(state.runId, dir), state);
}

/** The state file of a run or probe, if any. */
export function readStateFile(runId: string, dir = runDir()): StateFile | undefined {
  try {
    return JSON.parse(readFileSync(statePath(runId, dir), "utf8")) as StateFile;
  } catch {
    return undefined;
  }
}

/** The state of a run (undefined while only a probe holds the run id). */
export function readState(runId: string, dir = runDir()): RunState | undefined {
  const s = readStateFile(runId, dir);
  return s && s.status !== "probing" ? s : undefined;
}

export function removeState(runId: string, dir = runDir()): void {
  rmSync(statePath(runId, dir), { force: true });
}

/** Run ids with a state file, sorted. */
export function listStates(dir = runDir()): string[] {
  try {
    return readdirSync(dir)
      .filter((f) => f.endsWith(".json") && RUN_ID_PATTERN.test(f.slice(0, -5)))
      .map((f) => f.slice(0, -5))
      .sort();
  } catch {
    return [];
  }
}

/**
 * Start time of process `pid` in clock ticks after boot (field 22 of /proc/<pid>/stat, read after the last `)`
 * since the command name may hold spaces and parentheses), or null when there is no such process or no /proc.
 */
export function processStart(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const ticks = Number(fields[19]); // fields[0] is field 3 (state), so field 22 is fields[19]
    return Number.isSafeInteger(ticks) ? ticks : null;
  } catch {
    return null;
  }
}

/**
 * Whether the process that created a run still runs: `pid` is alive and, when the file recorded it, started at
 * `pidStart` (a different start time means the pid was reused by another process after the creator died).
 */
export function creatorAlive(c: Pick<RunCreator, "pid" | "pidStart">): boolean {
  if (!isAlive(c.pid)) return false;
  if (c.pidStart === undefined) return true;
  const start = processStart(c.pid);
  return start === null || start === c.pidStart;
}

/** Whether a process is alive (signal 0). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}
