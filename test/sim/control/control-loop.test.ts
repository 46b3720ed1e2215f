import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { Observation, Policy } from "../../../models/policies/types.ts";
import { idle, MB, MS, setup } from "./fixture.ts";

describe("simulator control loop", () => {
  it("observes each interval's arrivals and link utilization", async () => {
    const c = setup();
    const seen: Observation[] = [];
    const policy: Policy = { name: "spy", decide: (o) => void seen.push(o) };
    c.sim.schedule(1 * MS, () => c.start("s", "t", MB)); // 8 ms at 1 Gbit/s on s->a->t
    await c.loop(policy, { endNs: 20 * MS }).run();
    assert.equal(seen.length, 2);
    assert.deepEqual(seen[0]!.traffic, [{ src: "s", dst: "t", bytes: MB, flows: 1 }]);
    assert.deepEqual(seen[1]!.traffic, []);
    const sa = seen[0]!.links.find((l) => l.id === "s->a")!;
    assert.ok(Math.abs(sa.utilization - 0.8) < 1e-9, `${sa.utilization}`);
    assert.equal(seen[0]!.timeNs, 10 * MS);
  });

  it("waits for an asynchronous policy before simulated time moves on", async () => {
    const c = setup();
    const times: number[] = [];
    const policy: Policy = {
      name: "slow",
      async decide(o) {
        await new Promise((r) => setTimeout(r, 5));
        times.push(o.timeNs, c.sim.now);
      },
    };
    await c.loop(policy, { endNs: 30 * MS }).run();
    assert.deepEqual(times, [10 * MS, 10 * MS, 20 * MS, 20 * MS, 30 * MS, 30 * MS]);
  });

  it("stalls flows on a failed link until default routes reconverge, and records the time to recover", async () => {
    const c = setup();
    c.sim.schedule(0, () => c.start("s", "t", 10 * MB));
    const loop = c.loop(idle, {
      endNs: 200 * MS,
      convergenceDelayNs: 30 * MS,
      failures: [{ atNs: 20 * MS, links: [c.l("a->t"), c.l("t->a")], up: false }],
    });
    await loop.run();
    assert.equal(loop.recoveries.length, 1);
    assert.deepEqual(
      { src: loop.recoveries[0]!.src, dst: loop.recoveries[0]!.dst, rec: loop.recoveries[0]!.recoveryNs },
      { src: "s", dst: "t", rec: 30 * MS },
    );
    // 20 ms at 1 Gbit/s (2.5 MB), 30 ms stalled, 60 ms for 7.5 MB via b, + 4 ms propagation.
    assert.equal(c.records[0]!.fctNs, 114 * MS);
  });

  it("lets a policy's failure hook move the stalled pair before reconvergence", async () => {
    const c = setup();
    c.sim.schedule(0, () => c.start("s", "t", 10 * MB));
    const policy: Policy = {
      name: "fast-failover",
      decide() {},
      onLinkDown(_link, _obs, ctl) {
        ctl.setRoute({ src: "s", dst: "t" }, ["s", "b", "t"]);
      },
    };
    const loop = c.loop(
      policy,
      {
        endNs: 200 * MS,
        convergenceDelayNs: 1000 * MS,
        failures: [{ atNs: 20 * MS, links: [c.l("a->t")], up: false }],
      },
      { linksChanged: () => false },
    );
    await loop.run();
    assert.equal(loop.recoveries[0]!.recoveryNs, 5 * MS, "the route's 5 ms setup latency");
  });
});
