import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { loadConfig } from "../../experiments/config/load.ts";
import { writeRunDir } from "../../experiments/results.ts";
import { runExperiment } from "../../experiments/run-experiment.ts";
import { REPO_ROOT } from "../helpers/shared-data.ts";
import { topocastInProcess as topocast } from "./run-cli.ts";

const dir = mkdtempSync(join(tmpdir(), "topocast-report-"));
after(() => rmSync(dir, { recursive: true, force: true }));

describe("results and report", () => {
  const out = join(dir, "ci-ring");

  it("writes config, manifest, summary and the four CSVs of a run", async () => {
    const r = await runExperiment(loadConfig(join(REPO_ROOT, "experiments/configs/ci-ring.yaml")), {
      out,
      report: false,
    });
    assert.deepEqual(readdirSync(out).sort(), [
      "actions.csv",
      "config.json",
      "flows.csv",
      "links.csv",
      "manifest.json",
      "summary.json",
      "timeseries.csv",
    ]);
    const manifest = JSON.parse(readFileSync(join(out, "manifest.json"), "utf8"));
    for (const k of [
      "topocast",
      "gitCommit",
      "node",
      "configHash",
      "seed",
      "run",
      "engine",
      "predictorBackend",
      "wallSeconds",
    ]) {
      assert.ok(k in manifest, `manifest.json has ${k}`);
    }
    assert.equal(manifest.engine, "sim");
    // The cost of deciding, per policy: wall ms per control step, the same steps for every policy (same window).
    for (const p of manifest.policies) {
      assert.ok(p.decisions.steps > 0, p.policy);
      assert.equal(p.decisions.steps, manifest.policies[0].decisions.steps, p.policy);
      assert.ok(p.decisions.p95Ms <= p.decisions.maxMs && p.decisions.meanMs <= p.decisions.maxMs, p.policy);
    }
    assert.doesNotMatch(
      readFileSync(join(out, "summary.json"), "utf8"),
      /\bwall|startedAt/i, // a word starting with "wall" (not the verb setFirewall in an action count)
      "no wall times in summary.json",
    );
    assert.match(readFileSync(join(out, "flows.csv"), "utf8"), /^policy,flow,src,dst,size_bytes,/);
    // actions.csv: one row per control action, as many per policy as its summary counts.
    const actionRows = readFileSync(join(out, "actions.csv"), "utf8").trim().split("\n");
    assert.match(actionRows[0]!, /^policy,time_ns,verb,outcome,/);
    for (const p of r.summary.policies) {
      const n = actionRows.filter((l) => l.startsWith(`${p.policy},`)).length;
      assert.equal(n, p.overhead.controlActions, `${p.policy}: actions.csv rows vs overhead.controlActions`);
    }
    assert.equal(r.summary.policies.length, 3);
  });

  it("re-renders plots and a self-contained report.html from the stored files", async () => {
    const r = await topocast(["report", out]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /report: .*report\.html/);
    for (const p of ["fct-cdf", "slowdown-cdf", "slowdown-by-size", "mlu-over-time"]) {
      for (const ext of ["svg", "png", "vl.json"])
        assert.ok(existsSync(join(out, "plots", `${p}.${ext}`)), `${p}.${ext}`);
    }
    const html = readFileSync(join(out, "report.html"), "utf8");
    assert.equal((html.match(/<svg/g) ?? []).length, 4);
    assert.doesNotMatch(html, /(src|href)="(https?:)?\/\//, "no external resources");
    assert.match(html, /shortest-path-stall/);
    assert.match(html, /&quot;name&quot;: &quot;ci-ring&quot;/, "the config is inlined");
  });

  it("leaves no complete-looking directory when a run is interrupted", async () => {
    const target = join(dir, "interrupted");
    await assert.rejects(
      writeRunDir(target, (tmp) => {
        assert.ok(existsSync(tmp));
        throw new Error("killed");
      }),
      /killed/,
    );
    assert.equal(existsSync(target), false);
    assert.deepEqual(
      readdirSync(dir).filter((f) => f.includes("partial")),
      [],
    );
  });
});
