/**
 * The forward pass of the Transformer predictor's network (transformer.ts) in plain JS on Float64Arrays, with the
 * weight layout of tfjs layers. Used for forecasting: a tfjs `predict` of the layers model pays per-layer overhead
 * on ~40 small layers (tens of milliseconds for P = 132 windows on the wasm backend), where this costs about
 * P x W x (F d + 4 d^2 + 2 W d + 4 d^2) + P x W d x (outputs asked) multiply-adds and allocates nothing after the
 * first call.
 *
 * Per window (W rows of F inputs), d = d_model, d_k = d / heads (Vaswani et al. 2017, pre-LN as Xiong et al.
 * 2020):
 *   x = X E + e                                                   input projection (F x d)
 *   per block:  h = LN1(x);  a_h = softmax(h Q_h (h K_h)^T / sqrt(d_k)) h V_h  (rows);  x = x + concat_h(a_h) O + o
 *               g = LN2(x);  x = x + relu(g A + a) B + b
 *   y = flatten(LN_f(x)) Hd + hd                                  W d -> H outputs
 * LN(v) = gamma (v - mean(v)) / sqrt(var(v) + eps) + beta over the d features, eps = 1e-3 (tfjs's default).
 *
 * Computed as the same algebra rearranged so that every product is one matrix kernel ({@link gemm}: rows x
 * [O x I]^T, four rows by two outputs per step, so each loaded value serves two or four multiply-adds):
 * - each LN's gamma and beta are folded into the layer that reads it (diag(gamma) K and beta K + b), so the LN
 *   itself only standardizes; the attention's 1 / sqrt(d_k) is folded into Q_h;
 * - concat_h(a_h) O = sum_h a_h O_h (O_h: the d_k rows of O for head h), added into x head by head;
 * - scores = (h Q_h)(h K_h)^T and a_h = softmax(scores)(h V_h) are the kernel with (h K_h) and (h V_h)^T as
 *   its [O x I] operand.
 * The softmax's exp is read from a table (relative error below 2e-6; see {@link expNonPositive}). Outputs equal
 * tfjs's `predict` within 1e-5 (test/models/predictors/transformer.test.ts).
 */

/** A dense layer's weights: kernel [inputs x outputs] row-major, bias (absent: zeros). */
export interface DenseWeights {
  inputs: number;
  outputs: number;
  kernel: Float64Array;
  bias?: Float64Array;
}

/** A layer normalization's scale and offset (d each). */
export interface NormWeights {
  gamma: Float64Array;
  beta: Float64Array;
}

export interface EncoderBlockWeights {
  norm1: NormWeights;
  /** Per head: query, key and value projections (d x d_k, no bias). */
  heads: { q: DenseWeights; k: DenseWeights; v: DenseWeights }[];
  /** Output projection of the concatenated heads (d x d). */
  out: DenseWeights;
  norm2: NormWeights;
  /** Feed-forward: d x 2d (relu), then 2d x d. */
  ff1: DenseWeights;
  ff2: DenseWeights;
}

export interface TransformerNetWeights {
  /** W, rows per window. */
  window: number;
  input: DenseWeights;
  blocks: EncoderBlockWeights[];
  finalNorm: NormWeights;
  /** W d -> H. */
  head: DenseWeights;
}

const LN_EPSILON = 1e-3;

/** A dense layer prepared for the kernel: weights transposed to [outputs x inputs], bias (zeros when absent). */
interface PreparedDense {
  I: number;
  O: number;
  kT: Float64Array;
  b: Float64Array;
}

/** One block's layers with the LN scales folded in (module doc). */
interface PreparedBlock {
  /** Per head: q (scaled by 1 / sqrt(d_k)), k and v, each d -> d_k. */
  heads: { q: PreparedDense; k: PreparedDense; v: PreparedDense }[];
  /** Per head: the d_k rows of the output projection (d_k -> d); head 0 carries the bias. */
  out: PreparedDense[];
  ff1: PreparedDense;
  ff2: PreparedDense;
}

/** A compiled network: call {@link run} for many windows. */
export class TransformerForward {
  readonly window: number;
  readonly inputs: number;
  readonly dModel: number;
  readonly horizon: number;
  private readonly inputLayer: PreparedDense;
  private readonly blocks: PreparedBlock[];
  private readonly headLayer: PreparedDense;
  // Scratch, one window at a time.
  /** W x d: the residual stream. */
  private readonly x: Float64Array;
  /** W x d: the standardized stream. */
  private readonly n: Float64Array;
  /** W x d_k each: a head's queries, keys, values, output; d_k x W: the values transposed. */
  private readonly q: Float64Array;
  private readonly k: Float64Array;
  private readonly v: Float64Array;
  private readonly vT: Float64Array;
  private readonly a: Float64Array;
  /** W x W: attention scores, then weights. */
  private readonly scores: Float64Array;
  /** W x 2d: the feed-forward's hidden layer. */
  private readonly ff: Float64Array;
  private readonly y1: Float64Array;

  constructor(weights: TransformerNetWeights) {
    this.window = weights.window;
    this.inputs = weights.input.inputs;
    this.dModel = weights.input.outputs;
    this.horizon = weights.head.outputs;
    const W = this.window;
    const d = this.dModel;
    if (weights.head.inputs !== W * d) {
      throw new Error(`TransformerForward: head expects ${weights.head.inputs} inputs, not W d = ${W * d}`);
    }
    const dk = d / Math.max(1, weights.blocks[0]?.heads.length ?? 1);
    this.x = new Float64Array(W * d);
    this.n = new Float64Array(W * d);
    this.q = new Float64Array(W * dk);
    this.k = new Float64Array(W * dk);
    this.v = new Float64Array(W * dk);
    this.vT = new Float64Array(W * dk);
    this.a = new Float64Array(W * dk);
    this.scores = new Float64Array(W * W);
    this.ff = new Float64Array(W * 2 * d);
    this.y1 = new Float64Array(weights.head.outputs);
    this.inputLayer = prepare(weights.input);
    this.blocks = weights.blocks.map(prepareBlock);
    this.headLayer = prepare(weights.head, repeatNorm(weights.finalNorm, W));
  }

  /**
   * Outputs for `n` windows: `input[(k * W + j) * F + f]` is feature f of row j of window k, whose last W
   * features must be the one-hot of j (as the predictor writes them; they are not read). Returns n x H values,
   * `out[k * H + h]`, of which only h < `outputs` (default H) are computed (the others are left as they were);
   * writes into `out` when given.
   */
  run(
    input: Float32Array | Float64Array,
    n: number,
    out?: Float32Array,
    outputs = this.horizon,
  ): Float32Array {
    const W = this.window;
    const F = this.inputs;
    const H = this.horizon;
    if (input.length < n * W * F) {
      throw new Error(
        `TransformerForward.run: input has ${input.length} values, expected ${n} x ${W} x ${F}`,
      );
    }
    if (!(Number.isInteger(outputs) && outputs >= 1 && outputs <= H)) {
      throw new Error(`TransformerForward.run: outputs must be an integer in [1, ${H}], got ${outputs}`);
    }
    const y = out && out.length >= n * H ? out : new Float32Array(n * H);
    for (let k = 0; k < n; k++) this.window1(input, k * W * F, y, k * H, outputs);
    return y;
  }

  /** One window from `input[offset ..]` into `y[yo .. yo + outputs - 1]`. */
  private window1(
    input: Float32Array | Float64Array,
    offset: number,
    y: Float32Array,
    yo: number,
    outputs: number,
  ): void {
    const W = this.window;
    const d = this.dModel;
    const { x, n } = this;
    denseInput(input, offset, W, this.inputLayer, x);
    for (const b of this.blocks) {
      standardize(x, W, d, n);
      for (let hi = 0; hi < b.heads.length; hi++) this.attend(b.heads[hi]!, b.out[hi]!);
      standardize(x, W, d, n);
      gemm(n, W, b.ff1, this.ff, false, true);
      gemm(this.ff, W, b.ff2, x, true, false);
    }
    standardize(x, W, d, n);
    const head = this.headLayer;
    gemm(n, 1, { I: head.I, O: outputs, kT: head.kT, b: head.b }, this.y1, false, false);
    for (let o = 0; o < outputs; o++) y[yo + o] = this.y1[o]!;
  }

  /** One head's scaled dot-product attention over the standardized stream, its output projection added to x. */
  private attend(head: PreparedBlock["heads"][number], out: PreparedDense): void {
    const W = this.window;
    const { n, q, k, v, vT, a, scores } = this;
    const dk = head.q.O;
    gemm(n, W, head.q, q, false, false);
    gemm(n, W, head.k, k, false, false);
    gemm(n, W, head.v, v, false, false);
    for (let j = 0; j < W; j++) for (let c = 0; c < dk; c++) vT[c * W + j] = v[j * dk + c]!;
    gemm(q, W, { I: dk, O: W, kT: k, b: ZEROS.subarray(0, W) }, scores, false, false);
    softmaxRows(scores, W);
    gemm(scores, W, { I: W, O: dk, kT: vT, b: ZEROS.subarray(0, dk) }, a, false, false);
    gemm(a, W, out, this.x, true, false);
  }
}

/** Zeros for the bias of the attention's products (their widths are W and d_k). */
const ZEROS = new Float64Array(4096);

/** A block with LN1 folded into the heads' projections (and 1 / sqrt(d_k) into q), LN2 into ff1. */
function prepareBlock(b: EncoderBlockWeights): PreparedBlock {
  const heads = b.heads.length;
  const dk = b.out.inputs / heads;
  if (dk > ZEROS.length) throw new Error(`TransformerForward: d_k ${dk} is above ${ZEROS.length}`);
  const scale = 1 / Math.sqrt(dk);
  return {
    heads: b.heads.map((h) => ({
      q: prepare(h.q, b.norm1, scale),
      k: prepare(h.k, b.norm1),
      v: prepare(h.v, b.norm1),
    })),
    out: Array.from({ length: heads }, (_, hi) => {
      const rows = b.out.kernel.subarray(hi * dk * b.out.outputs, (hi + 1) * dk * b.out.outputs);
      return prepare({
        inputs: dk,
        outputs: b.out.outputs,
        kernel: rows,
        ...(hi === 0 && b.out.bias ? { bias: b.out.bias } : {}),
      });
    }),
    ff1: prepare(b.ff1, b.norm2),
    ff2: prepare(b.ff2),
  };
}

/** A norm's gamma and beta repeated `times` times (the final LN seen by the head over the flattened rows). */
function repeatNorm(norm: NormWeights, times: number): NormWeights {
  const d = norm.gamma.length;
  const gamma = new Float64Array(d * times);
  const beta = new Float64Array(d * times);
  for (let t = 0; t < times; t++) {
    gamma.set(norm.gamma, t * d);
    beta.set(norm.beta, t * d);
  }
  return { gamma, beta };
}

/**
 * A dense layer transposed for {@link gemm}, reading LN(v) = gamma v + beta when `norm` is given (kernel
 * rows scaled by gamma, beta K added to the bias), all of it scaled by `scale`.
 */
function prepare(l: DenseWeights, norm?: NormWeights, scale = 1): PreparedDense {
  const { inputs: I, outputs: O } = l;
  if (norm && norm.gamma.length !== I) {
    throw new Error(`TransformerForward: a norm of ${norm.gamma.length} features feeds ${I} inputs`);
  }
  const kT = new Float64Array(O * I);
  const b = new Float64Array(O);
  for (let o = 0; o < O; o++) {
    let bias = l.bias ? l.bias[o]! : 0;
    for (let i = 0; i < I; i++) {
      const w = l.kernel[i * O + o]!;
      kT[o * I + i] = scale * (norm ? norm.gamma[i]! * w : w);
      if (norm) bias += norm.beta[i]! * w;
    }
    b[o] = scale * bias;
  }
  return { I, O, kT, b };
}

/**
 * out[r O + o] = b[o] + sum_i a[r I + i] kT[o I + i] for r < rows, o < O (`accumulate`: added to out; `relu`:
 * clamped at zero, not with accumulate), four rows by two outputs at a time: eight running sums per step, each
 * loaded input serving two multiply-adds and each loaded weight four.
 */
function gemm(
  a: Float64Array,
  rows: number,
  l: PreparedDense,
  out: Float64Array,
  accumulate: boolean,
  relu: boolean,
): void {
  const { I, O, kT, b } = l;
  let r = 0;
  for (; r + 3 < rows; r += 4) {
    const a0 = r * I;
    const a1 = a0 + I;
    const a2 = a1 + I;
    const a3 = a2 + I;
    let o = 0;
    for (; o + 1 < O; o += 2) {
      const k0 = o * I;
      const k1 = k0 + I;
      let s00 = b[o]!;
      let s01 = b[o + 1]!;
      let s10 = s00;
      let s11 = s01;
      let s20 = s00;
      let s21 = s01;
      let s30 = s00;
      let s31 = s01;
      for (let i = 0; i < I; i++) {
        const w0 = kT[k0 + i]!;
        const w1 = kT[k1 + i]!;
        const x0 = a[a0 + i]!;
        const x1 = a[a1 + i]!;
        const x2 = a[a2 + i]!;
        const x3 = a[a3 + i]!;
        s00 += x0 * w0;
        s01 += x0 * w1;
        s10 += x1 * w0;
        s11 += x1 * w1;
        s20 += x2 * w0;
        s21 += x2 * w1;
        s30 += x3 * w0;
        s31 += x3 * w1;
      }
      store(out, r * O + o, s00, accumulate, relu);
      store(out, r * O + o + 1, s01, accumulate, relu);
      store(out, (r + 1) * O + o, s10, accumulate, relu);
      store(out, (r + 1) * O + o + 1, s11, accumulate, relu);
      store(out, (r + 2) * O + o, s20, accumulate, relu);
      store(out, (r + 2) * O + o + 1, s21, accumulate, relu);
      store(out, (r + 3) * O + o, s30, accumulate, relu);
      store(out, (r + 3) * O + o + 1, s31, accumulate, relu);
    }
    for (; o < O; o++) {
      for (let rr = r; rr < r + 4; rr++)
        store(out, rr * O + o, dot(a, rr * I, kT, o * I, I, b[o]!), accumulate, relu);
    }
  }
  for (; r < rows; r++) {
    for (let o = 0; o < O; o++) store(out, r * O + o, dot(a, r * I, kT, o * I, I, b[o]!), accumulate, relu);
  }
}

/** s + sum_i a[ao + i] k[ko + i] for i < I, two running sums. */
function dot(a: Float64Array, ao: number, k: Float64Array, ko: number, I: number, s: number): number {
  let s0 = s;
  let s1 = 0;
  let i = 0;
  for (; i + 1 < I; i += 2) {
    s0 += a[ao + i]! * k[ko + i]!;
    s1 += a[ao + i + 1]! * k[ko + i + 1]!;
  }
  if (i < I) s0 += a[ao + i]! * k[ko + i]!;
  return s0 + s1;
}

function store(out: Float64Array, i: number, s: number, accumulate: boolean, relu: boolean): void {
  if (accumulate) out[i] = out[i]! + s;
  else out[i] = relu && s < 0 ? 0 : s;
}

/**
 * The input projection when each row's last W inputs are the one-hot of its position (as the predictor writes
 * them): the first I - W inputs by dot products, the position by adding its kernel row.
 */
function denseInput(
  a: Float32Array | Float64Array,
  offset: number,
  W: number,
  l: PreparedDense,
  out: Float64Array,
): void {
  const { I, O, kT, b } = l;
  const dense = I - W;
  for (let r = 0; r < W; r++) {
    const a0 = offset + r * I;
    for (let o = 0; o < O; o++) {
      const ko = o * I;
      let s = b[o]! + kT[ko + dense + r]!;
      for (let i = 0; i < dense; i++) s += a[a0 + i]! * kT[ko + i]!;
      out[r * O + o] = s;
    }
  }
}

/** Each of the W rows of `s` (W x W) replaced by its softmax. */
function softmaxRows(s: Float64Array, W: number): void {
  for (let i = 0; i < W; i++) {
    const o = i * W;
    let max = Number.NEGATIVE_INFINITY;
    for (let j = 0; j < W; j++) if (s[o + j]! > max) max = s[o + j]!;
    let sum = 0;
    for (let j = 0; j < W; j++) {
      const e = expNonPositive(s[o + j]! - max);
      s[o + j] = e;
      sum += e;
    }
    const inv = 1 / sum;
    for (let j = 0; j < W; j++) s[o + j] = s[o + j]! * inv;
  }
}

const EXP_RANGE = 16;
const EXP_STEPS = 256;
/** exp at x_i = -16 + i / 256, i = 0 .. 4096. */
const EXP_TABLE = Float64Array.from({ length: EXP_RANGE * EXP_STEPS + 1 }, (_, i) =>
  Math.exp(-EXP_RANGE + i / EXP_STEPS),
);

/**
 * exp(x) for x <= 0 (softmax after subtracting the maximum) by linear interpolation in a table on [-16, 0]
 * (relative error below 2e-6), exact below -16.
 */
export function expNonPositive(x: number): number {
  const u = (x + EXP_RANGE) * EXP_STEPS;
  if (!(u >= 0 && u < EXP_RANGE * EXP_STEPS)) return Math.exp(x);
  const i = u | 0;
  const a = EXP_TABLE[i]!;
  return a + (EXP_TABLE[i + 1]! - a) * (u - i);
}

/** Each of `rows` rows of d values of `a` standardized, (v - mean(v)) / sqrt(var(v) + eps), into `out`. */
function standardize(a: Float64Array, rows: number, d: number, out: Float64Array): void {
  for (let r = 0; r < rows; r++) {
    const o = r * d;
    let mean = 0;
    for (let i = 0; i < d; i++) mean += a[o + i]!;
    mean /= d;
    let v = 0;
    for (let i = 0; i < d; i++) {
      const c = a[o + i]! - mean;
      out[o + i] = c;
      v += c * c;
    }
    const inv = 1 / Math.sqrt(v / d + LN_EPSILON);
    for (let i = 0; i < d; i++) out[o + i] = out[o + i]! * inv;
  }
}
