/**
 * `topocast persona learn --engine emulate`: the learning run on namespaces (emulate/engine.ts), its flows from the
 * traffic agents' reports or from the connections the kernel's conntrack tracked (emulate/conntrack.ts). Loaded only
 * for such a run, so the other persona commands do not load the emulator.
 */
import { probe } from "../../emulate/capabilities.ts";
import { emulationEngine } from "../../emulate/engine.ts";
import { EmulationError } from "../../emulate/errors.ts";
import { emulatedWindowNs } from "../../emulate/run-settings.ts";
import { ProcessRunner } from "../../emulate/runner.ts";
import type { LearnFlow } from "../../models/personas/learn.ts";
import { flowsBefore } from "../../models/workload/flow-schedule.ts";
import { scenarioSchedule } from "../../sim/engine/schedule.ts";
import type { EnginePolicy, Scenario } from "../../sim/engine/types.ts";
import type { ExperimentConfig } from "../config/schema.ts";
import { emulationSettings } from "../emulate-experiment.ts";

/** The end of the emulated window (emulation.duration, else the traffic window), simulated ns. */
export function emulatedHorizonNs(config: ExperimentConfig, scenario: Scenario): number {
  return emulatedWindowNs(scenario, emulationSettings(config));
}

/**
 * The learning run in the emulator (root): the flows of the emulated window under `policy`, from the agents'
 * reports or from the connections conntrack tracked.
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
  const flows = flowsBefore(scenarioSchedule(scenario), emulatedWindowNs(scenario, settings));
  const engine = emulationEngine(flows, settings, { capabilities: await probe(runner), runner });
  const records = await engine.run(scenario, policy);
  const cx = records.connections;
  if (source === "conntrack" && cx && (cx.unread > 0 || cx.eventsLost))
    console.error(
      `warning: conntrack missed ${cx.unread} of ${cx.unread + cx.flows.length / 2} application connections${cx.eventsLost ? " (the kernel dropped events: ENOBUFS, the machine is too busy for the readers)" : ""}; the personas learn from the rest`,
    );
  return source === "agents" ? records.flows.byFlowId() : (records.connections?.flows ?? []);
}
