/**
 * `profile.csv` (config `metrics.profile: true`): bytes and flows per application per metrics interval, counted at
 * arrival by the application profiler (models/workload/profiler.ts), one row per policy, interval and application
 * with traffic in it (intervals in time order, applications in the profile's order: "tm", then the application
 * pairs sorted by name).
 *
 * Columns: `policy`, `start_ns` and `end_ns` (the interval, simulated ns), `application`, `bytes`, `flows`.
 */
import type { ApplicationProfile } from "../models/workload/profiler.ts";
import { csvField } from "./csv.ts";

export const PROFILE_CSV_HEADER = "policy,start_ns,end_ns,application,bytes,flows";

/** profile.csv's text for the policies (label, profile) that have a profile. */
export function profileCsv(profiles: readonly { label: string; profile: ApplicationProfile }[]): string {
  const rows: string[] = [];
  for (const { label, profile } of profiles) {
    for (const iv of profile.intervals) {
      profile.applications.forEach((app, k) => {
        if (iv.flows[k]! > 0) {
          rows.push(
            `${csvField(label)},${iv.startNs},${iv.endNs},${csvField(app)},${iv.bytes[k]},${iv.flows[k]}\n`,
          );
        }
      });
    }
  }
  return `${PROFILE_CSV_HEADER}\n${rows.join("")}`;
}
