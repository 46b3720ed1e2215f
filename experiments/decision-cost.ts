/**
 * The cost of deciding, from a run's manifest.json: each policy's wall time per control step (models/control/
 * driver.ts times every `decide`, forecasts included) against the control interval in wall time, flagged when a
 * decision took longer than the interval (a controller that slow could not keep up in a deployment; the emulator
 * skips the steps that come while a decision is in progress). The interval in wall time is the config's
 * `control.interval`, divided by `emulation.timeCompression` for an emulated run. In manifest.json, not
 * summary.json, because wall times differ from run to run (summary.json is byte-identical for a config and seed).
 */
import { parseDurationNs } from "../sim/units.ts";
import type { Manifest } from "./results.ts";
import type { Rows } from "./summary-table.ts";

/** The decision-time table of a run and the policies whose slowest decision outlasted the interval. */
export interface DecisionCost {
  rows: Rows;
  /** Wall ms of one control interval. */
  intervalMs: number;
  /** "policy: max X ms > interval Y ms" lines. */
  flagged: string[];
}

/** The parts of config.json the table needs. */
export interface DecisionConfig {
  control?: { interval?: string | number };
  emulation?: { timeCompression?: number };
}

/** The table from a run's manifest and config; null when the manifest has no decision times. */
export function decisionCost(m: Partial<Manifest>, c: DecisionConfig | null): DecisionCost | null {
  const policies = (m.policies ?? []).filter((p) => p.decisions !== undefined);
  if (policies.length === 0) return null;
  const intervalNs = parseDurationNs(c?.control?.interval ?? "1s");
  const compression = m.engine === "emulate" ? (c?.emulation?.timeCompression ?? 1) : 1;
  const intervalMs = intervalNs / 1e6 / compression;
  const ms = (x: number) => x.toFixed(3);
  const flagged = policies
    .filter((p) => p.decisions.maxMs > intervalMs)
    .map(
      (p) =>
        `${p.policy}: slowest decision ${ms(p.decisions.maxMs)} ms > control interval ${ms(intervalMs)} ms`,
    );
  return {
    intervalMs,
    flagged,
    rows: {
      head: ["policy", "steps", "mean (ms)", "p95 (ms)", "max (ms)", "total (ms)", "over interval"],
      rows: policies.map((p) => [
        p.policy,
        String(p.decisions.steps),
        ms(p.decisions.meanMs),
        ms(p.decisions.p95Ms),
        ms(p.decisions.maxMs),
        ms(p.decisions.totalMs),
        p.decisions.maxMs > intervalMs ? "yes" : "no",
      ]),
    },
  };
}
