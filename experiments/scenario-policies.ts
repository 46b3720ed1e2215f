/**
 * The config's `policies` list to the engine's policies: each entry's definition looked up in the registry
 * (experiments/policy-registry.ts), its validated params bound to the definition's factories, and its predictor
 * checked against what the policy needs.
 */
import { PREDICTOR_NAMES } from "../models/predictors/registry.ts";
import type { EnginePolicy } from "../sim/engine/types.ts";
import type { ExperimentConfig, PolicyConfig } from "./config/schema.ts";
import { POLICY_REGISTRY } from "./policy-registry.ts";
import type { Locate } from "./scenario-locate.ts";

/** The engine policies of `c`, in config order; a predictor on a policy that uses none is a ConfigError. */
export function buildPolicies(c: ExperimentConfig, error: Locate): EnginePolicy[] {
  return (c.policies as PolicyConfig[]).map((p, i) => {
    const def = POLICY_REGISTRY.get(p.name)!;
    if (p.predictor !== undefined && !def.usesPredictor) {
      throw error(["policies", i, "predictor"], `policy "${p.name}" uses no predictor; remove this field`);
    }
    if (p.predictor !== undefined && !(PREDICTOR_NAMES as readonly string[]).includes(p.predictor.name)) {
      throw error(
        ["policies", i, "predictor", "name"],
        `unknown predictor "${p.predictor.name}"; known: ${PREDICTOR_NAMES.join(", ")}`,
      );
    }
    const params = p.params;
    return {
      label: p.label ?? p.name,
      name: p.name,
      params,
      predictorBackend: p.predictor?.name === "lstm" ? "tfjs (tfjs-node, else wasm, else cpu)" : null,
      predictor: def.usesPredictor ? (p.predictor?.name ?? "ewma") : null,
      create: (ctx) => def.create(params, ctx),
      ...(def.controller ? { controller: (ctx) => def.controller!(params, p.predictor, ctx) } : {}),
    };
  });
}

/** Whether any policy of `c` runs a control loop (its steps count against limits). */
export function hasControlLoop(c: ExperimentConfig): boolean {
  return (c.policies as PolicyConfig[]).some((p) => POLICY_REGISTRY.get(p.name)?.controller !== undefined);
}
