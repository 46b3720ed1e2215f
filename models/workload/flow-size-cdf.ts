/**
 * Flow-size CDF files, as the datacenter-transport literature publishes them, read into a {@link FlowSizeCdf}
 * over bytes.
 *
 * Text layout: one point per line, `size cdf`, separated by spaces, tabs, a comma or a semicolon; `#` comments and
 * blank lines ignored; a first line that is not numeric is a header. The loader recognises the formats of the
 * files in shared/data/flow-size-distributions (see SOURCES.md section 4):
 *
 * | format | example | how it is recognised | what the loader does |
 * |---|---|---|---|
 * | pairs, bytes | HKUST `DCTCP_CDF.txt`, opera `datamining.csv` | default | linear interpolation |
 * | percent CDF | HPCC `WebSearch_distribution.txt` | last CDF value > 1.5 | divides the CDF by 100 |
 * | Homa | `Facebook_HadoopDist_All.txt` | first line is one number (the mean) | step CDF (below); checks the mean |
 * | Homa, packets | `DCTCP_MsgSizeDist.txt` | file name starts with `DCTCP_MsgSizeDist` | sizes x 1460 B |
 * | parsimon extract | `webserver-all-extract.csv` | file name ends with `-extract.csv` | KB -> bytes, cleaned (below) |
 *
 * Options override every detection: `sizeUnit` (`bytes`, `KB` = 1000 B, `packets` = `packetBytes`, default
 * 1460 B), `sizeUnitBytes` (any multiplier), `cdfScale`, `interpolation`, `digitized`. A header mentioning `KB`,
 * `packet`/`pkt` or `byte` also sets the unit.
 *
 * Interpolation. `linear`: sizes between two points are drawn uniformly (inverse transform with linear
 * interpolation, as the DCTCP/pFabric/HPCC traffic generators do; mean = sum of segment midpoints x segment
 * probabilities). `step`: only the listed sizes occur, size x_i with probability F_i - F_{i-1} (what Homa's
 * simulator draws; the mean on the first line of Homa's files is this step mean, which the loader checks to 1%).
 *
 * Digitized curves (parsimon-eval's `*-extract.csv`, points read off the plots of Roy et al. 2015, x in KB): the
 * loader cleans them the way parsimon-eval made its `.txt` files from them: sizes x 1000 rounded to whole bytes,
 * CDF values above 1 (digitizing noise, up to 1.01) clipped to 1, a point (0, 0) prepended when the curve starts
 * above 0, and the last CDF value (>= 0.99) set to 1. Every change is listed in `format.adjustments`.
 *
 * Bundled (files in data/flow-sizes/, origins and commits in data/flow-sizes/SOURCES.md):
 * - `websearch`: web search, M. Alizadeh et al., "Data Center TCP (DCTCP)", SIGCOMM 2010 (HKUST TrafficGenerator).
 * - `datamining`: data mining, A. Greenberg et al., "VL2: A Scalable and Flexible Data Center Network",
 *   SIGCOMM 2009, as used by pFabric (SIGCOMM 2013) (HKUST TrafficGenerator `VL2_CDF.txt`).
 * - `fb-hadoop`, `fb-webserver`, `fb-cache`: Facebook Hadoop (all traffic), Web server and Cache follower
 *   (intra-cluster), A. Roy et al., "Inside the Social Network's (Datacenter) Network", SIGCOMM 2015 (Homa
 *   simulator's `sizeDistributions/`; step CDFs with their published means).
 */
import { readFileSync } from "node:fs";
import { basename, dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import {
  type Distribution,
  DistributionError,
  EmpiricalCdf,
  type RandomStream,
} from "../../sim/kernel/rng.ts";

/** Directory of the flow-size CDFs shipped with topocast. */
export const BUNDLED_FLOW_SIZES_DIR = resolve(
  dirname(fileURLToPath(import.meta.url)),
  "../../data/flow-sizes",
);

/** Names of the bundled CDFs, mapped to their files (see the module comment for the papers). */
export const BUNDLED_FLOW_SIZE_CDFS: Readonly<Record<string, string>> = Object.freeze({
  websearch: "websearch.txt",
  datamining: "datamining.txt",
  "fb-hadoop": "fb-hadoop.txt",
  "fb-webserver": "fb-webserver.txt",
  "fb-cache": "fb-cache.txt",
});

/** Bytes per packet in Homa's packet-unit files (its `adjustLoadFac.py` multiplies by 1460). */
export const HOMA_PACKET_BYTES = 1460;

export type CdfInterpolation = "linear" | "step";
export type SizeUnit = "bytes" | "KB" | "packets";

export interface CdfParseOptions {
  /** Multiply sizes by this many bytes (e.g. 1460 for files in packets); overrides `sizeUnit`. */
  sizeUnitBytes?: number;
  /** Unit of the size column; default detected (see the module comment). */
  sizeUnit?: SizeUnit;
  /** Bytes per packet for `sizeUnit: "packets"`. @default 1460 */
  packetBytes?: number;
  /** Whether the CDF column is a fraction (0-1) or a percentage (0-100); default detected. */
  cdfScale?: "fraction" | "percent";
  /** Default `step` for Homa files (first line = mean), else `linear`. */
  interpolation?: CdfInterpolation;
  /** Clean a digitized curve (see the module comment); default true for `*-extract.csv`. */
  digitized?: boolean;
}

/** What the loader found and did. */
export interface FlowSizeCdfFormat {
  sizeUnit: SizeUnit | "custom";
  /** Bytes per size unit of the file. */
  sizeUnitBytes: number;
  cdfScale: "fraction" | "percent";
  interpolation: CdfInterpolation;
  /** Homa's first-line mean, converted to bytes; undefined for other formats. */
  statedMeanBytes: number | undefined;
  digitized: boolean;
  /** Human-readable notes of every change made to the points (clipping, prepended or adjusted points). */
  adjustments: string[];
}

/**
 * A flow-size distribution over bytes given by CDF points (x_i, F_i), x non-decreasing, F non-decreasing to 1.
 * Sampled by inverse transform, one uniform draw per sample; see the module comment for the two interpolations.
 */
export class FlowSizeCdf implements Distribution {
  /** Sizes, bytes. */
  readonly x: Float64Array;
  /** CDF values, fractions ending at 1. */
  readonly F: Float64Array;
  private readonly linear: EmpiricalCdf;
  private readonly meanBytes: number;

  constructor(
    points: ReadonlyArray<readonly [number, number]>,
    readonly interpolation: CdfInterpolation,
    readonly source: string,
    readonly format?: FlowSizeCdfFormat,
  ) {
    this.linear = new EmpiricalCdf(points, source); // validates the points
    this.x = this.linear.x;
    this.F = this.linear.F;
    if (interpolation === "linear") {
      this.meanBytes = this.linear.mean();
    } else {
      let m = this.F[0]! * this.x[0]!;
      for (let i = 1; i < this.x.length; i++) m += (this.F[i]! - this.F[i - 1]!) * this.x[i]!;
      this.meanBytes = m;
    }
  }

  /** Inverse CDF at u in [0, 1): linear interpolation, or the smallest x_i with F_i > u for `step`. */
  quantile(u: number): number {
    if (this.interpolation === "linear") return this.linear.quantile(u);
    const F = this.F;
    let lo = 0;
    let hi = F.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (F[mid]! > u) hi = mid;
      else lo = mid + 1;
    }
    return this.x[lo]!;
  }

  sample(rng: RandomStream): number {
    return this.quantile(rng.uniform());
  }

  /** Mean size, bytes. */
  mean(): number {
    return this.meanBytes;
  }
}

interface RawPoint {
  x: number;
  F: number;
  line: number;
}

/**
 * Parses CDF text (see the module comment for the formats). `source` is usually the file path; its base name
 * drives the name-based detection.
 * @throws DistributionError naming `source` and the line at fault: a malformed line, no points, a decreasing size
 *   or CDF value, a CDF that does not end at 1 (a truncated file), or a Homa mean that disagrees with the points.
 */
export function parseFlowSizeCdf(text: string, source: string, opts: CdfParseOptions = {}): FlowSizeCdf {
  const lines = text.split(/\r?\n/);
  const raw: RawPoint[] = [];
  let header: string | undefined;
  let statedMean: number | undefined;
  let first = true;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.replace(/#.*/, "").trim();
    if (line === "") continue;
    const cols = line.split(/[\s,;]+/);
    const nums = cols.map(Number);
    const wasFirst = first;
    first = false;
    if (wasFirst && cols.length === 1 && Number.isFinite(nums[0]) && nums[0]! > 0) {
      statedMean = nums[0]!; // Homa: the first line is the mean size
      continue;
    }
    if (cols.length !== 2 || !Number.isFinite(nums[0]) || !Number.isFinite(nums[1])) {
      if (wasFirst && !nums.every(Number.isFinite)) {
        header = line;
        continue;
      }
      throw new DistributionError(`${source}:${i + 1}: expected "size cdf", got ${JSON.stringify(lines[i])}`);
    }
    raw.push({ x: nums[0]!, F: nums[1]!, line: i + 1 });
  }
  if (raw.length === 0) throw new DistributionError(`${source}: no CDF points`);

  const name = basename(source);
  const adjustments: string[] = [];
  const digitized = opts.digitized ?? /-extract\.csv$/i.test(name);
  let sizeUnit: SizeUnit | "custom" = opts.sizeUnit ?? detectUnit(header, name, digitized);
  let unitBytes =
    sizeUnit === "KB" ? 1000 : sizeUnit === "packets" ? (opts.packetBytes ?? HOMA_PACKET_BYTES) : 1;
  if (opts.sizeUnitBytes !== undefined) {
    if (!(opts.sizeUnitBytes > 0)) {
      throw new DistributionError(`${source}: sizeUnitBytes must be > 0, got ${opts.sizeUnitBytes}`);
    }
    unitBytes = opts.sizeUnitBytes;
    sizeUnit = unitBytes === 1 ? "bytes" : "custom";
  }
  if (!(unitBytes > 0)) throw new DistributionError(`${source}: packetBytes must be > 0, got ${unitBytes}`);
  const last = raw[raw.length - 1]!;
  const cdfScale = opts.cdfScale ?? (last.F > 1.5 ? "percent" : "fraction");
  const fScale = cdfScale === "percent" ? 0.01 : 1;

  let pts = raw.map((p) => ({ ...p, x: p.x * unitBytes, F: p.F * fScale }));
  if (digitized) pts = cleanDigitized(pts, source, adjustments);
  for (let k = 0; k < pts.length; k++) {
    const p = pts[k]!;
    const at = p.line > 0 ? `${source}:${p.line}` : source;
    if (!(p.x >= 0)) throw new DistributionError(`${at}: size must be >= 0, got ${p.x / unitBytes}`);
    if (!(p.F >= 0 && p.F <= 1 + 1e-9)) {
      throw new DistributionError(
        `${at}: CDF value ${p.F / fScale} is outside [0, ${cdfScale === "percent" ? 100 : 1}]`,
      );
    }
    const prev = pts[k - 1];
    if (prev && (p.x < prev.x || p.F < prev.F)) {
      throw new DistributionError(
        `${at}: point (${p.x / unitBytes}, ${p.F / fScale}) decreases from the previous point (${prev.x / unitBytes}, ${prev.F / fScale})`,
      );
    }
  }
  const end = pts[pts.length - 1]!;
  if (Math.abs(end.F - 1) > 1e-6) {
    throw new DistributionError(
      `${source}:${end.line}: the CDF ends at ${end.F / fScale}, expected ${cdfScale === "percent" ? 100 : 1} (is the file truncated?)`,
    );
  }
  const interpolation = opts.interpolation ?? (statedMean !== undefined ? "step" : "linear");
  const statedMeanBytes = statedMean === undefined ? undefined : statedMean * unitBytes;
  const cdf = new FlowSizeCdf(
    pts.map((p) => [p.x, p.F] as [number, number]),
    interpolation,
    source,
    { sizeUnit, sizeUnitBytes: unitBytes, cdfScale, interpolation, statedMeanBytes, digitized, adjustments },
  );
  if (statedMeanBytes !== undefined && opts.interpolation === undefined) {
    const rel = Math.abs(cdf.mean() - statedMeanBytes) / statedMeanBytes;
    if (rel > 0.01) {
      throw new DistributionError(
        `${source}:1: stated mean ${statedMean} differs by ${(rel * 100).toFixed(1)}% from the ${interpolation} ` +
          `mean of the points (${cdf.mean() / unitBytes}); check the size unit or pass interpolation`,
      );
    }
  }
  return cdf;
}

function detectUnit(header: string | undefined, name: string, digitized: boolean): SizeUnit {
  if (header !== undefined) {
    if (/\bkb\b|kbytes|kilobyte|_kb\b/i.test(header)) return "KB";
    if (/packet|pkt/i.test(header)) return "packets";
    if (/byte/i.test(header)) return "bytes";
  }
  if (/^DCTCP_MsgSizeDist/.test(name)) return "packets";
  if (digitized) return "KB";
  return "bytes";
}

/** parsimon-eval's cleaning of a digitized curve (see the module comment). */
function cleanDigitized(pts: RawPoint[], source: string, adjustments: string[]): RawPoint[] {
  const out = pts.map((p) => ({ ...p, x: Math.round(p.x) }));
  let clipped = 0;
  for (const p of out) {
    if (p.F > 1 && p.F <= 1.01) {
      p.F = 1;
      clipped++;
    }
  }
  if (clipped > 0) adjustments.push(`clipped ${clipped} CDF value(s) slightly above 1 to 1`);
  if (out[0]!.F > 0) {
    out.unshift({ x: 0, F: 0, line: 0 });
    adjustments.push("prepended the point (0, 0)");
  }
  const end = out[out.length - 1]!;
  if (end.F < 1 && end.F >= 0.99) {
    adjustments.push(`set the last CDF value ${end.F} (line ${end.line}) to 1`);
    end.F = 1;
  } else if (end.F < 1) {
    throw new DistributionError(`${source}:${end.line}: digitized curve ends at ${end.F}, below 0.99`);
  }
  return out;
}

/** Reads a CDF file (see {@link parseFlowSizeCdf}). */
export function readFlowSizeCdf(path: string, opts: CdfParseOptions = {}): FlowSizeCdf {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    throw new DistributionError(`${path}: cannot read flow-size CDF (${(e as Error).message})`);
  }
  return parseFlowSizeCdf(text, path, opts);
}

/** A bundled CDF by name (see {@link BUNDLED_FLOW_SIZE_CDFS}). */
export function bundledFlowSizeCdf(name: string): FlowSizeCdf {
  const file = Object.hasOwn(BUNDLED_FLOW_SIZE_CDFS, name) ? BUNDLED_FLOW_SIZE_CDFS[name] : undefined;
  if (!file) {
    throw new DistributionError(
      `unknown flow-size CDF "${name}"; bundled: ${Object.keys(BUNDLED_FLOW_SIZE_CDFS).join(", ")}`,
    );
  }
  return readFlowSizeCdf(resolve(BUNDLED_FLOW_SIZES_DIR, file));
}
