/** Runs the topocast CLI in a child process (as users do), for tests of exit codes and messages. */
import { spawn } from "node:child_process";
import { resolve } from "node:path";
import { REPO_ROOT } from "../helpers/shared-data.ts";

export const BIN = resolve(REPO_ROOT, "bin/topocast.js");

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `topocast args`; with `timeoutMs`, a child still running then is killed (code null: it hung). */
export function topocast(
  args: readonly string[],
  opts: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {},
): Promise<CliResult> {
  return new Promise((done) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      cwd: opts.cwd ?? REPO_ROOT,
      env: { ...process.env, ...opts.env },
      stdio: ["ignore", "pipe", "pipe"],
      ...(opts.timeoutMs === undefined ? {} : { timeout: opts.timeoutMs, killSignal: "SIGKILL" as const }),
    });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => {
      stdout += d;
    });
    child.stderr.setEncoding("utf8").on("data", (d: string) => {
      stderr += d;
    });
    child.on("close", (code) => done({ code, stdout, stderr }));
  });
}

let queue: Promise<unknown> = Promise.resolve();

/**
 * Runs `topocast args` in this process (experiments/cli.ts `runCli`), capturing what it writes to stdout and stderr:
 * the same exit code and output as {@link topocast} without a child's start-up (about 1.5 s each). Calls are
 * serialized, since the capture replaces the process's stream writers while one runs.
 */
export function topocastInProcess(args: readonly string[]): Promise<CliResult> {
  const run = async (): Promise<CliResult> => {
    const { runCli } = await import("../../experiments/cli.ts");
    const out = { stdout: "", stderr: "" };
    const streams = { stdout: process.stdout, stderr: process.stderr } as const;
    const saved = { stdout: process.stdout.write, stderr: process.stderr.write };
    for (const k of ["stdout", "stderr"] as const)
      streams[k].write = ((chunk: string | Uint8Array) => {
        out[k] += typeof chunk === "string" ? chunk : Buffer.from(chunk).toString("utf8");
        return true;
      }) as typeof process.stdout.write;
    const exitCode = process.exitCode;
    try {
      const code = await runCli([...args]);
      return { code: code !== 0 ? code : Number(process.exitCode ?? 0), ...out };
    } finally {
      streams.stdout.write = saved.stdout;
      streams.stderr.write = saved.stderr;
      process.exitCode = exitCode;
    }
  };
  const result = queue.then(run, run);
  queue = result.catch(() => undefined);
  return result;
}
