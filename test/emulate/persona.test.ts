/**
 * The persona policy runs unchanged in the emulator (root, real namespaces): a wrong persona for db (its allow-list
 * names n1, not web's node n0) denies web's calls on db's port at n2, the flow ledger records the refusals in the
 * Observation's applicationFlows, and the policy reverts it through the journal within two control intervals (of
 * its apply, and of the first Observation that shows its refusals);
 * the matrix's flows (another port) are never refused. Everything is torn down.
 *
 *   n0 ---- n1 ---- n2        web->db flows n0 -> n2 (db's port: the emulator's port for "web->db"),
 *                             tm flows n1 -> n2 (the agents' port); 1 Gbit/s, 1 ms
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { applicationPorts } from "../../emulate/application-ports.ts";
import { emulationEngine } from "../../emulate/engine.ts";
import { parseConfig } from "../../experiments/config/load.ts";
import { emulationSettings } from "../../experiments/emulate-experiment.ts";
import { buildScenario } from "../../experiments/scenario.ts";
import { PersonaPolicy } from "../../models/policies/persona.ts";
import type { FlowArrival } from "../../models/workload/flow-schedule.ts";
import type { EnginePolicy, Scenario } from "../../sim/engine/types.ts";
import { line } from "../../sim/substrate/generators.ts";
import { assertRunsGone, capabilities, needs } from "../helpers/emulation.ts";
import { personaWith } from "../models/personas/fixture.ts";

const MS = 1_000_000;
const CONFIG = `name: persona-emulate
seed: 3
topology: {generator: {kind: line, n: 3}, links: {capacity: 1Gbps, delay: 1ms}}
workload: {tm: {kind: uniform}, window: {duration: 8s}}
policies: [{name: shortest-path}]
control: {interval: 100ms}
metrics: {interval: 100ms}
emulation: {drain: 3s}
`;
const dir = mkdtempSync(join(tmpdir(), "topocast-persona-emulate-"));
after(() => rmSync(dir, { recursive: true, force: true }));

const loaded = parseConfig(CONFIG, join(dir, "persona.yaml"), dir);
const base = buildScenario(loaded, 0).scenario;
const scenario: Scenario = { ...base, topology: line(3, { capacityBps: 1e9, delayNs: 1 * MS }) };
const settings = emulationSettings(loaded.config);

/** Every 40 ms from 0 to 8 s: a 20 kB call web -> db (n0 -> n2) and a 20 kB matrix flow n1 -> n2. */
const flows: FlowArrival[] = Array.from({ length: 200 }, () => [
  { src: 0, dst: 2, application: "web->db" },
  { src: 1, dst: 2, application: "tm" },
]).flatMap((pair, k) =>
  pair.map((f, j) => ({ ...f, id: 2 * k + j, sizeBytes: 20_000, startNs: k * 40 * MS, tag: 0 })),
);
const dbPort = applicationPorts(
  flows.map((f) => f.application),
  settings.port,
)["web->db"]!;

const wrong = personaWith("db", [dbPort], {
  topology: "mesh",
  qos: { priority: 1, rateBps: 10e6, ceilBps: 1e9 },
  security: {
    allow: [{ peer: { kind: "node", name: "n1" }, port: dbPort }],
    defaultDeny: true,
    alertOn: [],
  },
  routing: "latency",
});

describe("the persona policy in the emulator", async () => {
  const skip = await needs(["veth", "htb", "vxlan"], ["nft"]);

  it("reverts a wrong persona within two control intervals, refusing only its application's flows", {
    skip,
  }, async (t) => {
    const persona = new PersonaPolicy([wrong], { baselineIntervals: 2, measureIntervals: 2 });
    const seen: number[] = [];
    /** Per decision: the flows of web->db its Observation showed refused. */
    const refusedSeen: number[] = [];
    const refused = new Map<string, number>();
    const policy: EnginePolicy = {
      ...base.policies[0]!,
      label: "persona",
      controller: () => ({
        name: "w",
        decide(obs, ctl) {
          seen.push(obs.timeNs);
          refusedSeen.push(
            (obs.applicationFlows ?? [])
              .filter((f) => f.application === "web->db")
              .reduce((a, f) => a + f.refused, 0),
          );
          for (const f of obs.applicationFlows ?? [])
            refused.set(f.application, (refused.get(f.application) ?? 0) + f.refused);
          return persona.decide(obs, ctl);
        },
      }),
    };
    let runId = "";
    const engine = emulationEngine(flows, settings, {
      capabilities: await capabilities(),
      dir,
      onUp: (up) => {
        runId = up.runId;
      },
    });
    const r = await engine.run(scenario, policy);
    await assertRunsGone([runId], dir);
    const apply = persona.events.find((e) => e.event === "apply");
    const revert = persona.events.find((e) => e.event === "revert");
    assert.ok(apply && revert, JSON.stringify(persona.events));

    // In control intervals: the decisions after the apply's (emulated time runs on while a step is late, and a
    // step that comes meanwhile is skipped, so count the decisions, not the nanoseconds).
    const steps = seen.indexOf(revert.timeNs) - seen.indexOf(apply.timeNs);
    assert.ok(
      steps >= 1 && steps <= 2,
      `decisions at ${seen.join(", ")}; apply ${apply.timeNs}, revert ${revert.timeNs}`,
    );
    // From the first decision whose Observation shows the effect (refused calls) to the revert: at most 2 intervals.
    const effect = refusedSeen.findIndex((n, i) => n > 0 && seen[i]! > apply.timeNs);
    const sinceEffect = seen.indexOf(revert.timeNs) - effect;
    t.diagnostic(`apply -> revert ${steps} decisions; effect measurable -> revert ${sinceEffect} decisions`);
    assert.ok(
      effect >= 0 && sinceEffect >= 0 && sinceEffect <= 2,
      `refused per decision: ${refusedSeen.join(", ")}`,
    );
    assert.match(revert.reason ?? "", /refused share/);
    const verbs = r.actions.map((a) => a.verb);
    assert.ok(
      verbs.includes("createVirtualLink") && verbs.includes("setQos") && verbs.includes("setFirewall"),
    );
    assert.ok(verbs.includes("removeVirtualLink"), "the revert removed the persona's virtual link");
    assert.ok(r.flowCounts.started === flows.length);
    const errors = r.overhead.engine === "emulate" ? r.overhead.flowErrors : {};
    assert.ok((errors["denied by firewall"] ?? 0) > 0, JSON.stringify(errors));
    assert.ok((refused.get("web->db") ?? 0) > 0, "web's calls were refused while the persona was in force");
    assert.equal(refused.get("tm") ?? 0, 0, "the matrix's flows, on another port, never were");
  });
});
