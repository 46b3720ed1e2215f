/**
 * One registry node of the emulator: a real BitTorrent DHT node (bittorrent-dht 11: BEP 5 lookups and announces,
 * BEP 44 items) in one namespace, bound to the node address, bootstrapped from nodes of the same run only
 * (emulate/dht/keys.ts says where things live in the DHT and why).
 *
 * Run as a process: `ip netns exec <ns> node --import tsx emulate/dht/dht-node.ts <json DhtNodeConfig>`. It reports
 * `{"event":"listening","port":n}` on stdout, then serves requests, one JSON object a line on stdin
 * (`{"id":1,"op":"register","args":[...]}`), answering `{"id":1,"ok":true,"result":...}` or
 * `{"id":1,"ok":false,"error":{"name":"UnknownResourceError","message":"..."}}` on stdout. Operations: `register`,
 * `records` (the records listed under a service), `get`, `status`, `holds` (whether this node stores a resource's
 * record), `stop`. The node re-puts its index and records and re-announces every `republishMs` (BEP 44 nodes may
 * drop items after two hours; BEP 5 peers age out). With `socket` in its config it serves the same requests on
 * that Unix socket instead of stdin and runs until stopped (a daemon of a persistent run, emulate/dht/daemons.ts).
 */

import { chmodSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import DHT, { type GetResult } from "bittorrent-dht";
import {
  MalformedResourceError,
  RegistryError,
  RegistryUnavailableError,
  UnknownResourceError,
} from "../../models/services/errors.ts";
import { type Intent, validateIntent } from "../../models/services/intent.ts";
import {
  decodeRecord,
  encodeRecord,
  makeRecord,
  type OperationStats,
  type ResourceHealth,
  type ResourceMetadata,
  type ResourceRecord,
  resourceKey,
  serviceKey,
} from "../../models/services/registry.ts";
import { checkBootstrap, indexKey, MAX_VALUE_BYTES, type Peer, type RunKeys, runKeys, sha1 } from "./keys.ts";

export interface DhtNodeConfig {
  runId: string;
  node: string;
  /** The node address to bind to (also the address announces carry). */
  address: string;
  port: number;
  /** Nodes of this run to join through; empty for the first node. */
  bootstrap: Peer[];
  /** Every node address of the run: the only hosts a bootstrap entry may name. */
  runAddresses: string[];
  /** Re-put and re-announce period, ms. @default 600000 */
  republishMs?: number;
  /**
   * UDP queries in flight per node, shared by all its lookups (k-rpc's `concurrency`). A discovery runs one lookup
   * per announcing node and per resource at once, so the library's 16 queue them. @default 64
   */
  concurrency?: number;
  /** Bucket size, the width of every lookup and how many nodes store an item (k-rpc's `k`). @default 20 */
  k?: number;
  /** How long a UDP query waits for its reply, wall-clock ms (k-rpc-socket's `timeout`). @default 2000 */
  rpcTimeoutMs?: number;
  /**
   * Serve requests on this Unix socket (mode 0600) instead of stdin, and keep running without a parent: the
   * registry daemons of a persistent run (emulate/dht/daemons.ts).
   */
  socket?: string;
}

/** The records listed under a service, as one node found them. */
export interface ServiceRecords {
  records: ResourceRecord[];
  /**
   * Ids listed (by some node's index) whose record no lookup found, plus one per announcing node whose index no
   * lookup found (its ids unknown: at least one is missing).
   */
  missing: number;
  stats: OperationStats;
}

class Tally {
  private readonly t0 = process.hrtime.bigint();
  private readonly durations: number[] = [];
  lookups = 0;
  /** Counts one DHT lookup and times it (wall clock) until it settles. */
  timed<T>(lookup: Promise<T>): Promise<T> {
    this.lookups++;
    const t = process.hrtime.bigint();
    return lookup.finally(() => this.durations.push(Number(process.hrtime.bigint() - t)));
  }
  stats(): OperationStats {
    return {
      latencyNs: Number(process.hrtime.bigint() - this.t0),
      lookups: this.lookups,
      lookupLatenciesNs: this.durations,
    };
  }
}

/** The registry operations of one DHT node. */
export class RegistryNode {
  readonly dht: DHT;
  private readonly keys: RunKeys;
  /** Resource ids this node registered, with their services (its index), and the latest records. */
  private readonly own = new Map<string, ResourceRecord>();
  private indexSeq = Date.now();
  private timer: NodeJS.Timeout | undefined;

  constructor(readonly cfg: DhtNodeConfig) {
    checkBootstrap(cfg.bootstrap, cfg.runAddresses, `registry node ${cfg.node}`);
    this.keys = runKeys(cfg.runId);
    this.dht = new DHT({
      bootstrap:
        cfg.bootstrap.length > 0 ? cfg.bootstrap.map((p) => ({ host: p.host, port: p.port })) : false,
      host: cfg.address,
      verify: this.keys.verify,
      concurrency: cfg.concurrency ?? 64,
      ...(cfg.k === undefined ? {} : { k: cfg.k }),
      ...(cfg.rpcTimeoutMs === undefined ? {} : { timeout: cfg.rpcTimeoutMs }),
    });
    this.dht.on("error", (e: Error) => process.stderr.write(`dht ${cfg.node}: ${e.message}\n`));
  }

  listen(): Promise<number> {
    return new Promise((resolve) => {
      this.dht.listen(this.cfg.port, this.cfg.address, () => resolve(this.dht.address().port));
      const period = this.cfg.republishMs ?? 600_000;
      this.timer = setInterval(() => void this.republish().catch(() => {}), period);
      this.timer.unref();
    });
  }

  private putItem(key: string, value: string, seq: number, tally: Tally): Promise<number> {
    const v = Buffer.from(value);
    if (v.length > MAX_VALUE_BYTES)
      throw new MalformedResourceError(
        `${key}: ${v.length} bytes, over BEP 44's limit (${MAX_VALUE_BYTES} bytes of JSON)`,
      );
    return tally.timed(
      new Promise((resolve, reject) => {
        this.dht.put(
          { k: this.keys.publicKey, salt: sha1(key), seq, v, sign: this.keys.sign },
          (err, _hash, n) => {
            if (err) reject(new RegistryUnavailableError(`put ${key} from ${this.cfg.node}: ${err.message}`));
            else resolve(n);
          },
        );
      }),
    );
  }

  /**
   * One BEP 44 get. `read-modify-write` (register, status) asks the network first, for the freshest version, then
   * this node's own copy; `local-first` (discovery) answers from this node's own replica when it holds one, as the
   * Kademlia model's value lookup does (sim/services/kademlia.ts), and asks the network otherwise.
   */
  private getItem(
    key: string,
    tally: Tally,
    order: "read-modify-write" | "local-first" = "read-modify-write",
  ): Promise<GetResult | null> {
    const salt = sha1(key);
    const target = sha1(Buffer.concat([this.keys.publicKey, salt]));
    const once = (cache: boolean) =>
      new Promise<GetResult | null>((resolve, reject) => {
        this.dht.get(target, { salt, cache }, (err, res) => {
          if (err) reject(new RegistryUnavailableError(`get ${key} from ${this.cfg.node}: ${err.message}`));
          else resolve(res);
        });
      });
    if (order === "local-first") {
      const hex = target.toString("hex");
      if (hex in this.dht.toJSON().values) return once(true);
      return tally.timed(once(false));
    }
    return tally.timed(once(false).then((r) => r ?? once(true)));
  }

  private announce(service: string, tally: Tally): Promise<void> {
    return tally.timed(
      new Promise((resolve, reject) => {
        this.dht.announce(sha1(serviceKey(service)), this.cfg.port, (err) => {
          if (err)
            reject(new RegistryUnavailableError(`announce ${service} from ${this.cfg.node}: ${err.message}`));
          else resolve();
        });
      }),
    );
  }

  /** The nodes announced under `service` (get_peers); `onPeer` hears each one as its first reply names it. */
  private peers(service: string, tally: Tally, onPeer: (p: Peer) => void): Promise<void> {
    const hash = sha1(serviceKey(service));
    const found = new Set<string>();
    return tally.timed(
      new Promise((resolve) => {
        const onReply = (peer: Peer, infoHash: Buffer) => {
          const key = `${peer.host}:${peer.port}`;
          if (!infoHash.equals(hash) || found.has(key)) return;
          found.add(key);
          onPeer({ host: peer.host, port: peer.port });
        };
        this.dht.on("peer", onReply);
        this.dht.lookup(hash, () => {
          this.dht.off("peer", onReply);
          resolve();
        });
      }),
    );
  }

  private async record(
    id: string,
    tally: Tally,
    order?: "read-modify-write" | "local-first",
  ): Promise<ResourceRecord | undefined> {
    const r = await this.getItem(resourceKey(id), tally, order);
    return r ? decodeRecord(r.v.toString(), `DHT item ${resourceKey(id)} (seq ${r.seq})`) : undefined;
  }

  private async store(rec: ResourceRecord, tally: Tally): Promise<void> {
    await this.putItem(resourceKey(rec.id), encodeRecord(rec), rec.version, tally);
  }

  /** Puts this node's index; a put refused while a newer index (a later registration's) is on its way is no error. */
  private async publishIndex(tally: Tally): Promise<void> {
    const index = [...this.own.values()].map((r) => [r.id, r.metadata.capabilities]);
    const seq = ++this.indexSeq;
    await this.putItem(indexKey(this.cfg.address, this.cfg.port), JSON.stringify(index), seq, tally).catch(
      (e: unknown) => {
        if (this.indexSeq === seq) throw e;
      },
    );
  }

  async register(
    id: string,
    metadata: ResourceMetadata,
    intents: readonly Intent[],
  ): Promise<OperationStats> {
    const draft = makeRecord(id, metadata, intents);
    const tally = new Tally();
    const old = await this.record(id, tally);
    const rec = { ...draft, version: (old?.version ?? 0) + 1 };
    this.own.set(id, rec);
    // The record, this node's index and the announces are independent items: put all at once (one lookup's time
    // rather than three). A discovery meanwhile may see the announce before the index or the record (a record
    // missing from that answer, found by the next one).
    await Promise.all([
      this.store(rec, tally),
      this.publishIndex(tally),
      ...rec.metadata.capabilities.map((s) => this.announce(s, tally)),
    ]);
    return tally.stats();
  }

  /** The node's index, or null when no lookup found it. */
  private async indexOf(peer: Peer, tally: Tally): Promise<[string, string[]][] | null> {
    const r = await this.getItem(indexKey(peer.host, peer.port), tally, "local-first");
    if (!r) return null;
    try {
      return JSON.parse(r.v.toString()) as [string, string[]][];
    } catch {
      return [];
    }
  }

  /**
   * The records listed under `service`: the announcing nodes (get_peers), each one's index, each listed record. The
   * three steps overlap: a node's index is read as soon as a get_peers reply names the node, and a record as soon as
   * an index lists it, so a discovery takes about the longest chain of three lookups rather than the sum of the
   * three slowest.
   */
  async records(service: string): Promise<ServiceRecords> {
    const tally = new Tally();
    const reads: Promise<void>[] = [];
    const wanted = new Map<string, Promise<ResourceRecord | undefined>>();
    let unreadIndexes = 0;
    const onIndex = (index: [string, string[]][] | null) => {
      if (index === null) unreadIndexes++;
      for (const [id, caps] of index ?? [])
        if (caps.includes(service) && !wanted.has(id)) wanted.set(id, this.record(id, tally, "local-first"));
    };
    await this.peers(validateIntent({ service }, "records").service, tally, (p) =>
      reads.push(this.indexOf(p, tally).then(onIndex)),
    );
    await Promise.all(reads);
    const ids = [...wanted.keys()].sort();
    const found = await Promise.all(ids.map((id) => wanted.get(id)!));
    const records = found.filter((r): r is ResourceRecord => r !== undefined);
    return { records, missing: ids.length - records.length + unreadIndexes, stats: tally.stats() };
  }

  async get(id: string): Promise<{ record: ResourceRecord; stats: OperationStats }> {
    const tally = new Tally();
    const record = await this.record(id, tally);
    if (!record) throw new UnknownResourceError(id, `no DHT node reachable from ${this.cfg.node} holds it`);
    return { record, stats: tally.stats() };
  }

  async status(id: string, health: ResourceHealth): Promise<OperationStats> {
    const tally = new Tally();
    const old = await this.record(id, tally);
    if (!old) throw new UnknownResourceError(id, `no DHT node reachable from ${this.cfg.node} holds it`);
    const rec = makeRecord(id, { ...old.metadata, health }, old.intents, old.version + 1);
    await this.store(rec, tally);
    if (this.own.has(id)) this.own.set(id, rec);
    return tally.stats();
  }

  /** Whether this node stores (as a DHT replica) the record of `id`. */
  holds(id: string): boolean {
    const target = sha1(Buffer.concat([this.keys.publicKey, sha1(resourceKey(id))])).toString("hex");
    return target in this.dht.toJSON().values;
  }

  private async republish(): Promise<void> {
    const tally = new Tally();
    for (const rec of this.own.values()) {
      const now = (await this.record(rec.id, tally)) ?? rec;
      await this.store(now, tally).catch(() => {});
      for (const s of now.metadata.capabilities) await this.announce(s, tally).catch(() => {});
    }
    if (this.own.size > 0) await this.publishIndex(tally).catch(() => {});
  }

  close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    return new Promise((resolve) => this.dht.destroy(() => resolve()));
  }
}

/** A request on stdin. */
export interface NodeRequest {
  id: number;
  op: "register" | "records" | "get" | "status" | "holds" | "stop";
  args: unknown[];
}

async function answer(node: RegistryNode, req: NodeRequest): Promise<unknown> {
  const a = req.args;
  switch (req.op) {
    case "register":
      return node.register(a[0] as string, a[1] as ResourceMetadata, a[2] as Intent[]);
    case "records":
      return node.records(a[0] as string);
    case "get":
      return node.get(a[0] as string);
    case "status":
      return node.status(a[0] as string, a[1] as ResourceHealth);
    case "holds":
      return node.holds(a[0] as string);
    case "stop":
      await node.close();
      return true;
    default:
      throw new RegistryError(`unknown op ${JSON.stringify(req.op)}`);
  }
}

/** Answers one line-delimited request stream (stdin, or one connection to the node's socket). */
function serve(node: RegistryNode, input: NodeJS.ReadableStream, write: (o: unknown) => void): void {
  createInterface({ input }).on("line", (line) => {
    let req: NodeRequest;
    try {
      req = JSON.parse(line) as NodeRequest;
    } catch {
      return;
    }
    answer(node, req).then(
      (result) => {
        write({ id: req.id, ok: true, result });
        if (req.op === "stop") process.exit(0);
      },
      (e: unknown) => {
        const err = e instanceof Error ? e : new Error(String(e));
        write({
          id: req.id,
          ok: false,
          error: {
            name: err.name,
            message: err.message,
            resourceId: (err as UnknownResourceError).resourceId,
          },
        });
      },
    );
  });
}

async function main(cfg: DhtNodeConfig): Promise<void> {
  const node = new RegistryNode(cfg);
  const port = await node.listen();
  const line = (o: unknown) => `${JSON.stringify(o)}\n`;
  if (cfg.socket) {
    // A daemon of a persistent run: requests arrive on a Unix socket (a file, reachable from the root namespace
    // without any network traffic there); the process lives until it is stopped or the run is torn down.
    const socketPath = cfg.socket;
    rmSync(socketPath, { force: true });
    const server = createServer((conn) => {
      conn.on("error", () => {});
      serve(node, conn, (o) => conn.writable && conn.write(line(o)));
    });
    await new Promise<void>((resolve) => server.listen(socketPath, resolve));
    chmodSync(socketPath, 0o600);
    process.stdout.write(line({ event: "listening", port, socket: socketPath }));
    return;
  }
  process.stdout.write(line({ event: "listening", port, nodeId: node.dht.nodeId.toString("hex") }));
  process.stdin.on("end", () => void node.close().finally(() => process.exit(0)));
  serve(node, process.stdin, (o) => process.stdout.write(line(o)));
}

export const DHT_NODE_SCRIPT = fileURLToPath(import.meta.url);

if (process.argv[1] === DHT_NODE_SCRIPT) {
  const arg = process.argv[2];
  if (!arg) {
    process.stderr.write("usage: dht-node.ts <json config>\n");
    process.exit(2);
  }
  process.on("SIGTERM", () => process.exit(0));
  await main(JSON.parse(arg) as DhtNodeConfig);
}
