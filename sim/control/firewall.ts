/**
 * The simulator's firewall: rules over new flows, by node pair, application, destination port and protocol, that
 * allow or refuse them, with counters.
 *
 * Semantics (models/policies/verb-args.ts `FirewallRule`): rules apply in the order they take effect; the last rule
 * matching a flow decides; with no matching rule a flow is allowed. A rule with `src` or `dst` absent matches every
 * node there; with `application`, `port` or `protocol` absent, every value (a rule naming one matches only flows
 * that carry it, equal). A refused flow never enters the network: it is counted on the rule that refused it and
 * per pair, so it is never lost silently (the Observation's `firewall`, the run's overhead). Flows already running
 * when a deny rule takes effect keep running, as established connections do behind a stateful firewall that
 * accepts established traffic.
 *
 * Cost: nothing before the first rule; then one typed-array read per new flow (the last endpoint-only rule deciding
 * its pair), plus a scan of the rules naming an application, port or protocol set after that one, newest first.
 */
import type { FirewallStats, PairTraffic } from "../../models/policies/types.ts";
import {
  type FirewallRule,
  type FlowMatchFields,
  hasFlowFields,
  matchesFlowFields,
} from "../../models/policies/verb-args.ts";

interface RuleState {
  rule: FirewallRule;
  /** Flows this rule decided (allowed or refused) and their bytes: over the interval, and over the run. */
  flows: number;
  bytes: number;
  totalFlows: number;
  totalBytes: number;
}

/** A rule naming an application, port or protocol: its index and the pairs (src x N + dst) in its scope. */
interface FieldRule {
  index: number;
  pairs: Uint8Array;
}

/** Totals over the run: what the firewall refused. */
export interface FirewallTotals {
  refusedFlows: number;
  refusedBytes: number;
}

export class Firewall {
  private readonly rules: RuleState[] = [];
  /** Per pair index (src x N + dst): the last endpoint-only rule in its scope, -1 for none; null before any rule. */
  private decider: Int32Array | null = null;
  /** Rules naming an application, port or protocol, in the order they took effect. */
  private readonly fieldRules: FieldRule[] = [];
  /** Flows refused per pair over the interval. */
  private refused = new Map<number, { flows: number; bytes: number }>();
  readonly totals: FirewallTotals = { refusedFlows: 0, refusedBytes: 0 };

  constructor(
    private readonly nodeCount: number,
    private readonly pairName: (pair: number) => [string, string],
  ) {}

  /** Puts a rule in force over the pairs (src x dst index lists, self pairs skipped); it decides them from now on. */
  add(rule: FirewallRule, srcs: readonly number[], dsts: readonly number[]): void {
    const n = this.nodeCount;
    this.decider ??= new Int32Array(n * n).fill(-1);
    const index = this.rules.length;
    this.rules.push({ rule: { ...rule }, flows: 0, bytes: 0, totalFlows: 0, totalBytes: 0 });
    const field = hasFlowFields(rule) ? { index, pairs: new Uint8Array(n * n) } : null;
    if (field) this.fieldRules.push(field);
    for (const s of srcs)
      for (const d of dsts) {
        if (s === d) continue;
        if (field) field.pairs[s * n + d] = 1;
        else this.decider[s * n + d] = index;
      }
  }

  /** The index of the rule deciding a new flow of the pair with these fields, -1 for none. */
  private deciding(pair: number, fields: FlowMatchFields): number {
    if (this.decider === null) return -1;
    const byPair = this.decider[pair]!;
    for (let i = this.fieldRules.length - 1; i >= 0; i--) {
      const f = this.fieldRules[i]!;
      if (f.index < byPair) break;
      if (f.pairs[pair] === 1 && matchesFlowFields(this.rules[f.index]!.rule, fields)) return f.index;
    }
    return byPair;
  }

  /** Whether the rules in force allow a new flow of the pair with these fields (nothing counted). */
  allows(pair: number, fields: FlowMatchFields = {}): boolean {
    const r = this.deciding(pair, fields);
    return r < 0 || this.rules[r]!.rule.action === "allow";
  }

  /**
   * Whether a new flow of the pair (with its application, port and protocol, where it carries them) may start;
   * counts it on its deciding rule and, when refused, per pair.
   */
  admits(pair: number, sizeBytes: number, fields: FlowMatchFields = {}): boolean {
    const r = this.deciding(pair, fields);
    if (r < 0) return true;
    const state = this.rules[r]!;
    state.flows++;
    state.bytes += sizeBytes;
    state.totalFlows++;
    state.totalBytes += sizeBytes;
    if (state.rule.action === "allow") return true;
    const t = this.refused.get(pair);
    if (t) {
      t.flows++;
      t.bytes += sizeBytes;
    } else this.refused.set(pair, { flows: 1, bytes: sizeBytes });
    this.totals.refusedFlows++;
    this.totals.refusedBytes += sizeBytes;
    return false;
  }

  /** Whether any rule was ever set. */
  get active(): boolean {
    return this.decider !== null;
  }

  /** Pair indices whose flows carrying no application, port or protocol a rule refuses now, ascending. */
  deniedPairs(): number[] {
    const out: number[] = [];
    if (this.decider === null) return out;
    for (let p = 0; p < this.decider.length; p++) if (!this.allows(p)) out.push(p);
    return out;
  }

  /** The rules with their counters of the interval, and the refused flows per pair; `consume` resets them. */
  observe(consume: boolean): FirewallStats {
    const rules = this.rules.map((r) => ({ rule: { ...r.rule }, flows: r.flows, bytes: r.bytes }));
    const refused: PairTraffic[] = [...this.refused]
      .sort((a, b) => a[0] - b[0])
      .map(([p, t]) => {
        const [src, dst] = this.pairName(p);
        return { src, dst, bytes: t.bytes, flows: t.flows };
      })
      .sort((a, b) => cmp(a.src, b.src) || cmp(a.dst, b.dst));
    if (consume) {
      for (const r of this.rules) {
        r.flows = 0;
        r.bytes = 0;
      }
      this.refused = new Map();
    }
    return { rules, refused };
  }
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
