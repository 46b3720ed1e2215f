/**
 * The forward pass of a stacked LSTM (Hochreiter & Schmidhuber 1997, "Long short-term memory", Neural
 * Computation 9(8), with the forget gate of Gers et al. 2000) followed by a dense unit, in plain JS on
 * Float64Arrays, with the weight layout of tfjs/Keras layers. Used for forecasting: one call over P windows of
 * W steps costs about 4P x W x U(F + U + 1) multiply-adds and no allocation, where a tfjs `predict` pays per-op
 * overhead on hundreds of small ops (tens of milliseconds for P = 132 on the wasm backend here).
 *
 * Per layer and step, with x_t the input (F values), h and c the state (U values each, zero at t = 0):
 *   z = x_t K + h R + b                    K: F x 4U, R: U x 4U, b: 4U; gate blocks in the order i, f, c~, o
 *   i = sigma(z_i), f = sigma(z_f), o = sigma(z_o), c = f * c + i * tanh(z_c~), h = o * tanh(c)
 * The next layer reads the sequence of h; the dense layer reads the last h: y_o = h . d_o + e_o, one output o per
 * head (one, or H for a direct multi-horizon model).
 * sigma is the logistic function (the layers are built with `recurrentActivation: "sigmoid"`).
 *
 * sigma and tanh are read from tables by linear interpolation on [-16, 16] in steps of 1/256 (error below 2e-6;
 * outside, the exact functions): a table read costs a few multiply-adds where Math.exp / Math.tanh cost tens, and
 * the 5 activations per unit and step otherwise dominate the forecast's time (5 P W U of them).
 */

/** Weights of one LSTM layer, row-major as tfjs stores them. */
export interface LstmLayerWeights {
  /** F, the input width. */
  inputDim: number;
  /** U, the number of units. */
  units: number;
  /** F x 4U. */
  kernel: Float64Array;
  /** U x 4U. */
  recurrent: Float64Array;
  /** 4U. */
  bias: Float64Array;
}

export interface LstmNetWeights {
  layers: LstmLayerWeights[];
  /**
   * The output layer: kernel U_last x O row-major and O biases (a number: O = 1), O the outputs per window.
   */
  dense: { kernel: Float64Array; bias: number | Float64Array };
}

/** Internal form: kernels transposed to 4U x F and 4U x U, so each gate row is a contiguous dot product. */
interface PreparedLayer {
  F: number;
  U: number;
  kT: Float64Array;
  rT: Float64Array;
  b: Float64Array;
}

/** Windows computed together, so each weight loaded from memory serves this many multiply-adds. */
const BLOCK = 4;

/** A compiled network: call {@link run} for many windows. */
export class LstmForward {
  private readonly layers: PreparedLayer[];
  /** Dense kernel transposed to O x U. */
  private readonly denseK: Float64Array;
  private readonly denseB: Float64Array;
  /** Gate pre-activations of a block: window j, gate g at `z[j * 4U + g]`. */
  private readonly z: Float64Array;
  /** Cell states of a block: window j, unit u at `c[j * U + u]`. */
  private readonly c: Float64Array;
  /** The widest per-step vector (F or any U). */
  private readonly width: number;
  private bufA = new Float64Array(0);
  private bufB = new Float64Array(0);

  constructor(weights: LstmNetWeights) {
    if (weights.layers.length === 0) throw new Error("LstmForward: no LSTM layers");
    this.layers = weights.layers.map((l) => {
      const G = 4 * l.units;
      const kT = new Float64Array(G * l.inputDim);
      const rT = new Float64Array(G * l.units);
      for (let g = 0; g < G; g++) {
        for (let f = 0; f < l.inputDim; f++) kT[g * l.inputDim + f] = l.kernel[f * G + g]!;
        for (let u = 0; u < l.units; u++) rT[g * l.units + u] = l.recurrent[u * G + g]!;
      }
      return { F: l.inputDim, U: l.units, kT, rT, b: Float64Array.from(l.bias) };
    });
    const bias = weights.dense.bias;
    this.denseB = typeof bias === "number" ? Float64Array.of(bias) : Float64Array.from(bias);
    const O = this.denseB.length;
    const lastU = this.layers[this.layers.length - 1]!.U;
    this.denseK = new Float64Array(O * lastU);
    for (let u = 0; u < lastU; u++) {
      for (let o = 0; o < O; o++) this.denseK[o * lastU + u] = weights.dense.kernel[u * O + o]!;
    }
    const maxU = Math.max(...this.layers.map((l) => l.U));
    this.z = new Float64Array(BLOCK * 4 * maxU);
    this.c = new Float64Array(BLOCK * maxU);
    this.width = Math.max(maxU, this.layers[0]!.F);
  }

  /** F, the input width the network expects per step. */
  get inputDim(): number {
    return this.layers[0]!.F;
  }

  /** O, the outputs per window. */
  get outputs(): number {
    return this.denseB.length;
  }

  /**
   * Outputs for `n` windows: `input[(k * W + t) * F + f]` is feature f of step t of window k. Returns n x O
   * values, output o of window k at `k * O + o`.
   */
  run(input: Float64Array, n: number, W: number): Float64Array {
    const O = this.outputs;
    const out = new Float64Array(n * O);
    const F0 = this.inputDim;
    if (input.length < n * W * F0) {
      throw new Error(`LstmForward.run: input has ${input.length} values, expected ${n} x ${W} x ${F0}`);
    }
    const size = BLOCK * W * this.width;
    if (this.bufA.length < size) {
      this.bufA = new Float64Array(size);
      this.bufB = new Float64Array(size);
    }
    const U = this.layers[this.layers.length - 1]!.U;
    for (let k0 = 0; k0 < n; k0 += BLOCK) {
      const nb = Math.min(BLOCK, n - k0);
      let a = this.bufA;
      let b = this.bufB;
      // Window j of the block at a[(j * W + t) * F0 + f]; missing windows of a short last block are zeros.
      a.fill(0, 0, BLOCK * W * F0);
      a.set(input.subarray(k0 * W * F0, (k0 + nb) * W * F0));
      for (const layer of this.layers) {
        this.layerForward(layer, a, b, W);
        const t = a;
        a = b;
        b = t;
      }
      // a now holds the last layer's h sequences; the dense layer reads each window's last step.
      for (let j = 0; j < nb; j++) {
        const last = (j * W + W - 1) * U;
        for (let o = 0; o < O; o++) {
          let y = this.denseB[o]!;
          const ko = o * U;
          for (let u = 0; u < U; u++) y += a[last + u]! * this.denseK[ko + u]!;
          out[(k0 + j) * O + o] = y;
        }
      }
    }
    return out;
  }

  /**
   * Runs one layer over W steps of a block of windows: inputs `xs[(j * W + t) * F + f]`, outputs
   * `hs[(j * W + t) * U + u]`.
   */
  private layerForward(l: PreparedLayer, xs: Float64Array, hs: Float64Array, W: number): void {
    const { F, U, kT, rT, b } = l;
    const G = 4 * U;
    const z = this.z;
    const c = this.c;
    c.fill(0, 0, BLOCK * U);
    // Offsets of window j's step t in xs and hs: (j * W + t) * F and (j * W + t) * U.
    const xj = W * F;
    const hj = W * U;
    for (let t = 0; t < W; t++) {
      const xo = t * F;
      const ho = (t - 1) * U;
      for (let g = 0; g < G; g++) {
        const bg = b[g]!;
        let s0 = bg;
        let s1 = bg;
        let s2 = bg;
        let s3 = bg;
        const ko = g * F;
        for (let f = 0; f < F; f++) {
          const w = kT[ko + f]!;
          s0 += xs[xo + f]! * w;
          s1 += xs[xj + xo + f]! * w;
          s2 += xs[2 * xj + xo + f]! * w;
          s3 += xs[3 * xj + xo + f]! * w;
        }
        if (t > 0) {
          const ro = g * U;
          for (let u = 0; u < U; u++) {
            const w = rT[ro + u]!;
            s0 += hs[ho + u]! * w;
            s1 += hs[hj + ho + u]! * w;
            s2 += hs[2 * hj + ho + u]! * w;
            s3 += hs[3 * hj + ho + u]! * w;
          }
        }
        z[g] = s0;
        z[G + g] = s1;
        z[2 * G + g] = s2;
        z[3 * G + g] = s3;
      }
      for (let j = 0; j < BLOCK; j++) {
        const zo = j * G;
        const co = j * U;
        const out = j * hj + t * U;
        for (let u = 0; u < U; u++) {
          const i = sigmoid(z[zo + u]!);
          const f = sigmoid(z[zo + U + u]!);
          const cc = f * c[co + u]! + i * tanh(z[zo + 2 * U + u]!);
          c[co + u] = cc;
          hs[out + u] = sigmoid(z[zo + 3 * U + u]!) * tanh(cc);
        }
      }
    }
  }
}

const TABLE_RANGE = 16;
const TABLE_STEPS = 256;
const TABLE_SIZE = 2 * TABLE_RANGE * TABLE_STEPS + 1;
/** f at x_i = -16 + i / 256, i = 0 .. 8192. */
const SIGMOID_TABLE = Float64Array.from({ length: TABLE_SIZE }, (_, i) => {
  const x = -TABLE_RANGE + i / TABLE_STEPS;
  return 1 / (1 + Math.exp(-x));
});
const TANH_TABLE = Float64Array.from({ length: TABLE_SIZE }, (_, i) =>
  Math.tanh(-TABLE_RANGE + i / TABLE_STEPS),
);

/** Linear interpolation in `table` at x, or `exact(x)` outside [-16, 16]. */
function interpolate(table: Float64Array, x: number, exact: (x: number) => number): number {
  const u = (x + TABLE_RANGE) * TABLE_STEPS;
  if (!(u >= 0 && u < TABLE_SIZE - 1)) return exact(x);
  const i = u | 0;
  const a = table[i]!;
  return a + (table[i + 1]! - a) * (u - i);
}

const exactSigmoid = (x: number) => 1 / (1 + Math.exp(-x));

/** The logistic function, interpolated (see the module doc). */
export function sigmoid(x: number): number {
  return interpolate(SIGMOID_TABLE, x, exactSigmoid);
}

/** tanh, interpolated (see the module doc). */
export function tanh(x: number): number {
  return interpolate(TANH_TABLE, x, Math.tanh);
}
