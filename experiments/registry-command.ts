/**
 * Handlers of `topocast registry ...` (experiments/cli/registry.ts): the emulator's registry daemons
 * (emulate/dht/daemons.ts) driven from the command line. Latencies printed are wall-clock, as the emulator measures.
 */
import { daemonClient, planPathEstimates, startDaemons, stopDaemons } from "../emulate/dht/daemons.ts";
import { requireRun } from "../emulate/substrate.ts";
import type { Intent } from "../models/services/intent.ts";
import type { OperationStats, ResourceHealth } from "../models/services/registry.ts";
import { formatDuration, formatRate, parseDurationNs, parseRateBps, UnitError } from "../sim/units.ts";
import { CliInputError } from "./cli/options.ts";

/** Parses option `--name`'s value with `parse`, naming the option when it is not a valid value. */
function unit(name: string, value: string, parse: (v: string) => number): number {
  try {
    return parse(value);
  } catch (e) {
    if (e instanceof UnitError) throw new CliInputError(`--${name}: ${e.message}`);
    throw e;
  }
}

const stats = (s: OperationStats) =>
  `${(s.latencyNs / 1e6).toFixed(1)} ms, ${s.lookups} DHT lookup${s.lookups === 1 ? "" : "s"}`;

function nodeOf(runId: string, node: string, option: string) {
  const plan = requireRun(runId).plan;
  const n = plan.nodes.find((x) => x.id === node);
  if (!n)
    throw new CliInputError(
      `--${option}: run ${runId} has no node ${JSON.stringify(node)}; nodes: ${plan.nodes.map((x) => x.id).join(", ")}`,
    );
  return { plan, node: n };
}

export async function registryStart(
  runId: string,
  opts: { port: number; nodes?: string; json: boolean },
): Promise<void> {
  const nodes = opts.nodes?.split(",").map((s) => s.trim());
  const r = await startDaemons(runId, { port: opts.port, ...(nodes ? { nodes } : {}) });
  if (opts.json) {
    console.log(JSON.stringify(r, null, 2));
    return;
  }
  console.log(`registry of run ${runId}: ${r.nodes.length} DHT nodes on UDP port ${r.port}`);
  for (const d of r.nodes) console.log(`  ${d.node.padEnd(16)} pid ${d.pid}  ${d.socket}`);
  console.log(`stop with: topocast registry stop ${runId} (or tear the run down)`);
}

export async function registryStop(runId: string): Promise<void> {
  const n = await stopDaemons(runId);
  console.log(`registry of run ${runId}: ${n} node${n === 1 ? "" : "s"} stopped`);
}

export async function registryRegister(
  runId: string,
  id: string,
  o: {
    node: string;
    services: string[];
    health: ResourceHealth;
    json: boolean;
    address?: string;
    network?: string;
    latency?: string;
    bandwidth?: string;
    secure?: boolean;
    cost?: number;
    from?: string;
  },
): Promise<void> {
  const { plan, node } = nodeOf(runId, o.node, "node");
  const promise = {
    ...(o.latency === undefined ? {} : { maxLatencyNs: unit("latency", o.latency, parseDurationNs) }),
    ...(o.bandwidth === undefined ? {} : { minBandwidthBps: unit("bandwidth", o.bandwidth, parseRateBps) }),
    ...(o.secure === undefined ? {} : { secure: o.secure }),
    ...(o.cost === undefined ? {} : { maxCostPerGB: o.cost }),
  };
  const services = [...new Set(o.services)].sort();
  const intents: Intent[] = services.map((service) => ({ service, ...promise }));
  const from = o.from ?? o.node;
  nodeOf(runId, from, "from");
  const s = await daemonClient(runId, from).registerResource(
    id,
    {
      address: o.address ?? node.address,
      node: node.id,
      network: o.network ?? plan.topology,
      capabilities: services,
      health: o.health,
    },
    intents,
  );
  if (o.json) console.log(JSON.stringify({ id, stats: s }));
  else console.log(`registered ${id} (${services.join(", ")} on ${node.id}) from ${from}: ${stats(s)}`);
}

export async function registryDiscover(
  runId: string,
  service: string,
  o: {
    from: string;
    json: boolean;
    maxLatency?: string;
    minBandwidth?: string;
    secure?: boolean;
    maxCost?: number;
    limit?: number;
  },
): Promise<void> {
  const { plan } = nodeOf(runId, o.from, "from");
  const intent: Intent = {
    service,
    ...(o.maxLatency === undefined
      ? {}
      : { maxLatencyNs: unit("max-latency", o.maxLatency, parseDurationNs) }),
    ...(o.minBandwidth === undefined
      ? {}
      : { minBandwidthBps: unit("min-bandwidth", o.minBandwidth, parseRateBps) }),
    ...(o.secure === undefined ? {} : { secure: o.secure }),
    ...(o.maxCost === undefined ? {} : { maxCostPerGB: o.maxCost }),
  };
  const d = await daemonClient(runId, o.from).discoverResources(intent, {
    path: planPathEstimates(plan, o.from),
    ...(o.limit === undefined ? {} : { limit: o.limit }),
  });
  if (o.json) {
    console.log(JSON.stringify(d, (_, v) => (v === Number.POSITIVE_INFINITY ? null : v), 2));
    return;
  }
  console.log(
    `${d.matches.length} match${d.matches.length === 1 ? "" : "es"} for ${service} from ${o.from} (${d.rejected} rejected, ${d.missing} missing): ${stats(d.stats)}`,
  );
  for (const m of d.matches) {
    const lat = Number.isFinite(m.match.latencyNs) ? formatDuration(m.match.latencyNs) : "-";
    const bw = m.match.bandwidthBps > 0 ? formatRate(m.match.bandwidthBps) : "-";
    console.log(
      `  ${m.resource.id.padEnd(16)} ${m.resource.metadata.node.padEnd(12)} ${m.resource.metadata.address.padEnd(22)} ${m.resource.metadata.health.padEnd(9)} latency ${lat}, bandwidth ${bw}`,
    );
  }
}

export async function registryStatus(
  runId: string,
  id: string,
  health: ResourceHealth,
  o: { from: string; json: boolean },
): Promise<void> {
  nodeOf(runId, o.from, "from");
  const s = await daemonClient(runId, o.from).updateResourceStatus(id, health);
  if (o.json) console.log(JSON.stringify({ id, health, stats: s }));
  else console.log(`${id} is ${health}: ${stats(s)}`);
}

export async function registryShow(runId: string, id: string, o: { from: string }): Promise<void> {
  nodeOf(runId, o.from, "from");
  const r = await daemonClient(runId, o.from).getResource(id);
  console.log(JSON.stringify(r.record, null, 2));
}
