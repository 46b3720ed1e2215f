/**
 * Units as strings, the way configs and data files write them.
 *
 * Conventions used everywhere in topocast: rates in bits/s, sizes in bytes, simulated time in integer
 * nanoseconds. Decimal SI prefixes for rates (1 Gbps = 1e9 bit/s, as link speeds are quoted); sizes accept both
 * SI (`kB`, `MB` = 1e3, 1e6 bytes) and IEC (`KiB`, `MiB` = 1024, 1024^2 bytes) prefixes.
 */

/** Thrown when a unit string cannot be parsed; `expected` says what would have been accepted. */
export class UnitError extends Error {
  constructor(
    readonly value: unknown,
    readonly expected: string,
  ) {
    super(`expected ${expected}, got ${JSON.stringify(value)}`);
    this.name = "UnitError";
  }
}

const NUMBER = String.raw`([+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?)`;

const TIME_NS: Record<string, number> = {
  ns: 1,
  us: 1e3,
  µs: 1e3,
  ms: 1e6,
  s: 1e9,
  sec: 1e9,
  min: 60e9,
  h: 3600e9,
  d: 86400e9,
};

const RATE_BPS: Record<string, number> = {
  bps: 1,
  "bit/s": 1,
  kbps: 1e3,
  "kbit/s": 1e3,
  mbps: 1e6,
  "mbit/s": 1e6,
  gbps: 1e9,
  "gbit/s": 1e9,
  tbps: 1e12,
  "tbit/s": 1e12,
};

const SIZE_BYTES: Record<string, number> = {
  b: 1,
  byte: 1,
  bytes: 1,
  kb: 1e3,
  mb: 1e6,
  gb: 1e9,
  tb: 1e12,
  kib: 1024,
  mib: 1024 ** 2,
  gib: 1024 ** 3,
  tib: 1024 ** 4,
};

function parseWithUnits(
  input: string | number,
  table: Record<string, number>,
  expected: string,
  caseSensitive: boolean,
): number {
  if (typeof input === "number") {
    if (!Number.isFinite(input)) throw new UnitError(input, expected);
    return input;
  }
  if (typeof input !== "string") throw new UnitError(input, expected);
  const m = new RegExp(`^\\s*${NUMBER}\\s*([a-zA-Zµ/]*)\\s*$`).exec(input);
  if (!m) throw new UnitError(input, expected);
  const value = Number(m[1]);
  const unitRaw = m[2] ?? "";
  const unit = caseSensitive ? unitRaw : unitRaw.toLowerCase();
  const factor = unit === "" ? 1 : table[unit];
  if (factor === undefined || !Number.isFinite(value)) throw new UnitError(input, expected);
  return value * factor;
}

/**
 * Parses a duration such as `"10ms"`, `"1.5s"`, `"5min"` into integer nanoseconds (rounded to the nearest ns).
 * A bare number is taken as nanoseconds. Throws {@link UnitError} for anything else or for a negative value.
 */
export function parseDurationNs(input: string | number): number {
  const expected = 'a duration such as "10ms", "2.5s" or "5min"';
  const ns = Math.round(parseWithUnits(input, TIME_NS, expected, true));
  if (ns < 0) throw new UnitError(input, `${expected} (not negative)`);
  return ns;
}

/**
 * Parses a rate such as `"100Mbps"`, `"10 Gbit/s"` into bits/s. Prefixes are decimal (k = 1e3). A bare number is
 * bits/s. Units are case-insensitive (`"10gbps"` works; there is no byte-rate ambiguity in a `bps` suffix).
 * Throws {@link UnitError} for anything else or for a negative value.
 */
export function parseRateBps(input: string | number): number {
  const expected = 'a rate such as "10Gbps", "100Mbps" or "1.5 Gbit/s"';
  const bps = parseWithUnits(input, RATE_BPS, expected, false);
  if (bps < 0) throw new UnitError(input, `${expected} (not negative)`);
  return bps;
}

/**
 * Parses a size such as `"1.5MB"`, `"64KiB"`, `"1500B"` into bytes (rounded to an integer). A bare number is
 * bytes. SI prefixes are decimal, IEC prefixes binary. Throws {@link UnitError} for anything else or a negative value.
 */
export function parseSizeBytes(input: string | number): number {
  const expected = 'a size such as "1500B", "1.5MB" or "64KiB"';
  const bytes = Math.round(parseWithUnits(input, SIZE_BYTES, expected, false));
  if (bytes < 0) throw new UnitError(input, `${expected} (not negative)`);
  return bytes;
}

/** Formats bits/s with an SI prefix, e.g. `9.95 Gbps`. */
export function formatRate(bps: number): string {
  const steps: [number, string][] = [
    [1e12, "Tbps"],
    [1e9, "Gbps"],
    [1e6, "Mbps"],
    [1e3, "kbps"],
  ];
  for (const [f, u] of steps) if (Math.abs(bps) >= f) return `${+(bps / f).toPrecision(4)} ${u}`;
  return `${+bps.toPrecision(4)} bps`;
}

/** Formats integer nanoseconds with the largest unit that keeps it readable, e.g. `12.3 ms`. */
export function formatDuration(ns: number): string {
  const steps: [number, string][] = [
    [1e9, "s"],
    [1e6, "ms"],
    [1e3, "us"],
  ];
  for (const [f, u] of steps) if (Math.abs(ns) >= f) return `${+(ns / f).toPrecision(4)} ${u}`;
  return `${ns} ns`;
}

/** Formats bytes with an SI prefix, e.g. `1.5 MB`. */
export function formatSize(bytes: number): string {
  const steps: [number, string][] = [
    [1e12, "TB"],
    [1e9, "GB"],
    [1e6, "MB"],
    [1e3, "kB"],
  ];
  for (const [f, u] of steps) if (Math.abs(bytes) >= f) return `${+(bytes / f).toPrecision(4)} ${u}`;
  return `${bytes} B`;
}
