/**
 * The language of the verb table (models/policies/verbs.ts): how one ControlPlane verb is declared, and the types
 * TypeScript derives from a table of such declarations — the ControlPlane's method signatures, the action kinds,
 * the setup-latency keys, the per-action record's named arguments. Generic over the table, so a test can extend
 * the production table with a verb of its own and get every derivation and decorator for it.
 *
 * A declaration is plain data plus its TypeScript signature, given once to {@link verb}:
 *
 * ```ts
 * setRoute: verb<(pair: Pair, path: NodePath | null) => void>()({
 *   kind: "action",
 *   args: [{ name: "pair" }, { name: "path" }],
 *   latency: { key: "route", default: "10ms", doc: "Time until a route change takes effect." },
 *   undo: restorePrevious("setRoute"),
 *   doc: "Pins a pair's default route; null restores the engine's default.",
 * })
 * ```
 */

/** Units of the argument fields an engine may rescale: bits/s, bytes (volumes), integer ns (durations). */
export type Unit = "bps" | "bytes" | "ns";

/** A unit for a number argument, or per field of an object argument (nested objects allowed). */
export type UnitSpec = Unit | { readonly [field: string]: UnitSpec };

/** One positional argument: its name in records and, for numbers that scale, their unit. */
export interface ArgDecl {
  readonly name: string;
  readonly unit?: UnitSpec;
}

/** A setup latency: the config key (`control.setupLatency.<key>`), its default as a config string and its doc. */
export interface LatencyDecl {
  readonly key: string;
  /** A duration string such as `"10ms"`, as the config accepts. */
  readonly default: string;
  readonly doc: string;
}

/** A successful, journaled action: what undo functions see. */
export interface JournalEntry {
  readonly verb: string;
  readonly args: readonly unknown[];
  readonly result: unknown;
}

/** A call an undo function asks for; `renames`: the call's result is the new id of this (virtual link) id. */
export interface VerbCall {
  readonly verb: string;
  readonly args: readonly unknown[];
  readonly renames?: string;
}

/** What an undo function may consult. */
export interface UndoContext {
  /** The journaled actions before the one being undone, oldest first. */
  readonly earlier: readonly JournalEntry[];
  /** The current id of an object the journal re-created under a new id (else the id itself). */
  idOf(id: string): string;
}

/**
 * How to undo an action: the calls that restore the state it changed, or `"irreversible"` when the journal
 * cannot know the previous state (then rollback refuses before changing anything).
 */
export type Undo<A, R> = (args: A, result: R, ctx: UndoContext) => readonly VerbCall[] | "irreversible";

interface DeclBase {
  readonly args: readonly ArgDecl[];
  /** One sentence for docs/verbs.md and the ControlPlane's doc. */
  readonly doc: string;
}

/** A verb that changes network state: counted, recorded, journaled; may have a setup latency. */
export interface ActionDecl<A = never, R = never> extends DeclBase {
  readonly kind: "action";
  readonly latency?: LatencyDecl;
  /** How to undo it; `null`: nothing to undo (the action leaves no state, like a probe). */
  readonly undo: Undo<A, R> | null;
}

/** A verb that only reads (paths, default path): not an action, no setup latency, not recorded or journaled. */
export interface QueryDecl extends DeclBase {
  readonly kind: "query";
}

export type VerbDecl<A = never, R = never> = ActionDecl<A, R> | QueryDecl;

/** Any function type: the shape of a verb's TypeScript signature. */
export type AnyFn = (...args: never[]) => unknown;

/** A declaration carrying its signature (type only: the field is never set). */
export type Typed<F extends AnyFn> = { readonly signature?: F };

/** A verb table: declarations by verb name, each made by {@link verb}. */
export type VerbTable = { readonly [verb: string]: VerbDecl<never> & Typed<AnyFn> };

/** Whether the names declared for a verb's arguments are as many as its signature has parameters. */
type SameArity<N extends readonly ArgDecl[], F extends AnyFn> = Required<
  Parameters<F>
>["length"] extends N["length"]
  ? unknown
  : { readonly argsDoNotMatchSignature: never };

/**
 * Declares a verb with signature `F` (what the ControlPlane method takes and returns; an action's result may also
 * come as a Promise). The declaration's `args` must name every parameter of `F`; its `undo` receives `F`'s
 * parameters and result.
 */
export function verb<F extends AnyFn>() {
  return <const D extends VerbDecl<Parameters<F>, Awaited<ReturnType<F>>>>(
    decl: D & SameArity<D["args"], F>,
  ): D & Typed<F> => decl as D & Typed<F>;
}

type SignatureOf<D> = D extends Typed<infer F> ? F : never;

/** A declared verb's ControlPlane method: an action may answer synchronously or with a Promise. */
export type VerbMethod<D> =
  D extends ActionDecl<never>
    ? (
        ...args: Parameters<SignatureOf<D>>
      ) => ReturnType<SignatureOf<D>> | Promise<ReturnType<SignatureOf<D>>>
    : SignatureOf<D>;

/** The ControlPlane a table describes: one method per verb. */
export type ControlPlaneOf<T extends VerbTable> = { -readonly [K in keyof T]: VerbMethod<T[K]> };

/** The action verbs of a table (mutating verbs; queries excluded). */
export type ActionKindOf<T extends VerbTable> = {
  [K in keyof T]: T[K] extends ActionDecl<never> ? K : never;
}[keyof T] &
  string;

/** The setup-latency keys a table declares. */
export type SetupLatencyKeyOf<T extends VerbTable> = {
  [K in keyof T]: T[K] extends { readonly latency: { readonly key: infer L extends string } } ? L : never;
}[keyof T];

/** Setup latency per key, integer ns. */
export type SetupLatenciesOf<T extends VerbTable> = Record<SetupLatencyKeyOf<T>, number>;

type Simplify<O> = { [K in keyof O]: O[K] } & {};

/** Zips argument names with parameter types: `{ src: string; dst: string; opts?: VirtualLinkOptions }`. */
type Named<N extends readonly ArgDecl[], P extends readonly unknown[]> = N extends readonly [
  infer H extends ArgDecl,
  ...infer NT extends readonly ArgDecl[],
]
  ? P extends readonly [unknown?, ...infer PT]
    ? (undefined extends P[0] ? { [K in H["name"]]?: P[0] } : { [K in H["name"]]: P[0] }) & Named<NT, PT>
    : unknown
  : unknown;

/** A verb's arguments by name, as an action record carries them. */
export type NamedArgsOf<D> = D extends { readonly args: infer N extends readonly ArgDecl[] }
  ? Simplify<Named<N, Parameters<SignatureOf<D>>>>
  : never;

/** A verb's result type (resolved). */
export type ResultOf<D> = Awaited<ReturnType<SignatureOf<D>>>;

/** The action verbs of a table, in declaration order. */
export function actionKinds<T extends VerbTable>(table: T): ActionKindOf<T>[] {
  return Object.keys(table).filter((v) => table[v]!.kind === "action") as ActionKindOf<T>[];
}

/** The latency declarations of a table, one per key, in declaration order. */
export function latencyDecls<T extends VerbTable>(
  table: T,
): (LatencyDecl & { readonly key: SetupLatencyKeyOf<T> })[] {
  const out = new Map<string, LatencyDecl>();
  for (const d of Object.values(table)) {
    if (d.kind !== "action" || !d.latency) continue;
    const seen = out.get(d.latency.key);
    if (seen && seen.default !== d.latency.default) {
      throw new Error(`setup latency "${d.latency.key}" is declared twice with different defaults`);
    }
    if (!seen) out.set(d.latency.key, d.latency);
  }
  return [...out.values()] as (LatencyDecl & { readonly key: SetupLatencyKeyOf<T> })[];
}

/** A record with one value per key, in the keys' order. */
export function recordOf<K extends string, V>(keys: readonly K[], value: (key: K) => V): Record<K, V> {
  return Object.fromEntries(keys.map((k) => [k, value(k)])) as Record<K, V>;
}

/** Argument values by their declared names (absent optional arguments omitted). */
export function namedArgs(decl: VerbDecl<never>, args: readonly unknown[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  decl.args.forEach((a, i) => {
    if (args[i] !== undefined) out[a.name] = args[i];
  });
  return out;
}
