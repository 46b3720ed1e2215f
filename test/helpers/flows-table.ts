import type { FlowsCsvRow } from "../../experiments/sim-vs-emulation/flows-csv.ts";

/**
 * Flows from an aligned table with a header line and columns policy, flow, size (bytes), fct (ns) and optionally
 * slowdown (default 1); the other fields of a flows.csv row are filled in consistently (ideal FCT = fct / slowdown).
 */
export function flowsTable(table: string): FlowsCsvRow[] {
  return table
    .trim()
    .split("\n")
    .slice(1)
    .map((line) => {
      const [policy, flow, size, fct, slowdown = "1"] = line.trim().split(/\s+/);
      const fctNs = Number(fct);
      return {
        policy: policy!,
        flow: Number(flow),
        src: "a",
        dst: "b",
        sizeBytes: Number(size),
        startNs: 0,
        endNs: fctNs,
        fctNs,
        idealFctNs: fctNs / Number(slowdown),
        slowdown: Number(slowdown),
        hops: 1,
        tag: 0,
      };
    });
}
