/**
 * `topocast train-rl` (experiments/train-rl.ts): episodes of simulator runs train the rl-mesh agent, the model
 * file loads back (and a config's rl-mesh entry reads it relative to the config), and the curve has a row per
 * episode. A 6-node ring under a uniform matrix, one link failing: a second or two of wall time per episode.
 */
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { loadConfig } from "../../experiments/config/load.ts";
import { trainRl } from "../../experiments/train-rl.ts";
import { loadModel } from "../../models/rl/model-file.ts";

const dir = mkdtempSync(join(tmpdir(), "topocast-train-rl-"));
after(() => rmSync(dir, { recursive: true, force: true }));

const RING = `
name: rl-ring
seed: 2
topology:
  generator: { kind: ring, n: 6 }
  links: { capacity: 1Gbps, delay: 2ms }
workload:
  tm: { kind: uniform }
  window: { duration: 600ms }
  load: { targetMlu: 0.9, reference: hops }
policies:
  - { name: rl-mesh, params: { probeBudget: 40, relays: 2 } }
failures:
  - { at: 300ms, link: n0->n1, state: down }
control:
  interval: 50ms
metrics:
  interval: 50ms
`;

describe("train-rl", () => {
  it("trains over 3 episodes, writes a loadable model and a curve with one row per episode", async () => {
    const cfg = join(dir, "ring.yaml");
    writeFileSync(cfg, RING);
    const out = join(dir, "model.json");
    const outcome = await trainRl(loadConfig(cfg), { out, episodes: 3, epsilon: 0.1 });
    const m = loadModel(out);
    assert.equal(m.training?.episodes, 3);
    assert.equal(m.exploration.epsilon, 0.1);
    assert.ok(m.state.updates > 0, "the agent learned from probes");
    assert.deepEqual(
      outcome.rows.map((r) => r.episode),
      [0, 1, 2],
    );
    for (const r of outcome.rows) assert.ok(r.decisions > 0 && r.meanReward !== null && r.meanFctNs !== null);
    const updates = outcome.rows.map((r) => r.updates);
    assert.ok(updates[0]! < updates[1]! && updates[1]! < updates[2]!, "one model keeps learning");
    const curve = readFileSync(join(dir, "model-curve.csv"), "utf8").trim().split("\n");
    assert.equal(curve[0], "episode,mean_reward,decisions,updates,mean_fct_ms,mean_slowdown");
    assert.equal(curve.length, 4);
  });

  it("is deterministic: the same config and seed train the same model, number for number", async () => {
    const cfg = join(dir, "ring.yaml");
    writeFileSync(cfg, RING);
    const [a, b] = [join(dir, "a.json"), join(dir, "b.json")];
    await trainRl(loadConfig(cfg), { out: a, episodes: 2 });
    await trainRl(loadConfig(cfg), { out: b, episodes: 2 });
    assert.deepEqual(loadModel(a).state, loadModel(b).state);
    assert.equal(
      readFileSync(join(dir, "a-curve.csv"), "utf8"),
      readFileSync(join(dir, "b-curve.csv"), "utf8"),
    );
  });

  it("resolves an rl-mesh entry's model file against the config's directory", () => {
    const cfg = join(dir, "deploy.yaml");
    writeFileSync(
      cfg,
      RING.replace("params: { probeBudget: 40, relays: 2 }", "params: { model: model.json }"),
    );
    const params = loadConfig(cfg).config.policies[0]!.params as { model: string };
    assert.equal(params.model, join(dir, "model.json"));
  });
});
