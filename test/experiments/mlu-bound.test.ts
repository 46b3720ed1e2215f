/**
 * The min-MLU bound series of a scenario (experiments/mlu-bound.ts): links up during an interval under failures,
 * the bound per interval on a 4-node ring before, during and after a failure, and `metrics.mluBound` in a run's
 * summary.json.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { loadConfig } from "../../experiments/config/load.ts";
import { linksUpDuring, mluBoundSeries } from "../../experiments/mlu-bound.ts";
import { runExperiment } from "../../experiments/run-experiment.ts";
import type { LinkEvent } from "../../sim/engine/types.ts";
import { TopologyBuilder } from "../../sim/substrate/topology.ts";
import { REPO_ROOT } from "../helpers/shared-data.ts";

const S = 1_000_000_000;
const G = 1e9;

/**
 *   a --- b
 *   |     |     every link 1 Gbit/s both ways
 *   d --- c
 */
function ring() {
  return new TopologyBuilder("ring4", "test")
    .addNode({ id: "a" })
    .addNode({ id: "b" })
    .addNode({ id: "c" })
    .addNode({ id: "d" })
    .addLink("a", "b", { capacityBps: G })
    .addLink("b", "c", { capacityBps: G })
    .addLink("c", "d", { capacityBps: G })
    .addLink("d", "a", { capacityBps: G })
    .build();
}

describe("links up during an interval", () => {
  const down: LinkEvent = { atNs: 10, links: [0, 1], up: false };
  const back: LinkEvent = { atNs: 20, links: [0], up: true };
  const cases: { name: string; failures: LinkEvent[]; from: number; to: number; up: number[] }[] = [
    { name: "no failure", failures: [], from: 0, to: 100, up: [1, 1, 1] },
    { name: "before the failure", failures: [down], from: 0, to: 10, up: [1, 1, 1] },
    {
      name: "a failure inside the interval keeps the link (up at its start)",
      failures: [down],
      from: 5,
      to: 15,
      up: [1, 1, 1],
    },
    { name: "after the failure", failures: [down], from: 10, to: 20, up: [0, 0, 1] },
    { name: "a repair inside the interval counts", failures: [back, down], from: 15, to: 25, up: [1, 0, 1] },
  ];
  for (const c of cases) {
    it(c.name, () => {
      assert.deepEqual([...linksUpDuring(3, c.failures, c.from, c.to)], c.up);
    });
  }
});

describe("min-MLU bound series", () => {
  it("splits a->c over both sides of the ring, and all on one side when the other is down", async () => {
    const topo = ring();
    const a = topo.node("a");
    const c = topo.node("c");
    const demands = [{ src: a, dst: c, rateBps: 1 * G }];
    const ab = topo.linksBetween(a, topo.node("b"));
    const ba = topo.linksBetween(topo.node("b"), a);
    const failures: LinkEvent[] = [
      { atNs: 1 * S, links: [...ab, ...ba], up: false },
      { atNs: 2 * S, links: [...ab, ...ba], up: true },
    ];
    const series = await mluBoundSeries(
      topo,
      [0, 1, 2].map((k) => ({ startNs: k * S, endNs: (k + 1) * S, demands })),
      failures,
    );
    assert.deepEqual(
      series.map((p) => [p.startNs, p.offeredBps, Number(p.mluBound.toFixed(9)), p.unroutableBps]),
      [
        [0, G, 0.5, 0],
        [S, G, 1, 0],
        [2 * S, G, 0.5, 0],
      ],
    );
  });

  it("leaves out a pair cut off by failures and reports its rate", async () => {
    const topo = ring();
    const a = topo.node("a");
    const all = topo.links.filter((l) => l.src === a || l.dst === a).map((l) => l.index);
    const series = await mluBoundSeries(
      topo,
      [
        {
          startNs: 0,
          endNs: S,
          demands: [
            { src: a, dst: topo.node("c"), rateBps: G },
            { src: topo.node("b"), dst: topo.node("d"), rateBps: 0.5 * G },
          ],
        },
      ],
      [{ atNs: 0, links: all, up: false }],
    );
    assert.equal(series[0]!.unroutableBps, G);
    assert.ok(Math.abs(series[0]!.mluBound - 0.5) < 1e-9);
  });
});

describe("metrics.mluBound in a run's summary", () => {
  it("puts the bound of every demand interval and each policy's mean MLU against it in summary.json", async () => {
    const out = mkdtempSync(join(tmpdir(), "topocast-mlu-bound-"));
    try {
      const loaded = loadConfig(join(REPO_ROOT, "experiments/configs/ci-ring.yaml"), {
        set: ["metrics.mluBound=true"],
      });
      const { summary } = await runExperiment(loaded, { out: join(out, "run"), report: false });
      const b = summary.mluBound!;
      assert.ok(b.intervals.length > 0);
      assert.ok(b.mean > 0 && b.mean <= b.max, `mean ${b.mean}, max ${b.max}`);
      assert.deepEqual(
        b.policies.map((p) => p.policy),
        summary.policies.map((p) => p.policy),
      );
      for (const p of b.policies) assert.equal(p.overBound, p.meanMlu! / b.mean, p.policy);
      const plain = await runExperiment(loadConfig(join(REPO_ROOT, "experiments/configs/ci-ring.yaml")), {
        out: join(out, "plain"),
        report: false,
      });
      assert.equal(plain.summary.mluBound, undefined, "absent unless asked");
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });
});
