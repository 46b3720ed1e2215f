/**
 * The persona policy's test of a trial's FCTs against its baseline's (models/policies/persona.ts): the one-sided
 * Mann-Whitney U test (H. B. Mann and D. R. Whitney, "On a test of whether one of two random variables is
 * stochastically larger than the other", Ann. Math. Statist. 18(1), 1947), with mid-ranks for ties, the tie-corrected
 * variance and a continuity correction in the normal approximation (as scipy.stats.mannwhitneyu's asymptotic
 * method). Rank-based, so a handful of slow flows (a burst, one busy interval) cannot carry it the way they carry a
 * mean or a p99 of ~40 flows.
 */
import normalCdf from "@stdlib/stats-base-dists-normal-cdf";

/**
 * The p-value of H1 "`trial` is stochastically larger than `baseline`" (one-sided; FCTs in ns, any order): small
 * when the trial's flows took longer. 1 when either sample is empty or every value ties (no evidence).
 */
export function mannWhitneyGreaterP(trial: readonly number[], baseline: readonly number[]): number {
  const n1 = trial.length;
  const n2 = baseline.length;
  if (n1 === 0 || n2 === 0) return 1;
  const all = [...trial.map((v) => ({ v, t: true })), ...baseline.map((v) => ({ v, t: false }))].sort(
    (a, b) => a.v - b.v,
  );
  const n = n1 + n2;
  let rankSum = 0;
  let ties = 0;
  for (let i = 0; i < n; ) {
    let j = i;
    while (j + 1 < n && all[j + 1]!.v === all[i]!.v) j++;
    const rank = (i + j) / 2 + 1; // mid-rank of positions i..j (1-based)
    for (let k = i; k <= j; k++) if (all[k]!.t) rankSum += rank;
    const t = j - i + 1;
    ties += t * t * t - t;
    i = j + 1;
  }
  const u = rankSum - (n1 * (n1 + 1)) / 2;
  const mean = (n1 * n2) / 2;
  const variance = ((n1 * n2) / 12) * (n + 1 - ties / (n * (n - 1)));
  if (!(variance > 0)) return 1;
  const z = (u - mean - 0.5) / Math.sqrt(variance);
  return 1 - normalCdf(z, 0, 1);
}
