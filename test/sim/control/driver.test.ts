/**
 * The control driver on the simulator's clock and data plane: failures, convergence delay, failure hooks and time
 * to recover for a static baseline and for control-loop policies, on the diamond of fixture.ts:
 *
 *        u        v
 *        |        |
 *        s - a -- t        s->a->t: 1 ms per link (the default path); s->b->t: 2 ms per link; 1 Gbit/s
 *         \      /
 *          b ---'
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { decisionTiming } from "../../../models/control/driver.ts";
import { StaticRoutes } from "../../../models/policies/static-routes.ts";
import type { Observation, Policy } from "../../../models/policies/types.ts";
import type { SimDataPlaneOptions } from "../../../sim/control/sim-data-plane.ts";
import { idle, MB, MS, setup } from "./fixture.ts";

const fastFailover: Policy = {
  name: "fast-failover",
  decide() {},
  onLinkDown(_link, _obs, ctl) {
    ctl.setRoute({ src: "s", dst: "t" }, ["s", "b", "t"]);
  },
};

describe("the control driver in the simulator", () => {
  const cases: {
    name: string;
    policy: Policy;
    dp: SimDataPlaneOptions;
    convergenceDelayNs: number;
    repairNs?: number;
    recoveryNs: number;
    fctNs: number;
  }[] = [
    {
      name: "a static baseline's stalled flow moves when default routes reconverge, after the convergence delay",
      policy: new StaticRoutes("shortest-path"),
      dp: { reconvergence: "stalled" },
      convergenceDelayNs: 30 * MS,
      recoveryNs: 30 * MS,
      // 20 ms at 1 Gbit/s (2.5 MB), 30 ms stalled, 60 ms for 7.5 MB via b, + 4 ms propagation.
      fctNs: 114 * MS,
    },
    {
      name: "a static baseline without reroute stays stalled until the link is repaired",
      policy: new StaticRoutes("shortest-path"),
      dp: { reconvergence: "stalled", linksChanged: () => false },
      convergenceDelayNs: 0,
      repairNs: 70 * MS,
      recoveryNs: 50 * MS,
      // 2.5 MB, 50 ms stalled, 60 ms for 7.5 MB back via a, + 2 ms propagation.
      fctNs: 132 * MS,
    },
    {
      name: "a control-loop policy's failure hook recovers the pair before default routes reconverge",
      policy: fastFailover,
      dp: { linksChanged: () => false },
      convergenceDelayNs: 1000 * MS,
      recoveryNs: 5 * MS, // the route's setup latency
      // 2.5 MB, 5 ms stalled, 60 ms via b, + 4 ms propagation.
      fctNs: 89 * MS,
    },
    {
      name: "a control-loop policy on the default routing recovers when it reconverges",
      policy: idle,
      dp: {},
      convergenceDelayNs: 30 * MS,
      recoveryNs: 30 * MS,
      fctNs: 114 * MS,
    },
  ];
  for (const c of cases) {
    it(c.name, async () => {
      const f = setup();
      f.sim.schedule(0, () => f.start("s", "t", 10 * MB));
      const cable = [f.l("a->t"), f.l("t->a")];
      const failures = [{ atNs: 20 * MS, links: cable, up: false }];
      if (c.repairNs !== undefined) failures.push({ atNs: c.repairNs, links: cable, up: true });
      const driver = f.loop(
        c.policy,
        { endNs: 200 * MS, convergenceDelayNs: c.convergenceDelayNs, failures },
        c.dp,
      );
      await driver.run();
      assert.deepEqual(
        driver.recoveries.map((r) => [r.src, r.dst, r.downNs, r.recoveryNs]),
        [["s", "t", 20 * MS, c.recoveryNs]],
      );
      assert.equal(f.records[0]!.fctNs, c.fctNs);
    });
  }

  it("after a repair, a static baseline keeps moved flows on their detour; a control loop's default routing moves them back", async () => {
    const fct = async (reconvergence: "stalled" | "all") => {
      const f = setup();
      f.sim.schedule(0, () => f.start("s", "t", 10 * MB));
      const cable = [f.l("a->t"), f.l("t->a")];
      await f
        .loop(
          idle,
          {
            endNs: 200 * MS,
            failures: [
              { atNs: 20 * MS, links: cable, up: false },
              { atNs: 40 * MS, links: cable, up: true },
            ],
          },
          { reconvergence },
        )
        .run();
      return f.records[0]!.fctNs;
    };
    // 2.5 MB via a, 2.5 MB via b by 40 ms, then 5 MB in 40 ms: + 4 ms propagation via b, + 2 ms via a.
    assert.equal(await fct("stalled"), 84 * MS);
    assert.equal(await fct("all"), 82 * MS);
  });

  it("a failure before the first control step leaves the interval's traffic and probes to the first decision", async () => {
    const f = setup();
    const hooks: Observation[] = [];
    const steps: Observation[] = [];
    const spy: Policy = {
      name: "spy",
      decide: (o) => void steps.push(o),
      onLinkDown: (_l, o) => void hooks.push(o),
    };
    f.sim.schedule(1 * MS, () => {
      f.start("s", "t", MB);
      f.ctl.probe(["s", "a", "t"]); // answered after one round trip: 4 ms
    });
    await f
      .loop(spy, { endNs: 10 * MS, failures: [{ atNs: 6 * MS, links: [f.l("b->t")], up: false }] })
      .run();
    assert.equal(hooks.length, 1);
    assert.deepEqual(hooks[0]!.traffic, [{ src: "s", dst: "t", bytes: MB, flows: 1 }], "the hook peeks");
    assert.equal(steps.length, 1);
    assert.deepEqual(steps[0]!.traffic, [{ src: "s", dst: "t", bytes: MB, flows: 1 }]);
    assert.equal(steps[0]!.probes.length, 1);
    assert.equal(steps[0]!.intervalNs, 10 * MS);
  });

  it("hands the policy the QoS classes and the firewall's counters the data plane observed", async () => {
    const f = setup();
    const steps: Observation[] = [];
    f.sim.schedule(0, () => {
      f.ctl.setQos({ src: "s", dst: "t" }, { priority: 1, rateBps: 1e8 });
      f.ctl.setFirewall({ action: "deny", src: "u", dst: "v" });
    });
    f.sim.schedule(12 * MS, () => f.start("u", "v", MB)); // after the rule's 10 ms setup latency
    await f.loop({ name: "spy", decide: (o) => void steps.push(o) }, { endNs: 20 * MS }).run();
    assert.deepEqual(steps[1]!.qos, [{ src: "s", dst: "t", priority: 1, rateBps: 1e8, ceilBps: null }]);
    assert.deepEqual(steps[1]!.firewall?.refused, [{ src: "u", dst: "v", flows: 1, bytes: MB }]);
  });

  it("times every control step's decision (wall ms, for the manifest)", async () => {
    const f = setup();
    const driver = f.loop({ name: "spy", decide() {} }, { endNs: 50 * MS });
    await driver.run();
    assert.equal(driver.decisionWallMs.length, 5);
    for (const ms of driver.decisionWallMs) assert.ok(ms >= 0 && Number.isFinite(ms));
  });

  for (const c of [
    { ms: [], want: { steps: 0, meanMs: 0, p95Ms: 0, maxMs: 0, totalMs: 0 } },
    { ms: [2], want: { steps: 1, meanMs: 2, p95Ms: 2, maxMs: 2, totalMs: 2 } },
    // 20 steps: nearest-rank p95 is the 19th smallest.
    {
      ms: Array.from({ length: 20 }, (_, i) => 20 - i),
      want: { steps: 20, meanMs: 10.5, p95Ms: 19, maxMs: 20, totalMs: 210 },
    },
  ]) {
    it(`decisionTiming of ${c.ms.length} step(s)`, () => assert.deepEqual(decisionTiming(c.ms), c.want));
  }

  it("reports no drops: the fluid simulator does not measure them", async () => {
    const f = setup();
    const steps: Observation[] = [];
    await f.loop({ name: "spy", decide: (o) => void steps.push(o) }, { endNs: 10 * MS }).run();
    assert.ok(steps[0]!.links.length > 0);
    for (const l of steps[0]!.links) assert.equal("drops" in l, false, l.id);
  });
});
