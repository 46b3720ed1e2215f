/**
 * The TCP port each application's flows are sent to in emulation, so that the network (nftables rules by
 * destination port, emulate/firewall.ts) can tell applications apart: the traffic matrix's flows (`"tm"`) and
 * flows of no application go to the agents' port `basePort`; an application pair whose exchanges' server declares
 * a port (`apps[].port` of models/workload/applications.ts) to that port, listened on only at the server's
 * instances (the agents in those namespaces, on TCP or UDP as its protocol says); every other application, in sorted order, to `basePort + 1`,
 * `basePort + 2`, ... (skipping declared ports), listened on by every agent (emulate/traffic-agents.ts).
 */
import { type AppWorkloadSpec, exchangeServers } from "../models/workload/applications.ts";
import { TM_APPLICATION } from "../models/workload/flow-schedule.ts";
import type { Topology } from "../sim/substrate/topology.ts";
import { EmulationError } from "./errors.ts";

/**
 * The port per application of `applications` (names, any order, repeats allowed); `declared` fixes the port of
 * some of them (an application pair's server port).
 * @throws EmulationError when the ports would pass 65535 or a declared port is `basePort` (the matrix's)
 */
export function applicationPorts(
  applications: Iterable<string>,
  basePort: number,
  declared: Readonly<Record<string, number>> = {},
): Record<string, number> {
  const names = [...new Set(applications)].filter((a) => a !== TM_APPLICATION && !(a in declared)).sort();
  const taken = new Set(Object.values(declared));
  for (const [app, port] of Object.entries(declared))
    if (port === basePort)
      throw new EmulationError(
        `application ports: ${app} declares port ${port}, the agents' port for the traffic matrix; set emulation.port to another one`,
      );
  const out: Record<string, number> = { [TM_APPLICATION]: basePort, ...declared };
  let next = basePort + 1;
  for (const a of names) {
    while (taken.has(next)) next++;
    if (next > 65535)
      throw new EmulationError(
        `application ports: ${names.length} applications after port ${basePort} pass 65535; lower emulation.port`,
      );
    out[a] = next++;
  }
  return out;
}

/** The declared server port of every application pair of `spec` whose server app has one. */
export function declaredPorts(spec: AppWorkloadSpec): Record<string, number> {
  const apps = new Map(spec.apps.map((a) => [a.name, a]));
  const out: Record<string, number> = {};
  for (const [pair, { server }] of exchangeServers(spec)) {
    const port = apps.get(server)?.port;
    if (port !== undefined) out[pair] = port;
  }
  return out;
}

/**
 * What each node's agent listens on beyond the matrix's port: on TCP every generated port (applications without a
 * declared port), plus the declared ports of the applications with an instance on the node, on TCP or UDP as the
 * application's protocol says. Indexed like `topology.nodes`, each list sorted.
 * @throws EmulationError when a UDP application declares no port (generated ports are TCP)
 */
export function listenPorts(
  topology: Topology,
  ports: Readonly<Record<string, number>>,
  spec: AppWorkloadSpec | undefined,
): { tcp: number[]; udp: number[] }[] {
  const declared = spec ? declaredPorts(spec) : {};
  const generated = Object.entries(ports)
    .filter(([app]) => app !== TM_APPLICATION && !(app in declared))
    .map(([, p]) => p);
  const perNode = topology.nodes.map(() => ({ tcp: new Set(generated), udp: new Set<number>() }));
  for (const [i, a] of (spec?.apps ?? []).entries()) {
    if (a.port === undefined) {
      if (a.protocol === "udp")
        throw new EmulationError(
          `workload.applications.apps[${i}] (${a.name}): a UDP application needs a port to be emulated`,
        );
      continue;
    }
    for (const id of a.instances) perNode[topology.node(id)]![a.protocol ?? "tcp"].add(a.port);
  }
  const sorted = (s: Set<number>) => [...s].sort((x, y) => x - y);
  return perNode.map((n) => ({ tcp: sorted(n.tcp), udp: sorted(n.udp) }));
}
