/**
 * Cross-substrate failover of the persona policy in the emulator (root, real namespaces): two substrates of two
 * nodes each, joined by two gateways; db's persona (mesh, latency first) puts web's calls a:n0 -> b:n0 on a virtual
 * link over the short gateway, which fails at 2 s. The policy's onLinkDown hook moves the pair at once to the path
 * over the other gateway (pinned route both ways: the calls' SYN-ACKs and ACKs come back b:n0 -> a:n0, whose
 * default route went down with the gateway; then the new virtual link); the issue's target: the application's
 * traffic flows again within the convergence delay (1 s) plus one control interval (100 ms). Asserted on the flows
 * themselves: the calls in progress at the failure and the first call started after it finish by then, and the
 * first call started once the failover was in place does not wait for the reconvergence. Everything is torn down.
 *
 *   a:n0 ---1 ms--- b:n0        gateway 1 (fails at 2 s)
 *    |               |
 *   a:n1 ---3 ms--- b:n1        gateway 2; links 100 Mbit/s, 1 ms inside each substrate
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
import type { Policy, VirtualLinkInfo } from "../../models/policies/types.ts";
import type { FlowArrival } from "../../models/workload/flow-schedule.ts";
import type { EnginePolicy } from "../../sim/engine/types.ts";
import { assertRunsGone, capabilities, needs } from "../helpers/emulation.ts";
import { personaWith } from "../models/personas/fixture.ts";

const MS = 1_000_000;
const FAIL_NS = 2000 * MS;
const CONVERGENCE_NS = 1000 * MS;
const INTERVAL_NS = 100 * MS;
const CONFIG = `name: persona-failover
seed: 3
topology:
  links: {capacity: 100Mbps, delay: 1ms}
  substrates:
    - {name: a, generator: {kind: line, n: 2}}
    - {name: b, generator: {kind: line, n: 2}}
  gateways:
    - {between: ["a:n0", "b:n0"], capacity: 100Mbps, delay: 1ms, egressCostPerGB: 0.02}
    - {between: ["a:n1", "b:n1"], capacity: 100Mbps, delay: 3ms, egressCostPerGB: 0.02}
workload: {tm: {kind: uniform}, window: {duration: 4s}}
failures: [{at: 2s, link: "a:n0->b:n0", state: down}]
policies: [{name: shortest-path}]
control: {interval: 100ms, convergenceDelay: 1s}
metrics: {interval: 100ms}
emulation: {drain: 2s}
`;
const dir = mkdtempSync(join(tmpdir(), "topocast-persona-failover-"));
after(() => rmSync(dir, { recursive: true, force: true }));

const loaded = parseConfig(CONFIG, join(dir, "persona-failover.yaml"), dir);
const scenario = buildScenario(loaded, 0).scenario;
const settings = emulationSettings(loaded.config);
const node = (id: string) => scenario.topology.nodes.findIndex((n) => n.id === id);

/** Every 20 ms from 0 to 4 s: a 50 kB call web -> db (a:n0 -> b:n0), 4 ms at 100 Mbit/s. */
const flows: FlowArrival[] = Array.from({ length: 200 }, (_, k) => ({
  id: k,
  src: node("a:n0"),
  dst: node("b:n0"),
  application: "web->db",
  sizeBytes: 50_000,
  startNs: k * 20 * MS,
  tag: 0,
}));
const dbPort = applicationPorts(["web->db"], settings.port)["web->db"]!;

const db = personaWith("db", [dbPort], {
  topology: "mesh",
  qos: { priority: 0, rateBps: 10e6, ceilBps: 1e9 },
  security: {
    allow: [{ peer: { kind: "node", name: "a:n0" }, port: dbPort }],
    defaultDeny: true,
    alertOn: [],
  },
  routing: "latency",
});

describe("persona failover across two substrates in the emulator", async () => {
  const skip = await needs(["veth", "htb", "vxlan"], ["nft"]);

  it("moves the application off the failed gateway: its calls flow again within convergence + 1 interval", {
    skip,
  }, async (t) => {
    // Judged leniently (revert only when the FCT metric doubles): this test is about the failover of a kept persona,
    // and on CI's machine the apply's own intervals raised web->db's FCT metric 14 -> 18 ms, which the default 20%
    // threshold reverted before the failure (test/emulate/persona.test.ts covers reverting).
    const persona = new PersonaPolicy([db], { baselineIntervals: 2, measureIntervals: 2, threshold: 1 });
    // The virtual links each control step saw: when the moved one was made (the emulator's clock, simulated ns).
    const seen = new Map<string, VirtualLinkInfo>();
    const watched: Policy = {
      name: "persona",
      decide: (obs, ctl) => {
        for (const v of obs.virtualLinks) seen.set(v.id, v);
        return persona.decide(obs, ctl);
      },
      onLinkDown: (id, obs, ctl, atNs) => persona.onLinkDown(id, obs, ctl, atNs),
    };
    const policy: EnginePolicy = {
      ...scenario.policies[0]!,
      label: "persona",
      controller: () => watched,
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

    const kept = persona.events.find((e) => e.event === "keep");
    const failover = persona.events.filter((e) => e.event === "failover");
    assert.ok(kept && kept.timeNs < FAIL_NS, `kept before the failure: ${JSON.stringify(persona.events)}`);
    assert.ok(
      failover.length > 0 && failover.every((e) => e.application === "db" && (e.failed ?? 0) === 0),
      JSON.stringify(failover),
    );
    // The virtual link over the other gateway: created after the failure on a path through a:n1 and b:n1.
    const moved = r.actions.find(
      (a) =>
        a.verb === "createVirtualLink" &&
        a.timeNs >= FAIL_NS &&
        a.outcome === "ok" &&
        JSON.stringify(a.args).includes("b:n1"),
    );
    assert.ok(
      moved,
      r.actions.map((a) => `${a.timeNs} ${a.verb} ${a.outcome} ${JSON.stringify(a.args)}`).join("\n"),
    );

    const done = [...r.flows.byFlowId()].map((f) => ({ startNs: f.startNs, endNs: f.startNs + f.fctNs }));
    assert.equal(done.length, flows.length, "every call finished");
    const bound = FAIL_NS + CONVERGENCE_NS + INTERVAL_NS;
    const across = done.filter((f) => f.startNs < FAIL_NS && f.endNs > FAIL_NS);
    const firstAfter = done.filter((f) => f.startNs >= FAIL_NS).sort((x, y) => x.endNs - y.endNs)[0]!;
    const lastAcross = Math.max(FAIL_NS, ...across.map((f) => f.endNs));
    t.diagnostic(
      `calls across the failure ${across.length}, last done ${(lastAcross - FAIL_NS) / MS} ms after it; ` +
        `first call after it done ${(firstAfter.endNs - FAIL_NS) / MS} ms after it`,
    );
    assert.ok(
      lastAcross <= bound,
      `a call in progress at the failure ended ${lastAcross - FAIL_NS} ns after it`,
    );
    assert.ok(firstAfter.endNs <= bound, `the first call after the failure ended at ${firstAfter.endNs} ns`);
    // Before the default routes reconverge: the persona moved it, not the reconvergence.
    assert.ok(
      firstAfter.endNs < FAIL_NS + CONVERGENCE_NS,
      `first call after the failure at ${firstAfter.endNs} ns`,
    );
    // The call at 2 s races the failure (on a late machine it is done before the link goes down), so also: the first
    // call started once the failover was in place (the moved virtual link made, after both directions' routes) does
    // not wait for the reconvergence. Without the return route its server's SYN-ACK had no way back: FCT >= 1 s.
    const movedAt = [...seen.values()].find(
      (v) => v.createdNs >= FAIL_NS && v.path.includes("b:n1"),
    )?.createdNs;
    // In place before the reconvergence, with a call (one every 20 ms) still to start before it: else nothing to judge.
    assert.ok(
      movedAt !== undefined && movedAt + 20 * MS < FAIL_NS + CONVERGENCE_NS,
      `moved at ${movedAt} ns`,
    );
    const firstMoved = done.filter((f) => f.startNs >= movedAt).sort((x, y) => x.startNs - y.startNs)[0]!;
    t.diagnostic(
      `failover in place ${(movedAt - FAIL_NS) / MS} ms after the failure; the first call after it took ` +
        `${(firstMoved.endNs - firstMoved.startNs) / MS} ms`,
    );
    assert.ok(
      firstMoved.endNs - firstMoved.startNs < CONVERGENCE_NS,
      `the call started at ${firstMoved.startNs} ns ended at ${firstMoved.endNs} ns`,
    );
  });
});
