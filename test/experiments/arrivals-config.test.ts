/**
 * The config's `workload.arrivals`: absent or "per-pair" draws a Poisson process per pair (a chain per pair in the
 * scenario's flow schedule), "superposed" one process per demand interval (one chain per interval); another value
 * is refused naming the field.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { parseConfig } from "../../experiments/config/load.ts";
import { buildScenario } from "../../experiments/scenario.ts";
import { scenarioSchedule } from "../../sim/engine/schedule.ts";

function config(arrivals: string): string {
  return `name: arrivals
topology:
  generator: {kind: ring, n: 5}
  links: {capacity: 1Gbps, delay: 2ms}
workload:
  tm: {kind: uniform}
  window: {duration: 2s}
  load: {targetMlu: 0.5}
${arrivals}
policies:
  - name: shortest-path
`;
}

describe("workload.arrivals", () => {
  const cases: [string, string, "per-pair" | "superposed"][] = [
    ["absent: per pair", "", "per-pair"],
    ["per-pair", "  arrivals: per-pair", "per-pair"],
    ["superposed", "  arrivals: superposed", "superposed"],
  ];
  for (const [name, line, kind] of cases) {
    test(name, () => {
      const { scenario, workload } = buildScenario(parseConfig(config(line), "a.yaml", "."), 0);
      const schedule = scenarioSchedule(scenario);
      const chains = schedule.sources.map((s) => s.chains.length);
      // 20 ordered pairs, all with flows at this load over 2 s; superposed: one chain for the one interval.
      assert.deepEqual(chains, kind === "per-pair" ? [20] : [1]);
      const n = schedule.flows.length;
      assert.ok(Math.abs(n - workload.expectedFlows) < 5 * Math.sqrt(workload.expectedFlows), `${n} flows`);
    });
  }

  test("an interval's demands are built from the matrix when read, not stored (equal on each read)", () => {
    const { scenario } = buildScenario(parseConfig(config(""), "a.yaml", "."), 0);
    const iv = scenario.intervals[0]!;
    const first = iv.demands;
    assert.equal(first.length, 20);
    assert.deepEqual(iv.demands, first);
    assert.notEqual(iv.demands, first);
  });

  test("absent keeps the config as it was (no arrivals field in the effective config)", () => {
    assert.equal(parseConfig(config(""), "a.yaml", ".").config.workload.arrivals, undefined);
  });

  test("another value is refused, naming the field and the allowed values", () => {
    assert.throws(
      () => parseConfig(config("  arrivals: poisson"), "a.yaml", "."),
      (e: Error) => e.message.includes("workload.arrivals") && e.message.includes("superposed"),
    );
  });
});
