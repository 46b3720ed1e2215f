import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parseConfig } from "../../experiments/config/load.ts";
import { flowRows } from "../../experiments/flows-csv.ts";
import { linkRows } from "../../experiments/links-csv.ts";
import { policySummary } from "../../experiments/policy-summary.ts";
import { buildScenario } from "../../experiments/scenario.ts";
import type { RunRecords } from "../../sim/engine/records.ts";
import { runPolicy } from "../../sim/engine/run.ts";
import { flowHash } from "../../sim/engine/static-routing.ts";

/**
 * A 4-node ring, 1 Gbps links, hop-count routing:
 *
 *   n0 --- n1
 *   |       |
 *   n3 --- n2
 *
 * n0 -> n2 has two equal-cost paths (via n1 or via n3).
 */
function ring(
  extra = "",
  policies = "  - name: shortest-path\n    params: {weight: hops}\n  - name: ecmp\n    params: {weight: hops}\n",
) {
  const text = `name: engine
seed: 5
topology:
  generator: {kind: ring, n: 4}
  links: {capacity: 1Gbps, delay: 1ms}
workload:
  window: {duration: 400ms}
  load: {targetMlu: 0.6, reference: hops}
policies:
${policies}${extra}`;
  return buildScenario(parseConfig(text, "engine.yaml", "/"), 0).scenario;
}

/** The policy-independent fields of the finished flows (id, endpoints, size, start), by flow id. */
function offered(r: RunRecords): string[] {
  return [...r.flows.byFlowId()].map((f) => `${f.flow},${f.src},${f.dst},${f.sizeBytes},${f.startNs}`);
}

describe("the simulator engine", () => {
  it("offers every policy the same flows: ids, endpoints, sizes and start times", async () => {
    const s = ring();
    const [sp, ecmp] = await Promise.all(s.policies.map((p) => runPolicy(s, p)));
    assert.ok(sp!.flowCounts.started > 50);
    assert.deepEqual(offered(sp!), offered(ecmp!));
  });

  it("gives byte-identical results for the same seed and run", async () => {
    const s = ring();
    const a = await runPolicy(s, s.policies[1]!);
    const b = await runPolicy(ring(), ring().policies[1]!);
    assert.equal(JSON.stringify(policySummary(a)), JSON.stringify(policySummary(b)));
    assert.equal(flowRows(a.flows, s.topology), flowRows(b.flows, s.topology));
    assert.equal(linkRows(a.links, s.topology), linkRows(b.links, s.topology));
  });

  it("spreads ECMP flows of a pair over both equal-cost paths, and shortest-path over one", () => {
    const s = ring();
    const n0 = s.topology.node("n0");
    const n2 = s.topology.node("n2");
    const firstLinks = (policy: number) => {
      const r = s.policies[policy]!.create({ topology: s.topology, seed: s.seed, run: 0 });
      const used = new Set<number>();
      for (let k = 0; k < 32; k++) used.add(r.route(n0, n2, k)![0]!);
      return [...used].sort((a, b) => a - b);
    };
    assert.deepEqual(firstLinks(0), [s.topology.link("n0->n1")]);
    assert.deepEqual(
      firstLinks(1),
      [s.topology.link("n0->n1"), s.topology.link("n0->n3")].sort((a, b) => a - b),
    );
  });

  it("hashes flows with a pure function of (seed, src, dst, flow key)", () => {
    assert.equal(flowHash(1, 2, 3, 4), flowHash(1, 2, 3, 4));
    assert.notEqual(flowHash(1, 2, 3, 4), flowHash(2, 2, 3, 4));
    assert.notEqual(flowHash(1, 2, 3, 4), flowHash(1, 2, 3, 5));
  });

  const failure = "failures:\n  - {at: 100ms, link: n0->n1, state: down}\n";
  const stallOrReroute =
    "  - name: shortest-path\n    params: {weight: hops}\n  - name: shortest-path\n    label: stall\n    params: {weight: hops, reroute: false}\n";

  it("reroutes around a link that stays down, or leaves flows stalled on it without reroute", async () => {
    const s = ring(failure, stallOrReroute);
    const [reroute, stall] = await Promise.all(s.policies.map((p) => runPolicy(s, p)));
    assert.equal(reroute!.flowCounts.unfinished, 0);
    assert.ok(stall!.flowCounts.unfinished > 0);
    assert.equal(stall!.flowCounts.started, stall!.flowCounts.completed + stall!.flowCounts.unfinished);
  });

  it("lets stalled flows finish once the link comes back", async () => {
    const s = ring(`${failure}  - {at: 300ms, link: n0->n1, state: up}\n`, stallOrReroute);
    const stall = await runPolicy(s, s.policies[1]!);
    assert.equal(stall.flowCounts.unfinished, 0);
    assert.ok(stall.flowStats.slowdown!.max > 10, "flows waited for the repair");
  });
});

describe("the simulator engine with control-loop policies", () => {
  const controlled =
    "  - name: shortest-path\n  - name: reactive\n  - name: predictive-overlay\n    predictor: {name: oracle}\n  - name: mirroring\n    predictor: {name: lv}\n";

  it("runs them on the same flows, deterministically, and reports their control overhead", async () => {
    const s = ring("control: {interval: 50ms}\n", controlled);
    const first = await Promise.all(s.policies.map((p) => runPolicy(s, p)));
    const again = await Promise.all(s.policies.map((p) => runPolicy(s, p)));
    assert.equal(JSON.stringify(first.map(policySummary)), JSON.stringify(again.map(policySummary)));
    for (const r of first) assert.equal(r.flowCounts.started, first[0]!.flowCounts.started);
    const overlay = first[2]!.overhead;
    assert.equal(overlay.engine, "sim");
    if (overlay.engine !== "sim") return;
    assert.ok(overlay.controlActions > 0, "the overlay created virtual links");
    assert.ok(overlay.hitRateFlows > 0, "some flows found a ready virtual link");
  });
});
