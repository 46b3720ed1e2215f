/**
 * The path agent's model file (models/rl/model-file.ts): a saved model loads back deciding exactly as before, and a
 * bad file is refused with its name, the field path and the value.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { DEFAULT_REWARD, DIMENSION } from "../../../models/rl/features.ts";
import { banditOf, loadModel, ModelFileError, modelOf, saveModel } from "../../../models/rl/model-file.ts";
import { PathBandit } from "../../../models/rl/path-bandit.ts";
import { RandomStreams } from "../../../sim/kernel/rng.ts";

const dir = mkdtempSync(join(tmpdir(), "topocast-rl-model-"));
after(() => rmSync(dir, { recursive: true, force: true }));

/** A bandit trained on random contexts with a linear reward plus noise. */
function trained(): PathBandit {
  const b = new PathBandit(DIMENSION);
  const rng = new RandomStreams(5).stream("train");
  for (let k = 0; k < 300; k++) {
    const x = Float64Array.from({ length: DIMENSION }, (_, i) => (i === 0 ? 1 : rng.uniform()));
    b.update(x, -x[1]! + 0.7 * x[7]! + 0.01 * rng.normal());
  }
  return b;
}

function valid() {
  return JSON.parse(JSON.stringify(modelOf(trained(), DEFAULT_REWARD, { alpha: 0.5, epsilon: 0.05 })));
}

function written(name: string, doc: unknown): string {
  const path = join(dir, name);
  writeFileSync(path, typeof doc === "string" ? doc : JSON.stringify(doc));
  return path;
}

describe("model file", () => {
  it("round-trips: the loaded bandit picks the same arm as the saved one for 200 random decisions", () => {
    const original = trained();
    const path = join(dir, "model.json");
    saveModel(path, modelOf(original, DEFAULT_REWARD, { alpha: 0.5, epsilon: 0.05 }, { episodes: 3 }));
    const m = loadModel(path);
    const loaded = banditOf(m);
    assert.deepEqual(m.training, { episodes: 3 });
    const rng = new RandomStreams(9).stream("decisions");
    for (let k = 0; k < 200; k++) {
      const xs = Array.from({ length: 4 }, () =>
        Float64Array.from({ length: DIMENSION }, () => rng.uniform()),
      );
      const explore = { alpha: 0.5, epsilon: 0 };
      assert.equal(loaded.select(xs, explore), original.select(xs, explore), `decision ${k}`);
      for (const x of xs) assert.equal(loaded.score(x, 0.5), original.score(x, 0.5));
    }
  });

  const bad: [
    string,
    (d: Record<string, unknown> & { state: Record<string, unknown> }) => unknown,
    RegExp,
  ][] = [
    ["a missing file", () => null, /no such model file/],
    ["text that is not JSON", () => "{not json", /not JSON/],
    ["another format", (d) => ({ ...d, format: "tfjs" }), /format: .*got "tfjs"/],
    ["a newer version", (d) => ({ ...d, version: 3 }), /version: .*got 3/],
    [
      "a string among the weights",
      (d) => ({ ...d, state: { ...d.state, aInv: (d.state.aInv as unknown[]).with(3, "x") } }),
      /state\.aInv\[3\]: .*got "x"/,
    ],
    [
      "a weight matrix of the wrong size",
      (d) => ({ ...d, state: { ...d.state, aInv: (d.state.aInv as unknown[]).slice(1) } }),
      /state\.aInv \(length\): expected 81, got 80/,
    ],
    ["other features", (d) => ({ ...d, features: ["bias", "rtt"] }), /features: expected \["bias","rtt",/],
    [
      "a negative reward weight",
      (d) => ({ ...d, reward: { ...(d.reward as object), wBandwidth: -1 } }),
      /reward\.wBandwidth: expected >= 0, got -1/,
    ],
    ["an unknown field", (d) => ({ ...d, extra: 1 }), /\(root\): .*extra/],
  ];
  for (const [what, make, message] of bad) {
    it(`refuses ${what}, naming the file and the field`, () => {
      const doc = make(valid());
      const path =
        doc === null ? join(dir, "absent.json") : written(`${what.replaceAll(" ", "-")}.json`, doc);
      assert.throws(
        () => loadModel(path),
        (e: unknown) => e instanceof ModelFileError && e.message.startsWith(path) && message.test(e.message),
      );
    });
  }
});
