/**
 * Driving the kernel while a service operation's promise is pending.
 *
 * Simulated services expose the same promise-returning API as the emulator's real processes; an operation made of
 * several steps (`await` a lookup, then store) continues in a microtask after the event that settled the step, so
 * the kernel must pause between event times for those continuations to schedule their next messages. `settle`
 * runs the kernel one event time at a time and lets pending continuations run in between (a macrotask turn), until
 * the promise settles. Continuations run between event times only, never inside one, so runs stay deterministic.
 */
import type { Simulator } from "../../sim/kernel/simulator.ts";

/** The kernel ran dry, or past the limit, before the operation settled. */
export class SettleError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "SettleError";
  }
}

const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/**
 * Runs `sim` until `p` settles and returns (or throws) its outcome.
 * @param limitNs simulated time not to run past (default one hour from now).
 * @throws SettleError when no event is left, or the next is past the limit, with `p` still pending.
 */
export async function settle<T>(sim: Simulator, p: Promise<T>, limitNs = sim.now + 3600e9): Promise<T> {
  let done = false;
  const mark = (): void => {
    done = true;
  };
  p.then(mark, mark);
  await turn();
  while (!done) {
    const t = sim.nextEventTime;
    if (t > limitNs)
      throw new SettleError(
        `settle: still pending at ${sim.now} ns with ${t === Number.POSITIVE_INFINITY ? "no event left" : `the next event at ${t} ns, past the limit ${limitNs} ns`}`,
      );
    sim.run(t);
    await turn();
  }
  return p;
}
