/**
 * From the config's `workload.applications` to the engine's application workload (models/workload/applications.ts):
 * quantities to ns and bytes, node ids checked against the topology, the call graph checked for cycles, and what
 * the applications offer over the run for summary.json and the `limits.maxFlows` guard. Every problem is a
 * ConfigError at the field responsible.
 */
import { type AppWorkloadSpec, expectedTransfers } from "../models/workload/applications.ts";
import { WorkloadError } from "../models/workload/errors.ts";
import type { Topology } from "../sim/substrate/topology.ts";
import { parseDurationNs, parseSizeBytes } from "../sim/units.ts";
import type { LoadedConfig } from "./config/load.ts";
import type { ExperimentConfig } from "./config/schema.ts";
import type { ApplicationFacts } from "./results.ts";

type ApplicationsConfig = NonNullable<ExperimentConfig["workload"]["applications"]>;

const PATH = ["workload", "applications"] as const;

/** The applications of a config, resolved on `topology`, and what they offer over `horizonNs` of simulated time. */
export function buildApplications(
  config: ApplicationsConfig,
  topology: Topology,
  horizonNs: number,
  error: LoadedConfig["error"],
): { spec: AppWorkloadSpec; facts: ApplicationFacts } {
  const nodes = (ids: readonly string[], path: readonly (string | number)[]) => {
    ids.forEach((id, k) => {
      if (!topology.hasNode(id)) {
        const some = topology.nodes.slice(0, 8).map((n) => n.id);
        throw error(
          [...PATH, ...path, k],
          `unknown topology node ${JSON.stringify(id)}; ${topology.name} has ${some.join(", ")}${topology.nodeCount > some.length ? ", ..." : ""}`,
        );
      }
    });
    return ids;
  };
  const spec: AppWorkloadSpec = {
    apps: config.apps.map((a, i) => ({
      name: a.name,
      instances: nodes(a.instances, ["apps", i, "instances"]),
      serviceNs: parseDurationNs(a.serviceTime),
      ...(a.version === undefined ? {} : { version: a.version }),
      ...(a.port === undefined ? {} : { port: a.port }),
      ...(a.protocol === undefined ? {} : { protocol: a.protocol }),
      ...(a.dependencies === undefined ? {} : { dependencies: a.dependencies }),
    })),
    calls: config.calls.map((c) => ({
      from: c.from,
      to: c.to,
      requestBytes: parseSizeBytes(c.request),
      responseBytes: parseSizeBytes(c.response),
      count: c.count,
      probability: c.probability,
    })),
    entries: config.entries.map((e, i) => ({
      app: e.app,
      ratePerSec: e.requestsPerSecond,
      clients: nodes(e.clients, ["entries", i, "clients"]),
      ...(e.request === undefined ? {} : { requestBytes: parseSizeBytes(e.request) }),
      ...(e.response === undefined ? {} : { responseBytes: parseSizeBytes(e.response) }),
    })),
  };
  let transfers: number[];
  try {
    transfers = expectedTransfers(spec);
  } catch (e) {
    if (e instanceof WorkloadError) throw error([...PATH, "calls"], e.message);
    throw e;
  }
  const seconds = horizonNs / 1e9;
  const requests = spec.entries.reduce((sum, e) => sum + e.ratePerSec * seconds, 0);
  const flows = spec.entries.reduce((sum, e, i) => sum + e.ratePerSec * seconds * transfers[i]!, 0);
  return {
    spec,
    facts: {
      apps: spec.apps.map((a) => a.name),
      requestsPerSecond: spec.entries.reduce((sum, e) => sum + e.ratePerSec, 0),
      expectedRequests: Math.round(requests),
      expectedFlows: Math.round(flows),
    },
  };
}
