/**
 * Flow-size CDF files, as the datacenter-transport literature publishes them.
 *
 * Accepted text format: one point per line, `size cdf`, separated by spaces, tabs or a comma; `#` comments and
 * blank lines ignored; a non-numeric first line (a CSV header) is skipped. The CDF column may be a fraction (0-1)
 * or a percentage (0-100): a last value above 1.5 means percent. Sizes are bytes unless `sizeUnitBytes` says
 * otherwise (Homa's DCTCP files count 1460-byte packets).
 *
 * Bundled: `websearch` = DCTCP web search (Alizadeh et al., "Data Center TCP (DCTCP)", SIGCOMM 2010), from the
 * HKUST SING TrafficGenerator's `conf/DCTCP_CDF.txt` (see data/flow-sizes/SOURCES.md).
 */
import { readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { DistributionError, EmpiricalCdf } from "../../sim/kernel/rng.ts";

/** Directory of the flow-size CDFs shipped with topocast. */
export const BUNDLED_FLOW_SIZES_DIR = resolve(
  dirname(fileURLToPath(import.meta.url)),
  "../../data/flow-sizes",
);

/** Names of the bundled CDFs, mapped to their files. */
export const BUNDLED_FLOW_SIZE_CDFS: Readonly<Record<string, string>> = Object.freeze({
  websearch: "websearch.txt",
});

export interface CdfParseOptions {
  /** Multiply sizes by this many bytes (e.g. 1460 for files in packets). Default 1. */
  sizeUnitBytes?: number;
}

/**
 * Parses CDF text into an {@link EmpiricalCdf} over bytes.
 * @throws DistributionError naming `source` and the line at fault.
 */
export function parseFlowSizeCdf(text: string, source: string, opts: CdfParseOptions = {}): EmpiricalCdf {
  const unit = opts.sizeUnitBytes ?? 1;
  const points: [number, number][] = [];
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.replace(/#.*/, "").trim();
    if (line === "") continue;
    const cols = line.split(/[\s,;]+/);
    const x = Number(cols[0]);
    const F = Number(cols[1]);
    if (cols.length < 2 || !Number.isFinite(x) || !Number.isFinite(F)) {
      if (points.length === 0 && i === lines.findIndex((l) => l.trim() !== "")) continue; // header
      throw new DistributionError(`${source}:${i + 1}: expected "size cdf", got ${JSON.stringify(lines[i])}`);
    }
    points.push([x * unit, F]);
  }
  if (points.length === 0) throw new DistributionError(`${source}: no CDF points`);
  const scale = points[points.length - 1]![1] > 1.5 ? 0.01 : 1;
  return new EmpiricalCdf(
    points.map(([x, F]) => [x, F * scale] as [number, number]),
    source,
  );
}

/** Reads a CDF file (see {@link parseFlowSizeCdf}). */
export function readFlowSizeCdf(path: string, opts: CdfParseOptions = {}): EmpiricalCdf {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    throw new DistributionError(`${path}: cannot read flow-size CDF (${(e as Error).message})`);
  }
  return parseFlowSizeCdf(text, path, opts);
}

/** A bundled CDF by name (see {@link BUNDLED_FLOW_SIZE_CDFS}). */
export function bundledFlowSizeCdf(name: string): EmpiricalCdf {
  const file = BUNDLED_FLOW_SIZE_CDFS[name];
  if (!file) {
    throw new DistributionError(
      `unknown flow-size CDF "${name}"; bundled: ${Object.keys(BUNDLED_FLOW_SIZE_CDFS).join(", ")}`,
    );
  }
  return readFlowSizeCdf(resolve(BUNDLED_FLOW_SIZES_DIR, file));
}
