/**
 * Where a run's sidecar mesh keeps its files: `<run dir>/<run id>.sidecar/` (the run directory of run-state.ts,
 * beside the run's state file; mode 0700), holding
 *
 * - `keys/<app>.<instance>.key` and `.crt`: each instance's PKCS #8 key and certificate, mode 0600, written with
 *   O_EXCL (never over an existing file) and only here;
 * - `bundle/ca.crt`, `bundle/crl.pem`: the trust bundle the sidecars load;
 * - `refusals.jsonl`: one JSON record a line per refused connection, appended by every sidecar of the run;
 * - `mesh.json`: the mesh's state (its creator, and each sidecar's pid and start time), written before the first
 *   sidecar starts, so {@link cleanupSidecars} can stop a mesh whose driver died (kill -9) and remove its keys.
 *
 * Nothing outside this directory is written; removing it removes every key of the run.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { writeJsonAtomic } from "../../sim/io/atomic-write.ts";
import { checkRunId } from "../names.ts";
import { creatorAlive, processStart, type RunCreator, runDir } from "../run-state.ts";
import type { LeafCredentials, TrustBundle } from "./ca.ts";
import { parseSpiffeId } from "./identity.ts";

/** One sidecar process of a mesh, as {@link MeshState} records it. */
export interface SidecarProcess {
  spiffeId: string;
  netns: string;
  pid: number;
  /** Start time of `pid` (run-state.ts `processStart`), so a reused pid is never signalled. */
  pidStart: number | null;
}

export interface MeshState extends RunCreator {
  sidecars: SidecarProcess[];
}

/** The mesh directory of a run. */
export function meshDir(runId: string, dir = runDir()): string {
  return join(dir, `${checkRunId(runId)}.sidecar`);
}

export interface MeshPaths {
  root: string;
  keys: string;
  caPath: string;
  crlPath: string;
  refusals: string;
  state: string;
}

export function meshPaths(runId: string, dir = runDir()): MeshPaths {
  const root = meshDir(runId, dir);
  return {
    root,
    keys: join(root, "keys"),
    caPath: join(root, "bundle", "ca.crt"),
    crlPath: join(root, "bundle", "crl.pem"),
    refusals: join(root, "refusals.jsonl"),
    state: join(root, "mesh.json"),
  };
}

/** Creates the mesh directory (0700) and its state file; throws when the run already has a mesh. */
export function createMeshDir(state: MeshState, dir = runDir()): MeshPaths {
  const p = meshPaths(state.runId, dir);
  mkdirSync(dir, { recursive: true });
  mkdirSync(p.root, { mode: 0o700 });
  mkdirSync(p.keys, { mode: 0o700 });
  mkdirSync(join(p.root, "bundle"), { mode: 0o700 });
  writeJsonAtomic(p.state, state);
  return p;
}

export function writeMeshState(state: MeshState, dir = runDir()): void {
  writeJsonAtomic(meshPaths(state.runId, dir).state, state);
}

export function readMeshState(runId: string, dir = runDir()): MeshState | undefined {
  try {
    return JSON.parse(readFileSync(meshPaths(runId, dir).state, "utf8")) as MeshState;
  } catch {
    return undefined;
  }
}

/** Writes an instance's key and certificate (0600, exclusive) and returns their paths. */
export function writeCredentials(p: MeshPaths, leaf: LeafCredentials): { keyPath: string; certPath: string } {
  const id = parseSpiffeId(leaf.spiffeId)!;
  const base = join(p.keys, `${id.app}.${id.instance}`);
  const keyPath = `${base}.key`;
  const certPath = `${base}.crt`;
  writeFileSync(keyPath, leaf.keyPem, { mode: 0o600, flag: "wx" });
  writeFileSync(certPath, leaf.certPem, { mode: 0o600, flag: "wx" });
  return { keyPath, certPath };
}

/** Writes the trust bundle (CA certificate and CRL) the sidecars load. */
export function writeBundle(p: MeshPaths, bundle: TrustBundle): void {
  writeFileSync(p.caPath, bundle.caPem, { mode: 0o600 });
  writeFileSync(p.crlPath, bundle.crlPem, { mode: 0o600 });
}

/** Key files left in a run's mesh directory (for tests and `status`). */
export function keyFiles(runId: string, dir = runDir()): string[] {
  const keys = meshPaths(runId, dir).keys;
  return existsSync(keys) ? readdirSync(keys).filter((f) => f.endsWith(".key")) : [];
}

/** Sends `signal` to a recorded sidecar if it is still that process (same start time). */
export function signalSidecar(s: SidecarProcess, signal: NodeJS.Signals): boolean {
  if (s.pidStart !== null && processStart(s.pid) !== s.pidStart) return false;
  try {
    process.kill(s.pid, signal);
    return true;
  } catch {
    return false;
  }
}

/** Removes a run's mesh directory with its keys (idempotent). */
export function removeMesh(runId: string, dir = runDir()): void {
  rmSync(meshDir(runId, dir), { recursive: true, force: true });
}

/** Runs with a mesh directory in `dir`, sorted. */
export function listMeshes(dir = runDir()): string[] {
  try {
    return readdirSync(dir)
      .filter((f) => /^[0-9a-f]{6}\.sidecar$/.test(f))
      .map((f) => f.slice(0, 6))
      .sort();
  } catch {
    return [];
  }
}

/**
 * Removes leftovers of sidecar meshes: with `runId`, that run's mesh whatever its state; without, every mesh whose
 * driver is dead (pid gone or reused). Kills each recorded sidecar (SIGKILL, only if its start time still matches)
 * and removes the mesh directory with its keys. Returns the run ids cleaned.
 */
export function cleanupSidecars(opts: { runId?: string; dir?: string } = {}): string[] {
  const dir = opts.dir ?? runDir();
  const targets = opts.runId
    ? [checkRunId(opts.runId)]
    : listMeshes(dir).filter((id) => {
        const s = readMeshState(id, dir);
        return !s || !creatorAlive(s);
      });
  for (const id of targets) {
    for (const s of readMeshState(id, dir)?.sidecars ?? []) signalSidecar(s, "SIGKILL");
    removeMesh(id, dir);
  }
  return targets;
}
