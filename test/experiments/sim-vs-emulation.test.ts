import assert from "node:assert/strict";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { emulatedSimFlows } from "../../experiments/emulate-experiment.ts";
import { FLOWS_CSV_HEADER } from "../../experiments/flows-csv.ts";
import { ResultsError } from "../../experiments/results.ts";
import {
  ALL_FLOWS,
  compareFlows,
  compareRunDirs,
  ksDistance,
  type SimEmuRow,
} from "../../experiments/sim-vs-emulation/flow-comparison.ts";
import { type FlowsCsvRow, readFlowsCsv } from "../../experiments/sim-vs-emulation/flows-csv.ts";
import { compareLinks } from "../../experiments/sim-vs-emulation/link-comparison.ts";
import {
  comparisonCsv,
  comparisonText,
  SIM_VS_EMULATION_CSV_HEADER,
  simVsEmulationCdfSpec,
  writeComparison,
} from "../../experiments/sim-vs-emulation/output.ts";
import { MetricsError } from "../../sim/metrics/flow-stats.ts";
import { flowsTable } from "../helpers/flows-table.ts";

const dir = mkdtempSync(join(tmpdir(), "topocast-sim-vs-emu-"));
after(() => rmSync(dir, { recursive: true, force: true }));

/** Buckets small [0, 100), medium [100, 1000), large [1000, inf) bytes. */
const BUCKETS = { edges: [100, 1000], names: ["small", "medium", "large"] };

const flows = flowsTable;

/** The flows as a results directory's flows.csv. */
function csvOf(rows: readonly FlowsCsvRow[]): string {
  const lines = rows.map((r) =>
    [
      r.policy,
      r.flow,
      r.src,
      r.dst,
      r.sizeBytes,
      r.startNs,
      r.endNs,
      r.fctNs,
      r.idealFctNs,
      r.slowdown,
      r.hops,
      r.tag,
    ].join(","),
  );
  return `policy,${FLOWS_CSV_HEADER}\n${lines.map((l) => `${l}\n`).join("")}`;
}

function row(rows: readonly SimEmuRow[], policy: string, bucket: string): SimEmuRow {
  const r = rows.find((x) => x.policy === policy && x.bucket === bucket);
  assert.ok(r, `a row for ${policy}/${bucket}`);
  return r;
}

describe("ksDistance (two-sample Kolmogorov-Smirnov)", () => {
  const cases: { what: string; a: number[]; b: number[]; d: number }[] = [
    { what: "identical samples", a: [1, 2, 3], b: [1, 2, 3], d: 0 },
    { what: "the same distribution at different sizes", a: [1, 2], b: [1, 1, 2, 2], d: 0 },
    { what: "disjoint samples", a: [1, 2, 3], b: [4, 5], d: 1 },
    { what: "disjoint samples, the other way round", a: [10, 20], b: [1, 2, 3], d: 1 },
    // x = 2: F_a = 2/4, F_b = 0; x = 4: F_a = 1, F_b = 2/4.
    { what: "half-overlapping samples", a: [1, 2, 3, 4], b: [3, 4, 5, 6], d: 0.5 },
    // x = 1: 1/4 vs 0; x = 2: 3/4 vs 3/4; x = 3: 1 vs 3/4; x = 4: 1 vs 1 (comparing inside the ties at 2 gives 0.75).
    { what: "samples with ties across both", a: [1, 2, 2, 3], b: [2, 2, 2, 4], d: 0.25 },
    { what: "a single value against two", a: [1], b: [1, 2], d: 0.5 },
  ];
  for (const c of cases) {
    it(`is ${c.d} for ${c.what}`, () => {
      assert.equal(ksDistance(c.a, c.b), c.d);
      assert.equal(ksDistance(c.b, c.a), c.d, "symmetric");
    });
  }

  it("is NaN when a sample is empty", () => {
    assert.ok(Number.isNaN(ksDistance([], [1])));
    assert.ok(Number.isNaN(ksDistance([1], [])));
  });
});

describe("compareFlows", () => {
  const sim = flows(`
    policy  flow  size  fct  slowdown
    sp      0     10    10   1
    sp      1     10    20   2
    sp      2     10    30   3
    sp      3     10    40   4
  `);
  const emu = flows(`
    policy  flow  size  fct  slowdown
    sp      0     10    15   1.5
    sp      1     10    25   2.5
    sp      2     10    35   3.5
  `);

  it("computes nearest-rank medians, p99s, their ratio and the matched per-flow ratio", () => {
    const c = compareFlows(sim, emu, BUCKETS);
    const r = row(c.rows, "sp", "small");
    // sim fct 10 20 30 40: median = rank ceil(2) = 20, p99 = rank ceil(3.96) = 40.
    // emu fct 15 25 35: median = rank ceil(1.5) = 25, p99 = 35.
    // per-flow ratios 15/10, 25/20, 35/30 = 1.5, 1.25, 1.1667: median 1.25.
    assert.deepEqual(
      {
        simFlows: r.simFlows,
        emuFlows: r.emuFlows,
        simFctP50Ns: r.simFctP50Ns,
        emuFctP50Ns: r.emuFctP50Ns,
        fctP50Ratio: r.fctP50Ratio,
        simFctP99Ns: r.simFctP99Ns,
        emuFctP99Ns: r.emuFctP99Ns,
        simSlowdownP50: r.simSlowdownP50,
        emuSlowdownP50: r.emuSlowdownP50,
        matchedFlows: r.matchedFlows,
        matchedFctRatioP50: r.matchedFctRatioP50,
      },
      {
        simFlows: 4,
        emuFlows: 3,
        simFctP50Ns: 20,
        emuFctP50Ns: 25,
        fctP50Ratio: 1.25,
        simFctP99Ns: 40,
        emuFctP99Ns: 35,
        simSlowdownP50: 2,
        emuSlowdownP50: 2.5,
        matchedFlows: 3,
        matchedFctRatioP50: 1.25,
      },
    );
    // F_sim - F_emu: x=10 1/4-0, x=15 1/4-1/3, x=20 2/4-1/3, x=25 2/4-2/3, x=30 3/4-2/3, x=35 3/4-1, x=40 1-1.
    assert.equal(r.ksD, 0.25);
  });

  it("leaves the statistics of an empty bucket null and counts it as zero flows", () => {
    const r = row(compareFlows(sim, emu, BUCKETS).rows, "sp", "large");
    assert.deepEqual(
      [r.simFlows, r.emuFlows, r.simFctP50Ns, r.fctP50Ratio, r.ksD, r.matchedFlows, r.matchedFctRatioP50],
      [0, 0, null, null, null, 0, null],
    );
  });

  it("buckets flows by half-open byte ranges [lo, hi), an edge belonging to the bucket above", () => {
    const both = flows(`
      policy  flow  size  fct  slowdown
      sp      0     0     1    1
      sp      1     99    1    1
      sp      2     100   1    1
      sp      3     999   1    1
      sp      4     1000  1    1
      sp      5     5000  1    1
    `);
    const c = compareFlows(both, both, BUCKETS);
    assert.deepEqual(
      c.rows.map((r) => [r.bucket, r.loBytes, r.hiBytes, r.simFlows, r.emuFlows, r.matchedFlows]),
      [
        ["small", 0, 100, 2, 2, 2],
        ["medium", 100, 1000, 2, 2, 2],
        ["large", 1000, null, 2, 2, 2],
        [ALL_FLOWS, 0, null, 6, 6, 6],
      ],
    );
    assert.ok(
      c.rows.every((r) => r.ksD === 0 && r.matchedFctRatioP50 === 1),
      "identical runs: D = 0, ratio 1",
    );
  });

  it("matches an emulated prefix of the flows by id and says the rest were not emulated", () => {
    const simRows = flows(`
      policy  flow  size  fct  slowdown
      sp      0     50    100  1
      sp      1     500   100  1
      sp      2     50    100  1
      sp      3     500   100  1
      sp      4     50    100  1
    `);
    // The emulated window ends after flow 2; emulated flows are 2x, 3x and 4x slower.
    const emuRows = flows(`
      policy  flow  size  fct  slowdown
      sp      1     500   300  3
      sp      0     50    200  2
      sp      2     50    400  4
    `);
    const c = compareFlows(simRows, emuRows, BUCKETS);
    const small = row(c.rows, "sp", "small");
    assert.deepEqual([small.simFlows, small.emuFlows, small.matchedFlows], [3, 2, 2]);
    assert.equal(small.matchedFctRatioP50, 2, "ratios 2, 4: lower middle");
    assert.equal(row(c.rows, "sp", "medium").matchedFctRatioP50, 3);
    const all = row(c.rows, "sp", ALL_FLOWS);
    assert.deepEqual([all.simFlows, all.emuFlows, all.matchedFlows, all.matchedFctRatioP50], [5, 3, 3, 3]);
    assert.equal(c.notes.length, 1);
    assert.match(c.notes[0]!, /policy "sp": 3 of 5 simulated flows finished in the emulation/);
  });

  it("notes emulated flows unknown to the simulation and matched flows whose size differs", () => {
    const simRows = flows(`
      policy  flow  size  fct  slowdown
      sp      0     50    100  1
      sp      1     50    100  1
    `);
    const emuRows = flows(`
      policy  flow  size  fct  slowdown
      sp      0     50    100  1
      sp      1     5000  200  1
      sp      9     50    100  1
    `);
    const c = compareFlows(simRows, emuRows, BUCKETS);
    assert.equal(row(c.rows, "sp", "small").matchedFlows, 2, "flow 1 is bucketed by its simulated size");
    assert.equal(
      row(c.rows, "sp", "large").emuFlows,
      1,
      "but counts in the emulated distribution by its own",
    );
    assert.equal(row(c.rows, "sp", ALL_FLOWS).matchedFlows, 2);
    assert.deepEqual(
      c.notes.map((n) => n.replace(/ \(.*$/, "")),
      [
        'policy "sp": 1 emulated flow(s) match no simulated flow by id or by endpoints, tag and size',
        'policy "sp": 1 matched flow(s) differ in size_bytes between the runs',
      ],
    );
  });

  it("matches application flows, numbered differently by each engine, by endpoints, tag and size in start order", () => {
    // Two calls of an application pair (tag 7, a -> b) and one response (tag 8, b -> a): the emulator numbered
    // them in another order than the simulator; flow 0 is a replayed matrix flow, the same in both.
    const at = (rows: FlowsCsvRow[], fields: Partial<FlowsCsvRow>[]) =>
      rows.map((r, i) => ({ ...r, ...fields[i] }));
    const simRows = at(
      flows(`
        policy  flow  size  fct
        sp      0     50    100
        sp      1     60    100
        sp      2     60    100
        sp      3     80    100
      `),
      [{}, { tag: 7, startNs: 10 }, { tag: 7, startNs: 20 }, { src: "b", dst: "a", tag: 8, startNs: 30 }],
    );
    const emuRows = at(
      flows(`
        policy  flow  size  fct
        sp      0     50    200
        sp      1     80    400
        sp      2     60    300
        sp      3     60    600
      `),
      [{}, { src: "b", dst: "a", tag: 8, startNs: 31 }, { tag: 7, startNs: 11 }, { tag: 7, startNs: 21 }],
    );
    const c = compareFlows(simRows, emuRows, BUCKETS);
    const all = row(c.rows, "sp", ALL_FLOWS);
    assert.equal(all.matchedFlows, 4);
    // Flows 0 and 2 agree by id (ratios 2 and 3); emulated 1 is the response (4), emulated 3 the other call,
    // the simulator's flow 1 (6): nearest-rank median 3.
    assert.equal(all.matchedFctRatioP50, 3);
    assert.deepEqual(
      c.notes.map((n) => n.replace(/ \(.*$/, "")),
      ['policy "sp": 2 emulated flow(s) matched by endpoints, tag and size in start order, not by id'],
    );
  });

  it("compares only policies in both runs, in the emulation's order, and lists the others", () => {
    const simRows = flows(`
      policy  flow  size  fct  slowdown
      a       0     50    100  1
      b       0     50    100  1
      c       0     50    100  1
      d       0     50    100  1
    `);
    const emuRows = flows(`
      policy  flow  size  fct  slowdown
      e       0     50    100  1
      c       0     50    100  1
      b       0     50    100  1
    `);
    const c = compareFlows(simRows, emuRows, BUCKETS);
    assert.deepEqual([...new Set(c.rows.map((r) => r.policy))], ["c", "b"]);
    assert.deepEqual(c.onlyInSim, ["a", "d"]);
    assert.deepEqual(c.onlyInEmulation, ["e"]);
    assert.deepEqual(c.notes, []);
  });

  const badBuckets: { what: string; buckets: { edges: number[]; names: string[] }; error: RegExp }[] = [
    { what: "descending edges", buckets: { edges: [10, 5], names: ["a", "b", "c"] }, error: /edges\[1\]/ },
    { what: "a zero edge", buckets: { edges: [0], names: ["a", "b"] }, error: /edges\[0\]/ },
    { what: "too few names", buckets: { edges: [10], names: ["a"] }, error: /expected 2 names/ },
  ];
  for (const b of badBuckets) {
    it(`rejects buckets with ${b.what}`, () => {
      assert.throws(
        () => compareFlows([], [], b.buckets),
        (e: unknown) => e instanceof MetricsError && b.error.test(e.message),
      );
    });
  }

  it("rejects a flow id repeated within a policy", () => {
    const twice = flows(`
      policy  flow  size  fct  slowdown
      sp      7     50    100  1
      sp      7     50    200  1
    `);
    assert.throws(
      () => compareFlows(twice, [], BUCKETS),
      (e: unknown) => e instanceof ResultsError && /simulation: flow 7 of policy "sp"/.test(e.message),
    );
  });
});

describe("readFlowsCsv", () => {
  const good = flows(`
    policy  flow  size  fct  slowdown
    sp      0     50    100  2
    sp      1     500   300  3
  `);

  it("reads back the rows of a flows.csv", () => {
    const path = join(dir, "good.csv");
    writeFileSync(path, csvOf(good));
    assert.deepEqual(readFlowsCsv(path), good);
  });

  it("reads quoted policy labels and node ids", () => {
    const path = join(dir, "quoted.csv");
    writeFileSync(path, `policy,${FLOWS_CSV_HEADER}\n"sp, slow",3,"n,1",n2,10,0,5,5,5,1,2,0\n`);
    const [r] = readFlowsCsv(path);
    assert.deepEqual([r!.policy, r!.flow, r!.src, r!.dst], ["sp, slow", 3, "n,1", "n2"]);
  });

  /** csvOf(good) with the field `column` of its second flow (file line 3) set to `value`. */
  const withField = (column: string, value: string): string => {
    const lines = csvOf(good).split("\n");
    const fields = lines[2]!.split(",");
    fields[lines[0]!.split(",").indexOf(column)] = value;
    lines[2] = fields.join(",");
    return lines.join("\n");
  };
  const bad: { what: string; body: string; error: RegExp }[] = [
    {
      what: "a non-numeric FCT",
      body: withField("fct_ns", "slow"),
      error: /bad\.csv:3: fct_ns: expected a finite number > 0, got "slow"/,
    },
    {
      what: "a zero FCT",
      body: withField("fct_ns", "0"),
      error: /bad\.csv:3: fct_ns: expected a finite number > 0, got "0"/,
    },
    {
      what: "an empty size",
      body: withField("size_bytes", ""),
      error: /bad\.csv:3: size_bytes: expected a finite number >= 0, got ""/,
    },
    {
      what: "a fractional flow id",
      body: withField("flow", "1.5"),
      error: /bad\.csv:3: flow: expected an integer flow id/,
    },
    {
      what: "a truncated line",
      body: `${csvOf(good)}sp,2,a,b,50\n`,
      error: /bad\.csv:4: start_ns: expected a finite number >= 0, got ""/,
    },
    {
      what: "a repeated flow id",
      body: csvOf([...good, good[0]!]),
      error: /bad\.csv:4: flow: flow 0 of policy "sp" already appears on line 2/,
    },
    {
      what: "a header without the policy column",
      body: `${FLOWS_CSV_HEADER}\n0,a,b,50,0,100,100,50,2,1,0\n`,
      error: /bad\.csv:1: missing column\(s\) policy; expected the header policy,flow,/,
    },
  ];
  for (const b of bad) {
    it(`names the file, line and field of ${b.what}`, () => {
      const path = join(dir, "bad.csv");
      writeFileSync(path, b.body);
      assert.throws(
        () => readFlowsCsv(path),
        (e: unknown) => e instanceof ResultsError && b.error.test(e.message),
      );
    });
  }

  it("says which file is missing", () => {
    assert.throws(
      () => readFlowsCsv(join(dir, "nowhere", "flows.csv")),
      (e: unknown) => e instanceof ResultsError && /nowhere\/flows\.csv: no such file/.test(e.message),
    );
  });
});

/** A results directory with flows.csv and a summary.json whose buckets are `buckets` (the rest is not read). */
function runDir(name: string, rows: readonly FlowsCsvRow[], buckets = BUCKETS): string {
  const d = join(dir, name);
  mkdirSync(d, { recursive: true });
  writeFileSync(join(d, "flows.csv"), csvOf(rows));
  const policy = {
    policy: "sp",
    flows: {
      buckets: buckets.names.map((n, b) => ({
        name: n,
        loBytes: b === 0 ? 0 : buckets.edges[b - 1]!,
        hiBytes: buckets.edges[b] ?? null,
      })),
    },
  };
  writeFileSync(join(d, "summary.json"), JSON.stringify({ policies: [policy] }));
  return d;
}

describe("comparing results directories", () => {
  const sim = flows(`
    policy  flow  size  fct      slowdown
    sp      0     50    1000000  1
    sp      1     500   2000000  2
    sp      2     5000  4000000  4
    ecmp    0     50    1000000  1
  `);
  const emu = flows(`
    policy  flow  size  fct      slowdown
    sp      0     50    1500000  1.5
    sp      1     500   2500000  2.5
  `);

  it("uses the size buckets of the runs' summary.json", () => {
    const c = compareRunDirs(runDir("sim", sim), runDir("emu", emu));
    assert.deepEqual(c.buckets, BUCKETS);
    assert.deepEqual(
      c.rows.map((r) => [r.policy, r.bucket, r.simFlows, r.emuFlows]),
      [
        ["sp", "small", 1, 1],
        ["sp", "medium", 1, 1],
        ["sp", "large", 1, 0],
        ["sp", ALL_FLOWS, 3, 2],
      ],
    );
    assert.deepEqual(c.onlyInSim, ["ecmp"]);
  });

  it("refuses runs whose size buckets differ", () => {
    const other = { edges: [200], names: ["mice", "elephants"] };
    assert.throws(
      () => compareRunDirs(runDir("sim", sim), runDir("emu-other", emu, other)),
      (e: unknown) => e instanceof ResultsError && /different size buckets/.test(e.message),
    );
  });

  it("writes one CSV line per policy and bucket and a terminal table", () => {
    const c = compareRunDirs(runDir("sim", sim), runDir("emu", emu));
    const lines = comparisonCsv(c).trimEnd().split("\n");
    assert.equal(lines[0], SIM_VS_EMULATION_CSV_HEADER);
    assert.equal(lines.length, 1 + 4);
    // sp/small: 1 flow each, 1e6 vs 1.5e6 ns, D = 1 (disjoint), matched ratio 1.5; empty fields for nulls.
    assert.equal(lines[1], "sp,small,0,100,1,1,1000000,1500000,1.5,1000000,1500000,1,1.5,1,1,1.5");
    assert.equal(lines[3], "sp,large,1000,,1,0,4000000,,,4000000,,4,,,0,");
    const text = comparisonText(c);
    assert.match(text, /small \(0 B-100 B\)/);
    assert.match(text, /1 ms \/ 1\.5 ms/);
    assert.match(text, /only in the simulation: ecmp/);
    assert.match(text, /note: policy "sp": 2 of 3 simulated flows/);
  });

  it("builds one CDF panel per policy with simulation and emulation lines", () => {
    const spec = simVsEmulationCdfSpec([
      { policy: "b", value: 1, fraction: 1, run: "simulation" },
      { policy: "a", value: 2, fraction: 1, run: "emulation" },
    ]) as { facet: { field: string; sort: string[] }; columns: number };
    assert.equal(spec.facet.field, "policy");
    assert.deepEqual(spec.facet.sort, ["b", "a"]);
    assert.equal(spec.columns, 2);
  });

  it("writes the comparison's JSON, CSV and CDF plot into a directory", async () => {
    const out = join(dir, "out");
    const c = compareFlows(sim, emu, BUCKETS);
    const files = await writeComparison(out, c, sim, emu);
    assert.deepEqual(JSON.parse(readFileSync(join(out, "sim-vs-emulation.json"), "utf8")), c);
    assert.equal(readFileSync(join(out, "sim-vs-emulation.csv"), "utf8"), comparisonCsv(c));
    for (const ext of ["svg", "png", "vl.json"]) {
      assert.ok(existsSync(join(out, "plots", `sim-vs-emulation-fct-cdf.${ext}`)), ext);
    }
    assert.match(readFileSync(files.plot!.svg, "utf8"), /emulation/);
  });
});

describe("compareLinks", () => {
  /** links.csv rows of one policy: per interval end (ns), utilization of links a and b. */
  const rows = (policy: string, series: [number, number, number][]) =>
    series.flatMap(([end, a, b]) =>
      [
        ["a", a],
        ["b", b],
      ].map(([link, u]) => ({
        policy,
        interval_start_ns: String(end - 100),
        interval_end_ns: String(end),
        link: String(link),
        utilization: String(u),
      })),
    );

  it("compares MLU mean and p95 and per-link mean utilization over the common window only", () => {
    const sim = rows("p", [
      [100, 0.5, 0.1],
      [200, 0.7, 0.3],
      [300, 0.9, 0.9], // after the window: ignored
    ]);
    const emu = rows("p", [
      [100, 0.6, 0.1],
      [200, 0.8, 0.2],
    ]);
    const [r] = compareLinks(sim, emu, 200);
    assert.equal(r!.simIntervals, 2);
    assert.equal(r!.emuIntervals, 2);
    assert.ok(Math.abs(r!.simMeanMlu! - 0.6) < 1e-12);
    assert.ok(Math.abs(r!.emuMeanMlu! - 0.7) < 1e-12);
    assert.equal(r!.simP95Mlu, 0.7);
    assert.equal(r!.emuP95Mlu, 0.8);
    // link a: sim 0.6, emu 0.7 (+0.1); link b: sim 0.2, emu 0.15 (-0.05)
    assert.ok(Math.abs(r!.meanAbsUtilizationDiff! - 0.075) < 1e-12);
    assert.equal(r!.worstLink, "a");
    assert.ok(Math.abs(r!.worstLinkDiff! - 0.1) < 1e-12);
  });

  it("compares only policies in both runs, in the emulation's order, with empty series as nulls", () => {
    const sim = [...rows("x", [[100, 0.1, 0.1]]), ...rows("y", [[100, 0.2, 0.2]])];
    const emu = [
      ...rows("y", [[100, 0.3, 0.3]]),
      ...rows("z", [[100, 0.4, 0.4]]),
      ...rows("x", [[900, 0.5, 0.5]]),
    ];
    const out = compareLinks(sim, emu, 500);
    assert.deepEqual(
      out.map((r) => r.policy),
      ["y", "x"],
    );
    assert.equal(out[1]!.emuMeanMlu, null);
    assert.equal(out[1]!.meanAbsUtilizationDiff, null);
  });
});

describe("emulatedSimFlows: the simulated flows an emulation ran", () => {
  // Per policy: scheduled (matrix) flows have tags below the application tag base 4, application flows from it.
  const rows = (policy: string, tags: number[]): FlowsCsvRow[] =>
    flowsTable(`policy flow size fct\n${tags.map((_, i) => `${policy} ${i} 50 100`).join("\n")}`).map(
      (r, i) => ({
        ...r,
        tag: tags[i]!,
      }),
    );
  const cases: { what: string; tags: number[]; replayed: number; tagBase: number; kept: number[] }[] = [
    {
      what: "matrix flows only: the first `replayed` ids",
      tags: [0, 1, 2, 3],
      replayed: 2,
      tagBase: Infinity,
      kept: [0, 1],
    },
    {
      what: "applications interleaved: every application flow, the first scheduled ones",
      tags: [0, 5, 1, 6, 2, 7],
      replayed: 2,
      tagBase: 4,
      kept: [0, 1, 2, 3, 5],
    },
    {
      what: "nothing replayed: the application flows alone",
      tags: [4, 0, 4],
      replayed: 0,
      tagBase: 4,
      kept: [0, 2],
    },
  ];
  for (const c of cases)
    it(c.what, () => {
      const got = emulatedSimFlows([...rows("a", c.tags), ...rows("b", c.tags)], c.replayed, c.tagBase);
      assert.deepEqual(
        got.map((r) => `${r.policy}${r.flow}`),
        [...c.kept.map((k) => `a${k}`), ...c.kept.map((k) => `b${k}`)],
      );
    });
});
