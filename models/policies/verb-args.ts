/**
 * The shapes of the ControlPlane verbs' arguments (models/policies/verbs.ts declares the verbs). Identifiers are
 * strings people can read in configs and logs: nodes by id (`"ATLAM5"`), paths as node-id sequences
 * (`["A", "B", "C"]`). Units: rates in bits/s, sizes in bytes, durations in integer ns.
 */

/** A directed node pair, `"<src>-><dst>"` in maps. */
export interface Pair {
  src: string;
  dst: string;
}

/** The canonical key of a pair in maps and records: `"<src>-><dst>"`. */
export function pairKey(src: string, dst: string): string {
  return `${src}->${dst}`;
}

/** A path as the node ids it visits, source first. */
export type NodePath = readonly string[];

export interface VirtualLinkOptions {
  /** Substrate path; default: the engine's choice (least-loaded of k shortest). */
  path?: NodePath;
  /** Reserved rate, bits/s; default best effort. */
  rateBps?: number;
  /** Authenticated, encrypted tunnel. */
  secure?: boolean;
}

/**
 * A pair's QoS class, with Linux htb's meaning: the pair's traffic gets `rateBps` (its guaranteed rate) first, then
 * borrows spare capacity by priority, up to `ceilBps`.
 */
export interface QosSpec {
  /** Priority when borrowing, 0 (most urgent) .. 7; traffic without a class borrows last, at 7. */
  priority: number;
  /** Guaranteed rate, bits/s; default: none in the simulator (a pure priority class). */
  rateBps?: number;
  /** Ceiling, bits/s; default: the link rate. */
  ceilBps?: number;
}

/**
 * A firewall rule over the pairs it matches: `src`/`dst` absent match every node. Rules apply in the order they
 * are set (the last rule matching a pair decides); with no rule every pair is allowed.
 */
export interface FirewallRule {
  action: "allow" | "deny";
  src?: string;
  dst?: string;
}
