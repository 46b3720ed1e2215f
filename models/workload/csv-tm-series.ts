/**
 * Reader of traffic-matrix series in CSV, for users' own measurements:
 *
 * ```csv
 * time_s,src,dst,rate_bps
 * 0,A,B,1.5e6
 * 0,B,A,2e5
 * 300,A,B,1.2e6
 * ```
 * - A header naming the four columns is required; they may come in any order, and no other column is allowed.
 * - `time_s` is the start of the interval in seconds (any origin; the series starts at the smallest time),
 *   `src`/`dst` are node ids, `rate_bps` the average rate over the interval in bits/s (>= 0).
 * - Rows may come in any order. A pair without a row in an interval has rate 0.
 * - The interval is the spacing of the distinct times, which must be even; a time that breaks the spacing is an
 *   error naming its line. When whole intervals may have no rows (all pairs zero), give `intervalS`: times must
 *   then be multiples of it from the first time, and intervals without rows are all-zero matrices.
 * - Fields are separated by commas; surrounding spaces and double quotes are removed; `#` lines and blank lines
 *   are skipped. Node ids are the sorted union of `src` and `dst`.
 * - Times are rounded to whole nanoseconds.
 */
import { readFileSync } from "node:fs";
import { quote, WorkloadError } from "./errors.ts";
import type { TrafficMatrixSeries } from "./tm-series.ts";
import { buildSeries, compareIds } from "./tm-series-build.ts";

export interface CsvSeriesOptions {
  /** Interval length in seconds; default: inferred from the spacing of the distinct times. */
  intervalS?: number;
}

const COLUMNS = ["time_s", "src", "dst", "rate_bps"] as const;

interface Row {
  line: number;
  timeNs: number;
  src: string;
  dst: string;
  rate: number;
}

/** Reads a CSV series file (see the module comment). @throws WorkloadError naming the file and line. */
export function readCsvTmSeries(path: string, opts: CsvSeriesOptions = {}): TrafficMatrixSeries {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    throw new WorkloadError(`${path}: cannot read file (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
  }
  return parseCsvTmSeries(text, path, opts);
}

/**
 * Parses CSV series text; `source` (a file name) starts every error, as `source:line: column: ...`.
 * @throws WorkloadError for a missing or wrong header, a row with the wrong number of fields, a bad time, empty
 *   node id, self-pair or bad rate, a pair given twice for one time, uneven time spacing, or no rows.
 */
export function parseCsvTmSeries(
  text: string,
  source: string,
  opts: CsvSeriesOptions = {},
): TrafficMatrixSeries {
  const lines = text.split(/\r?\n/);
  let col: Record<(typeof COLUMNS)[number], number> | undefined;
  const rows: Row[] = [];
  const lineOfKey = new Map<string, number>();
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i]!.trim();
    if (raw === "" || raw.startsWith("#")) continue;
    const where = `${source}:${i + 1}`;
    const fields = raw.split(",").map((f) =>
      f
        .trim()
        .replace(/^"(.*)"$/, "$1")
        .trim(),
    );
    if (col === undefined) {
      col = readHeader(fields, where);
      continue;
    }
    if (fields.length !== COLUMNS.length) {
      throw new WorkloadError(
        `${where}: expected ${COLUMNS.length} fields (${COLUMNS.join(",")}), got ${fields.length}`,
      );
    }
    const time = fields[col.time_s]!;
    const src = fields[col.src]!;
    const dst = fields[col.dst]!;
    const rateText = fields[col.rate_bps]!;
    const seconds = numberOrNaN(time);
    const timeNs = Math.round(seconds * 1e9);
    if (!Number.isFinite(seconds) || !Number.isSafeInteger(timeNs)) {
      throw new WorkloadError(`${where}: time_s: expected a number of seconds, got ${quote(time)}`);
    }
    if (src === "") throw new WorkloadError(`${where}: src: expected a node id, got an empty field`);
    if (dst === "") throw new WorkloadError(`${where}: dst: expected a node id, got an empty field`);
    if (src === dst)
      throw new WorkloadError(`${where}: src and dst are both ${quote(src)}; self-traffic is not allowed`);
    const rate = numberOrNaN(rateText);
    if (!(rate >= 0) || !Number.isFinite(rate)) {
      throw new WorkloadError(`${where}: rate_bps: expected a number >= 0 of bits/s, got ${quote(rateText)}`);
    }
    const key = `${timeNs}\u0000${src}\u0000${dst}`;
    const before = lineOfKey.get(key);
    if (before !== undefined) {
      throw new WorkloadError(
        `${where}: pair ${src}->${dst} at time_s ${time} was already given on line ${before}`,
      );
    }
    lineOfKey.set(key, i + 1);
    rows.push({ line: i + 1, timeNs, src, dst, rate });
  }
  if (col === undefined)
    throw new WorkloadError(`${source}: empty file; expected the header ${COLUMNS.join(",")}`);
  if (rows.length === 0) throw new WorkloadError(`${source}: no data rows after the header`);

  const times = [...new Set(rows.map((r) => r.timeNs))].sort((a, b) => a - b);
  const t0 = times[0]!;
  const lineOf = (t: number) => rows.find((r) => r.timeNs === t)!.line;
  let intervalNs: number;
  if (opts.intervalS !== undefined) {
    intervalNs = Math.round(opts.intervalS * 1e9);
    if (!(intervalNs > 0) || !Number.isSafeInteger(intervalNs)) {
      throw new WorkloadError(
        `${source}: option intervalS: expected a number of seconds > 0, got ${quote(opts.intervalS)}`,
      );
    }
    for (const t of times) {
      if ((t - t0) % intervalNs !== 0) {
        throw new WorkloadError(
          `${source}:${lineOf(t)}: time_s ${t / 1e9} is not a multiple of the interval ${opts.intervalS} s from the first time ${t0 / 1e9}`,
        );
      }
    }
  } else if (times.length === 1) {
    throw new WorkloadError(
      `${source}: only one distinct time (${t0 / 1e9} s); give intervalS to set the interval`,
    );
  } else {
    intervalNs = times[1]! - t0;
    for (let k = 2; k < times.length; k++) {
      const step = times[k]! - times[k - 1]!;
      if (step !== intervalNs) {
        throw new WorkloadError(
          `${source}:${lineOf(times[k]!)}: time_s ${times[k]! / 1e9} is ${step / 1e9} s after the previous time ` +
            `${times[k - 1]! / 1e9}, but times must be evenly spaced (${intervalNs / 1e9} s, from the first two); ` +
            `give intervalS if some intervals have no rows`,
        );
      }
    }
  }

  const nodes = [...new Set(rows.flatMap((r) => [r.src, r.dst]))].sort(compareIds);
  const index = new Map(nodes.map((id, i) => [id, i]));
  const n = nodes.length;
  const count = (times[times.length - 1]! - t0) / intervalNs + 1;
  const rates = Array.from({ length: count }, () => new Float64Array(n * n));
  for (const r of rows) {
    rates[(r.timeNs - t0) / intervalNs]![index.get(r.src)! * n + index.get(r.dst)!] = r.rate;
  }
  return buildSeries({
    source,
    nodes,
    intervalNs,
    rates,
    labels: rates.map((_, t) => `${(t0 + t * intervalNs) / 1e9}`),
  });
}

function readHeader(fields: string[], where: string): Record<(typeof COLUMNS)[number], number> {
  const names = fields.map((f) => f.toLowerCase());
  const col = {} as Record<(typeof COLUMNS)[number], number>;
  for (const c of COLUMNS) {
    const at = names.indexOf(c);
    if (at < 0 || names.lastIndexOf(c) !== at || names.length !== COLUMNS.length) {
      throw new WorkloadError(
        `${where}: header: expected the columns ${COLUMNS.join(",")} (any order), got ${quote(fields.join(","))}`,
      );
    }
    col[c] = at;
  }
  return col;
}

/** Number(text) for a plain decimal or exponent number, NaN otherwise ("" and "0x10" are not numbers here). */
function numberOrNaN(text: string): number {
  return /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(text) ? Number(text) : Number.NaN;
}
