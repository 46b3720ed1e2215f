import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import {
  type CsvSeriesOptions,
  parseCsvTmSeries,
  readCsvTmSeries,
} from "../../../models/workload/csv-tm-series.ts";
import { WorkloadError } from "../../../models/workload/errors.ts";
import { pairRate } from "../../../models/workload/tm-series.ts";

const lines = (...rows: string[]) => `${rows.join("\n")}\n`;

describe("CSV traffic-matrix series", () => {
  it("read rows in any order into evenly spaced intervals, missing pairs being zero", () => {
    const s = parseCsvTmSeries(
      lines(
        "time_s,src,dst,rate_bps",
        "600,b,a,3e6",
        "0,a,b,1000000",
        "# a comment",
        "",
        "300,a,b,2000000",
        "0,b,a,5",
      ),
      "tm.csv",
    );
    assert.deepEqual(s.nodes, ["a", "b"]);
    assert.equal(s.intervalNs, 300e9);
    assert.deepEqual(s.labels, ["0", "300", "600"]);
    assert.deepEqual(
      s.rates.map((m) => [...m]),
      [
        [0, 1e6, 5, 0],
        [0, 2e6, 0, 0],
        [0, 0, 3e6, 0],
      ],
    );
  });

  it("accept the columns in any order, with spaces, quotes and CRLF line ends", () => {
    const s = parseCsvTmSeries('rate_bps, dst ,src,time_s\r\n10,"B",A,0.5\r\n20,B,A,1.0\r\n', "x.csv");
    assert.equal(s.intervalNs, 500e6);
    assert.equal(pairRate(s, 1, 0, 1), 20);
  });

  it("fill intervals without rows with zeros when the interval is given", () => {
    const s = parseCsvTmSeries(lines("time_s,src,dst,rate_bps", "0,a,b,1", "900,a,b,2"), "x.csv", {
      intervalS: 300,
    });
    assert.equal(s.rates.length, 4);
    assert.deepEqual(
      s.rates.map((m) => m[1]),
      [1, 0, 0, 2],
    );
  });

  it("read a file from disk, and name it when it cannot", () => {
    const dir = mkdtempSync(join(tmpdir(), "topocast-csv-"));
    after(() => rmSync(dir, { recursive: true, force: true }));
    const path = join(dir, "tm.csv");
    writeFileSync(path, lines("time_s,src,dst,rate_bps", "0,a,b,1", "60,a,b,2"));
    assert.equal(readCsvTmSeries(path).intervalNs, 60e9);
    assert.throws(
      () => readCsvTmSeries(join(dir, "missing.csv")),
      /missing\.csv: cannot read file \(ENOENT\)/,
    );
  });

  const errors: [string, string, CsvSeriesOptions, RegExp][] = [
    ["an empty file", "", {}, /tm\.csv: empty file; expected the header time_s,src,dst,rate_bps/],
    [
      "a missing header",
      lines("0,a,b,1"),
      {},
      /tm\.csv:1: header: expected the columns time_s,src,dst,rate_bps/,
    ],
    [
      "an extra column",
      lines("time_s,src,dst,rate_bps,note", "0,a,b,1,x"),
      {},
      /tm\.csv:1: header: expected the columns/,
    ],
    ["a header without rows", lines("time_s,src,dst,rate_bps"), {}, /tm\.csv: no data rows after the header/],
    ["a short row", lines("time_s,src,dst,rate_bps", "0,a,b"), {}, /tm\.csv:2: expected 4 fields/],
    [
      "a bad time",
      lines("time_s,src,dst,rate_bps", "noon,a,b,1"),
      {},
      /tm\.csv:2: time_s: expected a number of seconds, got "noon"/,
    ],
    [
      "a negative rate",
      lines("time_s,src,dst,rate_bps", "0,a,b,-3"),
      {},
      /tm\.csv:2: rate_bps: expected a number >= 0 of bits\/s, got "-3"/,
    ],
    [
      "a rate with a unit",
      lines("time_s,src,dst,rate_bps", "0,a,b,10Mbps"),
      {},
      /tm\.csv:2: rate_bps: .* got "10Mbps"/,
    ],
    [
      "an empty node id",
      lines("time_s,src,dst,rate_bps", "0,,b,1"),
      {},
      /tm\.csv:2: src: expected a node id/,
    ],
    ["self-traffic", lines("time_s,src,dst,rate_bps", "0,a,a,1"), {}, /tm\.csv:2: src and dst are both "a"/],
    [
      "a pair given twice for one time",
      lines("time_s,src,dst,rate_bps", "0,a,b,1", "0,c,b,1", "0,a,b,2"),
      {},
      /tm\.csv:4: pair a->b at time_s 0 was already given on line 2/,
    ],
    [
      "uneven time spacing",
      lines("time_s,src,dst,rate_bps", "0,a,b,1", "300,a,b,1", "900,a,b,1"),
      {},
      /tm\.csv:4: time_s 900 is 600 s after the previous time 300, but times must be evenly spaced \(300 s/,
    ],
    [
      "a single time without an interval",
      lines("time_s,src,dst,rate_bps", "0,a,b,1"),
      {},
      /only one distinct time \(0 s\); give intervalS/,
    ],
    [
      "a time off the given interval",
      lines("time_s,src,dst,rate_bps", "0,a,b,1", "450,a,b,1"),
      { intervalS: 300 },
      /tm\.csv:3: time_s 450 is not a multiple of the interval 300 s/,
    ],
  ];
  for (const [name, text, opts, message] of errors) {
    it(`refuse ${name}, naming the file and line`, () => {
      assert.throws(
        () => parseCsvTmSeries(text, "tm.csv", opts),
        (e: Error) => e instanceof WorkloadError && message.test(e.message),
      );
    });
  }
});
