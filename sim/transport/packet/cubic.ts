/**
 * CUBIC congestion avoidance for the packet model's TCP (RFC 9438; Ha, Rhee and Xu, SIGOPS OSR 2008), Linux's
 * default and what the emulator's namespaces run, with HyStart (Ha and Rhee, "Hybrid Slow Start for high-bandwidth
 * and long-distance networks", PFLDnet 2008 / Computer Networks 2011) as Linux's tcp_cubic.c and ns-3 3.37's
 * TcpCubic run it. Per flow slot, in typed arrays.
 *
 * Window in segments. A congestion event (fast retransmit or timeout) at window W sets W_max = W, or with fast
 * convergence W x (1 + beta) / 2 when W is below the previous W_max, and ssthresh = max(beta W, 2) with beta = 0.7.
 * A timeout then forgets W_max, the minimum RTT and HyStart's detection (Linux's bictcp_state(TCP_CA_Loss), ns-3's
 * CongestionStateSet(CA_LOSS)). In congestion avoidance, from the first ACK of an epoch (time t0, window W0):
 *
 *   K = cbrt((W_max - W0) / C)  (0 when W0 >= W_max, W_max then = W0),   W_cubic(t) = C (t - K)^3 + W_max,  C = 0.4
 *
 * and each ACK of `a` segments moves cwnd toward target = W_cubic(t + RTT_min), clamped to [cwnd, 1.5 cwnd], by
 * (target - cwnd) / cwnd x a (Linux's "cnt", as a fraction); RTT_min is the connection's minimum RTT sample (Linux's
 * delay_min, ns-3's m_delayMin), samples taken within 1 s (Linux; ns-3: 10 ms) of an epoch's start ignored. The
 * Reno-friendly estimate W_est grows by alpha x a / cwnd with alpha = 3 (1 - beta) / (1 + beta); while W_cubic(t) <
 * W_est, cwnd follows W_est (Linux only: ns-3 3.37 has no Reno-friendly region). Before the first congestion event
 * (or after a timeout) cwnd grows by at least a / 20 (Linux's and ns-3's cnt clamp of 20: 5% per RTT).
 *
 * HyStart, in slow start once cwnd >= 16 segments, per ACK with an RTT sample; a round starts at the ACK that passes
 * the highest segment sent at the last round's start (its time: round start). Exit (ssthresh = cwnd) when
 * - ACK train: ACKs keep arriving at most 2 ms apart, and the train since the round's start is longer than
 *   Linux: (RTT_min + 1 ms) / 2 (hystart_ack_delay's 1 ms cap; no pacing); ns-3: RTT_min;
 * - delay: after 8 samples of the round, the round's minimum RTT exceeds RTT_min + Linux: clamp(RTT_min / 8, 4 ms,
 *   16 ms); ns-3: clamp(RTT_min, 4 ms, 1 s) (ns-3 stops taking the minimum after the 8 samples).
 * ns-3 starts a round after the ACK's samples are taken (its IncreaseWindow), Linux before (hystart_update).
 * Not modelled: RFC 9406 HyStart++ (Linux runs HyStart), the RFC 9438 section 4.9 undo of spurious congestion
 * events, ns-3's integer window arithmetic and cnt clamp.
 */
import { growF64, growU8 } from "../typed-arrays.ts";

const C = 0.4;
const BETA = 0.7;
const ALPHA = (3 * (1 - BETA)) / (1 + BETA);

/** Whose CUBIC and HyStart details the model follows (see the module doc). */
export type CubicImplementation = "linux" | "ns3";

/** HyStart's constants (Linux tcp_cubic.c and ns-3 3.37 share these), ns and segments. */
export const HYSTART = Object.freeze({
  lowWindowSegments: 16,
  ackDeltaNs: 2e6,
  minSamples: 8,
  delayMinNs: 4e6,
  /** Linux 16 ms, ns-3 1 s. */
  delayMaxNs: { linux: 16e6, ns3: 1e9 },
  /** Linux's hystart_ack_delay at most (1 ms; its pacing-rate term is larger on every link here). */
  linuxAckDelayNs: 1e6,
  /** RTT samples ignored this long after an epoch starts: Linux HZ (1 s), ns-3's CubicDelta (10 ms). */
  discardNs: { linux: 1e9, ns3: 10e6 },
});

export class Cubic {
  private wMax = new Float64Array(0);
  /** Epoch start, ns; -1 before the first ACK of an epoch. */
  private epoch = new Float64Array(0);
  private k = new Float64Array(0);
  private wEst = new Float64Array(0);
  /** Minimum RTT sample, ns (0: none yet). */
  private delayMin = new Float64Array(0);
  // HyStart's round
  private roundStart = new Float64Array(0);
  private lastAck = new Float64Array(0);
  private endSeq = new Float64Array(0);
  private currRtt = new Float64Array(0);
  private samples = new Float64Array(0);
  private found = new Uint8Array(0);
  /** Whether a congestion event set W_max since the connection (or a timeout) started. */
  private lossSeen = new Uint8Array(0);

  constructor(
    private readonly hystart: boolean = false,
    private readonly as: CubicImplementation = "linux",
  ) {}

  grow(n: number): void {
    this.wMax = growF64(this.wMax, n);
    this.epoch = growF64(this.epoch, n, -1);
    this.k = growF64(this.k, n);
    this.wEst = growF64(this.wEst, n);
    this.delayMin = growF64(this.delayMin, n);
    this.roundStart = growF64(this.roundStart, n);
    this.lastAck = growF64(this.lastAck, n);
    this.endSeq = growF64(this.endSeq, n);
    this.currRtt = growF64(this.currRtt, n);
    this.samples = growF64(this.samples, n);
    this.found = growU8(this.found, n);
    this.lossSeen = growU8(this.lossSeen, n);
  }

  /** A new connection at `nowNs`. */
  reset(slot: number, nowNs = 0): void {
    this.wMax[slot] = 0;
    this.epoch[slot] = -1;
    this.delayMin[slot] = 0;
    this.found[slot] = 0;
    this.lossSeen[slot] = 0;
    this.newRound(slot, nowNs, 0);
  }

  /** A congestion event at window `cwnd` segments; returns ssthresh in segments. */
  onCongestion(slot: number, cwnd: number): number {
    this.wMax[slot] = cwnd < this.wMax[slot]! ? (cwnd * (1 + BETA)) / 2 : cwnd;
    this.epoch[slot] = -1;
    this.lossSeen[slot] = 1;
    return Math.max(cwnd * BETA, 2);
  }

  /** A retransmission timeout (after {@link onCongestion}): W_max, RTT_min and HyStart start over. */
  onTimeout(slot: number, nowNs: number, sndNxt: number): void {
    this.reset(slot, nowNs);
    this.endSeq[slot] = sndNxt;
  }

  /** The minimum RTT sample so far, ns (0: none). */
  minRtt(slot: number): number {
    return this.delayMin[slot]!;
  }

  /**
   * An ACK of new data acknowledging up to segment `ack` (exclusive) with an RTT sample of `rttNs`, while the window
   * is `cwnd` segments, in slow start or not, `sndNxt` the next segment to send. Returns whether HyStart ends slow
   * start now (the caller then sets ssthresh = cwnd).
   */
  onRttSample(
    slot: number,
    rttNs: number,
    nowNs: number,
    cwnd: number,
    slowStart: boolean,
    ack: number,
    sndNxt: number,
  ): boolean {
    const e = this.epoch[slot]!;
    if (e >= 0 && nowNs - e < HYSTART.discardNs[this.as]) return false;
    const delay = Math.max(1, rttNs);
    if (this.delayMin[slot] === 0 || this.delayMin[slot]! > delay) this.delayMin[slot] = delay;
    if (!this.hystart || this.found[slot] === 1 || !slowStart || cwnd < HYSTART.lowWindowSegments)
      return false;
    if (this.as === "linux" && ack > this.endSeq[slot]!) this.newRound(slot, nowNs, sndNxt);
    return this.as === "linux" ? this.linuxUpdate(slot, delay, nowNs) : this.ns3Update(slot, delay, nowNs);
  }

  /** Slow start's growth on an ACK up to `ack`: ns-3 starts HyStart's round here (after the ACK's sample). */
  onSlowStartAck(slot: number, ack: number, nowNs: number, sndNxt: number): void {
    if (this.hystart && this.as === "ns3" && ack > this.endSeq[slot]!) this.newRound(slot, nowNs, sndNxt);
  }

  private newRound(slot: number, nowNs: number, sndNxt: number): void {
    this.roundStart[slot] = nowNs;
    this.lastAck[slot] = nowNs;
    this.endSeq[slot] = sndNxt;
    this.currRtt[slot] = 0;
    this.samples[slot] = 0;
  }

  /** Linux's hystart_update (tcp_cubic.c, 5.7+). */
  private linuxUpdate(slot: number, delay: number, nowNs: number): boolean {
    const min = this.delayMin[slot]!;
    if (nowNs - this.lastAck[slot]! <= HYSTART.ackDeltaNs) {
      this.lastAck[slot] = nowNs;
      if (nowNs - this.roundStart[slot]! > (min + HYSTART.linuxAckDelayNs) / 2) return this.exit(slot);
    }
    if (this.currRtt[slot] === 0 || this.currRtt[slot]! > delay) this.currRtt[slot] = delay;
    if (this.samples[slot]! < HYSTART.minSamples) {
      this.samples[slot]!++;
      return false;
    }
    const thresh = Math.min(Math.max(min / 8, HYSTART.delayMinNs), HYSTART.delayMaxNs.linux);
    return this.currRtt[slot]! > min + thresh ? this.exit(slot) : false;
  }

  /** ns-3 3.37's TcpCubic::HystartUpdate. */
  private ns3Update(slot: number, delay: number, nowNs: number): boolean {
    const min = this.delayMin[slot]!;
    let found = false;
    if (nowNs - this.lastAck[slot]! <= HYSTART.ackDeltaNs) {
      this.lastAck[slot] = nowNs;
      if (nowNs - this.roundStart[slot]! > min) found = true;
    }
    if (this.samples[slot]! < HYSTART.minSamples) {
      if (this.currRtt[slot] === 0 || this.currRtt[slot]! > delay) this.currRtt[slot] = delay;
      this.samples[slot]!++;
    } else {
      const thresh = Math.min(Math.max(min, HYSTART.delayMinNs), HYSTART.delayMaxNs.ns3);
      if (this.currRtt[slot]! > min + thresh) found = true;
    }
    return found ? this.exit(slot) : false;
  }

  private exit(slot: number): boolean {
    this.found[slot] = 1;
    return true;
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
    const rtt = this.delayMin[slot]! > 0 ? this.delayMin[slot]! : rttNs;
    const wCubic = (x: number) => C * (x - this.k[slot]!) ** 3 + this.wMax[slot]!;
    // before the first congestion event (W_max 0 in Linux and ns-3) at least one segment per 20 acknowledged
    const floor = this.lossSeen[slot] === 0 ? cwnd + acked / 20 : cwnd;
    if (this.as === "linux") {
      const est = this.wEst[slot]! + (ALPHA * acked) / cwnd;
      this.wEst[slot] = est;
      if (wCubic(t) < est) return Math.max(floor, est);
    }
    const target = Math.min(Math.max(wCubic(t + rtt / 1e9), cwnd), 1.5 * cwnd);
    return Math.max(floor, cwnd + ((target - cwnd) / cwnd) * acked);
  }
}
