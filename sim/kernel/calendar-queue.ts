/**
 * A calendar queue (R. Brown, "Calendar queues: a fast O(1) priority queue implementation for the simulation
 * event set problem", CACM 31(10), 1988): the default pending-event set.
 *
 * Time is cut into "days" of `width` ns; day d lives in bucket d mod nBuckets (a "year" is nBuckets days). Each
 * bucket is a doubly linked list of event slots sorted by key (see event-queue.ts). Dequeue walks the buckets
 * from the current day and takes the head of the first bucket whose head falls in the day being visited; if a
 * whole year passes without one, a direct search over the bucket heads finds the minimum. Insert scans the target
 * bucket from its tail, which is O(1) for the common case of an event later than those already there. Cancel
 * unlinks in O(1).
 *
 * Ties. The key is (time, priority, insertion order), and no sequence number is stored: events of the same time
 * share a day and so a bucket, and an insert goes after every event of the bucket with the same (time, priority),
 * so within a bucket list order is insertion order among equal (time, priority), and the head of the current day is
 * the minimum. Resizes walk the old lists in order, which keeps that order.
 *
 * The bucket count follows the event count (doubling above 2 events per bucket, halving below 1/2) and each resize
 * re-estimates the day width from the spacing of the pending events (Brown's rule: 3 x the mean gap, rounded up to
 * a power of two so that an event's day is one exact multiply, not a division, on every push). Like the
 * dynamic calendar queue (Oh & Ahn, 1997), it also resizes when searches visit more than 32 buckets on average,
 * which is the sign of a width that no longer fits the event spacing.
 *
 * Memory layout: a structure of arrays, one typed array per slot field (time, priority, next, prev, generation) and
 * two arrays for handler and data; per bucket, head and tail arrays. A slot's bucket is not stored: it is the day of
 * its time under the current width, which a cancel recomputes. A slot's generation is odd while it holds a pending
 * event and even while free, so liveness and id staleness are one comparison. Freed slots are reused last freed,
 * first used (a hold loop's push takes the slot its pop just freed, still in cache).
 */
import { type EventHandler, type EventQueue, type EventVisitor, SLOT_BITS, tieKey } from "./event-queue.ts";

const MIN_BUCKETS = 8;
const NIL = -1;
/** Generations wrap within the id's high part (a multiple of 2, so parity, i.e. liveness, is kept). */
const GEN_MASK = SLOT_BITS - 1;

export class CalendarEventQueue implements EventQueue {
  private size = 0;
  /** Slot capacity. */
  private cap: number;
  /** Per slot: time (integer ns), priority, bucket list links, generation (odd: pending). */
  private times: Float64Array;
  private prios: Int32Array;
  private nexts: Int32Array;
  private prevs: Int32Array;
  private gens: Int32Array;
  private handlers: unknown[];
  private datas: unknown[];
  /** Freed slots (a stack) and the first never-used slot. */
  private freeSlots: Int32Array;
  private freeCount = 0;
  private fresh = 0;
  private nb = MIN_BUCKETS;
  /** Day width in ns, a power of two, and its inverse (exact, so floor(time * inv) is the day). */
  private width = 1;
  private inv = 1;
  /** Per bucket: first and last slot, NIL when empty. */
  private heads: Int32Array = newLinks(MIN_BUCKETS);
  private tails: Int32Array = newLinks(MIN_BUCKETS);
  /** A day number (floor(time / width)) no pending event is earlier than; the minimum's day while it is cached. */
  private day = 0;
  /** Cached minimum slot (the head of day `day`'s bucket), or NIL when unknown. */
  private minSlot = NIL;
  /** Buckets visited by minimum searches and searches made, since the last resize (to detect a bad width). */
  private scanned = 0;
  private searches = 0;

  constructor(initialCapacity = 1024) {
    const cap = Math.max(16, Math.ceil(initialCapacity));
    this.cap = cap;
    this.times = new Float64Array(cap);
    this.prios = new Int32Array(cap);
    this.nexts = new Int32Array(cap);
    this.prevs = new Int32Array(cap);
    this.gens = new Int32Array(cap);
    this.freeSlots = new Int32Array(cap);
    this.handlers = new Array<unknown>(cap).fill(undefined);
    this.datas = new Array<unknown>(cap).fill(undefined);
  }

  get length(): number {
    return this.size;
  }

  peekTime(): number {
    if (this.size === 0) return Number.POSITIVE_INFINITY;
    return this.times[this.findMin()]!;
  }

  /**
   * Kept small, with the rare cases (a priority other than 0, growth, an insert before the bucket's tail, a cached
   * minimum, a resize) in calls of their own, so that it inlines into `Simulator.schedule` and an event handler.
   */
  push<T>(time: number, priority: number, handler: EventHandler<T>, data: T): number {
    if (priority !== 0) tieKey(priority, 0); // validates; its error path is out of line
    const s = this.freeCount > 0 ? this.freeSlots[--this.freeCount]! : this.freshSlot();
    const g = (this.gens[s]! + 1) & GEN_MASK;
    this.gens[s] = g;
    this.times[s] = time;
    this.prios[s] = priority;
    this.handlers[s] = handler;
    this.datas[s] = data;
    // `day` is a lower bound on every pending event's day; an event earlier than it (only possible when the
    // queue is used outside a simulator's monotone clock) moves it back.
    const d = Math.floor(time * this.inv);
    if (d < this.day || this.size === 0) this.day = d;
    const b = (d | 0) & (this.nb - 1); // d mod nb, see bucketOf
    const tail = this.tails[b]!;
    if (tail === NIL) {
      this.heads[b] = s;
      this.prevs[s] = NIL;
      this.nexts[s] = NIL;
      this.tails[b] = s;
    } else {
      const tt = this.times[tail]!;
      if (tt < time || (tt === time && this.prios[tail]! <= priority)) {
        this.nexts[tail] = s;
        this.prevs[s] = tail;
        this.nexts[s] = NIL;
        this.tails[b] = s;
      } else this.linkSorted(s, b);
    }
    if (++this.size > 2 * this.nb || this.minSlot !== NIL) this.afterPush(s);
    return g * SLOT_BITS + s;
  }

  /** {@link push}'s end when a minimum is cached (it may now be the new slot) or the buckets must double. */
  private afterPush(s: number): void {
    const m = this.minSlot;
    if (m !== NIL) {
      const t = this.times[s]!;
      const tm = this.times[m]!;
      if (t < tm || (t === tm && this.prios[s]! < this.prios[m]!)) this.minSlot = s;
    }
    if (this.size > 2 * this.nb) this.resize(this.nb * 2);
  }

  pop(visit: EventVisitor): boolean {
    return this.popUntil(Number.POSITIVE_INFINITY, visit);
  }

  popUntil(untilNs: number, visit: EventVisitor): boolean {
    if (this.size === 0) return false;
    const s = this.findMin();
    const time = this.times[s]!;
    if (time > untilNs) return false;
    const handler = this.handlers[s] as EventHandler<never>;
    const data = this.datas[s];
    // the minimum is the head of day `day`'s bucket: unlink it there (less code than the general `unlink`)
    const b = (this.day | 0) & (this.nb - 1);
    const next = this.nexts[s]!;
    this.heads[b] = next;
    if (next === NIL) this.tails[b] = NIL;
    else this.prevs[next] = NIL;
    this.release(s);
    this.minSlot = NIL;
    if (2 * --this.size < this.nb && this.nb > MIN_BUCKETS) this.resize(this.nb / 2);
    visit(time, handler, data);
    return true;
  }

  cancel(id: number): boolean {
    const s = this.liveSlot(id);
    if (s === NIL) return false;
    if (this.minSlot === s) this.minSlot = NIL;
    this.unlink(s);
    this.release(s);
    this.size--;
    if (2 * this.size < this.nb && this.nb > MIN_BUCKETS) this.resize(this.nb / 2);
    return true;
  }

  isPending(id: number): boolean {
    return this.liveSlot(id) !== NIL;
  }

  clear(): void {
    for (const s of this.liveSlots()) this.release(s);
    this.heads = newLinks(this.nb);
    this.tails = newLinks(this.nb);
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

  /** The bucket slot `s` (pending) is linked in: its day's, under the current width. */
  private bucketOfSlot(s: number): number {
    return this.bucketOf(Math.floor(this.times[s]! * this.inv));
  }

  private liveSlot(id: number): number {
    if (!Number.isSafeInteger(id) || id < 0) return NIL;
    const s = (id | 0) & (SLOT_BITS - 1); // id mod SLOT_BITS (ToInt32 keeps the low 32 bits exactly)
    if (s >= this.fresh) return NIL;
    const g = (id - s) / SLOT_BITS;
    return (g & 1) === 1 && this.gens[s] === g ? s : NIL;
  }

  private liveSlots(): number[] {
    const out: number[] = [];
    for (let s = 0; s < this.fresh; s++) if ((this.gens[s]! & 1) === 1) out.push(s);
    return out;
  }

  /** A never-used slot, growing the arrays when all are in use. */
  private freshSlot(): number {
    if (this.fresh === this.cap) this.grow();
    return this.fresh++;
  }

  private release(s: number): void {
    this.gens[s] = (this.gens[s]! + 1) & GEN_MASK;
    this.handlers[s] = undefined;
    this.datas[s] = undefined;
    this.freeSlots[this.freeCount++] = s;
  }

  /** Appends or inserts slot `s` (key set) into bucket `b`, after every event with a key not above its own. */
  private link(s: number, b: number): void {
    const tail = this.tails[b]!;
    if (tail !== NIL) {
      const tt = this.times[tail]!;
      const t = this.times[s]!;
      if (tt > t || (tt === t && this.prios[tail]! > this.prios[s]!)) {
        this.linkSorted(s, b);
        return;
      }
      this.nexts[tail] = s;
    } else this.heads[b] = s;
    this.prevs[s] = tail;
    this.nexts[s] = NIL;
    this.tails[b] = s;
  }

  /** {@link link} for a slot that goes before the bucket's tail: scans from the tail. */
  private linkSorted(s: number, b: number): void {
    const times = this.times;
    const prios = this.prios;
    const t = times[s]!;
    const p = prios[s]!;
    let after = this.tails[b]!;
    while (after !== NIL) {
      const ta = times[after]!;
      if (ta < t || (ta === t && prios[after]! <= p)) break;
      after = this.prevs[after]!;
    }
    if (after === NIL) {
      const h = this.heads[b]!;
      this.nexts[s] = h;
      this.prevs[s] = NIL;
      if (h !== NIL) this.prevs[h] = s;
      else this.tails[b] = s;
      this.heads[b] = s;
    } else {
      const n = this.nexts[after]!;
      this.nexts[s] = n;
      this.prevs[s] = after;
      this.nexts[after] = s;
      if (n !== NIL) this.prevs[n] = s;
      else this.tails[b] = s;
    }
  }

  private unlink(s: number): void {
    const b = this.bucketOfSlot(s);
    const p = this.prevs[s]!;
    const n = this.nexts[s]!;
    if (p !== NIL) this.nexts[p] = n;
    else this.heads[b] = n;
    if (n !== NIL) this.prevs[n] = p;
    else this.tails[b] = p;
  }

  /**
   * The slot of the earliest event (size > 0), cached until the queue changes; sets `day` to its day. The common
   * case, the head of the current day's bucket, is tested here (small enough to inline into `popUntil`); the scan
   * over later days is out of line.
   */
  private findMin(): number {
    if (this.minSlot !== NIL) return this.minSlot;
    const day = this.day;
    const h = this.heads[(day | 0) & (this.nb - 1)]!;
    if (h !== NIL && this.times[h]! < (day + 1) * this.width) {
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
    const heads = this.heads;
    const times = this.times;
    const mask = nb - 1;
    let day = this.day;
    let b = this.bucketOf(day);
    this.searches++;
    for (let i = 0; i < nb; i++) {
      const h = heads[b]!;
      if (h !== NIL && times[h]! < (day + 1) * w) {
        this.day = day;
        this.scanned += i;
        if (this.scanned > 32 * this.searches && this.searches > 64) {
          this.resize(nb); // width no longer fits
          return this.findMin();
        }
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
    this.day = Math.floor(times[best]! * this.inv);
    this.minSlot = best;
    return best;
  }

  /** The minimum over all bucket heads (size > 0). Equal times share a bucket, so times alone decide. */
  private findMinDirect(): number {
    const heads = this.heads;
    const times = this.times;
    let best = NIL;
    for (let j = 0; j < this.nb; j++) {
      const h = heads[j]!;
      if (h !== NIL && (best === NIL || times[h]! < times[best]!)) best = h;
    }
    return best;
  }

  /**
   * Rebuilds with `nb` buckets and a day width estimated from the earliest events. Old buckets are walked in list
   * order, so events reach their new bucket mostly in key order and the tail-scan insert stays O(1): O(n) overall;
   * events of equal (time, priority) arrive in list order, which is their insertion order. Events keep their slots.
   */
  private resize(nb: number): void {
    this.scanned = 0;
    this.searches = 0;
    const width = this.estimateWidth();
    const oldHeads = this.heads;
    const oldNb = this.nb;
    this.width = width;
    this.inv = 1 / width;
    this.nb = nb;
    this.heads = newLinks(nb);
    this.tails = newLinks(nb);
    for (let b = 0; b < oldNb; b++) {
      let s = oldHeads[b]!;
      while (s !== NIL) {
        const after = this.nexts[s]!;
        this.link(s, this.bucketOfSlot(s));
        s = after;
      }
    }
    this.minSlot = NIL;
    this.day = this.size > 0 ? Math.floor(this.times[this.findMinDirect()]! * this.inv) : 0;
  }

  /**
   * Day width: 3 x the mean gap between consecutive pending events over the earliest 90% of them (Brown's rule
   * of 3 mean gaps, on a sample that ignores the 10% farthest events so a few far-future timers cannot stretch
   * it), rounded up to a power of two (a day is then one exact multiply); at least 1 ns. The mean gap over the
   * earliest `last + 1` events is (t_(last) - t_(0)) / last, so only the minimum and one order statistic are
   * needed: O(n) expected, run only on resize.
   */
  private estimateWidth(): number {
    if (this.size < 2) return this.width;
    const times = new Float64Array(this.size);
    let n = 0;
    let min = Number.POSITIVE_INFINITY;
    for (let b = 0; b < this.nb; b++) {
      for (let s = this.heads[b]!; s !== NIL; s = this.nexts[s]!) {
        const t = this.times[s]!;
        times[n++] = t;
        if (t < min) min = t;
      }
    }
    const last = Math.max(1, Math.floor(0.9 * (n - 1)));
    const span = orderStatistic(times, last) - min;
    return 2 ** Math.ceil(Math.log2(Math.max(1, (3 * span) / last)));
  }

  private grow(): void {
    const cap = this.cap * 2;
    if (cap > SLOT_BITS) throw new RangeError(`event queue: more than ${SLOT_BITS} pending events`);
    this.times = grown(this.times, new Float64Array(cap));
    this.prios = grown(this.prios, new Int32Array(cap));
    this.nexts = grown(this.nexts, new Int32Array(cap));
    this.prevs = grown(this.prevs, new Int32Array(cap));
    this.gens = grown(this.gens, new Int32Array(cap));
    this.freeSlots = grown(this.freeSlots, new Int32Array(cap));
    for (let i = this.cap; i < cap; i++) {
      this.handlers.push(undefined);
      this.datas.push(undefined);
    }
    this.cap = cap;
  }
}

/** `to` (a larger array) with `from` copied to its start. */
function grown<A extends Float64Array | Int32Array>(from: A, to: A): A {
  to.set(from);
  return to;
}

/** Head or tail links for `nb` empty buckets. */
function newLinks(nb: number): Int32Array {
  return new Int32Array(nb).fill(NIL);
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
