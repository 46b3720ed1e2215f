/**
 * Adding a policy is one file plus its test: a definition (models/policies/definition.ts) registered in a
 * registry reaches the config schema (params with defaults, errors naming the field), the predictor it asks for,
 * its data plane and the simulator engine, with no other file touched. The fixture below is such a file's content.
 * A definition may forecast only with some params (`usesPredictor`): without them no predictor is built. The oracle
 * predictor the experiment builds follows the observed time (each row's interval end), not the count of steps.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import * as z from "zod";
import { parseConfig } from "../../experiments/config/load.ts";
import { experimentSchema } from "../../experiments/config/schema.ts";
import { POLICIES, policyRegistry } from "../../experiments/policy-registry.ts";
import { buildScenario } from "../../experiments/scenario.ts";
import { COMMON_PARAMS, definePolicy, type PolicyFactoryContext } from "../../models/policies/definition.ts";
import type { ControlPlane, Observation, Policy } from "../../models/policies/types.ts";
import { OraclePredictor } from "../../models/predictors/oracle.ts";
import type { Predictor } from "../../models/predictors/predictor.ts";
import { controllerContext } from "../../sim/engine/controller.ts";
import { runPolicy } from "../../sim/engine/run.ts";

/** A JSON Schema node, loosely. */
interface Json {
  [key: string]: unknown;
  oneOf?: Json[];
  properties?: Record<string, Json>;
  const?: unknown;
  default?: unknown;
  description?: string;
}

/** The first object in `j` (depth first) that `pred` accepts. */
function find(j: unknown, pred: (o: Json) => boolean): Json | undefined {
  if (j === null || typeof j !== "object") return undefined;
  if (!Array.isArray(j) && pred(j as Json)) return j as Json;
  for (const v of Object.values(j)) {
    const hit = find(v, pred);
    if (hit) return hit;
  }
  return undefined;
}

/** What the fixture saw, per run: its params, its predictor's dimension, and its decisions. */
interface Seen {
  params: unknown;
  dimension: number;
  decisions: number;
}

/**
 * The fixture: forecast link utilization; once any link is forecast above `threshold`, route `src -> dst` over
 * its longest of k candidate paths (a deliberately bad detour, so its effect is visible in the actions).
 */
function detourPolicy(seen: Seen[]) {
  return definePolicy({
    name: "fixture-detour",
    doc: "Test fixture: move one pair to its longest candidate path once a link is forecast hot.",
    params: z.strictObject({
      threshold: z.number().min(0).default(0.01).meta({ description: "Forecast utilization that is hot." }),
      src: z.string().default("n0").meta({ description: "Source of the pair moved." }),
      dst: z.string().default("n2").meta({ description: "Destination of the pair moved." }),
      kPaths: COMMON_PARAMS.kPaths,
      reroute: COMMON_PARAMS.reroute,
    }),
    forecasts: "link-utilization",
    create: (p, ctx): Policy => {
      const s: Seen = { params: p, dimension: ctx.predictor.dimension, decisions: 0 };
      seen.push(s);
      return new Detour(p, ctx.kPaths, ctx.predictor, s);
    },
  });
}

class Detour implements Policy {
  readonly name = "fixture-detour";
  private moved = false;

  constructor(
    private readonly p: { threshold: number; src: string; dst: string; kPaths?: number | undefined },
    private readonly kPaths: number,
    private readonly predictor: Predictor,
    private readonly seen: Seen,
  ) {}

  decide(obs: Observation, ctl: ControlPlane): void {
    this.seen.decisions++;
    this.predictor.observe(
      obs.timeNs,
      Float64Array.from(obs.links, (l) => l.utilization),
    );
    const next = this.predictor.forecast(1)[0]!;
    if (this.moved || !next.some((u) => u > this.p.threshold)) return;
    const paths = ctl.paths(this.p.src, this.p.dst, this.p.kPaths ?? this.kPaths);
    const longest = paths.reduce((a, b) => (b.length > a.length ? b : a));
    ctl.setRoute({ src: this.p.src, dst: this.p.dst }, longest);
    this.moved = true;
  }
}

/** A 4-node ring (n0..n3, 1 Gbps, 1 ms), uniform traffic, shortest path beside `fixture`'s entry. */
function configText(fixture: string): string {
  return `name: fixture
seed: 3
topology:
  generator: {kind: ring, n: 4}
  links: {capacity: 1Gbps, delay: 1ms}
workload:
  window: {duration: 2s}
  load: {targetMlu: 0.5}
control: {interval: 250ms}
policies:
  - name: shortest-path
  - ${fixture}
`;
}

describe("a policy defined in one file", () => {
  it("validates its params with their defaults, asks for the default predictor, and runs in the simulator", async () => {
    const seen: Seen[] = [];
    const policies = policyRegistry([...POLICIES, detourPolicy(seen)]);
    const loaded = parseConfig(
      configText("{name: fixture-detour, params: {threshold: 0.02}}"),
      "f.yaml",
      "/",
      {
        policies,
      },
    );
    const { scenario } = buildScenario(loaded, 0);
    const p = scenario.policies[1]!;
    assert.deepEqual(
      { label: p.label, predictor: p.predictor, params: p.params },
      {
        label: "fixture-detour",
        predictor: "ewma",
        params: { threshold: 0.02, src: "n0", dst: "n2", reroute: true },
      },
    );
    const result = await runPolicy(scenario, p);
    assert.equal(seen.length, 1);
    assert.equal(seen[0]!.dimension, scenario.topology.linkCount, "a predictor over link utilization");
    assert.ok(seen[0]!.decisions >= 7, `one decision per 250 ms interval, got ${seen[0]!.decisions}`);
    const routes = (result.actions ?? []).filter((a) => a.verb === "setRoute");
    assert.equal(routes.length, 1);
    assert.deepEqual(routes[0]!.args, { pair: { src: "n0", dst: "n2" }, path: ["n0", "n1", "n2"] });
    assert.ok(result.flowCounts.completed > 0);
  });

  const cases: { what: string; entry: string; registry: "fixture" | "built-in"; message: RegExp }[] = [
    {
      what: "a parameter out of range names the field and the bound",
      entry: "{name: fixture-detour, params: {threshold: -1}}",
      registry: "fixture",
      message: /f\.yaml:\d+: policies\[1\]\.params\.threshold: expected a number >= 0, got -1/,
    },
    {
      what: "a misspelt parameter suggests the right one",
      entry: "{name: fixture-detour, params: {treshold: 0.5}}",
      registry: "fixture",
      message: /policies\[1\]\.params\.treshold: unknown field \(did you mean "threshold"\?\)/,
    },
    {
      what: "the built-in registry does not know it, and lists what it knows",
      entry: "{name: fixture-detour}",
      registry: "built-in",
      message: /policies\[1\]\.name: unknown policy "fixture-detour"; known: shortest-path, ecmp, reactive/,
    },
  ];
  for (const c of cases) {
    it(`refuses bad input: ${c.what}`, () => {
      const policies = policyRegistry([...POLICIES, ...(c.registry === "fixture" ? [detourPolicy([])] : [])]);
      assert.throws(() => parseConfig(configText(c.entry), "f.yaml", "/", { policies }), c.message);
    });
  }

  it("appears in the config's JSON Schema with its doc and defaults", () => {
    const policies = policyRegistry([...POLICIES, detourPolicy([])]);
    const json = z.toJSONSchema(experimentSchema(policies), { io: "input" }) as Json;
    const union = find(json, (o) => Array.isArray(o.oneOf) && !!o.description?.startsWith("A policy from"));
    const fixture = union?.oneOf?.find((v) => v.properties?.name?.const === "fixture-detour");
    const threshold = fixture?.properties?.params?.properties?.threshold;
    assert.deepEqual(
      { default: threshold?.default, description: threshold?.description },
      { default: 0.01, description: "Forecast utilization that is hot." },
    );
  });

  it("cannot share a name with another definition", () => {
    assert.throws(
      () => policyRegistry([...POLICIES, detourPolicy([]), detourPolicy([])]),
      /two policy definitions are named "fixture-detour"/,
    );
  });
});

/** A policy that forecasts pair volumes only when its `forecast` param says; `built` gets each run's predictor. */
function maybeForecasting(built: (Predictor | undefined)[]) {
  return definePolicy({
    name: "fixture-maybe",
    doc: "Test fixture: reads a predictor only with `forecast: true`.",
    params: z.strictObject({
      forecast: z.boolean().default(false).meta({ description: "Whether it reads a predictor." }),
      reroute: COMMON_PARAMS.reroute,
    }),
    forecasts: "pair-volumes",
    usesPredictor: (p) => p.forecast,
    create: (_p, ctx): Policy => {
      built.push(ctx.predictor);
      return { name: "fixture-maybe", decide: () => {} };
    },
  });
}

/** Type check only: with `usesPredictor` returning a boolean, `create` must handle a missing predictor. */
export function predictorMayBeAbsent(ctx: PolicyFactoryContext<"pair-volumes", boolean>): number {
  // @ts-expect-error the predictor may be absent
  return ctx.predictor.dimension;
}

describe("a predictor built only when the params use one", () => {
  /** The config's entry at `policies[1]` as a scenario policy, and what its controller got. */
  async function build(entry: string) {
    const built: (Predictor | undefined)[] = [];
    const policies = policyRegistry([...POLICIES, maybeForecasting(built)]);
    const { scenario } = buildScenario(parseConfig(configText(entry), "f.yaml", "/", { policies }), 0);
    const p = scenario.policies[1]!;
    const routing = p.create({ topology: scenario.topology, seed: scenario.seed, run: scenario.run });
    const ctx = controllerContext(scenario, routing);
    await p.controller!(ctx);
    return { predictor: p.predictor, built: built[0], ctx };
  }

  const cases: { entry: string; predictor: string | null; dimension: number | null }[] = [
    { entry: "{name: fixture-maybe}", predictor: null, dimension: null },
    { entry: "{name: fixture-maybe, params: {forecast: true}}", predictor: "ewma", dimension: 12 },
    {
      entry: "{name: fixture-maybe, params: {forecast: true}, predictor: {name: lv}}",
      predictor: "lv",
      dimension: 12,
    },
  ];
  for (const c of cases) {
    it(`${c.entry}: predictor ${c.predictor}`, async () => {
      const { predictor, built } = await build(c.entry);
      assert.equal(predictor, c.predictor, "the scenario's (and summary's) predictor name");
      assert.equal(
        built?.dimension ?? null,
        c.dimension,
        "the predictor create got: N(N-1) pairs of 4 nodes",
      );
    });
  }

  it("refuses a predictor on an entry whose params use none, naming the field", () => {
    const policies = policyRegistry([...POLICIES, maybeForecasting([])]);
    const text = configText("{name: fixture-maybe, predictor: {name: ewma}}");
    assert.throws(
      () => buildScenario(parseConfig(text, "f.yaml", "/", { policies }), 0),
      /policies\[1\]\.predictor: policy "fixture-maybe" uses no predictor with these params; remove this field/,
    );
  });

  it("the persona policy asks for one only with `refine`", () => {
    const text = configText("{name: persona}").replace(
      "  - {name: persona}",
      "  - {name: persona}\n  - {name: persona, label: refined, params: {refine: {}}}",
    );
    const { scenario } = buildScenario(parseConfig(text, "f.yaml", "/"), 0);
    assert.deepEqual(
      scenario.policies.map((p) => p.predictor),
      [null, null, "ewma"],
    );
  });

  it("the oracle follows the observed time: a skipped control step does not shift its forecasts", async () => {
    const { built, ctx } = await build(
      "{name: fixture-maybe, params: {forecast: true}, predictor: {name: oracle}}",
    );
    assert.ok(built instanceof OraclePredictor);
    const I = ctx.control.intervalNs;
    const zeros = new Float64Array(built.dimension);
    built.observe(I, zeros);
    built.observe(3 * I, zeros); // the step at 2 I skipped (an emulator still deciding)
    assert.equal(built.cursor, 3, "the next interval to observe is the fourth");
    assert.deepEqual(built.forecast(1)[0], ctx.pairBytes[3]);
    assert.throws(() => built.observe(3.5 * I, zeros), /not the end of any interval/);
    // Past the window the oracle forecasts no traffic.
    built.observe(ctx.pairBytes.length * I, zeros);
    assert.deepEqual(built.forecast(2), [zeros, zeros]);
  });
});
