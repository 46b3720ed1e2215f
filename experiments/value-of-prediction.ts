/**
 * Value of prediction: how much of the perfect-foresight improvement a real predictor delivers. For a predictive
 * policy P with predictor X, the non-predictive baseline B (the experiment's first policy without a predictor,
 * normally shortest-path) and the same policy with the oracle O:
 *
 *   VoP(metric) = (metric(B) - metric(P+X)) / (metric(B) - metric(P+oracle))
 *
 * 1 means X is as good as perfect foresight, 0 no better than the baseline, negative worse than the baseline.
 * Null when the experiment has no oracle variant of P or the oracle does not improve on the baseline.
 */
import type { PolicySummary } from "./policy-summary.ts";

export interface ValueOfPrediction {
  policy: string;
  predictor: string;
  baseline: string;
  oracle: string | null;
  /** On mean slowdown and on mean FCT. */
  meanSlowdown: number | null;
  meanFct: number | null;
}

export function valueOfPrediction(
  policies: readonly PolicySummary[],
  predictors: readonly (string | null)[],
): ValueOfPrediction[] {
  const baseIdx = predictors.indexOf(null);
  if (baseIdx < 0) return [];
  const base = policies[baseIdx]!;
  const out: ValueOfPrediction[] = [];
  policies.forEach((p, i) => {
    const predictor = predictors[i];
    if (!predictor || predictor === "oracle") return;
    const oi = policies.findIndex((q, j) => q.name === p.name && predictors[j] === "oracle");
    const oracle = oi >= 0 ? policies[oi]! : null;
    const vop = (f: (s: PolicySummary) => number | undefined): number | null => {
      const b = f(base);
      const x = f(p);
      const o = oracle ? f(oracle) : undefined;
      if (b === undefined || x === undefined || o === undefined || !(b - o > 0)) return null;
      return (b - x) / (b - o);
    };
    out.push({
      policy: p.policy,
      predictor,
      baseline: base.policy,
      oracle: oracle?.policy ?? null,
      meanSlowdown: vop((s) => s.flows.slowdown?.mean),
      meanFct: vop((s) => s.flows.fctNs?.mean),
    });
  });
  return out;
}
