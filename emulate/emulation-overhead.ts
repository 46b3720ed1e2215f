/**
 * The emulation's cost of a run, in summary.json's `overhead`: control actions with their measured latencies (from
 * the recording decorator's records, models/policies/recording.ts), tick lateness, flow errors and start lateness.
 * The engine adds drops and skipped control steps (emulate/engine.ts); the shape is
 * {@link EmulationOverhead} of the engine contract (sim/engine/records.ts).
 */
import type { ActionRecord } from "../models/policies/recording.ts";
import type { EmulationOverhead } from "../sim/engine/records.ts";
import { percentileNearestRank } from "../sim/metrics/flow-stats.ts";

/** Action counts, errors by class, unsupported verbs and latency statistics of the recorded actions. */
export function actionOverhead(
  records: readonly ActionRecord[],
): Pick<EmulationOverhead, "controlActions" | "actions" | "errors" | "actionLatencyMs" | "unsupported"> {
  const actions: Record<string, number> = {};
  const errors: Record<string, number> = {};
  const lat: Record<string, number[]> = {};
  const unsupported: Record<string, number> = {};
  for (const a of records) {
    actions[a.verb] = (actions[a.verb] ?? 0) + 1;
    if (a.outcome === "ok") {
      // Latency of what took effect: a refused action (pool full, no path) returns at once and says nothing of it.
      const xs = lat[a.verb] ?? [];
      xs.push((a.wallNs ?? 0) / 1e6);
      lat[a.verb] = xs;
      continue;
    }
    const name = a.error?.name ?? "Error";
    if (name === "UnsupportedInEmulationError") unsupported[a.verb] = (unsupported[a.verb] ?? 0) + 1;
    errors[name] = (errors[name] ?? 0) + 1;
  }
  return {
    controlActions: records.length,
    actions,
    errors,
    actionLatencyMs: Object.fromEntries(
      Object.entries(lat)
        .sort((a, b) => (a[0] < b[0] ? -1 : 1))
        .map(([verb, xs]) => {
          const s = xs.sort((a, b) => a - b);
          return [
            verb,
            {
              n: s.length,
              median: round3(percentileNearestRank(s, 50)),
              p95: round3(percentileNearestRank(s, 95)),
              max: round3(s.at(-1)!),
            },
          ];
        }),
    ),
    unsupported,
  };
}

/** Median lateness of flow starts behind their schedule, wall ms (rounded to the µs); null when none started. */
export function medianStartLateMs(startLateMs: readonly number[]): number | null {
  const sorted = [...startLateMs].sort((a, b) => a - b);
  return sorted.length ? round3(percentileNearestRank(sorted, 50)) : null;
}

/** Milliseconds to the microsecond, for summaries. */
export function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}
