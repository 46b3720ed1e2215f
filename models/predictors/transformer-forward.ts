/**
 * The forward pass of the Transformer predictor's network (transformer.ts) in plain JS on Float64Arrays, with the
 * weight layout of tfjs layers. Used for forecasting: a tfjs `predict` of the layers model pays per-layer overhead
 * on ~40 small layers (tens of milliseconds for P = 132 windows on the wasm backend), where this costs about
 * P x W x (F_dense d + 4 d^2 + 2 W d + 4 d^2 + d H) multiply-adds and allocates nothing after the first call.
 *
 * Per window (W rows of F inputs), d = d_model, d_k = d / heads (Vaswani et al. 2017, pre-LN as Xiong et al.
 * 2020):
 *   x = X E + e                                                   input projection (F x d)
 *   per block:  h = LN1(x);  a_h = softmax(h Q_h (h K_h)^T / sqrt(d_k)) h V_h  (rows);  x = x + concat_h(a_h) O + o
 *               g = LN2(x);  x = x + relu(g A + a) B + b
 *   y = flatten(LN_f(x)) Hd + hd                                  W d -> H outputs
 * LN(v) = gamma (v - mean(v)) / sqrt(var(v) + eps) + beta over the d features, eps = 1e-3 (tfjs's default).
 * Kernels are row-major [in, out], as tfjs stores Dense kernels. The softmax's exp is read from a table (relative
 * error below 2e-6; see {@link expNonPositive}).
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

/** A compiled network: call {@link run} for many windows. */
export class TransformerForward {
  readonly window: number;
  readonly inputs: number;
  readonly dModel: number;
  readonly horizon: number;
  private readonly w: TransformerNetWeights;
  private readonly inputLayer: PreparedDense;
  /** Per block: the q, k, v projections of every head fused (outputs q0 k0 v0 q1 k1 v1 ...), out, ff1, ff2. */
  private readonly blockLayers: {
    qkv: PreparedDense;
    out: PreparedDense;
    ff1: PreparedDense;
    ff2: PreparedDense;
  }[];
  private readonly headLayer: PreparedDense;
  // Scratch, one window at a time (W x widths).
  private readonly x: Float64Array;
  private readonly h: Float64Array;
  /** W x 3d: the fused projections. */
  private readonly qkv: Float64Array;
  private readonly cat: Float64Array;
  private readonly tmp: Float64Array;
  private readonly ff: Float64Array;
  private readonly scores: Float64Array;
  private readonly y1: Float64Array;

  constructor(weights: TransformerNetWeights) {
    this.w = weights;
    this.window = weights.window;
    this.inputs = weights.input.inputs;
    this.dModel = weights.input.outputs;
    this.horizon = weights.head.outputs;
    const W = this.window;
    const d = this.dModel;
    this.x = new Float64Array(W * d);
    this.h = new Float64Array(W * d);
    this.qkv = new Float64Array(W * 3 * d);
    this.cat = new Float64Array(W * d);
    this.tmp = new Float64Array(W * d);
    this.ff = new Float64Array(W * 2 * d);
    this.scores = new Float64Array(W);
    this.y1 = new Float64Array(weights.head.outputs);
    this.inputLayer = prepare(weights.input);
    this.blockLayers = weights.blocks.map((b) => ({
      qkv: prepare(...b.heads.flatMap((h) => [h.q, h.k, h.v])),
      out: prepare(b.out),
      ff1: prepare(b.ff1),
      ff2: prepare(b.ff2),
    }));
    this.headLayer = prepare(weights.head);
    if (weights.head.inputs !== W * d) {
      throw new Error(`TransformerForward: head expects ${weights.head.inputs} inputs, not W d = ${W * d}`);
    }
  }

  /**
   * Outputs for `n` windows: `input[(k * W + j) * F + f]` is feature f of row j of window k, whose last W
   * features must be the one-hot of j (as the predictor writes them; they are not read). Returns n x H values,
   * `out[k * H + h]`; writes into `out` when given.
   */
  run(input: Float32Array | Float64Array, n: number, out?: Float32Array): Float32Array {
    const W = this.window;
    const F = this.inputs;
    const H = this.horizon;
    if (input.length < n * W * F) {
      throw new Error(
        `TransformerForward.run: input has ${input.length} values, expected ${n} x ${W} x ${F}`,
      );
    }
    const y = out && out.length >= n * H ? out : new Float32Array(n * H);
    for (let k = 0; k < n; k++) this.window1(input, k * W * F, y, k * H);
    return y;
  }

  /** One window from `input[offset ..]` into `y[yo .. yo + H - 1]`. */
  private window1(input: Float32Array | Float64Array, offset: number, y: Float32Array, yo: number): void {
    const W = this.window;
    const d = this.dModel;
    const { x, h, tmp } = this;
    denseInput(input, offset, W, this.inputLayer, x);
    this.w.blocks.forEach((b, bi) => {
      const layers = this.blockLayers[bi]!;
      layerNorm(x, W, d, b.norm1, h);
      dense(h, 0, W, layers.qkv, this.qkv);
      const heads = b.heads.length;
      for (let i = 0; i < heads; i++) this.attend(d / heads, i, d);
      dense(this.cat, 0, W, layers.out, tmp);
      for (let i = 0; i < W * d; i++) x[i] = x[i]! + tmp[i]!;
      layerNorm(x, W, d, b.norm2, h);
      dense(h, 0, W, layers.ff1, this.ff, true);
      dense(this.ff, 0, W, layers.ff2, tmp);
      for (let i = 0; i < W * d; i++) x[i] = x[i]! + tmp[i]!;
    });
    layerNorm(x, W, d, this.w.finalNorm, h);
    const yt = this.y1;
    dense(h, 0, 1, this.headLayer, yt);
    for (let o = 0; o < this.horizon; o++) y[yo + o] = yt[o]!;
  }

  /**
   * Scaled dot-product attention of head `hi` (d_k wide; its q, k, v at columns 3 hi dk .. of the
   * fused W x 3d projections) into columns hi dk .. of cat.
   */
  private attend(dk: number, hi: number, d: number): void {
    const W = this.window;
    const { qkv, scores, cat } = this;
    const stride = 3 * d;
    const qo = 3 * hi * dk;
    const ko = qo + dk;
    const vo = ko + dk;
    const col = hi * dk;
    const scale = 1 / Math.sqrt(dk);
    for (let i = 0; i < W; i++) {
      let max = Number.NEGATIVE_INFINITY;
      for (let j = 0; j < W; j++) {
        let s = 0;
        for (let c = 0; c < dk; c++) s += qkv[i * stride + qo + c]! * qkv[j * stride + ko + c]!;
        s *= scale;
        scores[j] = s;
        if (s > max) max = s;
      }
      let sum = 0;
      for (let j = 0; j < W; j++) {
        const e = expNonPositive(scores[j]! - max);
        scores[j] = e;
        sum += e;
      }
      for (let c = 0; c < dk; c++) {
        let s = 0;
        for (let j = 0; j < W; j++) s += scores[j]! * qkv[j * stride + vo + c]!;
        cat[i * d + col + c] = s / sum;
      }
    }
  }
}

/** A dense layer prepared for dot products: kernel transposed to [outputs x inputs], bias (zeros when absent). */
interface PreparedDense {
  I: number;
  O: number;
  kT: Float64Array;
  b: Float64Array;
}

/** Transposes a dense layer's kernel (several layers side by side: their outputs concatenated in order). */
function prepare(...layers: DenseWeights[]): PreparedDense {
  const I = layers[0]!.inputs;
  const O = layers.reduce((n, l) => n + l.outputs, 0);
  const kT = new Float64Array(O * I);
  const b = new Float64Array(O);
  let o0 = 0;
  for (const l of layers) {
    if (l.inputs !== I) throw new Error("TransformerForward: fused layers differ in inputs");
    for (let o = 0; o < l.outputs; o++) {
      for (let i = 0; i < I; i++) kT[(o0 + o) * I + i] = l.kernel[i * l.outputs + o]!;
      b[o0 + o] = l.bias ? l.bias[o]! : 0;
    }
    o0 += l.outputs;
  }
  return { I, O, kT, b };
}

/**
 * rows x O = (rows x I) K + b for `a` read from `offset`, four rows at a time (each weight load serves four
 * multiply-adds); `relu` clamps at zero.
 */
function dense(
  a: Float32Array | Float64Array,
  offset: number,
  rows: number,
  l: PreparedDense,
  out: Float64Array,
  relu = false,
): void {
  const { I, O, kT, b } = l;
  let r = 0;
  for (; r + 3 < rows; r += 4) {
    const a0 = offset + r * I;
    const a1 = a0 + I;
    const a2 = a1 + I;
    const a3 = a2 + I;
    for (let o = 0; o < O; o++) {
      let s0 = b[o]!;
      let s1 = s0;
      let s2 = s0;
      let s3 = s0;
      const ko = o * I;
      for (let i = 0; i < I; i++) {
        const w = kT[ko + i]!;
        s0 += a[a0 + i]! * w;
        s1 += a[a1 + i]! * w;
        s2 += a[a2 + i]! * w;
        s3 += a[a3 + i]! * w;
      }
      const ro = r * O + o;
      out[ro] = relu && s0 < 0 ? 0 : s0;
      out[ro + O] = relu && s1 < 0 ? 0 : s1;
      out[ro + 2 * O] = relu && s2 < 0 ? 0 : s2;
      out[ro + 3 * O] = relu && s3 < 0 ? 0 : s3;
    }
  }
  for (; r < rows; r++) {
    const a0 = offset + r * I;
    for (let o = 0; o < O; o++) {
      let s0 = b[o]!;
      const ko = o * I;
      for (let i = 0; i < I; i++) s0 += a[a0 + i]! * kT[ko + i]!;
      out[r * O + o] = relu && s0 < 0 ? 0 : s0;
    }
  }
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

/** Layer normalization of each of `rows` rows of d values of `a` into `out`. */
function layerNorm(a: Float64Array, rows: number, d: number, n: NormWeights, out: Float64Array): void {
  for (let r = 0; r < rows; r++) {
    let mean = 0;
    for (let i = 0; i < d; i++) mean += a[r * d + i]!;
    mean /= d;
    let v = 0;
    for (let i = 0; i < d; i++) v += (a[r * d + i]! - mean) ** 2;
    const inv = 1 / Math.sqrt(v / d + LN_EPSILON);
    for (let i = 0; i < d; i++) out[r * d + i] = n.gamma[i]! * (a[r * d + i]! - mean) * inv + n.beta[i]!;
  }
}
