import assert from "node:assert/strict";
import { join } from "node:path";
import { describe, it } from "node:test";
import { loadConfig } from "../../../experiments/config/load.ts";
import { buildScenario } from "../../../experiments/scenario.ts";
import { learnPersonas } from "../../../models/personas/learn.ts";
import type { Persona } from "../../../models/personas/profile.ts";
import { runPolicy } from "../../../sim/engine/run.ts";
import { REPO_ROOT } from "../../helpers/shared-data.ts";

const CONFIG = join(REPO_ROOT, "experiments/configs/persona-learn.yaml");

/** Learns the personas of persona-learn.yaml shortened to 3 s, from a simulator run, over [0.5 s, 2.5 s). */
async function learn(): Promise<Persona[]> {
  const { scenario } = buildScenario(loadConfig(CONFIG, { set: ["workload.window.duration=3s"] }), 0);
  const records = await runPolicy(scenario, scenario.policies[0]!);
  return learnPersonas(
    { flows: records.flows.byFlowId(), applications: scenario.applications!, topology: scenario.topology },
    {
      window: { startNs: 0.5e9, endNs: 2.5e9 },
      provenance: { engine: "sim", run: CONFIG, learnedAt: "test" },
    },
  );
}

describe("learning from a simulator run of experiments/configs/persona-learn.yaml", () => {
  it("finds the offered load, the ports and the classes the config describes, the same on every run", async () => {
    const a = await learn();
    const game = a[0]!;
    // 500 requests/s of 200 B + 400 B: 2.4 Mbit/s offered, Poisson arrivals (exchange dispersion near 1 in 20 ms bins).
    const mean = game.fingerprint.bandwidth.meanBps;
    assert.ok(Math.abs(mean - 2.4e6) / 2.4e6 < 0.1, `game mean ${mean} bit/s, offered 2.4 Mbit/s`);
    const dispersion = game.fingerprint.burstiness.dispersion;
    assert.ok(dispersion > 0.7 && dispersion < 1.3, `game dispersion ${dispersion}`);
    // ml steps come every 2 s on average: too rare for this window, so only the other apps are checked here.
    assert.deepEqual(
      a.slice(0, 4).map((p) => [p.application.name, p.fingerprint.ports.join("+"), p.desired.qos.priority]),
      [
        ["game", "7777", 0],
        ["trading", "5432+9000", 0],
        ["ledger", "5432", 0],
        ["stream", "443", 2],
      ],
    );
    assert.equal(JSON.stringify(await learn()), JSON.stringify(a));
  });
});
