import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  checkSeasonalLag,
  firstWindowEnd,
  fitScaling,
  fromZ,
  historyNeeded,
  ObservationRing,
  toZ,
} from "../../../models/predictors/deep-features.ts";
import { inputChannels, LstmPredictor, writeRows } from "../../../models/predictors/lstm.ts";
import { PredictorError } from "../../../models/predictors/predictor.ts";
import { TransformerPredictor } from "../../../models/predictors/transformer.ts";

/** A heavy-tailed history: three series of bits/s from 0 to 1e10. */
const history = [
  Float64Array.from([0, 1e3, 5e9]),
  Float64Array.from([10, 2e4, 1e10]),
  Float64Array.from([0, 3e5, 2e9]),
  Float64Array.from([7, 1e6, 4e9]),
];

describe("the deep models' value scaling", () => {
  for (const log of [true, false]) {
    it(`${log ? "log1p" : "linear"} scaling maps every value in range back to itself (to 1e-9 of s0)`, () => {
      const s = fitScaling(history, log);
      assert.equal(s.log, log);
      for (const x of [0, 1, 7, 1e3, 123_456.5, 2e9, 1e10]) {
        const back = fromZ(toZ(x, s), s);
        assert.ok(Math.abs(back - x) <= 1e-9 * Math.max(s.scale, x), `${x} came back as ${back}`);
      }
    });
  }

  it("log scaling standardizes u = log1p(x / s0): mean 0 and deviation 1 over the history", () => {
    const s = fitScaling(history);
    const zs = history.flatMap((r) => Array.from(r, (x) => toZ(x, s)));
    const mean = zs.reduce((a, b) => a + b, 0) / zs.length;
    const sd = Math.sqrt(zs.reduce((a, b) => a + (b - mean) ** 2, 0) / zs.length);
    assert.ok(Math.abs(mean) < 1e-12, `mean ${mean}`);
    assert.ok(Math.abs(sd - 1) < 1e-12, `deviation ${sd}`);
  });

  it("clamps a stray output at s0 expm1(u_max + 2) and negative values at zero", () => {
    const s = fitScaling(history);
    assert.equal(fromZ(1e6, s), s.scale * Math.expm1(s.uMax + 2));
    assert.equal(fromZ(-1e6, s), 0);
    assert.equal(toZ(-5, s), toZ(0, s));
  });

  it("reads a scaling saved before the option (no log field) as log1p", () => {
    const { log: _, ...old } = fitScaling(history);
    assert.ok(Math.abs(fromZ(toZ(1e6, old), old) - 1e6) < 1e-3);
    assert.equal(toZ(1e6, old), toZ(1e6, fitScaling(history)));
  });
});

describe("the seasonal lag channel", () => {
  // z at index i of one series is i itself, so each channel shows which index it read.
  const zAt = (i: number) => i;
  const cases: { name: string; W: number; season: number; end: number; rows: number[][] }[] = [
    { name: "no lag: one channel, the value", W: 3, season: 0, end: 5, rows: [[3], [4], [5]] },
    {
      name: "S = 4: each row also carries the value 4 intervals before the interval after it",
      W: 3,
      season: 4,
      end: 7,
      rows: [
        [5, 2],
        [6, 3],
        [7, 4],
      ],
    },
    {
      name: "S = 1 (lead 1): the lag channel is the row's own value",
      W: 2,
      season: 1,
      end: 3,
      rows: [
        [2, 2],
        [3, 3],
      ],
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const F = inputChannels({ seasonalLag: c.season, timeFeatures: false });
      const out = new Float64Array(2 * c.W * F).fill(-1);
      writeRows(out, 1, c.W, F, zAt, c.end, c.season, undefined);
      const window = Array.from({ length: c.W }, (_, j) =>
        Array.from(out.subarray((c.W + j) * F, (c.W + j + 1) * F)),
      );
      assert.deepEqual(window, c.rows);
      assert.ok(
        out.subarray(0, c.W * F).every((v) => v === -1),
        "window 0 untouched",
      );
    });
  }

  it("the window's last row carries the seasonal-naive forecast of the next value", () => {
    // end t = 9, S = 4: the target is index 10, one season before it is index 6.
    const out = new Float64Array(2 * 2);
    writeRows(out, 0, 2, 2, zAt, 9, 4, undefined);
    assert.equal(out[3], 10 - 4);
  });

  const spans: { W: number; season: number; lead: number; first: number; keep: number }[] = [
    { W: 12, season: 0, lead: 1, first: 11, keep: 12 },
    { W: 12, season: 288, lead: 1, first: 298, keep: 300 },
    { W: 12, season: 288, lead: 12, first: 287, keep: 300 },
  ];
  for (const s of spans) {
    it(`W ${s.W}, S ${s.season}, lead ${s.lead}: first window ends at ${s.first}, ${s.keep} observations kept`, () => {
      assert.equal(firstWindowEnd(s.W, { season: s.season, lead: s.lead }), s.first);
      assert.equal(historyNeeded(s.W, { season: s.season, lead: s.lead }), s.keep);
    });
  }

  const bad: { season: number; lead: number }[] = [
    { season: -1, lead: 1 },
    { season: 2.5, lead: 1 },
    { season: 6, lead: 12 },
  ];
  for (const b of bad) {
    it(`refuses seasonal lag ${b.season} with lead ${b.lead}`, () => {
      assert.throws(() => checkSeasonalLag("x", b), PredictorError);
    });
  }

  it("the predictors refuse a seasonal lag shorter than what they forecast at once", () => {
    assert.throws(() => new TransformerPredictor(2, { horizon: 12, seasonalLag: 6 }), /seasonalLag/);
    assert.throws(() => new LstmPredictor(2, { seasonalLag: -1 }), /seasonalLag/);
  });
});

describe("the observation ring", () => {
  it("keeps the latest cap observations, oldest first, series-major with room after them", () => {
    const ring = new ObservationRing(2, 3);
    for (let t = 0; t < 5; t++) ring.push(t * 10, Float64Array.from([t, 100 + t]));
    const identity = { scale: 1, mu: 0, sigma: 1, uMax: 1e9, log: false };
    assert.deepEqual(Array.from(ring.latestZ(3, identity, 4)), [2, 3, 4, 0, 102, 103, 104, 0]);
    assert.deepEqual(Array.from(ring.last()), [4, 104]);
    assert.equal(ring.step(99), 10);
  });
});
