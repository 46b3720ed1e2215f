/**
 * The sim-vs-emulation table across the simulator's models (`emulation.compareWith`): which config runs each model,
 * the side-by-side table's shape, and the policies' effects against the baseline with their sign agreement. No
 * emulation needed: flows are written as tables.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ConfigError, parseConfig } from "../../experiments/config/load.ts";
import { emulationSettings, simModels } from "../../experiments/emulate-experiment.ts";
import { compareFlows } from "../../experiments/sim-vs-emulation/flow-comparison.ts";
import type { FlowsCsvRow } from "../../experiments/sim-vs-emulation/flows-csv.ts";
import { compareModels } from "../../experiments/sim-vs-emulation/model-table.ts";
import {
  effectRows,
  modelComparisonCsv,
  modelComparisonRows,
  SIM_MODELS_CSV_HEADER,
} from "../../experiments/sim-vs-emulation/output.ts";
import {
  type SimModelVariant,
  type TransportAsConfigured,
  variantOverrides,
} from "../../experiments/sim-vs-emulation/sim-models.ts";
import { flowsTable } from "../helpers/flows-table.ts";

const BUCKETS = { edges: [100], names: ["small", "large"] };

const flows = flowsTable;

describe("the config each simulator model runs (emulation.compareWith)", () => {
  const fluidTcp: TransportAsConfigured = { model: "fluid", tcp: {}, queue: false };
  const plain: TransportAsConfigured = { model: "fluid", tcp: false, queue: false };
  const queued: TransportAsConfigured = { model: "fluid", tcp: {}, queue: "10ms" };
  const packet: TransportAsConfigured = { model: "packet", tcp: {}, queue: false };
  const cases: [string, SimModelVariant, TransportAsConfigured, string, string[], number?][] = [
    ["the config's own model needs no override", "fluid-tcp", fluidTcp, "10ms", []],
    ["max-min drops TCP start-up", "fluid", fluidTcp, "10ms", ["transport.tcp=false"]],
    [
      "max-min drops fluid queues too",
      "fluid",
      queued,
      "10ms",
      ["transport.tcp=false", "transport.queue=false"],
    ],
    ["the TCP-aware model turns TCP start-up on", "fluid-tcp", plain, "10ms", ["transport.tcp={}"]],
    ["the packet model keeps 10 ms FIFOs by default", "packet", fluidTcp, "10ms", ["transport.model=packet"]],
    [
      "the packet model's FIFOs follow emulation.queue",
      "packet",
      fluidTcp,
      "1000p",
      ["transport.model=packet", "transport.queue=1000p"],
    ],
    [
      "the packet model keeps a configured transport.queue",
      "packet",
      queued,
      "5ms",
      ["transport.model=packet"],
    ],
    [
      "the packet model gets a handshake when TCP start-up is off",
      "packet",
      plain,
      "10ms",
      ["transport.model=packet", "transport.tcp={}"],
    ],
    ["back to fluid from a packet config", "fluid-tcp", packet, "10ms", ["transport.model=fluid"]],
    [
      "the packet model's TCP timers last as the emulator's do in simulated time",
      "packet",
      fluidTcp,
      "10ms",
      ["transport.model=packet", "transport.timerScale=0.1"],
      0.1,
    ],
    ["a configured transport.timerScale is kept", "packet", { ...packet, timerScale: 1 }, "10ms", [], 0.1],
    ["the fluid models have no timers", "fluid-tcp", packet, "10ms", ["transport.model=fluid"], 0.1],
  ];
  for (const [what, v, t, q, want, c] of cases) {
    it(what, () => assert.deepEqual(variantOverrides(v, t, q, c), want));
  }

  const config = (policies: string, emulation: string) => `name: models
topology:
  generator: {kind: ring, n: 4}
  links: {capacity: 1Gbps, delay: 2ms}
workload:
  tm: {kind: uniform}
  window: {duration: 1s}
policies:
${policies}
emulation: {rateScale: 0.01, timeCompression: 0.1${emulation}}
`;

  it("runs each listed model in its own results directory, the config's own in the usual one", () => {
    const loaded = parseConfig(
      config("  - name: shortest-path", ", compareWith: [fluid-tcp, fluid, packet]"),
      "m.yaml",
      ".",
    );
    const models = simModels(loaded, emulationSettings(loaded.config), 0);
    assert.deepEqual(
      models.map((m) => [
        m.model,
        m.dir(0),
        m.loaded.config.transport.model,
        m.loaded.config.transport.tcp === false ? false : m.loaded.config.transport.tcp.mss,
      ]),
      [
        ["fluid-tcp", "results/models/seed1-run0-as-emulated", "fluid", "14480B"],
        ["fluid", "results/models/seed1-run0-fluid", "fluid", false],
        ["packet", "results/models/seed1-run0-as-emulated-packet", "packet", "14480B"],
      ],
    );
  });

  it("is the config's own transport when compareWith is absent", () => {
    const loaded = parseConfig(config("  - name: shortest-path", ""), "m.yaml", ".");
    const models = simModels(loaded, emulationSettings(loaded.config), 0);
    assert.deepEqual(
      models.map((m) => m.model),
      ["fluid-tcp"],
    );
  });

  it("refuses, before any run, a model the config's policies cannot run under, naming the list entry", () => {
    const loaded = parseConfig(
      config("  - name: mirroring", ", compareWith: [fluid-tcp, packet]"),
      "m.yaml",
      ".",
    );
    assert.throws(
      () => simModels(loaded, emulationSettings(loaded.config), 0),
      (e: unknown) =>
        e instanceof ConfigError &&
        /emulation\.compareWith\[1\]/.test(e.message) &&
        /packet model \(transport\.model=packet[,)]/.test(e.message) &&
        /mirror/.test(e.message),
    );
  });

  it("refuses a model listed twice or unknown", () => {
    for (const list of ["[packet, packet]", "[ns3]"]) {
      assert.throws(
        () => parseConfig(config("  - name: shortest-path", `, compareWith: ${list}`), "m.yaml", "."),
        (e: unknown) => e instanceof ConfigError && /emulation\.compareWith/.test(e.message),
      );
    }
  });
});

describe("the simulator's models side by side against the emulation", () => {
  // Emulation: shortest-path (sp) slower than overlay (ov) on average, but with a worse tail for ov.
  const emu = flows(`
    policy  flow  size  fct
    sp      0     10    40
    sp      1     10    60
    sp      2     500   200
    ov      0     10    30
    ov      1     10    50
    ov      2     500   300
  `);
  const fluid = flows(`
    policy  flow  size  fct
    sp      0     10    10
    sp      1     10    20
    sp      2     500   100
    ov      0     10    5
    ov      1     10    10
    ov      2     500   50
  `);
  const packet = flows(`
    policy  flow  size  fct
    sp      0     10    40
    sp      1     10    50
    sp      2     500   250
    ov      0     10    30
    ov      1     10    40
    ov      2     500   280
  `);
  const runs = [
    { model: "fluid", comparison: compareFlows(fluid, emu, BUCKETS), simRows: fluid },
    { model: "packet", comparison: compareFlows(packet, emu, BUCKETS), simRows: packet },
  ];
  const c = compareModels(runs, emu);

  it("has one row per policy and bucket, with the emulation's columns once and each model's beside them", () => {
    assert.deepEqual(c.models, ["fluid", "packet"]);
    assert.deepEqual(
      c.rows.map((r) => [r.policy, r.bucket, r.emuFlows, r.emuFctP50Ns, Object.keys(r.models)]),
      [
        ["sp", "small", 2, 40, ["fluid", "packet"]],
        ["sp", "large", 1, 200, ["fluid", "packet"]],
        ["sp", "all", 3, 60, ["fluid", "packet"]],
        ["ov", "small", 2, 30, ["fluid", "packet"]],
        ["ov", "large", 1, 300, ["fluid", "packet"]],
        ["ov", "all", 3, 50, ["fluid", "packet"]],
      ],
    );
    const small = c.rows[0]!;
    // fluid: ratios 40/10, 60/20 = 4, 3: median (lower middle) 3; packet: 40/40, 60/50 = 1, 1.2: median 1.
    assert.equal(small.models.fluid!.matchedFctRatioP50, 3);
    assert.equal(small.models.packet!.matchedFctRatioP50, 1);
    assert.equal(small.models.fluid!.simFctP50Ns, 10);
  });

  it("gives each policy's effect against shortest path per run and whether each model agrees on its sign", () => {
    // Means: emu sp 100, ov 126.67 (+26.7%); p99 200 -> 300 (+50%).
    // fluid: sp 43.33, ov 21.67 (-50%); p99 100 -> 50 (-50%): both signs differ.
    // packet: sp 113.33, ov 116.67 (+2.9%); p99 250 -> 280 (+12%): both agree.
    assert.equal(c.effects.length, 1);
    const e = c.effects[0]!;
    assert.equal(e.policy, "ov");
    assert.equal(e.baseline, "sp");
    assert.ok(Math.abs(e.emulation.meanChange! - 26.67 / 100) < 1e-3);
    assert.equal(e.emulation.p99Change, 0.5);
    assert.deepEqual([e.models.fluid!.meanSignAgrees, e.models.fluid!.p99SignAgrees], [false, false]);
    assert.deepEqual([e.models.packet!.meanSignAgrees, e.models.packet!.p99SignAgrees], [true, true]);
    assert.deepEqual(effectRows(c).rows[0]!.slice(3), [
      "-50.0% / -50.0%",
      "differs: mean p99",
      "+2.9% / +12.0%",
      "agrees",
    ]);
  });

  it("takes the policy labelled shortest-path as the baseline when there is one", () => {
    const rename = (rows: FlowsCsvRow[]) =>
      rows.map((r) => ({ ...r, policy: r.policy === "sp" ? "shortest-path" : r.policy }));
    const e2 = rename(emu);
    const swapped = [...e2.filter((r) => r.policy === "ov"), ...e2.filter((r) => r.policy !== "ov")];
    const m = compareModels(
      [
        {
          model: "packet",
          comparison: compareFlows(rename(packet), swapped, BUCKETS),
          simRows: rename(packet),
        },
      ],
      swapped,
    );
    assert.deepEqual(
      m.effects.map((x) => [x.policy, x.baseline]),
      [["ov", "shortest-path"]],
    );
  });

  it("writes a CSV line per row and model, and a terminal table with two columns per model", () => {
    const lines = modelComparisonCsv(c).trimEnd().split("\n");
    assert.equal(lines[0], SIM_MODELS_CSV_HEADER);
    assert.equal(lines.length, 1 + c.rows.length * 2);
    assert.equal(lines[1], "sp,small,fluid,2,40,60,2,10,20,2,3");
    const t = modelComparisonRows(c);
    assert.deepEqual(t.head, [
      "policy",
      "flow size",
      "emu FCT p50 / p99",
      "fluid p50 / p99",
      "emu/fluid",
      "packet p50 / p99",
      "emu/packet",
    ]);
    assert.ok(t.rows.every((r) => r.length === t.head.length));
  });
});
