import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { WorkloadError } from "../../../models/workload/errors.ts";
import { WorkloadError as ReExported } from "../../../models/workload/poisson-flows.ts";
import { buildSeries, type SeriesParts, totalRate } from "../../../models/workload/tm-series-build.ts";

const ok = (): SeriesParts => ({
  source: "s",
  nodes: ["a", "b"],
  intervalNs: 10,
  rates: [Float64Array.of(0, 1, 2, 0), Float64Array.of(0, 3, 4, 0)],
});

describe("traffic-matrix series construction", () => {
  it("set interval start times and keep the rates", () => {
    const s = buildSeries(ok());
    assert.deepEqual([...s.startNs], [0, 10]);
    assert.equal(totalRate(s, 1), 7);
    assert.equal(s.labels, undefined);
  });

  const errors: [string, Partial<SeriesParts>, RegExp][] = [
    ["unsorted nodes", { nodes: ["b", "a"] }, /s: node ids must be unique and sorted, got "b" before "a"/],
    ["an empty node id", { nodes: ["", "a"] }, /s: node ids must be non-empty/],
    ["a fractional interval", { intervalNs: 2.5 }, /s: interval must be a positive integer of ns, got 2\.5/],
    [
      "a matrix of the wrong size",
      { rates: [new Float64Array(3)] },
      /s: interval 0: matrix has 3 entries, expected 2 x 2/,
    ],
    [
      "a negative rate",
      { rates: [Float64Array.of(0, -1, 0, 0)] },
      /s: interval 0: pair a->b: rate must be a finite number >= 0 bits\/s, got -1/,
    ],
    ["self-traffic", { rates: [Float64Array.of(5, 0, 0, 0)] }, /pair a->a: .* and 0 on the diagonal, got 5/],
    ["labels that do not match the intervals", { labels: ["x"] }, /s: 1 labels for 2 intervals/],
  ];
  for (const [name, over, message] of errors) {
    it(`refuse ${name}`, () => {
      assert.throws(
        () => buildSeries({ ...ok(), ...over }),
        (e: Error) => e instanceof WorkloadError && message.test(e.message),
      );
    });
  }

  it("keep WorkloadError importable from poisson-flows.ts, where it used to live", () => {
    assert.equal(ReExported, WorkloadError);
  });
});
