/**
 * Checks of a config that need more than its schema (node counts, the traffic matrix's extent, the simulated
 * horizon), run while the scenario is built, so `topocast validate` refuses everything `topocast run` would, before
 * anything large is allocated or simulated. Each check throws a ConfigError located at the field responsible.
 *
 * Sizes. Generated topologies have at most {@link MAX_NODES} nodes; a synthetic traffic matrix at most
 * {@link MAX_TM_VALUES} rates (intervals x nodes^2, 8 bytes each); metrics and control loops at most
 * {@link MAX_STEPS} samples or rounds over the horizon. Real runs are far below these (Abilene's SNDlib week: 2,016
 * intervals x 144 pairs); a config above them is a slip (`n: 1e12`, a 1 ns interval, a window 100000 days in).
 */

import type { VerbOption } from "../../models/policies/definition.ts";
import type { ActionKind } from "../../models/policies/verbs.ts";
import { unsupportedVerbOptions, unsupportedVerbs } from "../../sim/control/control-plane.ts";
import type { EnginePolicy, LinkEvent } from "../../sim/engine/types.ts";
import { TRANSPORT_CAPABILITIES, type TransportModel } from "../../sim/transport/models.ts";
import { formatDuration, parseDurationNs } from "../../sim/units.ts";
import type { ConfigError } from "./load.ts";
import type { ExperimentConfig } from "./schema.ts";

/** Builds a ConfigError at a config path (LoadedConfig["error"]). */
type Locate = (path: readonly PropertyKey[], message: string) => ConfigError;

export const MAX_NODES = 10_000;
export const MAX_TM_VALUES = 50_000_000;
export const MAX_STEPS = 10_000_000;

type Generator = NonNullable<ExperimentConfig["topology"]["generator"]>;

/** Nodes a generator makes (switches and hosts). */
export function generatedNodeCount(g: Generator): number {
  switch (g.kind) {
    case "line":
    case "ring":
      return g.n;
    case "star":
      return g.leaves + 1;
    case "grid":
      return g.rows * g.cols;
    case "fatTree":
      return (5 * g.k * g.k) / 4 + (g.hosts ? (g.k * g.k * g.k) / 4 : 0);
    case "leafSpine":
      return g.spines + g.leaves * (1 + g.hostsPerLeaf);
  }
}

/** Refuses a generator of more than {@link MAX_NODES} nodes, before it allocates them. */
export function checkGeneratorSize(
  g: Generator,
  error: Locate,
  path: (string | number)[] = ["topology", "generator"],
): void {
  const n = generatedNodeCount(g);
  if (n > MAX_NODES) {
    throw error(path, `a ${g.kind} of ${n} nodes is more than topocast simulates (at most ${MAX_NODES})`);
  }
}

/**
 * Refuses a synthetic traffic matrix of more than {@link MAX_TM_VALUES} rates before it is generated: the gravity
 * series covers TM time [0, window end) in `tm.interval` steps, the uniform one is a single interval.
 */
export function checkTmSize(
  c: ExperimentConfig,
  nodes: number,
  startNs: number,
  endNs: number,
  error: Locate,
) {
  const tm = c.workload.tm;
  if (tm.kind !== "gravity" && tm.kind !== "uniform") return;
  const intervalNs = tm.kind === "gravity" ? parseIntervalNs(tm.interval) : Math.max(1, endNs);
  const intervals = Math.max(1, Math.ceil(endNs / intervalNs));
  const values = intervals * nodes * nodes;
  if (values <= MAX_TM_VALUES) return;
  const startHeavy = tm.kind === "gravity" && startNs / intervalNs > intervals / 2;
  throw error(
    startHeavy
      ? ["workload", "window", "start"]
      : tm.kind === "gravity"
        ? ["workload", "tm", "interval"]
        : ["topology"],
    `the ${tm.kind} traffic matrix would hold ${intervals} interval(s) x ${nodes}^2 node pairs = ${values.toExponential(2)} rates, more than ${MAX_TM_VALUES.toExponential(0)}; ${startHeavy ? "start the window earlier" : tm.kind === "gravity" ? "use a longer interval or a shorter window" : "use a smaller topology"}`,
  );
}

/** Refuses metrics sampling or control rounds of more than {@link MAX_STEPS} over the simulated horizon. */
export function checkSteps(
  c: ExperimentConfig,
  horizonNs: number,
  controlLoop: boolean,
  error: Locate,
): void {
  const steps: [PropertyKey[], string, string][] = [[["metrics", "interval"], c.metrics.interval, "samples"]];
  if (controlLoop) steps.push([["control", "interval"], c.control.interval, "control rounds"]);
  for (const [path, interval, what] of steps) {
    const n = Math.ceil(horizonNs / parseIntervalNs(interval));
    if (n > MAX_STEPS) {
      throw error(
        path,
        `${interval} over the ${formatDuration(horizonNs)} simulated would make ${n.toExponential(2)} ${what}, more than ${MAX_STEPS.toExponential(0)}; use a longer interval`,
      );
    }
  }
}

/**
 * Refuses a window that ends after the traffic matrix's data (it would be cut short silently): `coveredNs` is the
 * end of the series' last interval, TM time.
 */
export function checkWindowInData(
  c: ExperimentConfig,
  endNs: number,
  coveredNs: number,
  source: string,
  error: Locate,
): void {
  if (endNs <= coveredNs) return;
  const w = c.workload.window;
  throw error(
    ["workload", "window", "duration"],
    `the window [${w.start}, +${w.duration}) ends at ${formatDuration(endNs)} of traffic-matrix time, after the data: ${source} ends at ${formatDuration(coveredNs)}; shorten the window or start it earlier`,
  );
}

/**
 * Refuses failures the run could not honour: an event at or after the end of the simulated traffic, a link going
 * down when it is down or up when it is up and not degraded (links start up), a degradation of a link that is down,
 * and two events on one link at the same time.
 * `events[i]` is `failures[i]` resolved to directed links; `linkName` names a link index.
 */
export function checkFailures(
  events: readonly LinkEvent[],
  horizonNs: number,
  linkName: (link: number) => string,
  error: Locate,
): void {
  events.forEach((f, i) => {
    if (f.atNs >= horizonNs) {
      throw error(
        ["failures", i, "at"],
        `${formatDuration(f.atNs)} is not before the end of the simulated traffic (${formatDuration(horizonNs)}: the window as played); the event would never happen`,
      );
    }
  });
  const order = events.map((_, i) => i).sort((a, b) => events[a]!.atNs - events[b]!.atNs || a - b);
  const last = new Map<number, number>();
  for (const i of order) {
    const f = events[i]!;
    for (const link of f.links) {
      const j = last.get(link);
      const prev = j === undefined ? undefined : events[j]!;
      if (prev !== undefined && prev.atNs === f.atNs) {
        throw error(
          ["failures", i],
          `failures[${j}] and failures[${i}] both change ${linkName(link)} at ${formatDuration(f.atNs)}; give them different times`,
        );
      }
      const wasUp = prev === undefined || prev.up;
      const wasDegraded = prev?.quality !== undefined;
      if (f.quality && !wasUp) {
        throw error(
          ["failures", i, "state"],
          `${linkName(link)} is down at ${formatDuration(f.atNs)} (failures[${j}]); degrade a link that is up (bring it up first)`,
        );
      }
      if (wasUp === f.up && !f.quality && !(f.up && wasDegraded)) {
        throw error(
          ["failures", i, "state"],
          `${linkName(link)} is already ${f.up ? "up" : "down"} at ${formatDuration(f.atNs)} (${prev === undefined ? "links start up" : `failures[${j}] set it ${f.up ? "up" : "down"}`})`,
        );
      }
      last.set(link, i);
    }
  }
}

/** What an engine's ControlPlane cannot do, said before a run starts. */
export interface EngineVerbSupport {
  /** "the simulator (fluid transport)", "the emulator". */
  engine: string;
  /** Action verbs the engine cannot do, each with why. */
  unsupported: Partial<Record<ActionKind, string>>;
  /** Verb options the engine cannot carry out, each with why (absent: it can do every option of its verbs). */
  unsupportedOptions?: Partial<Record<VerbOption, string>>;
}

/** What a policy's use of a verb option asks for, in words. */
const OPTION_MEANS: Record<VerbOption, string> = {
  "createVirtualLink.rateBps": "createVirtualLink with rateBps (a virtual link with a reserved rate)",
};

/** What the simulator's control plane cannot do over a transport model (from the model's declared capabilities). */
export function simulatorVerbSupport(model: TransportModel): EngineVerbSupport {
  return {
    engine: `the simulator's ${model} transport`,
    unsupported: unsupportedVerbs(TRANSPORT_CAPABILITIES[model]),
    unsupportedOptions: unsupportedVerbOptions(TRANSPORT_CAPABILITIES[model]),
  };
}

/**
 * Refuses, before the run, a policy that may call a verb the engine cannot do (`policies[i].verbs`, declared by
 * its policy definition), so no action fails mid-run for that reason. (Secure virtual links are the emulator's
 * preflight's: they are a policy parameter, not a verb.)
 */
export function checkVerbs(
  policies: readonly Pick<EnginePolicy, "label" | "verbs" | "verbOptions">[],
  support: EngineVerbSupport,
  error: Locate,
): void {
  policies.forEach((p, i) => {
    for (const verb of p.verbs ?? []) {
      const why = support.unsupported[verb];
      if (why !== undefined) {
        throw error(
          ["policies", i, "name"],
          `policy ${p.label} calls ${verb}, which ${support.engine} cannot do: ${why}; run it in an engine that can, or leave the policy out`,
        );
      }
    }
    for (const use of p.verbOptions ?? []) {
      const why = support.unsupportedOptions?.[use.option];
      if (why !== undefined) {
        throw error(
          ["policies", i, "params", ...use.param.split(".")],
          `policy ${p.label}: this setting makes it call ${OPTION_MEANS[use.option]}, which ${support.engine} cannot do: ${why}; change the setting or run it in an engine that can`,
        );
      }
    }
  });
}

function parseIntervalNs(s: string): number {
  return Math.max(1, parseDurationNs(s));
}
