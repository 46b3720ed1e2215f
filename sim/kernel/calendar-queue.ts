/**
 * A calendar queue (R. Brown, "Calendar queues: a fast O(1) priority queue implementation for the simulation
 * event set problem", CACM 31(10), 1988): the default pending-event set.
 *
 * Time is cut into "days" of `width` ns; day d lives in bucket d mod nBuckets (a "year" is nBuckets days). Each
 * bucket is a doubly linked list of event slots sorted by key (see event-queue.ts). Dequeue walks the buckets
 * from the current day and takes the head of the first bucket whose head falls in the day being visited; if a
 * whole year passes without one, a direct search over the bucket heads finds the minimum. Insert scans the target
 * bucket from its tail, which is O(1) for the common case of an event later than those already there (and for
 * FIFO ties: a new event has the largest sequence number). Cancel unlinks in O(1).
 *
 * The bucket count follows the event count (doubling above 2 events per bucket, halving below 1/2) and each resize
 * re-estimates the day width from the spacing of the pending events (Brown's rule: 3 x the mean gap). Like the
 * dynamic calendar queue (Oh & Ahn, 1997), it also resizes when searches visit more than 32 buckets on average,
 * which is the sign of a width that no longer fits the event spacing. Slot state is interleaved (array of structs in typed arrays: [time, tie],
 * [next, prev, bucket, generation], [handler, data]), so a push or pop touches a handful of cache lines where a
 * heap touches ~log(n) of them once it outgrows the cache.
 */
import {
  type EventHandler,
  type EventQueue,
  type EventVisitor,
  renumberTies,
  SEQ_SPAN,
  SLOT_BITS,
  tieKey,
} from "./event-queue.ts";

const MIN_BUCKETS = 8;
const NIL = -1;
// offsets in the per-slot link record
const NEXT = 0;
const PREV = 1;
const BUCKET = 2;
const GEN = 3;

export class CalendarEventQueue implements EventQueue {
  private size = 0;
  private nextSeq = 0;
  private cap: number;
  /** [time, tie] per slot. */
  private key: Float64Array;
  /** [next, prev, bucket (NIL when free), generation] per slot. */
  private ln: Int32Array;
  /** [handler, data] per slot. */
  private payload: unknown[];
  private freeSlots: Int32Array;
  private freeCount = 0;
  private slotsUsed = 0;
  private nb = MIN_BUCKETS;
  private width = 1;
  /** [head, tail] per bucket. */
  private bk: Int32Array = new Int32Array(2 * MIN_BUCKETS).fill(NIL);
  /** A day number (floor(time / width)) no pending event is earlier than. */
  private day = 0;
  /** Cached minimum slot, or NIL when unknown. */
  private minSlot = NIL;
  /** Buckets visited by minimum searches and searches made, since the last resize (to detect a bad width). */
  private scanned = 0;
  private searches = 0;

  constructor(initialCapacity = 1024) {
    this.cap = Math.max(16, initialCapacity);
    this.key = new Float64Array(2 * this.cap);
    this.ln = new Int32Array(4 * this.cap);
    for (let s = 0; s < this.cap; s++) this.ln[4 * s + BUCKET] = NIL;
    this.payload = new Array(2 * this.cap).fill(undefined);
    this.freeSlots = new Int32Array(this.cap);
  }

  get length(): number {
    return this.size;
  }

  peekTime(): number {
    if (this.size === 0) return Number.POSITIVE_INFINITY;
    return this.key[2 * this.findMin()]!;
  }

  push<T>(time: number, priority: number, handler: EventHandler<T>, data: T): number {
    if (this.nextSeq === SEQ_SPAN) this.renumber();
    const tie = tieKey(priority, this.nextSeq);
    this.nextSeq++;
    let slot: number;
    if (this.freeCount > 0) slot = this.freeSlots[--this.freeCount]!;
    else {
      if (this.slotsUsed === this.cap) this.grow();
      slot = this.slotsUsed++;
    }
    this.payload[2 * slot] = handler;
    this.payload[2 * slot + 1] = data;
    this.key[2 * slot] = time;
    this.key[2 * slot + 1] = tie;
    // `day` is a lower bound on every pending event's day; an event earlier than it (only possible when the
    // queue is used outside a simulator's monotone clock) moves it back.
    const d = Math.floor(time / this.width);
    if (this.size === 0 || d < this.day) this.day = d;
    this.link(slot, d);
    this.size++;
    const m = this.minSlot;
    if (m !== NIL) {
      const tm = this.key[2 * m]!;
      if (time < tm || (time === tm && tie < this.key[2 * m + 1]!)) this.minSlot = slot;
    }
    if (this.size > 2 * this.nb) this.resize(this.nb * 2);
    return this.ln[4 * slot + GEN]! * SLOT_BITS + slot;
  }

  pop(visit: EventVisitor): boolean {
    if (this.size === 0) return false;
    const slot = this.findMin();
    const time = this.key[2 * slot]!;
    const handler = this.payload[2 * slot] as EventHandler<never>;
    const data = this.payload[2 * slot + 1];
    this.remove(slot);
    this.minSlot = NIL;
    visit(time, handler, data);
    return true;
  }

  cancel(id: number): boolean {
    const slot = this.liveSlot(id);
    if (slot === NIL) return false;
    if (this.minSlot === slot) this.minSlot = NIL;
    this.remove(slot);
    return true;
  }

  isPending(id: number): boolean {
    return this.liveSlot(id) !== NIL;
  }

  clear(): void {
    for (const s of this.liveSlots()) this.release(s);
    this.bk.fill(NIL);
    this.size = 0;
    this.minSlot = NIL;
  }

  // ------------------------------------------------------------------ internals

  private remove(slot: number): void {
    this.unlink(slot);
    this.release(slot);
    this.size--;
    if (this.size < this.nb / 2 && this.nb > MIN_BUCKETS) this.resize(this.nb / 2);
  }

  private liveSlot(id: number): number {
    if (!Number.isSafeInteger(id) || id < 0) return NIL;
    const slot = id % SLOT_BITS;
    if (slot >= this.slotsUsed) return NIL;
    const o = 4 * slot;
    if (this.ln[o + GEN] !== (id - slot) / SLOT_BITS || this.ln[o + BUCKET] === NIL) return NIL;
    return slot;
  }

  private liveSlots(): number[] {
    const out: number[] = [];
    for (let s = 0; s < this.slotsUsed; s++) if (this.ln[4 * s + BUCKET] !== NIL) out.push(s);
    return out;
  }

  private release(slot: number): void {
    const o = 4 * slot;
    this.ln[o + BUCKET] = NIL;
    this.ln[o + GEN] = (this.ln[o + GEN]! + 1) % SLOT_BITS;
    this.payload[2 * slot] = undefined;
    this.payload[2 * slot + 1] = undefined;
    this.freeSlots[this.freeCount++] = slot;
  }

  /** Inserts a slot (whose day is `d`) into its bucket, keeping the bucket sorted; scans from the tail. */
  private link(slot: number, d: number): void {
    const key = this.key;
    const ln = this.ln;
    const bk = this.bk;
    const t = key[2 * slot]!;
    const k = key[2 * slot + 1]!;
    const b = d % this.nb;
    let after = bk[2 * b + 1]!;
    while (after !== NIL) {
      const ta = key[2 * after]!;
      if (ta < t || (ta === t && key[2 * after + 1]! < k)) break;
      after = ln[4 * after + PREV]!;
    }
    const o = 4 * slot;
    if (after === NIL) {
      const h = bk[2 * b]!;
      ln[o + NEXT] = h;
      ln[o + PREV] = NIL;
      if (h !== NIL) ln[4 * h + PREV] = slot;
      else bk[2 * b + 1] = slot;
      bk[2 * b] = slot;
    } else {
      const n = ln[4 * after + NEXT]!;
      ln[o + NEXT] = n;
      ln[o + PREV] = after;
      ln[4 * after + NEXT] = slot;
      if (n !== NIL) ln[4 * n + PREV] = slot;
      else bk[2 * b + 1] = slot;
    }
    ln[o + BUCKET] = b;
  }

  private unlink(slot: number): void {
    const ln = this.ln;
    const o = 4 * slot;
    const b = ln[o + BUCKET]!;
    const p = ln[o + PREV]!;
    const n = ln[o + NEXT]!;
    if (p !== NIL) ln[4 * p + NEXT] = n;
    else this.bk[2 * b] = n;
    if (n !== NIL) ln[4 * n + PREV] = p;
    else this.bk[2 * b + 1] = p;
  }

  /** The slot of the earliest event (size > 0), cached until the queue changes. */
  private findMin(): number {
    if (this.minSlot !== NIL) return this.minSlot;
    const nb = this.nb;
    const w = this.width;
    const bk = this.bk;
    const key = this.key;
    let day = this.day;
    let b = day % nb;
    this.searches++;
    for (let i = 0; i < nb; i++) {
      const h = bk[2 * b]!;
      if (h !== NIL && key[2 * h]! < (day + 1) * w) {
        this.day = day;
        this.scanned += i;
        if (this.scanned > 32 * this.searches && this.searches > 64) this.resize(nb); // width no longer fits
        this.minSlot = h;
        return h;
      }
      day++;
      b = b + 1 === nb ? 0 : b + 1;
    }
    // A whole year without an event: direct search over the bucket heads.
    this.scanned += 2 * nb;
    if (this.scanned > 32 * this.searches && this.searches > 64) {
      this.resize(nb); // the width no longer fits the event spacing
      return this.findMin();
    }
    const best = this.findMinDirect();
    this.day = Math.floor(key[2 * best]! / w);
    this.minSlot = best;
    return best;
  }

  /** The minimum over all bucket heads (size > 0). */
  private findMinDirect(): number {
    const bk = this.bk;
    const key = this.key;
    let best = NIL;
    for (let j = 0; j < this.nb; j++) {
      const h = bk[2 * j]!;
      if (h === NIL) continue;
      if (best === NIL) {
        best = h;
        continue;
      }
      const th = key[2 * h]!;
      const tb = key[2 * best]!;
      if (th < tb || (th === tb && key[2 * h + 1]! < key[2 * best + 1]!)) best = h;
    }
    return best;
  }

  /**
   * Rebuilds with `nb` buckets and a day width estimated from the earliest events. Old buckets are walked in list
   * order, so events reach their new bucket mostly in key order and the tail-scan insert stays O(1): O(n) overall.
   */
  private resize(nb: number): void {
    this.scanned = 0;
    this.searches = 0;
    const width = this.estimateWidth();
    const old = this.bk;
    const oldNb = this.nb;
    this.width = width;
    this.nb = nb;
    this.bk = new Int32Array(2 * nb).fill(NIL);
    for (let b = 0; b < oldNb; b++) {
      let s = old[2 * b]!;
      while (s !== NIL) {
        const after = this.ln[4 * s + NEXT]!;
        this.link(s, Math.floor(this.key[2 * s]! / width));
        s = after;
      }
    }
    this.minSlot = NIL;
    this.day = this.size > 0 ? Math.floor(this.key[2 * this.findMinDirect()]! / width) : 0;
  }

  /**
   * Day width: 3 x the mean gap between consecutive pending events over the earliest 90% of them (Brown's rule
   * of 3 mean gaps, on a sample that ignores the 10% farthest events so a few far-future timers cannot stretch
   * it); at least 1 ns. O(n log n) in native sort, run only on resize.
   */
  private estimateWidth(): number {
    if (this.size < 2) return this.width;
    const times = new Float64Array(this.size);
    let n = 0;
    for (let b = 0; b < this.nb; b++) {
      for (let s = this.bk[2 * b]!; s !== NIL; s = this.ln[4 * s + NEXT]!) times[n++] = this.key[2 * s]!;
    }
    times.sort();
    const last = Math.max(1, Math.floor(0.9 * (n - 1)));
    const span = times[last]! - times[0]!;
    return Math.max(1, Math.ceil((3 * span) / last));
  }

  private renumber(): void {
    this.nextSeq = renumberTies(
      this.liveSlots(),
      (s) => this.key[2 * s]!,
      (s) => this.key[2 * s + 1]!,
      (s, k) => {
        this.key[2 * s + 1] = k;
      },
    );
  }

  private grow(): void {
    const cap = this.cap * 2;
    if (cap > SLOT_BITS) throw new RangeError(`event queue: more than ${SLOT_BITS} pending events`);
    const key = new Float64Array(2 * cap);
    key.set(this.key);
    this.key = key;
    const ln = new Int32Array(4 * cap);
    ln.set(this.ln);
    for (let s = this.cap; s < cap; s++) ln[4 * s + BUCKET] = NIL;
    this.ln = ln;
    for (let i = 2 * this.cap; i < 2 * cap; i++) this.payload.push(undefined);
    const free = new Int32Array(cap);
    free.set(this.freeSlots);
    this.freeSlots = free;
    this.cap = cap;
  }
}
