/**
 * CUBIC congestion avoidance for the packet model's TCP (RFC 9438; Ha, Rhee and Xu, SIGOPS OSR 2008), Linux's
 * default and what the emulator's namespaces run. Per flow slot, in typed arrays.
 *
 * Window in segments. A congestion event (fast retransmit or timeout) at window W sets W_max = W, or with fast
 * convergence W x (1 + beta) / 2 when W is below the previous W_max, and ssthresh = max(beta W, 2) with beta = 0.7.
 * In congestion avoidance, from the first ACK of an epoch (time t0, window W0):
 *
 *   K = cbrt((W_max - W0) / C)  (0 when W0 >= W_max, W_max then = W0),   W_cubic(t) = C (t - K)^3 + W_max,  C = 0.4
 *
 * and each ACK of `a` segments moves cwnd toward target = W_cubic(t + RTT), clamped to [cwnd, 1.5 cwnd], by
 * (target - cwnd) / cwnd x a (Linux's "cnt", as a fraction). The Reno-friendly estimate W_est grows by
 * alpha x a / cwnd with alpha = 3 (1 - beta) / (1 + beta); while W_cubic(t) < W_est, cwnd follows W_est. Not
 * modelled: HyStart (Linux and ns-3 run it by default; the validation turns ns-3's off), the RFC 9438 section 4.9
 * undo of spurious congestion events.
 */
import { growF64 } from "../typed-arrays.ts";

const C = 0.4;
const BETA = 0.7;
const ALPHA = (3 * (1 - BETA)) / (1 + BETA);

export class Cubic {
  private wMax = new Float64Array(0);
  /** Epoch start, ns; -1 before the first ACK of an epoch. */
  private epoch = new Float64Array(0);
  private k = new Float64Array(0);
  private wEst = new Float64Array(0);

  grow(n: number): void {
    this.wMax = growF64(this.wMax, n);
    this.epoch = growF64(this.epoch, n, -1);
    this.k = growF64(this.k, n);
    this.wEst = growF64(this.wEst, n);
  }

  /** A new connection. */
  reset(slot: number): void {
    this.wMax[slot] = 0;
    this.epoch[slot] = -1;
  }

  /** A congestion event at window `cwnd` segments; returns ssthresh in segments. */
  onCongestion(slot: number, cwnd: number): number {
    this.wMax[slot] = cwnd < this.wMax[slot]! ? (cwnd * (1 + BETA)) / 2 : cwnd;
    this.epoch[slot] = -1;
    return Math.max(cwnd * BETA, 2);
  }

  /** Congestion avoidance: the window (segments) after an ACK of `acked` segments at `nowNs`, RTT `rttNs`. */
  increase(slot: number, cwnd: number, acked: number, nowNs: number, rttNs: number): number {
    if (this.epoch[slot]! < 0) {
      this.epoch[slot] = nowNs;
      if (cwnd < this.wMax[slot]!) {
        this.k[slot] = Math.cbrt((this.wMax[slot]! - cwnd) / C);
      } else {
        this.k[slot] = 0;
        this.wMax[slot] = cwnd;
      }
      this.wEst[slot] = cwnd;
    }
    const t = (nowNs - this.epoch[slot]!) / 1e9;
    const wCubic = (x: number) => C * (x - this.k[slot]!) ** 3 + this.wMax[slot]!;
    const est = this.wEst[slot]! + (ALPHA * acked) / cwnd;
    this.wEst[slot] = est;
    if (wCubic(t) < est) return Math.max(cwnd, est);
    const target = Math.min(Math.max(wCubic(t + rttNs / 1e9), cwnd), 1.5 * cwnd);
    return cwnd + ((target - cwnd) / cwnd) * acked;
  }
}
