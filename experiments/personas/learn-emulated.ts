/**
 * `topocast persona learn --engine emulate`: the learning run on namespaces (emulate/engine.ts), its flows from the
 * traffic agents' reports or from the connections the kernel's conntrack tracked (emulate/conntrack.ts). Loaded only
 * for such a run, so the other persona commands do not load the emulator.
 *
 * With `--source conntrack` the run records both (the agents report every flow regardless), and
 * {@link sourceAgreement} compares the personas learned from each on stderr: what conntrack alone gets right.
 */
import { probe } from "../../emulate/capabilities.ts";
import { emulationEngine } from "../../emulate/engine.ts";
import { EmulationError } from "../../emulate/errors.ts";
import { emulatedWindowNs } from "../../emulate/run-settings.ts";
import { ProcessRunner } from "../../emulate/runner.ts";
import { type LearnFlow, learnPersonas } from "../../models/personas/learn.ts";
import type { Persona } from "../../models/personas/profile.ts";
import { flowsBefore } from "../../models/workload/flow-schedule.ts";
import type { RunRecords } from "../../sim/engine/records.ts";
import { scenarioSchedule } from "../../sim/engine/schedule.ts";
import type { EnginePolicy, Scenario } from "../../sim/engine/types.ts";
import { formatRate } from "../../sim/units.ts";
import type { ExperimentConfig } from "../config/schema.ts";
import { emulationSettings } from "../emulate-experiment.ts";

/** The end of the emulated window (emulation.duration, else the traffic window), simulated ns. */
export function emulatedHorizonNs(config: ExperimentConfig, scenario: Scenario): number {
  return emulatedWindowNs(scenario, emulationSettings(config));
}

/** A persona's bandwidth: mean and p95 rate (bits/s), bytes with its peers (both directions). */
export interface Bandwidth {
  meanBps: number;
  p95Bps: number;
  bytes: number;
}

/** One application's persona bandwidth from the agents' reports and from conntrack, and their relative gaps. */
export interface SourceGap {
  application: string;
  /** Mean and p95 rate (bits/s) and bytes with every peer (both directions) over the window. */
  agents: Bandwidth;
  conntrack: Bandwidth;
  /** (conntrack - agents) / agents; 0 when both are 0. */
  meanGap: number;
  p95Gap: number;
  bytesGap: number;
}

/** A relative gap as a signed percentage. */
const percent = (x: number) => `${x >= 0 ? "+" : ""}${(x * 100).toFixed(1)}%`;
const gap = (a: number, b: number) => (a === 0 ? (b === 0 ? 0 : Number.POSITIVE_INFINITY) : (b - a) / a);

/**
 * The personas of one emulated run learned from the agents' reports and from conntrack's connections over the same
 * window, per application (config order): their mean and p95 rates and the gaps.
 */
export function sourceAgreement(
  records: RunRecords,
  scenario: Scenario,
  window: { startNs: number; endNs: number },
  binNs?: number,
): SourceGap[] {
  const learn = (flows: Iterable<LearnFlow>): Persona[] =>
    learnPersonas(
      { flows, applications: scenario.applications!, topology: scenario.topology },
      {
        window,
        provenance: { engine: "emulate", run: scenario.name, learnedAt: "source agreement" },
        ...(binNs === undefined ? {} : { binNs }),
      },
    );
  const agents = learn(records.flows.byFlowId());
  const kernel = learn(records.connections?.flows ?? []);
  return agents.map((a, i) => {
    const k = kernel[i]!;
    const bw = (p: Persona): Bandwidth => ({
      meanBps: p.fingerprint.bandwidth.meanBps,
      p95Bps: p.fingerprint.bandwidth.p95Bps,
      bytes: p.fingerprint.peers.reduce((s, q) => s + q.bytes, 0),
    });
    return {
      application: a.application.name,
      agents: bw(a),
      conntrack: bw(k),
      meanGap: gap(bw(a).meanBps, bw(k).meanBps),
      p95Gap: gap(bw(a).p95Bps, bw(k).p95Bps),
      bytesGap: gap(bw(a).bytes, bw(k).bytes),
    };
  });
}

/** {@link sourceAgreement} and the connection counts as text lines. */
export function sourceAgreementLines(records: RunRecords, gaps: readonly SourceGap[]): string[] {
  const cx = records.connections;
  return [
    cx
      ? `conntrack: ${cx.flows.length} request and response flows; application connections: ${cx.unread} unread, ${cx.unfinished} unfinished, ${cx.other} of no application, ${cx.ambiguous} ambiguous, events ${cx.eventsLost ? "LOST (ENOBUFS)" : "all read"}`
      : "conntrack: no connections recorded",
    "conntrack vs agents (same run): mean and p95 rate, bytes with peers:",
    ...gaps.map(
      (g) =>
        `  ${g.application.padEnd(10)} mean ${formatRate(g.agents.meanBps)} -> ${formatRate(g.conntrack.meanBps)} (${percent(g.meanGap)}), p95 ${formatRate(g.agents.p95Bps)} -> ${formatRate(g.conntrack.p95Bps)} (${percent(g.p95Gap)}), bytes ${percent(g.bytesGap)}`,
    ),
  ];
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
  if (source === "agents") return records.flows.byFlowId();
  const gaps = sourceAgreement(records, scenario, { startNs: 0, endNs: horizonNs });
  for (const line of sourceAgreementLines(records, gaps)) console.error(line);
  // Over the whole run (window and drain): the flows the agents' lateness pushed past the window's end count too,
  // so the bytes compare what each source counted, apart from when it started.
  const all = sourceAgreement(records, scenario, { startNs: 0, endNs: horizonNs + settings.drainNs });
  console.error("whole run (window and drain), bytes with peers:");
  for (const g of all) console.error(`  ${g.application.padEnd(10)} ${percent(g.bytesGap)}`);
  return records.connections?.flows ?? [];
}
