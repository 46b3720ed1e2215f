/**
 * Wall-clock labels of traffic-matrix intervals in SNDlib's `YYYYMMDD-HHMM` form (e.g. `20040301-0005`), and
 * interval lengths written like `5min`.
 *
 * The SNDlib dynamic matrices state no time zone, so labels are read as naive calendar times and converted with
 * UTC arithmetic (no daylight-saving jumps): `20040301-0000` + 5 min is always `20040301-0005`.
 */
import { quote, WorkloadError } from "./errors.ts";

const STAMP = /^(\d{4})(\d{2})(\d{2})-(\d{2})(\d{2})$/;
const MINUTE_MS = 60_000;

/**
 * Minutes since 1970-01-01 00:00 of a `YYYYMMDD-HHMM` label, or undefined when the text is not such a label or
 * names an impossible date or time (`20040230-0000`, `20040301-2460`).
 */
export function stampMinutes(stamp: string): number | undefined {
  const m = STAMP.exec(stamp);
  if (!m) return undefined;
  const [y, mo, d, h, mi] = m.slice(1).map(Number) as [number, number, number, number, number];
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59) return undefined;
  const ms = Date.UTC(y, mo - 1, d, h, mi);
  if (new Date(ms).getUTCDate() !== d) return undefined; // 31 April and friends
  return ms / MINUTE_MS;
}

/** The `YYYYMMDD-HHMM` label of a time given in minutes since 1970-01-01 00:00. */
export function formatStamp(minutes: number): string {
  const t = new Date(minutes * MINUTE_MS);
  const p = (v: number, w = 2) => String(v).padStart(w, "0");
  return `${p(t.getUTCFullYear(), 4)}${p(t.getUTCMonth() + 1)}${p(t.getUTCDate())}-${p(t.getUTCHours())}${p(t.getUTCMinutes())}`;
}

/** Day of the week of a label's minute count: 0 = Monday ... 6 = Sunday (ISO 8601 order). */
export function isoWeekday(minutes: number): number {
  return (new Date(minutes * MINUTE_MS).getUTCDay() + 6) % 7;
}

const DURATION =
  /^(\d+(?:\.\d+)?)\s*(s|sec|secs|second|seconds|min|mins|minute|minutes|h|hour|hours|d|day|days)$/i;
const UNIT_NS: Record<string, number> = { s: 1e9, m: 60e9, h: 3600e9, d: 86_400e9 };

/**
 * Nanoseconds of an interval length written like SNDlib's `<granularity>`: `5min`, `15min`, `1h`, `300s`, `1day`.
 * @throws WorkloadError naming `where` and the text when it is not a positive whole number of nanoseconds.
 */
export function parseGranularityNs(text: string, where: string): number {
  const m = DURATION.exec(text.trim());
  const unit = m?.[2]?.toLowerCase();
  const ns = m && unit ? Number(m[1]) * UNIT_NS[unit.startsWith("mi") ? "m" : unit[0]!]! : Number.NaN;
  if (!(ns > 0) || !Number.isSafeInteger(ns)) {
    throw new WorkloadError(
      `${where}: expected an interval like "5min", "15min", "1h" or "300s", got ${quote(text)}`,
    );
  }
  return ns;
}
