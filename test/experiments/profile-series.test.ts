import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { appsView, seriesView } from "../../experiments/predict-command.ts";
import { PROFILE_CSV_HEADER } from "../../experiments/profile-csv.ts";
import { readProfileSeries } from "../../experiments/profile-series.ts";
import { runPredict } from "../../experiments/run-predict.ts";

const dir = mkdtempSync(join(tmpdir(), "topocast-profile-series-"));
after(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, lines: readonly string[]): string {
  const path = join(dir, name);
  writeFileSync(path, `${lines.join("\n")}\n`);
  return path;
}

/** Two policies, 0.5 s intervals; interval 1 of "a" has no "x->y" row (a zero), "tm" rows are left out. */
const PROFILE = file("profile.csv", [
  PROFILE_CSV_HEADER,
  "a,0,500000000,tm,1000,1",
  "a,0,500000000,x->y,125,1",
  'a,0,500000000,"y->x",250,2',
  "a,500000000,1000000000,y->x,500,1",
  "a,1000000000,1500000000,x->y,62.5,1",
  "b,0,500000000,x->y,999,1",
]);

describe("per-application series from profile.csv (predict --series apps)", () => {
  it("reads each application pair's rate per interval of one policy, zeros where it has no row", () => {
    for (const c of [
      {
        policy: undefined,
        chosen: "a",
        rows: [
          [2000, 4000],
          [0, 8000],
          [1000, 0],
        ],
      },
      { policy: "b", chosen: "b", rows: [[15984]] },
    ]) {
      const s = readProfileSeries(PROFILE, c.policy);
      assert.equal(s.policy, c.chosen);
      assert.equal(s.intervalNs, 500e6);
      assert.deepEqual(s.matrix.pairs, c.chosen === "a" ? ["x->y", "y->x"] : ["x->y"]);
      assert.deepEqual(
        s.matrix.rows.map((r) => Array.from(r)),
        c.rows,
      );
      assert.deepEqual(
        Array.from(s.matrix.endNs),
        c.rows.map((_, t) => (t + 1) * 500e6),
      );
    }
  });

  it("names the file, line and what is wrong", () => {
    const cases = [
      { lines: ["policy,start,end", "a,0,1,x,1,1"], msg: /:1: expected the profile.csv header/ },
      { lines: [PROFILE_CSV_HEADER, "a,0,1,x,1"], msg: /:2: expected 6 fields/ },
      { lines: [PROFILE_CSV_HEADER, "a,5,1,x,1,1"], msg: /:2: expected start_ns < end_ns/ },
      { lines: [PROFILE_CSV_HEADER, "a,0,10,tm,1,1"], msg: /no application pairs besides "tm"/ },
      { lines: [PROFILE_CSV_HEADER, "a,0,10,x,1,1", "a,5,15,x,1,1"], msg: /off the 10 ns grid/ },
    ];
    cases.forEach((c, k) => {
      const path = file(`bad${k}.csv`, c.lines);
      assert.throws(() => readProfileSeries(path), c.msg);
    });
    assert.throws(() => readProfileSeries(PROFILE, "c"), /no rows of policy "c"; policies in the file: a, b/);
    assert.throws(() => seriesView("pairs", undefined, "a"), /--policy: only for --series apps/);
  });

  it("runs the evaluation on the application columns", async () => {
    const rows = [PROFILE_CSV_HEADER];
    for (let t = 0; t < 40; t++) {
      rows.push(`a,${t * 1e9},${(t + 1) * 1e9},x->y,${1000 + 100 * (t % 4)},1`);
      rows.push(`a,${t * 1e9},${(t + 1) * 1e9},y->x,${500 + t},1`);
    }
    const out = join(dir, "out");
    const result = await runPredict({
      tm: file("long.csv", rows),
      train: 0.5,
      predictors: ["lv", "ewma"],
      horizon: 2,
      out,
      loadSeries: () => {
        throw new Error("the application view reads the file itself");
      },
      view: appsView(undefined),
    });
    assert.equal(result.trainIntervals, 20);
    assert.equal(result.records.length, 4);
    const json = JSON.parse(readFileSync(result.files.json, "utf8"));
    assert.equal(json.series, "applications");
    assert.equal(json.pairs, 2);
    assert.equal(json.nodes, null);
    assert.equal(json.normalization.maxValue, 1300 * 8);
  });
});
