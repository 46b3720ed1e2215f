/**
 * The cost of deciding (experiments/decision-cost.ts): manifest.json's decision times against the control interval in
 * wall time, flagged beyond it; the emulator's interval is stretched by its time compression.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { decisionCost } from "../../experiments/decision-cost.ts";

const timing = (maxMs: number) => ({ steps: 4, meanMs: maxMs / 2, p95Ms: maxMs, maxMs, totalMs: 2 * maxMs });
const manifest = (engine: "sim" | "emulate", maxMs: number[]) => ({
  engine,
  policies: maxMs.map((m, i) => ({ policy: `p${i}`, events: 1, wallSeconds: 1, decisions: timing(m) })),
});

describe("the cost of deciding", () => {
  const cases = [
    {
      name: "sim, 500 ms interval, one slow policy",
      engine: "sim",
      config: { control: { interval: "500ms" } },
      maxMs: [3, 700],
      intervalMs: 500,
      flagged: ["p1"],
    },
    {
      name: "sim, default 1 s interval",
      engine: "sim",
      config: {},
      maxMs: [999],
      intervalMs: 1000,
      flagged: [],
    },
    {
      name: "emulate: the interval in wall time is divided by the time compression",
      engine: "emulate",
      config: { control: { interval: "500ms" }, emulation: { timeCompression: 0.1 } },
      maxMs: [700, 5001],
      intervalMs: 5000,
      flagged: ["p1"],
    },
  ] as const;
  for (const c of cases) {
    it(c.name, () => {
      const d = decisionCost(manifest(c.engine, [...c.maxMs]), c.config)!;
      assert.equal(d.intervalMs, c.intervalMs);
      assert.deepEqual(
        d.flagged.map((f) => f.split(":")[0]),
        c.flagged,
      );
      assert.deepEqual(
        d.rows.rows.map((r) => r.at(-1)),
        c.maxMs.map((m) => (m > c.intervalMs ? "yes" : "no")),
      );
    });
  }

  it("is null for a manifest written before decision times existed", () => {
    assert.equal(
      decisionCost(
        JSON.parse('{"engine": "sim", "policies": [{"policy": "a", "events": 1, "wallSeconds": 1}]}'),
        null,
      ),
      null,
    );
  });
});
