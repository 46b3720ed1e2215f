/**
 * Shortest-path routing, a static baseline: every flow of a pair on the pair's least-cost path by delay or hops
 * (ties by hops, then link ids; sim/substrate/routing.ts). It takes no action of its own: it runs as a
 * static-routes.ts policy over its data plane.
 */
import * as z from "zod";
import { COMMON_PARAMS, definePolicy } from "./definition.ts";

/** `name: shortest-path` in a config. */
export const shortestPathPolicy = definePolicy({
  name: "shortest-path",
  doc: "Every flow of a pair on the pair's least-cost path (ties by hops, then link ids).",
  params: z.strictObject({ weight: COMMON_PARAMS.weight, reroute: COMMON_PARAMS.reroute }),
  forecasts: null,
  routing: (p) => ({ kind: "shortest-path", weight: p.weight, reroute: p.reroute }),
});
