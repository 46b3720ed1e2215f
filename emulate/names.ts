/**
 * Names of everything an emulation run creates. Every object carries the run prefix `tc<6 hex>` (the run id), so
 * teardown and cleanup can remove exactly one run's objects and nothing else:
 *
 * - namespaces: `tc1a2b3c-<node>` where `<node>` is the node id with characters outside `[A-Za-z0-9_.-]` replaced
 *   by `_` (or `n<index>` for every node when that would make two names equal or a name too long);
 * - interfaces (inside the namespaces only): `tc1a2b3c-<kind><index base 36><side>`, at most 15 characters
 *   (IFNAMSIZ - 1): 8 for the prefix, 1 dash, 1 kind letter, up to 4 index digits (36^4 - 1 = 1,679,615), 1 side
 *   letter (`a` at the link's source end, `b` at its target end). Kinds: {@link IfKind}.
 * - MAC addresses: `02:74:63:` (locally administered, "tc") followed by 24 bits of `2 * index + side`, unique
 *   within a run for each kind; the same in every run (runs never share a broadcast domain).
 */
import { randomBytes } from "node:crypto";
import { EmulationError } from "./errors.ts";

/** A run id: six lower-case hex digits. */
export type RunId = string;

export const RUN_ID_PATTERN = /^[0-9a-f]{6}$/;
/** Linux IFNAMSIZ (16) minus the terminating NUL. */
export const MAX_IFNAME = 15;
/** Largest index an interface name can carry (four base-36 digits). */
export const MAX_IF_INDEX = 36 ** 4 - 1;
const MAX_NETNS_NAME = 64;

/**
 * Interface kinds: `e` a veth of a plain link, `u` the underlay veth of a wired link, `w` the VXLAN device of a
 * wired link (the userspace wire), `v` the VXLAN device of a control-plane virtual link, `m` the VXLAN device of a
 * mirror (no fixed MAC: nothing resolves its neighbour).
 */
export type IfKind = "e" | "u" | "w" | "v" | "m";

export function newRunId(): RunId {
  return randomBytes(3).toString("hex");
}

export function checkRunId(runId: string): RunId {
  if (!RUN_ID_PATTERN.test(runId)) {
    throw new EmulationError(`run id must be six lower-case hex digits, got ${JSON.stringify(runId)}`);
  }
  return runId;
}

/** The prefix of every object of a run, e.g. `tc1a2b3c`. */
export function runPrefix(runId: RunId): string {
  return `tc${checkRunId(runId)}`;
}

/** Whether a namespace or interface name belongs to the run (exact prefix plus the dash). */
export function belongsToRun(name: string, runId: RunId): boolean {
  return name.startsWith(`${runPrefix(runId)}-`);
}

/** The run id a name carries, if it follows the scheme. */
export function runIdOf(name: string): RunId | undefined {
  const m = /^tc([0-9a-f]{6})-/.exec(name);
  return m?.[1];
}

function sanitize(id: string): string {
  return id.replace(/[^A-Za-z0-9_.-]/g, "_");
}

/**
 * Namespace names for node ids (in the given order): `<prefix>-<sanitized id>`, or `<prefix>-n<index>` for all
 * nodes when sanitized ids collide, are empty, or make a name longer than 64 characters.
 */
export function netnsNames(runId: RunId, nodeIds: readonly string[]): string[] {
  const p = runPrefix(runId);
  const byId = nodeIds.map((id) => `${p}-${sanitize(id)}`);
  const ok =
    new Set(byId).size === byId.length &&
    nodeIds.every((id, i) => id !== "" && byId[i]!.length <= MAX_NETNS_NAME);
  return ok ? byId : nodeIds.map((_, i) => `${p}-n${i}`);
}

/** An interface name, e.g. `ifName("1a2b3c", "e", 37, "b")` = `tc1a2b3c-e11b`. */
export function ifName(runId: RunId, kind: IfKind, index: number, side: "a" | "b"): string {
  if (!Number.isInteger(index) || index < 0 || index > MAX_IF_INDEX) {
    throw new EmulationError(`interface index must be an integer in [0, ${MAX_IF_INDEX}], got ${index}`);
  }
  const name = `${runPrefix(runId)}-${kind}${index.toString(36)}${side}`;
  if (name.length > MAX_IFNAME)
    throw new EmulationError(`interface name ${name} exceeds ${MAX_IFNAME} chars`);
  return name;
}

/** A deterministic locally administered MAC for an interface: `02:74:63:` + 24 bits of `2 * index + side`. */
export function macAddress(kind: Exclude<IfKind, "m">, index: number, side: "a" | "b"): string {
  const kindBits = { e: 0, u: 1, w: 2, v: 3 }[kind];
  const v = (((kindBits << 22) | (2 * index + (side === "a" ? 0 : 1))) >>> 0) & 0xffffff;
  if (2 * index + 1 >= 1 << 22) throw new EmulationError(`MAC index ${index} too large`);
  const hex = v.toString(16).padStart(6, "0");
  return `02:74:63:${hex.slice(0, 2)}:${hex.slice(2, 4)}:${hex.slice(4, 6)}`;
}
