import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Simulator } from "../../../sim/kernel/simulator.ts";
import { SettleError, settle } from "../../../sim/services/settle.ts";

/** A promise settled by an event `delayNs` from now. */
const after = (sim: Simulator, delayNs: number, value: number) =>
  new Promise<number>((resolve) => sim.schedule(delayNs, () => resolve(value)));

describe("settle", () => {
  it("runs the kernel through chained steps, each scheduled by the previous step's continuation", async () => {
    const sim = new Simulator();
    const chain = async () => (await after(sim, 5, 1)) + (await after(sim, 7, 2)) + (await after(sim, 11, 3));
    assert.equal(await settle(sim, chain()), 6);
    assert.equal(sim.now, 23);
  });

  it("leaves later events pending", async () => {
    const sim = new Simulator();
    sim.schedule(1000, () => {});
    assert.equal(await settle(sim, after(sim, 10, 4)), 4);
    assert.deepEqual([sim.now, sim.pending], [10, 1]);
  });

  it("passes a rejection through", async () => {
    const sim = new Simulator();
    const failing = after(sim, 3, 0).then(() => {
      throw new RangeError("no");
    });
    await assert.rejects(settle(sim, failing), RangeError);
  });

  it("throws when the kernel runs dry or past the limit with the promise pending", async () => {
    const sim = new Simulator();
    await assert.rejects(settle(sim, new Promise(() => {})), (e: unknown) => {
      return e instanceof SettleError && /still pending at 0 ns with no event left/.test(e.message);
    });
    sim.schedule(500, () => {});
    await assert.rejects(
      settle(sim, new Promise(() => {}), 100),
      /the next event at 500 ns, past the limit 100 ns/,
    );
  });
});
