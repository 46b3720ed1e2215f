/**
 * The sidecar mesh's path policies (rl-mesh, ron, oracle-path) in the simulator on the diamond of
 * test/sim/control/fixture.ts, where the right path is known:
 *
 *        u        v
 *        |        |
 *        s - a -- t        s-a-t: RTT 4 ms; s-b-t: RTT 8 ms; 1 Gbit/s everywhere
 *         \      /
 *          b ---'
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { PairIndex } from "../../../models/policies/common.ts";
import { OraclePath } from "../../../models/policies/oracle-path.ts";
import { RlMesh, type RlMeshOptions } from "../../../models/policies/rl-mesh.ts";
import { Ron } from "../../../models/policies/ron.ts";
import type { Policy } from "../../../models/policies/types.ts";
import { OraclePredictor } from "../../../models/predictors/oracle.ts";
import { DEFAULT_REWARD, DIMENSION } from "../../../models/rl/features.ts";
import { PathBandit } from "../../../models/rl/path-bandit.ts";
import { RandomStreams } from "../../../sim/kernel/rng.ts";
import { MB, MS, setup } from "../../sim/control/fixture.ts";

const NODES = ["a", "b", "s", "t", "u", "v"];

/** A model that values what the reward values: theta = -1 on the flow time (A = I, b = theta). */
function rewardShapedBandit(): PathBandit {
  const aInv = Array.from({ length: DIMENSION * DIMENSION }, (_, k) => (k % (DIMENSION + 1) === 0 ? 1 : 0));
  const b = [0, 0, 0, 0, 0, 0, 0, 0, -1];
  return new PathBandit(DIMENSION, 1, { dimension: DIMENSION, aInv, b, updates: 0 });
}

function rlMesh(over: Partial<RlMeshOptions> = {}): RlMesh {
  return new RlMesh({
    bandit: rewardShapedBandit(),
    reward: DEFAULT_REWARD,
    exploration: { alpha: 0, epsilon: 0 },
    learn: false,
    rng: new RandomStreams(1).stream("policy/rl-mesh"),
    margin: 0.05,
    probeBudget: 20,
    maxPairs: 8,
    maxMoves: 8,
    candidates: { kPaths: 4, relays: 2 },
    insecureLinks: [],
    ...over,
  });
}

/** s -> t sends a 100 kB flow every 5 ms (160 Mbit/s) from `fromNs` until `untilNs`. */
function steady(c: ReturnType<typeof setup>, fromNs: number, untilNs: number): void {
  for (let t = fromNs; t < untilNs; t += 5 * MS) c.sim.schedule(t, () => c.start("s", "t", MB / 10));
}

/** The route of s -> t after each decision. */
function routesOf(c: ReturnType<typeof setup>, policy: Policy): (readonly string[] | undefined)[] {
  const seen: (readonly string[] | undefined)[] = [];
  const decide = policy.decide.bind(policy);
  policy.decide = async (obs, ctl) => {
    await decide(obs, ctl);
    seen.push(c.ctl.routes().get("s->t"));
  };
  return seen;
}

describe("rl-mesh", () => {
  it("moves a pair off its congested shortest path once probes show the longer path free", async () => {
    const c = setup();
    c.sim.schedule(0, () => c.start("u", "v", 1000 * MB)); // saturates s->a->t
    steady(c, 1 * MS, 60 * MS);
    const policy = rlMesh();
    await c.loop(policy, { endNs: 60 * MS }).run();
    assert.deepEqual(c.ctl.routes().get("s->t"), ["s", "b", "t"]);
    const late = c.records.filter((r) => r.src === c.n("s") && r.startNs >= 40 * MS);
    assert.ok(late.length > 0);
    for (const r of late) assert.deepEqual(c.topo.pathNodes(r.path), ["s", "b", "t"]);
  });

  it("keeps the shortest path on an idle network", async () => {
    const c = setup();
    steady(c, 1 * MS, 60 * MS);
    await c.loop(rlMesh(), { endNs: 60 * MS }).run();
    assert.ok(!c.ctl.routes().has("s->t") || c.ctl.routes().get("s->t")!.join() === "s,a,t");
  });

  it("fails over at once when a link of the pinned path goes down, and learns online from probes", async () => {
    const c = setup();
    c.sim.schedule(0, () => c.start("u", "v", 1000 * MB));
    steady(c, 1 * MS, 80 * MS);
    const policy = rlMesh({ learn: true });
    const seen = routesOf(c, policy);
    const cable = [c.l("s->b"), c.l("b->s")];
    await c.loop(policy, { endNs: 80 * MS, failures: [{ atNs: 45 * MS, links: cable, up: false }] }).run();
    assert.deepEqual(seen[3], ["s", "b", "t"], "on the free path before the failure");
    const actions = c.ctl.stats.actions.setRoute;
    assert.ok(actions >= 2);
    assert.deepEqual(c.ctl.routes().get("s->t"), ["s", "a", "t"], "back on the only path left");
    assert.ok(policy.opts.bandit.updates > 0, "probes of the chosen paths were learned from");
    assert.ok(policy.rewards.length > 0);
  });
});

describe("rl-mesh impaired pairs", () => {
  // u -> v (320 Mbit/s) is the heaviest pair, s -> t (160 Mbit/s) the lighter; a-t degrades at 5 ms (5% loss).
  // With maxPairs 1 only u -> v is managed among the heaviest; s -> t is managed only as an impaired pair.
  const cases = [
    {
      impairedPairs: true,
      want: "s,b,t",
      why: "the light pair on the lossy link is managed and moved off it",
    },
    { impairedPairs: false, want: "s,a,t", why: "without it the light pair is left on the lossy link" },
  ];
  for (const { impairedPairs, want, why } of cases)
    it(`impairedPairs ${impairedPairs}: ${why}`, async () => {
      const c = setup();
      for (let t = 1 * MS; t < 60 * MS; t += 5 * MS) c.sim.schedule(t, () => c.start("u", "v", MB / 5));
      steady(c, 1 * MS, 60 * MS);
      const policy = rlMesh({ maxPairs: 1, impairedPairs });
      const cable = [c.l("a->t"), c.l("t->a")];
      const quality = { capacityBps: 1e9, delayNs: 1 * MS, loss: 0.05 };
      await c
        .loop(policy, { endNs: 60 * MS, failures: [{ atNs: 5 * MS, links: cable, up: true, quality }] })
        .run();
      assert.deepEqual(
        c.ctl.routes().get("u->v"),
        ["u", "s", "b", "t", "v"],
        "the heaviest pair moves either way",
      );
      assert.equal((c.ctl.routes().get("s->t") ?? ["s", "a", "t"]).join(), want);
    });
});

describe("ron", () => {
  it("takes the lowest-latency path and leaves it at once when it fails, before default routes reconverge", async () => {
    const c = setup();
    steady(c, 1 * MS, 80 * MS);
    const policy = new Ron({ relays: 4 });
    const seen = routesOf(c, policy);
    const cable = [c.l("a->t"), c.l("t->a")];
    await c
      .loop(policy, {
        endNs: 80 * MS,
        failures: [{ atNs: 45 * MS, links: cable, up: false }],
        convergenceDelayNs: 1000 * MS,
      })
      .run();
    assert.ok(seen.slice(0, 4).every((r) => r === undefined || r.join() === "s,a,t"));
    assert.deepEqual(c.ctl.routes().get("s->t"), ["s", "b", "t"]);
    const moved = c.records.filter((r) => r.src === c.n("s") && r.startNs >= 50 * MS);
    for (const r of moved) assert.deepEqual(c.topo.pathNodes(r.path), ["s", "b", "t"]);
  });

  it("does not see load: it stays on the congested shortest path", async () => {
    const c = setup();
    c.sim.schedule(0, () => c.start("u", "v", 1000 * MB));
    steady(c, 1 * MS, 60 * MS);
    await c.loop(new Ron(), { endNs: 60 * MS }).run();
    assert.ok(!c.ctl.routes().has("s->t") || c.ctl.routes().get("s->t")!.join() === "s,a,t");
  });
});

describe("oracle-path", () => {
  it("puts the pair on the free path with the true next-interval demand", async () => {
    const c = setup();
    const pairs = new PairIndex(NODES);
    const rows = Array.from({ length: 10 }, () => {
      const r = new Float64Array(pairs.size);
      r[pairs.index("u", "v")] = 1000 * MB;
      r[pairs.index("s", "t")] = MB / 2;
      return r;
    });
    c.sim.schedule(0, () => c.start("u", "v", 1000 * MB));
    steady(c, 1 * MS, 40 * MS);
    const policy = new OraclePath({ predictor: new OraclePredictor(pairs.size, { rows }), kPaths: 4 });
    await c.loop(policy, { endNs: 40 * MS }).run();
    assert.deepEqual(c.ctl.routes().get("s->t"), ["s", "b", "t"]);
    assert.equal(c.ctl.stats.probeBytes, 0, "no probes: it sees the truth");
  });
});
