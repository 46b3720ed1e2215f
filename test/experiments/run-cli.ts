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

type ConsoleMethod = "log" | "info" | "warn" | "error";
const STREAM_OF: Record<ConsoleMethod, "stdout" | "stderr"> = {
  log: "stdout",
  info: "stdout",
  warn: "stderr",
  error: "stderr",
};

/**
 * Runs `topocast args` in this process (experiments/cli.ts `runCli`), capturing what it prints through `console`
 * (the commands' only output channel, and the CLI's error line): the same exit code and output as {@link topocast}
 * without a child's start-up (about 1.5 s each). The process's streams are left alone: node:test reports through
 * them. Calls are serialized, since the capture replaces the console's methods while one runs.
 */
export function topocastInProcess(args: readonly string[]): Promise<CliResult> {
  const run = async (): Promise<CliResult> => {
    const { runCli } = await import("../../experiments/cli.ts");
    const { format } = await import("node:util");
    const out = { stdout: "", stderr: "" };
    const saved = { log: console.log, info: console.info, warn: console.warn, error: console.error };
    for (const m of Object.keys(STREAM_OF) as ConsoleMethod[])
      console[m] = (...a: unknown[]) => {
        out[STREAM_OF[m]] += `${format(...a)}\n`;
      };
    const exitCode = process.exitCode;
    process.exitCode = undefined;
    try {
      const code = await runCli([...args]);
      return { code: code !== 0 ? code : Number(process.exitCode ?? 0), ...out };
    } finally {
      Object.assign(console, saved);
      process.exitCode = exitCode;
    }
  };
  const result = queue.then(run, run);
  queue = result.catch(() => undefined);
  return result;
}
