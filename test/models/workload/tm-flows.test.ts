import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { WorkloadError } from "../../../models/workload/errors.ts";
import type { FlowSink, FlowSpec } from "../../../models/workload/flow-sink.ts";
import { bundledFlowSizeCdf } from "../../../models/workload/flow-size-cdf.ts";
import { piecewiseArrivalOffset } from "../../../models/workload/piecewise-poisson.ts";
import { PoissonFlowSource } from "../../../models/workload/poisson-flows.ts";
import { type TmFlowOptions, TmFlowSource } from "../../../models/workload/tm-flows.ts";
import type { TrafficMatrixSeries } from "../../../models/workload/tm-series.ts";
import { buildSeries } from "../../../models/workload/tm-series-build.ts";
import { type Distribution, Exponential, RandomStreams } from "../../../sim/kernel/rng.ts";
import { Simulator } from "../../../sim/kernel/simulator.ts";
import { TraceBus } from "../../../sim/metrics/trace.ts";
import { allPairsShortestPaths } from "../../../sim/substrate/routing.ts";
import { TopologyBuilder } from "../../../sim/substrate/topology.ts";
import { readBundledZoo } from "../../../sim/substrate/zoo-graphml.ts";
import { FlowNetwork } from "../../../sim/transport/flow-network.ts";

/** A --- B --- C */
const topo = new TopologyBuilder("line3", "test")
  .addNode({ id: "A" })
  .addNode({ id: "B" })
  .addNode({ id: "C" })
  .addLink("A", "B")
  .addLink("B", "C")
  .build();

/**
 * A flow sink that only counts: flows and bytes per pair index (src x 3 + dst) and per interval of `intervalNs`
 * from time 0. Flow-level transport is not needed to check arrivals and sizes, and this keeps 10^6 flows fast.
 */
class CountingSink implements FlowSink {
  readonly topology = topo;
  readonly flows: Float64Array[] = [];
  readonly bytes: Float64Array[] = [];
  constructor(
    private readonly sim: Simulator,
    private readonly intervalNs: number,
  ) {}
  startFlow(spec: FlowSpec): number {
    const t = Math.floor(this.sim.now / this.intervalNs);
    while (this.flows.length <= t) {
      this.flows.push(new Float64Array(9));
      this.bytes.push(new Float64Array(9));
    }
    const k = spec.src * 3 + spec.dst;
    this.flows[t]![k]! += 1;
    this.bytes[t]![k]! += spec.sizeBytes;
    return 0;
  }
  /** Sum over intervals [from, to) of pair k. */
  sum(what: "flows" | "bytes", k: number, from = 0, to = Number.POSITIVE_INFINITY): number {
    let s = 0;
    this[what].forEach((m, t) => {
      if (t >= from && t < to) s += m[k]!;
    });
    return s;
  }
}

/** A series over A, B, C whose pair rates in interval t are `rate(pair name, t)` bits/s. */
function series(
  intervals: number,
  intervalNs: number,
  rate: (pair: string, t: number) => number,
): TrafficMatrixSeries {
  const ids = ["A", "B", "C"];
  const rates = Array.from({ length: intervals }, (_, t) =>
    Float64Array.from({ length: 9 }, (_, k) => {
      const i = Math.floor(k / 3);
      const j = k % 3;
      return i === j ? 0 : rate(`${ids[i]}${ids[j]}`, t);
    }),
  );
  return buildSeries({ source: "test", nodes: ids, intervalNs, rates });
}

function run(
  s: TrafficMatrixSeries,
  sizes: Distribution,
  extra: Partial<TmFlowOptions> = {},
  untilNs = s.intervalNs * s.rates.length,
) {
  const sim = new Simulator();
  const sink = new CountingSink(sim, s.intervalNs);
  const source = new TmFlowSource(sim, sink, {
    series: s,
    sizes,
    streams: new RandomStreams(42),
    route: () => [],
    ...extra,
  });
  source.start();
  sim.run(untilNs);
  return { sink, source, sim };
}

const AB = 1;
const AC = 2;
const BA = 3;
const CB = 7;

describe("flows from a traffic-matrix series", () => {
  it("draw exactly the flows of PoissonFlowSource for a constant matrix (same streams, same draws)", () => {
    const zoo = readBundledZoo("Abilene");
    const routes = allPairsShortestPaths(zoo, { weight: "delay" });
    const route = (a: number, b: number) => routes.path(a, b)!;
    const demands = [
      { src: 0, dst: 3, rateBps: 2e9 },
      { src: 5, dst: 1, rateBps: 5e8 },
      { src: 9, dst: 2, rateBps: 1e9 },
    ];
    const n = zoo.nodeCount;
    const rates = new Float64Array(n * n);
    for (const d of demands) rates[d.src * n + d.dst] = d.rateBps;
    const constant = buildSeries({
      source: "constant",
      nodes: zoo.nodes.map((x) => x.id),
      intervalNs: 1e15,
      rates: [rates],
    });
    const record = (start: (sim: Simulator, net: FlowNetwork) => void) => {
      const sim = new Simulator();
      const trace = new TraceBus();
      const out: string[] = [];
      trace.on("flowStart", (e) => out.push(`${e.timeNs} ${e.src} ${e.dst} ${e.sizeBytes}`));
      start(sim, new FlowNetwork(sim, zoo, trace));
      sim.run(2e9);
      return out;
    };
    const sizes = bundledFlowSizeCdf("websearch");
    const a = record((sim, net) =>
      new PoissonFlowSource(sim, net, { demands, sizes, streams: new RandomStreams(7), route }).start(),
    );
    const b = record((sim, net) =>
      new TmFlowSource(sim, net, { series: constant, sizes, streams: new RandomStreams(7), route }).start(),
    );
    assert.ok(a.length > 500, `${a.length} flows`);
    assert.deepEqual(b, a);
  });

  it("reproduce constant pair rates within 2% over a long window (websearch sizes)", () => {
    const rates: Record<string, number> = { AB: 4e9, BA: 2e9, CB: 2.5e9 };
    // 1,000 s: about 73,000 flows per Gbit/s of pair rate; websearch sizes have a coefficient of variation of 2.3,
    // so the relative standard deviation of BA's bytes is sqrt((1 + 2.3^2) / 146,000) = 0.66%.
    const s = series(1, 1000e9, (p) => rates[p] ?? 0);
    const { sink } = run(s, bundledFlowSizeCdf("websearch"));
    const errors = Object.entries({ AB, BA, CB }).map(([name, k]) => {
      const offered = (sink.sum("bytes", k) * 8) / 1000;
      return [name, offered / rates[name]! - 1] as const;
    });
    console.log(
      `# constant rates, relative error: ${errors.map(([n, e]) => `${n} ${(e * 100).toFixed(2)}%`).join(", ")}`,
    );
    for (const [name, e] of errors) assert.ok(Math.abs(e) < 0.02, `${name}: ${(e * 100).toFixed(2)}%`);
    assert.equal(sink.sum("flows", AC), 0);
  });

  it("reproduce time-varying pair rates within 2% over long windows, interval by interval in expectation", () => {
    const intervals = 48;
    const interval = 20e9;
    // AB: diurnal-like; BA: alternating high/low; AC: zero every third interval; CB: constant.
    const rate = (p: string, t: number): number => {
      if (p === "AB") return 2e9 * (1 + 0.8 * Math.sin((2 * Math.PI * t) / intervals));
      if (p === "BA") return t % 2 === 0 ? 4e9 : 0.4e9;
      if (p === "AC") return t % 3 === 2 ? 0 : 1.5e9;
      if (p === "CB") return 1e9;
      return 0;
    };
    const s = series(intervals, interval, rate);
    const meanBytes = 1e6;
    const { sink } = run(s, new Exponential(meanBytes));
    const errors: string[] = [];
    for (const [name, k] of Object.entries({ AB, BA, AC, CB })) {
      let expected = 0;
      for (let t = 0; t < intervals; t++) expected += (rate(name, t) * (interval / 1e9)) / 8;
      const e = sink.sum("bytes", k) / expected - 1;
      errors.push(`${name} ${(e * 100).toFixed(2)}%`);
      assert.ok(Math.abs(e) < 0.02, `${name}: bytes off by ${(e * 100).toFixed(2)}%`);
    }
    console.log(`# time-varying rates, relative error of bytes over the series: ${errors.join(", ")}`);
    // Counts per class of interval: the high and low intervals of BA each get their own rate (a gap drawn at the
    // high rate must not spill into a low interval), and AC's zero intervals get no flow.
    const count = (k: number, pick: (t: number) => boolean) =>
      sink.flows.reduce((a, m, t) => a + (pick(t) ? m[k]! : 0), 0);
    const perFlow = (r: number) => ((r / 8 / meanBytes) * interval) / 1e9;
    // Expected counts: 240,000 (high) and 24,000 (low), Poisson, so relative standard deviations 0.2% and 0.65%.
    const high = count(BA, (t) => t % 2 === 0) / (24 * perFlow(4e9));
    const low = count(BA, (t) => t % 2 === 1) / (24 * perFlow(0.4e9));
    assert.ok(Math.abs(high - 1) < 0.02 && Math.abs(low - 1) < 0.02, `BA high ${high}, low ${low}`);
    assert.equal(
      count(AC, (t) => t % 3 === 2),
      0,
    );
  });

  it("scale every rate by load, which stretches the same arrivals in time", () => {
    // With the same streams, load 0.5 doubles every gap: its first 200 s hold the flows of load 1's first 100 s.
    const s = series(1, 200e9, (p) => (p === "AB" ? 1e9 : 0));
    const full = run(s, new Exponential(1e5), {}, 100e9).sink;
    const half = run(s, new Exponential(1e5), { load: 0.5 }, 200e9).sink;
    assert.ok(Math.abs(half.sum("flows", AB) - full.sum("flows", AB)) <= 1);
    assert.ok(Math.abs(half.sum("bytes", AB) / full.sum("bytes", AB) - 1) < 1e-3);
    assert.ok(Math.abs((full.sum("bytes", AB) * 8) / 100 / 1e9 - 1) < 0.02);
    assert.equal(run(s, new Exponential(1e5), { load: 0 }).source.flowsStarted, 0);
  });

  it("stop after the last interval, or start over with repeat", () => {
    const s = series(2, 10e9, (p) => (p === "AB" ? 1e8 : 0));
    const once = run(s, new Exponential(1e5), {}, 60e9);
    assert.equal(once.sink.sum("flows", AB, 2), 0);
    const again = run(s, new Exponential(1e5), { repeat: true }, 60e9);
    const late = again.sink.sum("flows", AB, 2, 6) / 4;
    const early = again.sink.sum("flows", AB, 0, 2) / 2;
    assert.ok(late > 0.9 * early && late < 1.1 * early, `per interval: early ${early}, late ${late}`);
  });

  it("start interval 0 at startNs, with no flow before it", () => {
    const s = series(1, 10e9, (p) => (p === "AB" ? 1e8 : 0));
    const sim = new Simulator();
    const probe = new CountingSink(sim, 1e9); // counts per second
    const source = new TmFlowSource(sim, probe, {
      series: s,
      sizes: new Exponential(1e5),
      streams: new RandomStreams(1),
      route: () => [],
      startNs: 5e9,
    });
    source.start();
    sim.run(20e9);
    assert.equal(source.originNs, 5e9);
    assert.equal(probe.sum("flows", AB, 0, 5), 0);
    assert.ok(probe.sum("flows", AB, 5, 15) > 0);
    assert.equal(probe.sum("flows", AB, 15), 0);
  });

  const errors: [string, () => unknown, RegExp][] = [
    [
      "a series node the topology lacks",
      () =>
        run(
          buildSeries({ source: "tm.csv", nodes: ["A", "Z"], intervalNs: 1e9, rates: [new Float64Array(4)] }),
          new Exponential(1),
        ),
      /flows from tm\.csv: series node "Z" is not a node of topology "line3"; map the series onto the topology first/,
    ],
    [
      "a negative load",
      () =>
        run(
          series(1, 1e9, () => 1),
          new Exponential(1),
          { load: -1 },
        ),
      /load must be a number >= 0, got -1/,
    ],
    [
      "a fractional startNs",
      () =>
        run(
          series(1, 1e9, () => 1),
          new Exponential(1),
          { startNs: 0.5 },
        ),
      /startNs must be an integer >= 0 of ns, got 0\.5/,
    ],
  ];
  for (const [name, f, message] of errors) {
    it(`refuse ${name}`, () => {
      assert.throws(f, (e: Error) => e instanceof WorkloadError && message.test(e.message));
    });
  }
});

describe("piecewise-constant Poisson arrivals", () => {
  const cases: [string, number, number, number[], boolean, number][] = [
    // [name, e, t, mean gaps per interval (10 ns each), repeat, expected offset]
    ["inside the current interval", 0.5, 0, [4, 4], false, 2],
    ["constant rate: exactly e x gap", 1.7, 3, [2], false, 3.4],
    ["spilling into the next interval at its own rate", 3, 5, [2, 10], false, 5 + (3 - 5 / 2) * 10],
    ["through a zero-rate interval", 1, 8, [4, Number.POSITIVE_INFINITY, 1], false, 2 + 10 + 0.5],
    ["past the end without repeat", 15, 0, [1], false, Number.POSITIVE_INFINITY],
    ["past the end with repeat", 15, 5, [1], true, 15],
  ];
  for (const [name, e, t, gaps, repeat, expected] of cases) {
    it(`place the next arrival ${name}`, () => {
      const got = piecewiseArrivalOffset(e, t, 10, gaps.length, repeat, (k) => gaps[k]!);
      assert.ok(got === expected || Math.abs(got - expected) < 1e-9, `got ${got}, expected ${expected}`);
    });
  }
});
