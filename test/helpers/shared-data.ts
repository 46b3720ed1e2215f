/**
 * Locating the shared data folder (`shared/data`: Topology Zoo, SNDlib, traffic matrices, flow-size CDFs) for tests
 * that read public data sets topocast does not ship (some, like SNDlib, must never be copied into the repo).
 *
 * The folder is `$TOPOCAST_SHARED_DATA` when that is set, else `../shared/data` next to the repository (where CI
 * puts it). Tests that need it skip with {@link skipUnlessShared} when it is absent:
 *
 * ```ts
 * test("Kdl has 754 nodes", { skip: skipUnlessShared }, () => {
 *   const dir = sharedDataDir()!;
 *   ...
 * });
 * ```
 */
import { existsSync, readdirSync, statSync } from "node:fs";
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";

/** Absolute path of the repository root (this file is `test/helpers/shared-data.ts`). */
export const REPO_ROOT: string = fileURLToPath(new URL("../../", import.meta.url));

/** The candidate path: `$TOPOCAST_SHARED_DATA`, else `<repo>/../shared/data`. */
function candidate(): string {
  const fromEnv = process.env.TOPOCAST_SHARED_DATA;
  return fromEnv !== undefined && fromEnv !== "" ? resolve(fromEnv) : resolve(REPO_ROOT, "../shared/data");
}

/**
 * Absolute path of the shared data folder, or undefined when it does not exist, is not a directory or is empty
 * (CI proves the no-data path by pointing TOPOCAST_SHARED_DATA at an empty directory).
 */
export function sharedDataDir(): string | undefined {
  const dir = candidate();
  return existsSync(dir) && statSync(dir).isDirectory() && readdirSync(dir).length > 0 ? dir : undefined;
}

/**
 * The skip reason for tests that need the shared data folder: a message string naming the path looked at when
 * the folder is absent, `false` when it is present. Pass it as `{ skip: skipUnlessShared }` or, inside a test,
 * `if (skipUnlessShared) return t.skip(skipUnlessShared)`.
 */
export const skipUnlessShared: string | false =
  sharedDataDir() === undefined
    ? `needs the shared data folder, not found (or empty) at ${candidate()} (set TOPOCAST_SHARED_DATA to its path)`
    : false;

/**
 * Whether a config (or other text) reads the shared data folder: it names `${TOPOCAST_SHARED_DATA...}` in a path,
 * as the committed SNDlib configs do. Such a config is tested only where the folder exists.
 */
export function readsSharedData(text: string): boolean {
  return /\$\{TOPOCAST_SHARED_DATA\b/.test(text);
}
