/**
 * Zod field builders for the experiment config: each parameter is declared once, with its doc, unit and default,
 * and the same declaration drives validation, the exported JSON Schema (editor completion and checks) and
 * `topocast validate`'s messages.
 *
 * Quantities with units are written as strings (`"10ms"`, `"100Mbps"`, `"1.5MB"`) and kept as strings in the
 * effective config (so config.json reads like the input and can be run again); {@link sim/units.ts} converts
 * them when the scenario is built. Bare numbers are refused, written as numbers or as strings: `delay: 10` or
 * `delay: "10"` would silently mean 10 ns.
 */
import * as z from "zod";
import { parseDurationNs, parseRateBps, parseSizeBytes, UnitError } from "../../sim/units.ts";

const NUM = String.raw`\s*[+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?\s*`;
const DURATION_PATTERN = `^${NUM}(?:ns|us|µs|ms|s|sec|min|h|d)\\s*$`;
const RATE_PATTERN = `^${NUM}(?:[kKmMgGtT]?(?:[bB][pP][sS]|[bB][iI][tT]/[sS]))\\s*$`;
const SIZE_PATTERN = `^${NUM}(?:[bB]|[bB][yY][tT][eE][sS]?|[kKmMgGtT][iI]?[bB])\\s*$`;

type UnitKind = "duration" | "rate" | "size";

const PARSERS: Record<UnitKind, (s: string) => number> = {
  duration: parseDurationNs,
  rate: parseRateBps,
  size: parseSizeBytes,
};
const PATTERNS: Record<UnitKind, string> = {
  duration: DURATION_PATTERN,
  rate: RATE_PATTERN,
  size: SIZE_PATTERN,
};
const EXPECTED: Record<UnitKind, string> = {
  duration: 'a duration such as "10ms", "2.5s" or "5min"',
  rate: 'a rate such as "10Gbps", "100Mbps" or "1.5 Gbit/s"',
  size: 'a size such as "1500B", "1.5MB" or "64KiB"',
};
/** The units each kind accepts, as messages list them. */
const UNITS: Record<UnitKind, string> = {
  duration: "ns, us, ms, s, min, h, d",
  rate: "bps, kbps, Mbps, Gbps, Tbps (or bit/s, kbit/s, ...)",
  size: "B, kB, MB, GB, TB, KiB, MiB, GiB, TiB",
};
const EXAMPLES: Record<UnitKind, string[]> = {
  duration: ["10ms", "2.5s", "5min"],
  rate: ["10Gbps", "100Mbps"],
  size: ["1500B", "1.5MB", "64KiB"],
};

export interface QuantityOptions {
  /** Smallest allowed value in base units (ns, bits/s, bytes), inclusive unless `exclusiveMin`. */
  min?: number;
  exclusiveMin?: boolean;
}

/** A string quantity with a unit, checked by sim/units.ts; the issue message says what is expected. */
function quantity(kind: UnitKind, doc: string, opts: QuantityOptions = {}) {
  const expected = EXPECTED[kind];
  const bound =
    opts.min === undefined ? "" : ` ${opts.exclusiveMin ? ">" : ">="} ${opts.min === 0 ? "0" : opts.min}`;
  return z
    .string({ error: (iss) => `expected ${expected}, got ${show(iss.input)}` })
    .superRefine((s, ctx) => {
      if (/^\s*[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?\s*$/.test(s)) {
        // sim/units.ts reads a bare number as ns, bits/s or bytes; in a config that is a slip (`"1500"`).
        ctx.addIssue({
          code: "custom",
          message: `expected ${expected}: a number needs a unit (${UNITS[kind]}), got ${show(s)}`,
        });
        return;
      }
      let v: number;
      try {
        v = PARSERS[kind](s);
      } catch (e) {
        ctx.addIssue({
          code: "custom",
          message: e instanceof UnitError ? `expected ${e.expected}, got ${show(s)}` : String(e),
        });
        return;
      }
      const max = kind === "duration" ? Number.MAX_SAFE_INTEGER : Number.MAX_VALUE;
      if (!(v <= max)) {
        ctx.addIssue({
          code: "custom",
          message: `expected ${expected}, got ${show(s)}: too large${kind === "duration" ? " (simulated time counts integer ns, at most about 104 days)" : ""}`,
        });
        return;
      }
      if (opts.min !== undefined && (opts.exclusiveMin ? !(v > opts.min) : !(v >= opts.min))) {
        ctx.addIssue({ code: "custom", message: `expected ${expected}${bound}, got ${show(s)}` });
      }
    })
    .meta({ description: doc, pattern: PATTERNS[kind], examples: EXAMPLES[kind], "x-unit": kind });
}

/** A duration string (`"10ms"`, `"5min"`); converted to integer ns by parseDurationNs. */
export function duration(doc: string, opts?: QuantityOptions) {
  return quantity("duration", doc, opts);
}
/** A rate string (`"10Gbps"`); converted to bits/s by parseRateBps. */
export function rate(doc: string, opts?: QuantityOptions) {
  return quantity("rate", doc, opts);
}
/** A size string (`"1.5MB"`); converted to bytes by parseSizeBytes. */
export function size(doc: string, opts?: QuantityOptions) {
  return quantity("size", doc, opts);
}

/**
 * A value as it appears in messages: strings quoted, objects as JSON (shortened). Non-finite numbers, which JSON
 * would print as null, are named: YAML's `.inf` and `.nan`, and numbers too large for a double (`1e400`).
 */
export function show(v: unknown): string {
  if (v === undefined) return "nothing";
  if (typeof v === "number" && !Number.isFinite(v)) return nonFinite(v);
  const s = JSON.stringify(v, (_, x) => (typeof x === "number" && !Number.isFinite(x) ? nonFinite(x) : x));
  if (s === undefined) return String(v);
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
}

function nonFinite(x: number): string {
  if (Number.isNaN(x)) return "not a number (.nan)";
  return `${x < 0 ? "-" : ""}infinity (${x < 0 ? "-" : ""}.inf, or a number too large such as 1e400)`;
}

/** A path to a file or directory, relative to the config file's directory; `${VAR}` and `${VAR:-default}` expand. */
export function filePath(doc: string) {
  return z
    .string({ error: (iss) => `expected a path (a string), got ${show(iss.input)}` })
    .min(1, { error: "expected a path, got an empty string" })
    .meta({
      description: `${doc} Relative paths are resolved against the config file's directory; \${VAR} and \${VAR:-default} expand environment variables.`,
      "x-unit": "path",
    });
}
