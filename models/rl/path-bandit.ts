/**
 * The learned path choice of the sidecar mesh: a contextual bandit over candidate paths.
 *
 * Algorithm: LinUCB with one shared linear model (Li, Chu, Langford, Schapire, "A Contextual-Bandit Approach to
 * Personalized News Article Recommendation", WWW 2010, Algorithm 1 with its arm-independent parameters, i.e. the
 * shared-feature part of Algorithm 2), plus epsilon-greedy exploration on top. Every arm a (a candidate path of a
 * pair) comes with a context x_a in R^d (models/rl/features.ts); the model keeps
 *
 *   A = lambda I + sum x x^T,   b = sum r x,   theta = A^-1 b,
 *
 * and picks argmax_a theta^T x_a + alpha sqrt(x_a^T A^-1 x_a) (the upper confidence bound of the expected reward),
 * except with probability epsilon, when it picks an arm uniformly at random from its own named stream. Ties go to
 * the earlier arm (candidates come shortest first). After the chosen path's reward r is seen, `update(x, r)` adds
 * the observation; A^-1 is kept directly with the Sherman-Morrison identity
 *
 *   (A + x x^T)^-1 = A^-1 - (A^-1 x)(A^-1 x)^T / (1 + x^T A^-1 x),
 *
 * so a decision costs O(d^2) per arm and nothing is inverted. Because theta is shared, what is learned about one
 * pair's paths (delay hurts, spare bandwidth helps, a lossy path is bad) carries over to every pair and to another
 * topology or engine: the model is about path features, not path names. Its state (A^-1, b, counts) is plain
 * numbers, serialised by models/rl/model-file.ts.
 */
import type { RandomStream } from "../../sim/kernel/rng.ts";

/** The learned state of a {@link PathBandit}: what the model file stores. */
export interface BanditState {
  /** Context dimension d. */
  dimension: number;
  /** A^-1, d x d, row-major. */
  aInv: number[];
  /** b, length d. */
  b: number[];
  /** Updates applied so far. */
  updates: number;
}

/** Exploration settings (not part of what is learned; the policy's params may override the file's). */
export interface BanditExploration {
  /** Width of the confidence bonus, >= 0 (0: greedy on theta). */
  alpha: number;
  /** Probability of a uniformly random arm, [0, 1]. */
  epsilon: number;
}

/** A LinUCB bandit with a shared model (see the module doc). */
export class PathBandit {
  readonly dimension: number;
  private readonly aInv: Float64Array;
  private readonly b: Float64Array;
  private updateCount: number;

  /**
   * A fresh model (A = lambda I, b = 0) of dimension `d`, or a learned one from `state`.
   * @param lambda ridge regularisation, > 0 (fresh models only).
   */
  constructor(d: number, lambda = 1, state?: BanditState) {
    if (!Number.isInteger(d) || d < 1) throw new RangeError(`PathBandit: dimension must be >= 1, got ${d}`);
    if (!(lambda > 0)) throw new RangeError(`PathBandit: lambda must be > 0, got ${lambda}`);
    this.dimension = d;
    this.aInv = new Float64Array(d * d);
    this.b = new Float64Array(d);
    this.updateCount = 0;
    if (state) {
      if (state.dimension !== d || state.aInv.length !== d * d || state.b.length !== d) {
        throw new RangeError(`PathBandit: state of dimension ${state.dimension} does not fit dimension ${d}`);
      }
      this.aInv.set(state.aInv);
      this.b.set(state.b);
      this.updateCount = state.updates;
    } else {
      for (let i = 0; i < d; i++) this.aInv[i * d + i] = 1 / lambda;
    }
  }

  /** Updates applied so far. */
  get updates(): number {
    return this.updateCount;
  }

  /** theta = A^-1 b. */
  theta(): Float64Array {
    const d = this.dimension;
    const t = new Float64Array(d);
    for (let i = 0; i < d; i++) {
      let s = 0;
      for (let j = 0; j < d; j++) s += this.aInv[i * d + j]! * this.b[j]!;
      t[i] = s;
    }
    return t;
  }

  /** The upper confidence bound theta^T x + alpha sqrt(x^T A^-1 x) of one context. */
  score(x: ArrayLike<number>, alpha: number, theta = this.theta()): number {
    this.check(x);
    const d = this.dimension;
    let mean = 0;
    let quad = 0;
    for (let i = 0; i < d; i++) {
      mean += theta[i]! * x[i]!;
      let row = 0;
      for (let j = 0; j < d; j++) row += this.aInv[i * d + j]! * x[j]!;
      quad += x[i]! * row;
    }
    return mean + alpha * Math.sqrt(Math.max(0, quad));
  }

  /**
   * The arm to play among `contexts` (one per candidate, at least one): epsilon-greedy over the UCB scores, the
   * random draws from `rng` (a named stream) only. @returns the index into `contexts`.
   */
  select(contexts: readonly ArrayLike<number>[], explore: BanditExploration, rng?: RandomStream): number {
    if (contexts.length === 0) throw new RangeError("PathBandit.select: no candidate");
    if (rng && explore.epsilon > 0 && rng.uniform() < explore.epsilon) return rng.int(contexts.length);
    const theta = this.theta();
    let best = 0;
    let bestScore = Number.NEGATIVE_INFINITY;
    contexts.forEach((x, i) => {
      const s = this.score(x, explore.alpha, theta);
      if (s > bestScore) {
        best = i;
        bestScore = s;
      }
    });
    return best;
  }

  /** Adds one observation: the arm with context `x` earned `reward` (Sherman-Morrison update of A^-1, b += r x). */
  update(x: ArrayLike<number>, reward: number): void {
    this.check(x);
    if (!Number.isFinite(reward))
      throw new RangeError(`PathBandit.update: reward must be finite, got ${reward}`);
    const d = this.dimension;
    const ax = new Float64Array(d);
    for (let i = 0; i < d; i++) {
      let s = 0;
      for (let j = 0; j < d; j++) s += this.aInv[i * d + j]! * x[j]!;
      ax[i] = s;
    }
    let denom = 1;
    for (let i = 0; i < d; i++) denom += x[i]! * ax[i]!;
    for (let i = 0; i < d; i++) {
      for (let j = 0; j < d; j++) this.aInv[i * d + j] = this.aInv[i * d + j]! - (ax[i]! * ax[j]!) / denom;
      this.b[i] = this.b[i]! + reward * x[i]!;
    }
    this.updateCount++;
  }

  /** The learned state, copied (plain arrays for JSON). */
  state(): BanditState {
    return { dimension: this.dimension, aInv: [...this.aInv], b: [...this.b], updates: this.updateCount };
  }

  private check(x: ArrayLike<number>): void {
    if (x.length !== this.dimension) {
      throw new RangeError(`PathBandit: context of length ${x.length}, expected ${this.dimension}`);
    }
  }
}
