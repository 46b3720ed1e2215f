import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { WorkloadError } from "../../../models/workload/errors.ts";
import {
  formatStamp,
  isoWeekday,
  parseGranularityNs,
  stampMinutes,
} from "../../../models/workload/time-labels.ts";

describe("time labels", () => {
  it("round-trip YYYYMMDD-HHMM stamps through minutes, across days, months and leap days", () => {
    for (const stamp of [
      "20040301-0000",
      "20040229-2355",
      "20041231-2359",
      "20050505-0015",
      "19700101-0000",
    ]) {
      assert.equal(formatStamp(stampMinutes(stamp)!), stamp);
    }
    assert.equal(formatStamp(stampMinutes("20040228-2355")! + 5), "20040229-0000");
    assert.equal(formatStamp(stampMinutes("20041231-2355")! + 5), "20050101-0000");
  });

  it("refuse impossible stamps", () => {
    for (const bad of [
      "20040230-0000",
      "20040431-0000",
      "20040301-2400",
      "20040301-0060",
      "2004-03-01",
      "20040301_0000",
      "",
    ]) {
      assert.equal(stampMinutes(bad), undefined, bad);
    }
  });

  it("give ISO weekdays, Monday = 0 (2004-03-01 was a Monday)", () => {
    const days = ["20040301", "20040306", "20040307", "20040308"].map((d) =>
      isoWeekday(stampMinutes(`${d}-1200`)!),
    );
    assert.deepEqual(days, [0, 5, 6, 0]);
  });

  const durations: [string, number][] = [
    ["5min", 300e9],
    ["15min", 900e9],
    [" 1h ", 3600e9],
    ["300s", 300e9],
    ["1day", 86_400e9],
    ["2 minutes", 120e9],
  ];
  for (const [text, ns] of durations) {
    it(`read the granularity ${JSON.stringify(text)} as ${ns} ns`, () => {
      assert.equal(parseGranularityNs(text, "x"), ns);
    });
  }

  it("refuse a granularity it cannot read, naming where it came from", () => {
    for (const bad of ["", "5", "fast", "0min", "1e-12s"]) {
      assert.throws(
        () => parseGranularityNs(bad, "f.xml: <meta><granularity>"),
        (e: Error) =>
          e instanceof WorkloadError && e.message.startsWith("f.xml: <meta><granularity>: expected"),
      );
    }
  });
});
