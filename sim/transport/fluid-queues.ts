/**
 * Fluid queues of the TCP-aware fluid model (sim/transport/flow-network.ts, option `queue`): a backlog per link
 * made of the congestion windows its flows hold beyond their share of the path's bandwidth-delay product.
 *
 * Model. A TCP flow limited by the network (its window outlasts a round trip at its max-min share r) keeps
 * `W = r x RTT_base + E` bytes in flight: r x RTT_base on the wires and its *excess* E in the FIFO of its
 * bottleneck link (the link where progressive filling froze it). A link's backlog is the sum of the excesses held
 * there, `Q = sum E`, capped by its buffer B, and its queueing delay is `Q x 8 / C`. The windows evolve as the
 * fluid TCP models of Misra, Gong and Towsley (SIGCOMM 2000) have them, piecewise linearly between events:
 * - slow start: every acked byte adds one to the window (Linux, RFC 3465), so `dE/dt = r` (the queue of a
 *   saturated link whose flows are all in slow start grows at the link rate: the overshoot of slow start); with a
 *   window growing by a factor g per round trip, `dE/dt = (g - 1) r`;
 * - congestion avoidance: one segment per round trip, `dE/dt = MSS / (RTT_base + queueing)`;
 * - a flow has only its remaining bytes R left to send, so `E <= R`: when E meets R (a *kink* event) the flow has
 *   sent its last byte and its excess drains with it, `dE/dt = -r`, reaching 0 as the flow completes (a window-
 *   limited flow: R is what is left of its round's window);
 * - a rate change keeps the excess (a FIFO's backlog is the sum of the windows less the link's bandwidth-delay
 *   product, whatever the split of the rate: a newcomer's share on the wires does not push the others' bytes into
 *   the queue);
 * - when a backlog reaches B (an *overflow* event) drop-tail loses packets of the flows whose windows grow there:
 *   each halves its window (NewReno's multiplicative decrease, RFC 6582; `E' = max(0, W / 2 - r x RTT_base)`) and
 *   continues in congestion avoidance. The lost bytes' retransmission is not charged.
 * A flow limited by its window (a slow-start round shorter than a round trip) holds a transient queue while it sends
 * its window: its ACKs come back at the rate r its previous window was delivered and each releases g segments for
 * one, so its excess grows at `(g - 1) r` and, bounded by what is left of the window, drains with it: a triangle of
 * peak `(g - 1) / g x W` per round, 0 when the window is out and the flow waits for the round's end. Every flow *sees*
 * the queues: each round trip it takes (handshake, slow-start rounds) lasts `RTT_base + sum of queueing delays` of
 * its forward path at the round's start, and its last byte waits the queueing delays of the path (a
 * network-limited flow's but that of its bottleneck, where its own excess drained as its transfer ended). Flow-level
 * estimators with queueing likewise add per-link queueing delays along a flow's path (Parsimon, NSDI 2023, whose
 * per-link delays come from per-link simulations; m3, SIGCOMM 2024).
 *
 * A reservation (a pseudo link of the flow network) queues its flows' excess on its own, at its reserved rate, as
 * the emulator's htb class has its own FIFO; a flow held back by a QoS class's ceiling rather than a link holds no
 * excess.
 *
 * Buffers ({@link LinkBuffer}) are as the emulator sizes its FIFOs (emulate/commands.ts `fifoLimit`): a byte FIFO
 * holding a queueing delay at the link rate (at least four full frames), N packets of full frames (ns-3's and
 * Linux's pfifo count packets), or bytes.
 *
 * Units: bytes, ns; rates of flows as bytes/ns (`rho = r / 8e9`).
 */
import { MIN_PRIORITY } from "../kernel/event-queue.ts";
import type { Simulator } from "../kernel/simulator.ts";
import { growF64, growI32, growU8 } from "./typed-arrays.ts";

/** A link's buffer: a queueing delay at its rate (ns), a number of full-frame packets, or bytes. */
export type LinkBuffer =
  | { readonly delayNs: number }
  | { readonly packets: number }
  | { readonly bytes: number };

/** Bytes of a full Ethernet frame at MTU 1500, as the emulator counts a packet's place in a FIFO. */
export const FRAME_BYTES = 1514;

/** The emulator's default buffer (config `emulation.queue`: 10 ms at the link rate). */
export const EMULATOR_BUFFER: LinkBuffer = Object.freeze({ delayNs: 10e6 });

/** Buffer of a link of `capacityBps`, bytes (as emulate/commands.ts `fifoLimit` sizes the emulator's FIFOs). */
export function bufferBytes(buffer: LinkBuffer, capacityBps: number): number {
  if ("packets" in buffer) return buffer.packets * FRAME_BYTES;
  if ("bytes" in buffer) return buffer.bytes;
  return Math.max(4 * FRAME_BYTES, Math.ceil((capacityBps * buffer.delayNs) / 8e9));
}

/** What the queues need to know of the flow network. */
export interface QueueHost {
  /** Capacity of a link now, bits/s. */
  capacityOf(link: number): number;
  /** Slots of the flow copies attached to a link: `flows[0 .. count-1]`. */
  slotsOn(link: number): { readonly flows: Int32Array; readonly count: number };
}

const NONE = -1;
/** Priority of kink and overflow events: after completions and rounds at the same instant. */
const QUEUE_PRIORITY = MIN_PRIORITY + 2;

/** Per-link backlogs and per-flow window excesses (see the module doc). */
export class FluidQueues {
  // --- links: Q(t) = qVal + qSlope x (t - qT), bytes
  private qVal = new Float64Array(0);
  private qT = new Float64Array(0);
  private qSlope = new Float64Array(0);
  private qOverflow = new Float64Array(0);
  private touched = new Int32Array(16);
  private touchedCount = 0;
  private touchMark = new Uint8Array(0);
  // --- flow copies (slots): E(t) = exc + slope x (t - excT) on link excLink
  private exc = new Float64Array(0);
  private excT = new Float64Array(0);
  private slope = new Float64Array(0);
  private excLink = new Int32Array(0);
  private rho = new Float64Array(0);
  /** Bytes left to send at excT. */
  private rem = new Float64Array(0);
  private rttB = new Float64Array(0);
  private ca = new Uint8Array(0);
  private kink = new Float64Array(0);
  /** Overflow events so far (drop-tail loss episodes), for diagnostics. */
  overflows = 0;

  constructor(
    private readonly sim: Simulator,
    private readonly buffer: LinkBuffer,
    private readonly mssBytes: number,
    /** Slow start's window factor per round trip: the window grows by (growth - 1) x the acked bytes. */
    private readonly growth: number,
    private readonly host: QueueHost,
    links: number,
    slots: number,
  ) {
    this.growLinks(links);
    this.growSlots(slots);
  }

  growLinks(n: number): void {
    if (n <= this.qVal.length) return;
    this.qVal = growF64(this.qVal, n);
    this.qT = growF64(this.qT, n);
    this.qSlope = growF64(this.qSlope, n);
    this.qOverflow = growF64(this.qOverflow, n, NONE);
    this.touchMark = growU8(this.touchMark, n);
  }

  growSlots(n: number): void {
    if (n <= this.exc.length) return;
    this.exc = growF64(this.exc, n);
    this.excT = growF64(this.excT, n);
    this.slope = growF64(this.slope, n);
    this.excLink = growI32(this.excLink, n, NONE);
    this.rho = growF64(this.rho, n);
    this.rem = growF64(this.rem, n);
    this.rttB = growF64(this.rttB, n);
    this.ca = growU8(this.ca, n);
    this.kink = growF64(this.kink, n, NONE);
  }

  /** Buffer of a link now, bytes. */
  bufferOf(link: number): number {
    return bufferBytes(this.buffer, this.host.capacityOf(link));
  }

  /** Backlog of a link now, bytes (capped by its buffer). */
  backlog(link: number): number {
    const q = this.qVal[link]! + this.qSlope[link]! * (this.sim.now - this.qT[link]!);
    return Math.min(Math.max(0, q), this.bufferOf(link));
  }

  /** Queueing delay of a link now, ns. */
  delayNs(link: number): number {
    const c = this.host.capacityOf(link);
    return c > 0 ? (this.backlog(link) * 8e9) / c : 0;
  }

  /** Queueing delay along a path now, ns, leaving out link `except` (NONE: none). */
  pathDelayNs(path: ArrayLike<number>, except = NONE): number {
    let d = 0;
    for (let i = 0; i < path.length; i++) {
      const l = path[i]!;
      if (l !== except && (this.qVal[l] !== 0 || this.qSlope[l] !== 0)) d += this.delayNs(l);
    }
    return d;
  }

  /** The link a flow copy holds its excess on, or NONE. */
  linkOf(slot: number): number {
    return this.excLink[slot]!;
  }

  /** Whether a flow copy is network-limited (holds or may hold an excess). */
  isLimited(slot: number): boolean {
    return this.excLink[slot] !== NONE;
  }

  /** A flow copy's excess now, bytes. */
  excessNow(slot: number): number {
    return Math.max(0, this.exc[slot]! + this.slope[slot]! * (this.sim.now - this.excT[slot]!));
  }

  /**
   * A flow copy sending (a slow-start window, or network-limited) enters the model or changes rate or bottleneck;
   * its excess so far moves with it.
   * @param boundBytes what it may still send now: its remaining bytes, or less what is left of its round's window
   *   (its excess never exceeds it).
   */
  update(slot: number, link: number, rateBps: number, rttNs: number, boundBytes: number): void {
    if (link === NONE) {
      this.clear(slot); // frozen by a QoS class's guarantee or ceiling, not by a link: no queue of its own
      return;
    }
    const rho = rateBps / 8e9;
    let e = 0;
    if (this.excLink[slot] === NONE) this.ca[slot] = 0;
    else e = this.excessNow(slot);
    this.rttB[slot] = rttNs;
    this.set(slot, link, rho, Math.min(e, boundBytes), boundBytes);
  }

  /** A flow copy leaves the model (completed, removed, moved or back to window-limited rounds). */
  clear(slot: number): void {
    if (this.excLink[slot] === NONE) return;
    this.detach(slot);
    this.excLink[slot] = NONE;
    this.cancelKink(slot);
    this.flushTouched();
  }

  /** Reschedules the overflow events of the links touched since the last flush. */
  flushTouched(): void {
    for (let i = 0; i < this.touchedCount; i++) {
      const l = this.touched[i]!;
      this.touchMark[l] = 0;
      this.scheduleOverflow(l);
    }
    this.touchedCount = 0;
  }

  // ---------------------------------------------------------------- internals

  /**
   * Sets a copy's excess `e` (bytes, now), rate `rho` (bytes/ns), remaining bytes and link, and its slope for its
   * phase (`hold`: 0, a window kept at its size by losses).
   */
  private set(slot: number, link: number, rho: number, e: number, remaining: number, hold = false): void {
    this.detach(slot);
    this.cancelKink(slot);
    const now = this.sim.now;
    let s = 0;
    if (rho > 0 && e >= remaining) s = -rho;
    else if (rho > 0 && !hold) {
      s = this.ca[slot] ? this.mssBytes / (this.rttB[slot]! + this.delayNs(link)) : (this.growth - 1) * rho;
    }
    this.exc[slot] = e;
    this.rem[slot] = remaining;
    this.excT[slot] = now;
    this.slope[slot] = s;
    this.rho[slot] = rho;
    this.excLink[slot] = link;
    this.attach(slot);
    if (s >= 0 && rho > 0) {
      const dt = Math.ceil((remaining - e) / (s + rho));
      if (now + dt <= Number.MAX_SAFE_INTEGER) {
        this.kink[slot] = this.sim.schedule(dt, this.onKink, QUEUE_PRIORITY, slot);
      }
    }
  }

  /** The copy has sent its last byte: from now its excess drains with its remaining bytes. */
  private readonly onKink = (slot: number): void => {
    this.kink[slot] = NONE;
    this.detach(slot);
    this.exc[slot] = this.excessNow(slot);
    this.rem[slot] = this.exc[slot]!;
    this.excT[slot] = this.sim.now;
    this.slope[slot] = -this.rho[slot]!;
    this.attach(slot);
    this.flushTouched();
  };

  /** A backlog reached its buffer: the copies whose windows grow there halve them (drop-tail loss). */
  private readonly onOverflow = (link: number): void => {
    this.qOverflow[link] = NONE;
    this.overflows++;
    const { flows, count } = this.host.slotsOn(link);
    for (let i = 0; i < count; i++) {
      const f = flows[i]!;
      if (this.excLink[f] !== link || !(this.slope[f]! > 0)) continue;
      const rho = this.rho[f]!;
      const bdp = rho * this.rttB[f]!;
      const e = Math.max(0, (bdp + this.excessNow(f)) / 2 - bdp);
      this.ca[f] = 1;
      this.set(f, link, rho, e, this.remainingNow(f));
    }
    // Windows at their floor and still a full buffer: losses hold them there until their rates change.
    if (this.rawBacklog(link) >= this.bufferOf(link)) {
      for (let i = 0; i < count; i++) {
        const f = flows[i]!;
        if (this.excLink[f] !== link || !(this.slope[f]! > 0)) continue;
        this.set(f, link, this.rho[f]!, this.excessNow(f), this.remainingNow(f), true);
      }
    }
    this.flushTouched();
  };

  /** Bytes a copy has left to send now (it sends at its rate since the last update). */
  private remainingNow(slot: number): number {
    return Math.max(0, this.rem[slot]! - this.rho[slot]! * (this.sim.now - this.excT[slot]!));
  }

  private rawBacklog(link: number): number {
    return this.qVal[link]! + this.qSlope[link]! * (this.sim.now - this.qT[link]!);
  }

  private cancelKink(slot: number): void {
    const k = this.kink[slot]!;
    if (k !== NONE) this.sim.cancel(k);
    this.kink[slot] = NONE;
  }

  /** Removes a copy's excess and slope from its link's sums. */
  private detach(slot: number): void {
    const l = this.excLink[slot]!;
    if (l === NONE) return;
    this.advance(l);
    this.qVal[l] = this.qVal[l]! - this.excessNow(slot);
    this.qSlope[l] = this.qSlope[l]! - this.slope[slot]!;
    if (Math.abs(this.qVal[l]!) < 1e-6) this.qVal[l] = 0;
    if (Math.abs(this.qSlope[l]!) < 1e-15) this.qSlope[l] = 0;
    this.touch(l);
  }

  private attach(slot: number): void {
    const l = this.excLink[slot]!;
    this.advance(l);
    this.qVal[l] = this.qVal[l]! + this.exc[slot]!;
    this.qSlope[l] = this.qSlope[l]! + this.slope[slot]!;
    this.touch(l);
  }

  private advance(l: number): void {
    const now = this.sim.now;
    this.qVal[l] = this.qVal[l]! + this.qSlope[l]! * (now - this.qT[l]!);
    this.qT[l] = now;
  }

  private touch(l: number): void {
    if (this.touchMark[l]) return;
    this.touchMark[l] = 1;
    if (this.touchedCount === this.touched.length)
      this.touched = growI32(this.touched, this.touched.length * 2);
    this.touched[this.touchedCount++] = l;
  }

  private scheduleOverflow(l: number): void {
    const ev = this.qOverflow[l]!;
    if (ev !== NONE) this.sim.cancel(ev);
    this.qOverflow[l] = NONE;
    const s = this.qSlope[l]!;
    if (!(s > 0)) return;
    const room = this.bufferOf(l) - this.rawBacklog(l);
    const dt = Math.max(0, Math.ceil(room / s));
    if (this.sim.now + dt > Number.MAX_SAFE_INTEGER) return;
    this.qOverflow[l] = this.sim.schedule(dt, this.onOverflow, QUEUE_PRIORITY, l);
  }
}
