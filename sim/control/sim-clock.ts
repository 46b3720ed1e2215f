/**
 * The simulator's {@link Clock} for the control driver: simulated time is the event queue's. `advance` runs
 * events up to and including its instant, `interrupt` stops the queue after the event being executed (its other
 * events at that instant stay queued and run next, in order), and time stands still while a policy decides.
 */
import type { Clock } from "../../models/control/driver.ts";
import type { Simulator } from "../kernel/simulator.ts";

const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

export class SimClock implements Clock {
  readonly stopsForDecisions = true;
  private interrupted = false;

  /**
   * @param onAdvance called after every advance with the simulated time reached, ns.
   * @param busy whether a service operation (a registry lookup: models/services/instance-directory.ts) is in
   *   flight: while it is, the clock runs one event time at a time and lets the operation's promise continuations
   *   run between them (as sim/services/settle.ts), so a multi-step operation sends its next messages at the
   *   simulated instant its previous step completed. Continuations run between event times only: deterministic.
   */
  constructor(
    private readonly sim: Simulator,
    private readonly onAdvance?: (nowNs: number) => void,
    private readonly busy?: () => boolean,
  ) {}

  get nowNs(): number {
    return this.sim.now;
  }

  at(atNs: number, fn: () => void): void {
    this.sim.scheduleAt(atNs, () => fn());
  }

  async advance(untilNs: number): Promise<boolean> {
    await this.runUntil(untilNs);
    this.onAdvance?.(this.sim.now);
    return true;
  }

  /** Runs until no event is pending (or an interrupt); the clock ends at the last event's time. */
  async drain(): Promise<boolean> {
    await this.runUntil(Number.POSITIVE_INFINITY);
    this.onAdvance?.(this.sim.now);
    return true;
  }

  hasDue(tNs: number): boolean {
    return this.sim.nextEventTime <= tNs;
  }

  interrupt(): void {
    this.interrupted = true;
    this.sim.stop();
  }

  private async runUntil(untilNs: number): Promise<void> {
    this.interrupted = false;
    if (this.busy === undefined) {
      this.sim.run(untilNs);
      return;
    }
    await turn(); // continuations of what the last decision started
    while (this.busy() && !this.interrupted) {
      const t = this.sim.nextEventTime;
      if (t > untilNs || t === Number.POSITIVE_INFINITY) break;
      this.sim.run(t);
      await turn();
    }
    if (!this.interrupted) this.sim.run(untilNs);
  }
}
