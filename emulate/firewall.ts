/**
 * setFirewall in emulation: nftables in the source namespaces. A rule allows or denies the new flows it matches:
 * at every source node in its scope (`src` absent: every node), one rule per protocol in the `output` chain of the
 * run's table `inet <prefix>_fw`, matching the node's own address as source, the destination node's address (when
 * given), the protocol (`meta l4proto`), the destination port (`th dport`, when given) and, for TCP, a
 * connection's first segment (`tcp flags & (syn | ack) == syn`), with a counter and the verdict: `accept`, or a
 * reject (TCP: `reject with tcp reset`, the client's connect fails at once with ECONNREFUSED; UDP: ICMP port
 * unreachable); nothing leaves the node. Established connections are not cut, and the reverse direction's segments
 * (ACKs of the other pair's flows) are never matched.
 *
 * Application, port, protocol. A rule naming an `application` matches the TCP port its flows are sent to (the
 * run's `applicationPorts`, emulate/application-ports.ts); an application with no flows in the run has no port,
 * and its rule matches nothing, as in the simulator. `protocol` absent matches TCP only: the traffic agents carry
 * every flow over TCP, and the run's own UDP (VXLAN of virtual links and mirrors) is not a flow to police. A UDP
 * rule matches datagrams (nft keeps no connection state here: no conntrack), never the VXLAN port, so its counter
 * counts datagrams, not flows.
 *
 * Identity. A rule naming `identity: "unauthenticated"` matches only the sockets not owned by the mesh's uid
 * ({@link MESH_UID}: the run's sidecars, traffic agents and applications run as root; a workload without a mesh
 * identity, such as an experiment's attacker or scanner, runs as another uid): `meta skuid != 0`, as Istio tells
 * its sidecar's own traffic by `-m owner --uid-owner`. So the node's other flows keep flowing. A SPIFFE identity is
 * not visible to nftables: the sidecars refuse it (revocation, emulate/sidecar/ids.ts); this verb throws
 * UnsupportedInEmulationError for one.
 *
 * Order: each rule is inserted at the head of the chain, so the most recent rule matching a flow is the first nft
 * meets: "the last rule set decides", as the verb table says; with no rule every flow is allowed (policy accept).
 *
 * Denied flows are never lost silently: {@link EmulationFirewall.denies} tells the flow ledger which flows are
 * denied now (it records them as denied), and {@link EmulationFirewall.counters} reads each rule's counter
 * (connection attempts refused or let through). Rules live until the run's namespaces are deleted, or
 * {@link EmulationFirewall.clear}.
 */
import {
  type FirewallRule,
  type FirewallStats,
  type PairTraffic,
  pairKey,
} from "../models/policies/types.ts";
import {
  type FlowMatchFields,
  hasFlowFields,
  matchesFlowFields,
  UNAUTHENTICATED,
} from "../models/policies/verb-args.ts";
import type { ControlContext } from "./control-context.ts";
import { UnsupportedInEmulationError } from "./errors.ts";
import { nftAddr, nftComment, nftIdent } from "./nft.ts";
import { parallel } from "./runner.ts";
import { verbUnavailable } from "./verb-support.ts";

/** The uid of the run's own processes (sidecars, traffic agents, applications): the mesh's workloads. */
export const MESH_UID = 0;

/** A rule's counter summed over the namespaces it was installed in. */
export interface FirewallCounter {
  rule: FirewallRule;
  /** Connection attempts (TCP first segments; UDP datagrams) the rule matched. */
  packets: number;
}

/** Name of the run's firewall table in every namespace. */
export function firewallTable(prefix: string): string {
  return nftIdent(`${prefix}_fw`);
}

/** Where a rule is installed and what its match resolves to in this run. */
export interface FirewallTarget {
  srcAddr: string;
  /** The destination node's address, when the rule names one. */
  dstAddr?: string;
  /** The destination port: the rule's, else its application's (when it names one). */
  port?: number;
  /** The run's VXLAN port, which a UDP rule never matches. @default 4789 */
  vxlanPort?: number;
}

/** The nft match of one protocol's line (without verdict). */
function protocolMatch(protocol: "tcp" | "udp", t: FirewallTarget): string[] {
  const port =
    t.port !== undefined
      ? [`th dport ${t.port}`]
      : protocol === "udp"
        ? [`th dport != ${t.vxlanPort ?? 4789}`]
        : [];
  return [
    `meta l4proto ${protocol}`,
    ...port,
    ...(protocol === "tcp" ? ["tcp flags & (syn | ack) == syn"] : []),
  ];
}

/**
 * The script lines that install rule number `k` at a source node (see the module doc), its nft rule commented
 * `fw<k>`.
 * @throws RangeError for a port outside 1..65535; UnsupportedInEmulationError for a UDP rule on the VXLAN port
 */
export function firewallLines(table: string, k: number, rule: FirewallRule, t: FirewallTarget): string[] {
  const port = t.port;
  if (port !== undefined && !(Number.isInteger(port) && port > 0 && port < 65536))
    throw new RangeError(`setFirewall: port must be an integer in 1..65535, got ${port}`);
  if (rule.protocol === "udp" && port === (t.vxlanPort ?? 4789))
    throw new UnsupportedInEmulationError("setFirewall", `UDP port ${port} carries the run's VXLAN tunnels`);
  if (rule.identity !== undefined && rule.identity !== UNAUTHENTICATED)
    throw new UnsupportedInEmulationError(
      "setFirewall",
      `identity ${rule.identity}: nftables cannot see a SPIFFE identity; the sidecars refuse it (revocation)`,
    );
  const ends = [
    `ip saddr ${nftAddr(t.srcAddr)}`,
    ...(t.dstAddr !== undefined ? [`ip daddr ${nftAddr(t.dstAddr)}`] : []),
    ...(rule.identity !== undefined ? [`meta skuid != ${MESH_UID}`] : []),
  ];
  const verdict =
    rule.action === "allow" ? "accept" : rule.protocol === "udp" ? "reject" : "reject with tcp reset";
  return [
    `add table inet ${table}`,
    `add chain inet ${table} out { type filter hook output priority 0; policy accept; }`,
    `insert rule inet ${table} out ${[...ends, ...protocolMatch(rule.protocol ?? "tcp", t)].join(" ")} counter ${verdict} ${nftComment(`fw${k}`)}`,
  ];
}

const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

export class EmulationFirewall {
  private queue: Promise<void> = Promise.resolve();
  /** The transaction the next rules join (not started yet), and its lines per source node index. */
  private pending: Promise<void> | undefined;
  private readonly lines = new Map<number, string[]>();
  /** New flows (and bytes) each rule decided since the last consuming {@link observe}, by rule index. */
  private readonly decided: { flows: number; bytes: number }[] = [];
  /** New flows refused since the last consuming {@link observe}, by pair key. */
  private readonly refused = new Map<string, PairTraffic>();

  constructor(private readonly ctx: ControlContext) {}

  private get rules(): FirewallRule[] {
    this.ctx.state.firewall ??= [];
    return this.ctx.state.firewall;
  }

  private get table(): string {
    return firewallTable(this.ctx.plan.prefix);
  }

  /** The destination port a rule matches: its own, else its application's in this run; null when it has none. */
  private portOf(rule: FirewallRule): number | undefined | null {
    if (rule.port !== undefined || rule.application === undefined) return rule.port;
    return this.ctx.state.applicationPorts?.[rule.application] ?? null;
  }

  /**
   * Adds a rule (see the module doc). Its endpoints are checked first (UnknownNodeError); the rule is in force in
   * every namespace of its scope when this resolves.
   *
   * Rules set together go in together: the rules set while an earlier transaction is still running (or in the same
   * turn of the event loop, as a caller that issues several calls before awaiting them) are installed in one nft
   * transaction per namespace, in the order they were set. So a default deny and the allows that punch through it
   * take effect at once at each source, with no instant in which the deny holds alone (and refuses the flows the
   * allows let through), as the simulator's rules set at one instant take effect together.
   */
  set(rule: FirewallRule): Promise<void> {
    try {
      this.prepare(rule);
    } catch (e) {
      return Promise.reject(e);
    }
    this.pending ??= this.queue
      .then(() => new Promise<void>((ok) => setImmediate(ok)))
      .then(() => this.flush());
    const mine = this.pending;
    this.queue = mine.catch(() => {});
    return mine;
  }

  /** Checks a rule, records it (in force for {@link denies} from now) and queues its lines at its sources. */
  private prepare(rule: FirewallRule): void {
    const { ctx } = this;
    const caps = ctx.state.capabilities;
    const why = caps ? verbUnavailable("setFirewall", caps) : null;
    if (why) throw new UnsupportedInEmulationError("setFirewall", why);
    const srcs = rule.src === undefined ? ctx.plan.nodes.map((n) => n.index) : [ctx.node(rule.src)];
    const dstAddr = rule.dst === undefined ? undefined : ctx.addr(ctx.node(rule.dst));
    const port = this.portOf(rule);
    const k = this.rules.length;
    // An application without a port in this run has no flows to match: the rule is kept, nothing installed.
    const lines = srcs.map((s) =>
      port === null
        ? []
        : firewallLines(this.table, k, rule, {
            srcAddr: ctx.addr(s),
            ...(dstAddr !== undefined ? { dstAddr } : {}),
            ...(port !== undefined ? { port } : {}),
            vxlanPort: ctx.plan.settings.vxlanPort,
          }),
    );
    this.rules.push({ ...rule });
    srcs.forEach((s, i) => {
      this.lines.set(s, [...(this.lines.get(s) ?? []), ...lines[i]!]);
    });
  }

  /** Installs the queued lines: one transaction per namespace, in parallel. */
  private async flush(): Promise<void> {
    const { ctx } = this;
    const lines = [...this.lines].sort((a, b) => a[0] - b[0]);
    this.lines.clear();
    this.pending = undefined;
    ctx.save();
    await parallel(lines, ([s, l]) => ctx.commands.nft(ctx.ns(s), l));
  }

  /**
   * Whether the rules in force deny a new flow of the pair, as nft decides it: `fields` are what the flow is on
   * the wire (its destination port and "tcp" for the agents' flows); a rule's application matches by its port.
   */
  denies(src: string, dst: string, fields: FlowMatchFields = {}): boolean {
    const k = this.deciding(src, dst, fields);
    return k >= 0 && this.rules[k]!.action === "deny";
  }

  /** The index of the rule deciding a new flow of the pair (the last one matching it, as nft meets them), or -1. */
  private deciding(src: string, dst: string, fields: FlowMatchFields): number {
    return this.rules.findLastIndex((r) => {
      if ((r.src !== undefined && r.src !== src) || (r.dst !== undefined && r.dst !== dst)) return false;
      const port = this.portOf(r);
      if (port === null) return false;
      const onWire: FirewallRule = { action: r.action, protocol: r.protocol ?? "tcp" };
      if (port !== undefined) onWire.port = port;
      if (r.identity !== undefined) onWire.identity = r.identity;
      return matchesFlowFields(onWire, { protocol: "tcp", ...fields });
    });
  }

  /**
   * Whether a new flow of the pair may start (as {@link denies}), counting it on its deciding rule and, when
   * refused, per pair, for the Observation's `firewall` (as the simulator's firewall counts: sim/control/firewall.ts).
   * The flow ledger calls it for every flow it starts; nft refuses the denied flow's connection on the wire.
   */
  admits(src: string, dst: string, sizeBytes: number, fields: FlowMatchFields = {}): boolean {
    const k = this.deciding(src, dst, fields);
    if (k < 0) return true;
    this.decided[k] ??= { flows: 0, bytes: 0 };
    const c = this.decided[k]!;
    c.flows++;
    c.bytes += sizeBytes;
    if (this.rules[k]!.action === "allow") return true;
    const key = pairKey(src, dst);
    const r = this.refused.get(key) ?? { src, dst, flows: 0, bytes: 0 };
    r.flows++;
    r.bytes += sizeBytes;
    this.refused.set(key, r);
    return false;
  }

  /**
   * The Observation's firewall since the last consuming call: the rules in force in the order they were set, each
   * with the new flows (and bytes) it decided, and the flows refused per pair, sorted by (src, dst).
   */
  observe(consume: boolean): FirewallStats {
    const rules = this.rules.map((rule, k) => ({
      rule: { ...rule },
      flows: this.decided[k]?.flows ?? 0,
      bytes: this.decided[k]?.bytes ?? 0,
    }));
    const refused = [...this.refused.values()]
      .map((r) => ({ ...r }))
      .sort((a, b) => cmp(a.src, b.src) || cmp(a.dst, b.dst));
    if (consume) {
      this.decided.length = 0;
      this.refused.clear();
    }
    return { rules, refused };
  }

  /** Pairs whose flows an endpoint-only rule denies now (as the simulator's deniedPairs), as pair keys, sorted. */
  deniedPairs(): string[] {
    const ids = this.ctx.plan.nodes.map((n) => n.id);
    const byEnds = this.rules.filter((r) => !hasFlowFields(r));
    const out: string[] = [];
    for (const s of ids)
      for (const d of ids) {
        const last = byEnds.findLast((r) => (r.src ?? s) === s && (r.dst ?? d) === d);
        if (s !== d && last?.action === "deny") out.push(pairKey(s, d));
      }
    return out.sort();
  }

  /** Each rule's counter, summed over the namespaces it is installed in, in the order the rules were set. */
  async counters(): Promise<FirewallCounter[]> {
    const { ctx } = this;
    const rules = this.rules;
    if (rules.length === 0) return [];
    const perNode = await parallel(ctx.plan.nodes, (n) =>
      ctx.commands.ruleCounters(n.netns, "inet", this.table),
    );
    return rules.map((rule, k) => ({
      rule,
      packets: perNode.reduce((sum, m) => sum + (m?.get(`fw${k}`)?.packets ?? 0), 0),
    }));
  }

  /** Removes every rule: deletes the table in every namespace that has one. */
  async clear(): Promise<void> {
    const { ctx } = this;
    if (this.rules.length === 0) return;
    await parallel(ctx.plan.nodes, (n) =>
      ctx.runner
        .run(["ip", "netns", "exec", n.netns, "nft", "delete", "table", "inet", this.table], { check: false })
        .then(() => {}),
    );
    ctx.state.firewall = [];
    this.decided.length = 0; // indices start again; refusals already counted stay until observed
    ctx.save();
  }
}
