/**
 * Long-run TCP throughput under random loss, shared by the fluid model's cap on lossy paths
 * (sim/transport/flow-network.ts) and the RL mesh's flow-time estimate (models/rl/features.ts).
 */

/** TCP segment payload of Linux over a 1500-byte MTU with timestamps, bytes. */
export const LINUX_MSS_BYTES = 1448;

/**
 * The Mathis rate: the long-run throughput of a TCP flow in congestion avoidance that loses a fraction `loss` of
 * its packets at random, MSS x 8 / RTT x sqrt(3/2) / sqrt(loss) bits/s (Mathis, Semke, Mahdavi and Ott, "The
 * Macroscopic Behavior of the TCP Congestion Avoidance Algorithm", CCR 27(3), 1997, eq. 3, C = sqrt(3/2) for an
 * ACK per segment). Infinity without loss or without a round trip (a zero-delay path): no cap.
 */
export function mathisRateBps(mssBytes: number, rttNs: number, loss: number): number {
  if (!(loss > 0) || !(rttNs > 0)) return Number.POSITIVE_INFINITY;
  return ((mssBytes * 8e9) / rttNs) * Math.sqrt(1.5 / loss);
}
