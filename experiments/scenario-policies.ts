/**
 * The config's `policies` list to the engine's policies: each entry's definition (models/policies/definition.ts)
 * looked up in the registry the config was validated against, its validated params bound to the definition's data
 * plane and factory, and its predictor built over the series the definition forecasts.
 *
 * Predictors. A forecasting policy's predictor (the entry's `predictor`, default DEFAULT_PREDICTOR) is built for
 * each run over the definition's series: offered bytes per ordered pair (`pair-volumes`) or offered utilization
 * per link (`link-utilization`), one sample per control interval; not when the definition says its params use none
 * (`usesPredictor`: persona without `refine`), and then the entry may not name one. The oracle reads the run's
 * future, following the observed time; the others train on the config's training span (when it has one) and then
 * observe it, so they start warm.
 */
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { parsePersona } from "../models/personas/profile.ts";
import type { ForecastInput, PolicyDefinition, RoutingSpec } from "../models/policies/definition.ts";
import { forecastsFor, routingOf } from "../models/policies/definition.ts";
import type { Policy } from "../models/policies/types.ts";
import type { Predictor } from "../models/predictors/predictor.ts";
import { createPredictor, DEFAULT_PREDICTOR, type PredictorConfig } from "../models/predictors/registry.ts";
import type { IntentMeshConfig } from "../models/services/intent-mesh.ts";
import { ecmpRouting, shortestPathRouting } from "../sim/engine/static-routing.ts";
import type { ControllerContext, EnginePolicy, PolicyContext, RoutingPolicy } from "../sim/engine/types.ts";
import type { LoadedConfig } from "./config/load.ts";
import type { PolicyConfig } from "./config/schema.ts";
import type { Locate } from "./scenario-locate.ts";

/**
 * The engine policies of a loaded config, in config order; a predictor on a policy that uses none (or none with its
 * params) is an error.
 */
export function buildPolicies(loaded: LoadedConfig): EnginePolicy[] {
  return loaded.config.policies.map((p, i) => {
    const def = loaded.policies.get(p.name)!;
    const params = readPersonaFiles(p.params, loaded.baseDir, ["policies", i, "params"], loaded.error);
    return enginePolicy(
      def,
      withMesh(def, { ...p, params }, loaded.config.intents),
      ["policies", i],
      loaded.error,
    );
  });
}

/**
 * A policy whose params declare `mesh` (the intent-aware ones) gets the config's `intents` section there (its
 * services and clients; link security and cost reach policies through the Observation's links) unless its entry
 * gives one.
 */
function withMesh(
  def: PolicyDefinition,
  p: PolicyConfig,
  intents: IntentMeshConfig | undefined,
): PolicyConfig {
  if (intents === undefined || !("mesh" in def.params.shape) || p.params.mesh !== undefined) return p;
  return { ...p, params: { ...p.params, mesh: { services: intents.services, clients: intents.clients } } };
}

/**
 * A policy's params with every file named in `personas` (a path relative to the config's directory) replaced by
 * the persona document it holds (models/personas/profile.ts parsePersona); params without `personas` unchanged.
 * @throws ConfigError naming the entry, for a file that cannot be read or holds a bad persona
 */
function readPersonaFiles(
  params: Record<string, unknown>,
  baseDir: string,
  path: PropertyKey[],
  error: Locate,
): Record<string, unknown> {
  const personas = params.personas;
  if (!Array.isArray(personas) || !personas.some((p) => typeof p === "string")) return params;
  const docs = personas.map((p: unknown, j) => {
    if (typeof p !== "string") return p;
    const file = resolve(baseDir, p);
    try {
      return parsePersona(readFileSync(file, "utf8"), p);
    } catch (e) {
      throw error([...path, "personas", j], `cannot use persona file "${p}": ${(e as Error).message}`);
    }
  });
  return { ...params, personas: docs };
}

/** Whether any policy of a loaded config runs a control loop (its steps count against limits). */
export function hasControlLoop(loaded: LoadedConfig): boolean {
  return loaded.config.policies.some((p) => loaded.policies.get(p.name)?.create);
}

/** One config entry `p` (at config path `path`) of definition `def` as an engine policy. */
export function enginePolicy(
  def: PolicyDefinition,
  p: PolicyConfig,
  path: PropertyKey[],
  error: Locate,
): EnginePolicy {
  const params = p.params;
  const forecasts = forecastsFor(def, params);
  if (p.predictor !== undefined && forecasts === null) {
    const why = def.forecasts === null ? "" : " with these params";
    throw error([...path, "predictor"], `policy "${p.name}" uses no predictor${why}; remove this field`);
  }
  const forecast =
    forecasts === null ? null : { series: forecasts, config: p.predictor ?? DEFAULT_PREDICTOR };
  const predictor = forecast?.config ?? null;
  const routing = routingOf(def, params);
  const create = def.create;
  return {
    label: p.label ?? p.name,
    name: p.name,
    params,
    predictorBackend:
      predictor?.name === "lstm" || predictor?.name === "transformer"
        ? "tfjs (tfjs-node, else wasm, else cpu)"
        : null,
    predictor: predictor?.name ?? null,
    create: (ctx) => dataPlane(routing, ctx),
    ...(create ? { controller: (ctx) => controller(create, params, forecast, ctx) } : {}),
    ...(def.verbs ? { verbs: def.verbs } : {}),
    ...(def.verbOptions ? { verbOptions: def.verbOptions(params) } : {}),
  };
}

/** The routes of a data-plane spec on the run's topology (ECMP's hash seeded by the experiment by default). */
function dataPlane(spec: RoutingSpec, ctx: PolicyContext): RoutingPolicy {
  switch (spec.kind) {
    case "shortest-path":
      return shortestPathRouting(ctx.topology, { weight: spec.weight, reroute: spec.reroute });
    case "ecmp":
      return ecmpRouting(ctx.topology, {
        weight: spec.weight,
        maxPaths: spec.maxPaths,
        hashSeed: spec.hashSeed ?? ctx.seed,
        reroute: spec.reroute,
      });
  }
}

/**
 * A control-loop policy for one run, with a predictor over `forecast.series` when its params use one (released when
 * the run ends).
 */
async function controller(
  create: NonNullable<PolicyDefinition["create"]>,
  params: Record<string, unknown>,
  forecast: { series: ForecastInput; config: PredictorConfig } | null,
  ctx: ControllerContext,
): Promise<Policy> {
  const base = {
    kPaths: ctx.control.kPaths,
    seed: ctx.seed,
    run: ctx.run,
    ...(ctx.registry ? { registry: ctx.registry } : {}),
  };
  if (forecast === null) return create(params, base);
  const series =
    forecast.series === "pair-volumes"
      ? {
          dimension: ctx.nodes.length * (ctx.nodes.length - 1),
          future: ctx.pairBytes,
          history: ctx.trainingPairBytes,
        }
      : {
          dimension: ctx.topology.linkCount,
          future: ctx.linkUtilization,
          history: ctx.trainingLinkUtilization,
        };
  const predictor = await buildPredictor(forecast.config, series, ctx.control.intervalNs);
  return withDispose(create(params, { ...base, predictor }), predictor);
}

/** Zero rows the oracle's future ends in: after the window no traffic arrives (forecasts past its end). */
const ORACLE_TAIL_ROWS = 64;

/**
 * A predictor over `dimension` series. The oracle reads `future` (one row per control interval, row k the interval
 * ending at (k + 1) x `intervalNs`), with each row's end time, so it follows the observed time: a control step an
 * engine skips (the emulator, while a decision runs) does not shift its forecasts. The others train on `history`
 * (when the config gives a training span) and then observe it, so they start warm.
 */
async function buildPredictor(
  cfg: PredictorConfig,
  s: { dimension: number; future: readonly Float64Array[]; history: readonly Float64Array[] },
  intervalNs: number,
): Promise<Predictor> {
  const predictor = createPredictor(cfg.name, {
    ...cfg.params,
    dimension: s.dimension,
    ...(cfg.name === "oracle" ? { oracle: oracleRows(s.future, s.dimension, intervalNs) } : {}),
  });
  if (cfg.name !== "oracle" && s.history.length > 0) {
    // The history ends at time 0 (the run's start), one row per control interval.
    const endNs = Float64Array.from(s.history, (_, k) => (k - s.history.length + 1) * intervalNs);
    await predictor.train?.(s.history, endNs);
    s.history.forEach((row, k) => {
      predictor.observe(endNs[k]!, row);
    });
  }
  return predictor;
}

/** The oracle's rows: `future`, then {@link ORACLE_TAIL_ROWS} zero rows, row k ending at (k + 1) x `intervalNs`. */
function oracleRows(
  future: readonly Float64Array[],
  dimension: number,
  intervalNs: number,
): { rows: Float64Array[]; endNs: Float64Array } {
  const rows = [...future, ...Array.from({ length: ORACLE_TAIL_ROWS }, () => new Float64Array(dimension))];
  return { rows, endNs: Float64Array.from(rows, (_, k) => (k + 1) * intervalNs) };
}

/** A policy owning a predictor releases it (tfjs memory) when the run ends. */
function withDispose(policy: Policy, predictor: Predictor): Policy & { dispose(): void } {
  return Object.assign(policy, { dispose: () => predictor.dispose?.() });
}
