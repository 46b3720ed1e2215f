/**
 * Run state files: one JSON file per live run, `<dir>/<run id>.json`, written before the first object is created
 * and removed after the last is gone, so `status` and `cleanup` find runs whose controller died. The directory is
 * `$TOPOCAST_RUN_DIR`, else `/run/topocast` when writable (root), else `<os.tmpdir()>/topocast-runs`.
 */
import { accessSync, constants, mkdirSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { writeJsonAtomic } from "../sim/io/atomic-write.ts";
import type { Capabilities } from "./capabilities.ts";
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
}

export interface RunState {
  runId: string;
  /** Process that built (and may still drive) the run. */
  pid: number;
  createdAt: string;
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

export function writeState(state: RunState, dir = runDir()): void {
  writeJsonAtomic(statePath(state.runId, dir), state);
}

export function readState(runId: string, dir = runDir()): RunState | undefined {
  try {
    return JSON.parse(readFileSync(statePath(runId, dir), "utf8")) as RunState;
  } catch {
    return undefined;
  }
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

/** Whether a process is alive (signal 0). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}
