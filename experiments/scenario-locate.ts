/**
 * Where a scenario-building error belongs in the config: the builders (scenario-*.ts) run readers and generators
 * that throw domain errors (TopologyError, WorkloadError, ...); {@link at} turns each into a ConfigError located at
 * the config field responsible, so the user sees the file, the field path and the message, not a stack trace.
 */
import type { LoadedConfig } from "./config/load.ts";
import { isUserError } from "./errors.ts";
import { TmSourceUnavailable } from "./tm-sources.ts";

/** Builds a ConfigError at a config path (a loaded config's `error`). */
export type Locate = LoadedConfig["error"];

/** Runs `f`; a user error it throws (TopologyError, WorkloadError, ...) becomes a ConfigError at `path`. */
export function at<T>(error: Locate, path: PropertyKey[], f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (e instanceof TmSourceUnavailable || isUserError(e)) throw error(path, (e as Error).message);
    throw e;
  }
}
