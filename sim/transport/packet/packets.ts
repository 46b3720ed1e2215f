/**
 * Packets of the packet model as integer handles into typed arrays (struct of arrays), recycled through a free
 * list: no object per packet, no closure per packet event (events carry the handle as their data).
 *
 * A packet belongs to a flow slot, has a kind (SYN, SYN-ACK, data, ACK), a sequence field (a data segment's index;
 * an ACK's cumulative acknowledgement: the next segment expected), payload and wire sizes (bytes), the timestamps
 * of RFC 7323 (its send time and the echoed one, ns), an ACK's SACK report, the interned path it follows, its hop on that path and the
 * epoch of the link it is crossing (a link that goes down bumps its epoch: packets on it are lost).
 */
import { growF64, growI32, growU8 } from "../typed-arrays.ts";

export const SYN = 0;
export const SYN_ACK = 1;
export const DATA = 2;
export const ACK = 3;

export class PacketPool {
  flow = new Int32Array(0);
  kind = new Uint8Array(0);
  seq = new Int32Array(0);
  payload = new Int32Array(0);
  wire = new Int32Array(0);
  ts = new Float64Array(0);
  ecr = new Float64Array(0);
  /** An ACK's SACK report: the out-of-order segment that triggered it (RFC 2018's first block), or -1. */
  sack = new Int32Array(0);
  path = new Int32Array(0);
  hop = new Int32Array(0);
  epoch = new Int32Array(0);
  private free = new Int32Array(0);
  private freeCount = 0;
  private used = 0;
  /** Packets allocated and not yet released. */
  live = 0;

  constructor(capacity = 1024) {
    this.grow(capacity);
  }

  alloc(): number {
    this.live++;
    if (this.freeCount > 0) return this.free[--this.freeCount]!;
    if (this.used === this.flow.length) this.grow(this.used * 2);
    return this.used++;
  }

  release(p: number): void {
    this.live--;
    this.free[this.freeCount++] = p;
  }

  private grow(n: number): void {
    this.flow = growI32(this.flow, n);
    this.kind = growU8(this.kind, n);
    this.seq = growI32(this.seq, n);
    this.payload = growI32(this.payload, n);
    this.wire = growI32(this.wire, n);
    this.ts = growF64(this.ts, n);
    this.ecr = growF64(this.ecr, n);
    this.sack = growI32(this.sack, n);
    this.path = growI32(this.path, n);
    this.hop = growI32(this.hop, n);
    this.epoch = growI32(this.epoch, n);
    this.free = growI32(this.free, n);
  }
}
