/**
 * The policies an experiment config can name. One entry per policy: its name, a one-line doc, a zod schema of
 * its `params` (each parameter declared once, with doc and default; it becomes part of the config's JSON Schema),
 * and a factory that turns validated params into an {@link EnginePolicy}.
 *
 * Extension point. To add a policy (issue 5: predictive-overlay, mirroring, reactive, ...), add one entry to
 * {@link POLICY_REGISTRY} below, then run `npm run schema` so editors see it. A config naming a policy that is not
 * here fails validation with the list of known names. Entries are kept in the order written; configs and the
 * schema list them in that order.
 */
import * as z from "zod";
import { ecmpRouting, shortestPathRouting } from "../sim/engine/static-routing.ts";
import type { RoutingPolicy } from "../sim/engine/types.ts";

/** What a registry entry's factory receives besides its params. */
export interface PolicyFactoryContext {
  topology: import("../sim/substrate/topology.ts").Topology;
  seed: number;
  run: number;
}

export interface PolicyDefinition<P extends z.ZodObject = z.ZodObject> {
  name: string;
  doc: string;
  /** The `params` object; every field must have a default or be optional so `params` can be left out. */
  params: P;
  /** Whether the policy uses a predictor (config's `predictor` field); static baselines do not. */
  usesPredictor: boolean;
  create(params: z.output<P>, ctx: PolicyFactoryContext): RoutingPolicy;
}

function define<P extends z.ZodObject>(d: PolicyDefinition<P>): PolicyDefinition {
  return d as unknown as PolicyDefinition;
}

const weight = z
  .enum(["delay", "hops"])
  .default("delay")
  .meta({ description: "Link cost of a path: propagation delay (ns) or hop count." });
const reroute = z.boolean().default(true).meta({
  description:
    "On a link failure, move new and stalled flows to paths avoiding down links at once (an idealized IGP); false leaves them stalled until the link returns.",
});

export const POLICY_REGISTRY: ReadonlyMap<string, PolicyDefinition> = new Map(
  [
    define({
      name: "shortest-path",
      doc: "Every flow of a pair on the pair's least-cost path (ties by hops, then link ids).",
      params: z.strictObject({ weight, reroute }),
      usesPredictor: false,
      create: (p, ctx) => shortestPathRouting(ctx.topology, p),
    }),
    define({
      name: "ecmp",
      doc: "Equal-cost multipath: each flow hashed (seeded, per flow) onto one of the pair's equal-cost paths.",
      params: z.strictObject({
        weight,
        maxPaths: z.int().min(1).max(1024).default(16).meta({
          description: "At most this many equal-cost paths per pair (the first ones in routing order).",
        }),
        hashSeed: z
          .int()
          .optional()
          .meta({ description: "Seed of the per-flow hash; default: the experiment's seed." }),
        reroute,
      }),
      usesPredictor: false,
      create: (p, ctx) =>
        ecmpRouting(ctx.topology, {
          weight: p.weight,
          maxPaths: p.maxPaths,
          hashSeed: p.hashSeed ?? ctx.seed,
          reroute: p.reroute,
        }),
    }),
  ].map((d) => [d.name, d]),
);

/** Known policy names, in registry order. */
export function policyNames(): string[] {
  return [...POLICY_REGISTRY.keys()];
}
