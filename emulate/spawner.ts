/**
 * A {@link Runner} whose processes are started by a helper process, off the controller's event loop. Node's
 * `spawn()` holds the caller's event loop until the child has exec'd: 21 ms median, 38 ms p90 for `ping` on this
 * 2-core machine at load average 17 (54-252 ms for a channel's process at load 16, emulate/channels.ts). The
 * probes (emulate/probe.ts) run one `ping` per probe, up to 48 a control step, which held the controller about 1 s
 * per 2.5 s wall step in the emulated sidecar mesh; the helper takes those stalls instead.
 *
 * The helper is one `node` process (started on first use, or by {@link SpawnerRunner.open}) that reads one JSON
 * request a line on stdin, `{ id, argv, timeoutMs }`, starts `argv` (no shell, its own process group, stdin
 * closed) and answers `{ id, code, stdout, stderr, error? }` on stdout when the child exits (its process group
 * killed after `timeoutMs`). It holds no reference on the controller's event loop while nothing waits, and exits at EOF on its
 * stdin ({@link SpawnerRunner.close}, or the driver's death), after its children. Commands needing stdin (`input`)
 * are not supported (rejected).
 */
import { type ChildProcessWithoutNullStreams, spawn } from "node:child_process";
import { EmulationError } from "./errors.ts";
import type { Runner, RunOptions, RunResult } from "./runner.ts";

/** The helper's source (plain JavaScript, run with `node -e`). */
const HELPER = `
const { spawn } = require("node:child_process");
const answer = (a) => process.stdout.write(JSON.stringify(a) + "\\n");
require("node:readline").createInterface({ input: process.stdin }).on("line", (line) => {
  const { id, argv, timeoutMs } = JSON.parse(line);
  const out = [];
  const err = [];
  let child;
  try {
    child = spawn(argv[0], argv.slice(1), { stdio: ["ignore", "pipe", "pipe"], detached: true });
  } catch (e) {
    answer({ id, code: -1, stdout: "", stderr: "", error: String(e && e.message) });
    return;
  }
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    try { process.kill(-child.pid, "SIGKILL"); } catch { child.kill("SIGKILL"); }
  }, timeoutMs);
  child.stdout.on("data", (b) => out.push(b));
  child.stderr.on("data", (b) => err.push(b));
  child.on("error", (e) => { clearTimeout(timer); answer({ id, code: -1, stdout: "", stderr: "", error: e.message }); });
  child.on("close", (code, signal) => {
    clearTimeout(timer);
    const a = { id, code: code === null ? -1 : code, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() };
    if (timedOut) a.error = "timed out";
    else if (signal) a.error = "killed by " + signal;
    answer(a);
  });
});
`;

interface Answer {
  id: number;
  code: number;
  stdout: string;
  stderr: string;
  error?: string;
}

export class SpawnerRunner implements Runner {
  private child: ChildProcessWithoutNullStreams | undefined;
  private readonly waiting = new Map<
    number,
    { argv: readonly string[]; check: boolean; settle: Settle; helper: ChildProcessWithoutNullStreams }
  >();
  private nextId = 0;
  /** Requests sent. */
  readonly stats = { processes: 0 };

  /** Starts the helper now (a first request would), so its own start does not stall a later call. */
  open(): void {
    this.start();
  }

  run(argv: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
    if (argv.length === 0) return Promise.reject(new EmulationError("empty command"));
    if (opts.input !== undefined)
      return Promise.reject(
        new EmulationError(`${argv.join(" ")}: SpawnerRunner runs commands without input`),
      );
    const child = this.start();
    const id = this.nextId++;
    this.stats.processes++;
    return new Promise((resolve, reject) => {
      this.waiting.set(id, { argv, check: opts.check !== false, settle: { resolve, reject }, helper: child });
      this.hold();
      child.stdin.write(`${JSON.stringify({ id, argv, timeoutMs: opts.timeoutMs ?? 60_000 })}\n`);
    });
  }

  /** Ends the helper's stdin: it exits once its children have. Later requests start a new one. */
  close(): void {
    this.child?.stdin.end();
    this.child = undefined;
  }

  private start(): ChildProcessWithoutNullStreams {
    if (this.child) return this.child;
    const child = spawn(process.execPath, ["-e", HELPER], {
      stdio: ["pipe", "pipe", "pipe"],
      detached: true,
    });
    this.child = child;
    let buffered = "";
    child.stdout.on("data", (b: Buffer) => {
      buffered = this.received(buffered + b.toString());
    });
    child.stderr.on("data", () => {});
    child.stdin.on("error", () => {}); // its exit tells
    child.on("error", (e) => this.died(child, `cannot start: ${e.message}`));
    child.on("close", (code, signal) =>
      this.died(child, signal ? `killed by ${signal}` : `exited with ${code}`),
    );
    this.hold();
    return child;
  }

  /** Settles the requests answered in `text`; returns the incomplete last line. */
  private received(text: string): string {
    let rest = text;
    for (let nl = rest.indexOf("\n"); nl >= 0; nl = rest.indexOf("\n")) {
      const line = rest.slice(0, nl);
      rest = rest.slice(nl + 1);
      const a = JSON.parse(line) as Answer;
      const w = this.waiting.get(a.id);
      if (!w) continue;
      this.waiting.delete(a.id);
      const r: RunResult = { code: a.code, stdout: a.stdout, stderr: a.stderr };
      const what = w.argv.join(" ");
      if (a.error !== undefined && a.code === -1 && a.error !== "timed out" && !a.error.startsWith("killed"))
        w.settle.reject(new EmulationError(`${what}: cannot start: ${a.error}`, w.argv));
      else if (a.error === "timed out")
        w.settle.reject(new EmulationError(`${what}: timed out`, w.argv, a.stderr.trim()));
      else if (w.check && a.code !== 0) {
        const why = a.error ?? `exit code ${a.code}`;
        w.settle.reject(new EmulationError(`${what}: ${why}: ${a.stderr.trim()}`, w.argv, a.stderr.trim()));
      } else w.settle.resolve(r);
    }
    this.hold();
    return rest;
  }

  private died(child: ChildProcessWithoutNullStreams, why: string): void {
    if (this.child === child) this.child = undefined;
    for (const [id, w] of this.waiting) {
      if (w.helper !== child) continue;
      this.waiting.delete(id);
      w.settle.reject(new EmulationError(`${w.argv.join(" ")}: the spawner helper ${why}`, w.argv));
    }
  }

  /** Keeps the event loop alive while a request waits, not while the helper idles. */
  private hold(): void {
    const c = this.child;
    if (!c) return;
    const busy = this.waiting.size > 0;
    for (const h of [c, c.stdout, c.stderr, c.stdin] as { ref(): void; unref(): void }[])
      busy ? h.ref() : h.unref();
  }
}

interface Settle {
  resolve(r: RunResult): void;
  reject(e: Error): void;
}
