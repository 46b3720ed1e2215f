/**
 * setFirewall in emulation: nftables in the source namespaces. A rule allows or denies the new TCP connections of
 * the pairs it matches (`src`/`dst` absent: every node; `port`, where given: the destination port): at every source
 * node in its scope, one rule in the `output` chain of the run's table `inet <prefix>_fw`, matching the node's own
 * address as source, the destination node's address (when given) and a connection's first segment
 * (`tcp flags & (syn | ack) == syn`), with a counter and the verdict: `accept`, or `reject with tcp reset` (the
 * client's connect fails at once with ECONNREFUSED; nothing leaves the node). Established connections are not cut,
 * and the reverse direction's segments (ACKs of the other pair's flows) are never matched.
 *
 * Order: each rule is inserted at the head of the chain, so the most recent rule matching a pair is the first nft
 * meets: "the last rule set decides", as the verb table says; with no rule every pair is allowed (policy accept).
 *
 * Denied flows are never lost silently: {@link EmulationFirewall.denies} tells the flow ledger which pairs are
 * denied now (it records their flows as denied), and {@link EmulationFirewall.counters} reads each rule's counter
 * (connection attempts refused or let through). Rules live until the run's namespaces are deleted, or
 * {@link EmulationFirewall.clear}.
 */
import { type FirewallRule, pairKey } from "../models/policies/types.ts";
import type { ControlContext } from "./control-context.ts";
import { UnsupportedInEmulationError } from "./errors.ts";
import { nftAddr, nftComment, nftIdent, readRuleCounters, runNft } from "./nft.ts";
import { parallel } from "./runner.ts";
import { verbUnavailable } from "./verb-support.ts";

/** A firewall rule with the destination port some agents give. */
export type PortFirewallRule = FirewallRule & { port?: number };

/** A rule's counter summed over the namespaces it was installed in. */
export interface FirewallCounter {
  rule: PortFirewallRule;
  /** Connection attempts (first segments) the rule matched. */
  packets: number;
}

/** Name of the run's firewall table in every namespace. */
export function firewallTable(prefix: string): string {
  return nftIdent(`${prefix}_fw`);
}

/** The script lines that install rule number `k` at a source node with address `srcAddr`. */
export function firewallLines(
  table: string,
  k: number,
  rule: PortFirewallRule,
  srcAddr: string,
  dstAddr: string | undefined,
): string[] {
  const port = rule.port;
  if (port !== undefined && !(Number.isInteger(port) && port > 0 && port < 65536))
    throw new RangeError(`setFirewall: port must be an integer in 1..65535, got ${port}`);
  const match = [
    `ip saddr ${nftAddr(srcAddr)}`,
    ...(dstAddr !== undefined ? [`ip daddr ${nftAddr(dstAddr)}`] : []),
    ...(port !== undefined ? [`tcp dport ${port}`] : []),
    "tcp flags & (syn | ack) == syn",
  ];
  const verdict = rule.action === "allow" ? "accept" : "reject with tcp reset";
  return [
    `add table inet ${table}`,
    `add chain inet ${table} out { type filter hook output priority 0; policy accept; }`,
    `insert rule inet ${table} out ${match.join(" ")} counter ${verdict} ${nftComment(`fw${k}`)}`,
  ];
}

export class EmulationFirewall {
  private queue: Promise<void> = Promise.resolve();

  constructor(private readonly ctx: ControlContext) {}

  private get rules(): PortFirewallRule[] {
    this.ctx.state.firewall ??= [];
    return this.ctx.state.firewall;
  }

  private get table(): string {
    return firewallTable(this.ctx.plan.prefix);
  }

  /**
   * Adds a rule (see the module doc). Its endpoints are checked first (UnknownNodeError); the rule is in force in
   * every namespace of its scope when this resolves.
   */
  set(rule: PortFirewallRule): Promise<void> {
    // One at a time, so every namespace inserts the rules in the order they were set.
    const next = this.queue.then(() => this.apply(rule));
    this.queue = next.catch(() => {});
    return next;
  }

  private async apply(rule: PortFirewallRule): Promise<void> {
    const { ctx } = this;
    const caps = ctx.state.capabilities;
    const why = caps ? verbUnavailable("setFirewall", caps) : null;
    if (why) throw new UnsupportedInEmulationError("setFirewall", why);
    const srcs = rule.src === undefined ? ctx.plan.nodes.map((n) => n.index) : [ctx.node(rule.src)];
    const dst = rule.dst === undefined ? undefined : ctx.addr(ctx.node(rule.dst));
    const k = this.rules.length;
    const lines = new Map(srcs.map((s) => [s, firewallLines(this.table, k, rule, ctx.addr(s), dst)]));
    this.rules.push({ ...rule });
    ctx.save();
    await parallel(srcs, (s) => runNft(ctx.runner, ctx.ns(s), lines.get(s)!));
  }

  /** Whether the rules in force deny the pair's new flows (the last matching rule decides; none: allowed). */
  denies(src: string, dst: string, port?: number): boolean {
    const rule = this.rules.findLast(
      (r) =>
        (r.src === undefined || r.src === src) &&
        (r.dst === undefined || r.dst === dst) &&
        (r.port === undefined || port === undefined || r.port === port),
    );
    return rule?.action === "deny";
  }

  /** Pairs denied now, as pair keys, sorted. */
  deniedPairs(): string[] {
    const ids = this.ctx.plan.nodes.map((n) => n.id);
    const out: string[] = [];
    for (const s of ids) for (const d of ids) if (s !== d && this.denies(s, d)) out.push(pairKey(s, d));
    return out.sort();
  }

  /** Each rule's counter, summed over the namespaces it is installed in, in the order the rules were set. */
  async counters(): Promise<FirewallCounter[]> {
    const { ctx } = this;
    const rules = this.rules;
    if (rules.length === 0) return [];
    const perNode = await parallel(ctx.plan.nodes, (n) =>
      readRuleCounters(ctx.runner, n.netns, "inet", this.table),
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
    ctx.save();
  }
}
