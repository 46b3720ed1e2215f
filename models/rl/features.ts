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
 * - `availableBandwidth`: last probed available bandwidth / the bottleneck link's capacity, [0, 1] (0 when unknown);
 * - `flowTime`: log2(1 + T / rttRefNs), [0, 8], with T the expected completion time of a typical flow of
 *   `flowBytes` on the path ({@link flowTimeNs}): one RTT plus its bits over the rate it can get, the smaller of the
 *   path's free bandwidth (`roomBps`: the links' capacity minus their forecast load, the pair's own rate moved onto
 *   the path) and the Mathis rate of the path's RTT and packet loss (`pathLoss`, from the links' loss).
 *
 * Reward of a path after it was used (Gymnasium's scalar reward; higher is better), shaped on the experiment's
 * metric, the flows' completion time:
 *
 *   r = -log2(1 + T / rttRefNs) + wBandwidth x availableBandwidth - wSecurity x (1 - secureShare),
 *
 * T as for `flowTime` with the RTT the path's next probe saw and the path's free bandwidth and loss then, and
 * r = -lossPenalty when the probe was lost. Latency is the RTT a probe saw (engines: propagation plus the queueing
 * the model holds in the simulator, ICMP over the pinned path in the emulator). Why T and not the RTT alone: a lossy
 * link carries little (each TCP flow over it is held to its Mathis rate), so its probed free bandwidth looks large
 * and its RTT only moderately higher; an RTT-and-bandwidth reward then rates it as good as a healthy path, while the
 * flows over it take seconds (issue 16's degraded link: rl-mesh 59% above the oracle's mean FCT with that reward).
 */

import { LINUX_MSS_BYTES, mathisRateBps } from "../tcp-throughput.ts";

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
  "flowTime",
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
  /** Size of the typical flow whose completion time the `flowTime` feature and the reward estimate, bytes (> 0). */
  flowBytes: number;
}

/**
 * Defaults: 50 ms is about a coast-to-coast RTT in Abilene; a lost probe is worse than the worst flow time (8); a
 * typical flow of 1 MB (oracle-path's `meanFlowBytes`); bandwidth counts through the flow time only.
 */
export const DEFAULT_REWARD: RewardSpec = {
  rttRefNs: 50e6,
  wBandwidth: 0,
  wSecurity: 1,
  lossPenalty: 10,
  flowBytes: 1e6,
};

/**
 * Expected completion time of a `flowBytes` flow over a path, ns: rttNs + flowBytes x 8 / rate, rate the smaller of
 * `roomBps` (floored at 1 kbit/s) and the Mathis rate of the path's RTT and `pathLoss` with Linux's MSS
 * (models/tcp-throughput.ts {@link mathisRateBps}; none without loss).
 */
export function flowTimeNs(rttNs: number, roomBps: number, pathLoss: number, flowBytes: number): number {
  const mathis = mathisRateBps(LINUX_MSS_BYTES, rttNs, pathLoss);
  return rttNs + (flowBytes * 8e9) / Math.max(1e3, Math.min(roomBps, mathis));
}

/** The flow-time feature and reward scale: log2(1 + T / rttRefNs), clamped to [0, 8]. */
export function flowTimeScore(tNs: number, spec: RewardSpec): number {
  return clamp(Math.log2(1 + tNs / spec.rttRefNs), 0, 8);
}

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
  /** Free bandwidth of the path with the pair's rate on it, bits/s (links' capacity minus forecast load); absent: the probe's. */
  roomBps?: number;
  /** Packet loss of the path, 1 - prod(1 - link loss), [0, 1); absent: 0. */
  pathLoss?: number;
  /** Round-trip propagation delay from the links, ns: the RTT of a path not probed yet; absent: 4 x rttRefNs. */
  propagationRttNs?: number;
}

const clamp = (v: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, v));

/** The context vector of a path (see the module doc). */
export function contextOf(p: PathView, spec: RewardSpec): Float64Array {
  const rtt = p.rttNs === null ? 4 : clamp(p.rttNs / spec.rttRefNs, 0, 4);
  const trend =
    p.rttNs === null || p.prevRttNs === null ? 0 : clamp((p.rttNs - p.prevRttNs) / spec.rttRefNs, -1, 1);
  const avail = p.availableBps === null ? 0 : clamp(p.availableBps / p.bottleneckBps, 0, 1);
  const rttNs = p.rttNs ?? p.propagationRttNs ?? 4 * spec.rttRefNs;
  const room = p.roomBps ?? p.availableBps ?? p.bottleneckBps;
  const t = flowTimeNs(rttNs, room, p.pathLoss ?? 0, spec.flowBytes);
  return Float64Array.of(
    1,
    rtt,
    trend,
    clamp(p.forecastUtilization, 0, 1.5),
    clamp(p.hops / 10, 0, 1),
    clamp(p.secureShare, 0, 1),
    clamp(p.loss, 0, 1),
    avail,
    flowTimeScore(t, spec),
  );
}

/**
 * The reward of a path whose probe answered (`rttNs` not null) or was lost (see the module doc); `path` gives the
 * path's free bandwidth and loss when the reward is computed (absent: the probe's available bandwidth, no loss).
 */
export function rewardOf(
  probe: { rttNs: number | null; availableBps: number | null },
  bottleneckBps: number,
  secureShare: number,
  spec: RewardSpec,
  path: { roomBps?: number; pathLoss?: number } = {},
): number {
  if (probe.rttNs === null) return -spec.lossPenalty;
  const avail = probe.availableBps === null ? 0 : clamp(probe.availableBps / bottleneckBps, 0, 1);
  const room = path.roomBps ?? probe.availableBps ?? bottleneckBps;
  const t = flowTimeNs(probe.rttNs, room, path.pathLoss ?? 0, spec.flowBytes);
  return -flowTimeScore(t, spec) + spec.wBandwidth * avail - spec.wSecurity * (1 - clamp(secureShare, 0, 1));
}
