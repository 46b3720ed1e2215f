/** `topocast report <dir>`: a run directory (summary.json) or a sweep directory (index*.json). */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { renderRunReport } from "./report.ts";
import { ResultsError, readSummary } from "./results.ts";
import { bucketRows, overallRows, textTable, workloadLine } from "./summary-table.ts";
import { isSweepDir, renderSweepReport } from "./sweep-report.ts";

export async function reportCommand(dir: string): Promise<void> {
  if (isSweepDir(dir)) {
    const r = await renderSweepReport(dir);
    console.log(r.table);
    console.log(
      `runs: ${r.complete} of ${r.total} complete${r.missing ? ` (${r.missing} missing: rerun the sweep with --resume)` : ""}`,
    );
    console.log(`report: ${r.reportPath}`);
    return;
  }
  if (!existsSync(join(dir, "summary.json"))) {
    throw new ResultsError(`${dir}: not a topocast results directory (no summary.json or sweep index.json)`);
  }
  const s = readSummary(dir);
  const path = await renderRunReport(dir);
  console.log(workloadLine(s));
  console.log(textTable(overallRows(s)));
  console.log(textTable(bucketRows(s)));
  console.log(`report: ${path}`);
}
