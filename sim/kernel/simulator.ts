/**
 * The discrete-event simulator: an integer-nanosecond clock over an {@link EventQueue}.
 *
 * No globals (unlike ns-3's singleton Simulator): create one per run and pass it to every component, so several
 * simulations can run side by side in one process. Events at the same time run in (priority, insertion) order, so
 * a run is bit-reproducible given the same inputs.
 */
import { CalendarEventQueue } from "./calendar-queue.ts";
import {
  type EventHandler,
  type EventQueue,
  MAX_PRIORITY,
  MIN_PRIORITY,
  type SchedulerKind,
} from "./event-queue.ts";
import { HeapEventQueue } from "./heap-queue.ts";

/** Opaque handle of a scheduled event, for {@link Simulator.cancel}. */
export type EventId = number;

/** Misuse of the kernel: scheduling in the past, non-integer times. */
export class SimulationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "SimulationError";
  }
}

export class Simulator {
  private readonly queue: EventQueue;
  private nowNs = 0;
  private stopped = false;
  private running = false;
  private executedCount = 0;

  /**
   * @param opts.scheduler the pending-event set: `"calendar"` (default; Brown's calendar queue, O(1) typical) or
   *   `"heap"` (4-ary heap, O(log n)). Both give the same event order.
   */
  constructor(opts: { scheduler?: SchedulerKind; initialQueueCapacity?: number } = {}) {
    const kind = opts.scheduler ?? "calendar";
    if (kind !== "calendar" && kind !== "heap") {
      throw new SimulationError(`scheduler must be "calendar" or "heap", got ${JSON.stringify(kind)}`);
    }
    this.queue =
      kind === "heap"
        ? new HeapEventQueue(opts.initialQueueCapacity)
        : new CalendarEventQueue(opts.initialQueueCapacity);
  }

  /** Current simulated time, integer nanoseconds. */
  get now(): number {
    return this.nowNs;
  }

  /** Events waiting to run. */
  get pending(): number {
    return this.queue.length;
  }

  /** Events executed so far. */
  get executed(): number {
    return this.executedCount;
  }

  /** Time of the next pending event, or Infinity. */
  get nextEventTime(): number {
    return this.queue.peekTime();
  }

  /**
   * Schedules `handler(data)` to run `delayNs` from now.
   * @param delayNs non-negative integer nanoseconds (0 = later in the current instant, after already-queued
   *   events of the same time and priority).
   * @param priority lower runs first among events of the same time; an integer in [-2^20, 2^20); default 0.
   * @param data passed to the handler, so hot paths can reuse one handler function instead of allocating closures.
   * @throws SimulationError for a negative, non-integer or unsafe delay, or a priority out of range.
   */
  schedule<T = undefined>(delayNs: number, handler: EventHandler<T>, priority = 0, data?: T): EventId {
    // One range test covers negative, too large (now + delay beyond 2^53) and NaN; the integer test follows.
    // The checks stay small and the errors out of line, so this inlines into the caller's handler.
    const timeNs = this.nowNs + delayNs;
    if (!(delayNs >= 0 && timeNs <= Number.MAX_SAFE_INTEGER) || !Number.isInteger(delayNs)) {
      badDelay(delayNs, this.nowNs);
    }
    if (priority !== 0 && !validPriority(priority)) badPriority(priority);
    return this.queue.push(timeNs, priority, handler, data as T);
  }

  /**
   * Schedules `handler(data)` at absolute time `timeNs`.
   * @throws SimulationError when `timeNs` is before now, non-integer or beyond 2^53 ns.
   */
  scheduleAt<T = undefined>(timeNs: number, handler: EventHandler<T>, priority = 0, data?: T): EventId {
    if (!Number.isSafeInteger(timeNs)) {
      throw new SimulationError(`scheduleAt: time must be an integer of nanoseconds, got ${timeNs}`);
    }
    if (timeNs < this.nowNs) {
      throw new SimulationError(`scheduleAt: time ${timeNs} ns is in the past (now ${this.nowNs} ns)`);
    }
    if (!validPriority(priority)) badPriority(priority);
    return this.queue.push(timeNs, priority, handler, data as T);
  }

  /** Cancels a pending event. Returns false (and does nothing) when it already ran or was cancelled. */
  cancel(id: EventId): boolean {
    return this.queue.cancel(id);
  }

  isPending(id: EventId): boolean {
    return this.queue.isPending(id);
  }

  /**
   * Runs events in order until none remain, {@link stop} is called, or the next event is later than `untilNs`.
   * With `untilNs`, events at exactly `untilNs` run and the clock ends at `untilNs`; a later `run` continues.
   * @returns the number of events executed by this call.
   */
  run(untilNs = Number.POSITIVE_INFINITY): number {
    if (this.running) throw new SimulationError("run: already running (run is not re-entrant)");
    if (untilNs !== Number.POSITIVE_INFINITY && (!Number.isSafeInteger(untilNs) || untilNs < this.nowNs)) {
      throw new SimulationError(`run: until must be an integer >= now (${this.nowNs} ns), got ${untilNs}`);
    }
    this.running = true;
    this.stopped = false;
    const before = this.executedCount;
    const q = this.queue;
    const dispatch = this.dispatch;
    try {
      while (!this.stopped && q.popUntil(untilNs, dispatch)) {
        // one queue call per event: popUntil finds the earliest event once, checks `untilNs` and dispatches it
      }
      if (!this.stopped && untilNs !== Number.POSITIVE_INFINITY) this.nowNs = untilNs;
    } finally {
      this.running = false;
    }
    return this.executedCount - before;
  }

  /** Stops {@link run} after the event being executed; pending events stay queued. */
  stop(): void {
    this.stopped = true;
  }

  private readonly dispatch = (time: number, handler: EventHandler<never>, data: unknown): void => {
    this.nowNs = time;
    this.executedCount++;
    (handler as EventHandler<unknown>)(data);
  };
}

function validPriority(priority: number): boolean {
  return (priority | 0) === priority && priority >= MIN_PRIORITY && priority <= MAX_PRIORITY;
}

function badDelay(delayNs: number, nowNs: number): never {
  if (Number.isSafeInteger(delayNs) && delayNs >= 0) {
    throw new SimulationError(`schedule: delay ${delayNs} ns at t=${nowNs} ns ends beyond 2^53 ns`);
  }
  throw new SimulationError(
    `schedule: delay must be a non-negative integer of nanoseconds, got ${delayNs} at t=${nowNs} ns`,
  );
}

function badPriority(priority: number): never {
  throw new SimulationError(
    `schedule: priority must be an integer in [${MIN_PRIORITY}, ${MAX_PRIORITY}], got ${priority}`,
  );
}
