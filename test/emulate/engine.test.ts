/**
 * The emulation engine's pure parts (no root): the flows it replays are exactly the simulator's, the scaling laws,
 * the settings' defaults, and which static policies cannot be routed per pair.
 *
 *   n0 --- n1
 *   |       |
 *   n3 --- n2      4-node ring, 1 Gbps, 2 ms
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { type EmulationRunSettings, emulatedWindowNs } from "../../emulate/run-settings.ts";
import { emulatedBytes, scaleTopology } from "../../emulate/scaling.ts";
import { perFlowPairs } from "../../emulate/static-routes.ts";
import { parseConfig } from "../../experiments/config/load.ts";
import { emulationSettings } from "../../experiments/emulate-experiment.ts";
import { buildScenario } from "../../experiments/scenario.ts";
import { flowsBefore } from "../../models/workload/flow-schedule.ts";
import { runPolicy } from "../../sim/engine/run.ts";
import { scenarioSchedule } from "../../sim/engine/schedule.ts";

function ringConfig(extra = "") {
  const text = `name: emu
seed: 9
topology:
  generator: {kind: ring, n: 4}
  links: {capacity: 1Gbps, delay: 2ms}
workload:
  window: {duration: 500ms}
  load: {targetMlu: 0.5, reference: hops}
policies:
  - name: shortest-path
    params: {weight: hops}
  - name: ecmp
    params: {weight: hops}
  - {name: predictive-overlay, label: overlay-oracle, predictor: {name: oracle}}
${extra}`;
  return parseConfig(text, "emu.yaml", "/");
}

const SETTINGS: EmulationRunSettings = {
  timeCompression: 1,
  rateScale: 1,
  durationNs: null,
  drainNs: 1e9,
  delay: "auto",
  rate: "auto",
  addressBlock: "10.213.0.0/16",
  port: 7000,
  queueNs: null,
  allowDegrade: false,
  maxFlows: 1000,
  checkRates: false,
  conntrack: false,
};

describe("emulation engine, offline", () => {
  it("replays exactly the simulator's flows: ids, endpoints, sizes, arrival times", async () => {
    const { scenario } = buildScenario(ringConfig(), 0);
    const flows = flowsBefore(scenarioSchedule(scenario), emulatedWindowNs(scenario, SETTINGS));
    const sim = await runPolicy(scenario, scenario.policies[0]!);
    const nodes = scenario.topology.nodes;
    const simRows = [...sim.flows.byFlowId()].map(
      (f) => `${f.flow},${nodes[f.src]!.id},${nodes[f.dst]!.id},${f.sizeBytes},${f.startNs}`,
    );
    const ours = flows.map(
      (f) => `${f.id},${nodes[f.src]!.id},${nodes[f.dst]!.id},${f.sizeBytes},${f.startNs}`,
    );
    assert.ok(flows.length > 20, `only ${flows.length} flows`);
    assert.deepEqual(ours, simRows);
  });

  it("an emulated window is a prefix of the flows, in arrival order", () => {
    const { scenario } = buildScenario(ringConfig(), 0);
    const all = flowsBefore(scenarioSchedule(scenario), emulatedWindowNs(scenario, SETTINGS));
    const part = flowsBefore(
      scenarioSchedule(scenario),
      emulatedWindowNs(scenario, { ...SETTINGS, durationNs: 200e6 }),
    );
    assert.ok(part.length > 0 && part.length < all.length);
    assert.deepEqual(part, all.slice(0, part.length));
    assert.ok(part.every((f) => f.startNs < 200e6));
  });

  const scalings = [
    { rateScale: 1, timeCompression: 1, capacity: 1e9, delay: 2e6 },
    { rateScale: 0.01, timeCompression: 1, capacity: 1e7, delay: 2e6 },
    { rateScale: 0.001, timeCompression: 0.1, capacity: 1e6, delay: 2e7 },
    { rateScale: 1, timeCompression: 4, capacity: 1e9, delay: 5e5 },
  ];
  for (const c of scalings) {
    it(`rates x ${c.rateScale} and delays / ${c.timeCompression} keep ids, order and pairing`, () => {
      const { scenario } = buildScenario(ringConfig(), 0);
      const t = scenario.topology;
      const s = scaleTopology(t, c.rateScale, c.timeCompression);
      assert.deepEqual(
        s.links.map((l) => [l.id, l.index, l.reverse]),
        t.links.map((l) => [l.id, l.index, l.reverse]),
      );
      for (const l of s.links) {
        assert.equal(l.capacityBps, c.capacity);
        assert.equal(l.delayNs, c.delay);
      }
    });
  }

  const sizes = [
    { bytes: 1_000_000, rateScale: 0.01, timeCompression: 1, expected: 10_000 },
    { bytes: 1_000_000, rateScale: 0.001, timeCompression: 0.1, expected: 10_000 },
    { bytes: 50, rateScale: 0.001, timeCompression: 1, expected: 1 },
    { bytes: 1500, rateScale: 1, timeCompression: 2, expected: 750 },
  ];
  for (const c of sizes) {
    it(`a ${c.bytes}-byte flow is sent as ${c.expected} bytes (x ${c.rateScale} / ${c.timeCompression})`, () => {
      const s = { ...SETTINGS, rateScale: c.rateScale, timeCompression: c.timeCompression };
      assert.equal(emulatedBytes(c.bytes, s), c.expected);
    });
  }

  it("ECMP spreads the two-hop pairs of a ring over two paths; shortest path and control loops do not", () => {
    const { scenario } = buildScenario(ringConfig(), 0);
    const [sp, ecmp] = scenario.policies;
    assert.deepEqual(perFlowPairs(scenario, sp!), []);
    assert.deepEqual(perFlowPairs(scenario, ecmp!), ["n0->n2", "n1->n3", "n2->n0", "n3->n1"]);
  });

  it("the emulation section defaults to real time, real rates, a 10 ms buffer and no degrading", () => {
    const s = emulationSettings(ringConfig().config);
    assert.deepEqual(s, { ...SETTINGS, drainNs: 30e9, queueNs: 10e6, maxFlows: 100_000 });
    const t = emulationSettings(
      ringConfig("emulation: {timeCompression: 0.5, rateScale: 0.01, duration: 2s, queue: 1000p}").config,
    );
    assert.equal(t.timeCompression, 0.5);
    assert.equal(t.rateScale, 0.01);
    assert.equal(t.durationNs, 2e9);
    assert.equal(t.queueNs, null);
  });

  const bad = [
    { extra: "emulation: {timeCompression: 0}", path: /emulation\.timeCompression/ },
    { extra: "emulation: {rateScale: -1}", path: /emulation\.rateScale/ },
    { extra: "emulation: {delay: netem2}", path: /emulation\.delay/ },
    { extra: "emulation: {queue: 10}", path: /emulation\.queue/ },
    { extra: "emulation: {speed: 2}", path: /speed/ },
  ];
  for (const c of bad) {
    it(`a bad emulation section is refused with its field path: ${c.extra}`, () => {
      assert.throws(() => ringConfig(c.extra), c.path);
    });
  }
});
