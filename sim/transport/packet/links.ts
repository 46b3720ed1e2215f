/**
 * The links of the packet model: per directed link a drop-tail FIFO in front of a constant-rate transmitter, then
 * the propagation delay.
 *
 * Model. A link of capacity C (bits/s) and delay d (ns) sends one packet at a time: a packet of w wire bytes
 * (payload + IP/TCP header + link-layer header) occupies the transmitter w x 8 / C, then arrives at the link's end
 * d later. Packets that find the transmitter busy wait in a FIFO; a packet that would take the FIFO beyond its
 * limit (bytes, or packets, excluding the one being sent: Linux's bfifo/pfifo behind htb or tbf, and ns-3's queue
 * disc plus device queue) is dropped (drop-tail). Buffers are as the emulator sizes them (emulate/commands.ts
 * `fifoLimit`, through sim/transport/fluid-queues.ts `bufferBytes`).
 *
 * Computation. A FIFO at a constant rate is work-conserving, so a packet's departure is known when it is accepted:
 * it starts at max(now, busyUntil) and ends w x 8 / C later. Each accepted packet therefore costs one event, its
 * arrival at the link's end (rounded up to the ns; same-ns arrivals keep FIFO order). What the drop-tail test needs
 * is the backlog at the arrival instant: a ring per link of the start times and sizes of the packets accepted but
 * not yet in transmission, trimmed lazily (entries whose start time has come are in service). Bits carried until
 * now are the bits accepted less the bits the transmitter still has to send, (busyUntil - now) x C. A link going
 * down loses what it holds and what is on its wire: its epoch changes and packets of an older epoch are dropped
 * when they arrive.
 *
 * Units: bytes, bits/s, ns.
 */
import type { Simulator } from "../../kernel/simulator.ts";
import type { Topology } from "../../substrate/topology.ts";
import { bufferBytes, type LinkBuffer } from "../fluid-queues.ts";
import { TransportError } from "../transport.ts";
import type { PacketPool } from "./packets.ts";

/** Where packets go when they reach the end of their path, or are lost. */
export interface PacketSink {
  deliver(p: number): void;
  dropped(p: number): void;
}

/** Paths interned as integer ids (never freed: a run uses few distinct paths). */
export class PathTable {
  readonly paths: Int32Array[] = [];
  private readonly ids = new Map<string, number>();

  intern(path: ArrayLike<number>): number {
    const key = Array.prototype.join.call(path, ",");
    let id = this.ids.get(key);
    if (id === undefined) {
      id = this.paths.length;
      this.paths.push(Int32Array.from(path));
      this.ids.set(key, id);
    }
    return id;
  }
}

const RING0 = 16;

export class PacketLinks {
  readonly count: number;
  readonly capacity: Float64Array;
  readonly delayNs: Float64Array;
  readonly up: Uint8Array;
  private readonly epoch: Int32Array;
  /** When the transmitter has sent everything accepted so far, ns (not rounded). */
  private readonly busyUntil: Float64Array;
  private readonly limitBytes: Float64Array;
  private readonly limitPackets: Float64Array;
  /** Waiting packets per link: start times and wire sizes in a ring, its head and length, their bytes. */
  private readonly ringStart: Float64Array[] = [];
  private readonly ringBytes: Int32Array[] = [];
  private readonly head: Int32Array;
  private readonly length: Int32Array;
  private readonly queuedBytes: Float64Array;
  private readonly acceptedBits: Float64Array;
  /** Packets dropped per link (drop-tail, or lost on a down link). */
  readonly drops: Float64Array;
  /** Packet transmissions started (accepted packets), all links: the packet-hops of the run. */
  transmissions = 0;
  sink: PacketSink | null = null;
  /**
   * Loss fraction per link (degraded links): a packet about to enter the FIFO is dropped when a draw of
   * {@link lossDraw} (uniform [0, 1), a named seeded stream) is below it; no draw on a link without loss.
   */
  readonly loss: Float64Array;
  lossDraw: (() => number) | null = null;
  /** Extra losses (tests, loss models): a packet about to enter link `l`'s FIFO is dropped when this says so. */
  lossFilter: ((l: number, p: number) => boolean) | null = null;

  constructor(
    private readonly sim: Simulator,
    topology: Topology,
    buffer: LinkBuffer,
    private readonly pool: PacketPool,
    readonly paths: PathTable,
  ) {
    const n = topology.linkCount;
    this.count = n;
    this.capacity = new Float64Array(n);
    this.delayNs = new Float64Array(n);
    this.up = new Uint8Array(n).fill(1);
    this.epoch = new Int32Array(n);
    this.busyUntil = new Float64Array(n);
    this.limitBytes = new Float64Array(n);
    this.limitPackets = new Float64Array(n);
    this.head = new Int32Array(n);
    this.length = new Int32Array(n);
    this.queuedBytes = new Float64Array(n);
    this.acceptedBits = new Float64Array(n);
    this.drops = new Float64Array(n);
    this.loss = new Float64Array(n);
    for (const l of topology.links) {
      const i = l.index;
      this.capacity[i] = l.capacityBps;
      this.delayNs[i] = l.delayNs;
      if ("packets" in buffer) {
        this.limitPackets[i] = buffer.packets;
        this.limitBytes[i] = Number.POSITIVE_INFINITY;
      } else {
        this.limitPackets[i] = Number.POSITIVE_INFINITY;
        this.limitBytes[i] = bufferBytes(buffer, l.capacityBps);
      }
      this.ringStart.push(new Float64Array(RING0));
      this.ringBytes.push(new Int32Array(RING0));
    }
    if (!("packets" in buffer) && !(bufferBytes(buffer, 1) > 0)) {
      throw new TransportError(`packet links: the buffer must hold at least one byte`);
    }
  }

  /** Sends packet `p` onto hop `pool.hop[p]` of its path. */
  send(p: number): void {
    this.enqueue(this.paths.paths[this.pool.path[p]!]![this.pool.hop[p]!]!, p);
  }

  private enqueue(l: number, p: number): void {
    if (
      this.up[l] === 0 ||
      (this.loss[l]! > 0 && this.lossDraw!() < this.loss[l]!) ||
      this.lossFilter?.(l, p) === true
    ) {
      this.drop(l, p);
      return;
    }
    const now = this.sim.now;
    const w = this.pool.wire[p]!;
    const busy = this.busyUntil[l]!;
    let start = now;
    if (busy > now) {
      if (!this.admit(l, w, busy, now)) {
        this.drop(l, p);
        return;
      }
      start = busy;
    }
    const end = start + (w * 8e9) / this.capacity[l]!;
    this.busyUntil[l] = end;
    this.acceptedBits[l] = this.acceptedBits[l]! + w * 8;
    this.transmissions++;
    this.pool.epoch[p] = this.epoch[l]!;
    this.sim.scheduleAt(Math.ceil(end + this.delayNs[l]!), this.onArrive, 0, p);
  }

  /** Drop-tail: whether a packet of `w` bytes fits the FIFO of `l` now (it is then queued, starting at `start`). */
  private admit(l: number, w: number, start: number, now: number): boolean {
    let ring = this.ringStart[l]!;
    let mask = ring.length - 1;
    let h = this.head[l]!;
    let n = this.length[l]!;
    let bytes = this.queuedBytes[l]!;
    const sizes = this.ringBytes[l]!;
    while (n > 0 && ring[h]! <= now) {
      bytes -= sizes[h]!;
      h = (h + 1) & mask;
      n--;
    }
    this.head[l] = h;
    this.length[l] = n;
    this.queuedBytes[l] = bytes;
    if (n + 1 > this.limitPackets[l]! || bytes + w > this.limitBytes[l]!) return false;
    if (n === ring.length) {
      this.growRing(l);
      ring = this.ringStart[l]!;
      mask = ring.length - 1;
      h = this.head[l]!;
    }
    const t = (h + n) & mask;
    ring[t] = start;
    this.ringBytes[l]![t] = w;
    this.length[l] = n + 1;
    this.queuedBytes[l] = bytes + w;
    return true;
  }

  private growRing(l: number): void {
    const old = this.ringStart[l]!;
    const oldB = this.ringBytes[l]!;
    const n = old.length;
    const ring = new Float64Array(2 * n);
    const sizes = new Int32Array(2 * n);
    const h = this.head[l]!;
    for (let i = 0; i < n; i++) {
      ring[i] = old[(h + i) & (n - 1)]!;
      sizes[i] = oldB[(h + i) & (n - 1)]!;
    }
    this.ringStart[l] = ring;
    this.ringBytes[l] = sizes;
    this.head[l] = 0;
  }

  private readonly onArrive = (p: number): void => {
    const pool = this.pool;
    const path = this.paths.paths[pool.path[p]!]!;
    const h = pool.hop[p]!;
    const l = path[h]!;
    if (pool.epoch[p] !== this.epoch[l]) {
      this.drop(l, p);
    } else if (h + 1 < path.length) {
      pool.hop[p] = h + 1;
      this.enqueue(path[h + 1]!, p);
    } else {
      this.sink!.deliver(p);
    }
  };

  private drop(l: number, p: number): void {
    this.drops[l] = this.drops[l]! + 1;
    this.sink!.dropped(p);
  }

  /** Takes a link down (it loses what it holds and what is on its wire) or brings it back. */
  setUp(l: number, up: boolean): void {
    if (this.up[l] === (up ? 1 : 0)) return;
    this.up[l] = up ? 1 : 0;
    if (up) return;
    const now = this.sim.now;
    const left = Math.max(0, this.busyUntil[l]! - now);
    this.acceptedBits[l] = this.acceptedBits[l]! - (left * this.capacity[l]!) / 1e9;
    this.busyUntil[l] = now;
    this.epoch[l] = this.epoch[l]! + 1;
    this.length[l] = 0;
    this.queuedBytes[l] = 0;
  }

  /** Bits (wire bytes x 8) a link has sent from time 0 until now. */
  bitsUntilNow(l: number): number {
    const left = Math.max(0, this.busyUntil[l]! - this.sim.now);
    return this.acceptedBits[l]! - (left * this.capacity[l]!) / 1e9;
  }

  /** How long a packet arriving now would wait before its transmission starts, ns. */
  waitNs(l: number): number {
    return Math.max(0, this.busyUntil[l]! - this.sim.now);
  }
}
