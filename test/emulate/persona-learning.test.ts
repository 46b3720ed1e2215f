/**
 * Learning personas from the emulator (root, real namespaces): the same applications run in the simulator and in
 * the emulator (emulate/live-applications.ts), and models/personas/learn.ts learns each application's persona
 * from each engine's flow records (the emulator's: the traffic agents' per-flow reports, the flow ledger, with
 * each flow's application pair as its tag). The two personas agree within models/personas/agreement.ts's stated
 * tolerances: protocols, ports and peers exactly; the mean rate within 10%, the p95 of 1 s bins within 25%,
 * the latency share within 0.05, per-peer bytes and flows within 10% (over 10 s, so the flows pushed past the
 * window's end by the emulator's longer FCTs stay a few percent).
 *
 * The same run records the connections with the kernel's connection tracker (`emulation.conntrack`,
 * emulate/conntrack.ts): personas learned from those alone agree with the agents' within the same tolerances
 * (load 15: 449 application connections, 12 of the matrix's set aside; means 0.0-2.3% apart, p95s within 1.1%),
 * their bytes from TCP sequence numbers and their requests' ends from the server's answer (conntrack's marks).
 *
 *   n0 ------ n1 ------ n2      clients at n0 call web (TCP 8080 at n1, small exchanges), which calls db (TCP 5432
 *   1 Gbit/s, 1 ms per link     at n2); clients at n0 fetch 1 MB from files (TCP 9100 at n2, bulk)
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { emulationEngine } from "../../emulate/engine.ts";
import { emulatedWindowNs } from "../../emulate/run-settings.ts";
import { parseConfig } from "../../experiments/config/load.ts";
import { emulationSettings } from "../../experiments/emulate-experiment.ts";
import { buildScenario } from "../../experiments/scenario.ts";
import { personaDisagreements } from "../../models/personas/agreement.ts";
import { learnPersonas } from "../../models/personas/learn.ts";
import type { Persona } from "../../models/personas/profile.ts";
import { flowsBefore } from "../../models/workload/flow-schedule.ts";
import type { RunRecords } from "../../sim/engine/records.ts";
import { simEngine } from "../../sim/engine/run.ts";
import { scenarioSchedule } from "../../sim/engine/schedule.ts";
import { assertRunsGone, capabilities, needs } from "../helpers/emulation.ts";

const MS = 1_000_000;
const WINDOW_NS = 10_000 * MS;
const CONFIG = `name: persona-learning
seed: 9
topology: {generator: {kind: line, n: 3}, links: {capacity: 1Gbps, delay: 1ms}}
workload:
  tm: {kind: uniform, rate: 2Mbps}
  window: {duration: 10s}
  applications:
    apps:
      - {name: web, instances: [n1], port: 8080, dependencies: [db]}
      - {name: db, instances: [n2], port: 5432}
      - {name: files, instances: [n2], port: 9100}
    calls:
      - {from: web, to: db, request: 300B, response: 2kB}
    entries:
      - {app: web, requestsPerSecond: 20, clients: [n0], request: 1kB, response: 5kB}
      - {app: files, requestsPerSecond: 4, clients: [n0], request: 500B, response: 1MB}
policies: [{name: shortest-path}]
control: {interval: 100ms}
metrics: {interval: 100ms}
emulation: {drain: 3s, conntrack: true}
`;
const dir = mkdtempSync(join(tmpdir(), "topocast-persona-learning-"));
after(() => rmSync(dir, { recursive: true, force: true }));

const loaded = parseConfig(CONFIG, join(dir, "learn.yaml"), dir);
const scenario = buildScenario(loaded, 0).scenario;
const settings = emulationSettings(loaded.config);

function learn(r: RunRecords, engine: "sim" | "emulate", from: "flows" | "connections" = "flows"): Persona[] {
  const flows = from === "flows" ? r.flows.byFlowId() : r.connections!.flows;
  return learnPersonas(
    { flows, applications: scenario.applications!, topology: scenario.topology },
    {
      window: { startNs: 0, endNs: WINDOW_NS },
      provenance: { engine, run: "persona-learning", learnedAt: "seed 9" },
      binNs: 1_000 * MS,
    },
  );
}

describe("personas learned from the emulator", async () => {
  const skip = await needs(["veth", "htb"]);
  const caps = skip ? undefined : await capabilities();
  const noConntrack = caps?.tools.conntrack ? false : "needs the conntrack tool (apt install conntrack)";
  /** The emulator's run (once, shared by the cases), with conntrack when the tool is there. */
  let emulated: Promise<RunRecords> | undefined;
  const emulate = () => {
    emulated ??= (async () => {
      let runId = "";
      const engine = emulationEngine(
        flowsBefore(scenarioSchedule(scenario), WINDOW_NS),
        { ...settings, conntrack: !noConntrack },
        { capabilities: caps!, dir, onUp: (up) => (runId = up.runId) },
      );
      const records = await engine.run(scenario, scenario.policies[0]!);
      await assertRunsGone([runId], dir);
      return records;
    })();
    return emulated;
  };

  it("agree with the simulator's for the same workload, within the stated tolerances", { skip }, async () => {
    assert.equal(emulatedWindowNs(scenario, settings), WINDOW_NS);
    const sim = learn(await simEngine().run(scenario, scenario.policies[0]!), "sim");
    const emu = learn(await emulate(), "emulate");
    assert.deepEqual(
      emu.map((p) => p.application.name),
      ["web", "db", "files"],
    );
    assert.deepEqual(
      emu.map((p) => p.provenance.engine),
      ["emulate", "emulate", "emulate"],
    );
    const report = sim.map((p, i) => {
      const e = emu[i]!;
      const f = (q: Persona) =>
        `mean ${(q.fingerprint.bandwidth.meanBps / 1e6).toFixed(3)} p95 ${(q.fingerprint.bandwidth.p95Bps / 1e6).toFixed(3)} Mbit/s share ${q.fingerprint.latencySensitivity.share.toFixed(3)}`;
      return `${p.application.name}: sim ${f(p)} | emu ${f(e)}`;
    });
    for (const [i, p] of sim.entries())
      assert.deepEqual(personaDisagreements(p, emu[i]!), [], `${p.application.name}:\n${report.join("\n")}`);
    assert.deepEqual(
      sim.map((p) => p.desired.qos.priority),
      emu.map((p) => p.desired.qos.priority),
      "the same traffic class, so the same desired QoS priority",
    );
  });

  it("learned from conntrack's connections alone agree with those from the agents' reports", {
    skip: skip || noConntrack,
  }, async () => {
    const records = await emulate();
    const c = records.connections!;
    assert.equal(c.eventsLost, false, "the kernel dropped no connection event");
    assert.equal(c.unread, 0, "every application connection has a start and counters");
    assert.equal(c.ambiguous, 0);
    // The marks worked on this kernel (emulate/conntrack.ts MARK): every exchange's bytes from its sequence numbers
    // and its request's end from the server's answer, not from conntrack's counters and the handshake.
    const exchanges = c.flows.length / 2;
    assert.ok(
      c.sequenced! >= 0.95 * exchanges,
      `${c.sequenced} of ${exchanges} exchanges with sequence numbers`,
    );
    assert.ok(
      c.answered! >= 0.95 * exchanges,
      `${c.answered} of ${exchanges} exchanges with the server's answer`,
    );
    const agents = learn(records, "emulate");
    const kernel = learn(records, "emulate", "connections");
    const f = (q: Persona) =>
      `${q.application.name}: mean ${(q.fingerprint.bandwidth.meanBps / 1e6).toFixed(3)} p95 ${(q.fingerprint.bandwidth.p95Bps / 1e6).toFixed(3)} Mbit/s share ${q.fingerprint.latencySensitivity.share.toFixed(3)}`;
    const report = agents.map((p, i) => `agents ${f(p)} | conntrack ${f(kernel[i]!)}`).join("\n");
    assert.deepEqual(
      kernel.map((p) => p.application.name),
      agents.map((p) => p.application.name),
    );
    for (const [i, p] of agents.entries())
      assert.deepEqual(personaDisagreements(p, kernel[i]!), [], `${p.application.name}:\n${report}`);
  });
});
