/**
 * Service instances from the registry (issue 15): how the intent-aware policies (models/policies/intent-routing.ts,
 * models/policies/nearest-instance.ts) learn where a service runs when the config's `intents.registry` is set,
 * instead of reading the instances from the config. The same code runs in both engines; only the
 * {@link RegistryService} under it differs (the simulator's Kademlia model, sim/services/registry.ts, every message
 * delayed by the substrate; the emulator's bittorrent-dht processes, emulate/dht/registry.ts, over the emulated
 * links).
 *
 * - {@link RegistryAccess} is the engine's side: the deployment, the engine's clock (simulated ns), the cache TTL,
 *   the operations in flight (the simulator runs its kernel one event time at a time while any is, so their
 *   multi-step promises continue at the right simulated instants: sim/services/settle.ts) and the run's totals
 *   ({@link DiscoveryTotals}, summary.json `policies[i].discovery`).
 * - {@link InstanceDirectory} is the policy's side, called at every control step:
 *   - registration at start: at the first step every instance registers itself from its own node (resource id
 *     `<service>/<node>`, metadata health `up`, no promise: the policy costs the paths itself);
 *   - a health monitor on each instance's node: when the instance's attachment link to its service's anycast node
 *     (models/services/intent-mesh.ts: the instance's liveness) changes state between two steps, the node updates
 *     the record (`updateResourceStatus(id, "down" | "up")`); updates of one instance are applied in order;
 *   - discovery with a cache per (client node, service), like a DNS resolver's: a step that finds no answer or an
 *     answer older than the TTL starts `discoverResources({service})` from the client's node (one in flight per
 *     key) and meanwhile answers from the cache as it is (stale). Instances whose record is `down` are not returned
 *     (selectMatches).
 *   - a bounded start: the first discoveries of a service wait for that service's registrations (one slow
 *     registration holds only its own service's clients), but no longer than the access's `registrationWaitNs`
 *     after the first step (checked at each step, so the same in both engines); registrations still under way
 *     then are counted (`registrationsLate`). Until a client's first discovery has answered, its
 *     steps get the config's instances of the service (`fallbackAnswers`): a deterministic start rather than no
 *     instance at all (which left a policy on the default routes for as long as the DHT took).
 *   So a failed instance stays a candidate until its health update has landed and the client's cached answer has
 *   expired and been refreshed: the policies do not read an instance's liveness from the link state themselves.
 * - absence is not failure: an instance of the client's previous answer that a lookup neither found nor found down
 *   (a DHT lookup can miss an announcer, or time out reading its index: no record is then even listed as missing)
 *   stays in the answer for one more TTL (`carriedInstances`); dropped only when a second lookup in a row misses it
 *   too. Without this, one incomplete emulated lookup moved both bulk clients of intent-mesh-emulate's oracle run off
 *   Atlanta's store instance for the rest of the run (19 bandwidth misses; README, intent mesh).
 */
import { anycastNode, type IntentMesh, type MeshClient } from "./intent-mesh.ts";
import type { Discovery, OperationStats, RegistryService } from "./registry.ts";

/** Discovery through the registry over one run (summary.json `policies[i].discovery`). Latencies in simulated ns. */
export interface DiscoveryTotals {
  /** Instances registered at start, and registrations that failed. */
  registrations: number;
  registrationFailures: number;
  /** Health updates sent by the instances' monitors, and those that failed. */
  statusUpdates: number;
  statusUpdateFailures: number;
  /** discoverResources calls that answered, and those that failed (the cached answer was kept). */
  lookups: number;
  lookupFailures: number;
  /** Lookup latency (from the call to the answer, engine clock), ns: median, mean, max; null without lookups. */
  lookupLatencyP50Ns: number | null;
  lookupLatencyMeanNs: number | null;
  lookupLatencyMaxNs: number | null;
  /** DHT lookups and messages the discoveries made (messages where the engine counts them), largest hop depth. */
  dhtLookups: number;
  dhtMessages: number;
  maxHops: number;
  /**
   * Records listed under a service that no lookup found, summed over lookups (the emulated DHT adds one per
   * announcing node whose index no lookup found).
   */
  missingRecords: number;
  /**
   * Policy queries answered from a fresh cache, from an expired one (a refresh under way), or, before the client's
   * first discovery answer, with the config's instances (the fallback).
   */
  freshAnswers: number;
  staleAnswers: number;
  fallbackAnswers: number;
  /** Registrations still under way when the first discoveries stopped waiting for them (`registrationWaitNs`). */
  registrationsLate: number;
  /** Instances handed to a policy while their attachment link was down (a stale registration in use). */
  downInstancesOffered: number;
  /** Instances a lookup did not find (nor found down) kept from the client's previous answer for one more TTL. */
  carriedInstances: number;
}

/** The counters of {@link DiscoveryTotals} (all but the latencies). */
export type DiscoveryCounter = Exclude<
  keyof DiscoveryTotals,
  "lookupLatencyP50Ns" | "lookupLatencyMeanNs" | "lookupLatencyMaxNs"
>;

/** A registry deployment as the engine offers it to the policies of one run. */
export class RegistryAccess {
  /** Registry operations in flight. */
  pending = 0;
  private readonly latencies: number[] = [];
  private readonly t: Record<DiscoveryCounter, number> = {
    registrations: 0,
    registrationFailures: 0,
    statusUpdates: 0,
    statusUpdateFailures: 0,
    lookups: 0,
    lookupFailures: 0,
    dhtLookups: 0,
    dhtMessages: 0,
    maxHops: 0,
    missingRecords: 0,
    freshAnswers: 0,
    staleAnswers: 0,
    fallbackAnswers: 0,
    registrationsLate: 0,
    downInstancesOffered: 0,
    carriedInstances: 0,
  };

  /**
   * @param service the run's registry (one node per substrate node that may host instances or clients)
   * @param nowNs the engine's clock, simulated ns
   * @param ttlNs how long a discovery answer is used before it is refreshed, simulated ns (> 0)
   * @param registrationWaitNs how long after the first step the first discoveries wait for the registrations,
   *   simulated ns (>= 0)
   */
  constructor(
    readonly service: RegistryService,
    readonly nowNs: () => number,
    readonly ttlNs: number,
    readonly registrationWaitNs = 1e9,
  ) {
    if (!(ttlNs > 0)) throw new RangeError(`registry: ttl must be > 0 ns, got ${ttlNs}`);
    if (!(registrationWaitNs >= 0))
      throw new RangeError(`registry: registrationWait must be >= 0 ns, got ${registrationWaitNs}`);
  }

  /** Counts `p` as in flight until it settles. */
  track<T>(p: Promise<T>): Promise<T> {
    this.pending++;
    return p.finally(() => {
      this.pending--;
    });
  }

  /** Adds to a counter (by the directory). */
  count(what: DiscoveryCounter, n = 1): void {
    this.t[what] += n;
  }

  /** Records one answered lookup: its latency (ns, engine clock) and its DHT cost. */
  lookupDone(latencyNs: number, stats: OperationStats, missing: number): void {
    this.t.lookups++;
    this.latencies.push(latencyNs);
    this.t.dhtLookups += stats.lookups;
    this.t.dhtMessages += stats.messages ?? 0;
    this.t.maxHops = Math.max(this.t.maxHops, stats.hops ?? 0);
    this.t.missingRecords += missing;
  }

  get totals(): DiscoveryTotals {
    const v = [...this.latencies].sort((a, b) => a - b);
    const n = v.length;
    return {
      ...this.t,
      lookupLatencyP50Ns: n ? v[Math.floor((n - 1) / 2)]! : null,
      lookupLatencyMeanNs: n ? Math.round(v.reduce((a, b) => a + b, 0) / n) : null,
      lookupLatencyMaxNs: n ? v[n - 1]! : null,
    };
  }
}

/** The resource id an instance registers under. */
export function instanceResourceId(service: string, node: string): string {
  return `${service}/${node}`;
}

/** What the directory reads of an observation: link states (the instances' monitors). */
export interface LinkStates {
  readonly links: readonly { readonly src: string; readonly dst: string; readonly up: boolean }[];
}

interface CachedAnswer {
  readonly instances: readonly string[];
  readonly fetchedNs: number;
  /** Instances kept from the answer before without this lookup finding them (see the module doc). */
  readonly carried: ReadonlySet<string>;
}

/** One policy's view of the instances through the registry (see the module doc). */
export class InstanceDirectory {
  private registered: Promise<void> | null = null;
  /**
   * Service -> when its first discoveries may start: its own instances' registrations done, or the wait bound
   * reached at a step. Per service, so one slow registration holds only its own service's clients.
   */
  private readonly gates = new Map<string, DiscoveryGate>();
  private registeringNs = 0;
  private readonly cache = new Map<string, CachedAnswer>();
  private readonly refreshing = new Set<string>();
  /** Instance id -> its attachment link's state at the last step (what its monitor last saw). */
  private readonly alive = new Map<string, boolean>();
  /** Instance id -> the end of its chain of status updates. */
  private readonly updates = new Map<string, Promise<void>>();

  constructor(
    private readonly access: RegistryAccess,
    private readonly mesh: IntentMesh,
  ) {}

  /** At every control step, before {@link instances}: registration (first step), then the monitors' updates. */
  observe(obs: LinkStates): void {
    const up = new Map(obs.links.map((l) => [`${l.src}->${l.dst}`, l.up]));
    if (this.registered === null) {
      this.registeringNs = this.access.nowNs();
      this.registered = this.registerAll();
    } else if (this.access.nowNs() - this.registeringNs >= this.access.registrationWaitNs) {
      for (const gate of this.gates.values()) {
        if (gate.open) continue;
        this.access.count("registrationsLate", gate.pending);
        gate.openNow();
      }
    }
    for (const [service, nodes] of this.mesh.instances) {
      for (const node of nodes) {
        const id = instanceResourceId(service, node);
        const now = up.get(`${node}->${anycastNode(service)}`) ?? true;
        const before = this.alive.get(id) ?? true;
        this.alive.set(id, now);
        if (now !== before) this.updateStatus(id, node, now);
      }
    }
  }

  /** The instances (node ids) of `c`'s service as its cache answers now; starts a refresh when due. */
  instances(c: MeshClient): readonly string[] {
    const key = `${c.node}|${c.service}`;
    const cached = this.cache.get(key);
    const due = cached === undefined || this.access.nowNs() - cached.fetchedNs >= this.access.ttlNs;
    if (due && !this.refreshing.has(key)) this.refresh(key, c);
    this.access.count(cached === undefined ? "fallbackAnswers" : due ? "staleAnswers" : "freshAnswers");
    const out = cached?.instances ?? this.mesh.instances.get(c.service) ?? [];
    for (const n of out)
      if (this.alive.get(instanceResourceId(c.service, n)) === false)
        this.access.count("downInstancesOffered");
    return out;
  }

  private registerAll(): Promise<void> {
    const all: Promise<void>[] = [];
    for (const [service, nodes] of this.mesh.instances) {
      const gate = new DiscoveryGate(nodes.length);
      this.gates.set(service, gate);
      for (const node of nodes) {
        const op = this.access.service
          .client(node)
          .registerResource(
            instanceResourceId(service, node),
            { address: node, node, network: "substrate", capabilities: [service], health: "up" },
            [],
          );
        all.push(
          this.access
            .track(op)
            .then(
              () => this.access.count("registrations"),
              () => this.access.count("registrationFailures"),
            )
            .finally(() => gate.settled()),
        );
      }
    }
    return Promise.all(all).then(() => undefined);
  }

  private updateStatus(id: string, node: string, up: boolean): void {
    const prev = this.updates.get(id) ?? this.registered ?? Promise.resolve();
    const next = this.access.track(
      prev.then(() => this.access.service.client(node).updateResourceStatus(id, up ? "up" : "down")),
    );
    this.updates.set(
      id,
      next.then(
        () => this.access.count("statusUpdates"),
        () => this.access.count("statusUpdateFailures"),
      ),
    );
  }

  /**
   * The instances of the key's previous answer that `d` neither found nor found down, unless they were carried into
   * that answer already (absent twice in a row: dropped).
   */
  private carriedOver(key: string, service: string, d: Discovery): Set<string> {
    const prev = this.cache.get(key);
    const seen = new Set([...d.matches.map((m) => m.resource.id), ...d.rejectedIds]);
    return new Set(
      (prev?.instances ?? []).filter(
        (n) => !prev!.carried.has(n) && !seen.has(instanceResourceId(service, n)),
      ),
    );
  }

  private refresh(key: string, c: MeshClient): void {
    this.refreshing.add(key);
    let startNs = 0;
    // The first lookups wait for their service's registrations (bounded); their latency counts from when they start.
    const op = (this.gates.get(c.service)?.opened ?? Promise.resolve()).then(() => {
      startNs = this.access.nowNs();
      return this.access.service.client(c.node).discoverResources({ service: c.service });
    });
    void this.access
      .track(op)
      .then(
        (d) => {
          const nowNs = this.access.nowNs();
          this.access.lookupDone(nowNs - startNs, d.stats, d.missing);
          const nodes = d.matches.map((m) => m.resource.metadata.node);
          const carried = this.carriedOver(key, c.service, d);
          this.access.count("carriedInstances", carried.size);
          nodes.push(...carried);
          const order = this.mesh.instances.get(c.service) ?? [];
          // The config's order among the answers (nearest-instance breaks ties by it), then any other node.
          const rank = (n: string) => (order.includes(n) ? order.indexOf(n) : order.length);
          nodes.sort((a, b) => rank(a) - rank(b) || (a < b ? -1 : a > b ? 1 : 0));
          this.cache.set(key, { instances: nodes, fetchedNs: nowNs, carried });
        },
        () => this.access.count("lookupFailures"),
      )
      .finally(() => this.refreshing.delete(key));
  }
}

/** One service's registrations at start: opens when all have settled, or when the directory's wait bound opens it. */
class DiscoveryGate {
  open = false;
  readonly opened: Promise<void>;
  private resolve: () => void = () => {};

  /** @param pending the service's registrations in flight */
  constructor(public pending: number) {
    this.opened = new Promise((resolve) => {
      this.resolve = resolve;
    });
    if (pending === 0) this.openNow();
  }

  /** One registration settled (done or failed). */
  settled(): void {
    this.pending--;
    if (this.pending === 0) this.openNow();
  }

  openNow(): void {
    this.open = true;
    this.resolve();
  }
}
