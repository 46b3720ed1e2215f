/**
 * A sweep over samples (issue 18): `sweep.samples` and `sweep.references` checked against the grid and the
 * policies, runs grouped by the other grid keys and paired by run, and `topocast sweep` writing the intervals.
 */
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { parseConfig } from "../../experiments/config/load.ts";
import type { PolicySummary } from "../../experiments/policy-summary.ts";
import { MLU_BOUND_ROW, type SampleRun, sweepConfidence } from "../../experiments/stats/sweep-confidence.ts";
import { expandSweep } from "../../experiments/sweep.ts";
import { topocastInProcess as topocast } from "./run-cli.ts";

const dir = mkdtempSync(join(tmpdir(), "topocast-sweep-samples-"));
after(() => rmSync(dir, { recursive: true, force: true }));

const CONFIG = `name: tiny-windows
topology: {generator: {kind: ring, n: 6}, links: {capacity: 10Gbps, delay: 2ms}}
workload: {window: {start: 0s, duration: 300ms}, load: {targetMlu: 0.6}}
policies: [{name: shortest-path}, {name: ecmp, params: {weight: hops}}]
sweep:
  grid: {workload.window.start: [0s, 10min]}
  seeds: [1, 2, 3]
  samples: [workload.window.start]
  references: [shortest-path]
`;

describe("sweep samples and references", () => {
  const bad = [
    {
      name: "a sample key that is not a grid key",
      text: CONFIG.replace("samples: [workload.window.start]", "samples: [workload.load.targetMlu]"),
      error: /sweep\.samples\[0\]: "workload\.load\.targetMlu" is not a key of sweep\.grid/,
    },
    {
      name: "a reference that is not a policy label",
      text: CONFIG.replace("references: [shortest-path]", "references: [shortest-path, reactive]"),
      error: /sweep\.references\[1\]: "reactive" is not a policy label \(labels: "shortest-path", "ecmp"\)/,
    },
  ];
  for (const b of bad) {
    it(`rejects ${b.name}, naming the entry`, () => {
      assert.throws(() => expandSweep(parseConfig(b.text, "w.yaml", dir)), b.error);
    });
  }
});

/** A policy summary with only the fields the sweep report reads. */
function policy(name: string, slowdownMean: number): PolicySummary {
  const summary = {
    policy: name,
    flowCounts: { started: 1, completed: 1, unfinished: 0 },
    flows: { fctNs: null, slowdown: { mean: slowdownMean, p99: null }, buckets: [], goodputBps: 0 },
    links: { peakMlu: 1, meanMlu: 0.5 },
  };
  return summary as unknown as PolicySummary;
}

describe("sweep confidence over samples", () => {
  // Four windows x two failure settings; "b" is 1 lower than "a" in every window without the failure and
  // equal with it.
  const runs: SampleRun[] = [];
  for (const [w, start] of ["0h", "6h", "12h", "18h"].entries()) {
    for (const failures of ["none", "one"]) {
      const a = 5 + w;
      runs.push({
        id: `${start}-${failures}`,
        params: { "workload.window.start": start, failures },
        seed: 1,
        run: 0,
        policies: [policy("a", a), policy("b", failures === "none" ? a - 1 : a)],
      });
    }
  }
  const c = sweepConfidence(runs, ["workload.window.start", "failures"], ["workload.window.start"], ["a"]);

  it("groups runs by the grid keys that are not samples, each group with all its windows", () => {
    assert.deepEqual(
      c.groups.map((g) => [g.params, g.samples.length]),
      [
        [{ failures: "none" }, 4],
        [{ failures: "one" }, 4],
      ],
    );
  });

  it("gives each policy's mean with its interval over the windows", () => {
    const a = c.groups[0]!.policies.find((p) => p.policy === "a")!.metrics["slowdown.mean"]!;
    assert.equal(a.mean, 6.5);
    assert.ok(a.lo! < 6.5 && a.hi! > 6.5);
  });

  it("pairs the policies window by window: a constant difference has a zero-width interval", () => {
    const none = c.groups[0]!.paired.find((p) => p.policy === "b" && p.metric === "slowdown.mean")!;
    assert.deepEqual([none.difference.mean, none.difference.lo, none.difference.hi], [-1, -1, -1]);
    assert.equal(none.ciIncludesZero, false);
    assert.deepEqual(none.signs, { less: 4, equal: 0, greater: 0 });
    const one = c.groups[1]!.paired.find((p) => p.policy === "b" && p.metric === "slowdown.mean")!;
    assert.equal(one.ciIncludesZero, true);
  });

  it("adds the runs' min-MLU bound as a row with its mean MLU only, paired with the references", () => {
    const bounded = runs.map((r, i) => ({ ...r, mluBound: 0.25 + i / 100 }));
    const g = sweepConfidence(
      bounded,
      ["workload.window.start", "failures"],
      ["workload.window.start"],
      ["a"],
    ).groups[0]!;
    const row = g.policies.at(-1)!;
    assert.equal(row.policy, MLU_BOUND_ROW, "after the policies");
    assert.deepEqual(Object.keys(row.metrics), ["mlu.mean"]);
    assert.equal(row.metrics["mlu.mean"]!.mean, 0.28, "runs 0, 2, 4, 6 of the group without the failure");
    const paired = g.paired.filter((p) => p.policy === MLU_BOUND_ROW);
    assert.deepEqual(
      paired.map((p) => [p.metric, +p.difference.mean.toFixed(2)]),
      [["mlu.mean", -0.22]],
    );
    assert.equal(
      c.groups[0]!.policies.some((p) => p.policy === MLU_BOUND_ROW),
      false,
      "no row without a bound",
    );
  });

  it("leaves out metrics a policy does not report rather than pairing nulls", () => {
    assert.equal(c.groups[0]!.policies[0]!.metrics["fct.mean"], undefined);
    assert.equal(
      c.groups[0]!.paired.some((p) => p.metric === "fct.mean"),
      false,
    );
  });
});

describe("topocast sweep over samples", () => {
  it("writes sweep-summary.json with intervals over grid values x seeds and prints the paired table", async () => {
    const file = join(dir, "tiny-windows.yaml");
    writeFileSync(file, CONFIG);
    const out = join(dir, "out");
    const r = await topocast(["sweep", file, "--jobs", "2", "--out", out]);
    assert.equal(r.code, 0, r.stderr);
    const s = JSON.parse(readFileSync(join(out, "sweep-summary.json"), "utf8"));
    assert.deepEqual(s.sampleKeys, ["workload.window.start"]);
    assert.equal(s.groups.length, 1, "the only grid key is a sample key: one group");
    assert.equal(s.groups[0].samples.length, 6, "2 windows x 3 seeds");
    assert.deepEqual(
      [
        ...new Set(
          s.groups[0].paired.map((p: { policy: string; reference: string }) => `${p.policy}-${p.reference}`),
        ),
      ],
      ["ecmp-shortest-path"],
    );
    assert.match(r.stdout, /95% confidence intervals/);
    assert.match(r.stdout, /ecmp - shortest-path/);
  });
});
