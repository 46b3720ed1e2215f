/**
 * `flows.csv`: one row per finished flow of each policy, from the run records' flow table (sim/engine/records.ts).
 *
 * Columns: `policy`, then {@link FLOWS_CSV_HEADER}: flow id, src and dst node ids, size (bytes), start, end, FCT and
 * ideal FCT (ns), slowdown (FCT / ideal FCT), hops of the path the flow finished on, tag. Rows by policy in the
 * experiment's order, then by flow id; numbers by {@link formatCsvNumber}; lines end with "\n".
 */
import type { FlowTable } from "../sim/engine/records.ts";
import { MetricsError } from "../sim/metrics/flow-stats.ts";
import type { Topology } from "../sim/substrate/topology.ts";
import { csvField, formatCsvNumber } from "./csv.ts";

/** Header of flows.csv without the policy column. */
export const FLOWS_CSV_HEADER =
  "flow,src,dst,size_bytes,start_ns,end_ns,fct_ns,ideal_fct_ns,slowdown,hops,tag";

/**
 * The rows of one policy's flows (no header), each prefixed with `policy,` when `policy` is given.
 * @throws MetricsError when a flow's node index is not in `topology`.
 */
export function flowRows(flows: FlowTable, topology: Topology, policy?: string): string {
  const prefix = policy === undefined ? "" : `${csvField(policy)},`;
  const nodeId = (i: number, flow: number, field: string): string => {
    const node = topology.nodes[i];
    if (!node) {
      throw new MetricsError(
        `flows.csv: flow ${flow}: ${field} node index ${i} is not in topology "${topology.name}" (${topology.nodeCount} nodes)`,
      );
    }
    return csvField(node.id);
  };
  let out = "";
  for (const r of flows.byFlowId()) {
    out += `${prefix}${[
      r.flow,
      nodeId(r.src, r.flow, "src"),
      nodeId(r.dst, r.flow, "dst"),
      formatCsvNumber(r.sizeBytes),
      formatCsvNumber(r.startNs),
      formatCsvNumber(r.endNs),
      formatCsvNumber(r.fctNs),
      formatCsvNumber(r.idealFctNs),
      formatCsvNumber(r.slowdown),
      r.hops,
      formatCsvNumber(r.tag),
    ].join(",")}\n`;
  }
  return out;
}

/** The whole flows.csv of a run: header with the policy column, then each policy's rows. */
export function flowsCsv(topology: Topology, runs: readonly { label: string; flows: FlowTable }[]): string {
  return `policy,${FLOWS_CSV_HEADER}\n${runs.map((r) => flowRows(r.flows, topology, r.label)).join("")}`;
}
