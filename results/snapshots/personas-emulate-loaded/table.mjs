// Per summary.json given: per policy, p99 FCT (ms) of trading and ledger, transfer rate (Mbit/s) of stream and ml
// (summary.json `applications`), skipped control steps and egress drops (emulated runs), and the change against
// shortest path.
import { readFileSync } from "node:fs";

for (const file of process.argv.slice(2)) {
  const s = JSON.parse(readFileSync(file, "utf8"));
  const rows = s.policies.map((p) => {
    const a = Object.fromEntries(p.applications.applications.map((x) => [x.name, x]));
    return {
      policy: p.name,
      trading: a.trading.fctNs.p99 / 1e6,
      ledger: a.ledger.fctNs.p99 / 1e6,
      stream: a.stream.transferRateBps / 1e6,
      ml: a.ml.transferRateBps / 1e6,
      skipped: p.overhead?.skippedControlSteps ?? "-",
      drops: p.overhead?.egressDrops ?? "-",
    };
  });
  const sp = rows.find((r) => r.policy === "shortest-path");
  const pct = (r, k) => (sp && r !== sp ? ` (${r[k] >= sp[k] ? "+" : ""}${((r[k] / sp[k] - 1) * 100).toFixed(0)}%)` : "");
  console.log(file);
  for (const r of rows)
    console.log(
      `| ${r.policy} | ${r.trading.toFixed(2)} ms${pct(r, "trading")} | ${r.ledger.toFixed(2)} ms${pct(r, "ledger")} | ${r.stream.toFixed(1)}${pct(r, "stream")} / ${r.ml.toFixed(1)}${pct(r, "ml")} Mbit/s | ${r.skipped} | ${r.drops} |`,
    );
}
