/**
 * The control driver with a clock that does not stop for decisions (the emulator's kind): a link event comes at
 * its instant even while a decision is in progress. A fake clock in ticks of 10 ms (each tick yields to the event
 * loop, so a decision in progress runs on), a data plane that records when the driver changed it, and a policy
 * whose decision at 100 ms takes until 500 ms of the clock (an apply or a rollback of 400 ms); the link fails at
 * 200 ms and default routes reconverge 50 ms later. Before the fix the failure, its hook and the reconvergence all
 * waited for that decision (at 500 ms).
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  type Clock,
  ControlDriver,
  type DataPlane,
  type IntervalObservation,
} from "../../../models/control/driver.ts";
import type { ControlPlane, Policy } from "../../../models/policies/types.ts";
import { line } from "../../../sim/substrate/generators.ts";

const MS = 1_000_000;
const TICK = 10 * MS;

/** Wall-like time in ticks: time runs on while a policy decides (each tick yields to the event loop). */
class TickClock implements Clock {
  readonly stopsForDecisions = false;
  nowNs = 0;
  private readonly due: { atNs: number; fn: () => void }[] = [];
  private interrupted = false;
  constructor(private readonly endNs: number) {}
  at(atNs: number, fn: () => void): void {
    let i = this.due.length;
    while (i > 0 && this.due[i - 1]!.atNs > atNs) i--;
    this.due.splice(i, 0, { atNs, fn });
  }
  advance(untilNs: number): Promise<boolean> {
    return this.tickUntil(untilNs);
  }
  drain(): Promise<boolean> {
    return this.tickUntil(this.endNs);
  }
  hasDue(tNs: number): boolean {
    return this.due.length > 0 && this.due[0]!.atNs <= Math.min(tNs, this.nowNs);
  }
  interrupt(): void {
    this.interrupted = true;
  }
  private async tickUntil(untilNs: number): Promise<boolean> {
    this.interrupted = false;
    while (this.nowNs < untilNs) {
      await new Promise((r) => setImmediate(r));
      this.nowNs += TICK;
      while (this.due.length > 0 && this.due[0]!.atNs <= this.nowNs) this.due.shift()!.fn();
      if (this.interrupted) return true;
    }
    return true;
  }
}

describe("the control driver with a clock that runs on during decisions", () => {
  it("a link event, its hook and its reconvergence come at their instants while a decision is in progress", async () => {
    const topology = line(2, { capacityBps: 1e9, delayNs: MS });
    const clock = new TickClock(1000 * MS);
    const log: string[] = [];
    const at = (what: string) => log.push(`${what} ${clock.nowNs / MS}`);
    const empty: IntervalObservation = {
      traffic: [],
      links: [],
      virtualLinks: [],
      routes: new Map(),
      vnaPool: new Map(),
      probes: [],
      mirrors: [],
    };
    const dataPlane: DataPlane = {
      topology,
      setLinkState: (_links, up) => void at(up ? "up" : "down"),
      reconverge: () => void at("reconverge"),
      observe: () => empty,
      pairsOnLink: () => [],
      stalledPairs: () => [],
    };
    const policy: Policy = {
      name: "slow-decision",
      async decide(obs) {
        if (obs.timeNs !== 100 * MS) return;
        at("decide");
        // Until 500 ms of the clock (or 300 ms of wall time: a driver that holds its clock for the decision never
        // gets there).
        const wallEnd = performance.now() + 300;
        while (clock.nowNs < 500 * MS && performance.now() < wallEnd)
          await new Promise((r) => setImmediate(r));
        at("decided");
      },
      onLinkDown: (link) => void at(`hook ${link}`),
    };
    const driver = new ControlDriver(clock, dataPlane, {} as ControlPlane, policy, {
      intervalNs: 100 * MS,
      endNs: 800 * MS,
      failures: [{ atNs: 200 * MS, links: [0, 1], up: false }],
      convergenceDelayNs: 50 * MS,
    });
    await driver.run();
    assert.deepEqual(log.slice(0, 6), [
      "decide 100",
      "down 200",
      "hook n0->n1 200",
      "hook n1->n0 200",
      "reconverge 250",
      "decided 500",
    ]);
    assert.equal(driver.skippedSteps, 4, "the steps at 200..500 ms came while the decision ran");
  });
});
