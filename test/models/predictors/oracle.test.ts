import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { OraclePredictor } from "../../../models/predictors/oracle.ts";

const rows = [0, 1, 2, 3, 4].map((t) => Float64Array.of(10 * t, 10 * t + 1));

describe("the oracle", () => {
  it("forecasts the rows that come next", () => {
    const o = new OraclePredictor(2, { rows });
    assert.deepEqual(o.forecast(2), [rows[0], rows[1]]);
    o.observe(1, rows[0]!);
    o.observe(2, rows[1]!);
    assert.equal(o.cursor, 2);
    assert.deepEqual(o.forecast(3), [rows[2], rows[3], rows[4]]);
  });

  it("starts at a given cursor", () => {
    const o = new OraclePredictor(2, { rows, cursor: 3 });
    assert.deepEqual(o.forecast(1), [rows[3]]);
  });

  it("follows the observed time when given the intervals' end times", () => {
    const o = new OraclePredictor(2, { rows, endNs: Float64Array.of(300, 600, 900, 1200, 1500) });
    o.observe(900, rows[2]!); // intervals 0 and 1 were never observed
    assert.deepEqual(o.forecast(1), [rows[3]]);
    assert.throws(
      () => o.observe(1000, rows[3]!),
      /oracle\.observe: time 1000 ns is not the end of any interval/,
    );
  });

  it("refuses to forecast past the end of the series", () => {
    const o = new OraclePredictor(2, { rows, cursor: 4 });
    assert.throws(
      () => o.forecast(2),
      /oracle\.forecast: 2 steps from interval 4 run past the end of the series \(5 intervals\)/,
    );
  });

  it("returns copies, so a caller cannot change the future", () => {
    const o = new OraclePredictor(2, { rows });
    o.forecast(1)[0]!.fill(-1);
    assert.deepEqual(o.forecast(1)[0], Float64Array.of(0, 1));
  });

  it("rejects rows of the wrong width", () => {
    assert.throws(() => new OraclePredictor(3, { rows }), /oracle\.rows\[0\]: expected 3 pairs, got 2/);
  });
});
