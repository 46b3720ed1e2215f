import type { FlowRow } from "../../sim/metrics/flow-stats.ts";
import { FLOWS_CSV_HEADER } from "../flows-csv.ts";
import { ResultsError, readCsv } from "../results.ts";

/**
 * One line of a results directory's flows.csv: a {@link FlowRow} (times in ns of simulated time, size in bytes) of
 * one policy, with its end nodes by id rather than index; fctNs > 0.
 */
export interface FlowsCsvRow extends Omit<FlowRow, "src" | "dst"> {
  policy: string;
  src: string;
  dst: string;
}

const FLOWS_CSV_COLUMNS = ["policy", ...FLOWS_CSV_HEADER.split(",")];

type FieldKind = "text" | "id" | "count" | "nonNegative" | "positive" | "slowdown" | "number";

const FIELD_KINDS: Readonly<Record<string, FieldKind>> = {
  policy: "text",
  flow: "id",
  src: "text",
  dst: "text",
  size_bytes: "nonNegative",
  start_ns: "nonNegative",
  end_ns: "nonNegative",
  fct_ns: "positive",
  ideal_fct_ns: "nonNegative",
  slowdown: "slowdown",
  hops: "count",
  tag: "number",
};

const EXPECTED: Readonly<Record<FieldKind, string>> = {
  text: "a non-empty string",
  id: "an integer flow id in [0, 2^32)",
  count: "an integer >= 0",
  nonNegative: "a finite number >= 0",
  positive: "a finite number > 0",
  slowdown: "a number >= 0",
  number: "a finite number",
};

function validField(kind: FieldKind, s: string): boolean {
  if (kind === "text") return s !== "";
  const x = s.trim() === "" ? Number.NaN : Number(s);
  switch (kind) {
    case "id":
      return Number.isInteger(x) && x >= 0 && x <= 0xffffffff;
    case "count":
      return Number.isSafeInteger(x) && x >= 0;
    case "nonNegative":
      return Number.isFinite(x) && x >= 0;
    case "positive":
      return Number.isFinite(x) && x > 0;
    case "slowdown":
      return x >= 0;
    case "number":
      return Number.isFinite(x);
  }
}

/**
 * Reads a results directory's flows.csv (header `policy,` + {@link FLOWS_CSV_HEADER}) into rows, in file order.
 * Line numbers in errors count the header as line 1 (they skip blank lines, as {@link readCsv} does).
 * @throws ResultsError naming the file, line, column and value: a missing file or column, a field that is not
 *   what its column holds (e.g. an FCT that is not a number > 0), or a flow id repeated within a policy.
 */
export function readFlowsCsv(path: string): FlowsCsvRow[] {
  const records = readCsv(path);
  if (records.length === 0) return [];
  const header = Object.keys(records[0]!);
  const missing = FLOWS_CSV_COLUMNS.filter((c) => !header.includes(c));
  if (missing.length > 0) {
    throw new ResultsError(
      `${path}:1: missing column(s) ${missing.join(", ")}; expected the header policy,${FLOWS_CSV_HEADER}`,
    );
  }
  const seen = new Map<string, number>();
  return records.map((r, i) => {
    const line = i + 2;
    for (const col of FLOWS_CSV_COLUMNS) {
      const kind = FIELD_KINDS[col]!;
      if (!validField(kind, r[col]!)) {
        throw new ResultsError(
          `${path}:${line}: ${col}: expected ${EXPECTED[kind]}, got ${JSON.stringify(r[col])}`,
        );
      }
    }
    const key = `${r.policy}\n${r.flow}`;
    const first = seen.get(key);
    if (first !== undefined) {
      throw new ResultsError(
        `${path}:${line}: flow: flow ${r.flow} of policy "${r.policy}" already appears on line ${first}`,
      );
    }
    seen.set(key, line);
    return {
      policy: r.policy!,
      flow: Number(r.flow),
      src: r.src!,
      dst: r.dst!,
      sizeBytes: Number(r.size_bytes),
      startNs: Number(r.start_ns),
      endNs: Number(r.end_ns),
      fctNs: Number(r.fct_ns),
      idealFctNs: Number(r.ideal_fct_ns),
      slowdown: Number(r.slowdown),
      hops: Number(r.hops),
      tag: Number(r.tag),
    };
  });
}
