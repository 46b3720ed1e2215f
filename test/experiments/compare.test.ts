import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { compareSummaries, parseTolerances } from "../../experiments/compare.ts";
import type { RunSummary } from "../../experiments/results.ts";
import { REPO_ROOT } from "../helpers/shared-data.ts";
import { topocast, topocastInProcess } from "./run-cli.ts";

const BASE_DIR = join(REPO_ROOT, "results/baselines/ci-ring");
const base: RunSummary = JSON.parse(readFileSync(join(BASE_DIR, "summary.json"), "utf8"));
const dir = mkdtempSync(join(tmpdir(), "topocast-compare-"));
after(() => rmSync(dir, { recursive: true, force: true }));

/** A copy of the baseline with one policy's statistic changed. */
function variant(name: string, edit: (s: RunSummary) => void): string {
  const s: RunSummary = structuredClone(base);
  edit(s);
  const d = join(dir, name);
  mkdirSync(d, { recursive: true });
  writeFileSync(join(d, "summary.json"), JSON.stringify(s));
  return d;
}

const p99 = (s: RunSummary, f: number) => {
  s.policies[0]!.flows.slowdown!.p99 *= f;
};

describe("compare", () => {
  const cases: { what: string; edit: (s: RunSummary) => void; tol: string[]; regressed: string[] }[] = [
    { what: "identical summaries", edit: () => {}, tol: [], regressed: [] },
    { what: "a p99 slowdown 3% worse, within 5%", edit: (s) => p99(s, 1.03), tol: [], regressed: [] },
    { what: "a p99 slowdown 10% worse", edit: (s) => p99(s, 1.1), tol: [], regressed: ["slowdown.p99"] },
    {
      what: "a p99 slowdown 10% worse with a 20% tolerance for it",
      edit: (s) => p99(s, 1.1),
      tol: ["slowdown.p99=0.2"],
      regressed: [],
    },
    { what: "a p99 slowdown 10% better", edit: (s) => p99(s, 0.9), tol: [], regressed: [] },
    {
      what: "goodput 10% lower (higher is better)",
      edit: (s) => {
        s.policies[0]!.flows.goodputBps! *= 0.9;
      },
      tol: [],
      regressed: ["goodput"],
    },
    {
      what: "a flow left unfinished where none was",
      edit: (s) => {
        s.policies[0]!.flowCounts.unfinished = 1;
      },
      tol: [],
      regressed: ["flows.unfinished"],
    },
  ];
  for (const c of cases) {
    it(`flags ${c.regressed.length ? c.regressed.join(", ") : "nothing"} for ${c.what}`, () => {
      const cur = structuredClone(base);
      c.edit(cur);
      const r = compareSummaries(base, cur, parseTolerances(c.tol));
      assert.deepEqual(
        r.deltas.filter((d) => d.status === "regressed").map((d) => d.metric),
        c.regressed,
      );
    });
  }

  it("counts a policy missing from the current run as a regression", () => {
    const cur = structuredClone(base);
    cur.policies.pop();
    assert.ok(compareSummaries(base, cur, parseTolerances([])).regressions > 0);
  });

  // In this process (runCli: the same exit codes) but for the regression, through bin/topocast.js as CI runs it.
  it("exits 0 without regressions, 1 with one, 2 for bad input", async () => {
    const same = await topocastInProcess(["compare", BASE_DIR, variant("same", () => {})]);
    assert.equal(same.code, 0, same.stderr);
    assert.match(same.stdout, /no regressions/);
    const worse = await topocast(["compare", BASE_DIR, variant("worse", (s) => p99(s, 1.5))]);
    assert.equal(worse.code, 1, worse.stderr);
    assert.match(worse.stdout, /shortest-path .*slowdown\.p99 .*\+50\.00% .*REGRESSED/);
    const loose = await topocastInProcess(["compare", BASE_DIR, join(dir, "worse"), "--tolerance", "0.6"]);
    assert.equal(loose.code, 0, loose.stderr);
    const badTol = await topocastInProcess(["compare", BASE_DIR, BASE_DIR, "--tolerance", "lots"]);
    assert.equal(badTol.code, 2);
    assert.match(badTol.stderr, /--tolerance: expected a number >= 0 or metric=number, got "lots"/);
    const missing = await topocastInProcess(["compare", join(dir, "nowhere"), BASE_DIR]);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /nowhere[/\\]summary\.json: no such file/);
  });
});
