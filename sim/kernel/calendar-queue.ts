/**
 * A calendar queue (R. Brown, "Calendar queues: a fast O(1) priority queue implementation for the simulation
 * event set problem", CACM 31(10), 1988): the default pending-event set.
 *
 * Time is cut into "days" of `width` ns; day d lives in bucket d mod nBuckets (a "year" is nBuckets days). Each
 * bucket is an array of entries sorted by key (see event-queue.ts). Dequeue walks the buckets from the current day
 * and takes the head of the first bucket whose head falls in the day being visited; if a whole year passes without
 * one, a direct search over the bucket heads finds the minimum. Insert appends at the bucket's end, which is the
 * place of an event later than those already there (and of FIFO ties: a new event has the largest sequence number);
 * an earlier one is moved in from the end. The width is a power of two, so the day of a time is one exact multiply.
 *
 * The bucket count follows the event count (doubling above 2 events per bucket, halving below 1/2) and each resize
 * re-estimates the day width from the spacing of the pending events (Brown's rule: 3 x the mean gap, rounded up to
 * a power of two). With the width at its 1 ns floor (many events per ns), the count is capped at 4 x the days the
 * pending events span. Like the dynamic calendar queue (Oh & Ahn, 1997), it also resizes when searches visit more
 * than 32 buckets on average, the sign of a width that no longer fits the event spacing.
 *
 * Memory layout (a dequeue should touch few cache lines once 1e5 pending events outgrow the caches). A bucket is a
 * Float64Array of (time, tie, slot) triples with a head and an end index, and beside it a plain array holding each
 * entry's handler and data at the same index: dequeuing a bucket reads both front to back, and a push writes next to
 * the previous entry. An event's slot (for its id) is one int32 in `flags`: its generation and whether it is
 * pending; freed slots are reused last in, first out. Cancel is lazy: it clears the slot's pending bit and leaves
 * the entry as a tombstone, skipped (its slot freed) when it reaches a bucket's head; when tombstones outnumber the
 * pending events (and 1024), the buckets are rebuilt without them, so memory stays O(pending events). An emptied
 * bucket's arrays are kept for the next bucket to open, so a steady run allocates nothing.
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
/** Float64 elements per bucket entry: time, tie, slot (the payload array uses the first two of the same three). */
const E = 3;
/** Arrays of at least this many elements are kept when their bucket empties, at most SPARE_MAX of them. */
const SPARE_MIN = 16 * E;
const SPARE_MAX = 256;

export class CalendarEventQueue implements EventQueue {
  /** Pending (not cancelled) events. */
  private size = 0;
  /** Cancelled events whose entries are still in a bucket. */
  private dead = 0;
  private nextSeq = 0;
  /** Slot capacity. */
  private cap: number;
  /** Slots handed out at least once (slots >= this are unused). */
  private used = 0;
  /** Per slot: 2 x generation + 1 while its event is pending (cancelled or fired: the bit is 0). */
  private flags: Int32Array;
  /** Free slots (a stack). */
  private free: Int32Array;
  private freeCount = 0;
  /** Bucket count: `target` unless the pending events span fewer days (see {@link resize}); a power of two. */
  private nb = MIN_BUCKETS;
  /** Brown's bucket count for the event count, between size / 2 and 2 size; a power of two. */
  private target = MIN_BUCKETS;
  /** Day width in ns, a power of two, and its inverse (exact). */
  private width = 1;
  private inv = 1;
  /** Per bucket: (time, tie, slot) triples; handler and data at the same indices; [head, end] indices in `ends`. */
  private keys: Float64Array[] = newKeys(MIN_BUCKETS);
  private payloads: unknown[][] = newPayloads(MIN_BUCKETS);
  private ends = new Int32Array(2 * MIN_BUCKETS);
  /** A day number (floor(time / width)) no pending event is earlier than. */
  private day = 0;
  /** Buckets visited by minimum searches and searches made, since the last resize (to detect a bad width). */
  private scanned = 0;
  private searches = 0;
  /** Emptied buckets' arrays, for buckets receiving their first event (see `emptied`). */
  private readonly spareKeys: Float64Array[] = [];
  private readonly sparePayloads: unknown[][] = [];

  constructor(initialCapacity = 1024) {
    this.cap = Math.max(16, initialCapacity);
    this.flags = new Int32Array(this.cap);
    this.free = new Int32Array(this.cap);
  }

  get length(): number {
    return this.size;
  }

  peekTime(): number {
    if (this.size === 0) return Number.POSITIVE_INFINITY;
    const b = this.findMin();
    return this.keys[b]![this.ends[2 * b]!]!;
  }

  push<T>(time: number, priority: number, handler: EventHandler<T>, data: T): number {
    if (this.nextSeq === SEQ_SPAN) this.renumber();
    const tie = tieKey(priority, this.nextSeq);
    this.nextSeq++;
    // `day` is a lower bound on every pending event's day; an event earlier than it (only possible when the
    // queue is used outside a simulator's monotone clock) moves it back.
    const d = Math.floor(time * this.inv);
    if (this.size === 0 || d < this.day) this.day = d;
    const slot = this.freeCount > 0 ? this.free[--this.freeCount]! : this.newSlot();
    const gen = ((this.flags[slot]! >> 1) + 1) & (SLOT_BITS - 1);
    this.flags[slot] = 2 * gen + 1;
    this.insert((d | 0) & (this.nb - 1), time, tie, slot, handler, data);
    if (++this.size > 2 * this.target) this.resize(this.target * 2);
    return gen * SLOT_BITS + slot;
  }

  pop(visit: EventVisitor): boolean {
    return this.popUntil(Number.POSITIVE_INFINITY, visit);
  }

  popUntil(untilNs: number, visit: EventVisitor): boolean {
    if (this.size === 0) return false;
    const b = this.findMin();
    const ends = this.ends;
    const h = ends[2 * b]!;
    const keys = this.keys[b]!;
    const time = keys[h]!;
    if (time > untilNs) return false;
    const slot = keys[h + 2]!;
    this.flags[slot] = this.flags[slot]! - 1;
    this.free[this.freeCount++] = slot;
    const payload = this.payloads[b]!;
    const handler = payload[h] as EventHandler<never>;
    const data = payload[h + 1];
    payload[h] = undefined;
    payload[h + 1] = undefined;
    if (h + E === ends[2 * b + 1]) this.emptied(b);
    else ends[2 * b] = h + E;
    if (2 * --this.size < this.target && this.target > MIN_BUCKETS) this.resize(this.target / 2);
    visit(time, handler, data);
    return true;
  }

  cancel(id: number): boolean {
    const slot = this.liveSlot(id);
    if (slot < 0) return false;
    this.flags[slot] = this.flags[slot]! - 1;
    this.size--;
    this.dead++;
    if (this.dead > this.size && this.dead > 1024) this.resize(this.target);
    else if (2 * this.size < this.target && this.target > MIN_BUCKETS) this.resize(this.target / 2);
    return true;
  }

  isPending(id: number): boolean {
    return this.liveSlot(id) >= 0;
  }

  clear(): void {
    for (let s = 0; s < this.used; s++) {
      this.flags[s] = this.flags[s]! & ~1;
      this.free[s] = this.used - 1 - s;
    }
    this.freeCount = this.used;
    this.keys = newKeys(this.nb);
    this.payloads = newPayloads(this.nb);
    this.ends = new Int32Array(2 * this.nb);
    this.size = 0;
    this.dead = 0;
  }

  // ------------------------------------------------------------------ internals

  /** The slot of a pending event's id, or -1 when the id is stale (fired, cancelled, or its slot reused). */
  private liveSlot(id: number): number {
    if (!Number.isSafeInteger(id) || id < 0) return -1;
    const slot = (id | 0) & (SLOT_BITS - 1); // id mod SLOT_BITS (ToInt32 keeps the low 32 bits exactly)
    if (slot >= this.used || this.flags[slot] !== (2 * (id - slot)) / SLOT_BITS + 1) return -1;
    return slot;
  }

  private newSlot(): number {
    if (this.used === this.cap) this.grow();
    return this.used++;
  }

  /** Adds an entry to bucket `b`, keeping it sorted: an append unless the key is earlier than the last one. */
  private insert(b: number, time: number, tie: number, slot: number, handler: unknown, data: unknown): void {
    const ends = this.ends;
    let keys = this.keys[b]!;
    let end = ends[2 * b + 1]!;
    if (end !== ends[2 * b]) {
      const lt = keys[end - E]!;
      if (lt > time || (lt === time && keys[end - E + 1]! > tie)) {
        this.insertBefore(b, time, tie, slot, handler, data);
        return;
      }
    }
    if (end === keys.length) {
      keys = this.room(b);
      end = ends[2 * b + 1]!;
    }
    keys[end] = time;
    keys[end + 1] = tie;
    keys[end + 2] = slot;
    const payload = this.payloads[b]!;
    payload[end] = handler;
    payload[end + 1] = data;
    ends[2 * b + 1] = end + E;
  }

  /** {@link insert} of a key earlier than the bucket's last: shifts the later entries up by one. */
  private insertBefore(
    b: number,
    time: number,
    tie: number,
    slot: number,
    handler: unknown,
    data: unknown,
  ): void {
    if (this.ends[2 * b + 1] === this.keys[b]!.length) this.room(b);
    const keys = this.keys[b]!;
    const payload = this.payloads[b]!;
    const head = this.ends[2 * b]!;
    const end = this.ends[2 * b + 1]!;
    let i = end;
    while (i > head) {
      const t = keys[i - E]!;
      if (t < time || (t === time && keys[i - E + 1]! < tie)) break;
      keys[i] = t;
      keys[i + 1] = keys[i - E + 1]!;
      keys[i + 2] = keys[i - E + 2]!;
      payload[i] = payload[i - E];
      payload[i + 1] = payload[i - E + 1];
      i -= E;
    }
    keys[i] = time;
    keys[i + 1] = tie;
    keys[i + 2] = slot;
    payload[i] = handler;
    payload[i + 1] = data;
    this.ends[2 * b + 1] = end + E;
  }

  /**
   * The bucket whose head is the earliest pending event (size > 0). The common case, a pending head in the current
   * day, is tested here (small enough to inline into `popUntil`); the scan over later days is out of line.
   */
  private findMin(): number {
    const day = this.day;
    const b = (day | 0) & (this.nb - 1);
    const h = this.ends[2 * b]!;
    if (h !== this.ends[2 * b + 1]) {
      const keys = this.keys[b]!;
      if (keys[h]! < (day + 1) * this.width && (this.flags[keys[h + 2]!]! & 1) !== 0) {
        this.searches++;
        return b;
      }
    }
    return this.searchMin();
  }

  /**
   * Marks bucket `b` empty. Its arrays, if large, become spares for the next bucket to receive its first event:
   * when many events share each day (a 1 ns width, the kernel benchmark), each day's bucket would otherwise grow
   * its arrays from nothing.
   */
  private emptied(b: number): void {
    this.ends[2 * b] = 0;
    this.ends[2 * b + 1] = 0;
    if (this.keys[b]!.length >= SPARE_MIN && this.spareKeys.length < SPARE_MAX) {
      this.spareKeys.push(this.keys[b]!);
      this.sparePayloads.push(this.payloads[b]!);
      this.keys[b] = EMPTY_KEYS;
      this.payloads[b] = EMPTY_PAYLOAD;
    }
  }

  /**
   * Makes room for one more entry at the end of the full bucket `b` and returns its keys: an empty bucket takes a
   * spare (see `emptied`); a bucket whose first half is consumed moves its entries to the front; else its entries
   * move to the front of a spare at least twice as large, or of new arrays twice as large (at least 4 entries).
   */
  private room(b: number): Float64Array {
    const ends = this.ends;
    const keys = this.keys[b]!;
    const payload = this.payloads[b]!;
    const head = ends[2 * b]!;
    const end = ends[2 * b + 1]!;
    if (end === 0 && this.spareKeys.length > 0) {
      this.payloads[b] = this.sparePayloads.pop()!;
      this.keys[b] = this.spareKeys.pop()!;
      return this.keys[b]!;
    }
    ends[2 * b] = 0;
    ends[2 * b + 1] = end - head;
    if (2 * head >= keys.length && head > 0) {
      keys.copyWithin(0, head, end);
      for (let i = head; i < end; i++) {
        payload[i - head] = payload[i];
        payload[i] = undefined;
      }
      return keys;
    }
    // a spare at least twice as large takes the entries (the spares are the arrays of days already run); else new
    // arrays twice as large
    const spare = this.spareKeys.length > 0 && this.spareKeys.at(-1)!.length >= 2 * keys.length;
    const grown = spare ? this.spareKeys.pop()! : new Float64Array(Math.max(4 * E, 2 * keys.length));
    const moved = spare ? this.sparePayloads.pop()! : new Array<unknown>(grown.length).fill(undefined);
    grown.set(keys.subarray(head, end));
    for (let i = head; i < end; i++) moved[i - head] = payload[i];
    this.keys[b] = grown;
    this.payloads[b] = moved;
    return grown;
  }

  /** Frees the tombstones at the head of bucket `b`; returns whether a pending entry is left there. */
  private skipDead(b: number): boolean {
    const ends = this.ends;
    const keys = this.keys[b]!;
    const payload = this.payloads[b]!;
    let h = ends[2 * b]!;
    const end = ends[2 * b + 1]!;
    while (h !== end) {
      const slot = keys[h + 2]!;
      if ((this.flags[slot]! & 1) !== 0) break;
      this.free[this.freeCount++] = slot;
      this.dead--;
      payload[h] = undefined;
      payload[h + 1] = undefined;
      h += E;
    }
    if (h === end) {
      this.emptied(b);
      return false;
    }
    ends[2 * b] = h;
    return true;
  }

  /** {@link findMin} past the current day's bucket: Brown's scan of the following days, then a direct search. */
  private searchMin(): number {
    const nb = this.nb;
    const w = this.width;
    const mask = nb - 1;
    let day = this.day;
    let b = (day | 0) & mask;
    this.searches++;
    for (let i = 0; i < nb; i++) {
      if (this.skipDead(b) && this.keys[b]![this.ends[2 * b]!]! < (day + 1) * w) {
        this.day = day;
        this.scanned += i;
        if (this.scanned > 32 * this.searches && this.searches > 64) {
          this.resize(this.target); // the width no longer fits the event spacing
          return this.findMin();
        }
        return b;
      }
      day++;
      b = (b + 1) & mask;
    }
    // A whole year without an event: direct search over the bucket heads.
    this.scanned += 2 * nb;
    if (this.scanned > 32 * this.searches && this.searches > 64) {
      this.resize(this.target);
      return this.findMin();
    }
    const best = this.findMinDirect();
    this.day = Math.floor(this.keys[best]![this.ends[2 * best]!]! * this.inv);
    return best;
  }

  /** The bucket holding the minimum over all bucket heads (size > 0; heads are pending after `skipDead`). */
  private findMinDirect(): number {
    let best = -1;
    let tb = 0;
    let kb = 0;
    for (let j = 0; j < this.nb; j++) {
      if (!this.skipDead(j)) continue;
      const keys = this.keys[j]!;
      const h = this.ends[2 * j]!;
      const th = keys[h]!;
      const kh = keys[h + 1]!;
      if (best < 0 || th < tb || (th === tb && kh < kb)) {
        best = j;
        tb = th;
        kb = kh;
      }
    }
    return best;
  }

  /**
   * Rebuilds for `target` buckets (Brown's count; fewer when the events span fewer days) and a day width estimated
   * from the pending events, dropping tombstones (their slots are freed). Old buckets are walked in order, so events
   * reach their new bucket mostly in key order and the insert stays an append: O(n) overall.
   */
  private resize(target: number): void {
    this.scanned = 0;
    this.searches = 0;
    const { width, days } = this.estimateWidth();
    // Brown's count assumes ~3 events a day; with the width at its 1 ns floor (many events per ns) the pending
    // events cover far fewer days than there would be buckets, each used once a year: 4 x the days they span
    // (their earliest 90%) are enough, and keep the buckets in use (and their arrays' room) from year to year.
    const nb = Math.max(MIN_BUCKETS, Math.min(target, 2 ** Math.ceil(Math.log2(4 * days + 1))));
    this.target = target;
    const oldKeys = this.keys;
    const oldPayloads = this.payloads;
    const oldEnds = this.ends;
    const oldNb = this.nb;
    this.width = width;
    this.inv = 1 / width;
    this.nb = nb;
    this.keys = newKeys(nb);
    this.payloads = newPayloads(nb);
    this.ends = new Int32Array(2 * nb);
    const mask = nb - 1;
    let min = Number.POSITIVE_INFINITY;
    for (let b = 0; b < oldNb; b++) {
      const keys = oldKeys[b]!;
      const payload = oldPayloads[b]!;
      for (let i = oldEnds[2 * b]!; i < oldEnds[2 * b + 1]!; i += E) {
        const slot = keys[i + 2]!;
        if ((this.flags[slot]! & 1) === 0) {
          this.free[this.freeCount++] = slot;
          continue;
        }
        const t = keys[i]!;
        if (t < min) min = t;
        this.insert(Math.floor(t * this.inv) & mask, t, keys[i + 1]!, slot, payload[i], payload[i + 1]);
      }
    }
    this.dead = 0;
    this.day = this.size > 0 ? Math.floor(min * this.inv) : 0;
  }

  /**
   * Day width: 3 x the mean gap between consecutive pending events over the earliest 90% of them (Brown's rule
   * of 3 mean gaps, on a sample that ignores the 10% farthest events so a few far-future timers cannot stretch
   * it), rounded up to a power of two; at least 1 ns. The mean gap over the earliest `last + 1` events is
   * (t_(last) - t_(0)) / last, so only the minimum and one order statistic are needed: O(n) expected. Also the
   * days those earliest 90% span.
   */
  private estimateWidth(): { width: number; days: number } {
    if (this.size < 2) return { width: this.width, days: Number.POSITIVE_INFINITY };
    const times = new Float64Array(this.size);
    let n = 0;
    let min = Number.POSITIVE_INFINITY;
    for (let b = 0; b < this.nb; b++) {
      const keys = this.keys[b]!;
      for (let i = this.ends[2 * b]!; i < this.ends[2 * b + 1]!; i += E) {
        if ((this.flags[keys[i + 2]!]! & 1) === 0) continue;
        const t = keys[i]!;
        times[n++] = t;
        if (t < min) min = t;
      }
    }
    const last = Math.max(1, Math.floor(0.9 * (n - 1)));
    const span = orderStatistic(times, last) - min;
    const width = 2 ** Math.ceil(Math.log2(Math.max(1, (3 * span) / last)));
    return { width, days: span / width };
  }

  /** Renumbers the sequence part of the pending events' ties to 0..n-1 (key order kept) when it reaches 2^32. */
  private renumber(): void {
    this.resize(this.target); // drops tombstones: every entry left is pending
    const bucketOf: number[] = [];
    const indexOf: number[] = [];
    for (let b = 0; b < this.nb; b++) {
      for (let i = this.ends[2 * b]!; i < this.ends[2 * b + 1]!; i += E) {
        bucketOf.push(b);
        indexOf.push(i);
      }
    }
    const at = (k: number, field: number) => this.keys[bucketOf[k]!]![indexOf[k]! + field]!;
    this.nextSeq = renumberTies(
      bucketOf.map((_, k) => k),
      (k) => at(k, 0),
      (k) => at(k, 1),
      (k, tie) => {
        this.keys[bucketOf[k]!]![indexOf[k]! + 1] = tie;
      },
    );
  }

  private grow(): void {
    const cap = this.cap * 2;
    if (cap > SLOT_BITS) throw new RangeError(`event queue: more than ${SLOT_BITS} pending events`);
    const flags = new Int32Array(cap);
    flags.set(this.flags);
    this.flags = flags;
    const free = new Int32Array(cap);
    free.set(this.free);
    this.free = free;
    this.cap = cap;
  }
}

/** The arrays of a bucket without room (shared: `room` replaces them before a write). */
const EMPTY_KEYS = new Float64Array(0);
const EMPTY_PAYLOAD: unknown[] = [];

function newKeys(nb: number): Float64Array[] {
  return new Array<Float64Array>(nb).fill(EMPTY_KEYS);
}

function newPayloads(nb: number): unknown[][] {
  return new Array<unknown[]>(nb).fill(EMPTY_PAYLOAD);
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
