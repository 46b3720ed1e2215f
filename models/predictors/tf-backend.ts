/**
 * Choosing the TensorFlow.js backend, once per process (tfjs keeps one engine per process, so the backend is
 * process-wide state; this module only decides which one, the first time a model needs it).
 *
 * Order: `tensorflow` (native libtensorflow through `@tensorflow/tfjs-node`, an optional dependency that cannot
 * install offline because its install script downloads libtensorflow; used when it can be imported), then `wasm`
 * (`@tensorflow/tfjs-backend-wasm`, the default here: about 5x faster than `cpu` on LSTM training on this machine
 * kind), then `cpu` (pure JS, always there). `TOPOCAST_TF_BACKEND=wasm|cpu|tensorflow` forces one (an error if it
 * cannot start). Every result that involves a model records {@link TfRuntime.backend}.
 */
import type * as Tf from "@tensorflow/tfjs";

export type TfBackendName = "tensorflow" | "wasm" | "cpu";

export interface TfRuntime {
  tf: typeof Tf;
  /** The backend that runs the models. */
  backend: TfBackendName;
  /** Why earlier backends in the order were not used (for logs), e.g. `tensorflow: Cannot find package ...`. */
  skipped: string[];
}

const ORDER: readonly TfBackendName[] = ["tensorflow", "wasm", "cpu"];

let runtime: Promise<TfRuntime> | undefined;

/** The tfjs runtime with the best available backend ready (memoized: the first call decides). */
export function loadTf(): Promise<TfRuntime> {
  runtime ??= start(process.env.TOPOCAST_TF_BACKEND);
  return runtime;
}

async function start(forced: string | undefined): Promise<TfRuntime> {
  if (forced !== undefined && forced !== "" && !ORDER.includes(forced as TfBackendName)) {
    throw new Error(`TOPOCAST_TF_BACKEND: expected one of ${ORDER.join(", ")}, got "${forced}"`);
  }
  // Imported on first use, not with this module: tfjs costs about half a second of start-up.
  const tf = await import("@tensorflow/tfjs");
  const candidates = forced ? [forced as TfBackendName] : ORDER;
  const skipped: string[] = [];
  for (const name of candidates) {
    try {
      await register(name);
      if (!(await tf.setBackend(name))) throw new Error("setBackend returned false");
      await tf.ready();
      return { tf, backend: name, skipped };
    } catch (e) {
      const reason = `${name}: ${e instanceof Error ? e.message.split("\n")[0] : String(e)}`;
      if (forced) throw new Error(`TOPOCAST_TF_BACKEND=${forced} cannot start (${reason})`);
      skipped.push(reason);
    }
  }
  throw new Error(`no TensorFlow.js backend could start: ${skipped.join("; ")}`);
}

/** Imports the package that registers backend `name` with the tfjs engine. */
async function register(name: TfBackendName): Promise<void> {
  if (name === "tensorflow") {
    // A variable specifier: the package is optional and usually absent, so the type checker must not resolve it.
    const specifier = "@tensorflow/tfjs-node";
    await import(specifier);
  } else if (name === "wasm") {
    await import("@tensorflow/tfjs-backend-wasm");
  }
}
