/**
 * `topocast persona learn --engine emulate`: the learning run on namespaces (emulate/engine.ts), its flows from the
 * traffic agents' reports or from the connections the kernel's conntrack tracked (emulate/conntrack.ts). Loaded only
 * for such a run, so the other persona commands do not load the emulator.
 *
 * With `--source conntrack` the run records both (the agents report every flow regardless), and
 * source-agreement.ts compares the personas learned from each on stderr: what conntrack alone gets right; then
 * each against the simulator's for the same scenario, policy and window (field by field).
 *
 * Flows are windowed by when they really started, in both sources: conntrack's carry the kernel's start of each
 * connection, and the agents' flows their scheduled start moved to when the agent opened the connection
 * (source-agreement.ts `agentFlows`; on a loaded machine the agents start flows seconds late, so windowing the agents' flows on
 * their schedule and conntrack's on the kernel's put different flows in the same window).
 */
import { probe } from "../../emulate/capabilities.ts";
import { emulationEngine } from "../../emulate/engine.ts";
import { EmulationError } from "../../emulate/errors.ts";
import { emulatedWindowNs } from "../../emulate/run-settings.ts";
import { ProcessRunner } from "../../emulate/runner.ts";
import type { LearnFlow } from "../../models/personas/learn.ts";
import { flowsBefore } from "../../models/workload/flow-schedule.ts";
import { runPolicy } from "../../sim/engine/run.ts";
import { scenarioSchedule } from "../../sim/engine/schedule.ts";
import type { EnginePolicy, Scenario } from "../../sim/engine/types.ts";
import type { ExperimentConfig } from "../config/schema.ts";
import { emulationSettings } from "../emulate-experiment.ts";
import {
  agentFlows,
  engineAgreementLines,
  learnIn,
  percent,
  sourceAgreement,
  sourceAgreementLines,
} from "./source-agreement.ts";

/** The end of the emulated window (emulation.duration, else the traffic window), simulated ns. */
export function emulatedHorizonNs(config: ExperimentConfig, scenario: Scenario): number {
  return emulatedWindowNs(scenario, emulationSettings(config));
}

/**
 * The learning run in the emulator (root): the flows of the emulated window under `policy`, from the agents'
 * reports or from the connections conntrack tracked. With `source` conntrack, the agreement of the two sources over
 * the whole emulated window goes to stderr.
 * @throws EmulationError without root or when the substrate cannot be built
 */
export async function emulatedFlows(
  config: ExperimentConfig,
  scenario: Scenario,
  policy: EnginePolicy,
  source: "agents" | "conntrack",
): Promise<Iterable<LearnFlow>> {
  if (process.getuid?.() !== 0)
    throw new EmulationError(
      "persona learn --engine emulate needs root (it creates network namespaces); run it as root or learn in the simulator",
    );
  const settings = { ...emulationSettings(config), conntrack: source === "conntrack" };
  const runner = new ProcessRunner();
  const horizonNs = emulatedWindowNs(scenario, settings);
  const flows = flowsBefore(scenarioSchedule(scenario), horizonNs);
  const engine = emulationEngine(flows, settings, { capabilities: await probe(runner), runner });
  const records = await engine.run(scenario, policy);
  if (source === "agents") return agentFlows(records);
  const both = { agents: agentFlows(records), conntrack: records.connections?.flows ?? [] };
  const run = { applications: scenario.applications!, topology: scenario.topology };
  const gaps = sourceAgreement(both, run, { startNs: 0, endNs: horizonNs });
  for (const line of sourceAgreementLines(records.connections, gaps)) console.error(line);
  // The p95 over 1 s bins (models/personas/agreement.ts's tolerances are stated for bins of >= 1 s).
  const secondBins = sourceAgreement(both, run, { startNs: 0, endNs: horizonNs }, 1e9);
  console.error("p95 of 1 s bins:");
  for (const g of secondBins) console.error(`  ${g.application.padEnd(10)} ${percent(g.p95Gap)}`);
  // Over the whole run (window and drain): the flows started past the window's end count too, so the bytes compare
  // what each source counted, apart from when it started.
  const all = sourceAgreement(both, run, { startNs: 0, endNs: horizonNs + settings.drainNs });
  console.error("whole run (window and drain), bytes with peers:");
  for (const g of all) console.error(`  ${g.application.padEnd(10)} ${percent(g.bytesGap)}`);
  // The simulator on the same scenario and policy, learned over the same window as both emulated sources.
  const window = { startNs: 0, endNs: horizonNs };
  const sim = learnIn((await runPolicy(scenario, policy)).flows.byFlowId(), run, window, "sim");
  for (const [label, f] of [
    ["agents", both.agents],
    ["conntrack", both.conntrack],
  ] as const)
    for (const line of engineAgreementLines(sim, learnIn(f, run, window, "emulate"), label))
      console.error(line);
  return records.connections?.flows ?? [];
}
