/**
 * What the path agent sees of a candidate path (its context) and what it earns for using it (its reward), both
 * normalised by reference scales stored in the model file, so a model means the same in every engine and on every
 * topology.
 *
 * Context x (d = {@link FEATURES}.length), each entry clamped to a small range so no path dominates the ridge fit:
 * - `bias`: 1;
 * - `rtt`: last probed round-trip time / `rttRefNs`, [0, 4] (a path never probed successfully counts as 4);
 * - `rttTrend`: (last RTT - the RTT before) / `rttRefNs`, [-1, 1] (0 until two probes came back);
 * - `forecastUtilization`: the predictor's forecast of the path's bottleneck utilization (the highest over its
 *   links), [0, 1.5];
 * - `hops`: links / 10, [0, 1];
 * - `secureShare`: share of the path's links that are secure, [0, 1];
 * - `loss`: recent probe loss (an EWMA of lost = 1, answered = 0), [0, 1];
 * - `availableBandwidth`: last probed available bandwidth / the bottleneck link's capacity, [0, 1] (0 when unknown).
 *
 * Reward of a path after it was used (Gymnasium's scalar reward; higher is better):
 *
 *   r = -min(RTT / rttRefNs, 4) + wBandwidth x availableBandwidth - wSecurity x (1 - secureShare),
 *
 * and r = -lossPenalty when the path's probe was lost. Latency is the RTT a probe saw (engines: propagation plus the
 * queueing the model holds in the simulator, ICMP over the pinned path in the emulator).
 */

/** Context feature names, in vector order (the model file lists them and the loader checks they match). */
export const FEATURES = [
  "bias",
  "rtt",
  "rttTrend",
  "forecastUtilization",
  "hops",
  "secureShare",
  "loss",
  "availableBandwidth",
] as const;

/** Context dimension. */
export const DIMENSION = FEATURES.length;

/** How features and rewards are normalised and weighted (stored in the model file). */
export interface RewardSpec {
  /** RTT that counts as 1, ns (> 0). */
  rttRefNs: number;
  /** Weight of the available-bandwidth share in the reward (>= 0). */
  wBandwidth: number;
  /** Weight of the insecure share in the reward (>= 0). */
  wSecurity: number;
  /** Reward of a lost probe, as a positive penalty (> 0). */
  lossPenalty: number;
}

/** Defaults: 50 ms is about a coast-to-coast RTT in Abilene; a lost probe is worse than the worst RTT feature. */
export const DEFAULT_REWARD: RewardSpec = { rttRefNs: 50e6, wBandwidth: 1, wSecurity: 1, lossPenalty: 5 };

/** What is known of one candidate path when it is scored. */
export interface PathView {
  /** Last probed RTT, ns, or null (never answered). */
  rttNs: number | null;
  /** The RTT before that, ns, or null. */
  prevRttNs: number | null;
  /** Recent probe loss, [0, 1]. */
  loss: number;
  /** Last probed available bandwidth, bits/s, or null. */
  availableBps: number | null;
  /** Capacity of the path's bottleneck link, bits/s (> 0). */
  bottleneckBps: number;
  /** Forecast utilization of the path's most utilized link. */
  forecastUtilization: number;
  /** Links on the path. */
  hops: number;
  /** Share of the path's links that are secure, [0, 1]. */
  secureShare: number;
}

const clamp = (v: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, v));

/** The context vector of a path (see the module doc). */
export function contextOf(p: PathView, spec: RewardSpec): Float64Array {
  const rtt = p.rttNs === null ? 4 : clamp(p.rttNs / spec.rttRefNs, 0, 4);
  const trend =
    p.rttNs === null || p.prevRttNs === null ? 0 : clamp((p.rttNs - p.prevRttNs) / spec.rttRefNs, -1, 1);
  const avail = p.availableBps === null ? 0 : clamp(p.availableBps / p.bottleneckBps, 0, 1);
  return Float64Array.of(
    1,
    rtt,
    trend,
    clamp(p.forecastUtilization, 0, 1.5),
    clamp(p.hops / 10, 0, 1),
    clamp(p.secureShare, 0, 1),
    clamp(p.loss, 0, 1),
    avail,
  );
}

/** The reward of a path whose probe answered (`rttNs` not null) or was lost (see the module doc). */
export function rewardOf(
  probe: { rttNs: number | null; availableBps: number | null },
  bottleneckBps: number,
  secureShare: number,
  spec: RewardSpec,
): number {
  if (probe.rttNs === null) return -spec.lossPenalty;
  const avail = probe.availableBps === null ? 0 : clamp(probe.availableBps / bottleneckBps, 0, 1);
  return (
    -clamp(probe.rttNs / spec.rttRefNs, 0, 4) +
    spec.wBandwidth * avail -
    spec.wSecurity * (1 - clamp(secureShare, 0, 1))
  );
}
