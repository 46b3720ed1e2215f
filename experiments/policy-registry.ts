/**
 * The policies an experiment config can name: one line per policy, each a definition its own module exports
 * (models/policies/definition.ts: name, doc, params schema with defaults, what it forecasts, data plane, factory).
 *
 * Extension point. To add a policy, write models/policies/<name>.ts with its class and `definePolicy({...})`, add
 * its definition to {@link POLICIES} below, and run `npm run schema` so editors see it. A config naming a policy
 * that is not here fails validation with the list of known names. Configs and the schema list policies in this
 * order.
 */

import type { PolicyDefinition } from "../models/policies/definition.ts";
import { ecmpPolicy } from "../models/policies/ecmp.ts";
import { intentRoutingPolicy } from "../models/policies/intent-routing.ts";
import { minMluTePolicy } from "../models/policies/min-mlu-te.ts";
import { mirroringPolicy } from "../models/policies/mirroring.ts";
import { nearestInstancePolicy } from "../models/policies/nearest-instance.ts";
import { oraclePathPolicy } from "../models/policies/oracle-path.ts";
import { personaPolicy } from "../models/policies/persona.ts";
import { predictiveOverlayPolicy } from "../models/policies/predictive-overlay.ts";
import { reactivePolicy } from "../models/policies/reactive.ts";
import { rlMeshPolicy } from "../models/policies/rl-mesh.ts";
import { ronPolicy } from "../models/policies/ron.ts";
import { shortestPathPolicy } from "../models/policies/shortest-path.ts";

/** The built-in policies, in the order configs and the schema list them. */
export const POLICIES: readonly PolicyDefinition[] = [
  shortestPathPolicy,
  ecmpPolicy,
  reactivePolicy,
  predictiveOverlayPolicy,
  mirroringPolicy,
  minMluTePolicy,
  nearestInstancePolicy,
  intentRoutingPolicy,
  ronPolicy,
  rlMeshPolicy,
  oraclePathPolicy,
  personaPolicy,
];

/** Policy definitions by name, in list order. */
export type PolicyRegistry = ReadonlyMap<string, PolicyDefinition>;

/** A registry of `definitions`. @throws Error when two share a name. */
export function policyRegistry(definitions: readonly PolicyDefinition[]): PolicyRegistry {
  const out = new Map<string, PolicyDefinition>();
  for (const d of definitions) {
    if (out.has(d.name)) throw new Error(`two policy definitions are named "${d.name}"`);
    out.set(d.name, d);
  }
  return out;
}

/** The built-in registry: what configs are validated against unless a caller passes another. */
export const POLICY_REGISTRY: PolicyRegistry = policyRegistry(POLICIES);

/** Known policy names of `registry`, in its order. */
export function policyNames(registry: PolicyRegistry = POLICY_REGISTRY): string[] {
  return [...registry.keys()];
}
