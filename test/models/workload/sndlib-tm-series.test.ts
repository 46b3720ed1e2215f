import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { WorkloadError } from "../../../models/workload/errors.ts";
import {
  parseSndlibMatrix,
  readSndlibTmSeries,
  type SndlibSeriesOptions,
} from "../../../models/workload/sndlib-tm-series.ts";
import { pairRate } from "../../../models/workload/tm-series.ts";
import { totalRate } from "../../../models/workload/tm-series-build.ts";
import { parseSndlibDemands } from "../../../sim/substrate/sndlib-xml.ts";
import { sharedDataDir, skipUnlessShared } from "../../helpers/shared-data.ts";

// The SNDlib matrices are under the ZIB Academic License: the real-data tests read them from the shared data folder
// and skip without it. The small fixtures below are made up, written to a temporary directory.

const tmDir = (name: string) => join(sharedDataDir()!, "traffic-matrices", name);

const root = mkdtempSync(join(tmpdir(), "topocast-sndlib-tm-"));
after(() => rmSync(root, { recursive: true, force: true }));
let fixtureCount = 0;

/** A made-up matrix file in SNDlib's layout. `demands` maps "S_T" to a value (text, as written in the file). */
function matrix(opts: {
  time?: string;
  granularity?: string | null;
  nodes?: string[];
  demands?: Record<string, string | number>;
  unit?: string;
  rawDemands?: string;
}): string {
  const nodes = opts.nodes ?? ["A", "B", "C"];
  const g = opts.granularity === undefined ? "5min" : opts.granularity;
  const demands =
    opts.rawDemands ??
    Object.entries(opts.demands ?? {})
      .map(([id, v]) => {
        const [s, t] = id.split("_");
        return `  <demand id="${id}">\n   <source>${s}</source>\n   <target>${t}</target>\n   <demandValue> ${v} </demandValue>\n  </demand>`;
      })
      .join("\n");
  return `<?xml version="1.0"?>
<network xmlns="http://sndlib.zib.de/network" version="1.0">
 <meta>
  ${g === null ? "" : `<granularity>${g}</granularity>`}
  ${opts.time === undefined ? "" : `<time>${opts.time}</time>`}
  <unit>${opts.unit ?? "MBITPERSEC"}</unit>
 </meta>
 <networkStructure>
  <nodes coordinatesType="geographical">
${nodes.map((n) => `   <node id="${n}"><coordinates><x>1.0</x><y>2.0</y></coordinates></node>`).join("\n")}
  </nodes>
  <links>
  </links>
 </networkStructure>
 <demands>
${demands}
 </demands>
</network>
`;
}

/** Writes files (name stamp -> content) into a fresh directory and returns it. */
function fixture(files: Record<string, string>): string {
  const dir = join(root, `f${fixtureCount++}`);
  mkdirSync(dir);
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}

const file = (stamp: string, prefix = "test-5min") => `demandMatrix-${prefix}-${stamp}.xml`;

/** Three 5-min intervals from 2004-03-01 00:00 over nodes A, B, C. */
function threeIntervals(): Record<string, string> {
  return {
    [file("20040301-0000")]: matrix({ time: "20040301-0000", demands: { A_B: 1.5, B_A: "0.25", C_A: 2 } }),
    [file("20040301-0005")]: matrix({ time: "20040301-0005", demands: {} }),
    [file("20040301-0010")]: matrix({ time: "20040301-0010", demands: { A_C: "1e-6" } }),
  };
}

describe("SNDlib dynamic traffic matrices", () => {
  it("read Mbit/s averages as bits/s, with missing pairs and empty <demands> as zeros", () => {
    const s = readSndlibTmSeries(fixture(threeIntervals()));
    assert.deepEqual(s.nodes, ["A", "B", "C"]);
    assert.equal(s.intervalNs, 300e9);
    assert.deepEqual([...s.startNs], [0, 300e9, 600e9]);
    assert.deepEqual(s.labels, ["20040301-0000", "20040301-0005", "20040301-0010"]);
    assert.deepEqual(s.gaps, []);
    assert.deepEqual([...s.rates[0]!], [0, 1.5e6, 0, 0.25e6, 0, 0, 2e6, 0, 0]);
    assert.deepEqual([...s.rates[1]!], new Array(9).fill(0));
    assert.equal(pairRate(s, 2, 0, 2), 1);
  });

  it("convert values written in another bit rate (GBITPERSEC, BITSPERSEC) to bits/s", () => {
    for (const [unit, bps] of [
      ["GBITPERSEC", 2e9],
      ["BITSPERSEC", 2],
    ] as const) {
      const s = readSndlibTmSeries(
        fixture({ [file("20040301-0000")]: matrix({ unit, demands: { A_B: 2 } }) }),
      );
      assert.equal(pairRate(s, 0, 0, 1), bps, unit);
    }
  });

  it("order intervals by the stamp in the file name, whatever the directory order", () => {
    const files = threeIntervals();
    const dir = fixture({
      [file("20040301-0010")]: files[file("20040301-0010")]!,
      [file("20040301-0000")]: files[file("20040301-0000")]!,
      [file("20040301-0005")]: files[file("20040301-0005")]!,
      "README.txt": "not a matrix",
    });
    const s = readSndlibTmSeries(dir);
    assert.deepEqual(s.files, [file("20040301-0000"), file("20040301-0005"), file("20040301-0010")]);
  });

  it("report a missing interval by its stamp, and fill it with zeros only when allowGaps is set", () => {
    const files = threeIntervals();
    delete files[file("20040301-0005")];
    const dir = fixture(files);
    assert.throws(
      () => readSndlibTmSeries(dir),
      (e: Error) =>
        e instanceof WorkloadError &&
        /missing interval 20040301-0005 between "demandMatrix-test-5min-20040301-0000.xml"/.test(e.message) &&
        /allowGaps/.test(e.message),
    );
    const s = readSndlibTmSeries(dir, { allowGaps: true });
    assert.equal(s.rates.length, 3);
    assert.deepEqual(s.gaps, [{ index: 1, label: "20040301-0005" }]);
    assert.deepEqual(s.files, [file("20040301-0000"), undefined, file("20040301-0010")]);
    assert.equal(totalRate(s, 1), 0);
  });

  it("count the intervals of a longer gap in its message", () => {
    const dir = fixture({
      [file("20040301-2350")]: matrix({ demands: {} }),
      [file("20040302-0010")]: matrix({ demands: {} }),
    });
    assert.throws(
      () => readSndlibTmSeries(dir),
      /missing interval 20040301-2355 \(and 2 more, up to 20040302-0005\)/,
    );
  });

  it("take the interval from <granularity>, or from the intervalNs option when files have none", () => {
    const g15 = fixture({
      [file("20050505-0000", "g-15min")]: matrix({ granularity: "15min", demands: {} }),
      [file("20050505-0015", "g-15min")]: matrix({ granularity: "15min", demands: {} }),
    });
    assert.equal(readSndlibTmSeries(g15).intervalNs, 900e9);
    const none = fixture({
      [file("20050505-0000")]: matrix({ granularity: null, demands: {} }),
      [file("20050505-0010")]: matrix({ granularity: null, demands: {} }),
    });
    assert.throws(
      () => readSndlibTmSeries(none),
      /no file has <meta><granularity>; pass the intervalNs option/,
    );
    assert.equal(readSndlibTmSeries(none, { intervalNs: 600e9 }).rates.length, 2);
  });

  it("read only the stamps in [from, until)", () => {
    const s = readSndlibTmSeries(fixture(threeIntervals()), {
      from: "20040301-0005",
      until: "20040301-0010",
    });
    assert.deepEqual(s.labels, ["20040301-0005"]);
  });

  it("parse non-canonical XML (comments, attribute order, single quotes) through the general parser", () => {
    const raw = `<!-- a comment --><demand id='A_B'><source>A</source><target>B</target><demandValue>3</demandValue></demand>
      <demand id="B_C"><source>B</source><target>C</target><demandValue>4.5</demandValue><!-- why --></demand>`;
    const f = parseSndlibMatrix(matrix({ rawDemands: raw }), "x.xml");
    assert.deepEqual(f.demands, [
      { src: "A", dst: "B", mbps: 3 },
      { src: "B", dst: "C", mbps: 4.5 },
    ]);
  });

  const errors: [string, () => Record<string, string>, SndlibSeriesOptions, RegExp][] = [
    [
      "malformed XML names the file and line",
      () => ({ [file("20040301-0000")]: matrix({ demands: { A_B: 1 } }).replace("</target>", "</targt>") }),
      {},
      /demandMatrix-test-5min-20040301-0000\.xml: malformed XML at line \d+/,
    ],
    [
      "a bad demand value names the file, the demand and the value",
      () => ({ [file("20040301-0000")]: matrix({ demands: { A_B: "lots" } }) }),
      {},
      /20040301-0000\.xml: demand "A_B": demandValue must be a non-negative number of Mbit\/s, got "lots"/,
    ],
    [
      "a negative demand value is refused",
      () => ({ [file("20040301-0000")]: matrix({ demands: { A_B: "-1" } }) }),
      {},
      /demand "A_B": demandValue must be a non-negative number/,
    ],
    [
      "a demand to an undeclared node names the node",
      () => ({ [file("20040301-0000")]: matrix({ demands: { A_Z: 1 } }) }),
      {},
      /demand "A_Z": unknown node "Z"/,
    ],
    [
      "a unit that is not a bit rate is refused",
      () => ({ [file("20040301-0000")]: matrix({ unit: "PACKETSPERSEC", demands: {} }) }),
      {},
      /meta unit: expected a bit rate \(.*\), got "PACKETSPERSEC"/,
    ],
    [
      "two demands for one pair are refused",
      () => ({
        [file("20040301-0000")]: matrix({ demands: { A_B: 1, X: 2 } })
          .replace("X</source>", "A</source>")
          .replace("undefined</target>", "B</target>"),
      }),
      {},
      /demand A->B: a second demand for the same pair/,
    ],
    [
      "a self-demand is refused",
      () => ({ [file("20040301-0000")]: matrix({ demands: { A_A: 1 } }) }),
      {},
      /demand A->A: source equals target/,
    ],
    [
      "a <time> that disagrees with the file name is refused",
      () => ({ [file("20040301-0000")]: matrix({ time: "20040301-0005", demands: {} }) }),
      {},
      /<meta><time> is "20040301-0005" but the file name says "20040301-0000"/,
    ],
    [
      "a bad granularity names the element",
      () => ({ [file("20040301-0000")]: matrix({ granularity: "often", demands: {} }) }),
      {},
      /<meta><granularity>: expected an interval like "5min".*got "often"/,
    ],
    [
      "granularities that differ between files are refused",
      () => ({
        [file("20040301-0000")]: matrix({ demands: {} }),
        [file("20040301-0005")]: matrix({ granularity: "15min", demands: {} }),
      }),
      {},
      /<meta><granularity> "15min" \(900000000000 ns\) differs from the series interval 300000000000 ns/,
    ],
    [
      "a stamp off the interval grid is refused",
      () => ({
        [file("20040301-0000")]: matrix({ demands: {} }),
        [file("20040301-0007")]: matrix({ demands: {} }),
      }),
      {},
      /stamp 20040301-0007 is off the 5-min grid of the series starting 20040301-0000/,
    ],
    [
      "node lists that differ between files are refused",
      () => ({
        [file("20040301-0000")]: matrix({ demands: {} }),
        [file("20040301-0005")]: matrix({ nodes: ["A", "B", "D"], demands: {} }),
      }),
      {},
      /<nodes> differ from "demandMatrix-test-5min-20040301-0000\.xml": extra \["D"\], missing \["C"\]/,
    ],
    [
      "files of two series in one directory are refused",
      () => ({
        [file("20040301-0000", "a")]: matrix({ demands: {} }),
        [file("20040301-0005", "b")]: matrix({ demands: {} }),
      }),
      {},
      /files of different series in one directory/,
    ],
    [
      "a file name without a valid stamp is refused",
      () => ({ "demandMatrix-x-20040230-0000.xml": matrix({ demands: {} }) }),
      {},
      /file name must end in a valid stamp/,
    ],
    [
      "a directory without matrices is refused",
      () => ({ "notes.txt": "" }),
      {},
      /no demandMatrix-\*-YYYYMMDD-HHMM\.xml files/,
    ],
    [
      "a bad from option is refused",
      () => threeIntervals(),
      { from: "yesterday" },
      /option from: expected a YYYYMMDD-HHMM stamp, got "yesterday"/,
    ],
  ];
  for (const [name, files, opts, message] of errors) {
    it(`refuse bad input: ${name}`, () => {
      const dir = fixture(files());
      assert.throws(
        () => readSndlibTmSeries(dir, opts),
        (e: Error) => e instanceof WorkloadError && message.test(e.message),
      );
    });
  }

  it("refuse a directory that does not exist, naming it", () => {
    assert.throws(
      () => readSndlibTmSeries(join(root, "nope")),
      /nope: cannot read traffic-matrix directory \(ENOENT\)/,
    );
  });
});

describe("SNDlib dynamic traffic matrices, real data", () => {
  it("read the Abilene week: 2,016 five-minute matrices over 12 nodes, fast", {
    skip: skipUnlessShared,
  }, () => {
    const t0 = performance.now();
    const s = readSndlibTmSeries(tmDir("sndlib-abilene-5min"));
    const ms = performance.now() - t0;
    assert.equal(s.rates.length, 2016);
    assert.equal(s.intervalNs, 300e9);
    assert.deepEqual(s.nodes, [
      "ATLAM5",
      "ATLAng",
      "CHINng",
      "DNVRng",
      "HSTNng",
      "IPLSng",
      "KSCYng",
      "LOSAng",
      "NYCMng",
      "SNVAng",
      "STTLng",
      "WASHng",
    ]);
    assert.equal(s.labels[0], "20040301-0000");
    assert.equal(s.labels[2015], "20040307-2355");
    assert.equal(s.gaps.length, 0);
    // First demand of the first file: ATLAM5 -> ATLAng, 0.522208 Mbit/s.
    assert.equal(pairRate(s, 0, 0, 1), 522208);
    const totals = s.rates.map((_, t) => totalRate(s, t));
    const nonZero = s.rates.map((m) => m.filter((v) => v > 0).length);
    // SOURCES.md: network-wide total 1.8-6.2 Gbit/s, 112-132 non-zero demands per matrix.
    assert.ok(
      Math.min(...totals) > 1.8e9 && Math.max(...totals) < 6.3e9,
      `totals ${Math.min(...totals)}..${Math.max(...totals)}`,
    );
    assert.deepEqual([Math.min(...nonZero), Math.max(...nonZero)], [112, 132]);
    console.log(`# read the Abilene week (2016 files) in ${ms.toFixed(0)} ms`);
    assert.ok(ms < 10_000, `took ${ms} ms`);
  });

  it("read the GEANT two days: 192 fifteen-minute matrices over 22 nodes", { skip: skipUnlessShared }, () => {
    const s = readSndlibTmSeries(tmDir("sndlib-geant-15min"));
    assert.equal(s.rates.length, 192);
    assert.equal(s.intervalNs, 900e9);
    assert.equal(s.nodes.length, 22);
    assert.deepEqual([s.nodes[0], s.nodes[21]], ["at1.at", "uk1.uk"]);
    const totals = s.rates.map((_, t) => totalRate(s, t));
    assert.ok(Math.min(...totals) > 30e9 && Math.max(...totals) < 62e9);
  });

  it("give the same demands on the fast path as the general SNDlib parser on real files", {
    skip: skipUnlessShared,
  }, () => {
    const dirs = [tmDir("sndlib-geant-15min"), tmDir("sndlib-abilene-5min")];
    for (const dir of dirs) {
      const names = readdirSync(dir)
        .filter((n) => n.endsWith(".xml"))
        .sort();
      for (const name of names.filter((_, i) => i % 12 === 0)) {
        const text = readFileSync(join(dir, name), "utf8");
        assert.deepEqual(parseSndlibMatrix(text, name).demands, parseSndlibDemands(text, name), name);
      }
    }
  });
});
