import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { loadConfig } from "../../experiments/config/load.ts";
import {
  checkVerbs,
  type EngineVerbSupport,
  simulatorVerbSupport,
} from "../../experiments/config/scenario-checks.ts";
import { emulatorVerbSupport } from "../../experiments/emulate-experiment.ts";
import { POLICY_REGISTRY } from "../../experiments/policy-registry.ts";
import { buildScenario } from "../../experiments/scenario.ts";
import { unsupportedVerbs } from "../../sim/control/control-plane.ts";
import { TRANSPORT_MODELS } from "../../sim/transport/models.ts";

const dir = mkdtempSync(join(tmpdir(), "topocast-verb-checks-"));
after(() => rmSync(dir, { recursive: true, force: true }));

/** A ring config running every policy of the registry. */
function loaded() {
  const file = join(dir, "verbs.yaml");
  writeFileSync(
    file,
    `name: verb-checks
topology:
  generator: {kind: ring, n: 4}
workload:
  window: {duration: 100ms}
policies:
${[...POLICY_REGISTRY.keys()].map((n) => `  - name: ${n}`).join("\n")}
`,
  );
  const l = loadConfig(file);
  return { l, policies: buildScenario(l, 0).scenario.policies };
}

const withoutMirrors: EngineVerbSupport = {
  engine: "a transport without mirrors",
  unsupported: unsupportedVerbs({
    reservations: true,
    mirrors: false,
    priorities: true,
    probes: true,
    drops: true,
  }),
  secureLinks: null,
};

describe("verbs an engine cannot do are refused before the run", () => {
  it("declares the actions each control-loop policy may call", () => {
    const { policies } = loaded();
    assert.deepEqual(
      policies.map((p) => [p.label, p.verbs ?? []]),
      [
        ["shortest-path", []],
        ["ecmp", []],
        ["reactive", ["setRoute"]],
        ["predictive-overlay", ["createVirtualLink", "removeVirtualLink"]],
        ["mirroring", ["setRoute", "mirror"]],
      ],
    );
  });

  for (const model of TRANSPORT_MODELS) {
    it(`the simulator's ${model} transport runs every registered policy`, () => {
      const { l, policies } = loaded();
      assert.doesNotThrow(() => checkVerbs(policies, simulatorVerbSupport(model), l.error));
    });
  }

  const refusals: { what: string; support: EngineVerbSupport; secure?: boolean; message: RegExp }[] = [
    {
      what: "mirroring in the emulator",
      support: emulatorVerbSupport("htb"),
      message:
        /verbs\.yaml:\d+: policies\[4\]\.name: policy mirroring calls mirror, which the emulator cannot do/,
    },
    {
      what: "mirroring over a transport without mirrors",
      support: withoutMirrors,
      message:
        /policies\[4\]\.name: policy mirroring calls mirror, which a transport without mirrors cannot do: the transport model has no mirrors/,
    },
    {
      what: "secure virtual links in the emulator",
      support: emulatorVerbSupport("htb"),
      secure: true,
      message:
        /policies\[0\]\.params\.secure: policy shortest-path asks for secure virtual links \(secure: true\), which the emulator cannot make/,
    },
  ];
  for (const r of refusals) {
    it(`refuses ${r.what}, naming the policy, the verb or option, and the engine`, () => {
      const { l, policies } = loaded();
      const ps = r.secure ? policies.map((p, i) => (i === 0 ? { ...p, secureLinks: true } : p)) : policies;
      assert.throws(() => checkVerbs(ps, r.support, l.error), r.message);
    });
  }

  it("lets the emulator run what it can, and refuses QoS without htb", () => {
    const { l, policies } = loaded();
    const canRun = policies.filter((p) => p.label !== "mirroring");
    assert.doesNotThrow(() => checkVerbs(canRun, emulatorVerbSupport("htb"), l.error));
    const qos = [{ label: "qos-user", verbs: ["setQos" as const] }];
    assert.doesNotThrow(() => checkVerbs(qos, emulatorVerbSupport("htb"), l.error));
    assert.throws(
      () => checkVerbs(qos, emulatorVerbSupport("tbf"), l.error),
      /setQos, which the emulator cannot do: QoS classes need htb/,
    );
  });
});
