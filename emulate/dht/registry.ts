/**
 * The Resource Discovery & Intent service in the emulator: models/services/registry.ts's API over real DHT nodes,
 * one process per namespace (emulate/dht/dht-node.ts), started on a running substrate (emulate/substrate.ts `up`).
 *
 * Start-up: the first node (in the plan's node order) starts with an empty bootstrap list; every later node
 * bootstraps from the nodes already started. Every bootstrap entry is a node address of this run
 * (emulate/dht/keys.ts `checkBootstrap`, checked here and again in each process): the library's public routers are
 * never configured, and the namespaces have no default route.
 *
 * A client's operations run in the node process of its namespace, so every DHT message crosses the emulated links;
 * the matching itself ({@link selectMatches}) runs here, with the caller's path estimates. `kill(node)` crashes one
 * node's process (SIGKILL), for failure experiments. Latencies are wall-clock ns.
 */
import type { ChildProcess } from "node:child_process";
import { createInterface } from "node:readline";
import {
  MalformedIntentError,
  MalformedResourceError,
  RegistryError,
  RegistryUnavailableError,
  UnknownResourceError,
} from "../../models/services/errors.ts";
import { type Intent, validateIntent } from "../../models/services/intent.ts";
import {
  type DiscoverOptions,
  type Discovery,
  makeRecord,
  type OperationStats,
  type RegistryService,
  type ResourceHealth,
  type ResourceMetadata,
  type ResourceRecord,
  type ResourceRegistry,
  selectMatches,
} from "../../models/services/registry.ts";
import { KADEMLIA_DEFAULTS } from "../../sim/services/kademlia.ts";
import { EmulationError } from "../errors.ts";
import type { Plan } from "../plan.ts";
import { spawnIn } from "../substrate.ts";
import { DHT_NODE_SCRIPT, type DhtNodeConfig, type NodeRequest, type ServiceRecords } from "./dht-node.ts";
import { checkBootstrap, type Peer } from "./keys.ts";

export interface RegistryOptions {
  /** UDP port of every DHT node (one per namespace, so one port serves all). @default 16881 */
  port?: number;
  /** Nodes to run a registry node on (plan node ids). @default every node */
  nodes?: readonly string[];
  /** Re-put and re-announce period, ms. @default 600000 */
  republishMs?: number;
  /** How long a request may take, ms. @default 30000 */
  timeoutMs?: number;
  /** UDP queries in flight per DHT node (emulate/dht/dht-node.ts). @default 64 */
  concurrency?: number;
  /** Bucket size, lookup width and replication of every DHT node (emulate/dht/dht-node.ts). @default 20 */
  k?: number;
  /** How long a DHT node waits for a UDP reply, wall-clock ms (emulate/dht/dht-node.ts). @default 2000 */
  rpcTimeoutMs?: number;
}

export interface ErrorReply {
  name: string;
  message: string;
  resourceId?: string;
}

const ERRORS: Record<string, (e: ErrorReply) => Error> = {
  UnknownResourceError: (e) =>
    Object.assign(new UnknownResourceError(e.resourceId ?? ""), { message: e.message }),
  MalformedIntentError: (e) => new MalformedIntentError(e.message),
  MalformedResourceError: (e) => new MalformedResourceError(e.message),
  RegistryUnavailableError: (e) => new RegistryUnavailableError(e.message),
};

/** One node process and its request channel. */
class NodeProcess implements RegistryChannel {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  private exited = false;
  readonly listening: Promise<number>;

  constructor(
    readonly node: string,
    readonly child: ChildProcess,
    private readonly timeoutMs: number,
  ) {
    let onListening: (port: number) => void = () => {};
    this.listening = new Promise((resolve, reject) => {
      onListening = resolve;
      child.once("exit", (code) =>
        reject(new EmulationError(`registry node ${node} exited (code ${code}) before listening`)),
      );
    });
    createInterface({ input: child.stdout! }).on("line", (line) => {
      let msg: {
        event?: string;
        port?: number;
        id?: number;
        ok?: boolean;
        result?: unknown;
        error?: ErrorReply;
      };
      try {
        msg = JSON.parse(line);
      } catch {
        return;
      }
      if (msg.event === "listening") onListening(msg.port!);
      const p = msg.id === undefined ? undefined : this.pending.get(msg.id);
      if (!p) return;
      this.pending.delete(msg.id!);
      if (msg.ok) p.resolve(msg.result);
      else p.reject(replyError(msg.error!));
    });
    child.once("exit", () => {
      this.exited = true;
      for (const p of this.pending.values())
        p.reject(new RegistryUnavailableError(`registry node ${node} is not running`));
      this.pending.clear();
    });
  }

  get alive(): boolean {
    return !this.exited;
  }

  request<T>(op: NodeRequest["op"], args: unknown[]): Promise<T> {
    if (this.exited)
      return Promise.reject(new RegistryUnavailableError(`registry node ${this.node} is not running`));
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(
          new RegistryUnavailableError(`registry node ${this.node}: ${op} took over ${this.timeoutMs} ms`),
        );
      }, this.timeoutMs);
      this.pending.set(id, {
        resolve: (v) => {
          clearTimeout(timer);
          resolve(v as T);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      });
      this.child.stdin!.write(`${JSON.stringify({ id, op, args })}\n`);
    });
  }
}

/** Where a client's requests go: a node process's stdin (here) or its daemon's socket (daemons.ts). */
export interface RegistryChannel {
  request<T>(op: NodeRequest["op"], args: unknown[]): Promise<T>;
}

/** The reply of a node process to an error, as the client's error class. */
export function replyError(e: ErrorReply): Error {
  return (ERRORS[e.name] ?? ((x: ErrorReply) => new RegistryError(x.message)))(e);
}

/** The registry API of one node, over its channel; matching runs in the caller (with its path estimates). */
export class EmuRegistryClient implements ResourceRegistry {
  constructor(
    readonly node: string,
    private readonly proc: RegistryChannel,
  ) {}

  registerResource(
    id: string,
    metadata: ResourceMetadata,
    intents: readonly Intent[],
  ): Promise<OperationStats> {
    try {
      makeRecord(id, metadata, intents);
    } catch (e) {
      return Promise.reject(e);
    }
    return this.proc.request("register", [id, metadata, intents]);
  }

  async discoverResources(intent: Intent, opts: DiscoverOptions = {}): Promise<Discovery> {
    const wanted = validateIntent(intent, "discoverResources: intent");
    const found = await this.proc.request<ServiceRecords>("records", [wanted.service]);
    const { matches, rejected, rejectedIds } = selectMatches(wanted, found.records, opts);
    return { matches, rejected, rejectedIds, missing: found.missing, stats: found.stats };
  }

  updateResourceStatus(id: string, health: ResourceHealth): Promise<OperationStats> {
    return this.proc.request("status", [id, health]);
  }

  getResource(id: string): Promise<{ record: ResourceRecord; stats: OperationStats }> {
    return this.proc.request("get", [id]);
  }

  /** Whether this node's DHT process stores a replica of the resource's record. */
  holds(id: string): Promise<boolean> {
    return this.proc.request("holds", [id]);
  }
}

/** A running emulated registry; `close` stops every process it started (and only those). */
export class EmuRegistryService implements RegistryService {
  private readonly clients = new Map<string, EmuRegistryClient>();

  constructor(
    private readonly procs: ReadonlyMap<string, NodeProcess>,
    readonly port: number,
  ) {
    for (const [n, p] of procs) this.clients.set(n, new EmuRegistryClient(n, p));
  }

  get nodes(): string[] {
    return [...this.procs.keys()];
  }

  client(node: string): EmuRegistryClient {
    const c = this.clients.get(node);
    if (!c)
      throw new RegistryError(
        `registry: no registry node on ${JSON.stringify(node)}; nodes: ${this.nodes.join(", ")}`,
      );
    return c;
  }

  /** Process ids of the node processes still running. */
  pids(): number[] {
    return [...this.procs.values()].filter((p) => p.alive).map((p) => p.child.pid!);
  }

  /** Crashes `node`'s DHT process (SIGKILL) and waits for it to exit. */
  async kill(node: string): Promise<void> {
    const p = this.procs.get(node);
    if (!p) throw new RegistryError(`registry: no registry node on ${JSON.stringify(node)}`);
    if (!p.alive) return;
    const gone = new Promise((resolve) => p.child.once("exit", resolve));
    p.child.kill("SIGKILL");
    await gone;
  }

  async close(): Promise<void> {
    await Promise.all(
      [...this.procs.values()].map(async (p) => {
        if (!p.alive) return;
        const gone = new Promise((resolve) => p.child.once("exit", resolve));
        p.child.kill("SIGTERM");
        const t = setTimeout(() => p.child.kill("SIGKILL"), 3000);
        await gone;
        clearTimeout(t);
      }),
    );
  }
}

/**
 * The DHT node configs for a plan: node i bootstraps from the last min(8, k) of nodes 0..i-1 (the run's addresses
 * only). No more than k: k-rpc queries every bootstrap node again in any lookup whose candidates are fewer than its
 * bootstrap list, and with k below the list's length that is every lookup.
 */
export function nodeConfigs(plan: Plan, runId: string, opts: RegistryOptions = {}): DhtNodeConfig[] {
  const port = opts.port ?? 16881;
  const chosen = opts.nodes ?? plan.nodes.map((n) => n.id);
  const byId = new Map(plan.nodes.map((n) => [n.id, n]));
  const runAddresses = plan.nodes.map((n) => n.address);
  const started: Peer[] = [];
  return chosen.map((id) => {
    const n = byId.get(id);
    if (!n)
      throw new EmulationError(
        `registry: node ${JSON.stringify(id)} is not in the run; nodes: ${[...byId.keys()].join(", ")}`,
      );
    const cfg: DhtNodeConfig = {
      runId,
      node: id,
      address: n.address,
      port,
      bootstrap: started.slice(-Math.min(8, opts.k ?? 20)),
      runAddresses,
      republishMs: opts.republishMs ?? 600_000,
      concurrency: opts.concurrency ?? 64,
      ...(opts.k === undefined ? {} : { k: opts.k }),
      ...(opts.rpcTimeoutMs === undefined ? {} : { rpcTimeoutMs: opts.rpcTimeoutMs }),
    };
    checkBootstrap(cfg.bootstrap, runAddresses, `registry node ${id}`);
    started.push({ host: n.address, port });
    return cfg;
  });
}

/**
 * The registry options of an emulated run of a scenario with `intents.registry` (emulate/engine.ts), so that its DHT
 * behaves as the simulator's Kademlia model of the same scenario (sim/engine/controller.ts) in simulated time:
 * - a DHT node on each of the scenario's registry nodes;
 * - `k` = the scenario's replication (the model's k): a lookup asks the k nodes closest to the key. With the
 *   library's 20 on an 11-PoP network every lookup asked every node and ended with the farthest one's reply, one
 *   network-diameter round trip per lookup (bench/dht-intent.ts: 49.5 ms simulated median against 48 ms largest
 *   round trip);
 * - the UDP reply timeout of the model (KADEMLIA_DEFAULTS.rpcTimeoutNs, simulated) divided by `timeCompression`,
 *   as the links' delays are: the library's 2 s of wall clock is 100 ms simulated at 0.05, about two of the largest
 *   round trips, and a reply later than that evicts a live node from the routing tables.
 */
export function engineRegistryOptions(
  registry: { readonly nodes: readonly string[]; readonly replication: number },
  timeCompression: number,
): RegistryOptions {
  return {
    nodes: registry.nodes,
    k: registry.replication,
    rpcTimeoutMs: KADEMLIA_DEFAULTS.rpcTimeoutNs / 1e6 / timeCompression,
  };
}

/**
 * Starts one DHT node process per chosen node of a running substrate, one after another (each waits until
 * listening), and returns the service. On a failure, stops what it started and throws.
 */
export async function startRegistry(
  up: { runId: string; plan: Plan },
  opts: RegistryOptions = {},
): Promise<EmuRegistryService> {
  const procs = new Map<string, NodeProcess>();
  const timeoutMs = opts.timeoutMs ?? 30_000;
  try {
    for (const cfg of nodeConfigs(up.plan, up.runId, opts)) {
      const child = spawnIn(
        up.plan,
        cfg.node,
        [process.execPath, "--import", "tsx", DHT_NODE_SCRIPT, JSON.stringify(cfg)],
        {
          stdio: ["pipe", "pipe", "inherit"],
        },
      );
      const proc = new NodeProcess(cfg.node, child, timeoutMs);
      procs.set(cfg.node, proc);
      await proc.listening;
    }
  } catch (e) {
    await new EmuRegistryService(procs, opts.port ?? 16881).close();
    throw e;
  }
  return new EmuRegistryService(procs, opts.port ?? 16881);
}
