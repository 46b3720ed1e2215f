/**
 * `actions.csv`: one row per control action, from the recording decorator's records (models/policies/recording.ts),
 * in the order given (the order the actions settled). Deterministic for a simulated run: times are simulated ns,
 * arguments and results are JSON with sorted keys, and `wall_ns` is empty unless a wall clock was recorded.
 *
 * Columns: `time_ns` (when the action was called), `verb`, `outcome` (ok | error), `error_name`, `error_message`,
 * `setup_latency_key` and `setup_latency_ns` (empty for a verb without one), `wall_ns`, `result` (JSON, e.g. a
 * virtual link's id), `args` (JSON object of the arguments by name).
 */
import type { ActionRecordBase } from "../models/policies/recording.ts";
import { csvField } from "./csv.ts";

export const ACTIONS_CSV_HEADER =
  "time_ns,verb,outcome,error_name,error_message,setup_latency_key,setup_latency_ns,wall_ns,result,args";

/** JSON with object keys sorted at every level (records already hold sorted copies; this keeps any input stable). */
function stableJson(x: unknown): string {
  return JSON.stringify(x, (_k, v: unknown) =>
    typeof v === "object" && v !== null && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : v,
  );
}

/** One action as a CSV row (no line break). */
export function actionCsvRow(
  r: ActionRecordBase & { verb: string; args: unknown; result?: unknown },
): string {
  return [
    String(r.timeNs),
    r.verb,
    r.outcome,
    r.error?.name ?? "",
    r.error?.message ?? "",
    r.setupLatency?.key ?? "",
    r.setupLatency?.ns == null ? "" : String(r.setupLatency.ns),
    r.wallNs === undefined ? "" : String(Math.round(r.wallNs)),
    r.result === undefined ? "" : stableJson(r.result),
    stableJson(r.args),
  ]
    .map(csvField)
    .join(",");
}

/** The whole file: header and one line per record, each line ending in a newline. */
export function actionsCsv(
  records: readonly (ActionRecordBase & { verb: string; args: unknown; result?: unknown })[],
): string {
  return `${[ACTIONS_CSV_HEADER, ...records.map(actionCsvRow)].join("\n")}\n`;
}

/** The results directory's actions.csv: a `policy` column, then each policy's records in the order they settled. */
export function actionsCsvByPolicy(
  runs: readonly {
    label: string;
    actions: readonly (ActionRecordBase & { verb: string; args: unknown; result?: unknown })[];
  }[],
): string {
  const rows = runs.flatMap((r) => r.actions.map((a) => `${csvField(r.label)},${actionCsvRow(a)}\n`));
  return `policy,${ACTIONS_CSV_HEADER}\n${rows.join("")}`;
}
