/**
 * An egress guard for one namespace: proof that nothing leaves for an address outside the run.
 *
 * Emulated namespaces have no default route, so a packet to an outside address fails in the route lookup, before
 * any netfilter hook could count it: silence would prove nothing. The guard gives the namespace a trap instead: a
 * TUN device (no reader: what is routed to it is dropped) as the default route, and an nftables table with two
 * named counters on the output hook: `outside` counts packets to any address not in the run, `inside` counts the
 * registry's UDP packets to the run's addresses (a positive control that the hook sees the DHT's traffic). The
 * guard lives in the run's namespace and goes with it. Commands are argv arrays, built here and run by the caller.
 */

import { EmulationError } from "../errors.ts";

/** nftables table name of the guard (inside the run's namespace). */
export const GUARD_TABLE = "topocast_guard";

/** The trap device's name: the run prefix and `-trap` (at most 15 characters). */
export function trapDevice(prefix: string): string {
  return `${prefix}-trap`;
}

/** Commands installing the guard (run each inside the namespace, in order). */
export function egressGuardCommands(
  prefix: string,
  runAddresses: readonly string[],
  udpPort: number,
): string[][] {
  const dev = trapDevice(prefix);
  const set = `{ ${[...runAddresses].sort().join(", ")} }`;
  const nft = (...words: string[]) => ["nft", "add", ...words];
  const rule = (match: string) => [...nft("rule", "ip", GUARD_TABLE, "out"), ...match.split(" ")];
  return [
    ["ip", "tuntap", "add", "dev", dev, "mode", "tun"],
    ["ip", "link", "set", dev, "up"],
    ["ip", "route", "add", "default", "dev", dev],
    nft("table", "ip", GUARD_TABLE),
    nft("counter", "ip", GUARD_TABLE, "outside"),
    nft("counter", "ip", GUARD_TABLE, "inside"),
    nft("chain", "ip", GUARD_TABLE, "out", "{ type filter hook output priority 0 ; policy accept ; }"),
    [...rule("ip daddr != 127.0.0.0/8 ip daddr !="), set, "counter", "name", "outside"],
    [...rule("ip daddr"), set, ...`udp dport ${udpPort} counter name inside`.split(" ")],
  ];
}

/** The command reading one counter. */
export function counterCommand(name: "outside" | "inside"): string[] {
  return ["nft", "list", "counter", "ip", GUARD_TABLE, name];
}

/** Packets in `nft list counter` output; throws when the output has no packet count. */
export function parseCounterPackets(stdout: string): number {
  const m = /packets (\d+) bytes \d+/.exec(stdout);
  if (!m) throw new EmulationError(`not an nft counter listing: ${JSON.stringify(stdout.slice(0, 200))}`);
  return Number(m[1]);
}
