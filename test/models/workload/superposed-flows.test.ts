import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { WorkloadError } from "../../../models/workload/errors.ts";
import type { FlowSink, FlowSpec } from "../../../models/workload/flow-sink.ts";
import { bundledFlowSizeCdf } from "../../../models/workload/flow-size-cdf.ts";
import {
  type PairDemand,
  PoissonFlowSource,
  poissonSchedule,
} from "../../../models/workload/poisson-flows.ts";
import { SuperposedFlowSource, superposedSchedule } from "../../../models/workload/superposed-flows.ts";
import { RandomStreams } from "../../../sim/kernel/rng.ts";
import { Simulator } from "../../../sim/kernel/simulator.ts";
import { ring } from "../../../sim/substrate/generators.ts";

/** Five nodes in a ring; arrivals do not need paths. */
const topo = ring(5);
const N = topo.nodeCount;
const sizes = bundledFlowSizeCdf("websearch");
const meanBits = 8 * sizes.mean();

/** Every ordered pair at unequal rates (1..20 flows/s), one pair with a fixed size. */
const demands: PairDemand[] = [];
for (let s = 0; s < N; s++) {
  for (let d = 0; d < N; d++) {
    if (s === d) continue;
    const flowsPerSecond = 1 + ((s * 7 + d * 3) % 20);
    demands.push(
      s === 1 && d === 3
        ? { src: s, dst: d, rateBps: flowsPerSecond * 8 * 50_000, sizeBytes: 50_000 }
        : { src: s, dst: d, rateBps: flowsPerSecond * meanBits },
    );
  }
}
const flowsPerSecond = (d: PairDemand) => d.rateBps / (8 * (d.sizeBytes ?? sizes.mean()));

/** Counts flows, bytes and arrival times per pair (src x N + dst). */
class CountingSink implements FlowSink {
  readonly topology = topo;
  readonly flows = new Float64Array(N * N);
  readonly bytes = new Float64Array(N * N);
  readonly times: number[] = [];
  readonly fixedSizes = new Set<number>();
  constructor(private readonly sim: Simulator) {}
  startFlow(spec: FlowSpec): number {
    const k = spec.src * N + spec.dst;
    this.flows[k]! += 1;
    this.bytes[k]! += spec.sizeBytes;
    if (k === 1 * N + 3) this.fixedSizes.add(spec.sizeBytes);
    assert.equal(spec.tag, k);
    this.times.push(this.sim.now);
    return this.times.length - 1;
  }
}

const SECONDS = 2000;

function count(kind: "per-pair" | "superposed", seed: number): CountingSink {
  const sim = new Simulator();
  const sink = new CountingSink(sim);
  const streams = new RandomStreams(seed);
  const common = { demands, sizes, route: () => [], untilNs: SECONDS * 1e9 };
  if (kind === "per-pair") new PoissonFlowSource(sim, sink, { ...common, streams }).start();
  else new SuperposedFlowSource(sim, sink, { ...common, stream: streams.stream("flows/superposed") }).start();
  sim.run();
  return sink;
}

/** Pearson's chi-square of the per-pair counts against their Poisson means lambda_k x T. */
function chiSquare(sink: CountingSink): number {
  let x2 = 0;
  for (const d of demands) {
    const expected = flowsPerSecond(d) * SECONDS;
    const observed = sink.flows[d.src * N + d.dst]!;
    x2 += (observed - expected) ** 2 / expected;
  }
  return x2;
}

// 20 pairs: the chi-square(20) 0.999 quantile is 45.31 (a fixed seed, so the test is deterministic).
const CHI2_20_999 = 45.31;

describe("superposed Poisson arrivals", () => {
  const perPair = count("per-pair", 3);
  const superposed = count("superposed", 3);

  it("give each pair Poisson counts at its rate, as per-pair sources do (chi-square, 20 pairs)", () => {
    for (const [name, sink] of [
      ["per-pair", perPair],
      ["superposed", superposed],
    ] as const) {
      const x2 = chiSquare(sink);
      assert.ok(x2 < CHI2_20_999, `${name}: chi-square ${x2.toFixed(1)} >= ${CHI2_20_999}`);
    }
    const total = demands.reduce((a, d) => a + flowsPerSecond(d), 0) * SECONDS;
    assert.ok(superposed.times.length > 0.98 * total && superposed.times.length < 1.02 * total);
  });

  it("agree with per-pair sources pair by pair within 4 standard deviations of the difference", () => {
    for (const d of demands) {
      const k = d.src * N + d.dst;
      const sd = Math.sqrt(2 * flowsPerSecond(d) * SECONDS);
      const diff = Math.abs(superposed.flows[k]! - perPair.flows[k]!);
      assert.ok(diff < 4 * sd, `pair ${d.src}->${d.dst}: ${superposed.flows[k]} vs ${perPair.flows[k]}`);
    }
  });

  it("draw sizes from the distribution, and a fixed-size pair only its size", () => {
    assert.deepEqual([...superposed.fixedSizes], [50_000]);
    let flows = 0;
    let bytes = 0;
    for (const d of demands) {
      if (d.sizeBytes !== undefined) continue;
      flows += superposed.flows[d.src * N + d.dst]!;
      bytes += superposed.bytes[d.src * N + d.dst]!;
    }
    // Web-search sizes: coefficient of variation about 2.2, so the mean of ~190k flows is within 2% at 4 sd.
    const mean = bytes / flows;
    assert.ok(Math.abs(mean / sizes.mean() - 1) < 0.02, `mean size ${mean} vs ${sizes.mean()}`);
  });

  it("have exponential gaps at the summed rate (mean and coefficient of variation 1)", () => {
    const t = superposed.times;
    const gaps = t.slice(1).map((x, i) => x - t[i]!);
    const mean = gaps.reduce((a, g) => a + g, 0) / gaps.length;
    const sd = Math.sqrt(gaps.reduce((a, g) => a + (g - mean) ** 2, 0) / gaps.length);
    const rate = demands.reduce((a, d) => a + flowsPerSecond(d), 0);
    assert.ok(Math.abs(mean / (1e9 / rate) - 1) < 0.01, `mean gap ${mean} ns`);
    assert.ok(Math.abs(sd / mean - 1) < 0.01, `coefficient of variation ${sd / mean}`);
  });

  it("are deterministic: the same seed gives the same flows, another seed others", () => {
    assert.deepEqual(count("superposed", 3).times, superposed.times);
    assert.notDeepEqual(count("superposed", 4).times.slice(0, 100), superposed.times.slice(0, 100));
  });

  it("follow each segment's rates in a schedule, one chain per segment", () => {
    const double = demands.map((d) => ({ ...d, rateBps: 2 * d.rateBps }));
    const segments = [
      { startNs: 0, endNs: 100e9, demands },
      { startNs: 100e9, endNs: 200e9, demands: double },
      { startNs: 200e9, endNs: 300e9, demands: [] },
    ];
    const s = superposedSchedule(topo, segments, sizes, new RandomStreams(5));
    const perSecond = demands.reduce((a, d) => a + flowsPerSecond(d), 0);
    const inSegment = (i: number) =>
      s.flows.filter((f) => f.startNs >= i * 100e9 && f.startNs < (i + 1) * 100e9).length;
    for (const [i, factor] of [
      [0, 1],
      [1, 2],
    ] as const) {
      const expected = perSecond * 100 * factor;
      assert.ok(Math.abs(inSegment(i) - expected) < 4 * Math.sqrt(expected), `segment ${i}: ${inSegment(i)}`);
    }
    assert.equal(inSegment(2), 0);
    assert.deepEqual(
      s.sources.map((src) => src.chains.length),
      [1, 1, 0],
    );
    assert.deepEqual(
      s.sources.flatMap((src) => src.chains.flat()),
      s.flows.map((f) => f.id),
    );
    // The per-pair schedule of the same segments carries a chain per pair.
    const p = poissonSchedule(topo, segments.slice(0, 1), sizes, new RandomStreams(5));
    assert.equal(p.sources[0]!.chains.length, demands.length);
  });

  it("draw the same flows from demand columns as from the equal list", () => {
    const list = demands.filter((d) => d.sizeBytes === undefined);
    const columns = {
      src: Int32Array.from(list, (d) => d.src),
      dst: Int32Array.from(list, (d) => d.dst),
      rateBps: Float64Array.from(list, (d) => d.rateBps),
    };
    const flows = (given: typeof list | typeof columns) => {
      const sim = new Simulator();
      const out: string[] = [];
      const sink: FlowSink = {
        topology: topo,
        startFlow: (f) => out.push(`${sim.now} ${f.src} ${f.dst} ${f.sizeBytes}`) - 1,
      };
      const stream = new RandomStreams(3).stream("flows/superposed");
      new SuperposedFlowSource(sim, sink, {
        demands: given,
        sizes,
        stream,
        route: () => [],
        untilNs: 5e9,
      }).start();
      sim.run();
      return out;
    };
    const fromList = flows(list);
    assert.ok(fromList.length > 100);
    assert.deepEqual(flows(columns), fromList);
    const sim = new Simulator();
    const stream = new RandomStreams(1).stream("x");
    for (const bad of [
      { src: Int32Array.of(0), dst: Int32Array.of(0), rateBps: Float64Array.of(1) },
      { src: Int32Array.of(0), dst: Int32Array.of(1), rateBps: Float64Array.of(Number.NaN) },
      { src: Int32Array.of(0, 1), dst: Int32Array.of(1), rateBps: Float64Array.of(1, 1) },
    ]) {
      assert.throws(
        () =>
          new SuperposedFlowSource(sim, new CountingSink(sim), {
            demands: bad,
            sizes,
            stream,
            route: () => [],
          }),
        WorkloadError,
      );
    }
  });

  it("refuse bad demands as per-pair sources do", () => {
    const sim = new Simulator();
    const sink = new CountingSink(sim);
    const stream = new RandomStreams(1).stream("x");
    for (const bad of [
      { src: 0, dst: 0, rateBps: 1 },
      { src: 0, dst: 1, rateBps: -1 },
      { src: 0, dst: 1, rateBps: 1, sizeBytes: 0 },
    ]) {
      assert.throws(
        () => new SuperposedFlowSource(sim, sink, { demands: [bad], sizes, stream, route: () => [] }),
        WorkloadError,
      );
    }
  });
});
