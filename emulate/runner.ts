/**
 * The one place that runs commands. Every argv goes through a {@link Runner}: spawned without a shell, exit code
 * checked, and on failure an {@link EmulationError} carrying the argv and the tool's stderr. `-batch` runs feed
 * many operations to one `ip`/`tc`/`bridge` process (measured ~0.35 ms per operation against ~2.3 ms per process);
 * a failing batch names the failing line. {@link parallel} bounds concurrency across namespaces.
 *
 * Tests inject a fake runner (any object with `run`), so code above this layer is testable without root.
 */
import { spawn } from "node:child_process";
import { availableParallelism } from "node:os";
import { batchArgv, batchText, type Cmd, type Tool } from "./commands.ts";
import { EmulationError } from "./errors.ts";

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  /** Written to stdin, then stdin is closed. */
  input?: string;
  /** Throw on a non-zero exit (default true). */
  check?: boolean;
  /** Kill the process (SIGKILL) after this many ms and throw. @default 60000 */
  timeoutMs?: number;
}

export interface Runner {
  run(argv: readonly string[], opts?: RunOptions): Promise<RunResult>;
}

export interface RunnerOptions {
  /** Log every command (argv joined by spaces; batch contents line by line). */
  verbose?: boolean;
  log?: (line: string) => void;
}

/** Counts of what a runner did, for benchmarks. */
export interface RunnerStats {
  processes: number;
  batchOps: number;
}

export class ProcessRunner implements Runner {
  readonly stats: RunnerStats = { processes: 0, batchOps: 0 };
  /** Where commands are logged (verbose), or undefined. */
  readonly log: ((line: string) => void) | undefined;

  constructor(opts: RunnerOptions = {}) {
    this.log = opts.verbose ? (opts.log ?? ((l) => process.stderr.write(`${l}\n`))) : undefined;
  }

  run(argv: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
    const [file, ...args] = argv;
    if (file === undefined) return Promise.reject(new EmulationError("empty command"));
    this.stats.processes++;
    this.log?.(`+ ${argv.join(" ")}`);
    if (opts.input !== undefined && this.log)
      for (const l of opts.input.split("\n")) if (l) this.log(`  | ${l}`);
    return new Promise((resolve, reject) => {
      // Its own process group: a terminal's Ctrl-C reaches the controller, which tears down in order, and not the
      // `ip`/`tc` commands it is running (killing those would leave the run half-built or half-removed).
      const child = spawn(file, args, { stdio: ["pipe", "pipe", "pipe"], shell: false, detached: true });
      const out: Buffer[] = [];
      const err: Buffer[] = [];
      let timedOut = false;
      const timer = setTimeout(() => {
        timedOut = true;
        child.kill("SIGKILL");
      }, opts.timeoutMs ?? 60_000);
      child.stdout.on("data", (b: Buffer) => out.push(b));
      child.stderr.on("data", (b: Buffer) => err.push(b));
      child.on("error", (e) => {
        clearTimeout(timer);
        reject(new EmulationError(`${argv.join(" ")}: cannot start: ${e.message}`, argv));
      });
      child.on("close", (code, signal) => {
        clearTimeout(timer);
        const r = {
          code: code ?? -1,
          stdout: Buffer.concat(out).toString(),
          stderr: Buffer.concat(err).toString(),
        };
        if (timedOut) reject(new EmulationError(`${argv.join(" ")}: timed out`, argv, r.stderr.trim()));
        else if (opts.check !== false && r.code !== 0) {
          const why = signal ? `killed by ${signal}` : `exit code ${r.code}`;
          reject(new EmulationError(`${argv.join(" ")}: ${why}: ${r.stderr.trim()}`, argv, r.stderr.trim()));
        } else resolve(r);
      });
      child.stdin.on("error", () => {}); // the tool may exit before reading all input; the exit code tells
      child.stdin.end(opts.input ?? "");
    });
  }
}

/**
 * Runs `cmds` as one `tool [-n ns] -batch -` process (nothing when `cmds` is empty). The tool stops at the first
 * failing line; the error names that line's command.
 */
export async function runBatch(
  runner: Runner,
  tool: Tool,
  ns: string | undefined,
  cmds: readonly Cmd[],
): Promise<void> {
  if (cmds.length === 0) return;
  const argv = batchArgv(tool, ns);
  if (runner instanceof ProcessRunner) runner.stats.batchOps += cmds.length;
  const r = await runner.run(argv, { input: batchText(cmds), check: false });
  if (r.code === 0) return;
  const m = /Command failed -:(\d+)/.exec(r.stderr);
  const line = m ? Number(m[1]) : undefined;
  const failed = line !== undefined ? cmds[line - 1] : undefined;
  const where = failed
    ? `${[tool, ...(ns ? ["-n", ns] : [])].join(" ")} ${failed.join(" ")}`
    : argv.join(" ");
  throw new EmulationError(
    `${where}: exit code ${r.code}: ${r.stderr.trim()}`,
    failed ?? argv,
    r.stderr.trim(),
  );
}

/** Default concurrency for per-namespace work: twice the cores (the processes mostly wait on the kernel). */
export function defaultConcurrency(): number {
  return Math.max(2, 2 * availableParallelism());
}

/**
 * Applies `fn` to every item with at most `limit` in flight; resolves with the results in item order. All items
 * run even when some fail; then the first failure (in item order) is thrown.
 */
export async function parallel<T, R>(
  items: readonly T[],
  fn: (item: T, index: number) => Promise<R>,
  limit = defaultConcurrency(),
): Promise<R[]> {
  const results = new Array<R>(items.length);
  const errors: { i: number; e: unknown }[] = [];
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      try {
        results[i] = await fn(items[i]!, i);
      } catch (e) {
        errors.push({ i, e });
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  if (errors.length > 0) throw errors.sort((a, b) => a.i - b.i)[0]!.e;
  return results;
}
