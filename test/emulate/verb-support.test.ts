/**
 * What the emulator lists as not emulated on a machine without nftables (mirrors, firewall, secure virtual links); and the control plane's own refusal when a verb's tools are missing.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { type Capabilities, FEATURES, TOOLS } from "../../emulate/capabilities.ts";
import { UnsupportedInEmulationError } from "../../emulate/errors.ts";
import { verbsNotEmulated, verbUnavailable } from "../../emulate/verb-support.ts";
import type { EnginePolicy } from "../../sim/engine/types.ts";
import { line } from "../../sim/substrate/generators.ts";
import { offline } from "./fixtures/offline-control-plane.ts";

const dir = mkdtempSync(join(tmpdir(), "topocast-verbs-test-"));
after(() => rmSync(dir, { recursive: true, force: true }));

function policy(label: string, params: Record<string, unknown>, controller = true): EnginePolicy {
  return {
    label,
    name: label,
    params,
    predictorBackend: null,
    predictor: null,
    create: () => {
      throw new Error("not used");
    },
    ...(controller ? { controller: () => ({ name: label, decide: () => {} }) } : {}),
  };
}

function machine(without: { tools?: string[]; features?: string[] } = {}): Capabilities {
  return {
    runId: "000000",
    kernel: "test",
    isRoot: true,
    features: Object.fromEntries(
      FEATURES.map((f) => [f, !without.features?.includes(f)]),
    ) as Capabilities["features"],
    tools: Object.fromEntries(
      TOOLS.map((t) => [t, without.tools?.includes(t) ? null : `/usr/bin/${t}`]),
    ) as Capabilities["tools"],
    missing: {},
    probedAt: "",
  };
}

describe("verbs the emulator cannot carry out", () => {
  const machines: { name: string; c: Capabilities; params?: Record<string, unknown>; want: RegExp[] }[] = [
    { name: "a machine with everything", c: machine(), want: [] },
    {
      name: "a machine without nft",
      c: machine({ tools: ["nft"] }),
      want: [/^mirror: needs the nft tool \(Debian package nftables\)/, /^setFirewall: needs the nft tool/],
    },
    {
      name: "a machine without nft, for a policy asking for secure virtual links",
      c: machine({ tools: ["nft"] }),
      params: { tunnel: { secure: true } },
      want: [/^mirror: /, /^setFirewall: /, /^createVirtualLink secure: needs the nft tool/],
    },
    {
      name: "a kernel without mirred or htb",
      c: machine({ features: ["mirred", "htb"] }),
      want: [/^mirror: needs kernel feature mirred/, /^setQos: needs htb/],
    },
  ];
  for (const m of machines)
    it(`lists for ${m.name}: ${m.want.length} verb(s) not emulated`, () => {
      const got = verbsNotEmulated([policy("p", m.params ?? {})], m.c);
      assert.equal(got.length, m.want.length, got.join("; "));
      m.want.forEach((re, i) => {
        assert.match(got[i]!, re);
      });
      assert.deepEqual(
        verbsNotEmulated([policy("static", {}, false)], m.c),
        [],
        "static baselines call no verbs",
      );
    });

  it("the control plane refuses mirror and setFirewall on a run without nft, before any command", async () => {
    const { ctl, runner } = offline(line(3, { capacityBps: 10e6, delayNs: 0 }), dir);
    (ctl as unknown as { state: { capabilities: Capabilities } }).state.capabilities = machine({
      tools: ["nft"],
    });
    assert.equal(verbUnavailable("setFirewall", machine()), null);
    await assert.rejects(
      ctl.mirror({ src: "n0", dst: "n2" }, ["n0", "n1", "n2"]),
      UnsupportedInEmulationError,
    );
    await assert.rejects(
      ctl.setFirewall({ action: "deny" }),
      (e: unknown) =>
        e instanceof UnsupportedInEmulationError && /setFirewall: needs the nft tool/.test(String(e)),
    );
    await assert.rejects(
      ctl.createVirtualLink("n0", "n2", { secure: true }),
      (e: unknown) =>
        e instanceof UnsupportedInEmulationError && /secure: needs the nft tool/.test(String(e)),
    );
    assert.equal(runner.calls.length, 0);
  });
});
