/**
 * The ControlPlane verbs, declared once. Everything else derives from this table: the {@link ControlPlane} type
 * policies call, the action kinds engines count ({@link ACTION_KINDS}), the setup latencies
 * ({@link SetupLatencies}, {@link DEFAULT_SETUP_LATENCIES}, the config's `control.setupLatency`), the action
 * records (models/policies/recording.ts), the emulator's rate and time scaling (emulate/scaled-control-plane.ts,
 * from the `unit` annotations) and the undo log (models/policies/journal.ts, from `undo`).
 *
 * Actions change network state: they count as overhead, may take a setup latency before they take effect (in the
 * simulator; the emulator runs real commands instead), and are recorded and journaled. Queries (`paths`,
 * `defaultPath`) only read: no latency, no record, nothing to undo; `defaultPath` stays a verb because it is the
 * controller's answer, not the policy's own computation. Every call can fail with a typed ControlError
 * (models/policies/types.ts).
 *
 * Adding a verb: one entry here (its signature, argument names with units, latency key if it has one, how to undo
 * it, a doc sentence), then its implementation in each engine's ControlPlane (TypeScript lists the engines that
 * lack it). docs/verbs.md walks through it.
 */
import { parseDurationNs } from "../../sim/units.ts";
import {
  type FirewallRule,
  type NodePath,
  type Pair,
  type QosMatch,
  type QosSpec,
  qosMatchKey,
  type VirtualLinkOptions,
} from "./verb-args.ts";
import {
  type ActionKindOf,
  actionKinds,
  type ControlPlaneOf,
  type JournalEntry,
  latencyDecls,
  recordOf,
  type SetupLatenciesOf,
  type SetupLatencyKeyOf,
  type Undo,
  type UndoContext,
  type VerbCall,
  verb,
} from "./verb-table.ts";

/** The last journaled call of `verb` for the same pair as `pair` (the pair is the first argument), if any. */
function previousForPair(
  earlier: readonly JournalEntry[],
  verbName: string,
  pair: Pair,
): JournalEntry | undefined {
  return earlier.findLast((e) => {
    const p = e.args[0] as Pair;
    return e.verb === verbName && p.src === pair.src && p.dst === pair.dst;
  });
}

/**
 * Undo of a per-pair setting `verb(pair, value)`: the pair's previous value from the journal, or `null` (the
 * engine's default) when the journal holds none.
 */
export function restorePrevious<V>(verbName: string): Undo<[Pair, V | null], void> {
  return ([pair], _result, ctx) => [
    { verb: verbName, args: [pair, previousForPair(ctx.earlier, verbName, pair)?.args[1] ?? null] },
  ];
}

/**
 * Undo of setQos(pair, qos, match): the previous class of the same pair and match from the journal, or `null` (no
 * such class) when the journal holds none. A pair's classes with different matches are separate settings.
 */
function undoQos(
  [pair, , match]: [Pair, QosSpec | null, QosMatch?],
  _result: unknown,
  ctx: UndoContext,
): VerbCall[] {
  const key = qosMatchKey(match);
  const previous = ctx.earlier.findLast((e) => {
    const p = e.args[0] as Pair;
    return (
      e.verb === "setQos" &&
      p.src === pair.src &&
      p.dst === pair.dst &&
      qosMatchKey(e.args[2] as QosMatch | undefined) === key
    );
  });
  return [{ verb: "setQos", args: [pair, previous?.args[1] ?? null, ...(match ? [match] : [])] }];
}

/** The fields a firewall rule matches on (every one absent: every flow). */
const FIREWALL_MATCH_FIELDS = ["src", "dst", "application", "port", "protocol"] as const;

/** Whether two firewall rules can match a common flow (a field absent in either matches every value). */
function overlaps(a: FirewallRule, b: FirewallRule): boolean {
  return FIREWALL_MATCH_FIELDS.every((f) => a[f] === undefined || b[f] === undefined || a[f] === b[f]);
}

/** `rule` narrowed to the flows `scope` matches (the two must overlap): `rule`'s action, each field from either. */
function within(rule: FirewallRule, scope: FirewallRule): FirewallRule {
  const out: FirewallRule = { action: rule.action };
  for (const f of FIREWALL_MATCH_FIELDS) {
    const v = rule[f] ?? scope[f];
    if (v !== undefined) (out as unknown as Record<string, unknown>)[f] = v;
  }
  return out;
}

/**
 * Undo of a firewall rule: allow its scope again (no rule: every flow allowed), then re-apply, in order, the
 * journaled rules before it that overlap the scope, each narrowed to the scope, so every flow in the scope ends as
 * the last earlier rule matching it says and no flow outside it changes.
 */
function undoFirewall([rule]: [FirewallRule], _result: unknown, ctx: UndoContext): VerbCall[] {
  const scope = within({ action: "allow" }, rule);
  const replay = ctx.earlier.flatMap((e) =>
    e.verb === "setFirewall" && overlaps(e.args[0] as FirewallRule, rule)
      ? [{ verb: e.verb, args: [within(e.args[0] as FirewallRule, rule)] }]
      : [],
  );
  return [{ verb: "setFirewall", args: [scope] }, ...replay];
}

/**
 * Undo of removeVirtualLink: re-create the link with the arguments it was created with (a new id, which the
 * journal maps the old one to; a fresh setup latency; without an explicit path the engine chooses again).
 * Irreversible when the journal did not see its creation.
 */
function undoRemove([id]: [string], _result: unknown, ctx: UndoContext): VerbCall[] | "irreversible" {
  const created = ctx.earlier.findLast((e) => e.verb === "createVirtualLink" && e.result === id);
  return created ? [{ verb: "createVirtualLink", args: created.args, renames: id }] : "irreversible";
}

/** The production verb table (see the module doc). Order matters: it orders the action counters in results. */
export const VERBS = {
  /** Creates a virtual link src -> dst. @returns its id. @throws PoolExhaustedError, NoPathError, UnknownNodeError, LinkDownError, InsufficientCapacityError */
  createVirtualLink: verb<(src: string, dst: string, opts?: VirtualLinkOptions) => string>()({
    kind: "action",
    args: [{ name: "src" }, { name: "dst" }, { name: "opts", unit: { rateBps: "bps" } }],
    latency: { key: "virtualLink", default: "50ms", doc: "Time until a new virtual link carries traffic." },
    undo: (_args, id, ctx) => [{ verb: "removeVirtualLink", args: [ctx.idOf(id)] }],
    doc: "Creates a virtual link from src to dst (optionally on a given path, with a reserved rate, secure); returns its id.",
  }),
  /** Removes a virtual link; its flows move to the default route. */
  removeVirtualLink: verb<(id: string) => void>()({
    kind: "action",
    args: [{ name: "id" }],
    undo: undoRemove,
    doc: "Removes a virtual link; its flows move to the pair's route or the default route.",
  }),
  /** Pins a pair's default route; `null` restores the engine's default. */
  setRoute: verb<(pair: Pair, path: NodePath | null) => void>()({
    kind: "action",
    args: [{ name: "pair" }, { name: "path" }],
    latency: { key: "route", default: "10ms", doc: "Time until a route change takes effect." },
    undo: restorePrevious<NodePath>("setRoute"),
    doc: "Pins a pair's route to a path; null restores the engine's default route.",
  }),
  /** Mirrors a pair's traffic onto a second path; `null` removes the mirror. */
  mirror: verb<(pair: Pair, path: NodePath | null) => void>()({
    kind: "action",
    args: [{ name: "pair" }, { name: "path" }],
    latency: { key: "mirror", default: "10ms", doc: "Time until a mirror takes effect." },
    undo: restorePrevious<NodePath>("mirror"),
    doc: "Mirrors a pair's traffic onto a second path; null removes the mirror.",
  }),
  /**
   * Sets a pair's QoS class (priority, guaranteed rate and ceiling in bits/s); `null` removes it. With `match`, the
   * class holds only the pair's flows it matches (an application's, by its server port), ahead of the pair's class
   * without one; a pair may have one class per match. @throws InsufficientCapacityError
   */
  setQos: verb<(pair: Pair, qos: QosSpec | null, match?: QosMatch) => void>()({
    kind: "action",
    args: [{ name: "pair" }, { name: "qos", unit: { rateBps: "bps", ceilBps: "bps" } }, { name: "match" }],
    latency: { key: "qos", default: "10ms", doc: "Time until a QoS change takes effect." },
    undo: undoQos,
    doc: "Sets a pair's QoS class (priority, guaranteed rate and ceiling in bits/s, htb's meaning), or with a match (server port, protocol) the class of the pair's flows it matches; null removes it.",
  }),
  /** Adds a firewall rule (allow or deny the new flows it matches). */
  setFirewall: verb<(rule: FirewallRule) => void>()({
    kind: "action",
    args: [{ name: "rule" }],
    latency: { key: "firewall", default: "10ms", doc: "Time until a firewall rule takes effect." },
    undo: undoFirewall,
    doc: "Allows or denies the new flows a rule matches (by endpoints, application, port, protocol; absent fields match any); the last matching rule decides.",
  }),
  /** Sends a probe; its result appears in a later Observation's `probes`. */
  probe: verb<(path: NodePath) => void>()({
    kind: "action",
    args: [{ name: "path" }],
    undo: null,
    doc: "Sends a probe along a path; its result (RTT, available bandwidth) appears in a later observation.",
  }),
  /**
   * Up to `k` loopless paths from `src` to `dst` over links that are up, shortest first by propagation delay
   * (Yen's k-shortest paths): the path service a controller offers, so policies need not carry a graph library.
   * @throws UnknownNodeError
   */
  paths: verb<(src: string, dst: string, k: number) => NodePath[]>()({
    kind: "query",
    args: [{ name: "src" }, { name: "dst" }, { name: "k" }],
    doc: "Up to k loopless paths from src to dst over links that are up, shortest first by propagation delay (Yen).",
  }),
  /** The path a new flow of the pair takes when no virtual link, route or mirror applies; null when none. */
  defaultPath: verb<(src: string, dst: string) => NodePath | null>()({
    kind: "query",
    args: [{ name: "src" }, { name: "dst" }],
    doc: "The path a new flow of the pair takes when no virtual link or route applies; null when there is none.",
  }),
} as const;

/** The production table's type. */
export type Verbs = typeof VERBS;

/**
 * The controller verbs, engine-neutral: one method per {@link VERBS} entry. Every call can fail with a typed
 * ControlError; in the simulator an action takes effect after its setup latency and counts as overhead, in
 * emulation it runs real commands.
 */
export type ControlPlane = ControlPlaneOf<Verbs>;

/** The mutating verbs, counted per kind in the results' `overhead.actions`. */
export type ActionKind = ActionKindOf<Verbs>;

/** The action verbs in table order (the order of `overhead.actions`). */
export const ACTION_KINDS: readonly ActionKind[] = Object.freeze(actionKinds(VERBS));

/** A setup-latency key (`control.setupLatency.<key>` in configs). */
export type SetupLatencyKey = SetupLatencyKeyOf<Verbs>;

/** Setup latency per key, integer ns. */
export type SetupLatencies = SetupLatenciesOf<Verbs>;

/** The setup-latency declarations (key, default, doc), one per key in table order: the config schema's fields. */
export const SETUP_LATENCY_DECLS = Object.freeze(latencyDecls(VERBS));

/** The setup-latency keys in table order. */
export const SETUP_LATENCY_KEYS: readonly SetupLatencyKey[] = Object.freeze(
  SETUP_LATENCY_DECLS.map((d) => d.key),
);

/** The default setup latencies, ns (the config's defaults). */
export const DEFAULT_SETUP_LATENCIES: Readonly<SetupLatencies> = Object.freeze(
  recordOf(SETUP_LATENCY_KEYS, (k) => parseDurationNs(SETUP_LATENCY_DECLS.find((d) => d.key === k)!.default)),
);

/** The setup-latency key of an action verb, or undefined when it has none. */
export function setupLatencyKey(kind: ActionKind): SetupLatencyKey | undefined {
  const d = VERBS[kind];
  return "latency" in d ? d.latency.key : undefined;
}

/** A record with one value per action kind, in table order (zeroed counters, for instance). */
export function perActionKind<V>(value: (kind: ActionKind) => V): Record<ActionKind, V> {
  return recordOf(ACTION_KINDS, value);
}
