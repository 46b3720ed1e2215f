/**
 * The simulator's firewall: rules over node pairs that allow or refuse new flows, with counters.
 *
 * Semantics (models/policies/verb-args.ts `FirewallRule`): rules apply in the order they take effect; the last rule
 * matching a pair decides; with no matching rule a pair is allowed. A rule with `src` or `dst` absent matches every
 * node there. A refused flow never enters the network: it is counted on the rule that refused it and per pair, so
 * it is never lost silently (the Observation's `firewall`, the run's overhead). Flows already running when a deny
 * rule takes effect keep running, as established connections do behind a stateful firewall that accepts
 * established traffic.
 *
 * Matching is by node pair: the fluid model's flows carry no ports, so rules by application or port are not
 * modelled here. Cost: one typed-array read per new flow once a rule exists, nothing before.
 */
import type { FirewallRule, FirewallStats, PairTraffic } from "../../models/policies/types.ts";

interface RuleState {
  rule: FirewallRule;
  /** Flows this rule decided (allowed or refused) and their bytes: over the interval, and over the run. */
  flows: number;
  bytes: number;
  totalFlows: number;
  totalBytes: number;
}

/** Totals over the run: what the firewall refused. */
export interface FirewallTotals {
  refusedFlows: number;
  refusedBytes: number;
}

export class Firewall {
  private readonly rules: RuleState[] = [];
  /** Per pair index (src x N + dst): the index of the rule deciding it, -1 for none; null before any rule. */
  private decider: Int32Array | null = null;
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
    for (const s of srcs) for (const d of dsts) if (s !== d) this.decider[s * n + d] = index;
  }

  /** Whether a new flow of the pair may start; counts it on its deciding rule and, when refused, per pair. */
  admits(pair: number, sizeBytes: number): boolean {
    const r = this.decider === null ? -1 : this.decider[pair]!;
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

  /** Pair indices a rule refuses now, ascending. */
  deniedPairs(): number[] {
    const out: number[] = [];
    if (this.decider === null) return out;
    for (let p = 0; p < this.decider.length; p++) {
      const r = this.decider[p]!;
      if (r >= 0 && this.rules[r]!.rule.action === "deny") out.push(p);
    }
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
