/**
 * Kademlia as a message-level model on the kernel (Maymounkov & Mazières, "Kademlia: A Peer-to-peer Information
 * System Based on the XOR Metric", IPTPS 2002).
 *
 * Nodes are DHT peers placed on substrate nodes ("hosts"); every message (request or reply) arrives after the
 * substrate's delay between the two hosts (`delayNs`, e.g. {@link substrateDelay}: the least-delay path, the
 * default route) plus `processingNs`. A message to or from a host the substrate cannot reach is lost. Nodes fail
 * by crashing (they stop answering, {@link KademliaNetwork.leave}); an RPC not answered within `rpcTimeoutNs`
 * fails and its contact leaves the caller's table.
 *
 * The model follows the paper:
 * - ids and the XOR metric, k-buckets with least-recently-seen order (sim/services/kademlia-table.ts; 32-bit ids);
 *   every message received puts its sender in the receiver's table (§2.2);
 * - iterative node and value lookups with alpha parallel RPCs (sim/services/kademlia-lookup.ts, §2.3);
 * - STORE to the k closest nodes a node lookup finds, the initiator included when it is among them (§2.3);
 * - republish: each node re-stores every key it holds once per `republishIntervalNs`, unless it received that key
 *   within the interval (§2.5's optimization), so replicas lost to churn are replaced;
 * - joins: a new node knows one live node, inserts it and looks up its own id (§2.3).
 * Left out (stated so results are read right): bucket refresh of idle buckets, caching along the lookup path,
 * value expiry (runs are shorter than the paper's 24 h), and handing keys to a newly joined close node (republish
 * does it within an interval).
 *
 * Values. A key holds items, one per publisher (`{publisher, version, payload}`), like BitTorrent's announces:
 * a store merges by publisher, the higher version winning. Keys map to ids by 32-bit FNV-1a.
 *
 * Determinism: node ids come from the stream `<name>/ids`, republish phases from `<name>/republish`; the kernel
 * orders same-time events by insertion, so a run is reproducible given its seed.
 */
import type { RandomStream, RandomStreams } from "../../sim/kernel/rng.ts";
import type { Simulator } from "../../sim/kernel/simulator.ts";
import { allPairsShortestPaths } from "../../sim/substrate/routing.ts";
import type { Topology } from "../../sim/substrate/topology.ts";
import { Lookup, type LookupOutcome, type LookupReply } from "./kademlia-lookup.ts";
import { RoutingTables } from "./kademlia-table.ts";

/** Bad parameters of the Kademlia model or its churn: names the parameter, the value and what is allowed. */
export class DhtModelError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "DhtModelError";
  }
}

/** One publisher's entry under a key. */
export interface DhtItem {
  readonly publisher: string;
  readonly version: number;
  readonly payload: unknown;
}

export interface KademliaOptions {
  /** Bucket size and replication factor (paper: 20). */
  readonly k: number;
  /** Parallel RPCs per lookup (paper: 3). */
  readonly alpha: number;
  /** An RPC unanswered after this long fails, ns. */
  readonly rpcTimeoutNs: number;
  /** Republish period, ns (paper: 1 h). */
  readonly republishIntervalNs: number;
  /** Added to every message's substrate delay (host processing), ns. */
  readonly processingNs: number;
  /** Prefix of the random streams' names. */
  readonly name: string;
}

export const KADEMLIA_DEFAULTS: KademliaOptions = Object.freeze({
  k: 20,
  alpha: 3,
  rpcTimeoutNs: 1_000_000_000,
  republishIntervalNs: 3600e9,
  processingNs: 0,
  name: "kademlia",
});

/** One lookup's result as the initiator sees it. */
export interface LookupResult {
  /** Items found (value lookup); undefined when not found. */
  readonly items?: readonly DhtItem[];
  /** Nodes that answered, closest to the key first, at most k. */
  readonly closest: readonly number[];
  readonly hops: number;
  /** Messages sent (requests and replies). */
  readonly messages: number;
  readonly timeouts: number;
  /** From the call to the result, ns. */
  readonly latencyNs: number;
}

/** A store's result: the lookup that found the nodes, and how many acknowledged. */
export interface StoreResult extends LookupResult {
  readonly stored: number;
}

interface KeyEntry {
  readonly items: Map<string, DhtItem>;
  receivedNs: number;
}

/** Message counters of the whole network. */
export interface KademliaCounters {
  messages: number;
  rpcs: number;
  timeouts: number;
  lookups: number;
  stores: number;
  republishes: number;
}

/** 32-bit FNV-1a of a string's UTF-16 code units (Fowler, Noll, Vo): a key's id. */
export function keyId(key: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    h ^= key.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** Message delay between hosts = the least-delay path's delay on `topo` (Infinity when unreachable). */
export function substrateDelay(topo: Topology): (a: number, b: number) => number {
  const table = allPairsShortestPaths(topo, { weight: "delay" });
  return (a, b) => table.cost(a, b);
}

function mergeItem(entry: KeyEntry, item: DhtItem): void {
  const old = entry.items.get(item.publisher);
  if (old === undefined || item.version >= old.version) entry.items.set(item.publisher, item);
}

export class KademliaNetwork {
  readonly options: KademliaOptions;
  readonly counters: KademliaCounters = {
    messages: 0,
    rpcs: 0,
    timeouts: 0,
    lookups: 0,
    stores: 0,
    republishes: 0,
  };
  readonly tables: RoutingTables;
  private ids = new Uint32Array(64);
  private hosts = new Int32Array(64);
  private alive = new Uint8Array(64);
  private count = 0;
  private readonly usedIds = new Set<number>();
  private readonly live: number[] = [];
  private readonly livePos: number[] = [];
  private readonly store: (Map<string, KeyEntry> | undefined)[] = [];
  private readonly idStream: RandomStream;
  private readonly phaseStream: RandomStream;
  private republishing = false;

  /**
   * @param delayNs one-way delay between two hosts, ns (non-negative; Infinity = unreachable).
   * @param options partial {@link KademliaOptions}; the rest from {@link KADEMLIA_DEFAULTS}.
   */
  constructor(
    readonly sim: Simulator,
    streams: RandomStreams,
    private readonly delayNs: (hostA: number, hostB: number) => number,
    options: Partial<KademliaOptions> = {},
  ) {
    const given = Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined));
    this.options = { ...KADEMLIA_DEFAULTS, ...given };
    const o = this.options;
    for (const [f, v] of [
      ["k", o.k],
      ["alpha", o.alpha],
    ] as const) {
      if (!Number.isInteger(v) || v < 1 || v > 255)
        throw new DhtModelError(`kademlia: ${f} must be in 1..255, got ${v}`);
    }
    for (const f of ["rpcTimeoutNs", "republishIntervalNs", "processingNs"] as const) {
      const v = o[f];
      if (!Number.isSafeInteger(v) || v < 0 || (v === 0 && f !== "processingNs"))
        throw new DhtModelError(`kademlia: ${f} must be a positive integer of ns, got ${v}`);
    }
    this.tables = new RoutingTables(o.k, () => this.ids);
    this.idStream = streams.stream(`${o.name}/ids`);
    this.phaseStream = streams.stream(`${o.name}/republish`);
  }

  /** Nodes ever added (live or not); node indices are 0..nodeCount-1 and never reused. */
  get nodeCount(): number {
    return this.count;
  }

  /** The live nodes (in no particular order; a copy). */
  liveNodes(): number[] {
    return this.live.slice();
  }

  get liveCount(): number {
    return this.live.length;
  }

  /** The i-th live node, for uniform picks (`liveAt(stream.int(liveCount))`). */
  liveAt(i: number): number {
    return this.live[i]!;
  }

  isAlive(node: number): boolean {
    return this.alive[node] === 1;
  }

  idOf(node: number): number {
    return this.ids[node]!;
  }

  hostOf(node: number): number {
    return this.hosts[node]!;
  }

  /** The ids array (index -> id), for tests and the lookup. */
  idArray(): Uint32Array {
    return this.ids;
  }

  /** Keys node `node` stores, sorted. */
  keysAt(node: number): string[] {
    return [...(this.store[node]?.keys() ?? [])].sort();
  }

  /** Items node `node` holds under `key` (sorted by publisher), or undefined. */
  itemsAt(node: number, key: string): DhtItem[] | undefined {
    const e = this.store[node]?.get(key);
    return e ? [...e.items.values()].sort((a, b) => (a.publisher < b.publisher ? -1 : 1)) : undefined;
  }

  private grow(n: number): void {
    if (n <= this.ids.length) return;
    let cap = this.ids.length;
    while (cap < n) cap *= 2;
    const ids = new Uint32Array(cap);
    ids.set(this.ids);
    const hosts = new Int32Array(cap);
    hosts.set(this.hosts);
    const alive = new Uint8Array(cap);
    alive.set(this.alive);
    this.ids = ids;
    this.hosts = hosts;
    this.alive = alive;
    this.tables.ensure(cap);
  }

  /**
   * Adds a live node on `host` with an empty table (a fresh random id unless `id` is given) and returns its
   * index. It learns of others by {@link join}, {@link warmStart} or {@link setContacts}.
   */
  addNode(host: number, id?: number): number {
    let nid = id;
    if (nid === undefined) {
      do nid = Math.floor(this.idStream.uniform() * 2 ** 32) >>> 0;
      while (this.usedIds.has(nid));
    } else if (!Number.isInteger(nid) || nid < 0 || nid >= 2 ** 32 || this.usedIds.has(nid)) {
      throw new DhtModelError(`kademlia: node id must be a new integer in [0, 2^32), got ${nid}`);
    }
    const n = this.count++;
    this.grow(this.count);
    this.usedIds.add(nid);
    this.ids[n] = nid;
    this.hosts[n] = host;
    this.alive[n] = 1;
    this.livePos[n] = this.live.length;
    this.live.push(n);
    if (this.republishing) this.scheduleRepublish(n);
    return n;
  }

  /** Puts `contacts` in `node`'s table in the given order (least recently seen first), as far as buckets allow. */
  setContacts(node: number, contacts: readonly number[]): void {
    for (const c of contacts) this.tables.touch(node, c);
  }

  /** Crashes `node`: it stops answering and its stored items are lost. Idempotent. */
  leave(node: number): void {
    if (this.alive[node] !== 1) return;
    this.alive[node] = 0;
    const pos = this.livePos[node]!;
    const last = this.live.pop()!;
    if (last !== node) {
      this.live[pos] = last;
      this.livePos[last] = pos;
    }
    this.store[node] = undefined;
    this.tables.clear(node);
  }

  /**
   * Fills every live node's table from global knowledge, as if the network had run a long time without churn:
   * bucket b of node x gets min(k, |candidates|) of the live nodes whose XOR distance to x lies in
   * [2^b, 2^(b+1)), drawn uniformly (Floyd's sampling) from the stream `<name>/warm-start`. A shortcut to
   * simulate large networks without their join phase (PeerSim and OverSim offer the same).
   */
  warmStart(streams: RandomStreams): void {
    const rng = streams.stream(`${this.options.name}/warm-start`);
    const nodes = this.live.slice().sort((a, b) => this.ids[a]! - this.ids[b]!);
    const sorted = Uint32Array.from(nodes, (n) => this.ids[n]!);
    const lowerBound = (v: number): number => {
      let lo = 0;
      let hi = sorted.length;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (sorted[mid]! < v) lo = mid + 1;
        else hi = mid;
      }
      return lo;
    };
    const k = this.options.k;
    for (const x of nodes) {
      const id = this.ids[x]!;
      for (let b = 0; b < 32; b++) {
        const span = 2 ** b;
        const lo = Math.floor(((id ^ span) >>> 0) / span) * span;
        const from = lowerBound(lo);
        const to = lowerBound(lo + span);
        const n = to - from;
        if (n <= k) {
          for (let i = from; i < to; i++) this.tables.touch(x, nodes[i]!);
          continue;
        }
        const picked = new Set<number>();
        for (let j = n - k; j < n; j++) {
          const t = rng.int(j + 1);
          picked.add(picked.has(t) ? j : t);
        }
        for (const p of [...picked].sort((a, c) => a - c)) this.tables.touch(x, nodes[from + p]!);
      }
    }
  }

  private messageDelay(a: number, b: number): number {
    const d = this.delayNs(this.hosts[a]!, this.hosts[b]!);
    return d + this.options.processingNs;
  }

  /**
   * One RPC from `from` to `to`: the request arrives after the path delay; a live receiver puts the sender in its
   * table and answers with `handle(to)`; the reply arrives after the reverse delay and the sender puts the
   * responder in its table. A crashed sender sends nothing (its pending lookups run out by timeouts). Exactly one of `onReply` / `onFail` runs (the timeout also removes `to` from `from`'s
   * table).
   */
  private rpc<R>(
    from: number,
    to: number,
    handle: (at: number) => R,
    onReply: (r: R) => void,
    onFail: () => void,
  ) {
    const sim = this.sim;
    const c = this.counters;
    c.rpcs++;
    c.messages++;
    let settled = false;
    const there = this.messageDelay(from, to);
    sim.schedule(this.options.rpcTimeoutNs, () => {
      if (settled) return;
      settled = true;
      c.timeouts++;
      if (this.alive[from] === 1) this.tables.remove(from, to);
      onFail();
    });
    if (!Number.isFinite(there) || this.alive[from] !== 1) return;
    sim.schedule(Math.round(there), () => {
      if (this.alive[to] !== 1) return;
      this.tables.touch(to, from);
      const reply = handle(to);
      const back = this.messageDelay(to, from);
      c.messages++;
      if (!Number.isFinite(back)) return;
      sim.schedule(Math.round(back), () => {
        if (settled || this.alive[from] !== 1) return;
        settled = true;
        this.tables.touch(from, to);
        onReply(reply);
      });
    });
  }

  private lookup(
    from: number,
    target: number,
    key: string | undefined,
    done: (r: LookupResult) => void,
  ): void {
    const t0 = this.sim.now;
    this.counters.lookups++;
    const local = key === undefined ? undefined : this.itemsAt(from, key);
    if (local !== undefined) {
      done({ items: local, closest: [], hops: 0, messages: 0, timeouts: 0, latencyNs: 0 });
      return;
    }
    const k = this.options.k;
    const finish = (o: LookupOutcome<DhtItem[]>) => {
      const r = {
        closest: o.closest,
        hops: o.hops,
        messages: 2 * o.rpcs - o.timeouts,
        timeouts: o.timeouts,
        latencyNs: this.sim.now - t0,
      };
      done(o.value === undefined ? r : { ...r, items: o.value });
    };
    const rpc = {
      send: (to: number, onReply: (r: LookupReply<DhtItem[]>) => void, onFail: () => void) =>
        this.rpc(
          from,
          to,
          (at): LookupReply<DhtItem[]> => {
            const items = key === undefined ? undefined : this.itemsAt(at, key);
            return items === undefined
              ? { contacts: this.tables.closest(at, target, k) }
              : { contacts: [], value: items };
          },
          onReply,
          onFail,
        ),
    };
    new Lookup<DhtItem[]>(
      from,
      target,
      this.ids,
      k,
      this.options.alpha,
      key !== undefined,
      rpc,
      finish,
    ).start(this.tables.closest(from, target, k));
  }

  /** Node lookup for `targetId` from `from` (FIND_NODE): the k closest live nodes it can find. */
  findNode(from: number, targetId: number, done: (r: LookupResult) => void): void {
    this.lookup(from, targetId >>> 0, undefined, done);
  }

  /** Value lookup for `key` from `from` (FIND_VALUE); `items` is undefined when no node returned it. */
  findValue(from: number, key: string, done: (r: LookupResult) => void): void {
    this.lookup(from, keyId(key), key, done);
  }

  private storeLocal(node: number, key: string, items: readonly DhtItem[]): void {
    let m = this.store[node];
    if (m === undefined) {
      m = new Map();
      this.store[node] = m;
    }
    let e = m.get(key);
    if (e === undefined) {
      e = { items: new Map(), receivedNs: this.sim.now };
      m.set(key, e);
    }
    e.receivedNs = this.sim.now;
    for (const it of items) mergeItem(e, it);
  }

  /**
   * Stores `items` under `key` at the k closest nodes a node lookup from `from` finds (the initiator too when it
   * is closer than the k-th); `done` gets the lookup's figures and the number of nodes that acknowledged.
   */
  put(from: number, key: string, items: readonly DhtItem[], done: (r: StoreResult) => void = () => {}): void {
    this.counters.stores++;
    const target = keyId(key);
    this.findNode(from, target, (r) => {
      const k = this.options.k;
      const nodes = r.closest.slice();
      const selfD = (this.ids[from]! ^ target) >>> 0;
      const kth = nodes.length < k ? Number.POSITIVE_INFINITY : (this.ids[nodes[k - 1]!]! ^ target) >>> 0;
      let stored = 0;
      if (selfD < kth && this.alive[from] === 1) {
        this.storeLocal(from, key, items);
        stored++;
        if (nodes.length >= k) nodes.length = k - 1;
      }
      let pending = nodes.length;
      let messages = r.messages;
      let timeouts = r.timeouts;
      const t0 = this.sim.now - r.latencyNs;
      const end = () => {
        if (--pending > 0) return;
        done({ ...r, messages, timeouts, stored, latencyNs: this.sim.now - t0 });
      };
      if (pending === 0) {
        pending = 1;
        end();
        return;
      }
      for (const n of nodes) {
        this.rpc(
          from,
          n,
          (at) => this.storeLocal(at, key, items),
          () => {
            stored++;
            messages += 2;
            end();
          },
          () => {
            messages++;
            timeouts++;
            end();
          },
        );
      }
    });
  }

  /** Starts every live node's (and every later node's) republish timer, each with a random phase. Idempotent. */
  startRepublish(): void {
    if (this.republishing) return;
    this.republishing = true;
    for (const n of this.live.slice().sort((a, b) => a - b)) this.scheduleRepublish(n);
  }

  private scheduleRepublish(node: number): void {
    const period = this.options.republishIntervalNs;
    const phase = Math.floor(this.phaseStream.uniform() * period);
    const tick = (): void => {
      if (this.alive[node] !== 1) return;
      this.republish(node);
      this.sim.schedule(period, tick);
    };
    this.sim.schedule(phase, tick);
  }

  private republish(node: number): void {
    const m = this.store[node];
    if (m === undefined) return;
    const cutoff = this.sim.now - this.options.republishIntervalNs;
    for (const key of [...m.keys()].sort()) {
      const e = m.get(key)!;
      if (e.receivedNs > cutoff) continue;
      e.receivedNs = this.sim.now;
      this.counters.republishes++;
      this.put(node, key, [...e.items.values()]);
    }
  }

  /**
   * Joins `node` through `bootstrap` (a live node): inserts it and looks up its own id, so the nodes on the way
   * learn of it and it fills its buckets (§2.3).
   */
  join(node: number, bootstrap: number, done: (r: LookupResult) => void = () => {}): void {
    this.tables.touch(node, bootstrap);
    this.findNode(node, this.ids[node]!, done);
  }
}
