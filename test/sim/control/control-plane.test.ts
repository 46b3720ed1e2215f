import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  InsufficientCapacityError,
  InvalidArgumentError,
  LinkDownError,
  NoPathError,
  PoolExhaustedError,
  UnknownNodeError,
} from "../../../models/policies/types.ts";
import { PROBE_WIRE_BYTES } from "../../../sim/control/control-plane.ts";
import { MB, MS, setup } from "./fixture.ts";

describe("simulator control plane", () => {
  it("intercepts a pair's new flows only once its virtual link is ready", () => {
    const { sim, ctl, records, start } = setup();
    const vl = ctl.createVirtualLink("s", "t", { path: ["s", "b", "t"] });
    start("s", "t", MB); // before the 10 ms setup latency: default path via a
    sim.run(10 * MS);
    start("s", "t", MB); // after: on the virtual link via b
    sim.run();
    assert.equal(vl, "vl-0");
    assert.deepEqual(
      records.map((r) => r.fctNs),
      [10 * MS, 12 * MS],
    );
    assert.equal(ctl.stats.hitFlows, 1);
    assert.equal(ctl.stats.flows, 2);
    assert.equal(ctl.stats.actions.createVirtualLink, 1);
    assert.equal(ctl.stats.setupLatencyNs, 10 * MS);
  });

  it("reserves a virtual link's rate on its path", () => {
    const { sim, ctl, net, start, l } = setup();
    ctl.createVirtualLink("s", "t", { path: ["s", "a", "t"], rateBps: 300e6 });
    sim.run(10 * MS);
    const onVl = start("s", "t", 100 * MB);
    const other = start("u", "v", 100 * MB);
    sim.run(11 * MS);
    assert.equal(net.rateOf(onVl), 300e6);
    assert.equal(net.rateOf(other), 700e6);
    assert.equal(net.linkLoadBps(l("s->a")), 1e9);
  });

  it("moves a removed virtual link's flows back to the default route and accounts its VNA-seconds", () => {
    const { sim, ctl, net, start, topo } = setup();
    const vl = ctl.createVirtualLink("s", "t", { path: ["s", "b", "t"] });
    sim.run(10 * MS);
    const f = start("s", "t", 100 * MB);
    sim.run(20 * MS);
    ctl.removeVirtualLink(vl);
    assert.deepEqual(topo.pathNodes(net.pathOf(f)), ["s", "a", "t"]);
    assert.ok(Math.abs(ctl.stats.vnaSeconds - 0.04) < 1e-12, `${ctl.stats.vnaSeconds}`);
    assert.equal(ctl.stats.vnaSecondsWasted, 0);
  });

  it("counts VNA-seconds of a link that carried nothing as wasted", () => {
    const { sim, ctl } = setup();
    ctl.createVirtualLink("s", "t");
    sim.run(50 * MS);
    ctl.finish();
    assert.ok(Math.abs(ctl.stats.vnaSecondsWasted - 0.1) < 1e-12);
  });

  it("pins a route after its latency and moves the pair's running flows", () => {
    const { sim, ctl, net, start, topo } = setup();
    const f = start("s", "t", 100 * MB);
    ctl.setRoute({ src: "s", dst: "t" }, ["s", "b", "t"]);
    sim.run(4 * MS);
    assert.deepEqual(topo.pathNodes(net.pathOf(f)), ["s", "a", "t"]);
    sim.run(5 * MS);
    assert.deepEqual(topo.pathNodes(net.pathOf(f)), ["s", "b", "t"]);
    ctl.setRoute({ src: "s", dst: "t" }, null);
    assert.deepEqual(topo.pathNodes(net.pathOf(f)), ["s", "a", "t"]);
  });

  for (const verb of ["setRoute", "mirror"] as const) {
    it(`${verb}(pair, null) cancels the pair's ${verb} still waiting for its latency (the last call wins)`, () => {
      const { sim, ctl } = setup();
      ctl[verb]({ src: "s", dst: "t" }, ["s", "b", "t"]);
      ctl[verb]({ src: "s", dst: "t" }, null);
      ctl[verb]({ src: "u", dst: "v" }, ["u", "s", "b", "t", "v"]);
      sim.run(10 * MS);
      assert.deepEqual(
        verb === "setRoute"
          ? [...ctl.routes().keys()]
          : ctl.takeMirrorStats().map((m) => `${m.src}->${m.dst}`),
        ["u->v"],
      );
    });
  }

  it("mirrors a pair's flows onto a second path", () => {
    const { sim, ctl, records, start } = setup();
    ctl.mirror({ src: "s", dst: "t" }, ["s", "b", "t"]);
    sim.run(5 * MS);
    start("u", "v", 1000 * MB); // congests s->a->t
    start("s", "t", MB);
    sim.run(100 * MS);
    const r = records.find((x) => x.src !== 4)!;
    assert.equal(r.mirrored, true);
    assert.equal(r.mirrorWon, true);
    assert.equal(r.fctNs, 12 * MS);
  });

  it("answers a probe after one round trip with the path's RTT", () => {
    const { sim, ctl } = setup();
    ctl.probe(["s", "b", "t"]);
    sim.run(7 * MS);
    assert.deepEqual(ctl.takeProbes(), []);
    sim.run(8 * MS);
    const [p] = ctl.takeProbes();
    assert.equal(p!.rttNs, 8 * MS);
    assert.equal(p!.availableBps, 1e9);
  });

  it("loses a probe over a down link (no RTT, no bandwidth) and counts every probe's bytes", () => {
    const { sim, ctl, net, l } = setup();
    ctl.probe(["s", "a", "t"]);
    net.setLinkUp(l("a->t"), false);
    ctl.probe(["s", "a", "t"]);
    sim.run(10 * MS);
    assert.deepEqual(
      ctl.takeProbes().map((p) => [p.rttNs, p.availableBps]),
      [
        [4 * MS, 1e9],
        [null, null],
      ],
    );
    assert.equal(ctl.stats.probeBytes, 2 * PROBE_WIRE_BYTES);
  });

  it("reports the bandwidth a probe finds left on the path's bottleneck", () => {
    const { sim, ctl, start } = setup();
    start("u", "v", 1000 * MB); // u -> s -> a -> t -> v takes all of s->a and a->t
    sim.run(1 * MS);
    ctl.probe(["s", "a", "t"]);
    ctl.probe(["s", "b", "t"]);
    sim.run(20 * MS);
    assert.deepEqual(
      ctl.takeProbes().map((p) => p.availableBps),
      [0, 1e9],
    );
  });

  it("gives a pair's QoS class its guarantee after the setup latency, to running and new flows", () => {
    const { sim, ctl, net, start } = setup();
    const st = start("s", "t", 1000 * MB);
    const others = Array.from({ length: 9 }, () => start("u", "v", 1000 * MB));
    sim.run(1 * MS);
    assert.equal(net.rateOf(st), 1e8); // 10 flows share s->a->t
    ctl.setQos({ src: "s", dst: "t" }, { priority: 5, rateBps: 4e8, ceilBps: 4e8 });
    sim.run(9 * MS);
    assert.equal(net.rateOf(st), 1e8, "not before the 10 ms latency");
    sim.run(11 * MS);
    assert.ok(net.rateOf(st) >= 0.95 * 4e8, `${net.rateOf(st)}`);
    const st2 = start("s", "t", 1000 * MB);
    sim.run(12 * MS);
    assert.ok(net.rateOf(st) + net.rateOf(st2) >= 0.95 * 4e8);
    assert.ok(net.rateOf(st) + net.rateOf(st2) <= 4e8 * (1 + 1e-9), "the ceiling holds");
    assert.ok(Math.abs(others.reduce((a, f) => a + net.rateOf(f), 0) - 6e8) < 1);
    assert.deepEqual(ctl.qosClasses(), [{ src: "s", dst: "t", priority: 5, rateBps: 4e8, ceilBps: 4e8 }]);
    ctl.setQos({ src: "s", dst: "t" }, null);
    sim.run(13 * MS);
    assert.equal(net.rateOf(st), 1e9 / 11);
    assert.deepEqual(ctl.qosClasses(), []);
  });

  it("replaces a pair's class without counting its own guarantee against it", () => {
    const { sim, ctl } = setup();
    ctl.setQos({ src: "s", dst: "t" }, { priority: 0, rateBps: 9e8 });
    sim.run(10 * MS);
    ctl.setQos({ src: "s", dst: "t" }, { priority: 1, rateBps: 8e8 });
    assert.throws(
      () => ctl.setQos({ src: "u", dst: "v" }, { priority: 1, rateBps: 2e8 }),
      InsufficientCapacityError,
    );
    sim.run(20 * MS);
    assert.deepEqual(
      ctl.qosClasses().map((q) => q.rateBps),
      [8e8],
    );
  });

  it("refuses every new flow of a denied pair, counts them, and leaves other pairs alone", () => {
    const { sim, ctl, records, start } = setup();
    ctl.setFirewall({ action: "deny", src: "s", dst: "t" });
    assert.ok(start("s", "t", MB) >= 0, "before the rule takes effect");
    sim.run(10 * MS);
    const refused = Array.from({ length: 20 }, () => start("s", "t", MB));
    const other = [start("t", "s", MB), start("u", "v", MB), start("s", "v", MB)];
    assert.deepEqual(
      refused,
      Array.from({ length: 20 }, () => -1),
    );
    assert.ok(other.every((f) => f >= 0));
    assert.deepEqual(ctl.deniedPairs(), ["s->t"]);
    const fw = ctl.takeFirewall();
    assert.deepEqual(fw.refused, [{ src: "s", dst: "t", flows: 20, bytes: 20 * MB }]);
    assert.deepEqual(fw.rules, [{ rule: { action: "deny", src: "s", dst: "t" }, flows: 20, bytes: 20 * MB }]);
    assert.deepEqual(ctl.stats.firewall, { refusedFlows: 20, refusedBytes: 20 * MB });
    assert.deepEqual(ctl.takeFirewall().refused, [], "counters of the interval were consumed");
    ctl.setFirewall({ action: "allow", src: "s" });
    sim.run(20 * MS);
    assert.ok(start("s", "t", MB) >= 0, "a later allow rule decides");
    assert.deepEqual(ctl.deniedPairs(), []);
    sim.run();
    assert.equal(records.length, 5, "the first flow, the three others and the one after the allow finish");
  });

  it("offers k shortest paths over links that are up", () => {
    const { ctl, net, l } = setup();
    assert.deepEqual(ctl.paths("s", "t", 3), [
      ["s", "a", "t"],
      ["s", "b", "t"],
    ]);
    net.setLinkUp(l("a->t"), false);
    assert.deepEqual(ctl.paths("s", "t", 3), [["s", "b", "t"]]);
  });

  const errors: [string, (c: ReturnType<typeof setup>) => unknown, new (...a: never[]) => Error, RegExp][] = [
    ["an unknown node", (c) => c.ctl.createVirtualLink("s", "zz"), UnknownNodeError, /unknown node "zz"/],
    [
      "a full VNA pool",
      (c) => {
        c.ctl.createVirtualLink("s", "t");
        c.ctl.createVirtualLink("s", "v");
      },
      PoolExhaustedError,
      /node s has all 1 VNAs in use/,
    ],
    [
      "a path that is not one",
      (c) => c.ctl.createVirtualLink("s", "t", { path: ["s", "t"] }),
      NoPathError,
      /no link s -> t/,
    ],
    [
      "a path over a down link",
      (c) => {
        c.net.setLinkUp(c.l("s->b"), false);
        c.ctl.setRoute({ src: "s", dst: "t" }, ["s", "b", "t"]);
      },
      LinkDownError,
      /link s -> b is down/,
    ],
    [
      "a reservation larger than the path's capacity",
      (c) => c.ctl.createVirtualLink("s", "t", { path: ["s", "a", "t"], rateBps: 2e9 }),
      InsufficientCapacityError,
      /unreserved/,
    ],
    [
      "a QoS guarantee larger than the path's capacity",
      (c) => c.ctl.setQos({ src: "s", dst: "t" }, { priority: 0, rateBps: 2e9 }),
      InsufficientCapacityError,
      /link a->t has 1000000000 bits\/s left/,
    ],
    [
      "a QoS ceiling below its guarantee",
      (c) => c.ctl.setQos({ src: "s", dst: "t" }, { priority: 0, rateBps: 2e8, ceilBps: 1e8 }),
      InvalidArgumentError,
      /ceilBps must be/,
    ],
    [
      "a firewall action that is neither allow nor deny",
      (c) => c.ctl.setFirewall({ action: "drop" as "deny", src: "s" }),
      InvalidArgumentError,
      /action must be "allow" or "deny"/,
    ],
    [
      "a firewall port outside 1..65535",
      (c) => c.ctl.setFirewall({ action: "deny", port: 0 }),
      InvalidArgumentError,
      /port must be an integer 1\.\.65535, got 0/,
    ],
    [
      "a firewall protocol other than tcp or udp",
      (c) => c.ctl.setFirewall({ action: "deny", protocol: "sctp" as "tcp" }),
      InvalidArgumentError,
      /protocol must be "tcp" or "udp", got "sctp"/,
    ],
  ];
  for (const [what, act, cls, msg] of errors) {
    it(`rejects ${what} with ${cls.name} and counts it`, () => {
      const c = setup({ vnaPoolSize: 1 });
      assert.throws(
        () => act(c),
        (e: unknown) => e instanceof cls && msg.test((e as Error).message),
      );
      assert.equal(c.ctl.stats.errors[cls.name], 1);
    });
  }
});
