/**
 * The recording decorator: a ControlPlane that turns every action (a verb of kind "action" in the verb table)
 * into a typed {@link ActionRecord} — when it was called, its arguments by name in a serializable form, how it
 * ended, its setup-latency key and configured value, and its wall-clock latency where a wall clock is given — and
 * hands it to a sink when the action settles. Queries pass through unrecorded. The records are what results'
 * `actions.csv` holds (experiments/actions-csv.ts formats them).
 *
 * Time comes from an injected clock (the simulator's `now`, the emulator's controller clock), never from the
 * system, so a simulated run's records are deterministic; wall latency is measured only with an injected wall
 * clock (the emulator's), and is absent otherwise.
 */
import { decorate, whenSettled } from "./verb-decorator.ts";
import {
  type ActionKindOf,
  type ControlPlaneOf,
  type NamedArgsOf,
  namedArgs,
  type ResultOf,
  type SetupLatenciesOf,
  type SetupLatencyKeyOf,
  type VerbTable,
} from "./verb-table.ts";
import { type ControlPlane, VERBS, type Verbs } from "./verbs.ts";

/** What every action record holds, whatever the verb. */
export interface ActionRecordBase<K extends string = string> {
  /** When the action was called, ns on the injected clock (simulated time in the simulator). */
  timeNs: number;
  outcome: "ok" | "error";
  /** The error's class name (e.g. PoolExhaustedError) and message, when the outcome is "error". */
  error?: { name: string; message: string };
  /**
   * The verb's setup-latency key and its configured value, ns (null when the recorder was given none), or null
   * for a verb without setup latency.
   */
  setupLatency: { key: K; ns: number | null } | null;
  /** Wall-clock time from the call until it settled, ns, when the recorder has a wall clock. */
  wallNs?: number;
}

/** One action of a table's verbs: its verb, its arguments by name, its result when it succeeded. */
export type ActionRecordOf<T extends VerbTable> = {
  [K in ActionKindOf<T>]: ActionRecordBase<SetupLatencyKeyOf<T>> & {
    verb: K;
    args: NamedArgsOf<T[K]>;
    result?: ResultOf<T[K]>;
  };
}[ActionKindOf<T>];

/** One action of the production verbs. */
export type ActionRecord = ActionRecordOf<Verbs>;

export interface RecordingOptions<T extends VerbTable> {
  /** Receives each action's record when the action settles. */
  sink: (record: ActionRecordOf<T>) => void;
  /** The time actions are stamped with, ns. */
  clockNs: () => number;
  /** A wall clock, ns (e.g. from `process.hrtime.bigint()`); records then carry `wallNs`. */
  wallClockNs?: () => number;
  /** The configured setup latencies, ns, recorded with each action that has one. */
  setupLatencyNs?: Partial<SetupLatenciesOf<T>>;
}

/**
 * A deep copy of plain data for a record: object keys sorted, `undefined` fields dropped, arrays kept; so a
 * record serializes the same whatever order the caller built its objects in, and later mutation by the caller
 * does not reach it.
 */
export function plainCopy(x: unknown): unknown {
  if (Array.isArray(x)) return x.map(plainCopy);
  if (typeof x !== "object" || x === null) return x;
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(x).sort()) {
    const v = (x as Record<string, unknown>)[k];
    if (v !== undefined) out[k] = plainCopy(v);
  }
  return out;
}

function errorOf(e: unknown): { name: string; message: string } {
  return e instanceof Error ? { name: e.name, message: e.message } : { name: "Error", message: String(e) };
}

/** Records the production verbs' actions of `inner`. */
export function recording(inner: ControlPlane, opts: RecordingOptions<Verbs>): ControlPlane;
/** Records the actions of `inner`, whose verbs `table` declares (a test's extended table, for instance). */
export function recording<T extends VerbTable>(
  inner: ControlPlaneOf<T>,
  opts: RecordingOptions<T>,
  table: T,
): ControlPlaneOf<T>;
export function recording<T extends VerbTable>(
  inner: ControlPlaneOf<T>,
  opts: RecordingOptions<T>,
  table: T = VERBS as VerbTable as T,
): ControlPlaneOf<T> {
  return decorate(table, inner, (verb, decl, args, call) => {
    if (decl.kind !== "action") return call(args);
    const timeNs = opts.clockNs();
    const wall0 = opts.wallClockNs?.();
    const named = plainCopy(namedArgs(decl, args));
    const key = decl.latency?.key as SetupLatencyKeyOf<T> | undefined;
    const setupLatency =
      key === undefined ? null : { key, ns: (opts.setupLatencyNs?.[key] as number | undefined) ?? null };
    return whenSettled(
      () => call(args),
      (s) => {
        const record: ActionRecordBase & { verb: string; args: unknown; result?: unknown } = {
          timeNs,
          verb,
          args: named,
          outcome: s.ok ? "ok" : "error",
          setupLatency,
        };
        if (s.ok && s.value !== undefined) record.result = plainCopy(s.value);
        if (!s.ok) record.error = errorOf(s.error);
        if (wall0 !== undefined) record.wallNs = opts.wallClockNs!() - wall0;
        opts.sink(record as ActionRecordOf<T>);
      },
    );
  });
}
