/**
 * Sampling an index from a discrete distribution in O(1) per draw: the alias method (A. J. Walker, "An efficient
 * method for generating discrete random variables with general distributions", ACM TOMS 3(3), 1977), built in
 * O(n) by Vose's stable construction (M. D. Vose, "A linear algorithm for generating random numbers with a given
 * distribution", IEEE TSE 17(9), 1991).
 *
 * Each of the n columns holds a probability `prob[i]` of keeping i and an alias taken otherwise. One uniform u in
 * [0, 1) picks the column from its integer part (i = floor(u n)) and the coin from its fractional part (u n - i,
 * uniform on [0, 1) and independent of i); with 53-bit doubles and n < 2^24 the coin keeps at least 29 bits.
 * Memory: 12 bytes per index (Float64Array + Int32Array).
 */
import { WorkloadError } from "./errors.ts";

export class AliasTable {
  /** Probability of keeping column i (else `alias[i]`). */
  private readonly prob: Float64Array;
  private readonly alias: Int32Array;
  /** Sum of the weights. */
  readonly total: number;

  /**
   * @param weights one weight per index, finite and >= 0, at least one > 0 (need not sum to 1).
   * @throws WorkloadError for an empty table, a negative or non-finite weight, or weights summing to 0.
   */
  constructor(weights: ArrayLike<number>) {
    const n = weights.length;
    if (n === 0) throw new WorkloadError("alias table: no weights");
    let total = 0;
    for (let i = 0; i < n; i++) {
      const w = weights[i]!;
      if (!(w >= 0) || !Number.isFinite(w)) {
        throw new WorkloadError(`alias table: weight ${i} must be a finite number >= 0, got ${w}`);
      }
      total += w;
    }
    if (!(total > 0)) throw new WorkloadError("alias table: weights sum to 0");
    this.total = total;
    const prob = new Float64Array(n);
    const alias = new Int32Array(n);
    // Scaled weights (mean 1); columns below 1 are "small", others "large". Two stacks in one array.
    const scaled = new Float64Array(n);
    const stack = new Int32Array(n);
    let small = 0;
    let large = n;
    for (let i = 0; i < n; i++) {
      scaled[i] = (weights[i]! * n) / total;
      if (scaled[i]! < 1) stack[small++] = i;
      else stack[--large] = i;
    }
    while (small > 0 && large < n) {
      const s = stack[--small]!;
      const l = stack[large]!;
      prob[s] = scaled[s]!;
      alias[s] = l;
      scaled[l] = scaled[l]! + scaled[s]! - 1;
      if (scaled[l]! < 1) {
        large++;
        stack[small++] = l;
      }
    }
    // What is left is 1 up to rounding: kept with certainty.
    while (large < n) prob[stack[large++]!] = 1;
    while (small > 0) prob[stack[--small]!] = 1;
    this.prob = prob;
    this.alias = alias;
  }

  /** Number of indices. */
  get size(): number {
    return this.prob.length;
  }

  /** The index drawn by uniform `u` in [0, 1) (see the module doc). */
  sample(u: number): number {
    const x = u * this.prob.length;
    const i = Math.floor(x);
    return x - i < this.prob[i]! ? i : this.alias[i]!;
  }
}
