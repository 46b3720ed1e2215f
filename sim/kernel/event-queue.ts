/**
 * The pending-event set ("scheduler" in ns-3's terms) and the key that orders it.
 *
 * Key order is (time, priority, sequence): earlier time first, then lower priority value, then the order in which
 * events were inserted, so ties are FIFO and the pop order is a total order independent of the data structure
 * (SimPy's scheduler uses the same key). Priorities are integers in [-2^20, 2^20). The 4-ary heap stores the key as
 * two float64 numbers: the time (integer ns, exact up to 2^53) and a tie-breaker `(priority + 2^20) * 2^32 +
 * sequence` that orders priority then insertion in one comparison and stays below 2^53; its sequence numbers are
 * renumbered in key order (which preserves it) before they would reach 2^32. The calendar queue stores no sequence
 * number: insertion order is its buckets' list order (calendar-queue.ts).
 *
 * Event ids encode (generation, slot), so a stale id (already fired or cancelled, slot reused) is recognised and
 * ignored by `cancel`.
 */

export type EventHandler<T = unknown> = (data: T) => void;

/** Callback receiving a popped event (avoids allocating a record per event). */
export type EventVisitor = (time: number, handler: EventHandler<never>, data: unknown) => void;

export interface EventQueue {
  readonly length: number;
  /** Time of the earliest event, or Infinity when empty. */
  peekTime(): number;
  /** Inserts an event and returns its id. Throws RangeError for a priority outside [MIN_PRIORITY, MAX_PRIORITY]. */
  push<T>(time: number, priority: number, handler: EventHandler<T>, data: T): number;
  /** Removes the earliest event and passes it to `visit`; false when empty. */
  pop(visit: EventVisitor): boolean;
  /**
   * Removes the earliest event if its time is at most `untilNs` and passes it to `visit`; false when the queue is
   * empty or the earliest event is later (it stays queued). One call per event for a simulator's run loop.
   */
  popUntil(untilNs: number, visit: EventVisitor): boolean;
  /** Removes a pending event; false when the id is stale. */
  cancel(id: number): boolean;
  isPending(id: number): boolean;
  clear(): void;
}

/** Smallest allowed event priority. */
export const MIN_PRIORITY = -(2 ** 20);
/** Largest allowed event priority. */
export const MAX_PRIORITY = 2 ** 20 - 1;
/** Slots per generation in an event id; also the hard limit on pending events. */
export const SLOT_BITS = 2 ** 26;
/** Sequence numbers stay below this. */
export const SEQ_SPAN = 2 ** 32;
/** Added to a priority in the tie-breaker, so that it is non-negative. */
export const PRIO_OFFSET = 2 ** 20;

/** The tie-breaker of an event's key. Small enough to be inlined into `push`; the error path is out of line. */
export function tieKey(priority: number, seq: number): number {
  if (priority < MIN_PRIORITY || priority > MAX_PRIORITY || (priority | 0) !== priority)
    badPriority(priority);
  return (priority + PRIO_OFFSET) * SEQ_SPAN + seq;
}

function badPriority(priority: number): never {
  throw new RangeError(
    `event priority must be an integer in [${MIN_PRIORITY}, ${MAX_PRIORITY}], got ${priority}`,
  );
}

/**
 * Renumbers the sequence part of the tie keys of `items` to 0..n-1 in key order (which preserves the order);
 * returns n, the next free sequence number. Used when the sequence counter would reach {@link SEQ_SPAN}.
 */
export function renumberTies(
  items: readonly number[],
  time: (item: number) => number,
  tie: (item: number) => number,
  setTie: (item: number, tie: number) => void,
): number {
  const order = [...items].sort((a, b) => time(a) - time(b) || tie(a) - tie(b));
  for (let rank = 0; rank < order.length; rank++) {
    const item = order[rank]!;
    setTie(item, Math.floor(tie(item) / SEQ_SPAN) * SEQ_SPAN + rank);
  }
  return order.length;
}

/** Available implementations (ns-3 likewise offers several schedulers). */
export type SchedulerKind = "calendar" | "heap";
