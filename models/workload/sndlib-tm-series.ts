/**
 * Reader of SNDlib dynamic traffic matrices: a directory of `demandMatrix-<network>-...-YYYYMMDD-HHMM.xml` files,
 * one per interval, into a {@link TrafficMatrixSeries}.
 *
 * Data: SNDlib (S. Orlowski, R. Wessäly, M. Pióro, A. Tomaszewski, "SNDlib 1.0 - Survivable Network Design
 * Library", Networks 55(3), 2010) converted the Abilene matrices of Y. Zhang et al. (IEEE/ACM ToN 13(5), 2005;
 * 5-min intervals) and the GÉANT matrices of S. Uhlig et al. (SIGCOMM CCR 36(1), 2006; 15-min intervals). The data
 * is under the ZIB Academic License: topocast never ships it; point this reader at a local copy.
 *
 * File format (SNDlib network XML without links, see shared/data/SOURCES.md section 3):
 * ```xml
 * <network xmlns="http://sndlib.zib.de/network" version="1.0">
 *  <meta><granularity>5min</granularity><time>20040301-0000</time><unit>MBITPERSEC</unit>...</meta>
 *  <networkStructure><nodes coordinatesType="geographical"><node id="ATLAM5">...</node>...</nodes>
 *   <links></links></networkStructure>
 *  <demands><demand id="ATLAM5_ATLAng"><source>ATLAM5</source><target>ATLAng</target>
 *   <demandValue> 0.522208 </demandValue></demand>...</demands>
 * </network>
 * ```
 * Semantics. `demandValue` is the average rate over the interval that starts at the file's time, in Mbit/s; it is
 * read as `value x 1e6` bits/s. Demands are directed; a pair without a demand (SNDlib drops zeros) has rate 0, and
 * an empty `<demands>` is an all-zero matrix. Node ids are those of the SNDlib network (`abilene.xml`, `geant.xml`),
 * sorted. The interval length comes from `<meta><granularity>`; the time order from the file names, whose stamp
 * must agree with `<meta><time>` where present. Stamps are naive calendar times (SNDlib states no time zone).
 *
 * Gaps. Consecutive files must be one interval apart. A missing interval is an error naming it, unless
 * `allowGaps` is set; then each missing interval becomes an all-zero matrix, listed in the result's `gaps`.
 *
 * Speed. The general XML parser ({@link parseSndlibDemands}) takes about 4 ms per file, 9 s for the 2,016-file
 * Abilene week. So the `<demands>` section is scanned by a strict pattern for the exact layout SNDlib writes
 * (`<demand id="..."><source>..</source><target>..</target><demandValue>..</demandValue></demand>`, XML
 * whitespace only between them), while the rest of the file (declaration, meta, nodes) still goes through
 * {@link parseSndlibDemands}, which checks that it is well-formed and that the unit is a bit rate (once per distinct
 * rest: files of a series differ there only in their `<time>`). Any demands section the pattern does not cover
 * completely (comments, entities, other element order, a bad value) falls back to {@link parseSndlibDemands} on
 * the whole file, which gives the same demands or the precise error; a test checks that both paths agree on the
 * real files. Measured: the Abilene week in 0.4-1.1 s (GEANT's 192 files in 0.1-0.4 s) on a busy 2-core machine.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import {
  parseSndlibDemands,
  type SndlibDemand,
  sndlibBpsPerUnit,
  sndlibMbps,
} from "../../sim/substrate/sndlib-xml.ts";
import { TopologyError } from "../../sim/substrate/topology.ts";
import { quote, WorkloadError } from "./errors.ts";
import { formatStamp, parseGranularityNs, stampMinutes } from "./time-labels.ts";
import type { TrafficMatrixSeries } from "./tm-series.ts";
import { buildSeries, compareIds } from "./tm-series-build.ts";

/** Bits/s per Mbit/s (SNDlib's `MBITPERSEC`). */
const BPS_PER_MBPS = 1e6;

/** File names of a series: `demandMatrix-<network and source>-YYYYMMDD-HHMM.xml`. */
const FILE_NAME = /^demandMatrix-(.*)-(\d{8}-\d{4})\.xml$/;

export interface SndlibSeriesOptions {
  /**
   * Accept missing intervals and fill each with an all-zero matrix (listed in `gaps`).
   * @default false (a missing interval is an error naming it)
   */
  allowGaps?: boolean;
  /** Interval length, ns, for files without `<meta><granularity>`; must agree with it where present. */
  intervalNs?: number;
  /** Read only intervals whose stamp is at or after this `YYYYMMDD-HHMM` label. */
  from?: string;
  /** Read only intervals whose stamp is before this `YYYYMMDD-HHMM` label. */
  until?: string;
}

/** A missing interval that `allowGaps` filled with zeros. */
export interface SeriesGap {
  /** Interval index in the series. */
  index: number;
  /** Its `YYYYMMDD-HHMM` stamp. */
  label: string;
}

/** An SNDlib series: the shared shape plus where each interval came from. */
export interface SndlibTmSeries extends TrafficMatrixSeries {
  /** `YYYYMMDD-HHMM` of every interval (never undefined here). */
  readonly labels: readonly string[];
  /** File name of each interval, or undefined for a gap filled with zeros. */
  readonly files: readonly (string | undefined)[];
  /** Intervals filled with zeros because their file was missing (only with `allowGaps`). */
  readonly gaps: readonly SeriesGap[];
}

/** One parsed matrix file. */
export interface SndlibMatrixFile {
  /** `<meta><granularity>` text, if any. */
  granularity: string | undefined;
  /** `<meta><time>` text, if any. */
  time: string | undefined;
  /** Declared `<node id>`s in file order (empty when the file lists none). */
  nodes: string[];
  /** Directed demands in file order, Mbit/s. */
  demands: SndlibDemand[];
}

/**
 * Reads a directory of SNDlib demand matrices (see the module comment for the format and semantics). Files not
 * named `demandMatrix-*.xml` are ignored.
 *
 * @throws WorkloadError naming the directory or file and the element at fault: an unreadable directory or file,
 *   no matrix files, a file name without a `YYYYMMDD-HHMM` stamp, files of different series (name prefixes), two
 *   files for one interval, a `<time>` that disagrees with the file name, a missing or inconsistent
 *   `<granularity>`, a stamp off the interval grid, a missing interval (unless `allowGaps`), a node list that
 *   differs from the first file's, a demand naming an undeclared node, a self-demand, two demands for one pair,
 *   and malformed XML or a demand value that is not a non-negative number of Mbit/s.
 */
export function readSndlibTmSeries(dir: string, opts: SndlibSeriesOptions = {}): SndlibTmSeries {
  const source = resolve(dir);
  const entries = listMatrixFiles(source, opts);
  const { parsed, intervalNs, declared } = parseMatrixFiles(source, entries, opts);
  const intervalMin = intervalNs / 60e9;
  if (!Number.isInteger(intervalMin)) {
    throw new WorkloadError(
      `${source}: interval ${intervalNs} ns is not a whole number of minutes, which YYYYMMDD-HHMM stamps need`,
    );
  }
  const { slotOf, gaps } = intervalSlots(source, entries, intervalMin, opts.allowGaps === true);
  const nodes = declared ?? unionOfEndpoints(parsed.map((p) => p.file));
  const count = slotOf[slotOf.length - 1]! + 1;
  const files: (string | undefined)[] = new Array(count).fill(undefined);
  parsed.forEach(({ name }, k) => {
    files[slotOf[k]!] = name;
  });
  const rates = demandRates(source, nodes, parsed, slotOf, count);
  const first = entries[0]!;
  const labels = Array.from({ length: count }, (_, s) => formatStamp(first.minutes + s * intervalMin));
  const series = buildSeries({ source, nodes, intervalNs, rates, labels });
  return { ...series, labels, files, gaps };
}

/** A matrix file of a series directory: its name, `YYYYMMDD-HHMM` stamp, minutes since the epoch, series prefix. */
interface MatrixFileEntry {
  name: string;
  stamp: string;
  minutes: number;
  prefix: string;
}

/**
 * The `demandMatrix-*.xml` files of `source` within the options' time range, by time.
 * @throws WorkloadError for an unreadable directory, a bad stamp, no files, mixed series, two files per interval.
 */
function listMatrixFiles(source: string, opts: SndlibSeriesOptions): MatrixFileEntry[] {
  let names: string[];
  try {
    names = readdirSync(source);
  } catch (e) {
    throw new WorkloadError(
      `${source}: cannot read traffic-matrix directory (${(e as NodeJS.ErrnoException).code ?? String(e)})`,
    );
  }
  const from = opts.from === undefined ? -Infinity : labelOption(opts.from, "from", source);
  const until = opts.until === undefined ? Infinity : labelOption(opts.until, "until", source);
  const entries: MatrixFileEntry[] = [];
  for (const name of names.sort(compareIds)) {
    if (!name.startsWith("demandMatrix-") || !name.endsWith(".xml")) continue;
    const m = FILE_NAME.exec(name);
    const minutes = m ? stampMinutes(m[2]!) : undefined;
    if (!m || minutes === undefined) {
      throw new WorkloadError(
        `${join(source, name)}: file name must end in a valid stamp, -YYYYMMDD-HHMM.xml (e.g. demandMatrix-abilene-20040301-0005.xml)`,
      );
    }
    if (minutes >= from && minutes < until) entries.push({ name, stamp: m[2]!, minutes, prefix: m[1]! });
  }
  if (entries.length === 0) {
    const range = opts.from !== undefined || opts.until !== undefined ? " in the requested time range" : "";
    throw new WorkloadError(`${source}: no demandMatrix-*-YYYYMMDD-HHMM.xml files${range}`);
  }
  entries.sort((a, b) => a.minutes - b.minutes || compareIds(a.name, b.name));
  for (let k = 1; k < entries.length; k++) {
    const a = entries[k - 1]!;
    const b = entries[k]!;
    if (a.prefix !== b.prefix) {
      throw new WorkloadError(
        `${source}: files of different series in one directory: ${quote(a.name)} and ${quote(b.name)}`,
      );
    }
    if (a.minutes === b.minutes) {
      throw new WorkloadError(
        `${source}: two files for interval ${a.stamp}: ${quote(a.name)} and ${quote(b.name)}`,
      );
    }
  }
  return entries;
}

/**
 * Parses every file of `entries`, checking that stamps, granularities and node lists agree across the series.
 * @returns the parsed files in order, the interval (ns) and the declared nodes (sorted; undefined when no file
 *   declares any).
 * @throws WorkloadError naming the file whose `<time>`, `<granularity>` or `<nodes>` disagrees.
 */
function parseMatrixFiles(
  source: string,
  entries: readonly MatrixFileEntry[],
  opts: SndlibSeriesOptions,
): {
  parsed: { name: string; file: SndlibMatrixFile }[];
  intervalNs: number;
  declared: string[] | undefined;
} {
  let intervalNs = opts.intervalNs;
  let declared: string[] | undefined;
  let declaredFrom = "";
  const parsed: { name: string; file: SndlibMatrixFile }[] = [];
  const cache: HeadCache = {};
  for (const e of entries) {
    const path = join(source, e.name);
    const file = parseSndlibMatrix(readText(path), path, cache);
    if (file.time !== undefined && file.time !== e.stamp) {
      throw new WorkloadError(
        `${path}: <meta><time> is ${quote(file.time)} but the file name says ${quote(e.stamp)}`,
      );
    }
    if (file.granularity !== undefined) {
      const g = parseGranularityNs(file.granularity, `${path}: <meta><granularity>`);
      if (intervalNs !== undefined && g !== intervalNs) {
        throw new WorkloadError(
          `${path}: <meta><granularity> ${quote(file.granularity)} (${g} ns) differs from the series interval ` +
            `${intervalNs} ns (${opts.intervalNs === undefined ? `from ${quote(parsed[0]?.name)}` : "the intervalNs option"})`,
        );
      }
      intervalNs = g;
    }
    if (file.nodes.length > 0) {
      const sorted = [...file.nodes].sort(compareIds);
      if (declared === undefined) {
        declared = sorted;
        declaredFrom = e.name;
      } else if (sorted.join("\n") !== declared.join("\n")) {
        const extra = sorted.filter((n) => !declared!.includes(n));
        const missing = declared.filter((n) => !sorted.includes(n));
        throw new WorkloadError(
          `${path}: <nodes> differ from ${quote(declaredFrom)}: extra ${JSON.stringify(extra)}, missing ${JSON.stringify(missing)}`,
        );
      }
    }
    parsed.push({ name: e.name, file });
  }
  if (intervalNs === undefined) {
    throw new WorkloadError(
      `${source}: no file has <meta><granularity>; pass the intervalNs option (e.g. 300e9 for 5 min)`,
    );
  }
  return { parsed, intervalNs, declared };
}

/**
 * Interval slots: one per step of the grid from the first stamp to the last; `slotOf[k]` is entry k's slot.
 * @throws WorkloadError for a stamp off the grid, or a missing interval unless `allowGaps` (then listed in gaps).
 */
function intervalSlots(
  source: string,
  entries: readonly MatrixFileEntry[],
  intervalMin: number,
  allowGaps: boolean,
): { slotOf: number[]; gaps: SeriesGap[] } {
  const first = entries[0]!;
  const gaps: SeriesGap[] = [];
  const slotOf: number[] = [];
  for (let k = 0; k < entries.length; k++) {
    const e = entries[k]!;
    const offset = (e.minutes - first.minutes) / intervalMin;
    if (!Number.isInteger(offset)) {
      throw new WorkloadError(
        `${join(source, e.name)}: stamp ${e.stamp} is off the ${intervalMin}-min grid of the series starting ${first.stamp}`,
      );
    }
    const prev = k === 0 ? -1 : slotOf[k - 1]!;
    if (offset > prev + 1 && k > 0) {
      const missing = offset - prev - 1;
      const firstMissing = formatStamp(first.minutes + (prev + 1) * intervalMin);
      if (!allowGaps) {
        const last = formatStamp(first.minutes + (offset - 1) * intervalMin);
        throw new WorkloadError(
          `${source}: missing interval ${firstMissing}${missing > 1 ? ` (and ${missing - 1} more, up to ${last})` : ""}` +
            ` between ${quote(entries[k - 1]!.name)} and ${quote(e.name)}; pass allowGaps to fill gaps with zero matrices`,
        );
      }
      for (let s = prev + 1; s < offset; s++) {
        gaps.push({ index: s, label: formatStamp(first.minutes + s * intervalMin) });
      }
    }
    slotOf.push(offset);
  }
  return { slotOf, gaps };
}

/**
 * Row-major n x n rate matrices (bits/s) of `count` slots from the parsed files' demands (Mbit/s); gaps stay zero.
 * @throws WorkloadError for a demand naming an undeclared node, a self-demand, or a second demand for one pair.
 */
function demandRates(
  source: string,
  nodes: readonly string[],
  parsed: readonly { name: string; file: SndlibMatrixFile }[],
  slotOf: readonly number[],
  count: number,
): Float64Array[] {
  const index = new Map(nodes.map((id, i) => [id, i]));
  const n = nodes.length;
  const rates = Array.from({ length: count }, () => new Float64Array(n * n));
  parsed.forEach(({ name, file }, k) => {
    const m = rates[slotOf[k]!]!;
    const seen = new Uint8Array(n * n);
    for (const d of file.demands) {
      const i = index.get(d.src);
      const j = index.get(d.dst);
      if (i === undefined || j === undefined || i === j || seen[i * n + j]) {
        const where = `${join(source, name)}: demand ${d.src}->${d.dst}`;
        if (i === undefined || j === undefined) {
          throw new WorkloadError(`${where}: node ${quote(i === undefined ? d.src : d.dst)} is not declared`);
        }
        if (i === j) throw new WorkloadError(`${where}: source equals target (self-demands are not allowed)`);
        throw new WorkloadError(`${where}: a second demand for the same pair`);
      }
      seen[i * n + j] = 1;
      m[i * n + j] = d.mbps * BPS_PER_MBPS;
    }
  });
  return rates;
}

/**
 * Parses one SNDlib matrix file: meta, declared nodes and demands (fast path with fallback, see the module
 * comment). `source` (usually the path) starts every error.
 * @throws WorkloadError for malformed XML, a unit that is not a bit rate, or a malformed demand.
 */
export function parseSndlibMatrix(text: string, source: string, cache?: HeadCache): SndlibMatrixFile {
  const open = text.indexOf("<demands>");
  const close = text.lastIndexOf("</demands>");
  let demands: SndlibDemand[] | undefined;
  let head = text;
  if (open >= 0 && close > open && text.indexOf("<demands", open + 1) < 0) {
    head = text.slice(0, open) + text.slice(close + "</demands>".length);
    demands = scanDemands(text, open + "<demands>".length, close);
  }
  try {
    if (demands === undefined) {
      demands = parseSndlibDemands(text, source);
      head = text;
    } else {
      // Well-formedness and unit of everything but the demands section. Files of one series differ outside
      // <demands> only in their <time> stamp, so a head equal to an already checked one up to a plain stamp is
      // not parsed again (same text, same outcome).
      const key = head.replace(/<time>\d{8}-\d{4}<\/time>/, "<time></time>");
      if (cache?.checked !== key) {
        parseSndlibDemands(head, source);
        if (cache) cache.checked = key;
      }
    }
  } catch (e) {
    if (e instanceof TopologyError) throw new WorkloadError(e.message);
    throw e;
  }
  const nodes = [...head.matchAll(/<node\s+id\s*=\s*(?:"([^"]*)"|'([^']*)')/g)].map((m) =>
    decodeEntities(m[1] ?? m[2] ?? ""),
  );
  if (demands.length > 0 && nodes.length > 0) {
    // The fast path does not check endpoints against the node list; parseSndlibDemands does.
    const known = new Set(nodes);
    if (demands.some((d) => !known.has(d.src) || !known.has(d.dst))) {
      try {
        parseSndlibDemands(text, source);
      } catch (e) {
        if (e instanceof TopologyError) throw new WorkloadError(e.message);
        throw e;
      }
    }
  }
  // The fast path (head without <demands>) reads values as written; convert them from the file's unit (checked
  // above) to Mbit/s, as parseSndlibDemands does.
  const bpsPerUnit = head === text ? 1e6 : sndlibBpsPerUnit(metaText(head, "unit"), source);
  if (bpsPerUnit !== 1e6) demands = demands.map((d) => ({ ...d, mbps: sndlibMbps(d.mbps, bpsPerUnit) }));
  return { granularity: metaText(head, "granularity"), time: metaText(head, "time"), nodes, demands };
}

/** Remembers the last head (file text outside `<demands>`) that passed the XML checks. */
export interface HeadCache {
  checked?: string;
}

/** Text of `<meta><tag>`, trimmed, or undefined. */
function metaText(xml: string, tag: string): string | undefined {
  const meta = /<meta>([\s\S]*?)<\/meta>/.exec(xml)?.[1];
  if (meta === undefined) return undefined;
  const m = new RegExp(`<${tag}>([^<]*)</${tag}>`).exec(meta);
  return m ? decodeEntities(m[1]!.trim()) : undefined;
}

const DEMAND =
  /<demand\s+id="([^"<&]*)"\s*>\s*<source>([^<&]*)<\/source>\s*<target>([^<&]*)<\/target>\s*<demandValue>([^<&]*)<\/demandValue>\s*<\/demand>\s*/y;
const LEADING_SPACE = /\s*/y;
const NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

/**
 * Demands of `text[start, end)` if that range is exactly a sequence of canonical `<demand>` elements with valid
 * values, else undefined (the caller then parses the whole file the general way).
 */
function scanDemands(text: string, start: number, end: number): SndlibDemand[] | undefined {
  LEADING_SPACE.lastIndex = start;
  LEADING_SPACE.exec(text);
  let at = LEADING_SPACE.lastIndex;
  const out: SndlibDemand[] = [];
  while (at < end) {
    DEMAND.lastIndex = at;
    const m = DEMAND.exec(text);
    if (!m || DEMAND.lastIndex > end) return undefined;
    const src = m[2]!.trim();
    const dst = m[3]!.trim();
    const value = m[4]!.trim();
    if (src === "" || dst === "" || !NUMBER.test(value)) return undefined;
    const mbps = Number(value);
    if (!(mbps >= 0) || !Number.isFinite(mbps)) return undefined;
    out.push({ src, dst, mbps });
    at = DEMAND.lastIndex;
  }
  return out;
}

const ENTITIES: Record<string, string> = { amp: "&", lt: "<", gt: ">", quot: '"', apos: "'" };

function decodeEntities(s: string): string {
  return s.includes("&") ? s.replace(/&(amp|lt|gt|quot|apos);/g, (_, e: string) => ENTITIES[e]!) : s;
}

function unionOfEndpoints(files: readonly SndlibMatrixFile[]): string[] {
  const ids = new Set<string>();
  for (const f of files) {
    for (const d of f.demands) {
      ids.add(d.src);
      ids.add(d.dst);
    }
  }
  return [...ids].sort(compareIds);
}

/** File text, decoded as the XML declaration says (SNDlib files may declare ISO-8859-1), else UTF-8. */
function readText(path: string): string {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    throw new WorkloadError(`${path}: cannot read file (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
  }
  const declaration = /^\s*<\?xml[^>]*encoding\s*=\s*["']([^"']+)["']/.exec(
    bytes.subarray(0, 200).toString("latin1"),
  );
  return bytes.toString(/^(iso-8859-1|latin-?1)$/i.test(declaration?.[1] ?? "") ? "latin1" : "utf8");
}

function labelOption(label: string, name: string, source: string): number {
  const m = stampMinutes(label);
  if (m === undefined) {
    throw new WorkloadError(`${source}: option ${name}: expected a YYYYMMDD-HHMM stamp, got ${quote(label)}`);
  }
  return m;
}
