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
 * re-estimates the day width from the spacing of the pending events (Brown's rule: 3 x the mean gap, rounded up to
 * a power of two so that an event's day is one exact multiply, not a division, on every push). Like the
 * dynamic calendar queue (Oh & Ahn, 1997), it also resizes when searches visit more than 32 buckets on average,
 * which is the sign of a width that no longer fits the event spacing.
 *
 * Memory layout. A slot's key and links share one 32-byte record (one buffer seen as float64 [time, tie, -, -] and
 * as int32 [-, -, -, -, next, prev, bucket, generation]); handler and data sit in a parallel array. Once the slot
 * state outgrows the cache (1e5 pending events take ~5 MB), each slot a push or pop touches is a likely miss, so
 * what matters is where consecutive operations land. Slots therefore come in chunks of CHUNK consecutive slots,
 * and a bucket holding at least DENSE events appends into a chunk of its own: the events of a busy day, which
 * arrive roughly in key order and are appended at the tail, sit in consecutive records, so dequeuing them reads
 * memory sequentially and a push finds the tail's record next to its own. Such a chunk is freed when its last
 * event goes. Sparser buckets take single slots, recycled one by one (last freed, first reused, so still cached),
 * from chunks kept for that purpose; no chunk serves both uses. A chunk is only opened for a bucket already holding
 * DENSE events, so sparse workloads need about one slot per pending event, and dense ones at most CHUNK - 1
 * unused slots per busy bucket plus the dead slots of partly drained chunks.
 */
import {
  type EventHandler,
  type EventQueue,
  type EventVisitor,
  PRIO_OFFSET,
  renumberTies,
  SEQ_SPAN,
  SLOT_BITS,
  tieKey,
} from "./event-queue.ts";

const MIN_BUCKETS = 8;
const NIL = -1;
/** log2 of the slots per chunk. */
const CHUNK_BITS = 4;
/** Slots per chunk (see the memory layout in the class comment). */
const CHUNK = 1 << CHUNK_BITS;
// int32 offsets in a slot's 32-byte record; the float64 view holds the time at 4s and the tie at 4s + 1
const NEXT = 4;
const PREV = 5;
const BUCKET = 6;
const GEN = 7;
// offsets in a bucket's int32 record
const HEAD = 0;
const TAIL = 1;
const OPEN = 2;
const COUNT = 3;
const BUCKET_STRIDE = 4;
/**
 * A bucket holding at least this many events gets chunks of its own; sparser buckets take single slots. At CHUNK, a
 * bucket opening a chunk already holds more events than the chunk can leave unused.
 */
const DENSE = CHUNK;
// offsets in a chunk's int32 record
const LIVE = 0;
const OWNER = 1;
/** Owner of a chunk whose slots are handed out one by one (`freeSlots`) to sparse buckets. */
const SPARSE = -2;

export class CalendarEventQueue implements EventQueue {
  private size = 0;
  private nextSeq = 0;
  /** Slot capacity, a multiple of CHUNK. */
  private cap: number;
  /** Slot records as float64: [time, tie, (links)] per slot. */
  private f64: Float64Array;
  /** The same records as int32: [(key), next, prev, bucket (NIL when free), generation] per slot. */
  private i32: Int32Array;
  /** [handler, data] per slot. */
  private payload: unknown[];
  /** [slots holding a pending event, bucket it was opened in or SPARSE] per chunk. */
  private chunk: Int32Array;
  private freeChunks: Int32Array;
  private freeChunkCount = 0;
  private chunksUsed = 0;
  /** Free slots of SPARSE chunks (a stack), and the next never-used slot of the newest SPARSE chunk. */
  private freeSlots: Int32Array;
  private freeSlotCount = 0;
  private sparseNext = NIL;
  private nb = MIN_BUCKETS;
  /** Day width in ns, a power of two, and its inverse (exact, so floor(time * inv) is the day). */
  private width = 1;
  private inv = 1;
  /** [head, tail, next slot of its open chunk (NIL when none), event count] per bucket. */
  private bk: Int32Array = newBuckets(MIN_BUCKETS);
  /** A day number (floor(time / width)) no pending event is earlier than. */
  private day = 0;
  /** Cached minimum slot, or NIL when unknown. */
  private minSlot = NIL;
  /** Buckets visited by minimum searches and searches made, since the last resize (to detect a bad width). */
  private scanned = 0;
  private searches = 0;

  constructor(initialCapacity = 1024) {
    this.cap = Math.max(CHUNK, Math.ceil(initialCapacity / CHUNK) * CHUNK);
    const buf = new ArrayBuffer(32 * this.cap);
    this.f64 = new Float64Array(buf);
    this.i32 = new Int32Array(buf);
    for (let s = 0; s < this.cap; s++) this.i32[8 * s + BUCKET] = NIL;
    this.payload = [];
    for (let i = 0; i < 2 * this.cap; i++) this.payload.push(undefined);
    const chunks = this.cap / CHUNK;
    this.chunk = new Int32Array(2 * chunks);
    this.freeChunks = new Int32Array(chunks);
    this.freeSlots = new Int32Array(this.cap);
  }

  get length(): number {
    return this.size;
  }

  peekTime(): number {
    if (this.size === 0) return Number.POSITIVE_INFINITY;
    return this.f64[4 * this.findMin()]!;
  }

  /**
   * Kept small, with the rare cases (a priority other than 0, the sequence counter's wrap, a bucket without an
   * open chunk, an insert before the bucket's tail, a resize) in calls of their own, so that the whole push,
   * with `Simulator.schedule` around it, fits V8's inlining budget (920 bytes of bytecode per optimized
   * function) inside an event handler.
   */
  push<T>(time: number, priority: number, handler: EventHandler<T>, data: T): number {
    if (priority !== 0 || this.nextSeq === SEQ_SPAN) this.prepare(priority);
    const tie = (priority + PRIO_OFFSET) * SEQ_SPAN + this.nextSeq++; // tieKey, validated by `prepare`
    // `day` is a lower bound on every pending event's day; an event earlier than it (only possible when the
    // queue is used outside a simulator's monotone clock) moves it back.
    const d = Math.floor(time * this.inv);
    if (d < this.day || this.size === 0) this.day = d;
    const b = (d | 0) & (this.nb - 1); // d mod nb, see bucketOf
    let slot = this.bk[BUCKET_STRIDE * b + OPEN]!;
    if (slot === NIL) slot = this.allocOther(b);
    else this.takeOpen(slot, b);
    this.f64[4 * slot] = time;
    this.f64[4 * slot + 1] = tie;
    this.payload[2 * slot] = handler;
    this.payload[2 * slot + 1] = data;
    this.link(slot, b);
    if (++this.size > 2 * this.nb || this.minSlot !== NIL) this.afterPush(slot);
    return this.i32[8 * slot + GEN]! * SLOT_BITS + slot;
  }

  /** {@link push}'s rare start: validates a priority other than 0, renumbers before the sequence wraps. */
  private prepare(priority: number): void {
    tieKey(priority, 0);
    if (this.nextSeq === SEQ_SPAN) this.renumber();
  }

  /** {@link push}'s end when a minimum is cached (it may now be the new slot) or the buckets must double. */
  private afterPush(slot: number): void {
    const m = this.minSlot;
    if (m !== NIL) {
      const f64 = this.f64;
      const t = f64[4 * slot]!;
      const tm = f64[4 * m]!;
      if (t < tm || (t === tm && f64[4 * slot + 1]! < f64[4 * m + 1]!)) this.minSlot = slot;
    }
    if (this.size > 2 * this.nb) this.resize(this.nb * 2);
  }

  pop(visit: EventVisitor): boolean {
    return this.popUntil(Number.POSITIVE_INFINITY, visit);
  }

  popUntil(untilNs: number, visit: EventVisitor): boolean {
    if (this.size === 0) return false;
    const slot = this.findMin();
    const time = this.f64[4 * slot]!;
    if (time > untilNs) return false;
    const handler = this.payload[2 * slot] as EventHandler<never>;
    const data = this.payload[2 * slot + 1];
    // the minimum is the head of its bucket: unlink it there (less code than the general `unlink`)
    const i32 = this.i32;
    const ob = BUCKET_STRIDE * i32[8 * slot + BUCKET]!;
    const next = i32[8 * slot + NEXT]!;
    this.bk[ob + HEAD] = next;
    if (next === NIL) this.bk[ob + TAIL] = NIL;
    else i32[8 * next + PREV] = NIL;
    this.bk[ob + COUNT]!--;
    this.release(slot);
    this.minSlot = NIL;
    if (2 * --this.size < this.nb && this.nb > MIN_BUCKETS) this.resize(this.nb / 2);
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
    this.bk = newBuckets(this.nb);
    this.size = 0;
    this.minSlot = NIL;
  }

  // ------------------------------------------------------------------ internals

  /**
   * d mod nb for the power-of-two nb: ToInt32 keeps d mod 2^32 exactly (|d| < 2^53) and the mask reduces it
   * further, non-negative even for a negative d (`%` on a float64 would be a call to fmod).
   */
  private bucketOf(d: number): number {
    return (d | 0) & (this.nb - 1);
  }

  private remove(slot: number): void {
    this.unlink(slot);
    this.release(slot);
    this.size--;
    if (2 * this.size < this.nb && this.nb > MIN_BUCKETS) this.resize(this.nb / 2);
  }

  private liveSlot(id: number): number {
    if (!Number.isSafeInteger(id) || id < 0) return NIL;
    const slot = (id | 0) & (SLOT_BITS - 1); // id mod SLOT_BITS (ToInt32 keeps the low 32 bits exactly)
    if (slot >= this.chunksUsed * CHUNK) return NIL;
    const o = 8 * slot;
    if (this.i32[o + GEN] !== (id - slot) / SLOT_BITS || this.i32[o + BUCKET] === NIL) return NIL;
    return slot;
  }

  private liveSlots(): number[] {
    const out: number[] = [];
    const n = this.chunksUsed * CHUNK;
    for (let s = 0; s < n; s++) if (this.i32[8 * s + BUCKET] !== NIL) out.push(s);
    return out;
  }

  /** Hands out `slot`, the next one of bucket `b`'s open chunk. */
  private takeOpen(slot: number, b: number): void {
    // the chunk is closed once its last slot is handed out, and freed when its last event goes
    this.bk[BUCKET_STRIDE * b + OPEN] = (slot + 1) & (CHUNK - 1) ? slot + 1 : NIL;
    this.chunk[2 * (slot >> CHUNK_BITS) + LIVE]!++;
  }

  /** {@link alloc} for a bucket without an open chunk: a new chunk if the bucket is dense, else a single slot. */
  private allocOther(b: number): number {
    if (this.bk[BUCKET_STRIDE * b + COUNT]! < DENSE) return this.allocSparse();
    const c = this.takeChunk();
    this.chunk[2 * c + OWNER] = b;
    this.takeOpen(c * CHUNK, b);
    return c * CHUNK;
  }

  private allocSparse(): number {
    if (this.freeSlotCount > 0) return this.freeSlots[--this.freeSlotCount]!;
    let slot = this.sparseNext;
    if (slot === NIL) {
      const c = this.takeChunk();
      this.chunk[2 * c + OWNER] = SPARSE;
      slot = c * CHUNK;
    }
    this.sparseNext = (slot + 1) & (CHUNK - 1) ? slot + 1 : NIL;
    return slot;
  }

  private takeChunk(): number {
    if (this.freeChunkCount > 0) return this.freeChunks[--this.freeChunkCount]!;
    if (this.chunksUsed * CHUNK === this.cap) this.grow();
    return this.chunksUsed++;
  }

  private release(slot: number): void {
    const i32 = this.i32;
    i32[8 * slot + BUCKET] = NIL;
    i32[8 * slot + GEN] = (i32[8 * slot + GEN]! + 1) & (SLOT_BITS - 1);
    this.payload[2 * slot] = undefined;
    this.payload[2 * slot + 1] = undefined;
    const c = 2 * (slot >> CHUNK_BITS);
    if (this.chunk[c + OWNER] === SPARSE || --this.chunk[c + LIVE]! === 0) this.releaseOther(slot);
  }

  /** {@link release}'s rare end: a sparse slot back to the free stack, or a chunk whose last event went. */
  private releaseOther(slot: number): void {
    const c = slot >> CHUNK_BITS;
    const owner = this.chunk[2 * c + OWNER]!;
    if (owner === SPARSE) {
      this.freeSlots[this.freeSlotCount++] = slot;
    } else {
      // no pending event left in the chunk: free it, taking it back from its bucket if still open there (after
      // a resize `owner` may name an unrelated bucket, whose open slot then lies in another chunk)
      const ob = BUCKET_STRIDE * owner + OPEN;
      if (ob < this.bk.length && this.bk[ob]! >> CHUNK_BITS === c) this.bk[ob] = NIL;
      this.freeChunks[this.freeChunkCount++] = c;
    }
  }

  /**
   * Inserts a slot into bucket `b`, keeping the bucket sorted. The common case, an event after the bucket's tail (a
   * later time, or the same time and priority inserted later), appends here; others scan in {@link linkSorted}.
   */
  private link(slot: number, b: number): void {
    const i32 = this.i32;
    const bk = this.bk;
    const ob = BUCKET_STRIDE * b;
    const tail = bk[ob + TAIL]!;
    if (tail !== NIL) {
      const tt = this.f64[4 * tail]!;
      const t = this.f64[4 * slot]!;
      if (tt > t || (tt === t && this.f64[4 * tail + 1]! > this.f64[4 * slot + 1]!)) {
        this.linkSorted(slot, b);
        return;
      }
      i32[8 * tail + NEXT] = slot;
    } else bk[ob + HEAD] = slot;
    i32[8 * slot + NEXT] = NIL;
    i32[8 * slot + PREV] = tail;
    bk[ob + TAIL] = slot;
    bk[ob + COUNT]!++;
    i32[8 * slot + BUCKET] = b;
  }

  /** {@link link} for a slot that goes before the bucket's tail: scans from the tail. */
  private linkSorted(slot: number, b: number): void {
    const f64 = this.f64;
    const i32 = this.i32;
    const bk = this.bk;
    const t = f64[4 * slot]!;
    const k = f64[4 * slot + 1]!;
    const ob = BUCKET_STRIDE * b;
    let after = bk[ob + TAIL]!;
    while (after !== NIL) {
      const ta = f64[4 * after]!;
      if (ta < t || (ta === t && f64[4 * after + 1]! < k)) break;
      after = i32[8 * after + PREV]!;
    }
    const o = 8 * slot;
    if (after === NIL) {
      const h = bk[ob + HEAD]!;
      i32[o + NEXT] = h;
      i32[o + PREV] = NIL;
      if (h !== NIL) i32[8 * h + PREV] = slot;
      else bk[ob + TAIL] = slot;
      bk[ob + HEAD] = slot;
    } else {
      const n = i32[8 * after + NEXT]!;
      i32[o + NEXT] = n;
      i32[o + PREV] = after;
      i32[8 * after + NEXT] = slot;
      if (n !== NIL) i32[8 * n + PREV] = slot;
      else bk[ob + TAIL] = slot;
    }
    bk[ob + COUNT]!++;
    i32[o + BUCKET] = b;
  }

  private unlink(slot: number): void {
    const i32 = this.i32;
    const o = 8 * slot;
    const ob = BUCKET_STRIDE * i32[o + BUCKET]!;
    const p = i32[o + PREV]!;
    const n = i32[o + NEXT]!;
    if (p !== NIL) i32[8 * p + NEXT] = n;
    else this.bk[ob + HEAD] = n;
    if (n !== NIL) i32[8 * n + PREV] = p;
    else this.bk[ob + TAIL] = p;
    this.bk[ob + COUNT]!--;
  }

  /**
   * The slot of the earliest event (size > 0), cached until the queue changes. The common case, the head of the
   * current day's bucket, is tested here (small enough to inline into `popUntil`); the scan over later days is
   * out of line.
   */
  private findMin(): number {
    if (this.minSlot !== NIL) return this.minSlot;
    const day = this.day;
    const h = this.bk[BUCKET_STRIDE * ((day | 0) & (this.nb - 1)) + HEAD]!;
    if (h !== NIL && this.f64[4 * h]! < (day + 1) * this.width) {
      this.searches++;
      this.minSlot = h;
      return h;
    }
    return this.searchMin();
  }

  /** {@link findMin} past the current day's bucket: Brown's scan of the following days, then a direct search. */
  private searchMin(): number {
    const nb = this.nb;
    const w = this.width;
    const bk = this.bk;
    const f64 = this.f64;
    const mask = nb - 1;
    let day = this.day;
    let b = this.bucketOf(day);
    this.searches++;
    for (let i = 0; i < nb; i++) {
      const h = bk[BUCKET_STRIDE * b + HEAD]!;
      if (h !== NIL && f64[4 * h]! < (day + 1) * w) {
        this.day = day;
        this.scanned += i;
        if (this.scanned > 32 * this.searches && this.searches > 64) this.resize(nb); // width no longer fits
        this.minSlot = h;
        return h;
      }
      day++;
      b = (b + 1) & mask;
    }
    // A whole year without an event: direct search over the bucket heads.
    this.scanned += 2 * nb;
    if (this.scanned > 32 * this.searches && this.searches > 64) {
      this.resize(nb); // the width no longer fits the event spacing
      return this.findMin();
    }
    const best = this.findMinDirect();
    this.day = Math.floor(f64[4 * best]! * this.inv);
    this.minSlot = best;
    return best;
  }

  /** The minimum over all bucket heads (size > 0). */
  private findMinDirect(): number {
    const bk = this.bk;
    const f64 = this.f64;
    let best = NIL;
    for (let j = 0; j < this.nb; j++) {
      const h = bk[BUCKET_STRIDE * j + HEAD]!;
      if (h === NIL) continue;
      if (best === NIL) {
        best = h;
        continue;
      }
      const th = f64[4 * h]!;
      const tb = f64[4 * best]!;
      if (th < tb || (th === tb && f64[4 * h + 1]! < f64[4 * best + 1]!)) best = h;
    }
    return best;
  }

  /**
   * Rebuilds with `nb` buckets and a day width estimated from the earliest events. Old buckets are walked in list
   * order, so events reach their new bucket mostly in key order and the tail-scan insert stays O(1): O(n) overall.
   * Events keep their slots; the chunks open in the old buckets are closed (their unused slots come back when the
   * chunk is freed).
   */
  private resize(nb: number): void {
    this.scanned = 0;
    this.searches = 0;
    const width = this.estimateWidth();
    const old = this.bk;
    const oldNb = this.nb;
    this.width = width;
    this.inv = 1 / width;
    this.nb = nb;
    this.bk = newBuckets(nb);
    for (let b = 0; b < oldNb; b++) {
      let s = old[BUCKET_STRIDE * b + HEAD]!;
      while (s !== NIL) {
        const after = this.i32[8 * s + NEXT]!;
        this.link(s, this.bucketOf(Math.floor(this.f64[4 * s]! * this.inv)));
        s = after;
      }
    }
    this.minSlot = NIL;
    this.day = this.size > 0 ? Math.floor(this.f64[4 * this.findMinDirect()]! * this.inv) : 0;
  }

  /**
   * Day width: 3 x the mean gap between consecutive pending events over the earliest 90% of them (Brown's rule
   * of 3 mean gaps, on a sample that ignores the 10% farthest events so a few far-future timers cannot stretch
   * it), rounded up to a power of two (a day is then one exact multiply); at least 1 ns. The mean gap over the earliest `last + 1` events is (t_(last) - t_(0)) / last, so only the
   * minimum and one order statistic are needed: O(n) expected, run only on resize.
   */
  private estimateWidth(): number {
    if (this.size < 2) return this.width;
    const times = new Float64Array(this.size);
    let n = 0;
    let min = Number.POSITIVE_INFINITY;
    for (let b = 0; b < this.nb; b++) {
      for (let s = this.bk[BUCKET_STRIDE * b + HEAD]!; s !== NIL; s = this.i32[8 * s + NEXT]!) {
        const t = this.f64[4 * s]!;
        times[n++] = t;
        if (t < min) min = t;
      }
    }
    const last = Math.max(1, Math.floor(0.9 * (n - 1)));
    const span = orderStatistic(times, last) - min;
    return 2 ** Math.ceil(Math.log2(Math.max(1, (3 * span) / last)));
  }

  private renumber(): void {
    this.nextSeq = renumberTies(
      this.liveSlots(),
      (s) => this.f64[4 * s]!,
      (s) => this.f64[4 * s + 1]!,
      (s, k) => {
        this.f64[4 * s + 1] = k;
      },
    );
  }

  private grow(): void {
    const cap = this.cap * 2;
    if (cap > SLOT_BITS) throw new RangeError(`event queue: more than ${SLOT_BITS} pending events`);
    const buf = new ArrayBuffer(32 * cap);
    const i32 = new Int32Array(buf);
    i32.set(this.i32);
    for (let s = this.cap; s < cap; s++) i32[8 * s + BUCKET] = NIL;
    this.i32 = i32;
    this.f64 = new Float64Array(buf);
    for (let i = 2 * this.cap; i < 2 * cap; i++) this.payload.push(undefined);
    const chunks = cap / CHUNK;
    const chunk = new Int32Array(2 * chunks);
    chunk.set(this.chunk);
    this.chunk = chunk;
    const free = new Int32Array(chunks);
    free.set(this.freeChunks);
    this.freeChunks = free;
    const freeSlots = new Int32Array(cap);
    freeSlots.set(this.freeSlots);
    this.freeSlots = freeSlots;
    this.cap = cap;
  }
}

/** Bucket records for `nb` empty buckets. */
function newBuckets(nb: number): Int32Array {
  const bk = new Int32Array(BUCKET_STRIDE * nb).fill(NIL);
  for (let b = 0; b < nb; b++) bk[BUCKET_STRIDE * b + COUNT] = 0;
  return bk;
}

/**
 * The value at index `k` of `a` once sorted ascending (`a` is reordered): Hoare's selection with a median-of-three
 * pivot, O(n) expected. Equal values split evenly between the two sides, so many ties (integer times) stay cheap.
 */
export function orderStatistic(a: Float64Array, k: number): number {
  if (!(k >= 0 && k < a.length)) throw new RangeError(`orderStatistic: index ${k} outside [0, ${a.length})`);
  let lo = 0;
  let hi = a.length - 1;
  while (lo < hi) {
    const x = a[lo]!;
    const y = a[(lo + hi) >> 1]!;
    const z = a[hi]!;
    const pivot = x < y ? (y < z ? y : Math.max(x, z)) : x < z ? x : Math.max(y, z);
    // Partition: afterwards a[lo..j] <= pivot, a[i..hi] >= pivot, and a[j+1..i-1] (if any) equal the pivot.
    let i = lo;
    let j = hi;
    while (i <= j) {
      while (a[i]! < pivot) i++;
      while (a[j]! > pivot) j--;
      if (i <= j) {
        const t = a[i]!;
        a[i] = a[j]!;
        a[j] = t;
        i++;
        j--;
      }
    }
    if (k <= j) hi = j;
    else if (k >= i) lo = i;
    else return a[k]!;
  }
  return a[k]!;
}
