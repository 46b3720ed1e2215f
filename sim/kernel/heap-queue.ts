/**
 * The pending-event set: an indexed 4-ary min-heap over typed arrays.
 *
 * Key order is (time, priority, sequence): earlier time first, then lower priority value, then the order in which
 * events were inserted, so ties are FIFO and the pop order is a total order independent of heap internals
 * (SimPy's scheduler uses the same key). Keys live in heap order in parallel typed arrays (time and sequence as
 * float64, exact for integers up to 2^53; priority as int32); each event has a slot whose payload (handler, data)
 * stays put while the heap moves only numbers. `pos[slot]` tracks where a slot sits in the heap so cancel is a true
 * O(log n) removal, not a tombstone: the flow model reschedules completion events constantly and tombstones would
 * grow the heap without bound.
 *
 * Event ids returned to callers encode (generation, slot) so a stale id (already fired or cancelled, slot reused)
 * is recognised and ignored.
 */

const SLOT_BITS = 2 ** 26;
const ARITY = 4;

export type EventHandler<T = unknown> = (data: T) => void;

export class EventQueue {
  private cap: number;
  private size = 0;
  private nextSeq = 0;
  // heap-ordered keys
  private hTime: Float64Array;
  private hSeq: Float64Array;
  private hPrio: Int32Array;
  private hSlot: Int32Array;
  // per-slot
  private pos: Int32Array;
  private gen: Uint32Array;
  private handlers: (EventHandler<never> | undefined)[] = [];
  private data: unknown[] = [];
  private freeSlots: Int32Array;
  private freeCount = 0;
  private slotsUsed = 0;

  constructor(initialCapacity = 1024) {
    this.cap = Math.max(16, initialCapacity);
    this.hTime = new Float64Array(this.cap);
    this.hSeq = new Float64Array(this.cap);
    this.hPrio = new Int32Array(this.cap);
    this.hSlot = new Int32Array(this.cap);
    this.pos = new Int32Array(this.cap).fill(-1);
    this.gen = new Uint32Array(this.cap);
    this.freeSlots = new Int32Array(this.cap);
  }

  get length(): number {
    return this.size;
  }

  /** Time of the earliest event, or Infinity when empty. */
  peekTime(): number {
    return this.size > 0 ? this.hTime[0]! : Number.POSITIVE_INFINITY;
  }

  /** Inserts an event; returns its id. `time` must be a number the caller has validated. */
  push<T>(time: number, priority: number, handler: EventHandler<T>, data: T): number {
    if (this.size === this.cap) this.grow();
    let slot: number;
    if (this.freeCount > 0) slot = this.freeSlots[--this.freeCount]!;
    else slot = this.slotsUsed++;
    this.handlers[slot] = handler as EventHandler<never>;
    this.data[slot] = data;
    const seq = this.nextSeq++;
    this.siftUp(this.size++, time, priority, seq, slot);
    return this.gen[slot]! * SLOT_BITS + slot;
  }

  /**
   * Removes the earliest event and calls `visit(time, handler, data)` with it. Returns false when empty.
   * The callback style avoids allocating a record per event.
   */
  pop(visit: (time: number, handler: EventHandler<never>, data: unknown) => void): boolean {
    if (this.size === 0) return false;
    const time = this.hTime[0]!;
    const slot = this.hSlot[0]!;
    const handler = this.handlers[slot]!;
    const data = this.data[slot];
    this.removeAt(0);
    this.release(slot);
    visit(time, handler, data);
    return true;
  }

  /** Cancels a pending event. Returns false when the id is stale (fired, cancelled or unknown). */
  cancel(id: number): boolean {
    if (!Number.isSafeInteger(id) || id < 0) return false;
    const slot = id % SLOT_BITS;
    const generation = (id - slot) / SLOT_BITS;
    if (slot >= this.slotsUsed || this.gen[slot] !== generation) return false;
    const p = this.pos[slot]!;
    if (p < 0) return false;
    this.removeAt(p);
    this.release(slot);
    return true;
  }

  /** Whether an id refers to an event still pending. */
  isPending(id: number): boolean {
    if (!Number.isSafeInteger(id) || id < 0) return false;
    const slot = id % SLOT_BITS;
    return slot < this.slotsUsed && this.gen[slot] === (id - slot) / SLOT_BITS && this.pos[slot]! >= 0;
  }

  clear(): void {
    while (this.size > 0) {
      const slot = this.hSlot[this.size - 1]!;
      this.size--;
      this.release(slot);
    }
  }

  private release(slot: number): void {
    this.pos[slot] = -1;
    this.gen[slot] = (this.gen[slot]! + 1) % SLOT_BITS;
    this.handlers[slot] = undefined;
    this.data[slot] = undefined;
    this.freeSlots[this.freeCount++] = slot;
  }

  private removeAt(i: number): void {
    const last = --this.size;
    if (i === last) return;
    const t = this.hTime[last]!;
    const p = this.hPrio[last]!;
    const s = this.hSeq[last]!;
    const slot = this.hSlot[last]!;
    // The moved element may need to go either way.
    if (i > 0 && this.less(t, p, s, ((i - 1) / ARITY) | 0)) this.siftUp(i, t, p, s, slot);
    else this.siftDown(i, t, p, s, slot);
  }

  /** Whether key (t, p, s) orders before the key at heap index j. */
  private less(t: number, p: number, s: number, j: number): boolean {
    const tj = this.hTime[j]!;
    if (t !== tj) return t < tj;
    const pj = this.hPrio[j]!;
    if (p !== pj) return p < pj;
    return s < this.hSeq[j]!;
  }

  private place(i: number, t: number, p: number, s: number, slot: number): void {
    this.hTime[i] = t;
    this.hPrio[i] = p;
    this.hSeq[i] = s;
    this.hSlot[i] = slot;
    this.pos[slot] = i;
  }

  private moveTo(i: number, j: number): void {
    this.hTime[i] = this.hTime[j]!;
    this.hPrio[i] = this.hPrio[j]!;
    this.hSeq[i] = this.hSeq[j]!;
    const slot = this.hSlot[j]!;
    this.hSlot[i] = slot;
    this.pos[slot] = i;
  }

  private siftUp(i: number, t: number, p: number, s: number, slot: number): void {
    while (i > 0) {
      const parent = ((i - 1) / ARITY) | 0;
      if (!this.less(t, p, s, parent)) break;
      this.moveTo(i, parent);
      i = parent;
    }
    this.place(i, t, p, s, slot);
  }

  private siftDown(i: number, t: number, p: number, s: number, slot: number): void {
    const n = this.size;
    for (;;) {
      const first = i * ARITY + 1;
      if (first >= n) break;
      let best = first;
      const end = Math.min(first + ARITY, n);
      for (let c = first + 1; c < end; c++) {
        if (this.less(this.hTime[c]!, this.hPrio[c]!, this.hSeq[c]!, best)) best = c;
      }
      if (!this.lessKeyAt(best, t, p, s)) break;
      this.moveTo(i, best);
      i = best;
    }
    this.place(i, t, p, s, slot);
  }

  /** Whether the key at heap index j orders before (t, p, s). */
  private lessKeyAt(j: number, t: number, p: number, s: number): boolean {
    const tj = this.hTime[j]!;
    if (tj !== t) return tj < t;
    const pj = this.hPrio[j]!;
    if (pj !== p) return pj < p;
    return this.hSeq[j]! < s;
  }

  private grow(): void {
    const cap = this.cap * 2;
    if (cap > SLOT_BITS) throw new RangeError(`event queue: more than ${SLOT_BITS} pending events`);
    const f64 = (a: Float64Array) => {
      const b = new Float64Array(cap);
      b.set(a);
      return b;
    };
    const i32 = (a: Int32Array, fill = 0) => {
      const b = new Int32Array(cap).fill(fill);
      b.set(a);
      return b;
    };
    this.hTime = f64(this.hTime);
    this.hSeq = f64(this.hSeq);
    this.hPrio = i32(this.hPrio);
    this.hSlot = i32(this.hSlot);
    this.pos = i32(this.pos, -1);
    this.freeSlots = i32(this.freeSlots);
    const g = new Uint32Array(cap);
    g.set(this.gen);
    this.gen = g;
    this.cap = cap;
  }
}
