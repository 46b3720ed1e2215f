/**
 * Applications' call graphs in the emulator (root, real namespaces): the emulator runs the scenario's applications
 * live (emulate/live-applications.ts) with the simulator's workload and draws, so both engines start the same
 * application flows (endpoints, size, application pair), external requests at the same instants; every exchange
 * is a connection to its application's declared port at the callee's instance, and the Observation counts the
 * flows under their applications.
 *
 *   n0 ------ n1 ------ n2        clients at n0 call web (TCP 8080 at n1), which calls db (TCP 5432 at n2);
 *   1 Gbit/s, 1 ms per link       clients at n0 and n1 exchange datagrams with game (UDP 7777 at n2, a 3 kB
 *                                 response in three datagrams); a light uniform matrix runs beside them
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { emulationEngine } from "../../emulate/engine.ts";
import { emulatedWindowNs } from "../../emulate/run-settings.ts";
import { readState } from "../../emulate/run-state.ts";
import { parseConfig } from "../../experiments/config/load.ts";
import { emulationSettings } from "../../experiments/emulate-experiment.ts";
import { buildScenario } from "../../experiments/scenario.ts";
import { applicationPairs, applicationTagBase } from "../../models/workload/applications.ts";
import { flowsBefore } from "../../models/workload/flow-schedule.ts";
import type { RunRecords } from "../../sim/engine/records.ts";
import { simEngine } from "../../sim/engine/run.ts";
import { scenarioSchedule } from "../../sim/engine/schedule.ts";
import type { EnginePolicy } from "../../sim/engine/types.ts";
import { assertRunsGone, capabilities, needs } from "../helpers/emulation.ts";

const CONFIG = `name: live-applications
seed: 5
topology: {generator: {kind: line, n: 3}, links: {capacity: 1Gbps, delay: 1ms}}
workload:
  tm: {kind: uniform, rate: 2Mbps}
  window: {duration: 2s}
  applications:
    apps:
      - {name: web, instances: [n1], port: 8080, dependencies: [db]}
      - {name: db, instances: [n2], port: 5432}
      - {name: game, instances: [n2], port: 7777, protocol: udp}
    calls:
      - {from: web, to: db, request: 300B, response: 20kB}
    entries:
      - {app: web, requestsPerSecond: 20, clients: [n0], request: 1kB, response: 50kB}
      - {app: game, requestsPerSecond: 20, clients: [n0, n1], request: 200B, response: 3kB}
policies: [{name: shortest-path}]
control: {interval: 100ms}
metrics: {interval: 100ms}
emulation: {drain: 3s}
`;
const dir = mkdtempSync(join(tmpdir(), "topocast-live-apps-"));
after(() => rmSync(dir, { recursive: true, force: true }));

const loaded = parseConfig(CONFIG, join(dir, "live.yaml"), dir);
const scenario = buildScenario(loaded, 0).scenario;
const settings = emulationSettings(loaded.config);
const flows = flowsBefore(scenarioSchedule(scenario), emulatedWindowNs(scenario, settings));
const spec = scenario.applications!;
const pairs = applicationPairs(spec);
const tagBase = applicationTagBase(scenario.topology.nodeCount);

/** The application flows of a run as sorted "src dst size pair" lines, and the request arrivals' start times. */
function applicationFlows(r: RunRecords): { flows: string[]; requestStarts: number[] } {
  const rows = [...r.flows.byFlowId()].filter((f) => f.tag >= tagBase);
  const name = (tag: number) => pairs[tag - tagBase]!;
  return {
    flows: rows.map((f) => `${f.src} ${f.dst} ${f.sizeBytes} ${name(f.tag)}`).sort(),
    requestStarts: rows
      .filter((f) => name(f.tag) === "client->web")
      .map((f) => f.startNs)
      .sort((a, b) => a - b),
  };
}

describe("applications' call graphs in the emulator", async () => {
  const skip = await needs(["veth", "htb"]);

  it("start the simulator's application flows, each exchange on its application's port", {
    skip,
  }, async () => {
    const seen = new Set<string>();
    let ports: Record<string, number> | undefined;
    let runId = "";
    const observing = (): EnginePolicy => ({
      ...scenario.policies[0]!,
      label: "observe",
      controller: () => ({
        name: "observe",
        decide(obs) {
          for (const a of obs.applications ?? []) seen.add(a.application);
          ports ??= readState(runId, dir)?.applicationPorts;
        },
      }),
    });
    const sim = await simEngine().run(scenario, observing());
    const simFlows = applicationFlows(sim);
    assert.ok(simFlows.requestStarts.length >= 20, `${simFlows.requestStarts.length} requests in 2 s`);
    assert.equal(sim.flowCounts.unfinished, 0);

    seen.clear();
    const engine = emulationEngine(flows, settings, {
      capabilities: await capabilities(),
      dir,
      onUp: (up) => {
        runId = up.runId;
      },
    });
    const emu = await engine.run(scenario, observing());
    await assertRunsGone([runId], dir);
    assert.deepEqual(emu.overhead.engine === "emulate" ? emu.overhead.flowErrors : {}, {});
    assert.equal(emu.flowCounts.unfinished, 0, "every flow of both kinds finished");
    assert.equal(emu.flowCounts.started, sim.flowCounts.started, "as many flows as the simulator's");
    const emuFlows = applicationFlows(emu);
    for (const [n, r] of [
      ["sim", sim],
      ["emu", emu],
    ] as const) {
      const rows = [...r.flows.byFlowId()].filter((f) => f.tag >= tagBase);
      const by = new Map<string, number[]>();
      for (const f of rows) {
        const k = pairs[f.tag - tagBase]!;
        by.set(k, [...(by.get(k) ?? []), f.fctNs / 1e6]);
      }
      console.log(
        n,
        r.flowCounts,
        [...by]
          .map(
            ([k, v]) => `${k}: n=${v.length} mean=${(v.reduce((a, b) => a + b, 0) / v.length).toFixed(2)}ms`,
          )
          .join("; "),
      );
    }
    assert.deepEqual(emuFlows.flows, simFlows.flows, "the same application flows (endpoints, size, pair)");
    assert.deepEqual(
      emuFlows.requestStarts,
      simFlows.requestStarts,
      "external requests at the same instants",
    );
    assert.deepEqual(
      [...seen].filter((a) => a !== "tm").sort(),
      pairs,
      "the Observation counts every application pair",
    );
    assert.ok(ports, "the run's state names the applications' ports");
    assert.equal(ports["client->web"], 8080);
    assert.equal(ports["web->client"], 8080, "a response carries its exchange's server port");
    assert.equal(ports["web->db"], 5432);
    assert.equal(ports["db->web"], 5432);
    assert.equal(ports["client->game"], 7777);
  });
});
