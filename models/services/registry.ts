/**
 * The Resource Discovery & Intent service: the engine-neutral seam (docs/architecture.md, "a service").
 *
 * A resource (a service instance) registers its metadata (address, node, network, the services it offers, its
 * health) and its promises, one {@link Intent} per service offered; clients discover the resources whose promise,
 * over the path to them when known, meets their intent (models/services/intent.ts). Records live in a distributed
 * hash table under two kinds of keys ({@link serviceKey}, {@link resourceKey}): a service key holds the set of
 * resource ids offering that service (discovery), a resource key holds the resource's record (metadata). Updates
 * carry a version; the highest version wins everywhere.
 *
 * Implementations:
 * - simulator: sim/services/registry.ts on the Kademlia model sim/services/kademlia.ts (simulated time);
 * - emulator: emulate/dht/registry.ts, one bittorrent-dht process per namespace (wall-clock time).
 *
 * Shape: a {@link RegistryService} is the deployment (one DHT node per substrate node; `close` stops them all);
 * `client(node)` is the API as seen from one node, the {@link ResourceRegistry}. Every operation resolves with
 * the cost it had ({@link OperationStats}): the discovery latency, DHT lookups, hops and messages.
 */
import { MalformedIntentError, MalformedResourceError } from "./errors.ts";
import { type Intent, type IntentMatch, matchIntent, type PathEstimate, validateIntent } from "./intent.ts";

/** Health as the resource (or a monitor) reports it. `down` resources are never returned by discovery. */
export type ResourceHealth = "up" | "degraded" | "down";
export const RESOURCE_HEALTH: readonly ResourceHealth[] = ["up", "degraded", "down"];

export interface ResourceMetadata {
  /** Where to reach the resource: an IP address, optionally with a port (`"10.0.0.3:8080"`). */
  readonly address: string;
  /** The substrate node (topology node id) the resource runs on. */
  readonly node: string;
  /** The network (substrate) the node belongs to; resources of joined networks share one registry. */
  readonly network: string;
  /** The services the resource offers (sorted, unique). */
  readonly capabilities: readonly string[];
  readonly health: ResourceHealth;
}

/** What the registry stores under a resource key. */
export interface ResourceRecord {
  readonly id: string;
  readonly metadata: ResourceMetadata;
  /** Promises, at most one per service in `capabilities`. */
  readonly intents: readonly Intent[];
  /** Incremented by every update; the highest version is the record. */
  readonly version: number;
}

/** The cost of one operation. */
export interface OperationStats {
  /** From the call to its result: simulated ns in the simulator, wall-clock ns in the emulator. */
  readonly latencyNs: number;
  /** DHT lookups (get, put, announce) the operation made. */
  readonly lookups: number;
  /** Largest lookup depth (hops) among them, where the engine can see it. */
  readonly hops?: number;
  /** DHT messages sent, where the engine can count them. */
  readonly messages?: number;
  /** Each DHT lookup's own duration, wall-clock ns, in the order they ended (the emulator times them). */
  readonly lookupLatenciesNs?: readonly number[];
}

/** One discovered resource: its record, the promise that matched and the predicted end-to-end figures. */
export interface ResourceMatch {
  readonly resource: ResourceRecord;
  readonly offer: Intent;
  readonly match: IntentMatch;
}

export interface DiscoverOptions {
  /**
   * The path from the asking client to a resource's node, when the caller knows it (routing, forecasts): added to
   * the promise (latency, cost) and capping it (bandwidth, security). Absent: the promise alone is matched.
   */
  readonly path?: (resource: ResourceRecord) => PathEstimate | undefined;
  /** Return at most this many matches (the best first). */
  readonly limit?: number;
}

export interface Discovery {
  /** Matches, best first: healthy before degraded, then lower latency, higher bandwidth, lower cost, id. */
  readonly matches: readonly ResourceMatch[];
  /** Resources listed under the service whose record was found but did not match (down, or a bound unmet). */
  readonly rejected: number;
  /** Their resource ids (so a caller can tell "found, down" from "not found"). */
  readonly rejectedIds: readonly string[];
  /** Resources listed under the service whose record no lookup found. */
  readonly missing: number;
  readonly stats: OperationStats;
}

/** The registry as seen from one node. */
export interface ResourceRegistry {
  /** The node this client runs on. */
  readonly node: string;
  /**
   * Registers (or replaces) a resource: validates, stores the record under its resource key and lists the id
   * under each offered service's key. Throws {@link MalformedResourceError} / {@link MalformedIntentError}.
   */
  registerResource(
    id: string,
    metadata: ResourceMetadata,
    intents: readonly Intent[],
  ): Promise<OperationStats>;
  /** The resources meeting `intent`, best first. Throws {@link MalformedIntentError} for a bad intent. */
  discoverResources(intent: Intent, opts?: DiscoverOptions): Promise<Discovery>;
  /** Sets a resource's health (a new version). Throws UnknownResourceError when no record is found. */
  updateResourceStatus(id: string, health: ResourceHealth): Promise<OperationStats>;
  /** The current record. Throws UnknownResourceError when no record is found. */
  getResource(id: string): Promise<{ record: ResourceRecord; stats: OperationStats }>;
}

/** A running registry deployment: one DHT node per substrate node. */
export interface RegistryService {
  /** The nodes that run a registry node. */
  readonly nodes: readonly string[];
  /** The API from `node`. Throws RegistryError for a node without a registry node. */
  client(node: string): ResourceRegistry;
  /** Stops every node of this deployment (idempotent). */
  close(): Promise<void>;
}

/** The DHT key listing the ids of resources offering `service`. */
export function serviceKey(service: string): string {
  return `topocast/service/${service}`;
}

/** The DHT key of a resource's record. */
export function resourceKey(id: string): string {
  return `topocast/resource/${id}`;
}

const RESOURCE_ID = /^[A-Za-z0-9][A-Za-z0-9._:/-]{0,127}$/;

function badResource(where: string, field: string, value: unknown, allowed: string): MalformedResourceError {
  return new MalformedResourceError(`${where}: ${field}: expected ${allowed}, got ${JSON.stringify(value)}`);
}

function checkString(where: string, field: string, v: unknown): string {
  if (typeof v !== "string" || v.trim() === "") throw badResource(where, field, v, "a non-empty string");
  return v;
}

function checkMetadata(where: string, m: unknown): ResourceMetadata {
  if (typeof m !== "object" || m === null) throw badResource(where, "metadata", m, "an object");
  const o = m as Record<string, unknown>;
  const caps = o.capabilities;
  if (!Array.isArray(caps) || caps.length === 0)
    throw badResource(where, "metadata.capabilities", caps, "a non-empty list of service names");
  const capabilities = caps.map((c, i) =>
    validateIntent({ service: c }, `${where}: metadata.capabilities[${i}]`),
  );
  if (!RESOURCE_HEALTH.includes(o.health as ResourceHealth))
    throw badResource(where, "metadata.health", o.health, RESOURCE_HEALTH.join(" | "));
  return {
    address: checkString(where, "metadata.address", o.address),
    node: checkString(where, "metadata.node", o.node),
    network: checkString(where, "metadata.network", o.network),
    capabilities: [...new Set(capabilities.map((c) => c.service))].sort(),
    health: o.health as ResourceHealth,
  };
}

/**
 * Validates a registration and returns its record at `version` (intents sorted by service). Throws
 * {@link MalformedResourceError} for a bad id or metadata, {@link MalformedIntentError} for a bad promise, a
 * promise for a service not in `capabilities`, or two promises for one service.
 */
export function makeRecord(id: unknown, metadata: unknown, intents: unknown, version = 1): ResourceRecord {
  if (typeof id !== "string" || !RESOURCE_ID.test(id))
    throw badResource(
      "registerResource",
      "id",
      id,
      "1-128 of letters, digits and . _ : / - (first alphanumeric)",
    );
  const where = `resource ${JSON.stringify(id)}`;
  const md = checkMetadata(where, metadata);
  if (!Array.isArray(intents))
    throw new MalformedIntentError(`${where}: intents: expected a list of intents`);
  const offers = intents.map((x, i) => validateIntent(x, `${where}: intents[${i}]`));
  const seen = new Set<string>();
  offers.forEach((o, i) => {
    if (!md.capabilities.includes(o.service))
      throw new MalformedIntentError(
        `${where}: intents[${i}].service: "${o.service}" is not in metadata.capabilities (${md.capabilities.join(", ")})`,
      );
    if (seen.has(o.service))
      throw new MalformedIntentError(`${where}: intents[${i}]: a second promise for service "${o.service}"`);
    seen.add(o.service);
  });
  offers.sort((a, b) => (a.service < b.service ? -1 : a.service > b.service ? 1 : 0));
  return { id, metadata: md, intents: offers, version };
}

/** The record as JSON text (what the emulator's DHT stores). */
export function encodeRecord(r: ResourceRecord): string {
  return JSON.stringify(r);
}

/** Parses and validates a stored record; `where` names the source. Throws {@link MalformedResourceError}. */
export function decodeRecord(text: string, where: string): ResourceRecord {
  let o: unknown;
  try {
    o = JSON.parse(text);
  } catch {
    throw new MalformedResourceError(`${where}: not JSON: ${JSON.stringify(text.slice(0, 80))}`);
  }
  if (typeof o !== "object" || o === null) throw new MalformedResourceError(`${where}: not a record`);
  const r = o as Record<string, unknown>;
  const version = r.version;
  if (typeof version !== "number" || !Number.isSafeInteger(version) || version < 1)
    throw badResource(where, "version", version, "an integer >= 1");
  try {
    return makeRecord(r.id, r.metadata, r.intents, version);
  } catch (e) {
    if (e instanceof MalformedResourceError || e instanceof MalformedIntentError)
      throw new MalformedResourceError(`${where}: ${e.message}`);
    throw e;
  }
}

const HEALTH_RANK: Record<ResourceHealth, number> = { up: 0, degraded: 1, down: 2 };

function compareMatches(a: ResourceMatch, b: ResourceMatch): number {
  return (
    HEALTH_RANK[a.resource.metadata.health] - HEALTH_RANK[b.resource.metadata.health] ||
    a.match.latencyNs - b.match.latencyNs ||
    b.match.bandwidthBps - a.match.bandwidthBps ||
    a.match.costPerGB - b.match.costPerGB ||
    (a.resource.id < b.resource.id ? -1 : a.resource.id > b.resource.id ? 1 : 0)
  );
}

/**
 * The discovery decision, pure and shared by both engines: of `records` (the records found under the intent's
 * service key), those not `down`, offering the service, whose promise over `opts.path` meets `intent` (a service
 * offered without a promise promises nothing, so it meets only unbounded intents)
 * ({@link matchIntent}), best first (see {@link Discovery.matches}), at most `opts.limit`.
 */
export function selectMatches(
  intent: Intent,
  records: readonly ResourceRecord[],
  opts: DiscoverOptions = {},
): { matches: ResourceMatch[]; rejected: number; rejectedIds: string[] } {
  const matches: ResourceMatch[] = [];
  const rejectedIds: string[] = [];
  for (const r of records) {
    const offered = r.metadata.capabilities.includes(intent.service);
    const offer =
      r.intents.find((o) => o.service === intent.service) ??
      (offered ? { service: intent.service } : undefined);
    if (r.metadata.health === "down" || offer === undefined) {
      rejectedIds.push(r.id);
      continue;
    }
    const m = matchIntent(intent, offer, opts.path?.(r));
    if (m.ok) matches.push({ resource: r, offer, match: m });
    else rejectedIds.push(r.id);
  }
  matches.sort(compareMatches);
  const limit = opts.limit ?? Number.POSITIVE_INFINITY;
  return { matches: matches.slice(0, limit), rejected: rejectedIds.length, rejectedIds };
}
