/**
 * The journaling decorator: an undo log over a ControlPlane, so any policy (a persona trying a configuration, for
 * one) can act, measure and roll back to where it was.
 *
 * Every action that succeeds and has an undo in the verb table (models/policies/verbs.ts) becomes a
 * {@link JournalEntry}. `mark()` names the current position; `rollback(mark)` undoes the entries after it, newest
 * first, through the inner ControlPlane (so the undo calls are not journaled themselves, and are recorded and
 * scaled like any call when those decorators sit below): createVirtualLink by removing the link; setRoute, mirror
 * and setQos by restoring the pair's previous value from the journal (null, the engine's default, when the journal
 * holds none); setFirewall by allowing its scope and re-applying the earlier overlapping rules; removeVirtualLink
 * by re-creating the link from its journaled creation (under a new id, which later undos use); probe leaves
 * nothing to undo.
 *
 * Exactness holds for the state the journal has seen built: a setting made before the journal wrapped the
 * ControlPlane is unknown to it (a route pinned earlier is restored to the default, not to that route); a removed
 * virtual link whose creation it did not see cannot be re-created, and rollback then refuses before changing
 * anything. Undo calls take their setup latencies like any action (in the simulator, state is back once they
 * elapse). Failed actions change nothing and are not journaled. Neighbouring setFirewall entries, and neighbouring
 * setRoute entries, are undone together ({@link TOGETHER}). Undos of different state run at once where order permits
 * (different pairs, or the firewall and a pair: {@link scopeOfUndo}): the rollback goes newest first in waves, a
 * wave's undos issued together and awaited together, so an engine whose calls take wall time (the emulator's
 * commands, per namespace) does them side by side; with a synchronous inner ControlPlane the calls come in the same
 * order as one by one. If an undo call fails, the rollback stops after its wave with that error; the entries not
 * undone stay in the log, in order (a group undone together stays whole when one of its calls fails).
 * A rollback given `onUndoRefused` goes on instead past undo calls the engine refuses with a ControlError (the state
 * they would restore is gone: a virtual link's old path crosses a link that failed since, for one): each refusal is
 * reported to it, its entry leaves the log, and the rest is undone.
 */
import { ControlError, type ControlPlane } from "./types.ts";
import { decorate, inSequence, isPromiseLike, whenSettled } from "./verb-decorator.ts";
import type { ControlPlaneOf, JournalEntry, UndoContext, VerbCall, VerbTable } from "./verb-table.ts";
import { VERBS, type Verbs } from "./verbs.ts";

export type { JournalEntry } from "./verb-table.ts";

/**
 * The verbs whose neighbouring entries of the same verb a rollback undoes together: their undo calls are issued
 * before any is awaited, so an engine that installs changes made together at once (the emulator's firewall: one
 * transaction per namespace; its routes: one `ip -batch` request per namespace for the setRoute calls of one turn
 * of the event loop, emulate/routes.ts) never shows the state between two of them (a rule's undo re-applies an
 * earlier deny the next undo lifts) and undoes a batch of route changes in one batch, not one after another. Calls
 * reach the engine in the same order as one by one, so an engine that applies them as they come ends the same.
 */
const TOGETHER: ReadonlySet<string> = new Set(["setFirewall", "setRoute"]);

/** Entries `from..to` of the log, undone as one step (one entry, or neighbouring entries of a {@link TOGETHER} verb). */
type Unit = { from: number; to: number };

/**
 * The state an undo call changes, so that undos of different state can run at once: a pair's route, mirror, QoS
 * class and virtual links (`pair:<src>-><dst>`, one scope for all of them: one pair's undos keep their order), or
 * the firewall (one scope: rules overlap across pairs). Null for a call that must run alone: one that takes
 * resources back (re-creating a virtual link takes a VNA and maybe a reservation; restoring a QoS class takes its
 * guaranteed rate, which another pair's undo in the same wave may still hold) and any verb this list does not know.
 */
function scopeOfUndo(call: VerbCall, entry: JournalEntry): string | null {
  const pair = (p: unknown): string | null => {
    const q = p as { src?: unknown; dst?: unknown } | null | undefined;
    return typeof q?.src === "string" && typeof q.dst === "string" ? `pair:${q.src}->${q.dst}` : null;
  };
  switch (call.verb) {
    case "setFirewall":
      return "firewall";
    case "setRoute":
    case "mirror":
      return pair(call.args[0]);
    case "setQos":
      return call.args[1] === null ? pair(call.args[0]) : null;
    case "removeVirtualLink":
      return entry.verb === "createVirtualLink" ? pair({ src: entry.args[0], dst: entry.args[1] }) : null;
    default:
      return null;
  }
}

/** Told of an undo call the engine refused, during a rollback that goes on past it. */
type Refused = (entry: JournalEntry, error: ControlError) => void;

/** The journal cannot do what it was asked (an unknown mark, an action it cannot undo). */
export class JournalError extends ControlError {}

/** The undo log's own operations. */
export interface JournalControls {
  /** The current position in the log, for {@link rollback}. */
  mark(): number;
  /**
   * Undoes every entry after `mark`, newest first; synchronous when the inner ControlPlane is.
   * @param onUndoRefused when given, an undo call refused with a ControlError is reported here (with the entry it
   *   undid) and the rollback goes on; without it the rollback stops with that error
   * @throws JournalError for a mark outside the log, or when an entry after it cannot be undone (nothing undone then)
   */
  rollback(
    mark: number,
    onUndoRefused?: (entry: JournalEntry, error: ControlError) => void,
  ): undefined | Promise<void>;
  /** The journaled actions, oldest first (arguments and results as called). */
  entries(): readonly JournalEntry[];
}

/** A journaled ControlPlane: the table's verbs plus {@link JournalControls}. */
export type Journaled<T extends VerbTable> = ControlPlaneOf<T> & JournalControls;

/** Journals the production verbs of `inner`. */
export function journaling(inner: ControlPlane): Journaled<Verbs>;
/** Journals the verbs of `inner` that `table` declares (a test's extended table, for instance). */
export function journaling<T extends VerbTable>(inner: ControlPlaneOf<T>, table: T): Journaled<T>;
export function journaling<T extends VerbTable>(
  inner: ControlPlaneOf<T>,
  table: T = VERBS as VerbTable as T,
): Journaled<T> {
  const log: JournalEntry[] = [];
  /** Ids of objects re-created by a rollback: old id -> new id. */
  const renamed = new Map<string, string>();
  const idOf = (id: string): string => {
    let x = id;
    for (let next = renamed.get(x); next !== undefined; next = renamed.get(x)) x = next;
    return x;
  };
  const undoOf = (i: number): readonly VerbCall[] | "irreversible" => {
    const e = log[i]!;
    const decl = table[e.verb]!;
    if (decl.kind !== "action" || decl.undo === null) return [];
    const ctx: UndoContext = { earlier: log.slice(0, i), idOf };
    return (decl.undo as (a: unknown, r: unknown, c: UndoContext) => readonly VerbCall[] | "irreversible")(
      e.args,
      e.result,
      ctx,
    );
  };
  const methods = inner as unknown as Record<string, (...args: unknown[]) => unknown>;
  const run = (c: VerbCall) => () => {
    if (table[c.verb]?.kind !== "action") throw new JournalError(`undo asks for "${c.verb}", not an action`);
    return whenSettled(
      () => methods[c.verb]!.apply(inner, [...c.args]),
      (s) => {
        if (s.ok && c.renames !== undefined && typeof s.value === "string") renamed.set(c.renames, s.value);
      },
    );
  };
  /** Runs `step`; with `refused` set, a ControlError it throws or rejects with is reported there instead. */
  const tolerant = (step: () => unknown, entry: JournalEntry, refused: Refused | undefined): unknown => {
    if (!refused) return step();
    const report = (e: unknown) => {
      if (!(e instanceof ControlError)) throw e;
      refused(entry, e);
    };
    try {
      const r = step();
      return isPromiseLike(r) ? Promise.resolve(r).then(() => undefined, report) : r;
    } catch (e) {
      return report(e);
    }
  };
  /** Undoes entries `u.from..u.to` (newest first); on success adds them to `undone`. */
  const runUnit = (u: Unit, undone: Set<number>, refused?: Refused): unknown => {
    const done = () => {
      for (let i = u.from; i <= u.to; i++) undone.add(i);
    };
    if (u.from === u.to) {
      const calls = undoOf(u.to) as readonly VerbCall[];
      const r = tolerant(() => inSequence(calls.map(run)), log[u.to]!, refused);
      return isPromiseLike(r) ? Promise.resolve(r).then(done) : done();
    }
    // Undone together: every undo call issued, newest first, before any settles.
    const calls: { call: VerbCall; entry: JournalEntry }[] = [];
    for (let i = u.to; i >= u.from; i--)
      for (const call of undoOf(i) as readonly VerbCall[]) calls.push({ call, entry: log[i]! });
    const results = calls.map(({ call, entry }) => tolerant(run(call), entry, refused));
    return results.some(isPromiseLike) ? Promise.all(results).then(done) : done();
  };
  /** What the undo of `u`'s entries changes ({@link scopeOfUndo}); null when it must run alone. */
  const unitScopes = (u: Unit): Set<string> | null => {
    const scopes = new Set<string>();
    for (let i = u.from; i <= u.to; i++) {
      const calls = undoOf(i);
      if (calls === "irreversible") return null;
      for (const c of calls) {
        const scope = scopeOfUndo(c, log[i]!);
        if (scope === null) return null;
        scopes.add(scope);
      }
    }
    return scopes;
  };
  const controls: JournalControls = {
    mark: () => log.length,
    entries: () => log.slice(),
    rollback(mark: number, onUndoRefused?: Refused) {
      if (!Number.isInteger(mark) || mark < 0 || mark > log.length) {
        throw new JournalError(`rollback: mark ${mark} is not a position in the log (0..${log.length})`);
      }
      for (let i = log.length - 1; i >= mark; i--) {
        if (undoOf(i) === "irreversible") {
          const e = log[i]!;
          throw new JournalError(
            `rollback: cannot undo entry ${i}, ${e.verb}(${JSON.stringify(e.args)}): the journal did not see the state it replaced`,
          );
        }
      }
      const units: Unit[] = [];
      for (let i = log.length - 1; i >= mark; ) {
        let j = i;
        while (TOGETHER.has(log[i]!.verb) && j - 1 >= mark && log[j - 1]!.verb === log[i]!.verb) j--;
        units.push({ from: j, to: i });
        i = j - 1;
      }
      const undone = new Set<number>();
      // The entries undone leave the log, also when the rollback fails later (entries journaled meanwhile, by a
      // failure hook running beside it, stay).
      const forget = () => {
        for (let i = log.length - 1; i >= mark; i--) if (undone.has(i)) log.splice(i, 1);
      };
      const step = (u: Unit) => runUnit(u, undone, onUndoRefused);
      return whenSettled(
        () => inSequence(wavesOf(units, unitScopes).map((w) => () => runWave(w, step))),
        forget,
      ) as undefined | Promise<void>;
    },
  };
  const verbs = decorate(table, inner, (verb, decl, args, call) => {
    if (decl.kind !== "action" || decl.undo === null) return call(args);
    return whenSettled(
      () => call(args),
      (s) => {
        if (s.ok) log.push({ verb, args: structuredClone([...args]), result: s.value });
      },
    );
  });
  return Object.assign(verbs, controls);
}

/** A wave's units at once (`step` runs one); settles when all did, failing with the first failure. */
function runWave(wave: readonly Unit[], step: (u: Unit) => unknown): unknown {
  const results: unknown[] = [];
  let failure: { error: unknown } | undefined;
  for (const u of wave) {
    try {
      results.push(step(u));
    } catch (e) {
      failure = { error: e };
      break;
    }
  }
  if (!results.some(isPromiseLike)) {
    if (failure) throw failure.error;
    return undefined;
  }
  return Promise.allSettled(results).then((settled) => {
    if (failure) throw failure.error;
    const rejected = settled.find((x): x is PromiseRejectedResult => x.status === "rejected");
    if (rejected) throw rejected.reason;
  });
}

/**
 * A rollback's units (newest first) in waves: consecutive units whose scopes are disjoint share a wave, a unit
 * without a scope (null) is a wave of its own. Waves run one after another, so the undos of one scope keep their order.
 */
function wavesOf(units: readonly Unit[], scopesOf: (u: Unit) => Set<string> | null): Unit[][] {
  const waves: Unit[][] = [];
  let wave: Unit[] = [];
  let scopes = new Set<string>();
  const close = () => {
    if (wave.length > 0) waves.push(wave);
    wave = [];
    scopes = new Set();
  };
  for (const u of units) {
    const own = scopesOf(u);
    if (own === null || [...own].some((x) => scopes.has(x))) close();
    wave.push(u);
    if (own === null) close();
    else for (const x of own) scopes.add(x);
  }
  close();
  return waves;
}
