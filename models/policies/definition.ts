/**
 * A policy's definition, declared once in the policy's own module (models/policies/<name>.ts) and listed by
 * experiments/policy-registry.ts: the name configs use, a one-line doc, a zod schema of its `params` (each
 * parameter once, with doc and default; the config's JSON Schema includes it), the series its predictor forecasts
 * (or none; and whether given params use it), its default data plane, and, for control-loop policies, the factory
 * of its {@link Policy}.
 *
 * What a definition needs from an engine is data, so the module stays in models/ (no sim/ or experiments/
 * import): the data plane is a {@link RoutingSpec} the experiment turns into routes, and a predictor is built by
 * the experiment over the series the definition names ({@link ForecastInput}), trained on the config's training
 * span, and handed to `create` ready to use.
 */

import * as z from "zod";
import type { Predictor } from "../predictors/predictor.ts";
import type { RegistryAccess } from "../services/instance-directory.ts";
import type { Policy } from "./types.ts";
import type { ActionKind } from "./verbs.ts";

/**
 * Options of a verb that need more of an engine than the verb itself: `createVirtualLink.rateBps`, a virtual link
 * with a reserved rate (a circuit).
 */
export const VERB_OPTIONS = ["createVirtualLink.rateBps"] as const;
export type VerbOption = (typeof VERB_OPTIONS)[number];

/** A verb option a policy's params turn on, and the param (path under `params`) that does. */
export interface VerbOptionUse {
  option: VerbOption;
  param: string;
}

/** Candidate paths per control decision when neither the policy's params nor the config's `control` say. */
export const DEFAULT_K_PATHS = 4;

/**
 * The series a policy's predictor forecasts, one sample per control interval:
 * - `pair-volumes`: offered bytes per ordered node pair, N(N-1) values (pairs as common.ts PairIndex orders them);
 * - `link-utilization`: offered utilization per directed link, one value per link (links in id order, as
 *   Observation.links).
 */
export type ForecastInput = "pair-volumes" | "link-utilization";

/** Link cost of a path: propagation delay (ns) or hop count. */
export type PathWeight = "delay" | "hops";

/**
 * The data plane flows take when the policy has not moved them, as data; the experiment builds it
 * (sim/engine/static-routing.ts). With `reroute`, a link failure moves new and stalled flows to paths avoiding
 * down links at once (an idealized IGP, reconverging after `control.convergenceDelay`).
 */
export type RoutingSpec =
  | { kind: "shortest-path"; weight: PathWeight; reroute: boolean }
  | {
      kind: "ecmp";
      weight: PathWeight;
      maxPaths: number;
      /** Seed of the per-flow hash; default the experiment's seed. */
      hashSeed?: number;
      reroute: boolean;
    };

/**
 * What `create` receives besides its params; `predictor` exactly when the definition forecasts something and its
 * params use a predictor ({@link PolicyDefinition.usesPredictor}). `U` is what `usesPredictor` returns: `true` (or
 * no `usesPredictor`) gives a definition that forecasts a `predictor` always, `boolean` one that may be absent.
 */
export type PolicyFactoryContext<
  F extends ForecastInput | null = ForecastInput | null,
  U extends boolean = true,
> = {
  /** The config's `control.kPaths`: candidate paths when the policy's own `kPaths` param is absent. */
  kPaths: number;
  /** The experiment's seed and replication, for a policy that draws random numbers (name its own stream). */
  seed: number;
  run: number;
  /** The run's registry, when the config's `intents.registry` asks the engine for one (intent-aware policies). */
  registry?: RegistryAccess;
} & (F extends ForecastInput
  ? [U] extends [true]
    ? { predictor: Predictor }
    : { predictor?: Predictor }
  : { predictor?: undefined });

export interface PolicyDefinition<
  P extends z.ZodObject = z.ZodObject,
  F extends ForecastInput | null = ForecastInput | null,
  U extends boolean = boolean,
> {
  /** The config's `policies[].name`: lower-case words joined by "-". */
  name: string;
  /** One line for the config schema and docs. */
  doc: string;
  /** The `params` object; every field must have a default or be optional so `params` can be left out. */
  params: P;
  /** The series the policy's predictor forecasts (config `predictor`, default models/predictors/registry.ts DEFAULT_PREDICTOR), or null. */
  forecasts: F;
  /**
   * Whether the given params read the predictor, for a policy whose forecasting part is optional (persona's
   * `refine`): false, and the experiment builds none (no training, no tfjs memory), `create` gets no `predictor`,
   * and the config's `predictor` on the entry is an error. Absent: whenever `forecasts` is not null.
   */
  usesPredictor?(params: z.output<P>): U;
  /** The default data plane; absent: shortest paths by delay, rerouting on failures as the `reroute` param says. */
  routing?(params: z.output<P>): RoutingSpec;
  /** The control-loop policy for one engine run; absent for static baselines (they only route). */
  create?(params: z.output<P>, ctx: PolicyFactoryContext<F, U>): Policy;
  /**
   * The action verbs its control loop may call (queries need no declaration): an engine that cannot do one refuses
   * the config before the run (experiments/config/scenario-checks.ts `checkVerbs`).
   */
  verbs?: readonly ActionKind[];
  /**
   * The verb options the given params make its control loop use (a reservation when circuits are on, say): an
   * engine that cannot do one refuses the config before the run, naming the param.
   */
  verbOptions?(params: z.output<P>): readonly VerbOptionUse[];
}

/** Checks a definition's shape and erases its type parameters for the registry's list. */
export function definePolicy<P extends z.ZodObject, F extends ForecastInput | null, U extends boolean = true>(
  d: PolicyDefinition<P, F, U>,
): PolicyDefinition {
  if (!/^[a-z][a-z0-9]*(-[a-z0-9]+)*$/.test(d.name)) {
    throw new Error(`policy name ${JSON.stringify(d.name)}: expected lower-case words joined by "-"`);
  }
  return d as unknown as PolicyDefinition;
}

/** The series a definition's predictor forecasts with these params: null when it forecasts none or they use none. */
export function forecastsFor(d: PolicyDefinition, params: z.output<z.ZodObject>): ForecastInput | null {
  if (d.forecasts === null) return null;
  return (d.usesPredictor?.(params) ?? true) ? d.forecasts : null;
}

/** The default data plane of a definition without `routing`. */
export function routingOf(d: PolicyDefinition, params: z.output<z.ZodObject>): RoutingSpec {
  if (d.routing) return d.routing(params);
  const reroute = (params as { reroute?: unknown }).reroute;
  return { kind: "shortest-path", weight: "delay", reroute: typeof reroute === "boolean" ? reroute : true };
}

/** Parameters many policies share, declared once: spread the ones a policy takes into its `params`. */
export const COMMON_PARAMS = {
  weight: z
    .enum(["delay", "hops"])
    .default("delay")
    .meta({ description: "Link cost of a path: propagation delay (ns) or hop count." }),
  kPaths: z.int().min(1).optional().meta({ description: "Candidate paths (default: control.kPaths)." }),
  reroute: z.boolean().default(true).meta({
    description:
      "On a link failure, move new and stalled flows to paths avoiding down links at once (an idealized IGP); false leaves them stalled until the link returns.",
  }),
};

/** The defaults of a params schema (its output for `{}`), for a policy class's optional options. */
export function paramDefaults<P extends z.ZodObject>(params: P): z.output<P> {
  return params.parse({});
}
