/**
 * An intent mesh as data: services with instances on substrate nodes, and clients on nodes, each with an
 * {@link Intent} about one service and the requests it sends. Declared once as a zod schema: it is the config's
 * `intents` section (experiments/config/schema.ts) and the `mesh` parameter of the intent-aware policies
 * (models/policies/intent-routing.ts, models/policies/nearest-instance.ts), which the experiment fills from that
 * section.
 *
 * Anycast model. Each service has an *anycast node* ({@link anycastNode}, `svc-<name>`), which the experiment
 * adds to the substrate with one one-way attachment link from each instance's node: capacity
 * {@link ATTACHMENT_CAPACITY_BPS}, zero delay, secure, no egress cost (one-way: an anycast node is never transit). A client's requests are flows from its node
 * to the anycast node, so every policy carries the very same flows, and the path a flow takes picks the instance
 * it reaches (its last substrate node): choosing an instance and a path is routing the pair (client, anycast
 * node). An instance fails when its attachment link goes down.
 */
import * as z from "zod";
import { parseSizeBytes } from "../../sim/units.ts";
import { MalformedIntentError } from "./errors.ts";
import { type Intent, parseIntent } from "./intent.ts";

/** Capacity of an instance's attachment link to its service's anycast node, bits/s (never the bottleneck). */
export const ATTACHMENT_CAPACITY_BPS = 1e12;

/** The anycast node id of a service. */
export function anycastNode(service: string): string {
  return `svc-${service}`;
}

const NAME = /^[a-z][a-z0-9]*$/;

/** The config's `intents` section and the policies' `mesh` parameter. */
export const INTENT_MESH_SCHEMA = z
  .strictObject({
    services: z
      .array(
        z.strictObject({
          name: z
            .string()
            .regex(NAME, { error: "expected lower-case letters and digits, starting with a letter" })
            .meta({ description: 'Service name, e.g. "video"; its anycast node is "svc-<name>".' }),
          instances: z
            .array(z.string())
            .min(1)
            .meta({ description: "Topology node ids, one instance each." }),
        }),
      )
      .min(1)
      .meta({ description: "Services and where their instances run." }),
    clients: z
      .array(
        z.strictObject({
          node: z.string().meta({ description: "Topology node id of the client." }),
          intent: z.string().meta({
            description:
              'The intent in text form (models/services/intent.ts parseIntent): "service=video, latency<20ms, bandwidth>50Mbps, secure, cost<0.05".',
          }),
          requestsPerSecond: z
            .number()
            .gt(0)
            .default(10)
            .meta({ description: "Mean requests per second of simulated time (Poisson arrivals)." }),
          requestSize: z
            .union([z.string(), z.number()])
            .default("100KB")
            .meta({ description: 'Bytes each request transfers to the instance, e.g. "100KB".' }),
        }),
      )
      .min(1)
      .meta({ description: "Clients, at most one per (node, service)." }),
    links: z
      .array(
        z.strictObject({
          between: z
            .tuple([z.string(), z.string()])
            .meta({ description: "The two node ids of the link (both directions are set)." }),
          secure: z.boolean().optional().meta({ description: "Whether the link is secure." }),
          egressCostPerGB: z.number().min(0).optional().meta({ description: "Egress cost per GB." }),
        }),
      )
      .default([])
      .meta({
        description: "Security and egress cost of substrate links (others keep their file's values).",
      }),
  })
  .meta({
    description: "Services with instances, clients with intents, link security and cost (intent routing).",
  });

export type IntentMeshConfig = z.output<typeof INTENT_MESH_SCHEMA>;

/** A client with its parsed intent and request stream (units resolved). */
export interface MeshClient {
  readonly node: string;
  readonly intent: Intent;
  readonly service: string;
  /** The service's anycast node: the requests' destination. */
  readonly anycast: string;
  readonly requestsPerSecond: number;
  readonly requestBytes: number;
}

/** A mesh with units resolved and references checked against `nodes` (when given). */
export interface IntentMesh {
  /** Instances (node ids) per service name. */
  readonly instances: ReadonlyMap<string, readonly string[]>;
  readonly clients: readonly MeshClient[];
}

/**
 * Resolves a mesh: parses intents, sizes; checks that clients name known services, that no (node, service) has two
 * clients, and, with `nodes`, that every instance and client node exists. `where` prefixes messages.
 * @throws MalformedIntentError naming the field path and the bad value.
 */
export function resolveMesh(
  cfg: IntentMeshConfig,
  nodes?: ReadonlySet<string>,
  where = "intents",
): IntentMesh {
  const instances = new Map<string, readonly string[]>();
  const known = (id: string, path: string) => {
    if (nodes && !nodes.has(id))
      throw new MalformedIntentError(`${where}.${path}: unknown node ${JSON.stringify(id)}`);
  };
  cfg.services.forEach((s, i) => {
    if (instances.has(s.name))
      throw new MalformedIntentError(`${where}.services[${i}].name: "${s.name}" is listed twice`);
    for (const [j, n] of s.instances.entries()) known(n, `services[${i}].instances[${j}]`);
    instances.set(s.name, [...s.instances]);
  });
  const seen = new Set<string>();
  const clients = cfg.clients.map((c, i): MeshClient => {
    const at = `${where}.clients[${i}]`;
    known(c.node, `clients[${i}].node`);
    const intent = parseIntent(c.intent, `${at}.intent`);
    if (!instances.has(intent.service)) {
      throw new MalformedIntentError(
        `${at}.intent: unknown service "${intent.service}"; services: ${[...instances.keys()].join(", ")}`,
      );
    }
    const key = `${c.node}|${intent.service}`;
    if (seen.has(key))
      throw new MalformedIntentError(`${at}: a second client of "${intent.service}" on ${c.node}`);
    seen.add(key);
    let requestBytes: number;
    try {
      requestBytes = parseSizeBytes(c.requestSize);
    } catch {
      throw new MalformedIntentError(
        `${at}.requestSize: expected a size like "100KB", got ${JSON.stringify(c.requestSize)}`,
      );
    }
    return {
      node: c.node,
      intent,
      service: intent.service,
      anycast: anycastNode(intent.service),
      requestsPerSecond: c.requestsPerSecond,
      requestBytes,
    };
  });
  return { instances, clients };
}
