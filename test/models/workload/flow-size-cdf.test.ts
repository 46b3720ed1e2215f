import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import {
  BUNDLED_FLOW_SIZE_CDFS,
  BUNDLED_FLOW_SIZES_DIR,
  bundledFlowSizeCdf,
  type CdfParseOptions,
  type FlowSizeCdf,
  parseFlowSizeCdf,
  readFlowSizeCdf,
} from "../../../models/workload/flow-size-cdf.ts";
import { DistributionError, EmpiricalCdf, RandomStreams } from "../../../sim/kernel/rng.ts";
import { sharedDataDir, skipUnlessShared } from "../../helpers/shared-data.ts";

const shared = (path: string) => join(sharedDataDir()!, "flow-size-distributions", path);

function sampleMean(cdf: FlowSizeCdf, n: number, seed = 1): number {
  const rng = new RandomStreams(seed).stream("sizes");
  let s = 0;
  for (let i = 0; i < n; i++) s += cdf.sample(rng);
  return s / n;
}

describe("bundled flow-size CDFs", () => {
  // Means by hand: linear CDFs = sum over segments of (F_i - F_{i-1}) x (x_{i-1} + x_i) / 2; Homa's files state
  // the mean of their step CDF on line 1 (published with the Homa simulator).
  const cases: [string, number, string, number][] = [
    [
      "websearch",
      0.15 * 5_000 +
        0.05 * 15_000 +
        0.1 * 25_000 +
        0.1 * 40_000 +
        0.13 * 65_000 +
        0.07 * 140_000 +
        0.1 * 600_000 +
        0.1 * 1_500_000 +
        0.1 * 3_500_000 +
        0.07 * 7_500_000 +
        0.03 * 20_000_000, // 1,711,250 B
      "linear",
      12,
    ],
    [
      "datamining",
      0.1 * 90 +
        0.1 * 198 +
        0.1 * 388 +
        0.1 * 730 +
        0.1 * 1_000 +
        0.1 * 1_485 +
        0.1 * 2_515 +
        0.1 * 6_580 +
        0.1 * 205_000 +
        0.05 * 1_780_000 +
        0.03 * 51_580_000 +
        0.02 * 550_000_000, // 12,658,198.6 B
      "linear",
      13,
    ],
    ["fb-hadoop", 127_796.6, "step", 461],
    ["fb-webserver", 62_874.27, "step", 441],
    ["fb-cache", 692_975.6, "step", 331],
  ];
  for (const [name, mean, interpolation, points] of cases) {
    it(`${name} has mean ${mean.toFixed(1)} B (${interpolation} CDF of ${points} points)`, () => {
      const cdf = bundledFlowSizeCdf(name);
      assert.equal(cdf.interpolation, interpolation);
      assert.equal(cdf.x.length, points);
      assert.ok(Math.abs(cdf.mean() - mean) < 0.05, `mean ${cdf.mean()}, expected ${mean}`);
      if (interpolation === "step") assert.equal(cdf.format?.statedMeanBytes, mean);
      assert.equal(cdf.format?.sizeUnit, "bytes");
    });
  }

  it("are all registered, and sampling reproduces their means", () => {
    assert.deepEqual(Object.keys(BUNDLED_FLOW_SIZE_CDFS).sort(), [
      "datamining",
      "fb-cache",
      "fb-hadoop",
      "fb-webserver",
      "websearch",
    ]);
    // fb-cache has the smallest coefficient of variation (1.5), so 200k draws give its mean within 1%.
    const cdf = bundledFlowSizeCdf("fb-cache");
    const m = sampleMean(cdf, 200_000);
    assert.ok(Math.abs(m / cdf.mean() - 1) < 0.01, `sample mean ${m}`);
  });

  it("keep websearch sampling exactly as before (linear inverse transform of the same points)", () => {
    const cdf = bundledFlowSizeCdf("websearch");
    const text = readFileSync(join(BUNDLED_FLOW_SIZES_DIR, "websearch.txt"), "utf8");
    const old = new EmpiricalCdf(
      text
        .trim()
        .split("\n")
        .map((l) => l.trim().split(/\s+/).map(Number) as [number, number]),
    );
    const a = new RandomStreams(5).stream("s");
    const b = new RandomStreams(5).stream("s");
    for (let i = 0; i < 1000; i++) assert.equal(cdf.sample(a), old.sample(b));
  });

  it("refuse an unknown name, listing the bundled ones", () => {
    assert.throws(
      () => bundledFlowSizeCdf("hadoop"),
      /unknown flow-size CDF "hadoop"; bundled: websearch, datamining/,
    );
  });
});

describe("flow-size CDF formats", () => {
  it("draw only the listed sizes from a step CDF, each with its probability", () => {
    const cdf = parseFlowSizeCdf("100\n50 0.5\n150 1\n", "homa.txt");
    assert.equal(cdf.interpolation, "step");
    assert.equal(cdf.mean(), 100);
    assert.deepEqual(
      [0, 0.25, 0.4999, 0.5, 0.99].map((u) => cdf.quantile(u)),
      [50, 50, 50, 150, 150],
    );
    const rng = new RandomStreams(1).stream("s");
    const counts = new Map<number, number>();
    for (let i = 0; i < 10_000; i++) {
      const x = cdf.sample(rng);
      counts.set(x, (counts.get(x) ?? 0) + 1);
    }
    assert.deepEqual([...counts.keys()].sort(), [150, 50]);
    assert.ok(Math.abs(counts.get(50)! / 10_000 - 0.5) < 0.02);
  });

  it("interpolate linearly by default, skipping a header and reading percent", () => {
    const cdf = parseFlowSizeCdf("size,cdf\n0,0\n100,50\n300,100\n", "p.csv");
    assert.equal(cdf.interpolation, "linear");
    assert.equal(cdf.format?.cdfScale, "percent");
    assert.equal(cdf.mean(), 0.5 * 50 + 0.5 * 200);
    assert.equal(cdf.quantile(0.75), 200);
  });

  const detection: [string, string, string, CdfParseOptions, Partial<FlowSizeCdf["format"] & object>][] = [
    ["a header naming KB", "size_KB cdf\n1 0.5\n2 1\n", "x.txt", {}, { sizeUnit: "KB", sizeUnitBytes: 1000 }],
    [
      "a header naming packets",
      "pkts cdf\n1 0.5\n2 1\n",
      "x.txt",
      {},
      { sizeUnit: "packets", sizeUnitBytes: 1460 },
    ],
    [
      "Homa's DCTCP file name",
      "10\n1 0.5\n20 1\n",
      "DCTCP_MsgSizeDist.txt",
      { interpolation: "step" },
      { sizeUnit: "packets" },
    ],
    ["an -extract.csv name", "0.5, 0.5\n2, 1.0\n", "a-extract.csv", {}, { sizeUnit: "KB", digitized: true }],
    [
      "an explicit packet size",
      "1 0.5\n2 1\n",
      "x.txt",
      { sizeUnit: "packets", packetBytes: 1000 },
      { sizeUnitBytes: 1000 },
    ],
    [
      "an explicit multiplier",
      "1 0.5\n2 1\n",
      "x.txt",
      { sizeUnitBytes: 8 },
      { sizeUnit: "custom", sizeUnitBytes: 8 },
    ],
    ["an explicit fraction scale", "1 0\n2 1\n", "x.txt", { cdfScale: "fraction" }, { cdfScale: "fraction" }],
  ];
  for (const [name, text, source, opts, expected] of detection) {
    it(`detect the format from ${name}`, () => {
      const cdf = parseFlowSizeCdf(text, source, opts);
      for (const [k, v] of Object.entries(expected))
        assert.deepEqual(cdf.format?.[k as keyof typeof expected], v, k);
    });
  }

  const errors: [string, string, string, CdfParseOptions, RegExp][] = [
    ["a malformed line", "1 0.5\nabc\n2 1\n", "c.txt", {}, /c\.txt:2: expected "size cdf", got "abc"/],
    [
      "a decreasing CDF",
      "1 0.5\n2 0.4\n3 1\n",
      "c.txt",
      {},
      /c\.txt:2: point \(2, 0\.4\) decreases from the previous point \(1, 0\.5\)/,
    ],
    ["a decreasing size", "5 0.5\n2 0.6\n3 1\n", "c.txt", {}, /c\.txt:2: point \(2, 0\.6\) decreases/],
    [
      "a truncated file",
      "1 0.2\n2 0.47\n",
      "c.txt",
      {},
      /c\.txt:2: the CDF ends at 0\.47, expected 1 \(is the file truncated\?\)/,
    ],
    [
      "a CDF above 100 percent",
      "1 50\n2 120\n",
      "c.txt",
      {},
      /c\.txt:2: CDF value 120 is outside \[0, 100\]/,
    ],
    ["no points", "# nothing\n", "c.txt", {}, /c\.txt: no CDF points/],
    [
      "a Homa mean that does not fit the points",
      "500\n50 0.5\n150 1\n",
      "h.txt",
      {},
      /h\.txt:1: stated mean 500 differs by 80\.0% from the step mean/,
    ],
    [
      "a digitized curve that stops too early",
      "1, 0.5\n2, 0.9\n",
      "a-extract.csv",
      {},
      /a-extract\.csv:2: digitized curve ends at 0\.9, below 0\.99/,
    ],
  ];
  for (const [name, text, source, opts, message] of errors) {
    it(`refuse ${name}, naming the file and line`, () => {
      assert.throws(
        () => parseFlowSizeCdf(text, source, opts),
        (e: Error) => e instanceof DistributionError && message.test(e.message),
      );
    });
  }

  it("name a file it cannot read", () => {
    assert.throws(
      () => readFlowSizeCdf("/nonexistent/cdf.txt"),
      /\/nonexistent\/cdf\.txt: cannot read flow-size CDF/,
    );
  });
});

describe("flow-size CDF formats, on the shared files", () => {
  const files: [string, Partial<NonNullable<FlowSizeCdf["format"]>>, number][] = [
    // [file, expected format, expected mean in bytes]
    [
      "hpcc/WebSearch_distribution.txt",
      { cdfScale: "percent", sizeUnit: "bytes", interpolation: "linear" },
      1_711_250,
    ],
    ["hkust-trafficgenerator/DCTCP_CDF.txt", { cdfScale: "fraction", sizeUnit: "bytes" }, 1_711_250],
    [
      "homa/DCTCP_MsgSizeDist.txt",
      { sizeUnit: "packets", interpolation: "step", statedMeanBytes: 1744.7 * 1460 },
      1744.7 * 1460,
    ],
    ["homa/DCTCP_MsgSizeDist_Original.txt", { sizeUnit: "packets", interpolation: "step" }, 1622.94 * 1460],
    [
      "homa/FacebookKeyValue_Sampled.txt",
      { sizeUnit: "bytes", interpolation: "step", statedMeanBytes: 187.77 },
      187.51,
    ],
    ["opera-sim/datamining.csv", { sizeUnit: "bytes", interpolation: "linear" }, 5_036_535.18],
  ];
  for (const [file, format, mean] of files) {
    it(`read ${file} with the right units and interpolation`, { skip: skipUnlessShared }, () => {
      const cdf = readFlowSizeCdf(shared(file));
      for (const [k, v] of Object.entries(format))
        assert.deepEqual(cdf.format?.[k as keyof typeof format], v, k);
      assert.ok(Math.abs(cdf.mean() / mean - 1) < 1e-4, `mean ${cdf.mean()}, expected ${mean}`);
    });
  }

  it("refuse Homa's truncated key-value file", { skip: skipUnlessShared }, () => {
    assert.throws(
      () => readFlowSizeCdf(shared("homa/FacebookKeyValueMsgSizeDist.txt")),
      /FacebookKeyValueMsgSizeDist\.txt:16: the CDF ends at 0\.47/,
    );
  });

  for (const name of [
    "webserver-all",
    "cachefollower-all",
    "hadoop-all",
    "hadoop-intracluster",
    "hadoop-intrarack",
  ]) {
    it(`clean parsimon's ${name}-extract.csv (KB) into the points of its cleaned ${name}.txt`, {
      skip: skipUnlessShared,
    }, () => {
      const extract = readFlowSizeCdf(shared(`parsimon-eval/facebook/${name}-extract.csv`));
      const clean = readFlowSizeCdf(shared(`parsimon-eval/facebook/${name}.txt`));
      assert.equal(extract.format?.sizeUnit, "KB");
      assert.equal(clean.format?.cdfScale, "percent");
      assert.ok(extract.format!.adjustments.length >= 2, extract.format!.adjustments.join("; "));
      assert.deepEqual([...extract.x], [...clean.x]);
      extract.F.forEach((f, i) => {
        assert.ok(Math.abs(f - clean.F[i]!) < 1e-12, `point ${i}: ${f} vs ${clean.F[i]}`);
      });
    });
  }
});
