/**
 * Per-application volume series for `topocast predict --series apps`, read from a run's `profile.csv`
 * (experiments/profile-csv.ts: bytes per application pair per metrics interval, counted at flow arrival, written
 * when a config with `workload.applications` sets `metrics.profile: true`).
 *
 * Columns are the application pairs of one policy (`policy`, default the first the file names), sorted by name;
 * the traffic matrix's own column ("tm", the background traffic) is left out. Values are each pair's offered
 * rate, bytes x 8 / interval length (bits/s); an interval without a row for a pair is 0. The intervals are the
 * metrics grid: every interval from the first start to the last end, all of the length of the first row's.
 */
import { readFileSync } from "node:fs";
import type { SeriesMatrix } from "../models/predictors/evaluate.ts";
import { WorkloadError } from "../models/workload/errors.ts";
import { TM_APPLICATION } from "../models/workload/flow-schedule.ts";
import { PROFILE_CSV_HEADER } from "./profile-csv.ts";

/** An application series: the matrix and what describes it. */
export interface ProfileSeries {
  source: string;
  /** The policy whose intervals the columns are. */
  policy: string;
  intervalNs: number;
  matrix: SeriesMatrix;
}

/** Splits one CSV line into fields (RFC 4180 quoting, as csvField writes it). */
function csvFields(line: string): string[] {
  const out: string[] = [];
  let i = 0;
  while (i <= line.length) {
    if (line[i] === '"') {
      let v = "";
      i++;
      while (i < line.length) {
        if (line[i] === '"' && line[i + 1] === '"') {
          v += '"';
          i += 2;
        } else if (line[i] === '"') {
          i++;
          break;
        } else v += line[i++];
      }
      out.push(v);
      i++; // the comma
    } else {
      const c = line.indexOf(",", i);
      const end = c < 0 ? line.length : c;
      out.push(line.slice(i, end));
      i = end + 1;
    }
  }
  return out;
}

interface ProfileRow {
  startNs: number;
  endNs: number;
  application: string;
  bytes: number;
}

/** The rows of `policy` (default the first named) in profile.csv text. @throws WorkloadError naming the line. */
function profileRows(text: string, path: string, policy?: string): { policy: string; rows: ProfileRow[] } {
  const lines = text.split(/\r?\n/);
  if (lines[0]?.trim() !== PROFILE_CSV_HEADER) {
    throw new WorkloadError(`${path}:1: expected the profile.csv header "${PROFILE_CSV_HEADER}"`);
  }
  const rows: ProfileRow[] = [];
  const policies: string[] = [];
  let chosen = policy;
  for (let i = 1; i < lines.length; i++) {
    if (lines[i]!.trim() === "") continue;
    const f = csvFields(lines[i]!);
    const [label, start, end, application, bytes] = f;
    if (f.length !== 6 || label === undefined || application === undefined) {
      throw new WorkloadError(`${path}:${i + 1}: expected 6 fields (${PROFILE_CSV_HEADER}), got ${f.length}`);
    }
    if (!policies.includes(label)) policies.push(label);
    chosen ??= label;
    if (label !== chosen) continue;
    const row = { startNs: Number(start), endNs: Number(end), application, bytes: Number(bytes) };
    if (!(Number.isFinite(row.startNs) && row.endNs > row.startNs && row.bytes >= 0)) {
      throw new WorkloadError(
        `${path}:${i + 1}: expected start_ns < end_ns and bytes >= 0, got ${start}, ${end}, ${bytes}`,
      );
    }
    rows.push(row);
  }
  if (chosen === undefined || rows.length === 0) {
    throw new WorkloadError(
      `${path}: no rows${policy === undefined ? "" : ` of policy "${policy}"`}; policies in the file: ${policies.join(", ") || "none"}`,
    );
  }
  return { policy: chosen, rows };
}

/**
 * Reads a profile.csv into a series of the application pairs' rates (see the module doc).
 * @throws WorkloadError for an unreadable file, a wrong header or row, an unknown policy, uneven intervals, or no
 * application pairs (a run without `workload.applications`).
 */
export function readProfileSeries(path: string, policy?: string): ProfileSeries {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    throw new WorkloadError(`${path}: cannot read file (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
  }
  const { policy: chosen, rows } = profileRows(text, path, policy);
  const first = rows[0]!;
  const intervalNs = first.endNs - first.startNs;
  const t0 = Math.min(...rows.map((r) => r.startNs));
  const T = Math.round((Math.max(...rows.map((r) => r.endNs)) - t0) / intervalNs);
  const apps = [...new Set(rows.map((r) => r.application))].filter((a) => a !== TM_APPLICATION).sort();
  if (apps.length === 0) {
    throw new WorkloadError(
      `${path}: no application pairs besides "${TM_APPLICATION}" (run a config with workload.applications and metrics.profile: true)`,
    );
  }
  const col = new Map(apps.map((a, k) => [a, k]));
  const values = Array.from({ length: T }, () => new Float64Array(apps.length));
  for (const r of rows) {
    const t = (r.startNs - t0) / intervalNs;
    if (!Number.isInteger(t) || r.endNs - r.startNs !== intervalNs) {
      throw new WorkloadError(
        `${path}: interval ${r.startNs}-${r.endNs} ns is off the ${intervalNs} ns grid starting at ${t0}`,
      );
    }
    const k = col.get(r.application);
    if (k !== undefined) values[t]![k] = values[t]![k]! + (r.bytes * 8e9) / intervalNs;
  }
  return {
    source: path,
    policy: chosen,
    intervalNs,
    matrix: {
      rows: values,
      pairs: apps,
      endNs: Float64Array.from({ length: T }, (_, t) => t0 + (t + 1) * intervalNs),
    },
  };
}
