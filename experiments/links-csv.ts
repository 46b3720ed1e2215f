/**
 * `links.csv`: one row per link per sampling interval of each policy, from the run records' link samples
 * (sim/metrics/link-sampler.ts `LinkSamples`).
 *
 * Columns: `policy`, then {@link LINKS_CSV_HEADER}: the interval [start, end) in ns, the link's id and its src and
 * dst node ids, its capacity at the interval's end (bits/s), the bits it carried and its utilization (bits /
 * (capacity x duration)). Rows by policy, then interval in time order, then link index; numbers by
 * {@link formatCsvNumber}; lines end with "\n".
 */
import { MetricsError } from "../sim/metrics/flow-stats.ts";
import { forEachInterval, type LinkSamples, utilization } from "../sim/metrics/link-sampler.ts";
import type { Topology } from "../sim/substrate/topology.ts";
import { csvField, formatCsvNumber } from "./csv.ts";

/** Header of links.csv without the policy column. */
export const LINKS_CSV_HEADER =
  "interval_start_ns,interval_end_ns,link,src,dst,capacity_bps,bits,utilization";

/**
 * The rows of one policy's samples (no header), each prefixed with `policy,` when `policy` is given.
 * @throws MetricsError when `topology` has another link count than the samples.
 */
export function linkRows(s: LinkSamples, topology: Topology, policy?: string): string {
  if (topology.linkCount !== s.linkCount) {
    throw new MetricsError(
      `links.csv: topology "${topology.name}" has ${topology.linkCount} links, the samples have ${s.linkCount}`,
    );
  }
  const prefix = policy === undefined ? "" : `${csvField(policy)},`;
  const linkCols = topology.links.map(
    (l) => `${csvField(l.id)},${csvField(topology.nodes[l.src]!.id)},${csvField(topology.nodes[l.dst]!.id)}`,
  );
  const lines: string[] = [];
  forEachInterval(s, (i, caps) => {
    const start = s.startNs[i]!;
    const end = s.endNs[i]!;
    const span = `${prefix}${formatCsvNumber(start)},${formatCsvNumber(end)}`;
    for (let l = 0; l < s.linkCount; l++) {
      const bits = s.bits[i * s.linkCount + l]!;
      const cap = caps[l]!;
      lines.push(
        `${span},${linkCols[l]},${formatCsvNumber(cap)},${formatCsvNumber(bits)},${formatCsvNumber(utilization(bits, cap, end - start))}\n`,
      );
    }
  });
  return lines.join("");
}

/** The whole links.csv of a run: header with the policy column, then each policy's rows. */
export function linksCsv(topology: Topology, runs: readonly { label: string; links: LinkSamples }[]): string {
  return `policy,${LINKS_CSV_HEADER}\n${runs.map((r) => linkRows(r.links, topology, r.label)).join("")}`;
}
