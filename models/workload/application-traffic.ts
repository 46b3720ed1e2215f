/**
 * Per-application traffic of an interval, as the Observation carries it ({@link ApplicationTraffic}): bytes and
 * flows per (application, node pair) of the flows that arrived since the last consuming read. Both engines count
 * with it: the simulator at its flow sink (sim/engine/controller.ts), the emulator from its agents' start reports
 * (emulate/flow-ledger.ts). A flow counts once, at arrival, with its whole size, as the per-pair traffic does.
 */
import type { ApplicationTraffic } from "../policies/types.ts";

export class ApplicationTrafficCounter {
  /** Per application, per pair index (src x N + dst): bytes and flows since the last consuming read. */
  private perApp = new Map<string, Map<number, { bytes: number; flows: number }>>();

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
