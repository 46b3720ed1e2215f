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
 * A QoS class, with Linux htb's meaning: the flows it holds (a pair's, or those of the pair a {@link QosMatch} selects) get `rateBps` (its guaranteed rate) first, then
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
 * Which of a pair's flows a QoS class holds, when not every one (a class matched by application): the flows of the
 * exchanges with one server port, optionally of one transport protocol. A flow carries its exchange's server port
 * both ways (requests are sent to it, responses come from it: a flow's `port`, models/workload/applications.ts), so
 * an application's class on a pair is matched by its server's port, as a firewall rule matches an application in
 * emulation (emulate/application-ports.ts). A flow that carries no port is matched by no class with a match.
 */
export interface QosMatch {
  /** The exchanges' server port, 1..65535: the pair's flows to it and from it. */
  port: number;
  /** Transport protocol; absent: either. */
  protocol?: FirewallProtocol;
}

/** A class's match as a key: `""` for the pair's class without a match, `"7777"` or `"7777/udp"`. */
export function qosMatchKey(match: QosMatch | null | undefined): string {
  if (!match) return "";
  return match.protocol === undefined ? String(match.port) : `${match.port}/${match.protocol}`;
}

/** Whether a flow with these fields is one a class with `match` holds (its port equal, its protocol where given). */
export function matchesQos(match: QosMatch, flow: FlowMatchFields): boolean {
  return flow.port === match.port && (match.protocol === undefined || match.protocol === flow.protocol);
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
 *
 * `identity` names the workload a flow comes from, so one workload of a node can be refused while the node's other
 * flows keep flowing (zero trust: the identity decides, not the address): a SPIFFE ID
 * (`spiffe://topocast/<app>/<instance>`) of an authenticated workload, or {@link UNAUTHENTICATED} for every
 * workload of the node that holds no mesh identity (an attacker without a certificate, a port scanner). A flow
 * carrying no identity is not matched by a rule naming one (an application's flows ride its sidecar's
 * authenticated tunnels). In emulation {@link UNAUTHENTICATED} matches the sockets not owned by the mesh's uid
 * (nftables `meta skuid`, as Istio tells its sidecar's traffic by `--uid-owner`), and a SPIFFE ID is refused by
 * the sidecars (revocation), not by nftables.
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
  /** The source workload's identity: a SPIFFE ID, or {@link UNAUTHENTICATED}. */
  identity?: string;
}

/** The identity of every workload without a mesh identity (no valid certificate). */
export const UNAUTHENTICATED = "unauthenticated";

/** What a firewall rule matches a new flow on besides its endpoints; absent fields are not carried by the flow. */
export interface FlowMatchFields {
  application?: string;
  port?: number;
  protocol?: string;
  /** The source workload's identity (a SPIFFE ID or {@link UNAUTHENTICATED}), when the flow carries one. */
  identity?: string;
}

/** Whether `rule`'s application, port, protocol and identity (where given) equal the flow's. Endpoints are not looked at. */
export function matchesFlowFields(rule: FirewallRule, flow: FlowMatchFields): boolean {
  return (
    (rule.application === undefined || rule.application === flow.application) &&
    (rule.port === undefined || rule.port === flow.port) &&
    (rule.protocol === undefined || rule.protocol === flow.protocol) &&
    (rule.identity === undefined || rule.identity === flow.identity)
  );
}

/** Whether a rule names an application, a port, a protocol or an identity (else it matches by endpoints only). */
export function hasFlowFields(rule: FirewallRule): boolean {
  return (
    rule.application !== undefined ||
    rule.port !== undefined ||
    rule.protocol !== undefined ||
    rule.identity !== undefined
  );
}
