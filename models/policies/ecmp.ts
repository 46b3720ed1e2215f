/**
 * Equal-cost multipath, a static baseline: each flow hashed onto one of its pair's equal-cost paths by a seeded
 * per-flow hash (sim/engine/static-routing.ts), as a router hashing the 5-tuple would. It takes no action of its
 * own: it runs as a static-routes.ts policy over its data plane.
 */
import * as z from "zod";
import { COMMON_PARAMS, definePolicy } from "./definition.ts";

/** `name: ecmp` in a config. */
export const ecmpPolicy = definePolicy({
  name: "ecmp",
  doc: "Equal-cost multipath: each flow hashed (seeded, per flow) onto one of the pair's equal-cost paths.",
  params: z.strictObject({
    weight: COMMON_PARAMS.weight,
    maxPaths: z.int().min(1).max(1024).default(16).meta({
      description: "At most this many equal-cost paths per pair (the first ones in routing order).",
    }),
    hashSeed: z
      .int()
      .optional()
      .meta({ description: "Seed of the per-flow hash; default: the experiment's seed." }),
    reroute: COMMON_PARAMS.reroute,
  }),
  forecasts: null,
  routing: (p) => ({
    kind: "ecmp",
    weight: p.weight,
    maxPaths: p.maxPaths,
    reroute: p.reroute,
    ...(p.hashSeed !== undefined ? { hashSeed: p.hashSeed } : {}),
  }),
});
