/**
 * Long-lived command channels for the verbs: per namespace one `ip -n NS -force -batch -`, one
 * `tc -n NS -force -batch -` and two `ip netns exec NS nft ... -i` processes (changes; readings of counters, so a
 * reading never delays a change), plus one more `ip` process for the probes' route writes (the `probe` lane: a
 * policy's route changes never wait behind a probe path's first routes), started on first use and kept for the
 * control plane's life. A request writes its lines to the process's stdin (each built from an argv by
 * {@link batchText}, or an nft script joined into one line: one transaction), then a *sentinel*, a command that
 * fails the same way every time, so its error on stderr marks the request's end. No process is started per
 * request: on a loaded machine starting one costs 20-70 ms (scheduling, not the tool: `true` costs as much), a
 * request on a channel well under a millisecond plus the kernel's own work.
 *
 * Reading the answers:
 * - ip/tc (`-force`: every line is tried): the tool numbers the lines it has read since it started and reports a
 *   failing one as `Command failed -:N` on stderr after its message, so each failure belongs to one line of one
 *   request. tc reads one line ahead before running a line, so a tc request ends with the sentinel and one more
 *   line (a second sentinel, whose failure belongs to no request and is ignored).
 * - nft: a failing command prints `Error: ...`, the command and a caret line; a request is one line, so every
 *   error before the sentinel's is the request's. A query (`list table ...`, JSON) answers with one line on
 *   stdout, written before the sentinel's error: the query is done once the sentinel has failed and either its
 *   answer line or its error has come.
 * A tool that exits (iproute2 exits on an argument it cannot parse) fails its request with what it printed and
 * the request's commands; the next request starts a new process.
 *
 * With a log (the runner's `--verbose`), each request is logged when sent (`+ [argv] commands`) and when done, with
 * its wall ms (`= [argv] ms: commands`).
 *
 * Lifetime: requests on one channel run one at a time, in order. The processes hold no reference on the event loop
 * while idle, exit at EOF on their stdin: on {@link ChannelCommands.close}, and when the driver dies (kill -9
 * included: the kernel closes its end of the pipes). Teardown (`down`, `emulate cleanup`) also kills every process
 * left in the run's namespaces. {@link OneShotCommands} does the same through a {@link Runner}, one process per
 * request (for injected runners in tests without root).
 */
import { type ChildProcessWithoutNullStreams, spawn } from "node:child_process";
import { batchText, type Cmd, netnsExecArgv } from "./commands.ts";
import { EmulationError } from "./errors.ts";
import {
  type NftFamily,
  nftIdent,
  nftScriptArgv,
  type RuleCounter,
  readRuleCounters,
  ruleCounters,
} from "./nft.ts";
import { type Runner, runBatch } from "./runner.ts";

export type BatchTool = "ip" | "tc";

/**
 * A batch's lane: requests of different lanes go to different processes of the namespace, so neither waits behind
 * the other (`probe`: emulate/probe.ts's route writes; `link`: a link failure or repair, which must not wait behind a
 * policy's changes in flight: the emulated cable breaks at its instant; default: every other verb's changes).
 */
export type BatchLane = "changes" | "probe" | "link";

/** Options of a batch: `check` (default true) throws on a failing line; `lane` (default `changes`) its process. */
export interface BatchOptions {
  check?: boolean;
  lane?: BatchLane;
}

/** What the verb modules run: batches of ip/tc commands and nft transactions in a namespace. */
export interface VerbCommands {
  /**
   * Runs `cmds` in namespace `ns`. Every line is tried; with `check` (default true) an EmulationError names the
   * first failing line's command and the tool's message; `lane` picks the namespace's process ({@link BatchLane}).
   */
  batch(tool: BatchTool, ns: string, cmds: readonly Cmd[], opts?: BatchOptions): Promise<void>;
  /**
   * Runs `cmds` in namespace `ns` as one request, every line tried, and answers per line: null for a line that
   * succeeded, else the tool's message for it. For callers that batch independent changes (several pairs' routes)
   * and report each one's outcome.
   */
  batchEach(tool: BatchTool, ns: string, cmds: readonly Cmd[]): Promise<(string | null)[]>;
  /** Runs `lines` (nft statements) as one transaction; with `check` (default true) throws EmulationError on failure. */
  nft(ns: string, lines: readonly string[], opts?: { check?: boolean }): Promise<void>;
  /** The counters of a table's commented rules; undefined when it cannot be listed. */
  ruleCounters(ns: string, family: NftFamily, table: string): Promise<Map<string, RuleCounter> | undefined>;
  /**
   * The JSON statistics `tool -s -j <show>` prints in namespace `ns` (e.g. `["link", "show"]`, `["qdisc", "show"]`),
   * or undefined when the command fails. Channels read them on their own process, so link counters polled every
   * tick neither wait behind changes nor start a process per reading.
   */
  stats(tool: BatchTool, ns: string, show: Cmd): Promise<string | undefined>;
  /**
   * Starts the channels of namespace `ns` that `tools` name (`nft`: its change channel, `nft-read`: its reading
   * channel) without sending anything, so a later request starts no process. Starting a process blocks the caller's
   * event loop for as long as the fork takes (54-252 ms each for the persona policy's first apply at load 16), so
   * a run opens its channels before its traffic starts. Nothing for one-shot commands.
   */
  open(ns: string, tools: readonly ChannelTool[]): void;
  /** Ends the channels (their processes exit); later requests start new ones. */
  close(): void;
}

/** The channels of a namespace {@link VerbCommands.open} can start (`ip-probe`: ip's `probe` lane). */
export type ChannelTool = BatchTool | "ip-probe" | "ip-link" | "nft" | "nft-read";

/** `tool -n ns -force -batch -`: commands from stdin, every line tried. */
const forcedBatchArgv = (tool: BatchTool, ns: string): string[] => [tool, "-n", ns, "-force", "-batch", "-"];

/** One process per request, through a runner (tests with an injected runner). */
export class OneShotCommands implements VerbCommands {
  constructor(private readonly runner: Runner) {}

  async batch(tool: BatchTool, ns: string, cmds: readonly Cmd[], opts: BatchOptions = {}): Promise<void> {
    if (cmds.length === 0) return;
    if (opts.check !== false) return runBatch(this.runner, tool, ns, cmds);
    await this.runner.run(forcedBatchArgv(tool, ns), {
      input: batchText(cmds),
      check: false,
    });
  }

  async batchEach(tool: BatchTool, ns: string, cmds: readonly Cmd[]): Promise<(string | null)[]> {
    if (cmds.length === 0) return [];
    const r = await this.runner.run(forcedBatchArgv(tool, ns), { input: batchText(cmds), check: false });
    return perLine(cmds.length, batchFailures(r.stderr), 1);
  }

  async nft(ns: string, lines: readonly string[], opts: { check?: boolean } = {}): Promise<void> {
    if (lines.length === 0) return;
    await this.runner.run(nftScriptArgv(ns), { input: `${lines.join("\n")}\n`, check: opts.check !== false });
  }

  ruleCounters(ns: string, family: NftFamily, table: string): Promise<Map<string, RuleCounter> | undefined> {
    return readRuleCounters(this.runner, ns, family, table);
  }

  async stats(tool: BatchTool, ns: string, show: Cmd): Promise<string | undefined> {
    const r = await this.runner.run([tool, "-n", ns, "-s", "-j", ...show], { check: false });
    return r.code === 0 ? r.stdout : undefined;
  }

  open(): void {}

  close(): void {}
}

/** A device name no namespace of a run has: `ip link show` / `tc qdisc show` of it fails, as a sentinel. */
const NO_DEVICE = "topocast_none";

/** What a channel's request waits for, and what it found. */
interface Pending {
  /** Whether the request is complete, given the stderr and stdout text since it was written. */
  done(stderr: string, stdout: string): boolean;
  resolve(r: { stderr: string; stdout: string }): void;
  reject(e: Error): void;
  what: string;
}

export interface ChannelOptions {
  /** Fail a request (and kill its process) after this many ms. @default 60000 */
  timeoutMs?: number;
  log?: (line: string) => void;
}

/** One long-lived process; requests written to its stdin one at a time. */
class Channel {
  private child: ChildProcessWithoutNullStreams | undefined;
  private stderr = "";
  private stdout = "";
  private pending: Pending | undefined;
  private queue: Promise<unknown> = Promise.resolve();
  /** Lines written to the current process (ip/tc number them from 1). */
  lines = 0;

  constructor(
    readonly argv: readonly string[],
    private readonly opts: ChannelOptions,
  ) {}

  /** Runs `write` (which returns the text to send) and waits until `done`; one request at a time. */
  request(
    what: string,
    write: (firstLine: number) => string,
    done: Pending["done"],
  ): Promise<{ stderr: string; stdout: string; firstLine: number }> {
    const next = this.queue.then(() => this.send(what, write, done));
    this.queue = next.catch(() => {});
    return next;
  }

  private send(
    what: string,
    write: (firstLine: number) => string,
    done: Pending["done"],
  ): Promise<{ stderr: string; stdout: string; firstLine: number }> {
    const child = this.start();
    const firstLine = this.lines + 1;
    const text = write(firstLine);
    this.lines += text.split("\n").length - 1;
    this.stderr = "";
    this.stdout = "";
    this.opts.log?.(`+ [${this.argv.join(" ")}] ${what}`);
    const t0 = performance.now();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.fail(new EmulationError(`${this.argv.join(" ")}: timed out running: ${what}`, this.argv));
        child.kill("SIGKILL");
      }, this.opts.timeoutMs ?? 60_000);
      const clear = () => {
        clearTimeout(timer);
        this.opts.log?.(`= [${this.argv.join(" ")}] ${(performance.now() - t0).toFixed(1)} ms: ${what}`);
        this.pending = undefined;
        this.hold(false);
      };
      this.pending = {
        what,
        done,
        resolve: (r) => {
          clear();
          resolve({ ...r, firstLine });
        },
        reject: (e) => {
          clear();
          reject(e);
        },
      };
      this.hold(true);
      child.stdin.write(text);
    });
  }

  /** Starts the process now, if it is not running (a request would start it). */
  open(): void {
    this.start();
  }

  private start(): ChildProcessWithoutNullStreams {
    if (this.child) return this.child;
    const [file, ...args] = this.argv;
    // Its own process group, like every command of the runner: a terminal's Ctrl-C reaches the driver only.
    const child = spawn(file!, args, { stdio: ["pipe", "pipe", "pipe"], shell: false, detached: true });
    this.child = child;
    this.lines = 0;
    child.stdout.on("data", (b: Buffer) => this.received("stdout", b));
    child.stderr.on("data", (b: Buffer) => this.received("stderr", b));
    child.stdin.on("error", () => {}); // the exit tells
    child.on("error", (e) => this.died(child, `cannot start: ${e.message}`));
    child.on("close", (code, signal) =>
      this.died(child, signal ? `killed by ${signal}` : `exited with ${code}`),
    );
    this.hold(false);
    return child;
  }

  /** Keeps the event loop alive while a request waits, not while the channel idles. */
  private hold(busy: boolean): void {
    const c = this.child;
    if (!c) return;
    for (const h of [c, c.stdout, c.stderr] as { ref(): void; unref(): void }[]) busy ? h.ref() : h.unref();
  }

  private received(stream: "stdout" | "stderr", b: Buffer): void {
    if (stream === "stderr") this.stderr += b.toString();
    else this.stdout += b.toString();
    const p = this.pending;
    // After this poll phase: stdout written before the sentinel's error may be read in the same phase.
    if (p?.done(this.stderr, this.stdout))
      setImmediate(() => {
        if (this.pending === p) p.resolve({ stderr: this.stderr, stdout: this.stdout });
      });
  }

  private died(child: ChildProcessWithoutNullStreams, why: string): void {
    if (this.child !== child) return;
    this.child = undefined;
    const said = this.stderr.trim();
    this.fail(
      new EmulationError(
        `${this.argv.join(" ")}: ${why} while running: ${this.pending?.what ?? "nothing"}${said ? `: ${said}` : ""}`,
        this.argv,
        said,
      ),
    );
  }

  private fail(e: EmulationError): void {
    this.pending?.reject(e);
  }

  /** Ends stdin: the process exits once it has run what it has read. */
  close(): void {
    this.child?.stdin.end();
    this.child = undefined;
  }
}

const FAILED = /Command failed -:(\d+)\n/g;

/** ip/tc: each failing line's number and message (the stderr text since the previous failure). */
export function batchFailures(stderr: string): { line: number; message: string }[] {
  const out: { line: number; message: string }[] = [];
  let from = 0;
  for (const m of stderr.matchAll(FAILED)) {
    out.push({ line: Number(m[1]), message: stderr.slice(from, m.index).trim() });
    from = m.index! + m[0].length;
  }
  return out;
}

/** Per line of a request of `n` lines numbered from `first`: its failure's message, or null. */
function perLine(n: number, failures: readonly { line: number; message: string }[], first: number) {
  const out: (string | null)[] = new Array(n).fill(null);
  for (const f of failures) if (f.line >= first && f.line < first + n) out[f.line - first] = f.message;
  return out;
}

/** The text of an ip/tc request: its commands, the sentinel, and for tc (which reads a line ahead) one more. */
export function batchRequest(
  tool: BatchTool,
  cmds: readonly Cmd[],
): { text: string; sentinelOffset: number } {
  const sentinel = tool === "ip" ? ["link", "show", "dev", NO_DEVICE] : ["qdisc", "show", "dev", NO_DEVICE];
  const tail = tool === "tc" ? [sentinel, sentinel] : [sentinel];
  return { text: batchText([...cmds, ...tail]), sentinelOffset: cmds.length };
}

/** An nft request: one line (one transaction) and a sentinel listing a table no run has. */
export function nftRequest(lines: readonly string[], seq: number): { text: string; sentinel: string } {
  for (const l of lines)
    if (l.includes("\n")) throw new EmulationError(`nft statement spans lines: ${JSON.stringify(l)}`);
  const sentinel = `list table netdev ${nftIdent(`topocast_none_${seq}`)}`;
  return { text: `${lines.join("; ")}\n${sentinel}\n`, sentinel };
}

/** Where the sentinel's error starts in nft's stderr, once its caret line has come; -1 before. */
export function nftSentinelEnd(stderr: string, sentinel: string): number {
  const echo = stderr.indexOf(`${sentinel}\n`);
  if (echo < 0 || stderr.indexOf("\n", echo + sentinel.length + 1) < 0) return -1;
  return stderr.lastIndexOf("Error:", echo);
}

/** Long-lived channels, one per namespace and tool (see the module's doc). */
export class ChannelCommands implements VerbCommands {
  private readonly channels = new Map<string, Channel>();
  private seq = 0;

  constructor(private readonly opts: ChannelOptions = {}) {}

  private channel(key: string, argv: () => string[]): Channel {
    let c = this.channels.get(key);
    if (!c) {
      c = new Channel(argv(), this.opts);
      this.channels.set(key, c);
    }
    return c;
  }

  open(ns: string, tools: readonly ChannelTool[]): void {
    for (const t of tools)
      (t === "nft" || t === "nft-read"
        ? this.nftChannel(ns, t === "nft-read")
        : t === "ip-probe" || t === "ip-link"
          ? this.batchChannel("ip", ns, t === "ip-probe" ? "probe" : "link")
          : this.batchChannel(t, ns)
      ).open();
  }

  private batchChannel(tool: BatchTool, ns: string, lane: BatchLane = "changes"): Channel {
    const key = lane === "changes" ? `${tool} ${ns}` : `${tool}-${lane} ${ns}`;
    return this.channel(key, () => forcedBatchArgv(tool, ns));
  }

  async batch(tool: BatchTool, ns: string, cmds: readonly Cmd[], opts: BatchOptions = {}): Promise<void> {
    const failed = await this.batchEach(tool, ns, cmds, opts.lane);
    if (opts.check === false) return;
    const i = failed.findIndex((f) => f !== null);
    if (i < 0) return;
    const cmd = cmds[i]!;
    throw new EmulationError(
      `${tool} -n ${ns} ${cmd.join(" ")}: ${failed[i]}`,
      [tool, "-n", ns, ...cmd],
      failed[i]!,
    );
  }

  async batchEach(
    tool: BatchTool,
    ns: string,
    cmds: readonly Cmd[],
    lane: BatchLane = "changes",
  ): Promise<(string | null)[]> {
    if (cmds.length === 0) return [];
    const c = this.batchChannel(tool, ns, lane);
    const { text, sentinelOffset } = batchRequest(tool, cmds);
    let sentinelLine = 0;
    const what = cmds.map((x) => x.join(" ")).join("; ");
    const r = await c.request(
      what,
      (first) => {
        sentinelLine = first + sentinelOffset;
        return text;
      },
      (stderr) => batchFailures(stderr).some((f) => f.line === sentinelLine),
    );
    return perLine(cmds.length, batchFailures(r.stderr), r.firstLine);
  }

  /**
   * The namespace's nft channel for changes (`nft -i`), or for readings (`nft -j -t -i`: JSON, sets without their
   * elements, which the mirrors' dynamic sets hold by the thousand): counters polled every few hundred
   * milliseconds never hold a change back.
   */
  private nftChannel(ns: string, read: boolean): Channel {
    return read
      ? this.channel(`nft-read ${ns}`, () => netnsExecArgv(ns, ["nft", "-j", "-t", "-i"]))
      : this.channel(`nft ${ns}`, () => netnsExecArgv(ns, ["nft", "-i"]));
  }

  /** One nft request: its own errors (stderr before the sentinel's) and its stdout. */
  private async nftRun(
    ns: string,
    lines: readonly string[],
    answers: boolean,
  ): Promise<{ errors: string; stdout: string }> {
    const { text, sentinel } = nftRequest(lines, this.seq++);
    const r = await this.nftChannel(ns, answers).request(
      lines.join("; "),
      () => text,
      (stderr, stdout) => {
        const end = nftSentinelEnd(stderr, sentinel);
        return end >= 0 && (!answers || end > 0 || stdout.endsWith("\n"));
      },
    );
    return { errors: r.stderr.slice(0, nftSentinelEnd(r.stderr, sentinel)).trim(), stdout: r.stdout };
  }

  async stats(tool: BatchTool, ns: string, show: Cmd): Promise<string | undefined> {
    const c = this.channel(`${tool}-stats ${ns}`, () => [
      tool,
      "-n",
      ns,
      "-s",
      "-j",
      "-force",
      "-batch",
      "-",
    ]);
    const { text, sentinelOffset } = batchRequest(tool, [show]);
    let own = 0;
    const r = await c.request(
      `-s -j ${show.join(" ")}`,
      (first) => {
        own = first;
        return text;
      },
      (stderr, stdout) => {
        const failed = batchFailures(stderr);
        if (!failed.some((f) => f.line === own + sentinelOffset)) return false;
        // The statistics arrive on stdout, the sentinel's error on stderr: wait for both (or for the command's error).
        return failed.some((f) => f.line === own) || stdout.trimEnd().endsWith("]");
      },
    );
    return batchFailures(r.stderr).some((f) => f.line === r.firstLine) ? undefined : r.stdout.trim();
  }

  async nft(ns: string, lines: readonly string[], opts: { check?: boolean } = {}): Promise<void> {
    if (lines.length === 0) return;
    const { errors } = await this.nftRun(ns, lines, false);
    if (errors && opts.check !== false)
      throw new EmulationError(`nft in ${ns}: ${errors}`, netnsExecArgv(ns, ["nft", "-i"]), errors);
  }

  async ruleCounters(
    ns: string,
    family: NftFamily,
    table: string,
  ): Promise<Map<string, RuleCounter> | undefined> {
    const r = await this.nftRun(ns, [`list table ${family} ${nftIdent(table)}`], true).catch(() => undefined);
    if (!r || r.errors) return undefined;
    const json = r.stdout.split("\n").find((l) => l.startsWith("{"));
    return json === undefined ? undefined : ruleCounters(json);
  }

  close(): void {
    for (const c of this.channels.values()) c.close();
    this.channels.clear();
  }
}
