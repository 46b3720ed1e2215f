/**
 * The engine contract (sim/engine/records.ts): the fluid simulator and the emulator both run a scenario's policy
 * through `Engine.run(scenario, policy)` and return the same shape of records, with the same ideal FCT for the same
 * flow. The simulator always runs; the emulator when root (real namespaces).
 *
 *          n0 ---- 100 Mbit/s, 1 ms ---- n1
 *            \                          /
 *        1 Gbit/s, 5 ms          1 Gbit/s, 5 ms        flows n0 -> n1 of 200 kB: the direct link is the default
 *               \                    /                 route (least delay), the way via n2 the best one alone
 *                 -------- n2 -------                  (1.6 + 10 ms against 16 + 1 ms): the ideal FCT's
 *
 * The policy pins n0 -> n1 via n2 at its first control step, so each engine records one action.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { emulationEngine } from "../../emulate/engine.ts";
import { emulatedWindowNs } from "../../emulate/run-settings.ts";
import { parseConfig } from "../../experiments/config/load.ts";
import { emulationSettings } from "../../experiments/emulate-experiment.ts";
import { buildScenario } from "../../experiments/scenario.ts";
import type { Policy } from "../../models/policies/types.ts";
import { flowsBefore } from "../../models/workload/flow-schedule.ts";
import type { Engine, RunRecords } from "../../sim/engine/records.ts";
import { simEngine } from "../../sim/engine/run.ts";
import { scenarioSchedule } from "../../sim/engine/schedule.ts";
import type { EnginePolicy, Scenario } from "../../sim/engine/types.ts";
import type { FlowRow } from "../../sim/metrics/flow-stats.ts";
import { IdealFct } from "../../sim/substrate/ideal-fct.ts";
import { TopologyBuilder } from "../../sim/substrate/topology.ts";
import { capabilities, needs } from "../helpers/emulation.ts";

const MS = 1_000_000;
const CONFIG = `name: engine-contract
seed: 3
topology: {generator: {kind: line, n: 3}, links: {capacity: 1Gbps, delay: 5ms}}
workload: {tm: {kind: uniform}, window: {duration: 400ms}, load: {targetMlu: 0.1, reference: hops}}
policies: [{name: shortest-path}]
control: {interval: 100ms}
metrics: {interval: 100ms}
emulation: {rateScale: 0.05, drain: 20s}
`;

const dir = mkdtempSync(join(tmpdir(), "topocast-engine-contract-"));
after(() => rmSync(dir, { recursive: true, force: true }));

function triangle() {
  return new TopologyBuilder("triangle", "test")
    .addNode({ id: "n0" })
    .addNode({ id: "n1" })
    .addNode({ id: "n2" })
    .addLink("n0", "n1", { capacityBps: 100e6, delayNs: 1 * MS })
    .addLink("n0", "n2", { capacityBps: 1e9, delayNs: 5 * MS })
    .addLink("n2", "n1", { capacityBps: 1e9, delayNs: 5 * MS })
    .build();
}

/** Pins n0 -> n1 via n2 once. */
const pinViaN2 = (): Policy => {
  let done = false;
  return {
    name: "pin-via-n2",
    async decide(_obs, ctl) {
      if (done) return;
      done = true;
      await ctl.setRoute({ src: "n0", dst: "n1" }, ["n0", "n2", "n1"]);
    },
  };
};

const loaded = parseConfig(CONFIG, join(dir, "contract.yaml"), dir);
const base = buildScenario(loaded, 0).scenario;
const scenario: Scenario = {
  ...base,
  topology: triangle(),
  // About 10 flows of 200 kB from n0 to n1 in 400 ms (40 Mbit/s).
  intervals: [{ startNs: 0, endNs: 400 * MS, demands: [{ src: 0, dst: 1, rateBps: 40e6 }] }],
  trainingIntervals: [],
  flowSizes: { sample: () => 200_000, mean: () => 200_000 },
};
const policy: EnginePolicy = { ...base.policies[0]!, label: "pin", controller: pinViaN2 };
const settings = emulationSettings(loaded.config);
const flows = flowsBefore(scenarioSchedule(scenario), emulatedWindowNs(scenario, settings));

/** What every engine's records satisfy, whatever the engine. */
function checkContract(engine: Engine, r: RunRecords): void {
  const topo = scenario.topology;
  assert.equal(r.label, "pin");
  assert.equal(r.overhead.engine, engine.name, "the overhead is tagged by the engine that measured it");
  assert.equal(r.flowCounts.started, flows.length, "the scenario's flows, all of them");
  assert.equal(r.flowCounts.completed + r.flowCounts.unfinished, r.flowCounts.started);
  assert.equal(r.flows.count, r.flowCounts.completed);
  assert.equal(r.flowStats.count, r.flows.count);
  const rows = [...r.flows.byFlowId()];
  assert.deepEqual(
    rows.map((f) => f.flow),
    [...rows.map((f) => f.flow)].sort((a, b) => a - b),
    "flows by id",
  );
  const ideal = new IdealFct(topo);
  for (const f of rows) {
    assert.equal(f.idealFctNs, ideal.ns(f.src, f.dst, f.sizeBytes), `flow ${f.flow}: the one ideal FCT`);
    assert.ok(Math.abs(f.slowdown - f.fctNs / f.idealFctNs) < 1e-9, `flow ${f.flow}: slowdown = FCT / ideal`);
  }
  assert.equal(r.links.linkCount, topo.linkCount);
  assert.equal(r.links.startNs.length, r.linkStats.intervals);
  assert.equal(r.links.bits.length, r.linkStats.intervals * topo.linkCount);
  assert.equal(r.timeseries.length, r.linkStats.intervals);
  assert.deepEqual(
    r.actions.map((a) => [a.verb, a.outcome, a.args]),
    [["setRoute", "ok", { pair: { dst: "n1", src: "n0" }, path: ["n0", "n2", "n1"] }]],
    "the policy's action, recorded by the recording decorator",
  );
  assert.equal(r.overhead.controlActions, r.actions.length);
  assert.deepEqual(r.recoveries, [], "no failures, nothing to recover");
}

describe("the engine contract", async () => {
  const skipEmulation = await needs(["veth", "htb"]);
  const records = new Map<string, RunRecords>();

  it("has flows whose best path alone is not their default route (so the ideal FCT is the best path's)", () => {
    assert.ok(flows.length >= 5, `${flows.length} flows`);
    assert.equal(new IdealFct(scenario.topology).ns(0, 1, 200_000), 1.6 * MS + 10 * MS);
  });

  it("the fluid simulator satisfies it", async () => {
    const engine = simEngine();
    const r = await engine.run(scenario, policy);
    checkContract(engine, r);
    assert.equal(r.flowCounts.unfinished, 0);
    records.set("sim", r);
  });

  it("the emulator satisfies it", { skip: skipEmulation }, async () => {
    const engine = emulationEngine(flows, settings, { capabilities: await capabilities(), dir });
    const r = await engine.run(scenario, policy);
    checkContract(engine, r);
    assert.ok(r.actions[0]!.wallNs! > 0, "the emulator measures each action's wall latency");
    records.set("emulate", r);
  });

  it("gives the same flow the same ideal FCT in both engines", { skip: skipEmulation }, () => {
    const byId = (r: RunRecords) => new Map<number, FlowRow>([...r.flows.byFlowId()].map((f) => [f.flow, f]));
    const sim = byId(records.get("sim")!);
    const emu = byId(records.get("emulate")!);
    assert.ok(emu.size > 0);
    for (const [id, f] of emu) assert.equal(f.idealFctNs, sim.get(id)?.idealFctNs, `flow ${id}`);
  });
});
