import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { SimulationError, Simulator } from "../../../sim/kernel/simulator.ts";

describe("simulator", () => {
  it("runs same-time events FIFO within a priority and lower priorities first", () => {
    const sim = new Simulator();
    const log: string[] = [];
    const note = (s: string) => log.push(`${sim.now}:${s}`);
    sim.schedule(10, note, 0, "a");
    sim.schedule(10, note, -1, "urgent");
    sim.schedule(10, note, 0, "b");
    sim.schedule(5, note, 3, "early");
    sim.run();
    assert.deepEqual(log, ["5:early", "10:urgent", "10:a", "10:b"]);
  });

  it("cancels a pending event and reports a stale cancel", () => {
    const sim = new Simulator();
    const log: number[] = [];
    const id = sim.schedule(5, () => log.push(5));
    sim.schedule(7, () => log.push(7));
    assert.equal(sim.cancel(id), true);
    assert.equal(sim.cancel(id), false);
    sim.run();
    assert.deepEqual(log, [7]);
  });

  it("stops at until, leaves the clock there and resumes", () => {
    const sim = new Simulator();
    const log: number[] = [];
    for (const t of [10, 20, 30]) sim.schedule(t, () => log.push(sim.now));
    assert.equal(sim.run(20), 2);
    assert.equal(sim.now, 20);
    assert.deepEqual(log, [10, 20]);
    sim.run();
    assert.deepEqual(log, [10, 20, 30]);
  });

  it("stop() ends the run after the current event", () => {
    const sim = new Simulator();
    const log: number[] = [];
    sim.schedule(1, () => {
      log.push(1);
      sim.stop();
    });
    sim.schedule(2, () => log.push(2));
    sim.run();
    assert.deepEqual(log, [1]);
    assert.equal(sim.pending, 1);
  });

  const bad: [string, (s: Simulator) => unknown, RegExp][] = [
    ["a negative delay", (s) => s.schedule(-1, () => {}), /non-negative integer/],
    ["a fractional delay", (s) => s.schedule(1.5, () => {}), /integer/],
    ["an unsafe delay", (s) => s.schedule(2 ** 60, () => {}), /integer/],
    ["a time in the past", (s) => s.scheduleAt(5, () => {}), /in the past/],
    ["a fractional priority", (s) => s.schedule(1, () => {}, 0.5), /integer in/],
  ];
  for (const [what, act, msg] of bad) {
    it(`rejects ${what} with a SimulationError`, () => {
      const sim = new Simulator();
      sim.schedule(10, () => {});
      sim.run();
      assert.throws(
        () => act(sim),
        (e: unknown) => e instanceof SimulationError && msg.test(e.message),
      );
    });
  }

  it("lets handlers schedule more work at the current instant after queued peers", () => {
    const sim = new Simulator();
    const log: string[] = [];
    sim.schedule(1, () => {
      log.push("first");
      sim.schedule(0, () => log.push("spawned"));
    });
    sim.schedule(1, () => log.push("second"));
    sim.run();
    assert.deepEqual(log, ["first", "second", "spawned"]);
  });
});
