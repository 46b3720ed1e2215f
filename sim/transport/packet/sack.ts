/**
 * The SACK sender's scoreboard and Proportional Rate Reduction for the packet model's TCP
 * (sim/transport/packet/tcp.ts with `sack`), per flow slot, in segments. Sources: RFC 2018 (SACK), RFC 6675
 * (scoreboard, IsLost, SetPipe, NextSeg), RFC 6937 (PRR with its slow-start reduction bound, as Linux).
 *
 * Reports. Every ACK the receiver sends for an out-of-order segment carries that segment (RFC 2018's first block:
 * the block of the segment that triggered the ACK); its later blocks, which repeat earlier reports against lost
 * ACKs, are not modelled, so a lost ACK loses its report (the cumulative ACK still covers it later).
 *
 * Scoreboard. A ring of flags per slot over [una, una + ring): SACKED, and RETRANSMITTED (in this recovery), with
 * the count of SACKed segments, of retransmitted segments not yet SACKed or acknowledged, and highSacked (one past
 * the highest SACKed segment). IsLost(s) with DupThresh 3, segment-granular: s is not SACKed and at least 3 SACKed
 * segments lie above it, i.e. s is below `lostBound`, the third-highest SACKed segment. Then
 *
 *   pipe = (sndMax - una) - sacked - lostHoles + retransmittedOut,   lostHoles = (lostBound - una) - (sacked - 3)
 *
 * which is RFC 6675's SetPipe (a segment not SACKed counts once unless lost, and once more if retransmitted).
 * NextSeg: the lowest lost segment not yet retransmitted (rule 1), else new data (rule 2, the caller's), else, once
 * the flow has no new data left, a hole below the highest SACKed segment ({@link SackBoard.nextTailHole}, in place
 * of rule 3, which would resend segments still in flight); rule 4 (the rescue retransmission) is not modelled, and
 * a retransmission lost again waits for the RTO (Linux's RACK and tail loss probes are not modelled either).
 *
 * PRR, per ACK in recovery with DeliveredData d (segments newly acknowledged or SACKed):
 *   prrDelivered += d;  pipe > ssthresh: sndcnt = ceil(prrDelivered x ssthresh / RecoverFS) - prrOut
 *   else: sndcnt = min(ssthresh - pipe, max(prrDelivered - prrOut, d) + 1);   cwnd = pipe + max(sndcnt, 0)
 * with RecoverFS = sndMax - una at the start of recovery.
 */
import { growF64, growI32 } from "../typed-arrays.ts";

const SACKED = 1;
const RETRANSMITTED = 2;
/** IsLost's DupThresh: SACKed segments above a hole that declare it lost (RFC 6675). */
const DUP_THRESH = 3;

export class SackBoard {
  private readonly rings: (Uint8Array | null)[] = [];
  private sacked = new Int32Array(0);
  private rexmitOut = new Int32Array(0);
  private highSacked = new Int32Array(0);
  /** NextSeg's scan pointer: lost segments below it were retransmitted or SACKed. */
  private scan = new Int32Array(0);
  private prrDelivered = new Float64Array(0);
  private prrOut = new Float64Array(0);
  private recoverFs = new Float64Array(0);
  private readonly mask: number;

  /** @param ringSize a power of two above the most segments a sender has outstanding. */
  constructor(private readonly ringSize: number) {
    this.mask = ringSize - 1;
  }

  grow(n: number): void {
    this.sacked = growI32(this.sacked, n);
    this.rexmitOut = growI32(this.rexmitOut, n);
    this.highSacked = growI32(this.highSacked, n);
    this.scan = growI32(this.scan, n);
    this.prrDelivered = growF64(this.prrDelivered, n);
    this.prrOut = growF64(this.prrOut, n);
    this.recoverFs = growF64(this.recoverFs, n);
    while (this.rings.length < n) this.rings.push(null);
  }

  /** The slot's ring of flags, made on first use. */
  private ring(slot: number): Uint8Array {
    let r = this.rings[slot];
    if (!r) {
      r = new Uint8Array(this.ringSize);
      this.rings[slot] = r;
    }
    return r;
  }

  /** A new connection (or a slot released): an empty scoreboard. */
  reset(slot: number): void {
    this.rings[slot]?.fill(0);
    this.sacked[slot] = 0;
    this.rexmitOut[slot] = 0;
    this.highSacked[slot] = 0;
    this.scan[slot] = 0;
  }

  isSacked(slot: number, seg: number): boolean {
    const r = this.rings[slot];
    return r !== null && r !== undefined && (r[seg & this.mask]! & SACKED) !== 0;
  }

  /**
   * The cumulative ACK moved from `una` to `ack`: forgets their flags. Returns the segments newly delivered (not
   * SACKed before).
   */
  advance(slot: number, una: number, ack: number): number {
    const r = this.rings[slot];
    if (!r) return ack - una;
    let delivered = 0;
    for (let s = una; s < ack; s++) {
      const i = s & this.mask;
      const f = r[i]!;
      if (f & SACKED) this.sacked[slot] = this.sacked[slot]! - 1;
      else {
        delivered++;
        if (f & RETRANSMITTED) this.rexmitOut[slot] = this.rexmitOut[slot]! - 1;
      }
      r[i] = 0;
    }
    if (this.highSacked[slot]! < ack) this.highSacked[slot] = ack;
    return delivered;
  }

  /** A SACK report of `seg` (in [una, sndMax)); returns whether it was news (1 segment delivered). */
  mark(slot: number, seg: number): boolean {
    const r = this.ring(slot);
    const i = seg & this.mask;
    const f = r[i]!;
    if (f & SACKED) return false;
    if (f & RETRANSMITTED) this.rexmitOut[slot] = this.rexmitOut[slot]! - 1;
    r[i] = f | SACKED;
    this.sacked[slot] = this.sacked[slot]! + 1;
    if (seg + 1 > this.highSacked[slot]!) this.highSacked[slot] = seg + 1;
    return true;
  }

  /** The third-highest SACKed segment (segments not SACKed below it are lost), or `una` when fewer are SACKed. */
  lostBound(slot: number, una: number): number {
    const r = this.rings[slot];
    if (!r || this.sacked[slot]! < DUP_THRESH) return una;
    let found = 0;
    for (let s = this.highSacked[slot]! - 1; s >= una; s--) {
      if (r[s & this.mask]! & SACKED && ++found === DUP_THRESH) return s;
    }
    return una;
  }

  /** RFC 6675's SetPipe, segments. */
  pipe(slot: number, una: number, sndMax: number): number {
    const bound = this.lostBound(slot, una);
    const sacked = this.sacked[slot]!;
    const lostHoles = bound > una ? bound - una - (sacked - DUP_THRESH) : 0;
    return sndMax - una - sacked - lostHoles + this.rexmitOut[slot]!;
  }

  /** NextSeg rule 1: the lowest lost segment not SACKed nor retransmitted in this recovery, or -1. */
  nextLost(slot: number, una: number): number {
    const r = this.rings[slot];
    if (!r) return -1;
    const bound = this.lostBound(slot, una);
    let s = Math.max(this.scan[slot]!, una);
    while (s < bound && r[s & this.mask]! !== 0) s++;
    this.scan[slot] = s;
    return s < bound ? s : -1;
  }

  /**
   * At the flow's tail (no new data left, no lost segment): the lowest segment below the highest SACKed one neither
   * SACKed nor retransmitted in this recovery, or -1. On a FIFO path a SACKed segment above a hole means the hole
   * was lost (RACK's rule with no reordering window), which RFC 6675's IsLost cannot say with fewer than 3 SACKs
   * above: without it such a tail waits for the RTO.
   */
  nextTailHole(slot: number, una: number): number {
    const r = this.rings[slot];
    if (!r) return -1;
    const top = this.highSacked[slot]!;
    let s = Math.max(this.scan[slot]!, una);
    while (s < top && r[s & this.mask]! !== 0) s++;
    this.scan[slot] = s;
    return s < top ? s : -1;
  }

  /** `seg` was retransmitted in this recovery. */
  retransmitted(slot: number, seg: number): void {
    const r = this.ring(slot);
    const i = seg & this.mask;
    if (r[i]! & (SACKED | RETRANSMITTED)) return;
    r[i] = r[i]! | RETRANSMITTED;
    this.rexmitOut[slot] = this.rexmitOut[slot]! + 1;
  }

  /** A timeout: retransmissions are forgotten (every segment not SACKed is sent again in order); SACKs are kept. */
  forgetRetransmissions(slot: number, una: number, sndMax: number): void {
    const r = this.rings[slot];
    if (r) for (let s = una; s < sndMax; s++) r[s & this.mask] = r[s & this.mask]! & SACKED;
    this.rexmitOut[slot] = 0;
    this.scan[slot] = una;
  }

  /** Recovery starts with `flight` segments outstanding (RFC 6937's RecoverFS). */
  startRecovery(slot: number, una: number, flight: number): void {
    this.prrDelivered[slot] = 0;
    this.prrOut[slot] = 0;
    this.recoverFs[slot] = Math.max(1, flight);
    this.scan[slot] = una;
  }

  /** A segment sent during recovery (PRR's prrOut). */
  sentInRecovery(slot: number): void {
    this.prrOut[slot] = this.prrOut[slot]! + 1;
  }

  /** PRR's window (segments) after an ACK delivering `delivered` segments, with `pipe` and `ssthresh` in segments. */
  prrWindow(slot: number, delivered: number, pipe: number, ssthresh: number): number {
    const d = this.prrDelivered[slot]! + delivered;
    this.prrDelivered[slot] = d;
    const out = this.prrOut[slot]!;
    const sndcnt =
      pipe > ssthresh
        ? Math.ceil((d * ssthresh) / this.recoverFs[slot]! - 1e-9) - out
        : Math.min(ssthresh - pipe, Math.max(d - out, delivered) + 1);
    return pipe + Math.max(0, sndcnt);
  }
}
