/**
 * The persona refinement's shaping plan (models/policies/persona-refine.ts) on a hand-made Observation: a line
 * a -> b -> c of 1 Gbit/s links, a critical pair a->c crossing both links, a bulk pair b->c on b->c. The last-value
 * predictor makes the forecast the last interval's bytes, so each case's load is exact. And in a run
 * (experiments/configs/personas-loaded.yaml, shortened): the refinement's shaping waits for the personas' first
 * trials, so no persona lands later than without the refinement, and a shaping that gains nothing is rolled back.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { describe, it } from "node:test";
import { loadConfig } from "../../../experiments/config/load.ts";
import { buildScenario } from "../../../experiments/scenario.ts";
import {
  coolestPath,
  DemandForecast,
  REFINE_PARAMS,
  shapingPlan,
} from "../../../models/policies/persona-refine.ts";
import type { ControlPlane, LinkStats, Observation } from "../../../models/policies/types.ts";
import { createPredictor } from "../../../models/predictors/registry.ts";
import { runPolicy } from "../../../sim/engine/run.ts";

const INTERVAL_NS = 100_000_000;
const NODES = ["a", "b", "c"];

function link(src: string, dst: string, delayNs = 1_000_000): LinkStats {
  return { id: `${src}->${dst}`, src, dst, up: true, capacityBps: 1e9, utilization: 0, delayNs };
}

/** An observation whose pairs carried `bps` (bits/s over the interval). */
function observation(bps: Record<string, number>): Observation {
  return {
    timeNs: INTERVAL_NS,
    intervalNs: INTERVAL_NS,
    nodes: NODES,
    traffic: Object.entries(bps).map(([k, r]) => {
      const [src, dst] = k.split("->") as [string, string];
      return { src, dst, bytes: (r * INTERVAL_NS) / 8e9, flows: 1 };
    }),
    links: [link("a", "b"), link("b", "c"), link("b", "a"), link("c", "b")],
    virtualLinks: [],
    routes: new Map(),
    vnaPool: new Map(),
    probes: [],
    mirrors: [],
  };
}

/** Shortest paths on the line, as `ctl.paths` gives them. */
const ctl = {
  paths: async (src: string, dst: string) => {
    const i = NODES.indexOf(src);
    const j = NODES.indexOf(dst);
    const step = i < j ? 1 : -1;
    const path: string[] = [];
    for (let k = i; k !== j + step; k += step) path.push(NODES[k]!);
    return [path];
  },
} as unknown as ControlPlane;

describe("persona refinement: shaping plan", () => {
  const opts = REFINE_PARAMS.parse({ burstHeadroom: 1 });
  const cases: {
    name: string;
    bps: Record<string, number>;
    shaped?: Map<string, number>;
    hot: string[];
    set: Record<string, number>;
    clear: string[];
  }[] = [
    {
      name: "b->c forecast at 95%: bulk b->c capped at its forecast (the budget 0.9 x 1 Gbit/s - 50 Mbit/s is below it)",
      bps: { "a->c": 50e6, "b->c": 900e6 },
      hot: ["b->c"],
      set: { "b->c": 900e6 },
      clear: [],
    },
    {
      name: "b->c at 85%: capped at the budget 0.9 x 1 Gbit/s less the critical pair's 50 Mbit/s (above its forecast)",
      bps: { "a->c": 50e6, "b->c": 800e6, "a->b": 10e6 },
      hot: ["b->c"],
      set: { "b->c": 850e6 },
      clear: [],
    },
    {
      name: "a hot link the critical pair does not cross is not shaped for",
      bps: { "a->c": 50e6, "c->b": 900e6 },
      hot: [],
      set: {},
      clear: [],
    },
    {
      name: "b->c at 60%: not hot (0.75), nothing shaped",
      bps: { "a->c": 50e6, "b->c": 550e6 },
      hot: [],
      set: {},
      clear: [],
    },
    {
      name: "a shaped pair whose link cooled below 0.6 is unshaped",
      bps: { "a->c": 50e6, "b->c": 100e6 },
      shaped: new Map([["b->c", 100e6]]),
      hot: [],
      set: {},
      clear: ["b->c"],
    },
    {
      name: "a shaped pair counts at least its ceiling (its forecast is censored): still hot, ceiling kept",
      bps: { "a->c": 50e6, "b->c": 500e6 },
      shaped: new Map([["b->c", 850e6]]),
      hot: ["b->c"],
      set: {},
      clear: [],
    },
  ];
  for (const c of cases) {
    it(c.name, async () => {
      const obs = observation(c.bps);
      const demand = new DemandForecast(createPredictor("lv", { dimension: 6 }), 1);
      demand.observe(obs);
      const lower = (k: string) => k !== "a->c";
      const plan = await shapingPlan(obs, ctl, demand, new Set(["a->c"]), lower, c.shaped ?? new Map(), opts);
      assert.deepEqual(plan.hot, c.hot);
      assert.deepEqual(Object.fromEntries(plan.set.map((s) => [`${s.src}->${s.dst}`, s.qos.ceilBps])), c.set);
      for (const s of plan.set) assert.equal(s.qos.priority, 7);
      assert.deepEqual(
        plan.clear.map((s) => `${s.src}->${s.dst}`),
        c.clear,
      );
    });
  }

  it("burstHeadroom keeps a shaped pair's ceiling above its forecast", async () => {
    const obs = observation({ "a->c": 50e6, "b->c": 900e6 });
    const demand = new DemandForecast(createPredictor("lv", { dimension: 6 }), 1);
    demand.observe(obs);
    const plan = await shapingPlan(
      obs,
      ctl,
      demand,
      new Set(["a->c"]),
      (k) => k !== "a->c",
      new Map(),
      REFINE_PARAMS.parse({ burstHeadroom: 1.5 }),
    );
    assert.equal(plan.set[0]?.qos.ceilBps, 1.35e9);
  });
});

describe("persona refinement: coolest latency path", () => {
  const obs = observation({});
  const util = new Map([
    ["a->b", 0.9],
    ["b->c", 0.9],
    ["a->c", 0.1],
  ]);
  const slow = { ...obs, links: [...obs.links, link("a", "c", 1_500_000)] };
  const cases = [
    {
      name: "equal delay: the cooler",
      links: [...obs.links, link("a", "c", 2_000_000)],
      detourNs: 0,
      want: ["a", "c"],
    },
    {
      name: "0.5 ms longer, no detour allowed: the first",
      links: slow.links.map((l) => (l.id === "a->c" ? link("a", "c", 2_500_000) : l)),
      detourNs: 0,
      want: ["a", "b", "c"],
    },
    {
      name: "0.5 ms longer, 1 ms allowed: the cooler",
      links: slow.links.map((l) => (l.id === "a->c" ? link("a", "c", 2_500_000) : l)),
      detourNs: 1e6,
      want: ["a", "c"],
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const got = coolestPath(
        [
          ["a", "b", "c"],
          ["a", "c"],
        ],
        { ...obs, links: c.links },
        util,
        c.detourNs,
      );
      assert.deepEqual(got, c.want);
    });
  }
});

describe("persona refinement in a run", () => {
  it("shapes only after every running application's persona had its first trial, and rolls back a shaping that gains nothing", async () => {
    // Seed 13: game's link is predicted hot at 2.5 s, after the four personas' first trials (0.3 to 1.8 s; stream's
    // measured until 2.2 s, its first two intervals holding fewer than minFlows).
    const loaded = loadConfig(
      join(import.meta.dirname, "../../../experiments/configs/personas-loaded.yaml"),
      { set: ["workload.window.duration=2.8s", "seed=13"] },
    );
    const sc = buildScenario(loaded, 0).scenario;
    const events = async (label: string) => {
      const p = sc.policies.find((x) => x.label === label)!;
      return (await runPolicy(sc, p)).policyEvents ?? [];
    };
    const firstApplies = (es: Awaited<ReturnType<typeof events>>) => {
      const out = new Map<string, number>();
      for (const e of es) if (e.kind === "persona-apply" && !out.has(e.subject)) out.set(e.subject, e.timeNs);
      return [...out];
    };
    const plain = firstApplies(await events("persona"));
    const refinedEvents = await events("persona-refined");
    assert.deepEqual(
      plain.map(([app]) => app),
      ["game", "trading", "ledger", "stream"],
      "the running applications' first trials, in turn",
    );
    assert.deepEqual(
      firstApplies(refinedEvents),
      plain,
      "each at the same instant as without the refinement",
    );
    const lastFirst = Math.max(...plain.map(([, t]) => t));
    const shapes = refinedEvents.filter((e) => e.kind === "persona-shape").map((e) => e.timeNs);
    assert.ok(shapes.length > 0, "a link was predicted hot");
    assert.ok(
      shapes.every((t) => t > lastFirst),
      `shaping at ${shapes.join(", ")} ns, the last first trial at ${lastFirst} ns`,
    );
    // With the personas in place game's p99 is at its floor (6.0 ms): shaping cannot better it, so it is rolled back.
    const after = refinedEvents.find((e) => e.timeNs > shapes[0]! && e.subject === "game");
    assert.equal(after?.kind, "persona-revert", JSON.stringify(after));
    assert.match(String((after.detail as { reason?: unknown }).reason), /^shaping: no gain/);
  });
});
