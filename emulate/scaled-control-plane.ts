/**
 * The scaling decorator: a policy's calls are in simulated units; the emulated network runs scaled (emulate/
 * engine.ts: c = timeCompression, r = rateScale; link rates x r, delays / c, flow sizes x r / c). Every argument
 * field the verb table (models/policies/verbs.ts) marks with a unit is rescaled on its way in:
 *
 * - rates (bits/s) x r, exactly (a reserved or limited rate keeps its share of the scaled links);
 * - durations (ns) / c, rounded to integer ns (wall time runs c times faster than simulated time);
 * - sizes (bytes, volumes) x r / c, rounded, at least 1 byte when positive (as flow sizes are).
 *
 * Fields without a unit (node ids, paths, priorities, counts; packet sizes such as an MTU, which do not scale)
 * pass unchanged, as do null and absent values. Because the units come from the table, a new verb is scaled
 * without code here. Results of verbs are passed back unchanged (no verb answers with a quantity today).
 */
import type { ControlPlane, VirtualLinkInfo } from "../models/policies/types.ts";
import { decorate } from "../models/policies/verb-decorator.ts";
import type { ControlPlaneOf, Unit, UnitSpec, VerbTable } from "../models/policies/verb-table.ts";
import { VERBS, type Verbs } from "../models/policies/verbs.ts";
import type { EmulationControlPlane, ObservedVerbs } from "./control-plane.ts";

/** How the emulated network is scaled against the simulated one. */
export interface ScaleFactors {
  /** r: emulated rate / simulated rate. */
  rateScale: number;
  /** c: simulated time / wall time. */
  timeCompression: number;
}

/** A simulated quantity of `unit` in the emulated network's units. */
export function scaleQuantity(unit: Unit, x: number, f: ScaleFactors): number {
  switch (unit) {
    case "bps":
      return x * f.rateScale;
    case "ns":
      return Math.round(x / f.timeCompression);
    case "bytes":
      return x > 0 ? Math.max(1, Math.round((x * f.rateScale) / f.timeCompression)) : x;
  }
}

/** An argument value with the fields its unit spec names rescaled (a copy; the caller's value is untouched). */
export function scaleArg(spec: UnitSpec | undefined, value: unknown, f: ScaleFactors): unknown {
  if (spec === undefined || value === null || value === undefined) return value;
  if (typeof spec === "string") return typeof value === "number" ? scaleQuantity(spec, value, f) : value;
  if (typeof value !== "object" || Array.isArray(value)) return value;
  const out: Record<string, unknown> = { ...(value as Record<string, unknown>) };
  for (const [field, sub] of Object.entries(spec)) {
    if (field in out) out[field] = scaleArg(sub, out[field], f);
  }
  return out;
}

/** Scales the production verbs' arguments of calls into `inner`. */
export function scaling(inner: ControlPlane, f: ScaleFactors): ControlPlane;
/** Scales the arguments of the verbs `table` declares (a test's extended table, for instance). */
export function scaling<T extends VerbTable>(
  inner: ControlPlaneOf<T>,
  f: ScaleFactors,
  table: T,
): ControlPlaneOf<T>;
export function scaling<T extends VerbTable>(
  inner: ControlPlaneOf<T>,
  f: ScaleFactors,
  table: T = VERBS as VerbTable as T,
): ControlPlaneOf<T> {
  return decorate(table, inner, (_verb, decl, args, call) =>
    call(args.map((a, i) => scaleArg(decl.args[i]?.unit, a, f))),
  );
}

/**
 * The verbs' Observation parts in simulated units: RTTs x c (wall time runs c times faster), available rates / r,
 * mirrored bytes x c / r (the inverse of a size's scaling), QoS classes' rates / r. Times (`timeNs`) come from the
 * control plane's clock, which is simulated already; the firewall's counts come from the flow ledger, which counts
 * the schedule's flows in simulated bytes, and pass as they are.
 */
export function unscaleObserved(v: ObservedVerbs, f: ScaleFactors): ObservedVerbs {
  const rate = (bps: number | null) => (bps === null ? null : bps / f.rateScale);
  return {
    probes: v.probes.map((p) => ({
      ...p,
      rttNs: p.rttNs === null ? null : Math.round(p.rttNs * f.timeCompression),
      availableBps: rate(p.availableBps),
    })),
    mirrors: v.mirrors.map((m) =>
      m.mirroredBytes === undefined
        ? m
        : { ...m, mirroredBytes: Math.round((m.mirroredBytes * f.timeCompression) / f.rateScale) },
    ),
    ...(v.qos
      ? { qos: v.qos.map((q) => ({ ...q, rateBps: rate(q.rateBps), ceilBps: rate(q.ceilBps) })) }
      : {}),
    firewall: v.firewall,
  };
}

/**
 * What the emulation engine hands a policy: the emulation ControlPlane with its arguments scaled into the
 * emulated network, plus its virtual links back in simulated units (rates / r) with the active flows the engine
 * counts per link (`activeFlows(id)`), and the observed probes and mirrors in simulated units
 * (`observeVerbs`, see {@link unscaleObserved}). The drop-in for the engine's former `ScaledControlPlane`.
 */
export function scaledControlPlane(
  ctl: EmulationControlPlane,
  f: ScaleFactors,
  activeFlows: (virtualLink: string) => number,
): ControlPlaneOf<Verbs> & {
  virtualLinks(): VirtualLinkInfo[];
  observeVerbs(consume: boolean, endedFlows?: (src: string, dst: string) => number): ObservedVerbs;
} {
  const virtualLinks = (): VirtualLinkInfo[] =>
    ctl.virtualLinks().map((v) => ({
      ...v,
      rateBps: v.rateBps === null ? null : v.rateBps / f.rateScale,
      activeFlows: activeFlows(v.id),
    }));
  const observeVerbs = (consume: boolean, endedFlows?: (src: string, dst: string) => number) =>
    unscaleObserved(ctl.observeVerbs(consume, endedFlows), f);
  return Object.assign(scaling(ctl, f), { virtualLinks, observeVerbs });
}

/** The ControlPlane the emulation engine hands a policy (see {@link scaledControlPlane}). */
export type ScaledControlPlane = ReturnType<typeof scaledControlPlane>;
