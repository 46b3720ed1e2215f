/**
 * Builds, inspects and removes emulated substrates (one per run): `up`, `down`, `status`, `exec`, `cleanup`,
 * and `withSubstrate` for a controller that owns its run. What is emulated how is documented in plan.ts.
 *
 * Set-up runs the plan's stages: (1) one `ip -batch` creating every namespace and every veth directly inside its
 * namespaces; (2) per namespace, in parallel: `sysctl` (via `ip netns exec`), then `ip -batch` (addresses, VXLAN,
 * neighbours, routes), `tc -batch` (rates), `bridge -batch` (wire destinations); (3) the wire relays, started
 * detached and waited for until they listen: the C relay, compiled (or found cached) while stages 1 and 2 run, else
 * the JavaScript relay (relay-build.ts; `UpResult.mechanisms.relay` and the state file say which and why). The
 * probe registers the run id before its scratch namespace and the state file is written before stage 1, so a crash
 * at any point (kill -9 included) leaves a run whose creator is dead, which plain `cleanup` removes; a failure (or
 * SIGINT/SIGTERM) during set-up rolls back everything built.
 *
 * Teardown of a run touches only its own objects: processes whose network namespace is one of the run's
 * namespaces (found through /proc/<pid>/ns/net, no names matched), then the namespaces, by exact name, in one
 * `ip -batch`, then a wait until `ip netns list` shows none of them and the caller's namespace has no interface
 * with the run prefix (the kernel frees a namespace's veths asynchronously once nothing refers to it).
 */
import { type ChildProcess, type SpawnOptions, spawn } from "node:child_process";
import { readdirSync, readlinkSync, rmSync, statSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import type { Topology } from "../sim/substrate/topology.ts";
import { type Capabilities, chooseMechanisms, probe } from "./capabilities.ts";
import { ipArgv, netnsDel, netnsExecArgv, netnsList } from "./commands.ts";
import { EmulationError } from "./errors.ts";
import { belongsToRun, checkRunId, newRunId, runIdOf, runPrefix } from "./names.ts";
import { runNft } from "./nft.ts";
import {
  bridgeCommands,
  type EmulationSettings,
  nodeCommands,
  type Plan,
  planSubstrate,
  relayConfig,
  rootCommands,
  sinkReplyCommands,
  sysctlCommand,
  tcCommands,
} from "./plan.ts";
import { chooseRelay, type RelayMode, relayModeFromEnv } from "./relay-build.ts";
import {
  createState,
  creator,
  creatorAlive,
  isAlive,
  listStates,
  type RunState,
  readState,
  readStateFile,
  registryDir,
  removeState,
  runDir,
  type StateFile,
  writeState,
} from "./run-state.ts";
import { ProcessRunner, parallel, type Runner, runBatch } from "./runner.ts";
import { cleanupSidecars } from "./sidecar/run-files.ts";
import { type RelayProgram, relayArgv } from "./wire-relay.ts";

export interface UpOptions {
  settings?: EmulationSettings;
  /** Runs every command; default a {@link ProcessRunner}. */
  runner?: Runner;
  /** Skip the probe (e.g. probed once for several runs). */
  capabilities?: Capabilities;
  runId?: string;
  verbose?: boolean;
  /** The run outlives this process (`topocast emulate up`): `cleanup()` then leaves it alone. @default false */
  persistent?: boolean;
  /** Roll back on SIGINT/SIGTERM during set-up. @default true */
  handleSignals?: boolean;
  /**
   * {@link withSubstrate} only: on SIGINT/SIGTERM, tear down and exit (the default), or leave signals to the
   * caller (which then ends `fn` early, e.g. through an AbortSignal; the teardown still follows `fn`).
   */
  exitOnSignal?: boolean;
  /** Concurrency across namespaces. */
  concurrency?: number;
  /** Which wire relay runs (relay-build.ts). @default $TOPOCAST_WIRE_RELAY, else "auto" */
  relay?: RelayMode;
  /** Run-state directory. */
  dir?: string;
}

export interface UpResult {
  runId: string;
  prefix: string;
  nodes: { id: string; netns: string; addresses: string[] }[];
  /** The plan's mechanisms, and the program of the wire relays (null when the run has no wire). */
  mechanisms: Plan["mechanisms"] & { relay: RelayProgram | null };
  dropped: string[];
  /** Wall time of each stage, ms. */
  timings: { probeMs: number; rootMs: number; nodesMs: number; relaysMs: number; totalMs: number };
  plan: Plan;
}

function defaultRunner(opts: { runner?: Runner; verbose?: boolean }): Runner {
  return opts.runner ?? new ProcessRunner({ verbose: opts.verbose ?? false });
}

/** Every address of every node: the node address first, then its link ends' addresses. */
export function nodeAddresses(plan: Plan): string[][] {
  const out = plan.nodes.map((n) => [n.address]);
  for (const l of plan.links) {
    out[l.a.node]!.push(l.a.address);
    out[l.b.node]!.push(l.b.address);
  }
  return out;
}

async function startRelay(netns: string, argv: string[]): Promise<number> {
  const [file, ...args] = argv;
  const child = spawn(file!, args, { detached: true, stdio: ["ignore", "pipe", "pipe"] });
  return await new Promise<number>((resolve, reject) => {
    let out = "";
    let err = "";
    const timer = setTimeout(() => fail("did not report ready within 20 s"), 20_000);
    const fail = (why: string) => {
      clearTimeout(timer);
      child.kill("SIGKILL");
      reject(
        new EmulationError(`wire relay in ${netns}: ${why}: ${err.trim()}`, argv.slice(0, 5), err.trim()),
      );
    };
    child.stderr!.on("data", (b: Buffer) => {
      err += b.toString();
    });
    child.on("error", (e) => fail(e.message));
    child.on("exit", (code) => fail(`exited with code ${code}`));
    child.stdout!.on("data", (b: Buffer) => {
      out += b.toString();
      if (out.includes('"relay-ready"')) {
        clearTimeout(timer);
        child.removeAllListeners("exit");
        child.stdout!.destroy();
        child.stderr!.destroy();
        child.unref();
        resolve(child.pid!);
      }
    });
  });
}

/**
 * Builds `topo` as namespaces. Resolves when every namespace is configured and every relay listens. On any
 * failure (or SIGINT/SIGTERM while building) everything built is removed before the error propagates.
 */
export async function up(topo: Topology, opts: UpOptions = {}): Promise<UpResult> {
  const runner = defaultRunner(opts);
  const dir = opts.dir ?? runDir();
  const runId = checkRunId(opts.runId ?? newRunId());
  const t0 = performance.now();
  const capabilities = opts.capabilities ?? (await probe(runner, runId, { dir }));
  const tProbe = performance.now();
  const plan = planSubstrate(topo, runId, chooseMechanisms(capabilities), opts.settings);
  // The C relay compiles (once per process) while the namespaces are built.
  const program = plan.links.some((l) => l.wire) ? chooseRelay(opts.relay ?? relayModeFromEnv()) : null;
  program?.catch(() => {}); // awaited in stage 3; a rejection before then must not go unhandled
  const state: RunState = {
    ...creator(runId),
    status: "building",
    persistent: opts.persistent ?? false,
    plan,
    capabilities,
    relays: [],
    virtualLinks: [],
    routes: {},
    qos: [],
    nextVni: plan.links.length + 1_000,
    nextQosMinor: 100,
    nextTable: 1000,
    nextVirtualLink: 0,
  };
  createState(state, dir);
  let interrupted: NodeJS.Signals | null = null;
  const onSignal = (sig: NodeJS.Signals) => {
    interrupted = sig;
  };
  const handle = opts.handleSignals ?? true;
  if (handle) for (const s of ["SIGINT", "SIGTERM"] as const) process.on(s, onSignal);
  const checkpoint = () => {
    if (interrupted) throw new EmulationError(`set-up of run ${runId} interrupted by ${interrupted}`);
  };
  const n = plan.nodes.length;
  const idx = Array.from({ length: n }, (_, i) => i);
  let tRoot = 0;
  let tNodes = 0;
  let relay: RelayProgram | null = null;
  try {
    await runBatch(runner, "ip", undefined, rootCommands(plan));
    tRoot = performance.now();
    checkpoint();
    await parallel(
      idx,
      async (i) => {
        const ns = plan.nodes[i]!.netns;
        await runner.run(sysctlCommand(plan, i));
        await runBatch(runner, "ip", ns, nodeCommands(plan, i));
        const sink = sinkReplyCommands(plan, i);
        if (sink.ip.length > 0) {
          await runBatch(runner, "ip", ns, sink.ip);
          await runNft(runner, ns, sink.nft);
        }
        await runBatch(runner, "tc", ns, tcCommands(plan, i));
        await runBatch(runner, "bridge", ns, bridgeCommands(plan, i));
      },
      opts.concurrency,
    );
    tNodes = performance.now();
    checkpoint();
    const relays = idx.flatMap((i) => {
      const cfg = relayConfig(plan, i);
      return cfg ? [{ netns: plan.nodes[i]!.netns, cfg }] : [];
    });
    relay = await program;
    if (relay) state.relay = relay;
    state.relays = await parallel(
      relays,
      async (r) => ({ netns: r.netns, pid: await startRelay(r.netns, relayArgv(r.netns, r.cfg, relay!)) }),
      opts.concurrency,
    );
    checkpoint();
    state.status = "up";
    writeState(state, dir);
  } catch (e) {
    await teardown(runner, runId, dir).catch(() => {});
    if (interrupted) {
      process.removeListener("SIGINT", onSignal);
      process.removeListener("SIGTERM", onSignal);
      process.kill(process.pid, interrupted);
    }
    throw e;
  } finally {
    if (handle) for (const s of ["SIGINT", "SIGTERM"] as const) process.removeListener(s, onSignal);
  }
  const tEnd = performance.now();
  const addresses = nodeAddresses(plan);
  return {
    runId,
    prefix: plan.prefix,
    nodes: plan.nodes.map((nd, i) => ({ id: nd.id, netns: nd.netns, addresses: addresses[i]! })),
    mechanisms: { ...plan.mechanisms, relay },
    dropped: plan.dropped,
    timings: {
      probeMs: tProbe - t0,
      rootMs: tRoot - tProbe,
      nodesMs: tNodes - tRoot,
      relaysMs: tEnd - tNodes,
      totalMs: tEnd - t0,
    },
    plan,
  };
}

/** Namespaces of one run (exact prefix `tc<run>-`), or of every run following the naming scheme. */
export async function listNamespaces(runner: Runner, runId?: string): Promise<string[]> {
  const r = await runner.run(ipArgv(netnsList()));
  const names = r.stdout
    .split("\n")
    .map((l) => l.trim().split(/\s+/)[0] ?? "")
    .filter((name) => name !== "");
  return names.filter((name) => (runId ? belongsToRun(name, runId) : runIdOf(name) !== undefined)).sort();
}

/** Pids of processes whose network namespace is one of `namespaces` (by nsfs inode, via /proc). */
export function pidsIn(namespaces: readonly string[]): number[] {
  const inodes = new Set<string>();
  for (const ns of namespaces) {
    try {
      inodes.add(`net:[${statSync(`/run/netns/${ns}`).ino}]`);
    } catch {}
  }
  if (inodes.size === 0) return [];
  const pids: number[] = [];
  for (const e of readdirSync("/proc")) {
    if (!/^\d+$/.test(e)) continue;
    try {
      if (inodes.has(readlinkSync(`/proc/${e}/ns/net`))) pids.push(Number(e));
    } catch {}
  }
  return pids;
}

/** SIGTERM to `pids`, SIGKILL to those alive a second later; resolves when they are gone (or after 3 s). */
export async function killAll(pids: readonly number[]): Promise<void> {
  const signal = (pid: number, sig: NodeJS.Signals) => {
    try {
      process.kill(pid, sig);
    } catch {}
  };
  for (const p of pids) signal(p, "SIGTERM");
  for (let i = 0; i < 50 && pids.some(isAlive); i++) await sleep(20);
  for (const p of pids.filter(isAlive)) signal(p, "SIGKILL");
  for (let i = 0; i < 100 && pids.some(isAlive); i++) await sleep(20);
}

/** Interfaces in the caller's namespace carrying the run's prefix (there should never be any). */
export async function rootLinks(runner: Runner, runId: string): Promise<string[]> {
  const r = await runner.run(ipArgv(["-o", "link", "show"]));
  return r.stdout
    .split("\n")
    .map((l) => /^\d+:\s+([^:@]+)/.exec(l)?.[1] ?? "")
    .filter((name) => belongsToRun(name, runId));
}

/** Removes everything of run `runId` (idempotent): processes in its namespaces, namespaces, state file. */
async function teardown(
  runner: Runner,
  runId: string,
  dir: string,
): Promise<{ namespaces: number; processes: number }> {
  const state = readState(runId, dir);
  if (state) writeState({ ...state, status: "tearing-down" }, dir);
  const namespaces = await listNamespaces(runner, runId);
  const pids = pidsIn(namespaces);
  await killAll(pids);
  cleanupSidecars({ runId, dir }); // the run's sidecars (secure virtual links, a mesh) and their keys
  await runBatch(runner, "ip", undefined, namespaces.map(netnsDel));
  for (let i = 0; ; i++) {
    const left = [...(await listNamespaces(runner, runId)), ...(await rootLinks(runner, runId))];
    if (left.length === 0) break;
    if (i >= 100) throw new EmulationError(`run ${runId}: still present after teardown: ${left.join(", ")}`);
    await sleep(20);
  }
  removeState(runId, dir);
  rmSync(registryDir(runId, dir), { recursive: true, force: true });
  return { namespaces: namespaces.length, processes: pids.length };
}

export interface DownOptions {
  runner?: Runner;
  verbose?: boolean;
  dir?: string;
}

/** Tears run `runId` down; idempotent. Resolves with what was removed and the wall time. */
export async function down(
  runId: string,
  opts: DownOptions = {},
): Promise<{ namespaces: number; processes: number; ms: number }> {
  const t0 = performance.now();
  const r = await teardown(defaultRunner(opts), checkRunId(runId), opts.dir ?? runDir());
  return { ...r, ms: performance.now() - t0 };
}

export interface RunStatus {
  runId: string;
  /** "probing": a capability probe holds the run id; "orphaned": namespaces of the run but no state file. */
  status: StateFile["status"] | "orphaned";
  persistent: boolean;
  pid: number | null;
  controllerAlive: boolean;
  topology: string | null;
  nodes: number;
  /** Namespaces of the run that exist now. */
  namespaces: number;
  createdAt: string | null;
}

/**
 * Live runs: every state file (runs and probes), plus namespaces following the naming scheme that have none
 * ("orphaned"). `controllerAlive` is true while the process that created the run runs (same pid and start time).
 */
export async function status(opts: DownOptions = {}): Promise<RunStatus[]> {
  const runner = defaultRunner(opts);
  const dir = opts.dir ?? runDir();
  const all = await listNamespaces(runner);
  const count = (id: string) => all.filter((ns) => belongsToRun(ns, id)).length;
  const out: RunStatus[] = listStates(dir).flatMap((id) => {
    const s = readStateFile(id, dir);
    if (!s) return [];
    const run = s.status === "probing" ? undefined : s;
    return [
      {
        runId: id,
        status: s.status,
        persistent: run?.persistent ?? false,
        pid: s.pid,
        controllerAlive: creatorAlive(s),
        topology: run?.plan.topology ?? null,
        nodes: run?.plan.nodes.length ?? 0,
        namespaces: count(id),
        createdAt: s.createdAt,
      },
    ];
  });
  const known = new Set(out.map((s) => s.runId));
  const orphans = [...new Set(all.map((ns) => runIdOf(ns)!))].filter((id) => !known.has(id)).sort();
  for (const id of orphans) {
    out.push({
      runId: id,
      status: "orphaned",
      persistent: false,
      pid: null,
      controllerAlive: false,
      topology: null,
      nodes: 0,
      namespaces: count(id),
      createdAt: null,
    });
  }
  return out;
}

export interface CleanupOptions extends DownOptions {
  /** Remove exactly this run (whatever its state). */
  runId?: string;
  /** Also remove namespaces named `tc<6 hex>-...` that have no state file. @default false */
  orphans?: boolean;
}

/**
 * Removes leftovers of crashed runs. With `runId`: that run only. Without: every run or probe whose creator is dead
 * (pid gone, or reused by a process with another start time) and that is not a persistent run that came up, and,
 * with `orphans`, runs without a state file (which topocast never leaves: every creator registers first; they
 * come from another run directory or an older version). Never touches a name without the exact `tc<run id>-`
 * prefix of a run selected this way.
 */
export async function cleanup(opts: CleanupOptions = {}): Promise<string[]> {
  const runner = defaultRunner(opts);
  const dir = opts.dir ?? runDir();
  let targets: string[];
  if (opts.runId) targets = [checkRunId(opts.runId)];
  else {
    const runs = await status({ ...opts, runner });
    targets = runs
      .filter((r) =>
        r.status === "orphaned"
          ? opts.orphans === true
          : !r.controllerAlive && (!r.persistent || r.status !== "up"),
      )
      .map((r) => r.runId);
  }
  for (const id of targets) {
    await teardown(runner, id, dir);
    cleanupSidecars({ runId: id, dir }); // a crashed sidecar mesh's processes and key directory
  }
  if (!opts.runId) cleanupSidecars({ dir }); // meshes whose driver is dead, on substrates already gone
  return targets;
}

/** The state of a live run; throws naming the run when there is none. */
export function requireRun(runId: string, dir = runDir()): RunState {
  const s = readState(checkRunId(runId), dir);
  if (!s) throw new EmulationError(`no live run ${runId} (no state file in ${dir})`);
  return s;
}

/** The namespace of node `node` (id) in a plan; throws naming the node and run when unknown. */
export function netnsOf(plan: Plan, node: string): string {
  const n = plan.nodes.find((x) => x.id === node);
  if (!n) throw new EmulationError(`run ${plan.runId}: unknown node "${node}"`);
  return n.netns;
}

/** Runs `argv` inside node `node`'s namespace and returns its exit code and output (no throw on non-zero). */
export async function exec(runId: string, node: string, argv: readonly string[], opts: DownOptions = {}) {
  const plan = requireRun(runId, opts.dir).plan;
  return defaultRunner(opts).run(netnsExecArgv(netnsOf(plan, node), argv), { check: false });
}

/** Spawns `argv` inside node `node`'s namespace (for agents, iperf3 servers, ...). */
export function spawnIn(
  plan: Plan,
  node: string,
  argv: readonly string[],
  options: SpawnOptions = {},
): ChildProcess {
  const [file, ...args] = netnsExecArgv(netnsOf(plan, node), argv);
  return spawn(file!, args, { stdio: "pipe", ...options });
}

/**
 * Runs `fn` with a substrate that lives exactly as long: built by {@link up}, torn down by {@link down} when `fn`
 * settles, and on SIGINT/SIGTERM (the process then exits with 128 + signal number).
 */
export async function withSubstrate<T>(
  topo: Topology,
  opts: UpOptions,
  fn: (r: UpResult) => Promise<T>,
): Promise<T> {
  const runner = defaultRunner(opts);
  const dir = opts.dir ?? runDir();
  const r = await up(topo, { ...opts, runner, dir });
  const onSignal = (sig: NodeJS.Signals) => {
    void teardown(runner, r.runId, dir).finally(() => process.exit(sig === "SIGINT" ? 130 : 143));
  };
  const exit = opts.exitOnSignal ?? true;
  if (exit) {
    process.once("SIGINT", onSignal);
    process.once("SIGTERM", onSignal);
  }
  try {
    return await fn(r);
  } finally {
    process.removeListener("SIGINT", onSignal);
    process.removeListener("SIGTERM", onSignal);
    await teardown(runner, r.runId, dir);
  }
}

export { runPrefix };
