/**
 * The core of every ControlPlane decorator (recording, scaling, journaling): a ControlPlane whose every verb of a
 * table goes through one function around the inner ControlPlane's method. Nothing here names a verb, so a verb
 * added to the table is decorated without further code.
 *
 * Synchronous stays synchronous: a verb that answers with a plain value (the simulator) is decorated without
 * turning its answer into a Promise; one that answers with a Promise (the emulator) is followed to its settling.
 */
import type { ControlPlaneOf, VerbDecl, VerbTable } from "./verb-table.ts";

/** Runs the inner ControlPlane's method of the verb with (possibly changed) arguments. */
export type InnerCall = (args: readonly unknown[]) => unknown;

/** What a decorator does around one call of `verb` with `args`: usually `call(args)` plus its own work. */
export type Around = (
  verb: string,
  decl: VerbDecl<never>,
  args: readonly unknown[],
  call: InnerCall,
) => unknown;

/**
 * A ControlPlane with one method per verb of `table`, each `around(verb, decl, args, call)` where `call` runs
 * `inner`'s method of the same name.
 * @throws TypeError when `inner` lacks a verb of the table
 */
export function decorate<T extends VerbTable>(
  table: T,
  inner: ControlPlaneOf<T>,
  around: Around,
): ControlPlaneOf<T> {
  const methods = inner as unknown as Record<string, (...args: readonly unknown[]) => unknown>;
  const out: Record<string, unknown> = {};
  for (const [name, decl] of Object.entries(table)) {
    const method = methods[name];
    if (typeof method !== "function") throw new TypeError(`the inner control plane has no verb "${name}"`);
    out[name] = (...args: unknown[]) => around(name, decl, args, (a) => method.apply(inner, [...a]));
  }
  return out as ControlPlaneOf<T>;
}

/** How a call ended. */
export type Settled = { ok: true; value: unknown } | { ok: false; error: unknown };

export function isPromiseLike(x: unknown): x is PromiseLike<unknown> {
  return typeof x === "object" && x !== null && typeof (x as { then?: unknown }).then === "function";
}

/**
 * Runs `run` and tells `done` how it ended — at once for a plain value or a thrown error, when it settles for a
 * Promise — and answers as `run` did (same value, same error, Promise or not).
 */
export function whenSettled(run: () => unknown, done: (s: Settled) => void): unknown {
  let r: unknown;
  try {
    r = run();
  } catch (error) {
    done({ ok: false, error });
    throw error;
  }
  if (!isPromiseLike(r)) {
    done({ ok: true, value: r });
    return r;
  }
  return Promise.resolve(r).then(
    (value) => {
      done({ ok: true, value });
      return value;
    },
    (error: unknown) => {
      done({ ok: false, error });
      throw error;
    },
  );
}

/**
 * Runs steps one after another, each after the previous one settled; synchronous as long as every step answers
 * synchronously. Stops at the first error (thrown or rejected).
 */
export function inSequence(steps: readonly (() => unknown)[], from = 0): undefined | Promise<void> {
  for (let i = from; i < steps.length; i++) {
    const r = steps[i]!();
    if (isPromiseLike(r)) return Promise.resolve(r).then(() => inSequence(steps, i + 1));
  }
  return undefined;
}
