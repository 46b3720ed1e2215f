/**
 * Named, independent random streams (the ns-3 / SimGrid discipline: one stream per component).
 *
 * Each stream is seeded from the string `JSON.stringify([seed, run, name])` with seedrandom's xor4096 generator
 * (Brent's xorgens, period 2^4096 - 1), so a stream's draws depend only on (seed, run, name): adding a component
 * (a new stream name) never changes what other components draw, and a different run number gives an independent
 * replication of the same configuration. Uniform draws use 53-bit doubles.
 */
import seedrandom from "seedrandom";

/** Uniform in [0, 1) source. */
export type Uniform01 = () => number;

/** A distribution over positive numbers that can be sampled from a {@link RandomStream}. */
export interface Distribution {
  /** Draws one value. */
  sample(rng: RandomStream): number;
  /** The distribution's mean (used to turn a rate in bits/s into an arrival rate of flows). */
  mean(): number;
}

export class RandomStream {
  /** xor4096's state (Brent's xorgens 3): the 128-word xorshift array, its index and the Weyl counter. */
  private readonly x: Int32Array;
  private i: number;
  private w: number;
  private spareNormal: number | undefined;

  constructor(
    readonly name: string,
    seedKey: string,
  ) {
    // seedrandom seeds the generator (its string-key mixing and warm-up) and hands over the state; the steps below
    // are its `next` and `double` over an Int32Array, the same numbers bit for bit (test/sim/kernel/rng.test.ts)
    // at about half the cost per draw: the draw sits on every event of the kernel benchmark's hold workload.
    const state = seedrandom.xor4096(seedKey, { state: true }).state();
    this.x = Int32Array.from(state.X);
    this.i = state.i;
    this.w = state.w;
  }

  /** One 32-bit step: seedrandom's xor4096 `next` (xorshift over the 128 words plus a Weyl sequence), signed. */
  private step(): number {
    const x = this.x;
    const w = (this.w + 0x61c88647) | 0;
    this.w = w;
    let v = x[(this.i + 34) & 127]!;
    const i = (this.i + 1) & 127;
    this.i = i;
    let t = x[i]!;
    v ^= v << 13;
    t ^= t << 17;
    v ^= v >>> 15;
    t ^= t >>> 12;
    v ^= t;
    x[i] = v;
    return (v + (w ^ (w >>> 16))) | 0;
  }

  /** seedrandom's `double` before its zero test: 21 bits of one step and 32 of the next, in [0, 1). */
  private double53(): number {
    return ((this.step() >>> 11) + (this.step() >>> 0) / 0x100000000) / 0x200000;
  }

  /** seedrandom's `double`: 53 bits from two steps, in (0, 1) (0 is redrawn). */
  private next(): number {
    let r: number;
    do r = this.double53();
    while (r === 0);
    return r;
  }

  /** Uniform on [0, 1). */
  uniform(): number {
    return this.next();
  }

  /** Uniform on [a, b). */
  uniformRange(a: number, b: number): number {
    return a + (b - a) * this.next();
  }

  /** Integer uniform on [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** Exponential with the given mean (> 0): -mean * ln(1 - U). */
  exponential(mean: number): number {
    return -mean * Math.log1p(-this.next());
  }

  /**
   * `Math.floor` (or `Math.round`, per the table) of {@link exponential}'s draw for the table's mean: the same integer
   * bit for bit, from the same two steps of the stream, without the logarithm in all but ~2e-6 of draws. The
   * 53-bit uniform U is located among the table's thresholds (the U at which the rounded -mean ln(1 - U) steps
   * up; a lookup by U's top 14 bits, then a forward scan of a few entries); only a U within a guard band around a threshold
   * computes the logarithm. See {@link IntegerExponentialTable} for why the result is exact.
   */
  exponentialInteger(table: IntegerExponentialTable): number {
    const u = this.double53();
    return table.at(u === 0 ? this.next() : u); // U = 0 is redrawn, as `next` does
  }

  /**
   * Exponential with the given mean (> 0) by the ziggurat method (G. Marsaglia & W. W. Tsang, "The Ziggurat Method
   * for Generating Random Variables", J. Stat. Softw. 5(8), 2000: their 256-layer exponential ziggurat). One 32-bit
   * step of the stream picks a layer (its low 8 bits) and a position in it (the other 24, independent of the
   * layer, unlike the paper's REXP which reuses the layer's bits); about 97.8% of draws end there with one table
   * lookup and a multiply, the rest fall to the wedge test (one uniform and `Math.exp`) or to the tail beyond
   * r = 7.697 (r + Exp(1) by inverse transform). The distribution is Exp(mean) exactly, up to the 2^-24 grid of
   * positions within a layer (relative 6e-8 of the layer's width). The draws differ from {@link exponential}'s
   * (inverse transform, -mean ln(1 - U), two steps and a logarithm per draw): same distribution, another sequence,
   * so switching a model to it changes its results.
   */
  exponentialZiggurat(mean: number): number {
    const j = this.step();
    const i = j & 255;
    const u = j >>> 8;
    if (u < ZIG_EXP_K[i]!) return mean * (u * ZIG_EXP_W[i]!);
    return mean * this.zigguratExpSlow(i, u);
  }

  /** {@link exponentialZiggurat}'s rare path, for a position `u` outside layer `i`'s inner rectangle: Exp(1). */
  private zigguratExpSlow(i: number, u: number): number {
    for (;;) {
      // the base layer's overhang stands for the tail beyond r: by memorylessness r + Exp(1) there
      if (i === 0) return ZIG_EXP_R - Math.log(this.next());
      const x = u * ZIG_EXP_W[i]!;
      const f0 = ZIG_EXP_F[i]!;
      if (f0 + this.next() * (ZIG_EXP_F[i + 1]! - f0) < Math.exp(-x)) return x;
      const j = this.step();
      i = j & 255;
      u = j >>> 8;
      if (u < ZIG_EXP_K[i]!) return u * ZIG_EXP_W[i]!;
    }
  }

  /** Normal(mu, sigma) by the Marsaglia polar method; the second variate of each pair is kept for the next call. */
  normal(mu = 0, sigma = 1): number {
    if (this.spareNormal !== undefined) {
      const z = this.spareNormal;
      this.spareNormal = undefined;
      return mu + sigma * z;
    }
    let u: number;
    let v: number;
    let s: number;
    do {
      u = 2 * this.next() - 1;
      v = 2 * this.next() - 1;
      s = u * u + v * v;
    } while (s >= 1 || s === 0);
    const f = Math.sqrt((-2 * Math.log(s)) / s);
    this.spareNormal = v * f;
    return mu + sigma * u * f;
  }

  /** Lognormal: exp(Normal(mu, sigma)); mu and sigma are of the underlying normal. */
  lognormal(mu: number, sigma: number): number {
    return Math.exp(this.normal(mu, sigma));
  }

  /** Pareto (type I) with shape alpha > 0 and scale x_m > 0: x_m / U^(1/alpha); mean alpha x_m / (alpha - 1). */
  pareto(shape: number, scale: number): number {
    return scale / (1 - this.next()) ** (1 / shape);
  }

  /** A uniform source bound to this stream, for functions that take `() => number`. */
  get uniform01(): Uniform01 {
    return () => this.next();
  }
}

/**
 * The exponential ziggurat's tables (Marsaglia & Tsang 2000, section "The exponential"): 256 layers of equal area
 * v under f(x) = e^-x. x_0 = v / f(r) (the base layer with the tail folded in), x_1 = r, x_(i+1) = f^-1(v / x_i +
 * f(x_i)), x_256 = 0. Layer i is [0, x_i] x [f(x_i), f(x_(i+1))]; a point at x < x_(i+1) lies under the curve.
 * Per layer: K the 24-bit position below which x < x_(i+1), W = x_i / 2^24 (position to x), F = f(x_i) (257 entries).
 */
const ZIG_EXP_R = 7.69711747013105;
const ZIG_EXP_V = 3.949659822581572e-3;
const ZIG_EXP_K = new Int32Array(256);
const ZIG_EXP_W = new Float64Array(256);
const ZIG_EXP_F = new Float64Array(257);
{
  const xs = new Float64Array(257);
  xs[0] = ZIG_EXP_V / Math.exp(-ZIG_EXP_R);
  xs[1] = ZIG_EXP_R;
  for (let i = 1; i < 255; i++) xs[i + 1] = -Math.log(ZIG_EXP_V / xs[i]! + Math.exp(-xs[i]!));
  xs[256] = 0;
  for (let i = 0; i < 256; i++) {
    ZIG_EXP_K[i] = Math.floor((xs[i + 1]! / xs[i]!) * 2 ** 24);
    ZIG_EXP_W[i] = xs[i]! / 2 ** 24;
  }
  for (let i = 0; i <= 256; i++) ZIG_EXP_F[i] = Math.exp(-xs[i]!);
}

/** Cells of U (its top 14 bits) in {@link IntegerExponentialTable}'s start index. */
const CELLS = 1 << 14;

/**
 * Thresholds for {@link RandomStream.exponentialInteger}: for the integer-valued draw g(U) = floor (or round) of
 * -mean * Math.log1p(-U) over the stream's 53-bit uniforms U = n / 2^53, the U at which g steps from k - 1 to k
 * (found by bisection on g itself), each with a guard band. Safe zone k is [safeFrom[k], safeTo[k]): between the
 * bands around the thresholds of k and k + 1, where g(U) = k.
 *
 * Why that is exact: fdlibm's log1p (V8's Math.log1p) errs by less than 1 ulp, so the computed -mean log1p(-U)
 * is within ~2 ulps (< 2e-12 for values below 4096; < 3e-10 below 4e5, the largest a mean of 1e4 draws) of the
 * real -mean ln(1 - U), which increases with U. At a threshold found by bisection the computed value crosses the
 * step, so the real value there is within that error of it; the guard band reaches 1e-6 (in value; at least 4 grid
 * steps of U) past it on either side, so inside a safe zone the real value, and hence the computed one, is more
 * than 1e-6 minus twice that error away from any step: g(U) = k. U in a
 * band computes g(U) itself. test/sim/kernel/rng.test.ts compares it with `Math.floor`/`Math.round` of
 * `exponential(mean)` on 1e6 draws (five tables) and on the U next to every threshold.
 *
 * Size: one threshold per integer up to mean * 36.7 (the largest draw, -ln(2^-53) means); means up to 1e4.
 */
export class IntegerExponentialTable {
  /** Safe zone k starts at safeFrom[k]; safeFrom[K + 1] = 2 (above every U) ends the scan. */
  readonly safeFrom: Float64Array;
  /** Safe zone k ends (exclusive) at safeTo[k], where the guard band of threshold k + 1 begins. */
  readonly safeTo: Float64Array;
  /**
   * Per 2^-14-wide cell of U (its top 14 bits), the largest k with safeFrom[k] <= the cell's start; its bitwise
   * complement for a cell spanning more than 8 safe zones (searched by bisection).
   */
  readonly start: Int32Array;
  private readonly negMean: number;

  /**
   * @param mean the exponential's mean, in (0, 1e4].
   * @param rounding `"floor"` (truncation of the non-negative draw) or `"round"` (`Math.round`).
   * @throws DistributionError for a mean outside (0, 1e4] or another rounding.
   */
  constructor(
    readonly mean: number,
    readonly rounding: "floor" | "round" = "floor",
  ) {
    if (!(mean > 0 && mean <= 1e4))
      throw new DistributionError(`integer exponential: mean must be in (0, 1e4], got ${mean}`);
    if (rounding !== "floor" && rounding !== "round")
      throw new DistributionError(
        `integer exponential: rounding must be "floor" or "round", got ${rounding}`,
      );
    this.negMean = -mean;
    const grid = 2 ** -53;
    const maxK = this.exact(1 - grid);
    this.safeFrom = new Float64Array(maxK + 2);
    this.safeTo = new Float64Array(maxK + 1);
    for (let k = 1; k <= maxK; k++) {
      const t = this.threshold(k);
      // guard band: 1e-6 of value is 1e-6 (1 - U) / mean of U (the slope is mean / (1 - U)); at least 4 grid steps
      const band = Math.max(4 * grid, (1e-6 * (1 - t)) / mean);
      this.safeTo[k - 1] = t - band;
      this.safeFrom[k] = t + band;
    }
    this.safeTo[maxK] = 2;
    this.safeFrom[maxK + 1] = 2;
    this.start = new Int32Array(CELLS);
    let k = 0;
    for (let c = 0; c < CELLS; c++) {
      while (this.safeFrom[k + 1]! <= c / CELLS) k++;
      this.start[c] = k;
    }
    // a cell whose U span more than 8 safe zones (the last few, where U nears 1) starts a bisection instead
    for (let c = 0; c < CELLS; c++) {
      const next = c + 1 < CELLS ? this.start[c + 1]! : maxK;
      if (next - this.start[c]! > 8) this.start[c] = ~this.start[c]!;
    }
  }

  /** g(u) for a uniform u in [0, 1): the safe zone's k, or g(u) computed in a guard band. */
  at(u: number): number {
    const from = this.safeFrom;
    let k = this.start[(u * CELLS) | 0]!;
    if (k < 0) k = this.search(u, ~k);
    else while (u >= from[k + 1]!) k++;
    return u < this.safeTo[k]! ? k : this.exact(u);
  }

  /** The largest k >= lo with safeFrom[k] <= u (bisection, for the cells near U = 1 that span many k). */
  private search(u: number, lo: number): number {
    let hi = this.safeFrom.length - 1; // safeFrom[hi] = 2 > u
    while (hi - lo > 1) {
      const mid = (lo + hi) >> 1;
      if (this.safeFrom[mid]! <= u) lo = mid;
      else hi = mid;
    }
    return lo;
  }

  /** g(u): the rounded -mean * Math.log1p(-u), exactly as `Math.floor`/`Math.round` of `exponential(mean)`. */
  exact(u: number): number {
    const x = this.negMean * Math.log1p(-u);
    return this.rounding === "floor" ? Math.floor(x) : Math.round(x);
  }

  /** The least U = n / 2^53 with g(U) >= k (bisection over n; g(0) = 0 < k <= g(1 - 2^-53)). */
  private threshold(k: number): number {
    let lo = 0; // g(lo / 2^53) < k
    let hi = 2 ** 53 - 1; // g(hi / 2^53) >= k
    while (hi - lo > 1) {
      const mid = lo + Math.floor((hi - lo) / 2);
      if (this.exact(mid * 2 ** -53) >= k) hi = mid;
      else lo = mid;
    }
    return hi * 2 ** -53;
  }
}

/** All streams of one (seed, run). Streams are created on first use and cached by name. */
export class RandomStreams {
  private readonly streams = new Map<string, RandomStream>();

  /**
   * @param seed the experiment's seed (any integer or string).
   * @param run the replication number; runs of the same seed are independent.
   */
  constructor(
    readonly seed: number | string,
    readonly run = 0,
  ) {}

  /** The stream named `name` (e.g. `"arrivals/ATLA-CHIN"`, `"ecmp-hash"`). */
  stream(name: string): RandomStream {
    let s = this.streams.get(name);
    if (!s) {
      s = new RandomStream(name, JSON.stringify([this.seed, this.run, name]));
      this.streams.set(name, s);
    }
    return s;
  }
}

/** Thrown for an invalid distribution definition. */
export class DistributionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "DistributionError";
  }
}

/** Exponential distribution with the given mean. */
export class Exponential implements Distribution {
  constructor(readonly meanValue: number) {
    if (!(meanValue > 0)) throw new DistributionError(`exponential: mean must be > 0, got ${meanValue}`);
  }
  sample(rng: RandomStream): number {
    return rng.exponential(this.meanValue);
  }
  mean(): number {
    return this.meanValue;
  }
}

/**
 * Empirical CDF given as points (x_i, F_i) with x non-decreasing and F non-decreasing ending at 1; sampled by
 * inverse transform with linear interpolation between points (as the DCTCP/pFabric traffic generators do). If
 * F_0 > 0, the mass F_0 sits at x_0. The mean is that of the piecewise-linear CDF: sum over segments of
 * (F_i - F_{i-1}) (x_{i-1} + x_i) / 2, plus F_0 x_0.
 */
export class EmpiricalCdf implements Distribution {
  readonly x: Float64Array;
  readonly F: Float64Array;
  private readonly meanValue: number;

  constructor(
    points: ReadonlyArray<readonly [number, number]>,
    readonly source = "empirical CDF",
  ) {
    if (points.length === 0) throw new DistributionError(`${source}: no points`);
    this.x = Float64Array.from(points, (p) => p[0]);
    this.F = Float64Array.from(points, (p) => p[1]);
    for (let i = 0; i < points.length; i++) {
      const xi = this.x[i]!;
      const Fi = this.F[i]!;
      if (!Number.isFinite(xi) || xi < 0)
        throw new DistributionError(`${source}: point ${i}: x=${xi} must be >= 0`);
      if (!(Fi >= 0 && Fi <= 1 + 1e-9))
        throw new DistributionError(`${source}: point ${i}: F=${Fi} not in [0, 1]`);
      if (i > 0 && (xi < this.x[i - 1]! || Fi < this.F[i - 1]!)) {
        throw new DistributionError(
          `${source}: point ${i}: (${xi}, ${Fi}) decreases from the previous point`,
        );
      }
    }
    const last = this.F[points.length - 1]!;
    if (Math.abs(last - 1) > 1e-6) throw new DistributionError(`${source}: last F must be 1, got ${last}`);
    this.F[points.length - 1] = 1;
    let m = this.F[0]! * this.x[0]!;
    for (let i = 1; i < points.length; i++) {
      m += (this.F[i]! - this.F[i - 1]!) * (this.x[i - 1]! + this.x[i]!) * 0.5;
    }
    this.meanValue = m;
  }

  /** Inverse CDF at u in [0, 1). */
  quantile(u: number): number {
    const F = this.F;
    const x = this.x;
    if (u <= F[0]!) return x[0]!;
    let lo = 0;
    let hi = F.length - 1;
    while (hi - lo > 1) {
      const mid = (lo + hi) >> 1;
      if (F[mid]! < u) lo = mid;
      else hi = mid;
    }
    const f0 = F[lo]!;
    const f1 = F[hi]!;
    if (f1 === f0) return x[hi]!;
    return x[lo]! + ((u - f0) / (f1 - f0)) * (x[hi]! - x[lo]!);
  }

  sample(rng: RandomStream): number {
    return this.quantile(rng.uniform());
  }

  mean(): number {
    return this.meanValue;
  }
}
