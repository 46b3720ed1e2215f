/**
 * Policies on tiny hand-drawn topologies where the right action is known (issue 5's tests).
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { PairIndex } from "../../../models/policies/common.ts";
import { Mirroring } from "../../../models/policies/mirroring.ts";
import { PredictiveOverlay } from "../../../models/policies/predictive-overlay.ts";
import { Reactive } from "../../../models/policies/reactive.ts";
import { LastValuePredictor } from "../../../models/predictors/last-value.ts";
import { OraclePredictor } from "../../../models/predictors/oracle.ts";
import { MB, MS, setup } from "../../sim/control/fixture.ts";

const NODES = ["a", "b", "s", "t", "u", "v"];

describe("predictive overlay", () => {
  it("gives the predicted hot pair a virtual link on the idle path before its traffic arrives", async () => {
    const c = setup();
    const pairs = new PairIndex(NODES);
    // The oracle knows that s->t sends 0.5 MB (400 Mbit/s) in the third interval [20, 30) ms.
    const rows = Array.from({ length: 10 }, () => new Float64Array(pairs.size));
    rows[2]![pairs.index("s", "t")] = 0.5 * MB;
    const overlay = new PredictiveOverlay({ predictor: new OraclePredictor(pairs.size, { rows }) });
    c.sim.schedule(0, () => c.start("u", "v", 1000 * MB)); // keeps s->a->t busy
    c.sim.schedule(21 * MS, () => c.start("s", "t", 0.5 * MB));
    const created: { at: number; path: readonly string[] }[] = [];
    const decide = overlay.decide.bind(overlay);
    overlay.decide = async (obs, ctl) => {
      await decide(obs, ctl);
      for (const v of c.ctl.virtualLinks())
        if (v.createdNs === c.sim.now) created.push({ at: v.createdNs, path: v.path });
    };
    await c.loop(overlay, { endNs: 60 * MS }).run();
    assert.deepEqual(
      created,
      [{ at: 10 * MS, path: ["s", "b", "t"] }],
      "asked for on the idle path, a setup latency ahead",
    );
    assert.equal(c.ctl.stats.hitFlows, 1, "the flow found the link ready");
    const r = c.records.find((x) => x.sizeBytes === 0.5 * MB)!;
    assert.deepEqual(c.topo.pathNodes(r.path), ["s", "b", "t"]);
  });

  it("with linksFor top-pairs, gives the larger pair the link when each node has one VNA", async () => {
    const c = setup({ vnaPoolSize: 1 });
    const pairs = new PairIndex(NODES);
    const predictor = new LastValuePredictor(pairs.size);
    const overlay = new PredictiveOverlay({ predictor, linksFor: "top-pairs" });
    c.sim.schedule(1 * MS, () => {
      c.start("s", "t", 2 * MB);
      c.start("s", "v", 5 * MB);
    });
    await c.loop(overlay, { endNs: 10 * MS }).run();
    const vls = c.ctl.virtualLinks();
    assert.deepEqual(
      vls.map((v) => `${v.src}->${v.dst}`),
      ["s->v"],
    );
  });

  it("tears down a pair's link when its forecast falls away", async () => {
    const c = setup();
    const pairs = new PairIndex(NODES);
    // top-pairs: the pair gets a link though its path is free (hot-paths would give it none).
    const overlay = new PredictiveOverlay({
      predictor: new LastValuePredictor(pairs.size),
      linksFor: "top-pairs",
    });
    c.sim.schedule(1 * MS, () => c.start("s", "t", MB));
    await c.loop(overlay, { endNs: 30 * MS }).run();
    assert.equal(c.ctl.virtualLinks().length, 0);
    assert.equal(c.ctl.stats.actions.createVirtualLink, 1);
    assert.equal(c.ctl.stats.actions.removeVirtualLink, 1);
    assert.ok(c.ctl.stats.vnaSecondsWasted > 0, "the link never carried a flow");
  });
});

describe("mirroring", () => {
  it("mirrors a pair whose default path is predicted hot, and the flow completes at the uncongested copy's time", async () => {
    const c = setup();
    const mirroring = new Mirroring({ predictor: new LastValuePredictor(c.topo.linkCount), threshold: 0.5 });
    c.sim.schedule(0, () => c.start("u", "v", 1000 * MB)); // s->a->t saturated from the start
    c.sim.schedule(10 * MS, () => c.start("s", "t", MB)); // seen at the 10 ms decision; done by 30 ms
    c.sim.schedule(30 * MS, () => c.start("s", "t", MB)); // after the mirror (set at 20 ms + 5 ms)
    await c.loop(mirroring, { endNs: 40 * MS }).run();
    const r = c.records.find((x) => x.startNs === 30 * MS)!;
    assert.equal(r.mirrored, true);
    assert.equal(r.mirrorWon, true);
    assert.equal(r.fctNs, 12 * MS, "8 ms on the idle path via b plus 4 ms propagation");
    const elephant = c.records.find((x) => x.sizeBytes === 1000 * MB)!;
    assert.equal(elephant.mirrored, false, "the 1 GB pair is never mirrored");
  });
});

describe("reactive", () => {
  it("moves the heaviest pair off a congested link one interval after it congests, and only as many as needed", async () => {
    const c = setup();
    c.sim.schedule(1 * MS, () => {
      c.start("u", "v", 1000 * MB);
      c.start("s", "t", 100 * MB);
    });
    await c.loop(new Reactive({ threshold: 0.8, maxMoves: 1 }), { endNs: 20 * MS }).run();
    const routes = c.ctl.routes();
    assert.deepEqual([...routes.keys()], ["u->v"]);
    assert.deepEqual(routes.get("u->v"), ["u", "s", "b", "t", "v"]);
  });
});
