/**
 * Per-application traffic of an interval, as the Observation carries it ({@link ApplicationTraffic}): bytes and
 * flows per (application, node pair) of the flows that arrived since the last consuming read. Both engines count
 * with it: the simulator at its flow sink (sim/engine/controller.ts), the emulator from its agents' start reports
 * (emulate/flow-ledger.ts). A flow counts once, at arrival, with its whole size, as the per-pair traffic does.
 * The same counter keeps each application's outcomes (the Observation's `applicationFlows`): completions with their
 * FCT (arrival to last byte at the destination, ns) and firewall refusals.
 */
import type { ApplicationFlowStats, ApplicationTraffic } from "../policies/types.ts";

export class ApplicationTrafficCounter {
  /** Per application, per pair index (src x N + dst): bytes and flows since the last consuming read. */
  private perApp = new Map<string, Map<number, { bytes: number; flows: number }>>();
  /** Per application: FCTs (ns) of the flows that completed, and flows refused, since the last consuming read. */
  private outcomes = new Map<string, { fcts: number[]; refused: number }>();

  /** @param nodeIds the topology's node ids by index. */
  constructor(private readonly nodeIds: readonly string[]) {}

  /** Counts one arriving flow of `application` from node index `src` to `dst`. */
  count(application: string, src: number, dst: number, sizeBytes: number): void {
    let pairs = this.perApp.get(application);
    if (!pairs) {
      pairs = new Map();
      this.perApp.set(application, pairs);
    }
    const k = src * this.nodeIds.length + dst;
    const t = pairs.get(k);
    if (t) {
      t.bytes += sizeBytes;
      t.flows++;
    } else pairs.set(k, { bytes: sizeBytes, flows: 1 });
  }

  private outcome(application: string): { fcts: number[]; refused: number } {
    let o = this.outcomes.get(application);
    if (!o) {
      o = { fcts: [], refused: 0 };
      this.outcomes.set(application, o);
    }
    return o;
  }

  /** Counts a completed flow of `application` with its completion time, ns. */
  ended(application: string, fctNs: number): void {
    this.outcome(application).fcts.push(fctNs);
  }

  /** Counts a flow of `application` a firewall refused. */
  refused(application: string): void {
    this.outcome(application).refused++;
  }

  /**
   * Completions and refusals per application since the last consuming call, sorted by application: mean and p99
   * (nearest rank: the ceil(0.99 n)-th smallest) FCT, and every FCT (ascending); `consume` false leaves them counted.
   */
  takeOutcomes(consume: boolean): ApplicationFlowStats[] {
    const out = [...this.outcomes]
      .sort((a, b) => cmp(a[0], b[0]))
      .map(([application, o]) => {
        const fcts = [...o.fcts].sort((a, b) => a - b);
        const n = fcts.length;
        return {
          application,
          completed: n,
          refused: o.refused,
          meanFctNs: n ? fcts.reduce((a, b) => a + b, 0) / n : null,
          p99FctNs: n ? fcts[Math.ceil(0.99 * n) - 1]! : null,
          fctsNs: fcts,
        };
      });
    if (consume) this.outcomes = new Map();
    return out;
  }

  /**
   * The counts since the last consuming call, sorted by (application, src id, dst id); `consume` false leaves them
   * counted.
   */
  take(consume: boolean): ApplicationTraffic[] {
    const n = this.nodeIds.length;
    const out: ApplicationTraffic[] = [];
    for (const [application, pairs] of this.perApp) {
      for (const [k, t] of pairs) {
        const src = this.nodeIds[Math.floor(k / n)]!;
        const dst = this.nodeIds[k % n]!;
        out.push({ application, src, dst, bytes: t.bytes, flows: t.flows });
      }
    }
    out.sort((a, b) => cmp(a.application, b.application) || cmp(a.src, b.src) || cmp(a.dst, b.dst));
    if (consume) this.perApp = new Map();
    return out;
  }
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
