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
 * elapse). Failed actions change nothing and are not journaled. If an undo call fails, rollback stops there with
 * that error; the entries not yet undone stay in the log. Neighbouring setFirewall entries, and neighbouring setRoute
 * entries, are undone together ({@link TOGETHER}); when one of their undo calls fails, all of them stay in the log.
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
  const undoLast = (refused?: Refused) => () => {
    const entry = log.at(-1)!;
    const calls = undoOf(log.length - 1);
    if (calls === "irreversible") throw new JournalError(`cannot undo ${entry.verb}`);
    const done = tolerant(() => inSequence(calls.map(run)), entry, refused);
    return isPromiseLike(done) ? Promise.resolve(done).then(() => void log.pop()) : void log.pop();
  };
  /** Undoes the entries from `from` to the end at once: their undo calls issued, newest first, before any settles. */
  const undoTogether = (from: number, refused?: Refused) => () => {
    const calls = Array.from({ length: log.length - from }, (_, k) => {
      const entry = log[log.length - 1 - k]!;
      const c = undoOf(log.length - 1 - k);
      return (c === "irreversible" ? [] : c).map((call) => ({ call, entry }));
    }).flat();
    const results = calls.map(({ call, entry }) => tolerant(run(call), entry, refused));
    const done = () => {
      log.length = from;
    };
    return results.some(isPromiseLike) ? Promise.all(results).then(done) : done();
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
      const steps: (() => unknown)[] = [];
      for (let i = log.length - 1; i >= mark; ) {
        let j = i;
        while (TOGETHER.has(log[i]!.verb) && j - 1 >= mark && log[j - 1]!.verb === log[i]!.verb) j--;
        steps.push(j === i ? undoLast(onUndoRefused) : undoTogether(j, onUndoRefused));
        i = j - 1;
      }
      return inSequence(steps);
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
