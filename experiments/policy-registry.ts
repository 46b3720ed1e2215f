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
import { Mirroring } from "../models/policies/mirroring.ts";
import { PredictiveOverlay } from "../models/policies/predictive-overlay.ts";
import { Reactive } from "../models/policies/reactive.ts";
import type { Policy } from "../models/policies/types.ts";
import type { Predictor } from "../models/predictors/predictor.ts";
import { createPredictor, PREDICTOR_NAMES } from "../models/predictors/registry.ts";
import { ecmpRouting, shortestPathRouting } from "../sim/engine/static-routing.ts";
import type { ControllerContext, RoutingPolicy } from "../sim/engine/types.ts";

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
  /** Control-loop policies: builds the policy (with its predictor, when it uses one) for one engine run. */
  controller?(
    params: z.output<P>,
    predictor: PredictorConfig | undefined,
    ctx: ControllerContext,
  ): Promise<Policy>;
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

/** A config's `predictor` section. */
export interface PredictorConfig {
  name: string;
  params: Record<string, unknown>;
}

/**
 * Builds a policy's predictor over `dimension` series. The oracle reads `future` (one row per control interval);
 * the others train on `history` (when the config gives a training span) and then observe it, so they start warm.
 */
async function buildPredictor(
  cfg: PredictorConfig | undefined,
  dimension: number,
  future: readonly Float64Array[],
  history: readonly Float64Array[],
  intervalNs: number,
): Promise<Predictor> {
  const name = cfg?.name ?? "ewma";
  if (!(PREDICTOR_NAMES as readonly string[]).includes(name)) {
    throw new Error(`unknown predictor "${name}"; known: ${PREDICTOR_NAMES.join(", ")}`);
  }
  const predictor = createPredictor(name, {
    ...(cfg?.params ?? {}),
    dimension,
    // After the window no traffic arrives: the oracle's future ends in zero rows (for forecasts past the end).
    ...(name === "oracle"
      ? { oracle: { rows: [...future, ...Array.from({ length: 64 }, () => new Float64Array(dimension))] } }
      : {}),
  });
  if (name !== "oracle" && history.length > 0) {
    await predictor.train?.(history);
    history.forEach((row, k) => {
      predictor.observe((k - history.length + 1) * intervalNs, row);
    });
  }
  return predictor;
}

/** A policy owning a predictor releases it (tfjs memory) when the run ends. */
function withDispose(policy: Policy, predictor: Predictor): Policy & { dispose(): void } {
  return Object.assign(policy, { dispose: () => predictor.dispose?.() });
}

/** The data plane under a control-loop policy: shortest paths by delay, rerouting on failures when asked. */
function defaultDataPlane(p: { reroute: boolean }, ctx: PolicyFactoryContext): RoutingPolicy {
  return shortestPathRouting(ctx.topology, { weight: "delay", reroute: p.reroute });
}

const control = {
  kPaths: z.int().min(1).optional().meta({ description: "Candidate paths (default: control.kPaths)." }),
};

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
    define({
      name: "reactive",
      doc: "Reactive TE: after a link exceeds a utilization threshold, move the heaviest pairs on it to the least-loaded of k paths.",
      params: z.strictObject({
        threshold: z
          .number()
          .gt(0)
          .default(0.8)
          .meta({ description: "Utilization above which a link is congested." }),
        maxMoves: z
          .int()
          .min(1)
          .default(2)
          .meta({ description: "Pairs moved per congested link per interval." }),
        ...control,
        reroute,
      }),
      usesPredictor: false,
      create: defaultDataPlane,
      controller: async (p, _pred, ctx) =>
        new Reactive({
          threshold: p.threshold,
          maxMoves: p.maxMoves,
          kPaths: p.kPaths ?? ctx.control.kPaths,
        }),
    }),
    define({
      name: "predictive-overlay",
      doc: "Forecast per-pair volume; build virtual links (VNAs from a per-node pool) for the top pairs before their traffic arrives.",
      params: z.strictObject({
        maxLinks: z
          .int()
          .min(1)
          .optional()
          .meta({ description: "Most virtual links at once (default: pools only)." }),
        minBytes: z
          .number()
          .min(0)
          .default(1)
          .meta({ description: "Pairs forecast below this many bytes per interval get no link." }),
        headroom: z.number().gt(0).nullable().default(null).meta({
          description: "Reserve forecast rate x headroom on the link's path; null for best-effort links.",
        }),
        lookahead: z.int().min(1).default(2).meta({ description: "Intervals ahead a pair is scored on." }),
        idleIntervals: z
          .int()
          .min(1)
          .default(1)
          .meta({ description: "Intervals out of the ranking before a link is removed." }),
        adaptPaths: z.boolean().default(true).meta({
          description:
            "Place links by estimated load (the pairs' forecast rates) and move a link off a detour no longer needed or a hot path; false: a link keeps the path it was created on (before issue 18).",
        }),
        repathMargin: z.number().min(0).default(0.1).meta({
          description:
            "A link moves to a longer path only if that lowers its path's peak utilization by more than this.",
        }),
        ...control,
        reroute,
      }),
      usesPredictor: true,
      create: defaultDataPlane,
      controller: async (p, pred, ctx) => {
        const predictor = await buildPredictor(
          pred,
          ctx.nodes.length * (ctx.nodes.length - 1),
          ctx.pairBytes,
          ctx.trainingPairBytes,
          ctx.control.intervalNs,
        );
        return withDispose(
          new PredictiveOverlay({
            predictor,
            minBytes: p.minBytes,
            headroom: p.headroom,
            lookahead: p.lookahead,
            idleIntervals: p.idleIntervals,
            adaptPaths: p.adaptPaths,
            repathMargin: p.repathMargin,
            kPaths: p.kPaths ?? ctx.control.kPaths,
            ...(p.maxLinks !== undefined ? { maxLinks: p.maxLinks } : {}),
          }),
          predictor,
        );
      },
    }),
    define({
      name: "mirroring",
      doc: "Forecast per-link utilization; mirror pairs whose default path crosses a link predicted hot onto the most disjoint path; keep the better path.",
      params: z.strictObject({
        threshold: z
          .number()
          .gt(0)
          .default(0.8)
          .meta({ description: "Predicted utilization above which a link is hot." }),
        minFlows: z
          .int()
          .min(1)
          .default(10)
          .meta({ description: "Mirrored flows seen before a mirror is judged." }),
        minWinRate: z
          .number()
          .min(0)
          .max(1)
          .default(0.1)
          .meta({ description: "Below this share of wins a mirror is dropped." }),
        switchWinRate: z
          .number()
          .min(0)
          .max(1)
          .default(0.9)
          .meta({ description: "Above this share of wins the mirror's path becomes the route." }),
        maxPairBytes: z
          .number()
          .gt(0)
          .default(10e6)
          .meta({ description: "Pairs sending more bytes per interval are not mirrored." }),
        ...control,
        reroute,
      }),
      usesPredictor: true,
      create: defaultDataPlane,
      controller: async (p, pred, ctx) => {
        const predictor = await buildPredictor(
          pred,
          ctx.topology.linkCount,
          ctx.linkUtilization,
          ctx.trainingLinkUtilization,
          ctx.control.intervalNs,
        );
        return withDispose(
          new Mirroring({
            predictor,
            threshold: p.threshold,
            minFlows: p.minFlows,
            minWinRate: p.minWinRate,
            switchWinRate: p.switchWinRate,
            maxPairBytes: p.maxPairBytes,
            kPaths: p.kPaths ?? ctx.control.kPaths,
          }),
          predictor,
        );
      },
    }),
  ].map((d) => [d.name, d]),
);

/** Known policy names, in registry order. */
export function policyNames(): string[] {
  return [...POLICY_REGISTRY.keys()];
}
