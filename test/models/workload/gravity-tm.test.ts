import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { WorkloadError } from "../../../models/workload/errors.ts";
import { GRAVITY_DEFAULTS, type GravityOptions, gravitySeries } from "../../../models/workload/gravity-tm.ts";
import { totalRate } from "../../../models/workload/tm-series-build.ts";
import { RandomStreams } from "../../../sim/kernel/rng.ts";

const nodes = ["A", "B", "C", "D", "E", "F"];
const day = 288; // 5-min intervals per day

const base = (over: Partial<GravityOptions> = {}): GravityOptions => ({
  nodes,
  intervals: day,
  totalBps: 4e9,
  streams: new RandomStreams(1),
  ...over,
});

const close = (a: number, b: number, rel = 1e-9) => Math.abs(a - b) <= rel * Math.abs(b);

describe("gravity traffic matrices", () => {
  it("spread totalBps over the off-diagonal pairs in proportion to outgoing x incoming mass", () => {
    const s = gravitySeries(base({ noiseSigma: 0, diurnalAmplitude: 0 }));
    const n = nodes.length;
    let sum = 0;
    for (let i = 0; i < n; i++) {
      assert.equal(s.base[i * n + i], 0);
      for (let j = 0; j < n; j++) {
        sum += s.base[i * n + j]!;
        if (i !== j)
          assert.ok(
            close(
              s.base[i * n + j]! / (s.massOut[i]! * s.massIn[j]!),
              s.base[1]! / (s.massOut[0]! * s.massIn[1]!),
            ),
          );
      }
    }
    assert.ok(close(sum, 4e9));
    assert.ok(close(totalRate(s, 0), 4e9));
  });

  it("make the noiseless total follow the diurnal cycle, with a weekday mean of totalBps and the peak at peakHour", () => {
    const s = gravitySeries(base({ noiseSigma: 0, peakHour: 18, diurnalAmplitude: 0.3 }));
    const totals = s.rates.map((_, t) => totalRate(s, t));
    totals.forEach((x, t) => {
      assert.ok(close(x, 4e9 * s.modulation[t]!));
    });
    const mean = totals.reduce((a, b) => a + b, 0) / totals.length;
    assert.ok(close(mean, 4e9, 1e-12), `mean ${mean}`);
    const peak = totals.indexOf(Math.max(...totals));
    assert.equal(s.labels?.[peak], "20040301-1755"); // midpoint 17:57:30, nearest to 18:00
    assert.ok(close(Math.max(...totals), 4e9 * (1 + 0.3 * Math.cos((2 * Math.PI * 2.5) / 60 / 24))));
  });

  it("scale Saturdays and Sundays by the weekend factor", () => {
    // 2004-03-05 is a Friday: one day of Friday, then Saturday and Sunday, then Monday.
    const s = gravitySeries(
      base({
        noiseSigma: 0,
        diurnalAmplitude: 0,
        intervals: 4 * day,
        start: "20040305-0000",
        weekendFactor: 0.6,
      }),
    );
    const dayMean = (d: number) =>
      s.modulation.slice(d * day, (d + 1) * day).reduce((a, b) => a + b, 0) / day;
    assert.deepEqual(
      [0, 1, 2, 3].map((d) => Number(dayMean(d).toFixed(12))),
      [1, 0.6, 0.6, 1],
    );
  });

  it("add lognormal noise with mean 1 and the given log standard deviation", () => {
    const s = gravitySeries(
      base({ intervals: 2000, diurnalAmplitude: 0, weekendFactor: 1, noiseSigma: 0.35 }),
    );
    const ratios: number[] = [];
    const n = nodes.length;
    for (const m of s.rates)
      for (let k = 0; k < n * n; k++) if (s.base[k]! > 0) ratios.push(m[k]! / s.base[k]!);
    const mean = ratios.reduce((a, b) => a + b, 0) / ratios.length;
    const logs = ratios.map(Math.log);
    const lm = logs.reduce((a, b) => a + b, 0) / logs.length;
    const sd = Math.sqrt(logs.reduce((a, b) => a + (b - lm) ** 2, 0) / logs.length);
    assert.ok(Math.abs(mean - 1) < 0.01, `mean noise factor ${mean}`);
    assert.ok(Math.abs(sd - 0.35) < 0.01, `log sd ${sd}`);
  });

  it("draw masses that look exponential (mean 1, coefficient of variation 1) over many nodes", () => {
    const many = Array.from({ length: 400 }, (_, i) => `n${i}`);
    const s = gravitySeries(base({ nodes: many, intervals: 1, noiseSigma: 0 }));
    const m = [...s.massOut, ...s.massIn];
    const mean = m.reduce((a, b) => a + b, 0) / m.length;
    const sd = Math.sqrt(m.reduce((a, b) => a + (b - mean) ** 2, 0) / m.length);
    assert.ok(Math.abs(mean - 1) < 0.08 && Math.abs(sd / mean - 1) < 0.1, `mean ${mean}, cv ${sd / mean}`);
  });

  it("use one mass per node with sharedMasses", () => {
    const s = gravitySeries(base({ sharedMasses: true, intervals: 1 }));
    assert.deepEqual([...s.massIn], [...s.massOut]);
  });

  it("repeat exactly for a seed, differ for another, and keep a node's masses when nodes are added", () => {
    const a = gravitySeries(base({ intervals: 10 }));
    const b = gravitySeries(base({ intervals: 10 }));
    assert.deepEqual(a.rates, b.rates);
    const c = gravitySeries(base({ intervals: 10, streams: new RandomStreams(2) }));
    assert.notDeepEqual(a.rates[0], c.rates[0]);
    const more = gravitySeries(base({ nodes: [...nodes, "0", "Z"], intervals: 10 }));
    assert.deepEqual(more.nodes, ["0", ...nodes, "Z"]);
    assert.deepEqual([...more.massOut.slice(1, 7)], [...a.massOut]);
  });

  it("document its defaults, which the generator uses", () => {
    const s = gravitySeries({ nodes, intervals: 2, totalBps: 1e9, streams: new RandomStreams(3) });
    assert.equal(s.intervalNs, GRAVITY_DEFAULTS.intervalNs);
    assert.equal(s.labels?.[0], GRAVITY_DEFAULTS.start);
    assert.equal(s.source, "gravity(seed=3, run=0)");
  });

  const errors: [string, Partial<GravityOptions>, RegExp][] = [
    ["one node", { nodes: ["A"] }, /nodes: expected at least 2 node ids, got 1/],
    ["a duplicate node", { nodes: ["A", "B", "A"] }, /nodes: expected unique non-empty ids, got "A"/],
    ["zero intervals", { intervals: 0 }, /intervals: expected an integer >= 1, got 0/],
    ["a zero total", { totalBps: 0 }, /totalBps: expected a rate > 0 bits\/s, got 0/],
    ["an amplitude of 1", { diurnalAmplitude: 1 }, /diurnalAmplitude: expected a number in \[0, 1\), got 1/],
    ["a peak hour of 24", { peakHour: 24 }, /peakHour: expected an hour in \[0, 24\), got 24/],
    ["a zero weekend factor", { weekendFactor: 0 }, /weekendFactor: expected a number > 0, got 0/],
    ["a negative noise", { noiseSigma: -0.1 }, /noiseSigma: expected a number >= 0, got -0\.1/],
    ["a fractional interval", { intervalNs: 1.5 }, /intervalNs: expected an integer > 0 ns, got 1\.5/],
    ["a bad start", { start: "monday" }, /start: expected a YYYYMMDD-HHMM stamp, got "monday"/],
  ];
  for (const [name, over, message] of errors) {
    it(`refuse ${name}, naming the parameter and what is allowed`, () => {
      assert.throws(
        () => gravitySeries(base(over)),
        (e: Error) => e instanceof WorkloadError && message.test(e.message),
      );
    });
  }
});
