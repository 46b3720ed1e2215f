/**
 * The flow schedule: an open-loop workload recorded once and replayed. Recording draws exactly what live
 * generators draw; replaying starts the same flows at the same instants in the same order as live generators,
 * also among same-instant ties with other events; the same scenario gives the same schedule, and both engines
 * replay it (the simulator's flows.csv and the emulator's agents: ids, endpoints, sizes and starts).
 *
 *   n0 --- n1 --- n2      3 nodes; arrivals every few ns, so many fall on one instant
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parseConfig } from "../../../experiments/config/load.ts";
import { buildScenario } from "../../../experiments/scenario.ts";
import { WorkloadError } from "../../../models/workload/errors.ts";
import {
  type FlowSchedule,
  flowsBefore,
  ScheduleReplay,
  TM_APPLICATION,
} from "../../../models/workload/flow-schedule.ts";
import type { FlowSink, FlowSpec } from "../../../models/workload/flow-sink.ts";
import {
  type DemandSegment,
  PoissonFlowSource,
  poissonSchedule,
} from "../../../models/workload/poisson-flows.ts";
import { TmFlowSource, tmFlowSchedule } from "../../../models/workload/tm-flows.ts";
import { buildSeries } from "../../../models/workload/tm-series-build.ts";
import { runPolicy } from "../../../sim/engine/run.ts";
import { scenarioSchedule } from "../../../sim/engine/schedule.ts";
import { Exponential, RandomStreams } from "../../../sim/kernel/rng.ts";
import { Simulator } from "../../../sim/kernel/simulator.ts";
import { line } from "../../../sim/substrate/generators.ts";

/** n0 --- n1 --- n2 */
const topo = line(3);

const sizes = new Exponential(1000);
/** Mean flow of 1000 bytes at 8e12 bits/s: a flow every ns on average, so ties at one instant are common. */
const segments: DemandSegment[] = [
  {
    startNs: 0,
    endNs: 300,
    demands: [
      { src: 0, dst: 2, rateBps: 8e12 },
      { src: 2, dst: 0, rateBps: 4e12 },
    ],
  },
  { startNs: 300, endNs: 400, demands: [] },
  {
    startNs: 400,
    endNs: 900,
    demands: [
      { src: 0, dst: 2, rateBps: 2e12 },
      { src: 1, dst: 0, rateBps: 8e12 },
    ],
  },
];

/** What a run sees: every startFlow and every tick of a periodic component, in execution order. */
function loggingSink(sim: Simulator, log: string[]): FlowSink {
  return {
    topology: topo,
    startFlow: (spec: FlowSpec) => {
      log.push(`${sim.now} flow ${spec.src}->${spec.dst} ${spec.sizeBytes} tag ${spec.tag}`);
      return log.length;
    },
  };
}

/** A component with events of its own: a tick every 7 ns, on the same instants as some arrivals. */
function ticker(sim: Simulator, log: string[], untilNs: number): void {
  const tick = () => {
    log.push(`${sim.now} tick`);
    if (sim.now + 7 < untilNs) sim.schedule(7, tick);
  };
  sim.scheduleAt(0, tick);
}

function liveRun(): string[] {
  const sim = new Simulator();
  const log: string[] = [];
  ticker(sim, log, 1000);
  const streams = new RandomStreams(11, 0);
  for (const seg of segments) {
    sim.scheduleAt(seg.startNs, () =>
      new PoissonFlowSource(sim, loggingSink(sim, log), {
        demands: seg.demands,
        sizes,
        streams,
        route: () => [],
        untilNs: seg.endNs,
      }).start(),
    );
  }
  sim.run();
  return log;
}

function replayRun(schedule: FlowSchedule): string[] {
  const sim = new Simulator();
  const log: string[] = [];
  ticker(sim, log, 1000);
  new ScheduleReplay(sim, loggingSink(sim, log), schedule, { route: () => [] }).start();
  sim.run();
  return log;
}

describe("flow schedule", () => {
  it("replays the flows live generators start, in their order, also among ties with other events", () => {
    const schedule = poissonSchedule(topo, segments, sizes, new RandomStreams(11, 0));
    const live = liveRun();
    const flowsAt = new Map<string, number>();
    for (const line of live) {
      const t = line.split(" ")[0]!;
      flowsAt.set(t, (flowsAt.get(t) ?? 0) + 1);
    }
    assert.ok(schedule.flows.length > 1000, `${schedule.flows.length} flows`);
    assert.ok([...flowsAt.values()].filter((n) => n > 2).length > 20, "many instants with ties");
    assert.deepEqual(replayRun(schedule), live);
  });

  it("draws exactly what live generators draw: the streams end in the same state", () => {
    const recorded = new RandomStreams(11, 0);
    poissonSchedule(topo, segments, sizes, recorded);
    const live = new RandomStreams(11, 0);
    const sim = new Simulator();
    for (const seg of segments) {
      sim.scheduleAt(seg.startNs, () =>
        new PoissonFlowSource(sim, loggingSink(sim, []), {
          demands: seg.demands,
          sizes,
          streams: live,
          route: () => [],
          untilNs: seg.endNs,
        }).start(),
      );
    }
    sim.run();
    for (const name of ["flows/n0->n2", "flows/n2->n0", "flows/n1->n0"]) {
      const next = recorded.stream(name).uniform();
      assert.equal(next, live.stream(name).uniform(), name);
      assert.notEqual(next, new RandomStreams(11, 0).stream(name).uniform(), `${name} was drawn from`);
    }
  });

  it("is data: ids in arrival order, starts in time order, the matrix's application, chains of one pair", () => {
    const schedule = poissonSchedule(topo, segments, sizes, new RandomStreams(11, 0));
    schedule.flows.forEach((f, i) => {
      assert.equal(f.id, i);
      assert.equal(f.application, TM_APPLICATION);
      assert.equal(f.tag, f.src * 3 + f.dst);
      if (i > 0) assert.ok(f.startNs >= schedule.flows[i - 1]!.startNs);
    });
    assert.deepEqual(
      schedule.sources.map((s) => [s.startNs, s.chains.length]),
      [
        [0, 2],
        [300, 0],
        [400, 2],
      ],
    );
    for (const chain of schedule.sources.flatMap((s) => s.chains)) {
      const pairs = new Set(chain.map((id) => `${schedule.flows[id]!.src}->${schedule.flows[id]!.dst}`));
      assert.equal(pairs.size, 1);
    }
    assert.equal(schedule.sources.flatMap((s) => s.chains).flat().length, schedule.flows.length);
  });

  it("is the same for the same seed and run, and another for another run", () => {
    const a = poissonSchedule(topo, segments, sizes, new RandomStreams(11, 0));
    const b = poissonSchedule(topo, segments, sizes, new RandomStreams(11, 0));
    const c = poissonSchedule(topo, segments, sizes, new RandomStreams(11, 1));
    assert.deepEqual(a, b);
    assert.notDeepEqual(a.flows.slice(0, 10), c.flows.slice(0, 10));
  });

  const flow = (id: number, startNs: number) => ({
    id,
    src: 0,
    dst: 1,
    sizeBytes: 1,
    startNs,
    tag: 1,
    application: TM_APPLICATION,
  });
  const bad: { what: string; schedule: FlowSchedule; message: RegExp }[] = [
    {
      what: "ids out of order",
      schedule: { flows: [flow(1, 0)], sources: [{ startNs: 0, chains: [[0]] }] },
      message: /flow 0 has id 1/,
    },
    {
      what: "a flow in no chain",
      schedule: { flows: [flow(0, 0), flow(1, 5)], sources: [{ startNs: 0, chains: [[0]] }] },
      message: /flow 1 is in no chain/,
    },
    {
      what: "a flow in two chains",
      schedule: { flows: [flow(0, 0)], sources: [{ startNs: 0, chains: [[0], [0]] }] },
      message: /flow 0 is in two chains/,
    },
    {
      what: "a chain naming no flow",
      schedule: { flows: [flow(0, 0)], sources: [{ startNs: 0, chains: [[0, 3]] }] },
      message: /chain names flow 3/,
    },
    {
      what: "a chain back in time",
      schedule: { flows: [flow(0, 9), flow(1, 5)], sources: [{ startNs: 0, chains: [[0, 1]] }] },
      message: /flow 1 starts before flow 0/,
    },
    {
      what: "a flow before its source",
      schedule: { flows: [flow(0, 5)], sources: [{ startNs: 10, chains: [[0]] }] },
      message: /flow 0 starts before its source/,
    },
  ];
  for (const c of bad) {
    it(`refuses to replay a schedule with ${c.what}`, () => {
      const sim = new Simulator();
      assert.throws(
        () => new ScheduleReplay(sim, loggingSink(sim, []), c.schedule, { route: () => [] }),
        (e: Error) => e instanceof WorkloadError && c.message.test(e.message),
      );
    });
  }

  it("records a traffic-matrix series exactly as a live TmFlowSource generates it", () => {
    const series = buildSeries({
      source: "test",
      nodes: ["n0", "n1", "n2"],
      intervalNs: 200,
      rates: [
        Float64Array.of(0, 8e12, 0, 0, 0, 0, 4e12, 0, 0),
        Float64Array.of(0, 0, 2e12, 0, 0, 8e12, 0, 0, 0),
      ],
    });
    const schedule = tmFlowSchedule(topo, { series, sizes, streams: new RandomStreams(3, 0) });
    const sim = new Simulator();
    const live: string[] = [];
    new TmFlowSource(sim, loggingSink(sim, live), {
      series,
      sizes,
      streams: new RandomStreams(3, 0),
      route: () => [],
    }).start();
    sim.run();
    assert.ok(schedule.flows.length > 200);
    assert.deepEqual(
      schedule.flows.map((f) => `${f.startNs} flow ${f.src}->${f.dst} ${f.sizeBytes} tag ${f.tag}`),
      live,
    );
  });
});

describe("the scenario's flow schedule in both engines", () => {
  const text = `name: sched
seed: 9
topology: {generator: {kind: ring, n: 4}, links: {capacity: 1Gbps, delay: 2ms}}
workload: {window: {duration: 500ms}, load: {targetMlu: 0.5, reference: hops}}
policies: [{name: shortest-path, params: {weight: hops}}, {name: reactive}]
`;
  const { scenario } = buildScenario(parseConfig(text, "sched.yaml", "/"), 0);

  it("is computed once per scenario", () => {
    assert.equal(scenarioSchedule(scenario), scenarioSchedule(scenario));
    const again = buildScenario(parseConfig(text, "sched.yaml", "/"), 0).scenario;
    assert.deepEqual(scenarioSchedule(again), scenarioSchedule(scenario));
  });

  it("is what every simulated policy carries: flows.csv's ids, endpoints, sizes and starts", async () => {
    const ids = scenario.topology.nodes.map((n) => n.id);
    const expected = scenarioSchedule(scenario).flows.map(
      (f) => `${f.id},${ids[f.src]},${ids[f.dst]},${f.sizeBytes},${f.startNs}`,
    );
    assert.ok(expected.length > 20);
    for (const p of scenario.policies) {
      const r = await runPolicy(scenario, p);
      const rows = [...r.flows.byFlowId()].map(
        (f) => `${f.flow},${ids[f.src]},${ids[f.dst]},${f.sizeBytes},${f.startNs}`,
      );
      assert.deepEqual(rows, expected, p.label);
    }
  });

  it("cut at an emulated window is a prefix, in arrival order", () => {
    const all = scenarioSchedule(scenario).flows;
    const part = flowsBefore(scenarioSchedule(scenario), 200e6);
    assert.ok(part.length > 0 && part.length < all.length);
    assert.deepEqual(part, all.slice(0, part.length));
    assert.ok(part.every((f) => f.startNs < 200e6));
  });
});
