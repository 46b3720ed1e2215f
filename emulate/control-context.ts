/**
 * What the verb modules (mirror.ts, firewall.ts, probe.ts, qos.ts) need of the emulation control plane: the run's
 * plan and state, the command runner, node lookups and path validation. {@link EmulationControlPlane} provides it;
 * each module owns its verb's commands, state and counters.
 */
import type { LinkDownError, NodePath } from "../models/policies/types.ts";
import type { VerbCommands } from "./channels.ts";
import type { LinkEnd, Plan } from "./plan.ts";
import type { RunState } from "./run-state.ts";
import type { Runner } from "./runner.ts";

/** A hop of a path: the egress end at `from` and the far end at the next node. */
export interface Hop {
  near: LinkEnd;
  far: LinkEnd;
  mtu: number;
}

export interface ControlContext {
  readonly runner: Runner;
  /** ip/tc batches and nft transactions in a namespace (long-lived channels in a live run, emulate/channels.ts). */
  readonly commands: VerbCommands;
  readonly plan: Plan;
  readonly state: RunState;
  /** Node index of an id. @throws UnknownNodeError */
  node(id: string): number;
  /** Namespace and node address of a node index. */
  ns(i: number): string;
  addr(i: number): string;
  /**
   * A node-id path from `u` to `v` as node indices and hops (the default path when `path` is undefined).
   * @throws NoPathError (not a path between them), LinkDownError (crosses a link that is down)
   */
  resolvePath(u: number, v: number, path: NodePath | undefined): { nodes: number[]; hops: Hop[] };
  /**
   * Whether a given path crosses a link that is down: the LinkDownError {@link resolvePath} throws for it (naming
   * the link), or null.
   * @throws NoPathError (not a path between them)
   */
  downLink(u: number, v: number, path: NodePath): LinkDownError | null;
  /** Where the pair's new traffic goes now (virtual link, pinned route or default path). */
  pathNow(src: string, dst: string): { path: NodePath | null; virtualLink: string | null };
  /** Two fresh addresses from the top of the run's block. */
  takeAddresses(): { a: string; b: string };
  /** Writes the run state (after a change). */
  save(): void;
  /** The controller's clock, ns (simulated time under `topocast emulate`). */
  nowNs(): number;
}
