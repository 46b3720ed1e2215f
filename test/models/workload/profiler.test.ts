import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { WorkloadError } from "../../../models/workload/errors.ts";
import type { FlowStartEvent } from "../../../models/workload/flow-sink.ts";
import { bundledFlowSizeCdf } from "../../../models/workload/flow-size-cdf.ts";
import { gravitySeries } from "../../../models/workload/gravity-tm.ts";
import {
  applicationClassifier,
  nodePairClassifier,
  type ProfileInterval,
  type ProfilerOptions,
  TrafficProfiler,
  tagClassifier,
} from "../../../models/workload/profiler.ts";
import { TmFlowSource } from "../../../models/workload/tm-flows.ts";
import { totalRate } from "../../../models/workload/tm-series-build.ts";
import { RandomStreams } from "../../../sim/kernel/rng.ts";
import { Simulator } from "../../../sim/kernel/simulator.ts";
import { TraceBus } from "../../../sim/metrics/trace.ts";
import { allPairsShortestPaths } from "../../../sim/substrate/routing.ts";
import { readBundledZoo } from "../../../sim/substrate/zoo-graphml.ts";
import { FlowNetwork } from "../../../sim/transport/flow-network.ts";

/** Emits a flowStart at each [time, src, dst, bytes, tag?] (tag 0 when not given). */
function emitAt(sim: Simulator, trace: TraceBus, flows: [number, number, number, number, number?][]): void {
  flows.forEach(([t, src, dst, sizeBytes, tag], flow) => {
    sim.scheduleAt(t, () => {
      const ev: FlowStartEvent = { timeNs: sim.now, flow, src, dst, sizeBytes, tag: tag ?? 0 };
      trace.emit("flowStart", ev);
    });
  });
}

const pairs2 = ["x->y", "y->x"];
const byDirection = (f: { src: number; dst: number }) => (f.src < f.dst ? 0 : 1);

function profile(
  opts: Partial<ProfilerOptions>,
  flows: [number, number, number, number, number?][],
  until?: number,
) {
  const sim = new Simulator();
  const trace = new TraceBus();
  const p = new TrafficProfiler(sim, trace, {
    intervalNs: 100,
    pairs: pairs2,
    classify: byDirection,
    ...opts,
  });
  emitAt(sim, trace, flows);
  sim.run(until);
  return { sim, p };
}

const rows = (ivs: readonly ProfileInterval[]) => ivs.map((iv) => [iv.startNs, [...iv.bytes], [...iv.flows]]);

describe("traffic profiler", () => {
  it("count bytes and flows per pair per interval, a flow at a boundary counting in the interval it opens", () => {
    const { p } = profile({}, [
      [0, 0, 1, 10],
      [99, 1, 0, 20],
      [100, 0, 1, 5],
      [250, 0, 1, 7],
    ]);
    assert.deepEqual(rows(p.intervals), [
      [0, [10, 20], [1, 1]],
      [100, [5, 0], [1, 0]],
      [200, [7, 0], [1, 0]],
    ]);
  });

  it("close empty intervals on time, before a controller runs at the boundary", () => {
    const sim = new Simulator();
    const trace = new TraceBus();
    const p = new TrafficProfiler(sim, trace, {
      intervalNs: 100,
      pairs: pairs2,
      classify: byDirection,
      stopWhenIdle: false,
    });
    emitAt(sim, trace, [[50, 0, 1, 3]]);
    const seen: number[] = [];
    for (const t of [100, 200, 300]) sim.scheduleAt(t, () => seen.push(p.intervals.length));
    const closedAt: number[] = [];
    p.onInterval((iv) => closedAt.push(iv.endNs, sim.now));
    sim.run(300);
    assert.deepEqual(seen, [1, 2, 3]);
    assert.deepEqual(closedAt, [100, 100, 200, 200, 300, 300]);
    p.stop();
    assert.equal(sim.pending, 0);
  });

  it("ignore flows the classifier rejects and flows before startNs", () => {
    const { p } = profile({ startNs: 100, classify: (f) => (f.sizeBytes > 1 ? byDirection(f) : -1) }, [
      [50, 0, 1, 100],
      [150, 0, 1, 1],
      [160, 1, 0, 9],
    ]);
    assert.deepEqual(rows(p.intervals), [[100, [0, 9], [0, 1]]]);
  });

  it("keep only the newest intervals when bounded, and close a partial last interval on flush", () => {
    const sim = new Simulator();
    const trace = new TraceBus();
    const p = new TrafficProfiler(sim, trace, {
      intervalNs: 100,
      pairs: pairs2,
      classify: byDirection,
      keep: 2,
      stopWhenIdle: false,
    });
    emitAt(sim, trace, [
      [10, 0, 1, 1],
      [110, 0, 1, 2],
      [210, 0, 1, 3],
      [310, 0, 1, 4],
    ]);
    sim.run(350);
    p.flush();
    assert.deepEqual(rows(p.intervals), [
      [200, [3, 0], [1, 0]],
      [300, [4, 0], [1, 0]],
    ]);
    assert.equal(p.droppedIntervals, 2);
  });

  it("group by tag", () => {
    const { p } = profile({ pairs: ["a", "b", "c"], classify: tagClassifier(3, 10) }, [
      [0, 0, 1, 5, 10],
      [1, 0, 1, 6, 12],
      [2, 1, 0, 7, 99],
    ]);
    p.flush();
    assert.deepEqual([...p.intervals[0]!.bytes], [5, 0, 6]);
  });

  it("group per application: the matrix's node-pair tags as tm, application-pair tags by name, others ignored", () => {
    // 3 nodes: tags 0..8 are node pairs, application pairs from 9.
    const { pairs, classify } = applicationClassifier(3, ["a->b", "b->a"]);
    assert.deepEqual(pairs, ["tm", "a->b", "b->a"]);
    const { p } = profile({ pairs, classify }, [
      [0, 0, 1, 5, 1],
      [1, 2, 0, 6, 8],
      [2, 0, 1, 7, 9],
      [3, 1, 0, 8, 10],
      [4, 1, 0, 9, 11],
    ]);
    p.flush();
    assert.deepEqual(rows(p.intervals), [[0, [11, 7, 8], [2, 1, 1]]]);
  });

  it("without boundary events schedule nothing, and close intervals as later flows come or on flush", () => {
    const { sim, p } = profile({ boundaryEvents: false }, [
      [10, 0, 1, 1],
      [250, 1, 0, 2],
    ]);
    assert.equal(sim.executed, 2, "only the two flows' events ran");
    assert.deepEqual(rows(p.intervals), [
      [0, [1, 0], [1, 0]],
      [100, [0, 0], [0, 0]],
    ]);
    p.flush();
    assert.deepEqual(rows(p.intervals).at(-1), [200, [0, 2], [0, 1]]);
  });

  it("measure the offered node-pair matrix of flows generated from a series", () => {
    const topo = readBundledZoo("Abilene");
    const routes = allPairsShortestPaths(topo, { weight: "delay" });
    const route = (a: number, b: number) => routes.path(a, b)!;
    const tm = gravitySeries({
      nodes: topo.nodes.map((n) => n.id),
      intervals: 4,
      intervalNs: 1e9,
      totalBps: 3e9,
      streams: new RandomStreams(5),
    });
    const sim = new Simulator();
    const trace = new TraceBus();
    const net = new FlowNetwork(sim, topo, trace);
    const grid = nodePairClassifier(topo);
    const p = new TrafficProfiler(sim, trace, { intervalNs: 1e9, ...grid });
    const bytes = new Float64Array(topo.nodeCount ** 2);
    trace.on("flowStart", (e) => {
      if (e.timeNs < 1e9) bytes[e.src * topo.nodeCount + e.dst]! += e.sizeBytes;
    });
    new TmFlowSource(sim, net, {
      series: tm,
      sizes: bundledFlowSizeCdf("fb-webserver"),
      streams: new RandomStreams(5),
      route,
    }).start();
    sim.run();
    assert.equal(p.intervals.length, 4);
    assert.deepEqual([...p.intervals[0]!.bytes], [...bytes]);
    const measured = p.toRateSeries("measured");
    assert.deepEqual(measured.nodes, tm.nodes);
    for (let t = 0; t < 4; t++) {
      const e = totalRate(measured, t) / totalRate(tm, t) - 1;
      assert.ok(Math.abs(e) < 0.05, `interval ${t}: total off by ${(e * 100).toFixed(1)}%`);
    }
  });

  const errors: [string, Partial<ProfilerOptions>, RegExp][] = [
    ["a zero interval", { intervalNs: 0 }, /profiler: intervalNs must be an integer > 0 of ns, got 0/],
    ["a bad keep", { keep: 0 }, /profiler: keep must be an integer >= 1, got 0/],
    ["a grid that does not fit the pairs", { gridNodes: ["a", "b"] }, /2 grid nodes need 4 pairs, got 2/],
    ["a start in the past", { startNs: -5 }, /startNs must be an integer >= now \(0\) of ns, got -5/],
  ];
  for (const [name, over, message] of errors) {
    it(`refuse ${name}`, () => {
      assert.throws(
        () => profile(over, []),
        (e: Error) => e instanceof WorkloadError && message.test(e.message),
      );
    });
  }

  it("refuse a classifier that returns an index out of range", () => {
    assert.throws(
      () => profile({ classify: () => 7 }, [[0, 0, 1, 1]]),
      /flow 0 \(0->1, tag 0\) classified as pair 7, not in \[0, 2\)/,
    );
  });

  it("refuse toRateSeries without a node grid", () => {
    const { p } = profile({}, [[0, 0, 1, 1]]);
    assert.throws(() => p.toRateSeries("x"), /x: toRateSeries needs a node-pair profiler/);
  });
});
