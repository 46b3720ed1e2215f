/**
 * The registry of a persistent run (`topocast emulate up`, then `topocast registry ...` from other processes): one
 * bittorrent-dht node per chosen namespace, as in registry.ts, but started as daemons that outlive the command that
 * started them. Each serves requests on a Unix socket under the run directory (`<run dir>/<run id>.registry/<node>.sock`,
 * mode 0600, in a directory of mode 0700; its log beside it), so a later command reaches a node without any traffic in
 * the root namespace: every DHT message still travels between the run's namespaces over the emulated links.
 *
 * The daemons are recorded in the run's state file (`registry`); `stopDaemons` stops them, and tearing the run down
 * (`emulate down`, `emulate cleanup`) kills every process in its namespaces and removes the socket directory.
 *
 * Errors: {@link EmulationError} for a run that is not up, a registry already running or not running, a node that
 * does not start (with the end of its log); the registry's own errors (models/services/errors.ts) from requests.
 */
import { spawn } from "node:child_process";
import { closeSync, mkdirSync, openSync, readFileSync, rmSync } from "node:fs";
import { connect } from "node:net";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { RegistryUnavailableError } from "../../models/services/errors.ts";
import type { PathEstimate } from "../../models/services/intent.ts";
import type { ResourceRecord } from "../../models/services/registry.ts";
import { netnsExecArgv } from "../commands.ts";
import { EmulationError } from "../errors.ts";
import type { Plan } from "../plan.ts";
import {
  isAlive,
  processStart,
  type RunState,
  readState,
  registryDir,
  runDir,
  writeState,
} from "../run-state.ts";
import { killAll, netnsOf, requireRun } from "../substrate.ts";
import { DHT_NODE_SCRIPT, type NodeRequest } from "./dht-node.ts";
import {
  EmuRegistryClient,
  type ErrorReply,
  nodeConfigs,
  type RegistryChannel,
  type RegistryOptions,
  replyError,
} from "./registry.ts";

/** What a run's state file records about its registry daemons: the DHT's UDP port and each node's daemon. */
export type RegistryDaemonState = NonNullable<RunState["registry"]>;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Sends one request on a daemon's socket and resolves with its result (or rejects with the registry's error). */
class SocketChannel implements RegistryChannel {
  private nextId = 1;

  constructor(
    private readonly node: string,
    private readonly socket: string,
    private readonly timeoutMs: number,
  ) {}

  request<T>(op: NodeRequest["op"], args: unknown[]): Promise<T> {
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      const conn = connect(this.socket);
      const fail = (message: string) => {
        conn.destroy();
        reject(new RegistryUnavailableError(`registry node ${this.node}: ${message}`));
      };
      const timer = setTimeout(() => fail(`${op} took over ${this.timeoutMs} ms`), this.timeoutMs);
      conn.on("error", (e) => {
        clearTimeout(timer);
        fail(`not reachable at ${this.socket} (${(e as NodeJS.ErrnoException).code ?? e.message})`);
      });
      conn.on("connect", () => conn.write(`${JSON.stringify({ id, op, args })}\n`));
      createInterface({ input: conn }).on("line", (line) => {
        let msg: { id?: number; ok?: boolean; result?: unknown; error?: ErrorReply };
        try {
          msg = JSON.parse(line);
        } catch {
          return;
        }
        if (msg.id !== id) return;
        clearTimeout(timer);
        conn.end();
        if (msg.ok) resolve(msg.result as T);
        else reject(replyError(msg.error!));
      });
    });
  }
}

/** Whether a socket accepts connections. */
function accepts(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const c = connect(path);
    c.on("connect", () => {
      c.destroy();
      resolve(true);
    });
    c.on("error", () => resolve(false));
  });
}

const tail = (file: string) => {
  try {
    return readFileSync(file, "utf8").trim().split("\n").slice(-3).join(" | ");
  } catch {
    return "";
  }
};

/** The running daemons of a run's registry (an entry whose process is gone is left out). */
function liveDaemons(state: RunState): RegistryDaemonState["nodes"] {
  return (state.registry?.nodes ?? []).filter(
    (d) => isAlive(d.pid) && (d.pidStart === undefined || processStart(d.pid) === d.pidStart),
  );
}

export interface DaemonOptions extends RegistryOptions {
  /** Run directory (state files). @default runDir() */
  dir?: string;
}

/**
 * Starts the registry daemons of persistent run `runId`, one after another in the plan's node order (each
 * bootstraps from those already started, as in registry.ts), records them in the run's state and returns them.
 * Throws EmulationError when the run is not up, when its registry already runs, or when a node does not start
 * within `timeoutMs` (the nodes started so far are stopped).
 */
export async function startDaemons(runId: string, opts: DaemonOptions = {}): Promise<RegistryDaemonState> {
  const dir = opts.dir ?? runDir();
  const state = requireRun(runId, dir);
  if (state.status !== "up") throw new EmulationError(`run ${runId} is ${state.status}, not up`);
  if (liveDaemons(state).length > 0)
    throw new EmulationError(
      `run ${runId}: its registry already runs (${liveDaemons(state).length} nodes); stop it with: topocast registry stop ${runId}`,
    );
  const sockets = registryDir(runId, dir);
  rmSync(sockets, { recursive: true, force: true });
  mkdirSync(sockets, { recursive: true, mode: 0o700 });
  const timeoutMs = opts.timeoutMs ?? 30_000;
  const tsx = import.meta.resolve("tsx");
  const started: RegistryDaemonState["nodes"] = [];
  const port = opts.port ?? 16881;
  try {
    for (const cfg of nodeConfigs(state.plan, runId, opts)) {
      const socket = join(sockets, `${cfg.node}.sock`);
      const log = join(sockets, `${cfg.node}.log`);
      const fd = openSync(log, "a", 0o600);
      const [file, ...args] = netnsExecArgv(netnsOf(state.plan, cfg.node), [
        process.execPath,
        "--import",
        tsx,
        DHT_NODE_SCRIPT,
        JSON.stringify({ ...cfg, socket }),
      ]);
      // Its own session (detached), so the terminal's Ctrl-C on a later command does not reach it.
      const child = spawn(file!, args, { stdio: ["ignore", fd, fd], detached: true });
      closeSync(fd);
      child.unref();
      let exited: number | null | undefined;
      child.once("exit", (code) => {
        exited = code;
      });
      const pidStart = processStart(child.pid!);
      started.push({ node: cfg.node, pid: child.pid!, ...(pidStart === null ? {} : { pidStart }), socket });
      const t0 = performance.now();
      while (!(await accepts(socket))) {
        if (exited !== undefined)
          throw new EmulationError(`registry node ${cfg.node} exited (code ${exited}): ${tail(log)}`);
        if (performance.now() - t0 > timeoutMs)
          throw new EmulationError(
            `registry node ${cfg.node} did not start within ${timeoutMs} ms: ${tail(log)}`,
          );
        await sleep(50);
      }
    }
  } catch (e) {
    await killAll(started.map((d) => d.pid));
    rmSync(sockets, { recursive: true, force: true });
    throw e;
  }
  const registry: RegistryDaemonState = { port, nodes: started };
  writeState({ ...(readState(runId, dir) ?? state), registry }, dir);
  return registry;
}

/** Stops run `runId`'s registry daemons and removes their sockets and logs; resolves with how many were running. */
export async function stopDaemons(runId: string, dir = runDir()): Promise<number> {
  const state = requireRun(runId, dir);
  const live = liveDaemons(state);
  await killAll(live.map((d) => d.pid));
  rmSync(registryDir(runId, dir), { recursive: true, force: true });
  const { registry: _, ...rest } = readState(runId, dir) ?? state;
  writeState(rest, dir);
  return live.length;
}

/**
 * A client of run `runId`'s registry on `node` (its daemon's socket). Throws EmulationError when the registry does
 * not run there.
 */
export function daemonClient(
  runId: string,
  node: string,
  opts: { dir?: string; timeoutMs?: number } = {},
): EmuRegistryClient {
  const state = requireRun(runId, opts.dir ?? runDir());
  const live = liveDaemons(state);
  if (live.length === 0)
    throw new EmulationError(
      `run ${runId}: no registry runs; start one with: topocast registry start ${runId}`,
    );
  const d = live.find((x) => x.node === node);
  if (!d)
    throw new EmulationError(
      `run ${runId}: no registry node on ${JSON.stringify(node)}; nodes: ${live.map((x) => x.node).join(", ")}`,
    );
  return new EmuRegistryClient(node, new SocketChannel(node, d.socket, opts.timeoutMs ?? 30_000));
}

/**
 * The path from `from` to each resource's node along the run's default routes (the plan's shortest paths): the
 * configured one-way delays summed (ns), the lowest emulated egress rate on the way (bits/s; unlimited links count
 * as infinite), `secure: false` (a plan does not record link security, so a secure-only intent matches only
 * resources on the asking node) and cost 0 (nor egress prices). Undefined for a node the run does not have or
 * cannot reach.
 */
export function planPathEstimates(plan: Plan, from: string): (r: ResourceRecord) => PathEstimate | undefined {
  const index = new Map(plan.nodes.map((n) => [n.id, n.index]));
  const src = index.get(from);
  return (r) => {
    const dst = index.get(r.metadata.node);
    if (src === undefined || dst === undefined) return undefined;
    if (src === dst)
      return { latencyNs: 0, bandwidthBps: Number.POSITIVE_INFINITY, secure: true, costPerGB: 0 };
    let latencyNs = 0;
    let bandwidthBps = Number.POSITIVE_INFINITY;
    let at = src;
    for (let hops = 0; at !== dst; hops++) {
      const route = plan.routes[at]?.find((x) => x.dst === dst);
      if (!route || hops > plan.nodes.length) return undefined;
      const link = plan.links.find(
        (l) => (l.a.node === at && l.a.dev === route.dev) || (l.b.node === at && l.b.dev === route.dev),
      );
      if (!link) return undefined;
      const forward = link.a.node === at;
      const [near, far] = forward ? [link.a, link.b] : [link.b, link.a];
      latencyNs += (forward ? link.delayNs[0] : link.delayNs[1]) ?? 0;
      if (near.rateBps !== null) bandwidthBps = Math.min(bandwidthBps, near.rateBps);
      at = far.node;
    }
    return { latencyNs, bandwidthBps, secure: false, costPerGB: 0 };
  };
}
