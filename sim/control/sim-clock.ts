/**
 * The simulator's {@link Clock} for the control driver: simulated time is the event queue's. `advance` runs
 * events up to and including its instant, `interrupt` stops the queue after the event being executed (its other
 * events at that instant stay queued and run next, in order), and time stands still while a policy decides.
 */
import type { Clock } from "../../models/control/driver.ts";
import type { Simulator } from "../kernel/simulator.ts";

export class SimClock implements Clock {
  readonly stopsForDecisions = true;

  constructor(
    private readonly sim: Simulator,
    /** Called after every advance with the simulated time reached, ns. */
    private readonly onAdvance?: (nowNs: number) => void,
  ) {}

  get nowNs(): number {
    return this.sim.now;
  }

  at(atNs: number, fn: () => void): void {
    this.sim.scheduleAt(atNs, () => fn());
  }

  async advance(untilNs: number): Promise<boolean> {
    this.sim.run(untilNs);
    this.onAdvance?.(this.sim.now);
    return true;
  }

  /** Runs until no event is pending (or an interrupt); the clock ends at the last event's time. */
  async drain(): Promise<boolean> {
    this.sim.run();
    this.onAdvance?.(this.sim.now);
    return true;
  }

  hasDue(tNs: number): boolean {
    return this.sim.nextEventTime <= tNs;
  }

  interrupt(): void {
    this.sim.stop();
  }
}
