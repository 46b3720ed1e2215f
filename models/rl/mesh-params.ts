/**
 * The parameters every path-mesh policy (rl-mesh, ron, oracle-path) takes, declared once with per-policy defaults:
 * spread `meshParams({...})` into a policy's zod `params`.
 */
import * as z from "zod";

/** Candidate and pacing parameters with the given defaults. */
export function meshParams(d: { relays: number; maxMoves: number }) {
  return {
    relays: z
      .int()
      .min(0)
      .default(d.relays)
      .meta({ description: "One-hop relay candidates per pair (lowest delay first)." }),
    maxPairs: z
      .int()
      .min(1)
      .default(64)
      .meta({ description: "Active pairs (heaviest first) managed per interval." }),
    maxMoves: z
      .int()
      .min(1)
      .default(d.maxMoves)
      .meta({ description: "Pairs moved per interval at most (failovers aside)." }),
  };
}

/** The probe budget with the given default. */
export function probeBudgetParam(d: number) {
  return z.int().min(1).default(d).meta({ description: "Probes sent per control interval at most." });
}
