/**
 * The TCP port each application's flows are sent to in emulation, so that the network (nftables rules by
 * destination port, emulate/firewall.ts) can tell applications apart: the traffic matrix's flows (`"tm"`) and
 * flows of no application go to the agents' port `basePort`; every other application, in sorted order, to
 * `basePort + 1`, `basePort + 2`, ... The agents listen on every port of the map (emulate/traffic-agents.ts).
 */
import { TM_APPLICATION } from "../models/workload/flow-schedule.ts";
import { EmulationError } from "./errors.ts";

/**
 * The port per application of `applications` (names, any order, repeats allowed).
 * @throws EmulationError when the ports would pass 65535
 */
export function applicationPorts(applications: Iterable<string>, basePort: number): Record<string, number> {
  const names = [...new Set(applications)].filter((a) => a !== TM_APPLICATION).sort();
  if (basePort + names.length > 65535)
    throw new EmulationError(
      `application ports: ${names.length} applications after port ${basePort} pass 65535; lower emulation.port`,
    );
  const out: Record<string, number> = { [TM_APPLICATION]: basePort };
  names.forEach((a, k) => {
    out[a] = basePort + 1 + k;
  });
  return out;
}
