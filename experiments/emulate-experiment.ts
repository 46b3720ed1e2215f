/**
 * `topocast emulate <config>`: the experiment of `topocast run`, on Linux namespaces. Same config, same flows, same
 * policy modules, same results layout (config.json, manifest.json, summary.json, flows.csv, links.csv,
 * timeseries.csv, plots, report.html) in `<output.dir>/<name>/seed<seed>-run<run>-emulate/`; the manifest adds how
 * the network was emulated (kernel capabilities, mechanisms, scaling, what was dropped, per-policy substrate run
 * ids and set-up times). When the simulator's results of the same (config, seed, run) exist (or `withSim`), the
 * directory also gets the sim-vs-emulation comparison.
 *
 * Refused, with the setting to change, when not root, when a configured property cannot be emulated on this kernel
 * (unless `emulation.allowDegrade`), or when the window holds more flows than `emulation.maxFlows`.
 */

import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { type Capabilities, chooseMechanisms, probe } from "../emulate/capabilities.ts";
import type { LinkCheck, RateCheck } from "../emulate/checks.ts";
import { type EmulatePolicyOptions, emulationEngine } from "../emulate/engine.ts";
import { EmulationError } from "../emulate/errors.ts";
import { type Plan, planSubstrate } from "../emulate/plan.ts";
import { type EmulationRunSettings, emulatedWindowNs } from "../emulate/run-settings.ts";
import { ProcessRunner } from "../emulate/runner.ts";
import { scaleTopology } from "../emulate/scaling.ts";
import { perFlowPairs } from "../emulate/static-routes.ts";
import { EmulationInterrupted } from "../emulate/traffic-agents.ts";
import { verbsNotEmulated } from "../emulate/verb-support.ts";
import { applicationTagBase } from "../models/workload/applications.ts";
import { type FlowArrival, flowsBefore } from "../models/workload/flow-schedule.ts";
import type { RunRecords } from "../sim/engine/records.ts";
import { scenarioSchedule } from "../sim/engine/schedule.ts";
import type { EnginePolicy, Scenario } from "../sim/engine/types.ts";
import { FRAME_BYTES } from "../sim/transport/fluid-queues.ts";
import { formatDuration, formatRate, formatSize, parseDurationNs, parseSizeBytes } from "../sim/units.ts";
import { ConfigError, type LoadedConfig, parseConfig } from "./config/load.ts";
import type { ExperimentConfig } from "./config/schema.ts";
import { egressCostPerGB } from "./egress-cost.ts";
import { type Manifest, type RunSummary, readCsv, writeRunDir } from "./results.ts";
import {
  defaultRunDir,
  finishRunDir,
  round3,
  runExperiment,
  runManifest,
  runSummary,
  withMluBound,
  writeResultFiles,
} from "./run-experiment.ts";
import { buildScenario } from "./scenario.ts";
import { compareFlows, readSizeBuckets } from "./sim-vs-emulation/flow-comparison.ts";
import { type FlowsCsvRow, readFlowsCsv } from "./sim-vs-emulation/flows-csv.ts";
import { compareLinks } from "./sim-vs-emulation/link-comparison.ts";
import { compareModels, type ModelRun } from "./sim-vs-emulation/model-table.ts";
import { writeComparison, writeModelComparison } from "./sim-vs-emulation/output.ts";
import { compareRequests, requestComparisonCsv } from "./sim-vs-emulation/requests.ts";
import { type SimModelVariant, variantOf, variantOverrides } from "./sim-vs-emulation/sim-models.ts";

export interface EmulateOptions {
  run?: number;
  out?: string;
  report?: boolean;
  /** Run `topocast run` on the same config first (for the comparison). */
  withSim?: boolean;
  verbose?: boolean;
  /** Progress: policy index, label, fraction of the emulated window done. */
  onProgress?: (policyIndex: number, label: string, fraction: number) => void;
  onPolicyDone?: (policyIndex: number, label: string, wallSeconds: number) => void;
  /** Lines worth telling the user (substrate up, what was dropped). */
  onNote?: (line: string) => void;
}

export interface EmulateOutcome {
  dir: string;
  summary: RunSummary;
  manifest: Manifest;
  reportPath: string | null;
  /** The simulator's results directory compared against (the first model of emulation.compareWith), or null. */
  simDir: string | null;
  /** Every simulator model compared against, with its results directory (emulation.compareWith). */
  sims: { model: SimModelVariant; dir: string }[];
  /** The signal that ended the run early (its results are partial), or null. */
  interrupted: NodeJS.Signals | null;
}

/** The `emulation` section resolved to engine units (defaults where the config has no section). */
export function emulationSettings(c: ExperimentConfig): EmulationRunSettings {
  const e = c.emulation;
  return {
    timeCompression: e?.timeCompression ?? 1,
    rateScale: e?.rateScale ?? 1,
    durationNs: e?.duration !== undefined ? parseDurationNs(e.duration) : null,
    drainNs: parseDurationNs(e?.drain ?? "30s"),
    delay: e?.delay ?? "auto",
    rate: e?.rate ?? "auto",
    addressBlock: e?.addressBlock ?? "10.213.0.0/16",
    port: e?.port ?? 7000,
    queueNs: e?.queue === "1000p" ? null : parseDurationNs(e?.queue ?? "10ms"),
    allowDegrade: e?.allowDegrade ?? false,
    maxFlows: e?.maxFlows ?? 100_000,
    checkRates: e?.checkRates ?? false,
    conntrack: e?.conntrack ?? false,
  };
}

/** The default results directory of an emulation run: the simulator's, suffixed `-emulate`. */
export function defaultEmulationDir(loaded: LoadedConfig, run: number): string {
  return `${defaultRunDir(loaded, run)}-emulate`;
}

/** What the preflight found: this kernel's capabilities, the substrate plan's preview, what cannot be emulated. */
interface Preflight {
  capabilities: Capabilities;
  preview: Plan;
  /** Lines saying what is not emulated (the manifest's `dropped`; policies' unsupported verbs are added later). */
  dropped: string[];
  windowNs: number;
  flows: readonly FlowArrival[];
}

/** Everything the policies' emulation measured, whether or not every policy ran. */
interface PoliciesOutcome {
  results: RunRecords[];
  perPolicy: Manifest["policies"];
  substrates: Record<string, unknown>[];
  linkCheck: LinkCheck[];
  rateCheck: RateCheck[] | string;
  interrupted: NodeJS.Signals | null;
  /** The policy an interrupt came during, or null (before any policy, or none). */
  interruptedAt: string | null;
  failure: { policy: string; error: unknown } | null;
}

export async function emulateExperiment(
  loaded: LoadedConfig,
  opts: EmulateOptions = {},
): Promise<EmulateOutcome> {
  if (process.getuid?.() !== 0) {
    throw new EmulationError(
      "topocast emulate needs root (it creates network namespaces); run it as root or use `topocast run`",
    );
  }
  const t0 = performance.now();
  const startedAt = new Date().toISOString();
  const run = opts.run ?? 0;
  const note = opts.onNote ?? (() => {});
  const settings = emulationSettings(loaded.config);
  const { scenario, workload } = buildScenario(loaded, run);
  const runner = new ProcessRunner({ verbose: opts.verbose ?? false });
  const pre = await preflight(loaded, scenario, settings, runner, note);
  const sims = await simulationBeside(loaded, settings, run, scenario, pre.flows, opts, note);
  const simDir = sims[0]?.dir ?? null;
  const outcome = await emulatePolicies(scenario, pre, settings, runner, opts, note);

  const measured = asEmulatedTcp(scenario, settings);
  const summary = await withMluBound(loaded, scenario, runSummary(measured, workload, run, outcome.results));
  const manifest = emulationManifest(loaded, scenario, run, startedAt, settings, pre, outcome, sims);
  let reportPath: string | null = null;
  const dir = await writeRunDir(opts.out ?? defaultEmulationDir(loaded, run), async (tmp) => {
    writeResultFiles(tmp, loaded, summary, measured, outcome.results);
    if (sims.length > 0) await writeSimComparison(tmp, sims, scenario, pre);
    reportPath = await finishRunDir(tmp, manifest, t0, opts.report ?? true);
  });
  if (reportPath !== null) reportPath = join(dir, "report.html");
  if (outcome.failure !== null) {
    const f = outcome.failure;
    const why = f.error instanceof Error ? f.error.message : String(f.error);
    throw new EmulationError(
      `policy ${f.policy} failed in emulation: ${why}${outcome.results.length > 0 ? ` (the results of the policies before it are in ${dir})` : ""}`,
    );
  }
  return { dir, summary, manifest, reportPath, simDir, sims, interrupted: outcome.interrupted };
}

/**
 * What this kernel can emulate, what the config asks for that it cannot, and the flows of the emulated window.
 * @throws ConfigError (emulation.allowDegrade) when something cannot be emulated and degrading is not allowed;
 * (emulation.maxFlows) when the window holds too many flows.
 */
async function preflight(
  loaded: LoadedConfig,
  scenario: Scenario,
  settings: EmulationRunSettings,
  runner: ProcessRunner,
  note: (line: string) => void,
): Promise<Preflight> {
  const capabilities = await probe(runner);
  const emulated = scaleTopology(scenario.topology, settings.rateScale, settings.timeCompression);
  const preview = planSubstrate(emulated, "000000", chooseMechanisms(capabilities), {
    addressBlock: settings.addressBlock,
    delay: settings.delay,
    rate: settings.rate,
    queueNs: settings.queueNs === null ? null : Math.round(settings.queueNs / settings.timeCompression),
  });
  const dropped = [
    ...preview.dropped,
    ...verbsNotEmulated(scenario.policies, capabilities),
    ...notEmulated(scenario),
  ];
  if (dropped.length > 0 && !settings.allowDegrade) {
    throw loaded.error(
      ["emulation", "allowDegrade"],
      `this config cannot be emulated exactly on this machine:\n  - ${dropped.join("\n  - ")}\nset emulation.allowDegrade: true to run without them`,
    );
  }
  const windowNs = emulatedWindowNs(scenario, settings);
  const flows = flowsBefore(scenarioSchedule(scenario), windowNs);
  if (flows.length > settings.maxFlows) {
    throw loaded.error(
      ["emulation", "maxFlows"],
      `the emulated window (${formatDuration(windowNs)}) holds ${flows.length} flows, more than ${settings.maxFlows}; shorten emulation.duration or raise emulation.maxFlows`,
    );
  }
  const wallWindowS = windowNs / settings.timeCompression / 1e9;
  const rates = emulated.links.map((l) => l.capacityBps);
  note(
    `emulating ${formatDuration(windowNs)} of traffic (${flows.length} flows) per policy in about ${wallWindowS.toFixed(1)} s wall; links at ${formatRate(Math.min(...rates))}..${formatRate(Math.max(...rates))}, delay by ${preview.mechanisms.delay}, rate by ${preview.mechanisms.rate}`,
  );
  for (const d of dropped) note(`not emulated: ${d}`);
  return { capabilities, preview, dropped, windowNs, flows };
}

/** What of the scenario the emulator leaves out, whatever the kernel: per-flow spreading. */
function notEmulated(scenario: Scenario): string[] {
  const out: string[] = [];
  for (const p of scenario.policies) {
    if (p.controller) continue;
    const split = perFlowPairs(scenario, p);
    if (split.length > 0) {
      out.push(
        `policy ${p.label}: spreads the flows of ${split.length} pair(s) over several paths (per-flow hashing); emulation routes per pair, so each pair takes its first flow's path`,
      );
    }
  }
  return out;
}

/** One simulator model's results directory to compare with. */
interface SimRun {
  model: SimModelVariant;
  dir: string;
}

/** A simulator model to compare with: the config that runs it (beside the emulation) and its results directory. */
export interface SimModelConfig {
  model: SimModelVariant;
  loaded: LoadedConfig;
  dir: (run: number) => string;
  note: string | null;
}

/**
 * The simulator models of `emulation.compareWith` (default: the config's own transport), each as the config that
 * runs it beside the emulation ({@link simulatorBeside}); a model other than the config's own writes its results
 * to the directory suffixed with its name. Each is built once here, so a model the config's policies cannot run
 * under is refused before any run.
 * @throws ConfigError at emulation.compareWith[i] naming the model and why.
 */
export function simModels(
  loaded: LoadedConfig,
  settings: EmulationRunSettings,
  run: number,
): SimModelConfig[] {
  const t = loaded.config.transport;
  const own = { model: t.model, tcp: t.tcp, queue: t.queue, timerScale: t.timerScale };
  const models = loaded.config.emulation?.compareWith ?? [variantOf(own)];
  const queue = String(loaded.config.emulation?.queue ?? "10ms");
  return models.map((model, i) => {
    const set = variantOverrides(model, own, queue, settings.timeCompression);
    try {
      const variant =
        set.length === 0
          ? loaded
          : parseConfig(loaded.text, loaded.file, loaded.baseDir, {
              ...loaded.options,
              set: [...(loaded.options.set ?? []), ...set],
            });
      if (set.length > 0) buildScenario(variant, run);
      const beside = simulatorBeside(variant, settings);
      const dir = (r: number) => (set.length === 0 ? beside.dir(r) : `${beside.dir(r)}-${model}`);
      return { model, loaded: beside.loaded, dir, note: beside.note };
    } catch (e) {
      if (!(e instanceof ConfigError)) throw e;
      throw loaded.error(
        ["emulation", "compareWith", i],
        `the simulator cannot run this config with its ${model} model (${set.join(", ")}): ${e.message}`,
      );
    }
  });
}

/**
 * The simulator's results directories to compare with, one per model of `emulation.compareWith`: run now
 * (`withSim`), or found from an earlier run of the same workload; a model without (fresh) results is left out.
 */
async function simulationBeside(
  loaded: LoadedConfig,
  settings: EmulationRunSettings,
  run: number,
  scenario: Scenario,
  flows: readonly FlowArrival[],
  opts: EmulateOptions,
  note: (line: string) => void,
): Promise<SimRun[]> {
  const models = simModels(loaded, settings, run);
  for (const n of new Set(models.map((m) => m.note))) if (n !== null) note(n);
  const out: SimRun[] = [];
  for (const m of models) {
    if (opts.withSim) {
      note(`running the simulator (${m.model} model) on the same config first`);
      const r = await runExperiment(m.loaded, { run, report: opts.report ?? true, out: m.dir(run) });
      out.push({ model: m.model, dir: r.dir });
      continue;
    }
    const d = m.dir(run);
    if (!existsSync(join(d, "flows.csv"))) continue;
    const stale = await staleSimulation(d, scenario.topology.nodes, flows);
    if (stale === null) out.push({ model: m.model, dir: d });
    else note(`not comparing with the simulator's results in ${d}: ${stale} (run with --with-sim)`);
  }
  return out;
}

/**
 * Emulates the policies one after the other through the emulation {@link Engine}, each on its own substrate.
 * SIGINT/SIGTERM: the running policy stops early, its substrate is torn down, and what was measured so far is kept
 * (the manifest says so); a second signal is only acknowledged, so teardown always completes. A policy that fails
 * ends the loop; the policies before it keep their results.
 */
async function emulatePolicies(
  scenario: Scenario,
  pre: Preflight,
  settings: EmulationRunSettings,
  runner: ProcessRunner,
  opts: EmulateOptions,
  note: (line: string) => void,
): Promise<PoliciesOutcome> {
  const out: PoliciesOutcome = {
    results: [],
    perPolicy: [],
    substrates: [],
    linkCheck: [],
    rateCheck: settings.checkRates
      ? "not measured (no iperf3 on PATH; Debian package iperf3)"
      : "not measured (emulation.checkRates: false)",
    interrupted: null,
    interruptedAt: null,
    failure: null,
  };
  const abort = new AbortController();
  const onSignal = (sig: NodeJS.Signals) => {
    if (out.interrupted) {
      note(`${sig} again: still tearing down, please wait`);
      return;
    }
    out.interrupted = sig;
    note(`${sig}: stopping, tearing down and writing partial results`);
    abort.abort();
  };
  const index = new Map(scenario.policies.map((p, i) => [p, i]));
  const engine = emulationEngine(
    pre.flows,
    settings,
    { signal: abort.signal, capabilities: pre.capabilities, runner },
    (p) => policyCallbacks(index.get(p)!, p, settings, opts, out, note),
  );
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  try {
    for (const [i, p] of scenario.policies.entries()) {
      if (out.interrupted) break;
      const tp = performance.now();
      let r: RunRecords;
      try {
        r = await engine.run(scenario, p);
      } catch (e) {
        if (e instanceof EmulationInterrupted) break;
        // Keep what the policies before it measured; say which policy failed and why, after writing them.
        out.failure = { policy: p.label, error: e };
        break;
      }
      out.results.push(r);
      const wall = (performance.now() - tp) / 1000;
      out.perPolicy.push({
        policy: p.label,
        events: r.events,
        wallSeconds: round3(wall),
        decisions: r.decisions,
      });
      opts.onPolicyDone?.(i, p.label, wall);
      const unsupported = r.overhead.engine === "emulate" ? r.overhead.unsupported : {};
      for (const [verb, count] of Object.entries(unsupported)) {
        const line = `policy ${p.label}: ${count} ${verb} call(s) failed with UnsupportedInEmulationError (not emulated yet); the policy ran without them`;
        pre.dropped.push(line);
        note(`not emulated: ${line}`);
      }
      if (out.interrupted) out.interruptedAt = p.label;
    }
  } finally {
    process.removeListener("SIGINT", onSignal);
    process.removeListener("SIGTERM", onSignal);
  }
  return out;
}

/** The emulation options of policy `i`: progress, the link and rate checks (first policy only), substrate facts. */
function policyCallbacks(
  i: number,
  p: EnginePolicy,
  settings: EmulationRunSettings,
  opts: EmulateOptions,
  out: PoliciesOutcome,
  note: (line: string) => void,
): Partial<EmulatePolicyOptions> {
  return {
    onProgress: (now, end) => opts.onProgress?.(i, p.label, end > 0 ? Math.min(1, now / end) : 1),
    checkRates: settings.checkRates && i === 0,
    onRateCheck: (links) => {
      out.rateCheck = links;
      const ratios = ratioSummary(
        links.flatMap((l) => (l.goodputBps !== null && l.rateBps !== null ? [l.goodputBps / l.rateBps] : [])),
      );
      if (ratios) note(`rate check (iperf3 over each link): goodput / configured rate ${ratios}`);
    },
    onLinkCheck: (links) => {
      if (i !== 0) return;
      out.linkCheck = links;
      const ratios = ratioSummary(
        links.flatMap((l) =>
          l.minRttMs !== null && l.configuredRttMs > 0 ? [l.minRttMs / l.configuredRttMs] : [],
        ),
      );
      const sent = links.reduce((a, l) => a + l.sent, 0);
      const lost = links.reduce((a, l) => a + l.sent - l.received, 0);
      if (ratios)
        note(
          `link check (ping over each link): measured / configured RTT ${ratios}; ${lost} of ${sent} pings lost`,
        );
    },
    onUp: (up) =>
      out.substrates.push({
        policy: p.label,
        runId: up.runId,
        namespaces: up.nodes.length,
        upSeconds: round3(up.timings.totalMs / 1000),
        mechanisms: up.mechanisms,
      }),
  };
}

/** manifest.json of an emulation run: the simulator's manifest plus how the network was emulated. */
function emulationManifest(
  loaded: LoadedConfig,
  scenario: Scenario,
  run: number,
  startedAt: string,
  settings: EmulationRunSettings,
  pre: Preflight,
  outcome: PoliciesOutcome,
  sims: readonly SimRun[],
): Manifest {
  const { interrupted, interruptedAt, failure } = outcome;
  const wall = outcome.perPolicy.map((p) => p.wallSeconds);
  return {
    ...runManifest(loaded, scenario, run, "emulate", startedAt, outcome.results, wall),
    emulation: {
      settings,
      capabilities: pre.capabilities,
      mechanisms: pre.preview.mechanisms,
      dropped: pre.dropped,
      scaling: {
        timeCompression: settings.timeCompression,
        rateScale: settings.rateScale,
        flowSizes: `x ${settings.rateScale / settings.timeCompression} (rateScale / timeCompression), at least 1 byte`,
        delays: `/ ${settings.timeCompression}`,
        reported:
          "in simulated units: FCT = wall FCT x timeCompression; bits = measured x timeCompression / rateScale",
      },
      windowNs: pre.windowNs,
      flows: pre.flows.length,
      substrates: outcome.substrates,
      linkCheck: outcome.linkCheck.length
        ? outcome.linkCheck
        : "not measured (no ping on PATH; Debian package iputils-ping)",
      rateCheck: outcome.rateCheck,
      simDir: sims[0]?.dir ?? null,
      simDirs: Object.fromEntries(sims.map((s) => [s.model, s.dir])),
      interrupted:
        interrupted === null
          ? null
          : `${interrupted} during policy ${interruptedAt ?? "set-up"}: its results are partial, later policies did not run`,
      failed:
        failure === null
          ? null
          : `policy ${failure.policy}: ${String(failure.error)}; later policies did not run`,
    },
  };
}

/**
 * The simulated flows the emulation ran, per policy: every application flow (tag from `tagBase` up: the emulator
 * runs the applications' call graphs live over the whole window) and the first `replayed` of the others in id order
 * (the emulation replays the simulator's scheduled flows in arrival order, a prefix when capped). The simulator
 * numbers both kinds together in arrival order, so an id alone does not say which was replayed.
 */
export function emulatedSimFlows(
  rows: readonly FlowsCsvRow[],
  replayed: number,
  tagBase: number,
): FlowsCsvRow[] {
  const scheduled = new Map<string, number>();
  return rows.filter((f) => {
    if (f.tag >= tagBase) return true;
    const k = scheduled.get(f.policy) ?? 0;
    scheduled.set(f.policy, k + 1);
    return k < replayed;
  });
}

/**
 * The sim-vs-emulation comparison, into the results directory being written (`tmp`). The emulation replays the
 * simulator's scheduled flows 0 .. flows.length-1 (arrival order) and runs the applications live: those only are
 * compared ({@link emulatedSimFlows}). sim-vs-emulation.{json,csv} and
 * its plot compare the first model; sim-models-vs-emulation.{json,csv} puts every model side by side.
 */
async function writeSimComparison(
  tmp: string,
  sims: readonly SimRun[],
  scenario: Scenario,
  pre: Preflight,
): Promise<void> {
  const emuRows = readFlowsCsv(join(tmp, "flows.csv"));
  const buckets = readSizeBuckets(tmp) ?? {
    edges: scenario.metrics.sizeBucketEdges,
    names: scenario.metrics.sizeBucketNames,
  };
  const emuLinks = readCsv(join(tmp, "links.csv"));
  const runs: ModelRun[] = sims.map((s) => {
    const simRows = emulatedSimFlows(
      readFlowsCsv(join(s.dir, "flows.csv")), // by policy, then flow id
      pre.flows.length,
      scenario.applications ? applicationTagBase(scenario.topology.nodeCount) : Number.POSITIVE_INFINITY,
    );
    const comparison = compareFlows(simRows, emuRows, buckets);
    comparison.links = compareLinks(
      readCsv(join(s.dir, "links.csv")),
      emuLinks,
      pre.windowNs,
      egressCostPerGB(scenario.topology),
    );
    return { model: s.model, comparison, simRows };
  });
  const first = runs[0];
  if (!first) return;
  await writeComparison(tmp, first.comparison, first.simRows, emuRows);
  writeModelComparison(tmp, compareModels(runs, emuRows));
  // The intent mesh's requests one by one, against the first model's (experiments/sim-vs-emulation/requests.ts).
  const [simRequests, emuRequests] = [join(sims[0]!.dir, "requests.csv"), join(tmp, "requests.csv")];
  if (existsSync(simRequests) && existsSync(emuRequests)) {
    const rows = compareRequests(simRequests, emuRequests);
    writeFileSync(join(tmp, "sim-vs-emulation-requests.csv"), requestComparisonCsv(rows));
  }
}

/** "median m, range a..b" of measured / configured ratios, or null when there are none. */
function ratioSummary(ratios: number[]): string | null {
  if (ratios.length === 0) return null;
  const s = [...ratios].sort((a, b) => a - b);
  return `median ${s[s.length >> 1]!.toFixed(2)}, range ${s[0]!.toFixed(2)}..${s.at(-1)!.toFixed(2)}`;
}

/**
 * Why the simulator's results in `dir` are not of this workload (its first policy's flows differ from the flows
 * the emulation replays: another config, seed or code), or null when they are.
 */
async function staleSimulation(
  dir: string,
  nodes: readonly { id: string }[],
  flows: readonly FlowArrival[],
): Promise<string | null> {
  let rows: Awaited<ReturnType<typeof readFlowsCsv>>;
  try {
    rows = readFlowsCsv(join(dir, "flows.csv"));
  } catch (e) {
    return (e as Error).message;
  }
  const first = rows[0]?.policy;
  const byId = new Map(rows.filter((r) => r.policy === first).map((r) => [r.flow, r]));
  let missing = 0;
  for (const f of flows) {
    const r = byId.get(f.id);
    if (!r) {
      missing++; // a flow the simulation never finished (stalled on a link that stayed down)
      continue;
    }
    if (
      r.src !== nodes[f.src]!.id ||
      r.dst !== nodes[f.dst]!.id ||
      r.sizeBytes !== f.sizeBytes ||
      r.startNs !== f.startNs
    )
      return `flow ${f.id} differs there (another config, seed or version)`;
  }
  return missing > 0.1 * flows.length ? `${missing} of the ${flows.length} flows are missing there` : null;
}

/**
 * `scenario` with TCP start-up as the emulator's TCP has it in simulated bytes (segments of 1448 x timeCompression /
 * rateScale, see {@link simulatorBeside}): what the emulated runs' summary reads where it counts a flow's start-up
 * round trips (experiments/intent-satisfaction.ts). Unchanged without TCP start-up or scaling.
 */
export function asEmulatedTcp(scenario: Scenario, s: EmulationRunSettings): Scenario {
  const tcp = scenario.transport.tcp;
  const factor = s.timeCompression / s.rateScale;
  if (tcp === null || factor === 1) return scenario;
  const mssBytes = Math.max(1, Math.round(tcp.mssBytes * factor));
  return { ...scenario, transport: { ...scenario.transport, tcp: { ...tcp, mssBytes } } };
}

/**
 * The simulation an emulation is compared with. Packets do not scale: the emulator's TCP sends 1448-byte segments of
 * emulated bytes, which are 1448 x c / r simulated bytes (c = timeCompression, r = rateScale), so its initial window
 * and slow-start rounds cover that many times more of every flow than Linux's do at full scale. The simulator beside
 * it runs TCP start-up with that segment size (transport.tcp.mss), so the comparison measures the models, not the
 * scaling; `topocast run` on the same config keeps the configured segment (the unscaled network's answer).
 */
export function simulatorBeside(
  loaded: LoadedConfig,
  s: EmulationRunSettings,
): { loaded: LoadedConfig; dir: (run: number) => string; note: string | null } {
  const tcp = loaded.config.transport.tcp;
  const factor = s.timeCompression / s.rateScale;
  if (tcp === false || factor === 1) {
    return { loaded, dir: (run) => defaultRunDir(loaded, run), note: null };
  }
  const mss = parseSizeBytes(tcp.mss);
  const scaled = Math.max(1, Math.round(mss * factor));
  const set = [...(loaded.options.set ?? []), `transport.tcp.mss=${scaled}B`];
  let note = `the simulator beside the emulation runs TCP with the emulator's segments in simulated bytes: ${mss} B x timeCompression / rateScale = ${scaled} B (initial window ${formatSize(scaled * tcp.initialWindow)}); packets do not scale`;
  // A buffer of packets holds emulated frames: in simulated bytes, as many of the scaled frames.
  const packets = /^(\d+)p$/.exec(String(loaded.config.transport.queue));
  if (packets) {
    const bytes = Math.round(Number(packets[1]) * FRAME_BYTES * factor);
    set.push(`transport.queue=${bytes}B`);
    note += `; its queues' ${packets[1]}-packet buffers are ${bytes} B`;
  }
  return {
    loaded: parseConfig(loaded.text, loaded.file, loaded.baseDir, { ...loaded.options, set }),
    dir: (run) => `${defaultRunDir(loaded, run)}-as-emulated`,
    note,
  };
}
