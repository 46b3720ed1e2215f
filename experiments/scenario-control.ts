/**
 * The config's `control` and `transport` sections in engine units (integer ns, bytes): the control loop's
 * interval, each verb's setup latency (one key per verb-table entry), the VNA pool, candidate paths and the
 * convergence delay; the transport model and its TCP start-up settings.
 */
import { recordOf } from "../models/policies/verb-table.ts";
import { SETUP_LATENCY_KEYS } from "../models/policies/verbs.ts";
import type { Scenario, TransportSettings } from "../sim/engine/types.ts";
import type { LinkBuffer } from "../sim/transport/fluid-queues.ts";
import { parseDurationNs, parseSizeBytes } from "../sim/units.ts";
import type { ExperimentConfig } from "./config/schema.ts";

/** The config's `control` section in engine units. */
export function controlSettings(c: ExperimentConfig["control"]): Scenario["control"] {
  return {
    intervalNs: parseDurationNs(c.interval),
    setupLatencyNs: recordOf(SETUP_LATENCY_KEYS, (k) => parseDurationNs(c.setupLatency[k])),
    vnaPoolSize: c.vnaPool,
    kPaths: c.kPaths,
    convergenceDelayNs: parseDurationNs(c.convergenceDelay),
  };
}

/** The config's `transport` section in engine units. */
export function transportSettings(t: ExperimentConfig["transport"]): TransportSettings {
  return {
    model: t.model,
    tcp:
      t.tcp === false
        ? null
        : {
            handshake: t.tcp.handshake,
            initialWindowSegments: t.tcp.initialWindow,
            mssBytes: parseSizeBytes(t.tcp.mss),
          },
    queue: linkBuffer(t.queue),
    ...(t.congestionControl ? { congestionControl: t.congestionControl } : {}),
    ...(t.sack !== undefined ? { sack: t.sack } : {}),
    ...(t.timerScale !== undefined ? { timerScale: t.timerScale } : {}),
  };
}

/** The config's `transport.queue`: false (no queues), `"<n>p"` (packets), a duration or a size. */
function linkBuffer(q: ExperimentConfig["transport"]["queue"]): LinkBuffer | null {
  if (q === false) return null;
  const packets = /^(\d+)p$/.exec(q);
  if (packets) return { packets: Number(packets[1]) };
  // Sizes end in B (bytes), durations never do.
  return /[bB]([yY][tT][eE][sS]?)?\s*$/.test(q)
    ? { bytes: parseSizeBytes(q) }
    : { delayNs: parseDurationNs(q) };
}
