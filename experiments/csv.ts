/** CSV fields as every results file writes them (RFC 4180 quoting, deterministic numbers). */

/**
 * Formats a number for CSV deterministically: integers as integers (`8500000`), other values rounded to
 * `digits` significant digits with trailing zeros dropped (`3.33333333`), via `Number(x.toPrecision(digits))`.
 */
export function formatCsvNumber(x: number, digits = 9): string {
  if (Number.isInteger(x) || !Number.isFinite(x)) return String(x);
  return String(Number(x.toPrecision(digits)));
}

/** A CSV field: as is, or double-quoted (quotes doubled) when it holds a comma, quote or line break (RFC 4180). */
export function csvField(s: string): string {
  return /[",\r\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
}
