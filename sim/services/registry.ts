/**
 * The Resource Discovery & Intent service in the simulator: models/services/registry.ts's API on the Kademlia
 * model (sim/services/kademlia.ts), one DHT node per substrate node, every message delayed by the substrate.
 *
 * Operations (each a few DHT lookups, all in simulated time):
 * - register: read the resource key (for the version), then store the record under the resource key (publisher =
 *   the resource id) and announce the id under each offered service's key;
 * - discover: read the service key (the ids announced), then read every listed resource key in parallel and keep
 *   the matches ({@link selectMatches});
 * - update status: read the resource key, store the record again with the new health and version + 1.
 *
 * Promises settle while the kernel runs (`sim.run(until)`): an operation's promise resolves in the event that
 * completes it, its `stats.latencyNs` the simulated time it took. The caller drives the kernel and then awaits.
 */

import { RegistryError, UnknownResourceError } from "../../models/services/errors.ts";
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
  resourceKey,
  selectMatches,
  serviceKey,
} from "../../models/services/registry.ts";
import type { RandomStreams } from "../../sim/kernel/rng.ts";
import type { Simulator } from "../../sim/kernel/simulator.ts";
import type { Topology } from "../../sim/substrate/topology.ts";
import {
  type DhtItem,
  KademliaNetwork,
  type KademliaOptions,
  type LookupResult,
  substrateDelay,
} from "./kademlia.ts";

/** Sums lookups into one operation's stats (messages add, hops take the maximum). */
class Tally {
  lookups = 0;
  hops = 0;
  messages = 0;
  constructor(readonly startNs: number) {}
  add(r: LookupResult): void {
    this.lookups++;
    this.hops = Math.max(this.hops, r.hops);
    this.messages += r.messages;
  }
  stats(nowNs: number): OperationStats {
    return {
      latencyNs: nowNs - this.startNs,
      lookups: this.lookups,
      hops: this.hops,
      messages: this.messages,
    };
  }
}

function recordOf(id: string, items: readonly DhtItem[] | undefined): ResourceRecord | undefined {
  const item = items?.find((i) => i.publisher === id);
  return item?.payload as ResourceRecord | undefined;
}

class SimRegistryClient implements ResourceRegistry {
  constructor(
    readonly node: string,
    readonly dhtNode: number,
    private readonly net: KademliaNetwork,
  ) {}

  private get(key: string, tally: Tally): Promise<LookupResult> {
    return new Promise((resolve) =>
      this.net.findValue(this.dhtNode, key, (r) => {
        tally.add(r);
        resolve(r);
      }),
    );
  }

  private put(key: string, item: DhtItem, tally: Tally): Promise<number> {
    return new Promise((resolve) =>
      this.net.put(this.dhtNode, key, [item], (r) => {
        tally.add(r);
        resolve(r.stored);
      }),
    );
  }

  private async store(record: ResourceRecord, tally: Tally, announce: boolean): Promise<void> {
    const puts = [
      this.put(
        resourceKey(record.id),
        { publisher: record.id, version: record.version, payload: record },
        tally,
      ),
    ];
    if (announce) {
      for (const s of record.metadata.capabilities)
        puts.push(
          this.put(serviceKey(s), { publisher: record.id, version: record.version, payload: null }, tally),
        );
    }
    const stored = await Promise.all(puts);
    if (stored[0] === 0)
      throw new RegistryError(
        `resource ${JSON.stringify(record.id)}: no DHT node stored the record (from ${this.node})`,
      );
  }

  async registerResource(
    id: string,
    metadata: ResourceMetadata,
    intents: readonly Intent[],
  ): Promise<OperationStats> {
    const draft = makeRecord(id, metadata, intents);
    const tally = new Tally(this.net.sim.now);
    const old = recordOf(id, (await this.get(resourceKey(id), tally)).items);
    await this.store({ ...draft, version: (old?.version ?? 0) + 1 }, tally, true);
    return tally.stats(this.net.sim.now);
  }

  async discoverResources(intent: Intent, opts: DiscoverOptions = {}): Promise<Discovery> {
    const wanted = validateIntent(intent, "discoverResources: intent");
    const tally = new Tally(this.net.sim.now);
    const listed = (await this.get(serviceKey(wanted.service), tally)).items ?? [];
    const ids = listed.map((i) => i.publisher).sort();
    const found = await Promise.all(
      ids.map(async (id) => recordOf(id, (await this.get(resourceKey(id), tally)).items)),
    );
    const records = found.filter((r): r is ResourceRecord => r !== undefined);
    const { matches, rejected, rejectedIds } = selectMatches(wanted, records, opts);
    return {
      matches,
      rejected,
      rejectedIds,
      missing: ids.length - records.length,
      stats: tally.stats(this.net.sim.now),
    };
  }

  async getResource(id: string): Promise<{ record: ResourceRecord; stats: OperationStats }> {
    const tally = new Tally(this.net.sim.now);
    const record = recordOf(id, (await this.get(resourceKey(id), tally)).items);
    if (record === undefined)
      throw new UnknownResourceError(id, `no DHT node reachable from ${this.node} holds it`);
    return { record, stats: tally.stats(this.net.sim.now) };
  }

  async updateResourceStatus(id: string, health: ResourceHealth): Promise<OperationStats> {
    const { record, stats } = await this.getResource(id);
    const next = makeRecord(id, { ...record.metadata, health }, record.intents, record.version + 1);
    const tally = new Tally(this.net.sim.now - stats.latencyNs);
    tally.lookups = stats.lookups;
    tally.hops = stats.hops ?? 0;
    tally.messages = stats.messages ?? 0;
    await this.store(next, tally, false);
    return tally.stats(this.net.sim.now);
  }
}

/** The simulated registry: one Kademlia node per substrate node, sharing one {@link KademliaNetwork}. */
export class SimRegistryService implements RegistryService {
  readonly nodes: readonly string[];
  private readonly clients = new Map<string, SimRegistryClient>();
  private closed = false;

  /**
   * @param placement substrate node id -> the DHT node (index in `net`) serving it.
   */
  constructor(
    readonly net: KademliaNetwork,
    placement: ReadonlyMap<string, number>,
  ) {
    this.nodes = [...placement.keys()].sort();
    for (const n of this.nodes) this.clients.set(n, new SimRegistryClient(n, placement.get(n)!, net));
  }

  client(node: string): ResourceRegistry {
    if (this.closed) throw new RegistryError("registry: closed");
    const c = this.clients.get(node);
    if (c === undefined)
      throw new RegistryError(
        `registry: no registry node on ${JSON.stringify(node)}; nodes: ${this.nodes.join(", ")}`,
      );
    return c;
  }

  /** The DHT node serving substrate node `node` (for failure injection: `net.leave(dhtNodeOf(n))`). */
  dhtNodeOf(node: string): number {
    const c = this.clients.get(node);
    if (c === undefined) throw new RegistryError(`registry: no registry node on ${JSON.stringify(node)}`);
    return c.dhtNode;
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}

/**
 * Deploys the registry on `topo`: one DHT node per substrate node (in node order; only those of `nodes` when given),
 * routing tables filled by a message-level join of each node through the first (sequential, `joinGapNs` apart)
 * unless `warm` asks for the global-knowledge start, then republishing (unless `republish` is false: a run that
 * drains its kernel to the end must not keep an hourly timer). Runs the kernel until the joins are done.
 * @throws RegistryError for a node id of `nodes` that `topo` does not have.
 */
export function deployRegistry(
  sim: Simulator,
  streams: RandomStreams,
  topo: Topology,
  opts: Partial<KademliaOptions> & {
    warm?: boolean;
    joinGapNs?: number;
    nodes?: readonly string[];
    republish?: boolean;
  } = {},
): SimRegistryService {
  const { warm, joinGapNs, nodes: only, republish, ...kademlia } = opts;
  for (const id of only ?? [])
    if (!topo.hasNode(id)) throw new RegistryError(`registry: no node ${JSON.stringify(id)} in ${topo.name}`);
  const hosts = only ? topo.nodes.filter((n) => only.includes(n.id)) : topo.nodes;
  const net = new KademliaNetwork(sim, streams, substrateDelay(topo), kademlia);
  const placement = new Map<string, number>();
  for (const n of hosts) placement.set(n.id, net.addNode(n.index));
  if (warm) net.warmStart(streams);
  else {
    const gap = joinGapNs ?? 1_000_000_000;
    const first = placement.get(hosts[0]!.id)!;
    hosts.slice(1).forEach((n, i) => {
      sim.schedule(gap * i, () => net.join(placement.get(n.id)!, first));
    });
    sim.run(sim.now + gap * hosts.length + 10 * net.options.rpcTimeoutNs);
  }
  if (republish !== false) net.startRepublish();
  return new SimRegistryService(net, placement);
}
