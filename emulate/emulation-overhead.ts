/**
 * The emulation's cost of a run, in summary.json's `overhead`: control actions with their measured latencies,
 * tick lateness, flow errors and start lateness, drops, time to recover from failures, probe traffic and mirrored
 * bytes.
 */
import type { RecoveryRecord } from "../models/control/driver.ts";
import { percentileNearestRank } from "../sim/metrics/flow-stats.ts";
import type { EmulationControlPlane } from "./control-plane.ts";

/** Emulation-specific cost of a run, in summary.json's `overhead` (wall-clock latencies, not deterministic). */
export interface EmulationOverhead {
  controlActions: number;
  actions: Record<string, number>;
  errors: Record<string, number>;
  /** Calls of verbs this engine does not implement yet, by verb (the policy saw UnsupportedInEmulationError). */
  unsupported: Record<string, number>;
  /** Measured latency of each verb's successful calls, ms: count, median, 95th percentile, max. */
  actionLatencyMs: Record<string, { n: number; median: number; p95: number; max: number }>;
  /** Ticks that started more than half a tick late, of all ticks. */
  lateTicks: number;
  ticks: number;
  /** Flows that failed at the agent (connection refused, reset), by error message. */
  flowErrors: Record<string, number>;
  /** Median lateness of flow starts behind their schedule, wall ms. */
  medianStartLateMs: number | null;
  /** Packets dropped at link egress (full FIFOs) over the run, all links. */
  egressDrops?: number;
  /** Control instants skipped because the policy was still deciding the previous one. */
  skippedControlSteps?: number;
  /** UDP datagrams dropped on receive in the run's namespaces (userspace wires: packets the link lost). */
  udpReceiveErrors?: number;
  /** Pairs a failure hit and their time to recover, in simulated ns (at the resolution of ticks). */
  recoveries?: RecoveryRecord[];
  /** Mean time to recover over the pairs that recovered, simulated ns; null when none. */
  meanRecoveryNs?: number | null;
  unrecoveredPairs?: number;
  /** Probes sent, their echo packets both ways and those packets' IP bytes (emulated network). */
  probeTraffic: { probes: number; packets: number; bytes: number };
  /** Bytes the mirrors sent as copies, with VXLAN encapsulation (emulated network), as last read. */
  mirroredBytes: number;
}

export function emulationOverhead(
  ctl: EmulationControlPlane,
  ticks: number,
  lateTicks: number,
  flowErrors: Record<string, number>,
  startLateMs: number[],
): EmulationOverhead {
  const actions: Record<string, number> = {};
  const errors: Record<string, number> = {};
  const lat: Record<string, number[]> = {};
  const unsupported: Record<string, number> = {};
  for (const a of ctl.actions) {
    actions[a.verb] = (actions[a.verb] ?? 0) + 1;
    if (a.ok) {
      // Latency of what took effect: a refused action (pool full, no path) returns at once and says nothing of it.
      const xs = lat[a.verb] ?? [];
      xs.push(a.ms);
      lat[a.verb] = xs;
    }
    if (!a.ok && a.errorName === "UnsupportedInEmulationError")
      unsupported[a.verb] = (unsupported[a.verb] ?? 0) + 1;
    if (!a.ok) {
      const name = a.errorName ?? "Error";
      errors[name] = (errors[name] ?? 0) + 1;
    }
  }
  const sorted = startLateMs.sort((a, b) => a - b);
  return {
    controlActions: ctl.actions.length,
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
    lateTicks,
    ticks,
    flowErrors,
    medianStartLateMs: sorted.length ? round3(percentileNearestRank(sorted, 50)) : null,
    probeTraffic: { ...ctl.probes.overhead },
    mirroredBytes: ctl.mirrors.mirroredBytes(),
  };
}

/** Milliseconds to the microsecond, for summaries. */
export function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}
