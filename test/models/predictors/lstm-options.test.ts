import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { type LstmOptions, LstmPredictor } from "../../../models/predictors/lstm.ts";

/**
 * Three pairs three orders of magnitude apart (1e3, 1e6, 1e9 bits/s), each a slow cycle with +-10% around its
 * level: a forecast in the wrong pair's units (per-pair scale not multiplied back) misses by 1000x.
 */
const LEVELS = [1e3, 1e6, 1e9];
const series = Array.from({ length: 120 }, (_, t) =>
  Float64Array.from(LEVELS, (m, p) => m * (1 + 0.1 * Math.sin((2 * Math.PI * (t + 5 * p)) / 24))),
);
const small: LstmOptions = { window: 4, units: 4, epochs: 1, batchSize: 64, windowsPerEpoch: 0, seed: 5 };
const dir = mkdtempSync(join(tmpdir(), "topocast-lstm-options-"));
after(() => rmSync(dir, { recursive: true, force: true }));

async function trained(opts: LstmOptions): Promise<LstmPredictor> {
  const pred = new LstmPredictor(LEVELS.length, { ...small, ...opts });
  await pred.train(series);
  for (const [t, row] of series.entries()) pred.observe((t + 1) * 300e9, row);
  return pred;
}

describe("LSTM options: direct heads, EWMA base, per-pair scaling", () => {
  it("forecasts every pair in its own units, with H outputs when asked", async () => {
    for (const c of [
      { opts: { heads: 4 }, outputs: 4, channels: 1 },
      { opts: { base: "ewma" as const }, outputs: 1, channels: 2 },
      { opts: { pairScaling: true }, outputs: 1, channels: 1 },
      {
        opts: { heads: 3, base: "ewma" as const, baseAlpha: 0.3, pairScaling: true },
        outputs: 3,
        channels: 2,
      },
    ]) {
      const pred = await trained(c.opts);
      try {
        const what = JSON.stringify(c.opts);
        assert.equal(pred.outputs, c.outputs, what);
        assert.equal(pred.inputChannels, c.channels, what);
        assert.equal(pred.weights().dense.kernel.length, 4 * c.outputs, what);
        const f = pred.forecast(6);
        assert.equal(f.length, 6);
        // One scale for all pairs (log1p of x / mean) cannot resolve the 1e3 pair; per-pair scaling does.
        const checked = "pairScaling" in c.opts ? [0, 1, 2] : [2];
        for (const row of f) {
          for (const p of checked) {
            const m = LEVELS[p]!;
            assert.ok(
              row[p]! > 0.5 * m && row[p]! < 1.5 * m,
              `${what}: pair ${p} forecast ${row[p]} vs ${m}`,
            );
          }
        }
        // Steps beyond H repeat the H-step forecast; fed-back forecasts move.
        if (c.outputs > 1) assert.deepEqual(f[5], f[c.outputs - 1]);
      } finally {
        pred.dispose();
      }
    }
  });

  it("saves and loads the per-pair scale and the EWMA base", async () => {
    const pred = await trained({ heads: 2, base: "ewma", pairScaling: true });
    const loaded = await (async () => {
      await pred.save(join(dir, "m"));
      return LstmPredictor.load(join(dir, "m"), LEVELS.length);
    })();
    try {
      await loaded.train(series);
      for (const [t, row] of series.entries()) loaded.observe((t + 1) * 300e9, row);
      const a = pred.forecast(3);
      const b = loaded.forecast(3);
      a.forEach((row, h) => {
        for (const [p, v] of row.entries())
          assert.ok(Math.abs(v - b[h]![p]!) <= 1e-6 * v, `h ${h} pair ${p}`);
      });
    } finally {
      pred.dispose();
      loaded.dispose();
    }
  });

  it("rejects bad option values, naming the field", () => {
    for (const [opts, msg] of [
      [{ heads: -1 }, /lstm.heads: expected an integer >= 0/],
      [{ base: "median" }, /lstm.base: expected "last", "ewma", "linear", got "median"/],
      [{ baseAlpha: 2 }, /lstm.baseAlpha: expected a number in \[0, 1\]/],
      [{ pairScaling: "yes" }, /lstm.pairScaling: expected true or false/],
      [{ heads: 12, seasonalLag: 6 }, /lstm.seasonalLag: .* >= 12, got 6/],
    ] as const) {
      assert.throws(() => new LstmPredictor(3, opts as unknown as LstmOptions), msg);
    }
  });
});
