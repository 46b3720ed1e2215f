/**
 * A traffic-matrix series seen per link (models/workload/link-series.ts): each directed link's offered utilization
 * per interval on least-delay paths, and clear errors for series whose nodes the topology lacks; and `topocast
 * predict --series links` evaluating forecasters on it.
 */
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { runPredict } from "../../../experiments/run-predict.ts";
import { WorkloadError } from "../../../models/workload/errors.ts";
import { linkUtilizationMatrix } from "../../../models/workload/link-series.ts";
import type { TrafficMatrixSeries } from "../../../models/workload/tm-series.ts";
import { TopologyBuilder } from "../../../sim/substrate/topology.ts";

const MS = 1e6;

/**
 *   A --1ms-- B --1ms-- C        1 Gbit/s each way; A -> C takes A->B->C (2 ms) over A->C (5 ms)
 *    \________5ms______/
 */
function triangle() {
  return new TopologyBuilder("tri", "test", { capacityBps: 1e9 })
    .addNode({ id: "A" })
    .addNode({ id: "B" })
    .addNode({ id: "C" })
    .addLink("A", "B", { delayNs: 1 * MS })
    .addLink("B", "C", { delayNs: 1 * MS })
    .addLink("A", "C", { delayNs: 5 * MS })
    .build();
}

/** Rows of [A->B, A->C, B->A, B->C, C->A, C->B] rates, bits/s. */
function series(rows: number[][], nodes = ["A", "B", "C"]): TrafficMatrixSeries {
  const rates = rows.map(([ab, ac, ba, bc, ca, cb]) =>
    Float64Array.from([0, ab!, ac!, ba!, 0, bc!, ca!, cb!, 0]),
  );
  return {
    source: "test series",
    nodes,
    intervalNs: 300e9,
    startNs: Float64Array.from(rows, (_, t) => t * 300e9),
    labels: undefined,
    rates,
  };
}

describe("link utilization series", () => {
  const cases = [
    {
      name: "A->C rides A->B->C; B->C adds to B->C",
      rows: [[100e6, 200e6, 0, 300e6, 0, 0]],
      want: { "A->B": 0.3, "B->C": 0.5, "A->C": 0, "C->A": 0 },
    },
    {
      name: "reverse traffic loads the reverse links only",
      rows: [[0, 0, 0, 0, 400e6, 100e6]],
      want: { "A->B": 0, "B->A": 0.4, "C->B": 0.5, "C->A": 0 },
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const topo = triangle();
      const m = linkUtilizationMatrix(series(c.rows), topo);
      assert.deepEqual(
        m.pairs,
        topo.links.map((l) => l.id),
      );
      for (const [id, u] of Object.entries(c.want)) {
        assert.ok(
          Math.abs(m.rows[0]![topo.link(id)]! - u) < 1e-12,
          `${id}: ${m.rows[0]![topo.link(id)]} != ${u}`,
        );
      }
      assert.equal(m.endNs[0], 300e9);
    });
  }

  it("names the series' nodes the topology lacks", () => {
    assert.throws(
      () => linkUtilizationMatrix(series([[1, 1, 1, 1, 1, 1]], ["A", "B", "X"]), triangle()),
      (e: unknown) => e instanceof WorkloadError && /node\(s\) X not in topology tri/.test(e.message),
    );
  });

  it("topocast predict evaluates forecasters on it, in utilization", async () => {
    const out = mkdtempSync(join(tmpdir(), "topocast-predict-links-"));
    try {
      const rows = Array.from({ length: 40 }, (_, t) => {
        const x = 1e8 * (2 + Math.sin(t / 3));
        return [x, x / 2, x / 4, x, x / 3, x / 5];
      });
      const topo = triangle();
      const r = await runPredict({
        tm: "in memory",
        train: 0.5,
        predictors: ["lv", "ewma"],
        horizon: 2,
        out,
        loadSeries: () => series(rows),
        view: {
          columns: "links",
          unit: "utilization",
          note: "directed links",
          matrix: (s) => linkUtilizationMatrix(s, topo),
          plot: { scale: 1, axis: "offered utilization", facet: "link" },
        },
      });
      const json = JSON.parse(readFileSync(r.files.json, "utf8"));
      assert.equal(json.series, "links");
      assert.equal(json.pairs, topo.linkCount);
      assert.equal(json.normalization.unit, "utilization");
      assert.ok(r.maxValue > 0.3 && r.maxValue < 1, `max utilization ${r.maxValue}`);
      assert.deepEqual(
        r.records.map((x) => `${x.predictor}@${x.horizon}`),
        ["lv@1", "lv@2", "ewma@1", "ewma@2"],
      );
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });
});
