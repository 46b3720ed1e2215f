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
};
/** An engine as an emulator without nft and htb would declare itself. */
const noFirewallNoQos: EngineVerbSupport = {
  engine: "the emulator",
  unsupported: { setFirewall: "needs the nft tool", setQos: "QoS classes need htb on the links" },
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
        ["min-mlu-te", ["setRoute"]],
        ["nearest-instance", ["setRoute"]],
        ["intent-routing", ["setRoute", "createVirtualLink", "removeVirtualLink"]],
        ["ron", ["setRoute", "probe"]],
        ["rl-mesh", ["setRoute", "probe"]],
        ["oracle-path", ["setRoute"]],
        ["persona", ["createVirtualLink", "removeVirtualLink", "setRoute", "setQos", "setFirewall"]],
      ],
    );
  });

  /** Policies each transport model refuses: the packet model has no mirrors and no QoS classes. */
  const REFUSED: Record<(typeof TRANSPORT_MODELS)[number], string[]> = {
    fluid: [],
    packet: ["mirroring", "persona"],
  };
  for (const model of TRANSPORT_MODELS) {
    it(`the simulator's ${model} transport runs every registered policy but ${JSON.stringify(REFUSED[model])}`, () => {
      const { l, policies } = loaded();
      const refused = policies.filter((p) => {
        try {
          checkVerbs([p], simulatorVerbSupport(model), l.error);
          return false;
        } catch {
          return true;
        }
      });
      assert.deepEqual(
        refused.map((p) => p.label),
        REFUSED[model],
      );
    });
  }

  const refusals: { what: string; support: EngineVerbSupport; message: RegExp }[] = [
    {
      what: "mirroring over a transport without mirrors",
      support: withoutMirrors,
      message:
        /verbs\.yaml:\d+: policies\[4\]\.name: policy mirroring calls mirror, which a transport without mirrors cannot do: the transport model has no mirrors/,
    },
  ];
  for (const r of refusals) {
    it(`refuses ${r.what}, naming the policy, the verb and the engine`, () => {
      const { l, policies } = loaded();
      assert.throws(() => checkVerbs(policies, r.support, l.error), r.message);
    });
  }

  it("lets an engine run the policies whose verbs it has, and refuses one calling a verb it lacks", () => {
    const { l, policies } = loaded();
    const persona = policies.findIndex((p) => p.name === "persona");
    assert.doesNotThrow(() =>
      checkVerbs(
        policies.filter((p) => p.name !== "persona"),
        noFirewallNoQos,
        l.error,
      ),
    );
    assert.throws(
      () => checkVerbs(policies, noFirewallNoQos, l.error),
      new RegExp(
        `policies\\[${persona}\\]\\.name: policy persona calls setQos, which the emulator cannot do`,
      ),
    );
    const qos = [{ label: "qos-user", verbs: ["setRoute", "setQos"] as const }];
    assert.throws(
      () => checkVerbs(qos, noFirewallNoQos, l.error),
      /policies\[0\]\.name: policy qos-user calls setQos, which the emulator cannot do: QoS classes need htb/,
    );
  });
});

describe("a policy setting that reserves rates is refused before the run by a transport without reservations", () => {
  /** A ring config running `policy` (YAML flow mapping) over the transport `model`. */
  function file(model: string, policy: string): string {
    const f = join(dir, `options-${model}.yaml`);
    writeFileSync(
      f,
      `name: verb-options
topology:
  generator: {kind: ring, n: 4}
workload:
  window: {duration: 100ms}
transport: {model: ${model}}
policies:
  - name: shortest-path
  - ${policy}
`,
    );
    return f;
  }
  const cases: { policy: string; param: string; refusedBy: string[] }[] = [
    { policy: "{name: intent-routing, params: {circuits: true}}", param: "circuits", refusedBy: ["packet"] },
    { policy: "{name: intent-routing, params: {circuits: false}}", param: "circuits", refusedBy: [] },
    {
      policy: "{name: predictive-overlay, params: {headroom: 1.5}}",
      param: "headroom",
      refusedBy: ["packet"],
    },
    { policy: "{name: predictive-overlay}", param: "headroom", refusedBy: [] },
  ];
  for (const c of cases) {
    for (const model of TRANSPORT_MODELS) {
      const refused = c.refusedBy.includes(model);
      it(`${refused ? "refuses" : "runs"} ${c.policy} over the ${model} transport`, () => {
        const l = loadConfig(file(model, c.policy));
        if (!refused) {
          assert.doesNotThrow(() => buildScenario(l, 0));
          return;
        }
        assert.throws(
          () => buildScenario(l, 0),
          new RegExp(
            `policies\\[1\\]\\.params\\.${c.param}: policy \\S+: this setting makes it call createVirtualLink with rateBps \\(a virtual link with a reserved rate\\), which the simulator's packet transport cannot do: the transport model has no reservations`,
          ),
        );
      });
    }
  }
});
