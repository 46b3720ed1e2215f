/**
 * The `emulation` config section as the emulation engine uses it (durations in simulated ns), and the emulated
 * window it implies.
 */
import type { Scenario } from "../sim/engine/types.ts";
import type { EmulationSettings } from "./plan.ts";

/** The `emulation` config section, resolved (durations in simulated ns). */
export interface EmulationRunSettings {
  timeCompression: number;
  rateScale: number;
  /** Emulate only [0, durationNs) of the traffic window; null: all of it. */
  durationNs: number | null;
  /** Wait at most this long after the window for flows to finish, simulated ns. */
  drainNs: number;
  delay: NonNullable<EmulationSettings["delay"]>;
  rate: NonNullable<EmulationSettings["rate"]>;
  addressBlock: string;
  /** TCP port of the traffic agents. */
  port: number;
  /** Buffer of each link end as queueing delay at its rate, simulated ns; null: 1000 packets. */
  queueNs: number | null;
  allowDegrade: boolean;
  maxFlows: number;
  /** Measure every link's achieved rate with iperf3 before the first policy. */
  checkRates: boolean;
  /** Record the applications' connections with conntrack (emulate/conntrack.ts) into RunRecords.connections. */
  conntrack: boolean;
}

/** The end of the emulated window, simulated ns. */
export function emulatedWindowNs(scenario: Scenario, s: EmulationRunSettings): number {
  const horizon = scenario.intervals.reduce((m, iv) => Math.max(m, iv.endNs), 0);
  return s.durationNs === null ? horizon : Math.min(horizon, s.durationNs);
}
