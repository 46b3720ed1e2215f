/**
 * The workload domain's error: bad traffic-matrix files (SNDlib XML, CSV), bad generator or mapping parameters,
 * bad application specs. Every message names where the value came from (a file and line or element, a parameter),
 * the value at fault and what is allowed, e.g.
 * `tm.csv:12: rate_bps: expected a non-negative number of bits/s, got "fast"`.
 *
 * Flow-size CDF files report {@link DistributionError} (sim/kernel/rng.ts) instead, like every distribution.
 */
export class WorkloadError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "WorkloadError";
  }
}

/** `"x"` quoted for messages (JSON string syntax, so empty strings and spaces show). */
export function quote(value: unknown): string {
  return typeof value === "string" ? JSON.stringify(value) : String(value);
}
