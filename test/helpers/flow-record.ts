import type { FlowRecord } from "../../sim/metrics/trace.ts";

/** A finished flow with defaults; `fctNs` and `idealFctNs` give the slowdown. */
export function flowRecord(over: Partial<FlowRecord> & { sizeBytes: number; fctNs: number }): FlowRecord {
  const startNs = over.startNs ?? 0;
  const idealFctNs = over.idealFctNs ?? over.fctNs;
  return {
    flow: 0,
    src: 0,
    dst: 1,
    path: [0],
    tag: 0,
    wireBytes: over.sizeBytes,
    mirrored: false,
    mirrorWon: false,
    startNs,
    endNs: startNs + over.fctNs,
    idealFctNs,
    slowdown: over.fctNs / idealFctNs,
    ...over,
  };
}
