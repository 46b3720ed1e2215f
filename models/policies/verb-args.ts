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

/** Transport protocols a firewall rule can name. */
export const FIREWALL_PROTOCOLS = ["tcp", "udp"] as const;
export type FirewallProtocol = (typeof FIREWALL_PROTOCOLS)[number];

/**
 * A firewall rule over the new flows it matches: every field given must match, every field absent matches
 * anything (`src`/`dst` absent: every node). Rules apply in the order they are set (the last rule matching a flow
 * decides); with no rule every flow is allowed.
 *
 * `application`, `port` and `protocol` match the flow's own fields (a flow that does not carry the field is not
 * matched by a rule naming it). In emulation an application is matched by its port (the port its flows are sent
 * to), so a rule naming an application whose port the emulator does not know is refused.
 */
export interface FirewallRule {
  action: "allow" | "deny";
  src?: string;
  dst?: string;
  /** The flows' application (a flow's `application`: an application pair `"A->B"`, `"tm"`, ...). */
  application?: string;
  /** Destination port, 1..65535. */
  port?: number;
  /** Transport protocol. */
  protocol?: FirewallProtocol;
}

/** What a firewall rule matches a new flow on besides its endpoints; absent fields are not carried by the flow. */
export interface FlowMatchFields {
  application?: string;
  port?: number;
  protocol?: string;
}

/** Whether `rule`'s application, port and protocol (where given) equal the flow's. Endpoints are not looked at. */
export function matchesFlowFields(rule: FirewallRule, flow: FlowMatchFields): boolean {
  return (
    (rule.application === undefined || rule.application === flow.application) &&
    (rule.port === undefined || rule.port === flow.port) &&
    (rule.protocol === undefined || rule.protocol === flow.protocol)
  );
}

/** Whether a rule names an application, a port or a protocol (else it matches by endpoints only). */
export function hasFlowFields(rule: FirewallRule): boolean {
  return rule.application !== undefined || rule.port !== undefined || rule.protocol !== undefined;
}
